"""Backups of the SQLite database: a consistent online copy while users work, and restore.

:func:`backup` copies with SQLite's online backup API (``sqlite3.Connection.backup``) a
few pages at a time with a short pause between steps. On a WAL database (the app's
default) the copying connection holds one read transaction for the whole copy: writers
never wait for a reader in WAL mode, and the copy is the snapshot of the moment it began —
every transaction committed before is in it, none committed after. The copy is written
beside the target, switched to a self-contained rollback journal, checked with
``PRAGMA integrity_check``, synced, and only then renamed into place.

:func:`inspect_file` checks a file before a restore (an SQLite database, intact, with its
Alembic revision); :func:`restore` puts a copy of it in place of the database atomically
(a temp file beside it, fsync, ``os.replace``) once no other connection has the database
open, the migrations having run on the temp copy first when it is older than the code.

PostgreSQL is backed up with its own tools (``pg_dump`` / ``pg_restore``, README).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

SQLITE_HEADER = b"SQLite format 3\x00"
PAGES_PER_STEP = 256  # 1 MiB at the default 4 KiB page size
STEP_PAUSE = 0.002  # seconds between two steps
MAX_RESTARTS = 5  # rollback-journal mode only: restarts tolerated before one single step
BUSY_TIMEOUT_S = 10.0
IN_USE_TIMEOUT_S = 2.0

POSTGRES_ADVICE = ("DATABASE_URL is PostgreSQL: back it up and restore it with pg_dump and "
                   "pg_restore (README, \"Retention and backups\").")


class BackupError(Exception):
    """The backup or restore cannot be made; str(err) says why."""


@dataclass
class DatabaseFile:
    """What a check of an SQLite file found."""

    path: Path
    size: int
    integrity: str
    revision: str | None
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class BackupResult:
    source: Path
    copy: DatabaseFile
    seconds: float
    steps: int
    restarts: int


# --- where the database is ------------------------------------------------------------------


def database_path(engine) -> Path:
    """The SQLite file behind ``engine``; BackupError for PostgreSQL or an in-memory database."""
    if engine.dialect.name != "sqlite":
        raise BackupError(POSTGRES_ADVICE if engine.dialect.name == "postgresql" else
                          f"Only SQLite databases are copied here, not {engine.dialect.name}.")
    name = engine.url.database
    if not name or name == ":memory:" or name.startswith("file::memory:"):
        raise BackupError("The database is in memory: there is no file to back up or restore.")
    return Path(name).resolve()


def _connect(path: Path, *, read_only=False, timeout=BUSY_TIMEOUT_S) -> sqlite3.Connection:
    if read_only:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=timeout,
                               isolation_level=None)
    else:
        conn = sqlite3.connect(str(path), timeout=timeout, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
    return conn


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(*paths: Path) -> None:
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def _companions(path: Path) -> tuple[Path, Path, Path]:
    return tuple(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal"))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


# --- checking a file --------------------------------------------------------------------------


def _describe(conn: sqlite3.Connection, path: Path) -> DatabaseFile:
    rows = conn.execute("PRAGMA integrity_check").fetchall()
    integrity = "; ".join(str(r[0]) for r in rows[:5]) or "no answer"
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name")]
    counts = {}
    for table in tables:
        quoted = '"' + table.replace('"', '""') + '"'
        counts[table] = conn.execute(f"SELECT count(*) FROM {quoted}").fetchone()[0]
    revision = None
    if "alembic_version" in counts:
        found = conn.execute("SELECT version_num FROM alembic_version").fetchall()
        revision = found[0][0] if len(found) == 1 else None
    return DatabaseFile(path=path, size=path.stat().st_size, integrity=integrity,
                        revision=revision, counts=counts)


def inspect_file(path) -> DatabaseFile:
    """Check a backup file: an SQLite database, intact, made by the migrations (a revision)."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path}: no such file.")
    with open(path, "rb") as f:
        header = f.read(len(SQLITE_HEADER))
    if header != SQLITE_HEADER:
        raise BackupError(f"{path} is not an SQLite database (a backup made by `flask backup` "
                          f"is one).")
    try:
        conn = _connect(path, read_only=True)
        try:
            found = _describe(conn, path)
        finally:
            conn.close()
    except sqlite3.DatabaseError as err:
        raise BackupError(f"{path} cannot be read as an SQLite database: {err}.") from None
    if found.integrity != "ok":
        raise BackupError(f"{path} failed its integrity check: {found.integrity}.")
    if "alembic_version" not in found.counts or found.revision is None:
        raise BackupError(f"{path} has no schema revision (no alembic_version table with one "
                          f"row): it is not a Complaint desk database.")
    return found


def check_revision(revision: str, known: list[str], heads: list[str]) -> bool:
    """Whether the file needs the migrations (older); BackupError when it is newer/unknown."""
    if revision in heads:
        return False
    if revision not in known:
        raise BackupError(
            f"The backup's schema revision {revision} is unknown to this version of the app "
            f"(it knows {', '.join(heads)} and older): it was made by a newer version. "
            f"Restore it with that version, or upgrade the app first.")
    return True


# --- backup -------------------------------------------------------------------------------------


class _Restarted(Exception):
    pass


def backup(db_path: Path, output, *, pages: int | None = None,
           pause: float | None = None) -> BackupResult:
    """A consistent copy of the live database ``db_path`` at ``output``, checked."""
    pages = pages or PAGES_PER_STEP
    pause = STEP_PAUSE if pause is None else pause
    db_path, output = Path(db_path), Path(output).resolve()
    if not db_path.is_file():
        raise BackupError(f"There is no database file at {db_path}.")
    if _same_file(db_path, output) or output in (db_path, *_companions(db_path)):
        raise BackupError("The backup cannot be written over the database itself.")
    if not output.parent.is_dir():
        raise BackupError(f"The folder {output.parent} does not exist.")
    partial = output.with_name(f".{output.name}.{os.getpid()}.partial")
    _remove(partial, *_companions(partial))
    started = time.monotonic()
    steps = restarts = 0
    last = None

    def progress(_status, remaining, _total):
        nonlocal steps, restarts, last
        steps += 1
        if last is not None and remaining > last:
            restarts += 1  # another connection wrote: the copy started again
            if restarts > MAX_RESTARTS:
                raise _Restarted
        last = remaining
        if remaining and pause:
            time.sleep(pause)  # let writers (and this process's other threads) run

    src = _connect(db_path)
    dst = sqlite3.connect(str(partial), isolation_level=None)
    try:
        wal = src.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
        if wal:
            # One read transaction for the whole copy: a fixed snapshot, no restarts, and in
            # WAL mode no writer waits for it.
            src.execute("BEGIN")
            src.execute("SELECT count(*) FROM sqlite_master").fetchone()
            src.backup(dst, pages=pages, progress=progress)
            src.execute("COMMIT")
        else:
            try:
                src.backup(dst, pages=pages, progress=progress)
            except _Restarted:
                src.backup(dst)  # one step: writers wait (busy timeout) for this copy only
        dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal beside it
        copy = _describe(dst, partial)
    except sqlite3.DatabaseError as err:
        dst.close()
        _remove(partial, *_companions(partial))
        raise BackupError(f"The copy failed: {err}.") from None
    finally:
        src.close()
        dst.close()
    if copy.integrity != "ok":
        _remove(partial)
        raise BackupError(f"The copy failed its integrity check ({copy.integrity}); the "
                          f"database itself may be damaged: run PRAGMA integrity_check on it.")
    _fsync(partial)
    os.replace(partial, output)
    _fsync(output.parent)
    copy.path, copy.size = output, output.stat().st_size
    return BackupResult(source=db_path, copy=copy, seconds=time.monotonic() - started,
                        steps=steps, restarts=restarts)


# --- restore ------------------------------------------------------------------------------------


def _take_over(db_path: Path) -> None:
    """Make sure no other connection has the database open, and leave no -wal/-shm behind.

    Leaving WAL mode needs the database to itself: it fails while any other connection (a
    web server, a sweep from cron) has it open. Once left, the WAL is checkpointed into the
    file and removed; anything still lying beside it is stale and removed too, so that it is
    never applied to the restored file.
    """
    if db_path.exists():
        try:
            conn = _connect(db_path, timeout=IN_USE_TIMEOUT_S)
            try:
                mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0].lower()
            finally:
                conn.close()
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) and "busy" not in str(err):
                raise BackupError(f"{db_path} cannot be opened: {err}.") from None
            mode = "wal"
        except sqlite3.DatabaseError:
            mode = "delete"  # a damaged file is replaced as it is
        if mode != "delete":
            raise BackupError(
                f"{db_path} is in use by another process (the web server, a sweep from cron?). "
                f"Stop them, then run the restore again.")
    _remove(*_companions(db_path))


def restore(source, db_path: Path, *, upgrade: Callable[[Path], None] | None = None,
            before_replace: Callable[[], None] | None = None) -> DatabaseFile:
    """Put a copy of the backup ``source`` in place of the database ``db_path``, atomically.

    ``source`` must have passed :func:`inspect_file`. ``upgrade(path)``, when given, runs
    the migrations on the copy before it replaces anything (a failing migration leaves the
    database as it was). ``before_replace`` closes this process's own connections.
    """
    source, db_path = Path(source).resolve(), Path(db_path)
    if _same_file(source, db_path):
        raise BackupError("The backup file is the database itself.")
    if not db_path.parent.is_dir():
        raise BackupError(f"The folder {db_path.parent} does not exist.")
    temp = db_path.with_name(f".{db_path.name}.restore-{os.getpid()}")
    _remove(temp, *_companions(temp))
    try:
        src = _connect(source, read_only=True)
        dst = sqlite3.connect(str(temp), isolation_level=None)
        try:
            src.backup(dst)  # reads what a plain file copy could miss (a -wal beside it)
            dst.execute("PRAGMA journal_mode=DELETE")
        finally:
            dst.close()
            src.close()
        if upgrade is not None:
            upgrade(temp)
            conn = sqlite3.connect(str(temp), isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=DELETE")  # the migrations' WAL folded in
            finally:
                conn.close()
        conn = _connect(temp)
        try:
            restored = _describe(conn, temp)
        finally:
            conn.close()
        if restored.integrity != "ok":
            raise BackupError(f"The restored copy failed its integrity check: "
                              f"{restored.integrity}.")
        _fsync(temp)
        if before_replace is not None:
            before_replace()
        _take_over(db_path)
        os.replace(temp, db_path)
        _fsync(db_path.parent)
    except BaseException:
        _remove(temp, *_companions(temp))
        raise
    restored.path = db_path
    return restored
