"""Per-connection database settings.

SQLite serves several users at once only when set up for it: WAL (readers never wait
for the writer), a busy timeout, foreign keys on, recursive triggers on (so that
``INSERT OR REPLACE`` fires the audit trail's delete trigger), and write transactions
that take the write lock at BEGIN (``BEGIN IMMEDIATE``) so that two writers queue up
instead of failing with "database is locked" when they upgrade a read lock.

Transactions begin IMMEDIATE unless they run inside a read-only (GET/HEAD) request,
or inside :func:`write_transaction`, which always begins IMMEDIATE.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager

from flask import has_request_context, request
from sqlalchemy import event

_force_write = contextvars.ContextVar("force_write", default=False)
_force_read = contextvars.ContextVar("force_read", default=False)

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _begins_immediate() -> bool:
    if _force_write.get():
        return True
    if _force_read.get():
        return False
    return not (has_request_context() and request.method in ("GET", "HEAD", "OPTIONS"))


def configure_engine(engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA recursive_triggers=ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _begins_immediate() else "BEGIN")


@contextmanager
def read_only():
    """Outside a GET request (CLI, scripts), begin plain read transactions: a long report
    must not hold SQLite's write lock (write_transaction inside still takes it)."""
    token = _force_read.set(True)
    try:
        yield
    finally:
        _force_read.reset(token)


@contextmanager
def write_transaction(session):
    """One write transaction: commit on success, roll back on any error.

    Any read transaction already open is ended first, so that on SQLite the write
    transaction starts with the write lock (and sees the latest committed data).
    """
    token = _force_write.set(True)
    real = session() if hasattr(session, "registry") else session  # unwrap scoped_session
    try:
        if real.in_transaction():
            session.commit()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
    finally:
        _force_write.reset(token)
