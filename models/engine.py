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
from sqlalchemy.orm import Session

_force_write = contextvars.ContextVar("force_write", default=False)
_depth = contextvars.ContextVar("write_depth", default=0)
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


# Whether the session's open transaction has written anything (flushed) yet.
@event.listens_for(Session, "after_flush")
def _wrote(session, _context):
    session.info["wrote"] = True


@event.listens_for(Session, "after_transaction_end")
def _ended(session, transaction):
    if transaction.parent is None:  # the outermost transaction, not a savepoint
        session.info.pop("wrote", None)


class UnsavedWork(RuntimeError):
    """A write transaction was asked for while the caller had unsaved changes of its own."""


@contextmanager
def write_transaction(session):
    """One write transaction: commit on success, roll back on any error; nesting-safe.

    Outermost: a read transaction already open is ended first (it wrote nothing), so that
    on SQLite the write transaction starts with the write lock and sees the latest data;
    a transaction that holds the caller's own unsaved changes is refused (UnsavedWork),
    never committed behind the caller's back. Nested inside another write_transaction:
    a savepoint, committed with the outer transaction or rolled back alone on error.
    """
    real = session() if hasattr(session, "registry") else session  # unwrap scoped_session
    if _depth.get() > 0:
        depth_token = _depth.set(_depth.get() + 1)
        try:
            with real.begin_nested():
                yield session
        finally:
            _depth.reset(depth_token)
        return
    if real.in_transaction():
        if real.new or real.dirty or real.deleted or real.info.get("wrote"):
            raise UnsavedWork("write_transaction() would commit the caller's unsaved changes; "
                              "commit or roll them back first, or nest the work inside it.")
        session.rollback()  # a read transaction: nothing to keep
    token = _force_write.set(True)
    depth_token = _depth.set(1)
    try:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
    finally:
        _depth.reset(depth_token)
        _force_write.reset(token)
