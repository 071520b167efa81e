"""`flask backup` and `flask restore` on SQLite: an online copy while users write, checked,
restored into a working app with nothing lost up to the backup; bad files refused.

SQLite only: on PostgreSQL (TEST_DATABASE_URL) the database is backed up with pg_dump and
pg_restore (README), and these commands only refuse — the refusal is tested on both.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import select

import services.backup as backup_service
from app import create_app
from models import Complaint, ComplaintEvent, db
from rules import Action
from tests.conftest import _config
from tests.factories import T0, Desk

ON_POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))
sqlite_only = pytest.mark.skipif(
    ON_POSTGRES, reason="TEST_DATABASE_URL is PostgreSQL: flask backup/restore copy SQLite "
    "files only (PostgreSQL uses pg_dump/pg_restore, README); the one place a skip is right")

WRITE_SECONDS = 2.0  # the writer goes on this long, and until the backup is done, ...
WRITE_LIMIT_SECONDS = 30.0  # ... but never longer than this ...
WRITE_MAX = 5000  # ... nor more complaints than this


def _file(app) -> Path:
    return Path(app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))


def _integrity(path: Path) -> str:
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def _head(app) -> str:
    from alembic.script import ScriptDirectory

    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        return ScriptDirectory.from_config(config).get_current_head()


def _revision(path: Path) -> str:
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    finally:
        conn.close()


def _complaints(ids) -> dict[int, tuple[dict, list[dict]]]:
    """Each complaint's row and its events, as the database has them."""
    c, e = Complaint.__table__, ComplaintEvent.__table__
    out = {}
    for cid in ids:
        row = db.session.execute(select(c).where(c.c.id == cid)).mappings().one_or_none()
        events = db.session.execute(select(e).where(e.c.complaint_id == cid)
                                    .order_by(e.c.id)).mappings().all()
        out[cid] = (dict(row) if row else None, [dict(ev) for ev in events])
    return out


@pytest.fixture
def new_app(tmp_path):
    """A second app on a database file that does not exist yet."""
    folder = tmp_path / "restored"
    folder.mkdir()
    other = create_app(_config(f"sqlite:///{folder / 'desk.sqlite'}"))
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


@sqlite_only
def test_backup_while_users_write_then_restore_into_a_new_app(app, org, new_app, tmp_path,
                                                              monkeypatch):
    """A thread registers complaints for ~2 s while `flask backup` runs; the backup restores
    into a new app that opens, is intact, has every complaint committed before the backup
    began with its events, and takes new complaints."""
    monkeypatch.setattr(backup_service, "PAGES_PER_STEP", 2)  # many steps, writers between
    monkeypatch.setattr(backup_service, "STEP_PAUSE", 0.005)
    with app.app_context():
        desk = Desk(org)
        for i in range(40):  # some volume, so that the copy takes many steps
            desk.register(now=T0, customer_phone=f"13800{i:06d}", description="x" * 500)
    committed: list[tuple[int, float]] = []
    errors: list[BaseException] = []
    writing, backup_done = threading.Event(), threading.Event()

    def writer():
        try:
            with app.app_context():
                own = Desk(org)
                start = time.monotonic()
                for i in range(WRITE_MAX):
                    elapsed = time.monotonic() - start
                    if elapsed > WRITE_LIMIT_SECONDS or (
                            elapsed > WRITE_SECONDS and backup_done.is_set()):
                        break
                    cid = own.register(now=T0, customer_phone=f"13900{i:06d}")
                    committed.append((cid, time.monotonic()))
                    writing.set()
                db.session.remove()
        except BaseException as err:  # reported by the test, not lost in the thread
            errors.append(err)
            writing.set()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    assert writing.wait(10)
    time.sleep(0.1)
    started = time.monotonic()
    before = [cid for cid, _t in list(committed)]
    output = tmp_path / "backup.sqlite"
    result = app.test_cli_runner().invoke(args=["backup", "-o", str(output)])
    finished = time.monotonic()
    backup_done.set()
    thread.join(timeout=WRITE_LIMIT_SECONDS + 10)
    assert not thread.is_alive()
    assert not errors, errors
    assert result.exit_code == 0, result.output
    assert "Integrity check: ok." in result.output
    assert "bytes" in result.output and "complaint " in result.output
    during = [cid for cid, t in committed if started < t < finished]
    assert during, "no complaint was registered while the backup ran: writers were blocked"
    assert committed[-1][1] > finished  # the writer went on after the backup too
    assert _integrity(output) == "ok"
    assert not Path(f"{output}-wal").exists()  # a self-contained file
    with app.app_context():
        db.session.remove()
        originals = _complaints(before)

    restored = new_app.test_cli_runner().invoke(args=["restore", "-i", str(output), "--yes"])
    assert restored.exit_code == 0, restored.output
    path = _file(new_app)
    assert _integrity(path) == "ok"
    assert _revision(path) == _head(new_app)
    with new_app.app_context():
        copies = _complaints(before)
        assert copies == originals  # every complaint committed before, with its events
        assert all(events and events[0]["action"] == Action.REGISTER
                   for _row, events in copies.values())
        # Whatever else the copy holds is whole: each complaint with its registration event.
        ids = set(db.session.scalars(select(Complaint.id)))
        registered = set(db.session.scalars(select(ComplaintEvent.complaint_id).where(
            ComplaintEvent.action == Action.REGISTER)))
        assert ids == registered
        assert set(before) <= ids
        new_id = Desk(org).register(now=T0, customer_phone="13700000001")
        assert new_id > max(ids)
        db.session.remove()


@sqlite_only
def test_restore_replaces_a_database_in_use_by_nobody_else(app, org, tmp_path):
    """Restoring over the app's own database: what was written after the backup is gone,
    no stale -wal/-shm survives, and the app goes on working; refused while another
    connection has the database open."""
    output = tmp_path / "backup.sqlite"
    with app.app_context():
        first = Desk(org).register(now=T0)
        db.session.remove()
    assert app.test_cli_runner().invoke(args=["backup", "-o", str(output)]).exit_code == 0
    with app.app_context():
        later = Desk(org).register(now=T0)
        db.session.remove()
    path = _file(app)

    other = sqlite3.connect(str(path))  # another process, say the web server
    other.execute("SELECT count(*) FROM complaint").fetchone()
    try:
        refused = app.test_cli_runner().invoke(args=["restore", "-i", str(output), "--yes"])
    finally:
        other.close()
    assert refused.exit_code == 1
    assert "in use by another process" in refused.output
    with app.app_context():
        assert db.session.get(Complaint, later) is not None
        db.session.remove()

    done = app.test_cli_runner().invoke(args=["restore", "-i", str(output), "--yes"])
    assert done.exit_code == 0, done.output
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    with app.app_context():
        assert db.session.get(Complaint, first) is not None
        assert db.session.get(Complaint, later) is None
        assert Desk(org).register(now=T0)
        db.session.remove()
    assert _integrity(path) == "ok"


@sqlite_only
def test_restore_asks_first(app, org, tmp_path):
    """Without --yes the restore asks, and a "no" leaves the database as it was."""
    output = tmp_path / "backup.sqlite"
    assert app.test_cli_runner().invoke(args=["backup", "-o", str(output)]).exit_code == 0
    with app.app_context():
        cid = Desk(org).register(now=T0)
        db.session.remove()
    answer = app.test_cli_runner().invoke(args=["restore", "-i", str(output)], input="n\n")
    assert answer.exit_code == 1
    assert "Replace the database" in answer.output
    with app.app_context():
        assert db.session.get(Complaint, cid) is not None
        db.session.remove()


@sqlite_only
def test_restore_refuses_a_file_that_is_not_sqlite(new_app, tmp_path):
    """A file that is not an SQLite database is refused with a clear message; nothing made."""
    bogus = tmp_path / "notes.sqlite"
    bogus.write_text("complaint desk backup?\n" * 20)
    result = new_app.test_cli_runner().invoke(args=["restore", "-i", str(bogus), "--yes"])
    assert result.exit_code == 1
    assert "is not an SQLite database" in result.output
    assert not _file(new_app).exists()
    missing = new_app.test_cli_runner().invoke(
        args=["restore", "-i", str(tmp_path / "nothing.sqlite"), "--yes"])
    assert missing.exit_code == 1 and "no such file" in missing.output


@sqlite_only
def test_restore_refuses_a_file_without_the_schema(new_app, tmp_path):
    """An SQLite file the migrations did not make (no alembic_version) is refused."""
    other = tmp_path / "other.sqlite"
    conn = sqlite3.connect(str(other))
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    result = new_app.test_cli_runner().invoke(args=["restore", "-i", str(other), "--yes"])
    assert result.exit_code == 1
    assert "not a Complaint desk database" in result.output
    assert not _file(new_app).exists()


@sqlite_only
def test_restore_refuses_a_file_from_a_newer_schema(app, new_app, tmp_path):
    """A backup whose schema revision this code does not know (a newer version's) is refused."""
    output = tmp_path / "backup.sqlite"
    assert app.test_cli_runner().invoke(args=["backup", "-o", str(output)]).exit_code == 0
    conn = sqlite3.connect(str(output))
    conn.execute("UPDATE alembic_version SET version_num = 'ffffffffffff'")
    conn.commit()
    conn.close()
    result = new_app.test_cli_runner().invoke(args=["restore", "-i", str(output), "--yes"])
    assert result.exit_code == 1
    assert "ffffffffffff is unknown" in result.output and "newer version" in result.output
    assert not _file(new_app).exists()


@sqlite_only
def test_restore_migrates_a_file_from_an_older_schema(app, new_app, tmp_path):
    """A backup at an older revision is migrated to the current head as it is restored."""
    from alembic.script import ScriptDirectory

    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        script = ScriptDirectory.from_config(config)
        older = script.get_revision(script.get_current_head()).down_revision
    old_file = tmp_path / "old" / "old.sqlite"
    old_file.parent.mkdir()
    old_app = create_app(_config(f"sqlite:///{old_file}"))
    with old_app.app_context():
        upgrade(revision=older)
        db.engine.dispose()
    assert _revision(old_file) == older
    result = new_app.test_cli_runner().invoke(args=["restore", "-i", str(old_file), "--yes"])
    assert result.exit_code == 0, result.output
    assert f"migrated {older} → {_head(new_app)}" in result.output
    assert _revision(_file(new_app)) == _head(new_app)
    assert _integrity(_file(new_app)) == "ok"


def test_backup_and_restore_refuse_postgresql(tmp_path):
    """With DATABASE_URL on PostgreSQL both commands refuse and point to pg_dump/pg_restore."""
    url = os.environ.get("TEST_DATABASE_URL") or "postgresql+psycopg://nobody@127.0.0.1:1/none"
    pg_app = create_app(_config(url))
    runner = pg_app.test_cli_runner()
    backup = runner.invoke(args=["backup", "-o", str(tmp_path / "x.sqlite")])
    assert backup.exit_code == 1
    assert "pg_dump" in backup.output
    bogus = tmp_path / "x.dump"
    bogus.write_bytes(b"PGDMP")
    restore = runner.invoke(args=["restore", "-i", str(bogus), "--yes"])
    assert restore.exit_code == 1
    assert "pg_restore" in restore.output
    assert not (tmp_path / "x.sqlite").exists()
    with pg_app.app_context():
        db.engine.dispose()
