"""The database itself: SQLite connection settings, foreign keys, and the append-only audit trail.

The audit-trail statements are tried as raw SQL through a fresh connection (the way a
hand-typed statement would arrive), on the database kind of this run: SQLite, or PostgreSQL
when TEST_DATABASE_URL is set. The SQLite connection settings are checked on a SQLite file
in every run.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime

import pytest
from sqlalchemy import create_engine, exc, select, text

from app import create_app
from models import db

KIND = "postgresql" if os.environ.get("TEST_DATABASE_URL") else "sqlite"
T = datetime(2026, 11, 23, 9, 0)


@pytest.fixture
def sqlite_app(tmp_path):
    """A migrated SQLite file database, whatever database kind this run uses."""
    from flask_migrate import upgrade

    app = create_app({"TESTING": True, "SECRET_KEY": "test",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite'}"})
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_sqlite_connections_are_set_up_for_several_writers(sqlite_app):
    """Every pooled SQLite connection has foreign keys, WAL, a busy timeout, recursive triggers."""
    with sqlite_app.app_context():
        # Three distinct pooled DBAPI connections (raw: no transaction is begun on them).
        conns = [db.engine.raw_connection() for _ in range(3)]
        try:
            assert len({id(c.dbapi_connection) for c in conns}) == 3
            for conn in conns:
                pragma = {name: conn.dbapi_connection.execute(f"PRAGMA {name}").fetchone()[0]
                          for name in ("foreign_keys", "journal_mode", "busy_timeout",
                                       "recursive_triggers", "synchronous")}
                assert pragma["foreign_keys"] == 1
                assert pragma["journal_mode"] == "wal"
                assert pragma["busy_timeout"] >= 5000
                assert pragma["recursive_triggers"] == 1
                assert pragma["synchronous"] == 1  # NORMAL: safe with WAL, fewer fsyncs
        finally:
            for conn in conns:
                conn.close()


def _other_writer_can_start(path) -> bool:
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as err:
        assert "locked" in str(err)
        return False
    finally:
        other.close()
    return True


def test_sqlite_write_transaction_takes_the_write_lock_at_begin(sqlite_app, tmp_path):
    """A service's write transaction holds the write lock from its first statement (IMMEDIATE)."""
    from models.engine import write_transaction

    path = tmp_path / "db.sqlite"
    with sqlite_app.app_context():
        with write_transaction(db.session):
            db.session.execute(text("SELECT 1")).scalar()
            assert not _other_writer_can_start(path)
        assert _other_writer_can_start(path)


def test_sqlite_read_in_a_get_request_does_not_lock_writers(sqlite_app, tmp_path):
    """A page view (GET) reads in a deferred transaction: writers are not held up by readers."""
    path = tmp_path / "db.sqlite"
    with sqlite_app.test_request_context("/admin/", method="GET"):
        db.session.execute(text("SELECT count(*) FROM complaint")).scalar()
        assert db.session().in_transaction()  # a read transaction is open
        assert _other_writer_can_start(path)
        db.session.rollback()


# --- on this run's database kind ---------------------------------------------------------


@pytest.fixture
def trail(app, org):
    """One complaint with its events and one callback record; returns their ids and the URL."""
    from models import Staff
    from services.complaints import perform, register

    with app.app_context():
        intake = db.session.get(Staff, org.users["intake"])
        c = register({"customer_name": "李四", "customer_phone": "13900000000", "title": "t",
                      "description": "d", "kind": "consultation"}, intake, now=T)
        perform(c.id, "resolve", intake, {"resolution": "answered", "root_cause": "question",
                                          "responsibility": "customer",
                                          "remedy": "explanation"}, now=T)
        out = perform(c.id, "callback", intake, {"method": "phone", "reached": True,
                                                 "satisfaction": "satisfied", "solved": True},
                      now=T)
        ids = {"complaint": c.id, "event": out.event.id, "callback": out.callback.id,
               "url": db.engine.url.render_as_string(hide_password=False)}
        db.session.remove()
    return ids


def test_foreign_keys_are_enforced(trail):
    """An event pointing at no complaint is refused by the database."""
    engine = create_engine(trail["url"])
    if KIND == "sqlite":  # a plain connection: turn foreign keys on as the app does
        from sqlalchemy import event

        event.listen(engine, "connect",
                     lambda conn, _: conn.execute("PRAGMA foreign_keys=ON"))
    try:
        with pytest.raises(exc.IntegrityError), engine.begin() as conn:
            conn.execute(text("INSERT INTO complaint_event (complaint_id, at, action) "
                              "VALUES (999999, :at, 'forged')"), {"at": T})
    finally:
        engine.dispose()


FORBIDDEN = {
    "update_event": "UPDATE complaint_event SET note = 'forged' WHERE id = :event",
    "delete_event": "DELETE FROM complaint_event WHERE id = :event",
    "delete_all_events": "DELETE FROM complaint_event",
    "upsert_event": ("INSERT INTO complaint_event (id, complaint_id, at, action) "
                     "VALUES (:event, :complaint, :at, 'forged') "
                     "ON CONFLICT (id) DO UPDATE SET action = 'forged'"),
    "delete_complaint": "DELETE FROM complaint WHERE id = :complaint",
    "delete_callback": "DELETE FROM callback_record WHERE id = :callback",
}
if KIND == "sqlite":
    FORBIDDEN |= {
        "replace_event": ("INSERT OR REPLACE INTO complaint_event (id, complaint_id, at, action) "
                          "VALUES (:event, :complaint, :at, 'forged')"),
        "replace_complaint": ("INSERT OR REPLACE INTO complaint (id, number, kind, channel, "
                              "received_at, customer_name, customer_class, severity, title, "
                              "description, validity, status, escalation_level, was_overdue, "
                              "answered_on_the_spot, reopen_count, callbacks_required, "
                              "callbacks_reached, extension_count, created_at, updated_at, "
                              "version) SELECT id, number, kind, channel, received_at, 'x', "
                              "customer_class, severity, 'forged', '', validity, 'closed', 0, "
                              "0, 0, 0, 1, 0, 0, created_at, updated_at, 99 FROM complaint "
                              "WHERE id = :complaint"),
        "replace_callback": ("REPLACE INTO callback_record (id, complaint_id, at, method, reached) "
                             "VALUES (:callback, :complaint, :at, 'sms', 0)"),
    }
else:
    FORBIDDEN |= {
        "truncate_events": "TRUNCATE complaint_event CASCADE",
        "truncate_complaints": "TRUNCATE complaint CASCADE",
        "truncate_callbacks": "TRUNCATE callback_record CASCADE",
    }
# Through a fresh connection of the app's engine (its connection settings), and through a
# plain connection (on SQLite with SQLite's defaults, as the sqlite3 shell opens one).
# INSERT OR REPLACE is refused on both: the app's connections set recursive_triggers=ON
# (the replaced row's DELETE fires the trigger), and a BEFORE INSERT guard on each
# append-only table refuses a row whose id exists, whatever the connection's settings.
CASES = [(s, "app") for s in sorted(FORBIDDEN)]
CASES += [(s, "plain") for s in sorted(FORBIDDEN)]


def _snapshot(conn, ids):
    return (
        conn.execute(text("SELECT * FROM complaint WHERE id = :complaint"), ids).all(),
        conn.execute(text("SELECT * FROM complaint_event ORDER BY id")).all(),
        conn.execute(text("SELECT * FROM callback_record ORDER BY id")).all(),
    )


@pytest.mark.parametrize(("statement", "connection"), CASES, ids=[f"{s}-{c}" for s, c in CASES])
def test_audit_trail_refuses_statement(app, trail, statement, connection):
    """The database refuses the statement; complaint, events and callbacks are all still there."""
    params = {**trail, "at": T}
    if connection == "app":
        with app.app_context():
            db.engine.dispose()  # a fresh pooled connection, with the app's settings
            before = _check_refused(db.engine, statement, params)
    else:
        engine = create_engine(trail["url"])
        try:
            before = _check_refused(engine, statement, params)
        finally:
            engine.dispose()
    fresh = create_engine(trail["url"])
    try:
        with fresh.connect() as conn:
            after = _snapshot(conn, params)
    finally:
        fresh.dispose()
    assert after == before
    # register, resolve (on the spot: straight to the callbacks), callback
    assert len(after[0]) == 1 and len(after[1]) == 3 and len(after[2]) == 1


def _check_refused(engine, statement, params):
    with engine.connect() as conn:
        before = _snapshot(conn, params)
        conn.rollback()
    with pytest.raises(exc.DBAPIError) as info, engine.begin() as conn:
        conn.execute(text(FORBIDDEN[statement]), params)
    message = str(info.value.orig)
    assert any(word in message for word in ("append-only", "never")), message
    return before


# --- write_transaction: nesting-safe, never commits the caller's work ---------------------


def test_write_transaction_refuses_to_commit_the_callers_unsaved_work(app, org):
    """A caller with pending changes gets UnsavedWork; their change is not committed."""
    from models import Department
    from models.engine import UnsavedWork, write_transaction

    with app.app_context():
        db.session.get(Department, org.qa).name = "changed behind the caller's back"
        with pytest.raises(UnsavedWork), write_transaction(db.session):
            pass
        db.session.rollback()
        assert db.session.get(Department, org.qa).name == "质量管理部"


def test_write_transaction_nested_is_a_savepoint(app, org):
    """Inside another write transaction: a failing inner block rolls back alone, the outer
    block's work commits with it, the inner's successful work too."""
    from models import Department
    from models.engine import write_transaction

    with app.app_context():
        with write_transaction(db.session):
            db.session.get(Department, org.qa).name = "outer"
            with pytest.raises(RuntimeError), write_transaction(db.session):
                db.session.get(Department, org.log).name = "inner, failed"
                db.session.flush()
                raise RuntimeError("boom")
            with write_transaction(db.session):
                db.session.get(Department, org.cs).name = "inner, kept"
        db.session.expire_all()
        names = {d.id: d.name for d in db.session.scalars(select(Department))}
        assert (names[org.qa], names[org.log], names[org.cs]) == ("outer", "物流部",
                                                                  "inner, kept")


def test_write_transaction_after_a_read_starts_fresh(app, org):
    """An open read transaction (nothing written) is simply ended, not an error."""
    from models import Department
    from models.engine import write_transaction

    with app.app_context():
        assert db.session.get(Department, org.qa).name == "质量管理部"  # a read
        with write_transaction(db.session):
            db.session.get(Department, org.qa).name = "renamed"
        db.session.expire_all()
        assert db.session.get(Department, org.qa).name == "renamed"


# --- every append-only table, on this run's database kind ----------------------------------

APPEND_ONLY = ("complaint_event", "admin_event", "export_log", "callback_record",
               "accountability_record", "accountability_finding")
REDACTED = "[anonymised]"
# The one change the retention job may make: a note replaced by the marker.
REDACTABLE = {"complaint_event": "note", "callback_record": "notes"}
EDITED = {"complaint_event": "note", "admin_event": "detail", "export_log": "screen",
          "callback_record": "notes", "accountability_record": "status",
          "accountability_finding": "note", "complaint": "title"}


@pytest.fixture
def records(trail, app, org):
    """``trail`` plus an admin event, an export log row (and its admin event) and an
    accountability record with a finding: one row (at least) in every protected table."""
    from models import AccountabilityFinding, AccountabilityRecord
    from rules import admin_events as E
    from services import admin_events
    from services.export import record_export

    with app.app_context():
        admin_events.record_now(E.ROLE_CHANGED, actor_id=org.users["admin"],
                                target=("staff", org.users["intake"], "intake"),
                                detail="role: intake → manager", now=T)
        log = record_export(org.users["admin"], "complaint", {"q": 1}, 3, T)
        rec = AccountabilityRecord(complaint_id=trail["complaint"], at=T, clock="resolve",
                                   due_at=T, status="in_progress", escalation_level=1)
        db.session.add(rec)
        db.session.flush()
        db.session.add(AccountabilityFinding(record_id=rec.id, at=T, finding="excused",
                                             note="ok", staff_id=org.users["manager"]))
        db.session.commit()
        ids = dict(trail, export_log=log.id)
        ids.update({t: db.session.scalar(text(f"SELECT min(id) FROM {t}"))
                    for t in APPEND_ONLY + ("complaint",)})
        db.session.remove()
    return ids


def _rows(url):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: conn.execute(text(f"SELECT * FROM {t} ORDER BY id")).all()
                    for t in APPEND_ONLY + ("complaint",)}
    finally:
        engine.dispose()


def _engine(app, url, connection):
    if connection == "app":
        with app.app_context():
            db.engine.dispose()  # fresh pooled connections, with the app's settings
            return db.engine
    return create_engine(url)  # SQLite's defaults: no recursive_triggers, no foreign keys


def _refused(engine, sql, params=None, words=("append-only", "never")):
    with pytest.raises(exc.DBAPIError) as info, engine.begin() as conn:
        conn.execute(text(sql), params or {})
    message = str(info.value.orig)
    assert any(word in message for word in words), message


MUTATIONS = ["update", "delete", "delete_all"] + (["truncate"] if KIND == "postgresql" else [])


@pytest.mark.parametrize("connection", ["app", "plain"])
@pytest.mark.parametrize("mutation", MUTATIONS)
@pytest.mark.parametrize("table", APPEND_ONLY)
def test_append_only_table_refuses(app, records, table, mutation, connection):
    """UPDATE, DELETE (and TRUNCATE on PostgreSQL) are refused on every append-only table;
    every protected table is unchanged afterwards."""
    before = _rows(records["url"])
    column = EDITED[table]
    sql = {"update": f"UPDATE {table} SET {column} = 'forged' WHERE id = :id",
           "delete": f"DELETE FROM {table} WHERE id = :id",
           "delete_all": f"DELETE FROM {table}",
           "truncate": f"TRUNCATE {table} CASCADE"}[mutation]
    engine = _engine(app, records["url"], connection)
    try:
        _refused(engine, sql, {"id": records[table]})
    finally:
        engine.dispose()
    assert _rows(records["url"]) == before


@pytest.mark.skipif(KIND != "sqlite", reason="INSERT OR REPLACE is SQLite's")
@pytest.mark.parametrize("verb", ["INSERT OR REPLACE", "REPLACE"])
@pytest.mark.parametrize("table", APPEND_ONLY + ("complaint",))
def test_sqlite_replace_refused_without_recursive_triggers(records, tmp_path, table, verb):
    """From a raw sqlite3 connection with recursive_triggers off (the shell's default, where
    the replaced row's DELETE would fire no trigger), replacing an existing row by its id is
    refused, and the row is unchanged."""
    path = records["url"].split("///", 1)[1]
    before = _rows(records["url"])
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA recursive_triggers").fetchone()[0] == 0
        columns = [r[1] for r in raw.execute(f"PRAGMA table_info({table})")]
        edited = ", ".join("'forged'" if c == EDITED[table] else c for c in columns)
        with pytest.raises(sqlite3.DatabaseError, match="never replaced"):
            raw.execute(f"{verb} INTO {table} ({', '.join(columns)}) "
                        f"SELECT {edited} FROM {table} WHERE id = ?", (records[table],))
        raw.rollback()
        # a new row (a fresh id) is still welcome: the guard refuses replacing only
        if table == "admin_event":
            raw.execute("INSERT INTO admin_event (at, action) VALUES ('2026-11-23 09:00:00', "
                        "'login_failed')")
            raw.rollback()
    finally:
        raw.close()
    assert _rows(records["url"]) == before


def _changed(value):
    """Another value of the same kind (the trigger refuses before any constraint is checked)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1000
    if isinstance(value, datetime):
        return value.replace(year=value.year - 1)
    if value is None:
        return 1
    return f"{value}x"


@pytest.mark.parametrize("connection", ["app", "plain"])
@pytest.mark.parametrize("table", sorted(REDACTABLE))
def test_redaction_is_the_one_update_allowed(app, records, table, connection):
    """Setting the note to exactly '[anonymised]' passes (the retention job's redaction);
    any other text, the marker together with any other column's change, and deleting the
    redacted row are refused. Every column of the table is tried (a column added later
    must be covered by the trigger too)."""
    column = REDACTABLE[table]
    pk = records[table]
    engine = _engine(app, records["url"], connection)
    try:
        for text_ in ("forged", "[ANONYMISED]", f"{REDACTED} ", "", None):
            _refused(engine, f"UPDATE {table} SET {column} = :v WHERE id = :id",
                     {"v": text_, "id": pk})
        with engine.connect() as conn:
            row = conn.execute(text(f"SELECT * FROM {table} WHERE id = :id"),
                               {"id": pk}).one()._asdict()
        for other, value in row.items():
            if other == column:
                continue
            _refused(engine, f"UPDATE {table} SET {column} = :marker, {other} = :v "
                             f"WHERE id = :id", {"marker": REDACTED, "v": _changed(value),
                                                 "id": pk}, words=("append-only",))
        before = _rows(records["url"])
        with engine.begin() as conn:
            assert conn.execute(text(f"UPDATE {table} SET {column} = :marker WHERE id = :id"),
                                {"marker": REDACTED, "id": pk}).rowcount == 1
        after = _rows(records["url"])
        mine = {r.id: r._asdict() for r in before[table]}
        assert after[table][0]._asdict() == dict(mine[pk], **{column: REDACTED})
        assert {t: rows for t, rows in after.items() if t != table} == {
            t: rows for t, rows in before.items() if t != table}
        # redacted again (already the marker): allowed, nothing changes
        with engine.begin() as conn:
            conn.execute(text(f"UPDATE {table} SET {column} = :marker WHERE id = :id"),
                         {"marker": REDACTED, "id": pk})
        _refused(engine, f"DELETE FROM {table} WHERE id = :id", {"id": pk})
        _refused(engine, f"UPDATE {table} SET {column} = 'back' WHERE id = :id", {"id": pk})
        assert _rows(records["url"]) == after
    finally:
        engine.dispose()


def test_no_other_table_accepts_the_redaction_marker(app, records):
    """The exception is the events' and callbacks' notes only: the marker written to an
    admin event, the export log or an accountability finding is refused."""
    engine = _engine(app, records["url"], "plain")
    try:
        for table in ("admin_event", "export_log", "accountability_finding",
                      "accountability_record"):
            _refused(engine, f"UPDATE {table} SET {EDITED[table]} = :m WHERE id = :id",
                     {"m": REDACTED, "id": records[table]})
    finally:
        engine.dispose()
