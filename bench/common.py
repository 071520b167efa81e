"""What the bench scripts share: logging in as a demo user, timing (wall, CPU, peak memory)
and the benchmark database kept between runs (filled by bench/fill.py).

Imported as ``common`` by scripts run as ``python bench/<script>.py`` (their directory is
then on ``sys.path``).
"""

from __future__ import annotations

import re
import resource
import time
from pathlib import Path

PASSWORD = "demo-pass-2026"  # services.demo.DEMO_PASSWORD, used by bench/fill.py's users


# --- logging in ---------------------------------------------------------------------------


def login(client, username: str) -> None:
    """Log ``client`` in through the login form, as a real browser does (CSRF token)."""
    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302, f"login of {username} failed"


def login_by_session(app, client, username: str) -> None:
    """Log ``client`` in by writing the user's session token into its session: no login
    page is rendered, so a measurement made afterwards carries none of its cost."""
    from sqlalchemy import select

    from models import Staff, db

    with app.app_context():
        token = db.session.scalar(select(Staff.session_token).filter_by(username=username))
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True


# --- timing -------------------------------------------------------------------------------


def peak_mib() -> float:
    """Peak resident memory of this process so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    """CPU seconds of this process (user + system): steadier than wall time on a busy host."""
    return time.process_time()


class Stopwatch:
    """Wall and CPU seconds since it was made."""

    def __init__(self):
        self._wall, self._cpu = time.perf_counter(), cpu_s()

    def wall(self) -> float:
        return time.perf_counter() - self._wall

    def cpu(self) -> float:
        return cpu_s() - self._cpu


# --- the benchmark database ---------------------------------------------------------------


def needs_fill(url: str, n: int, refill: bool) -> bool:
    """Get the database at ``url`` ready for ``n`` complaints.

    False when it already holds them; True when it was created empty (migrated, no
    complaint) and must now be filled. ``refill`` deletes the SQLite file or drops the
    PostgreSQL schema first; a database holding another number of complaints is an error.
    """
    from fill import _init_schema
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        if refill and path.exists():
            path.unlink()
    elif refill:
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    try:
        with engine.connect() as conn:
            have = conn.scalar(text("SELECT count(*) FROM complaint"))
    except Exception:  # noqa: BLE001 - no schema yet
        have = None
    engine.dispose()
    if have == n:
        return False
    if have:
        raise SystemExit(f"{url} holds {have} complaints, not {n}: use --refill")
    _init_schema(url)
    return True


def pg_database(server: str, name: str) -> str:
    """The URL of database ``name`` on the PostgreSQL ``server``, created when missing."""
    from sqlalchemy import create_engine, text

    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"{server}/{name}"
