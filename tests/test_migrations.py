"""The migrations: they match the models exactly, and go down and up again cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from models import db

TABLES = {"job", "accountability_finding", "accountability_record", "admin_event", "attachment",
          "calendar_day",
          "callback_record", "category", "complaint", "complaint_event", "customer",
          "department",
          "delivery", "export_log", "login_attempt", "notification",
          "notification_preference", "number_counter", "setting",
          "sla_policy", "staff", "staff_recovery_code",
          "complaint_search",  # the full-text index (FTS5 shadow tables left out below)
          # issue 12: plans, assisting parts, corrective actions with links and events
          "assist", "corrective_action", "corrective_action_event", "corrective_action_link",
          "handling_plan",
          # issue 14: mail read, API tokens and requests
          "api_request", "api_token", "inbound_message"}


def test_models_and_migrations_do_not_drift(app):
    """Autogenerate finds no difference between the migrated schema and the models."""
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                         "compare_server_default": True,
                                                         "include_name": _not_search_index})
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


def _not_search_index(name, type_, parent_names):
    """migrations/env.py's filter: the full-text index is SQL-maintained, not mapped."""
    return not (type_ == "table" and name and name.startswith("complaint_search"))


def _state(conn):
    tables = {t for t in inspect(conn).get_table_names()
              if not t.startswith("complaint_search_")} - {"alembic_version"}
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
        # PostgreSQL 6 (the same, plus TRUNCATE on the three tables, event ones merged);
        # then the accountability records and findings: update/delete on SQLite,
        # update-or-delete and truncate on PostgreSQL (4 more each); then the admin events
        # and the export log likewise (4 more each), an UPDATE trigger on callback records
        # (event and callback updates refused but for the redaction), and on SQLite a
        # BEFORE INSERT guard on 7 tables against INSERT OR REPLACE: 20 and 15; then plans,
        # corrective-action links and events, append-only (6 more each): 26 and 21; then
        # the mail read and the API requests answered (4 more each): 30 and 25.
        triggers = 30 if db.engine.dialect.name == "sqlite" else 25
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


def test_upgrade_gives_every_open_complaint_the_clock_of_its_stage(app):
    """Complaints saved before every stage had a clock get one on upgrade, from the same rules:
    accepted → forward window of receipt; rejected → one working day to tell the customer;
    resolved → one working day to review; callback → follow-up month of the resolution."""
    from datetime import datetime

    with app.app_context():
        downgrade(revision="edbf25cc8e5c")
        try:
            received = datetime(2026, 9, 29, 9, 0)
            done = datetime(2026, 9, 30, 10, 0)  # the eve of National Day
            rows = {"accepted": {}, "rejected": {"rejected_at": done},
                    "resolved": {"resolved_at": done}, "callback": {"resolved_at": done},
                    "closed": {"closed_at": done}}
            with db.engine.begin() as conn:
                for n, (status, extra) in enumerate(rows.items(), 1):
                    values = {"number": f"TS-20260929-{n:04d}", "kind": "complaint",
                              "channel": "phone", "received_at": received,
                              "customer_name": "张三", "customer_class": "C",
                              "severity": "normal", "title": "t", "description": "d",
                              "validity": "valid", "status": status, "escalation_level": 0,
                              "was_overdue": False, "answered_on_the_spot": False,
                              "reopen_count": 0, "callbacks_required": 1,
                              "callbacks_reached": 0, "extension_count": 0,
                              "created_at": received, "updated_at": done, "version": 1,
                              **extra}
                    cols = ", ".join(values)
                    conn.execute(text(f"INSERT INTO complaint ({cols}) VALUES "
                                      f"({', '.join(':' + c for c in values)})"), values)
        finally:
            upgrade()
        with db.engine.connect() as conn:
            got = {r.status: (r.due_kind, r.due_at) for r in conn.execute(text(
                "SELECT status, due_kind, due_at FROM complaint"))}
    got = {k: (kind, due if isinstance(due, datetime) or due is None
               else datetime.fromisoformat(str(due))) for k, (kind, due) in got.items()}
    end_of_oct_8 = datetime(2026, 10, 8, 23, 59, 59)  # the next working day after 09-30
    assert got == {
        "accepted": ("forward", datetime(2026, 9, 30, 9, 0)),
        "rejected": ("reply", end_of_oct_8),
        "resolved": ("review", end_of_oct_8),
        "callback": ("followup", datetime(2026, 10, 30, 10, 0)),
        "closed": (None, None),
    }
