"""The migrations: they match the models exactly, and go down and up again cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from models import db

TABLES = {"calendar_day", "callback_record", "category", "complaint", "complaint_event",
          "department", "export_log", "number_counter", "sla_policy", "staff"}


def test_models_and_migrations_do_not_drift(app):
    """Autogenerate finds no difference between the migrated schema and the models."""
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "compare_server_default": True})
        assert compare_metadata(context, db.metadata) == []


def test_flask_db_check_passes(app):
    """`flask db check` exits 0 on the migrated database."""
    result = app.test_cli_runner().invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


def test_flask_db_check_fails_on_drift(app):
    """`flask db check` exits 1 once the database and the models differ (a dropped index)."""
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_complaint_received_at"))
    try:
        result = app.test_cli_runner().invoke(args=["db", "check"])
        assert result.exit_code == 1
    finally:
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(text(
                "CREATE INDEX ix_complaint_received_at ON complaint (received_at)"))


def _state(conn):
    tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
    if not tables:
        return tables, None, None
    seeds = (conn.execute(text("SELECT count(*) FROM category")).scalar(),
             conn.execute(text("SELECT count(*) FROM sla_policy")).scalar())
    if conn.dialect.name == "sqlite":
        triggers = conn.execute(text(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'")).scalar()
    else:
        triggers = conn.execute(text(
            "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal")).scalar()
    return tables, seeds, triggers


def test_upgrade_downgrade_upgrade(app):
    """Down to an empty database and up again: same tables, triggers and seed rows as before."""
    with app.app_context():
        with db.engine.connect() as conn:
            migrated = _state(conn)
        # The audit triggers: SQLite 4 (event update/delete, complaint and callback delete),
        # PostgreSQL 6 (the same, plus TRUNCATE on the three tables, event ones merged).
        triggers = 4 if db.engine.dialect.name == "sqlite" else 6
        assert migrated == (TABLES, (6, 2), triggers)
        try:
            downgrade(revision="base")
            with db.engine.connect() as conn:
                assert _state(conn) == (set(), None, None)
        finally:
            upgrade()
        with db.engine.connect() as conn:
            assert _state(conn) == migrated
        # The triggers work again after the round trip.
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM complaint_event")).scalar() == 0
            if conn.dialect.name == "postgresql":
                routine = conn.execute(text(
                    "SELECT count(*) FROM pg_proc WHERE proname = 'refuse_change'")).scalar()
                assert routine == 1
