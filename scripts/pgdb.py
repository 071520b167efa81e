"""Create or drop a PostgreSQL database for a test run: pgdb.py SERVER_URL NAME create|drop."""

import sys

from sqlalchemy import create_engine, text


def main(server: str, name: str, verb: str) -> None:
    engine = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if verb == "create":
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        else:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


if __name__ == "__main__":
    main(*sys.argv[1:4])
