"""Small reference tables read by every list page — departments, categories, staff names and
the working calendar — kept per process for a short time instead of re-read per request.

Each table is read in one statement and kept for ``REFERENCE_CACHE_SECONDS`` (default 60).
A write to one of these tables through any session of this process (an administrator's
edit, a service, a test's factory: ORM flushes and ``session.execute`` of INSERT / UPDATE /
DELETE) drops that table's copy at once (a login's ``last_login_at`` does not), so the
host that made the change shows it on the next page. Other hosts (several web hosts, RQ
workers) see it when their copy expires: a renamed department, a new staff member in the
filter's choices or a new company holiday in a countdown shows there at most a minute
late. A name missing from a copy (a row added elsewhere since) re-reads that table once.
Nothing here decides access: scope, roles and settings are read fresh on every request
(the user's row and the settings come in the login lookup, services.auth.load_session).

Copies are per app (tests build an app per database) and immutable (tuples, frozen rows).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

from flask import current_app, g, has_app_context, has_request_context
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.elements import TextClause

from models import Category, Department, Staff, db

#: The copies' age is measured on this clock (a test moves it; not the company's time).
monotonic = time.monotonic
#: Seconds a copy is kept (config REFERENCE_CACHE_SECONDS; 0 reads on every call).
DEFAULT_SECONDS = 60
WATCHED = frozenset({"department", "category", "staff", "calendar_day"})
_WRITE_TEXT = re.compile(r"^\s*(insert|update|delete|replace)\b.*?\b(department|category|staff"
                         r"|calendar_day)\b", re.I | re.S)


@dataclass(frozen=True)
class DepartmentRef:
    id: int
    code: str
    name: str
    active: bool


@dataclass(frozen=True)
class CategoryRef:
    id: int
    code: str
    name: str
    active: bool


@dataclass(frozen=True)
class StaffRef:
    id: int
    full_name: str
    role: str
    department_id: int | None
    active: bool


@dataclass(frozen=True)
class Table:
    """One table's rows in display order, and the same rows by id."""

    rows: tuple
    by_id: dict


# --- invalidation: any write to a watched table in this process -----------------------------

_generations = dict.fromkeys(WATCHED, 0)
_lock = threading.Lock()
# Staff columns a copy holds: a login (last_login_at, failed_logins) keeps the copy.
_STAFF_SHOWN = ("full_name", "role", "department_id", "active")


def invalidate(tables=WATCHED) -> None:
    """Drop the copies of these tables (the next read goes to the database)."""
    with _lock:
        for table in tables:
            _generations[table] += 1


def _written_tables(session) -> set[str]:
    written = set()
    for objs in (session.new, session.deleted):
        written.update(getattr(obj, "__tablename__", None) for obj in objs)
    for obj in session.dirty:
        table = getattr(obj, "__tablename__", None)
        if table == "staff":
            attrs = inspect(obj).attrs
            if not any(attrs[name].history.has_changes() for name in _STAFF_SHOWN):
                continue
        written.add(table)
    return written & WATCHED


def _mark(session, tables) -> None:
    if tables:
        session.info.setdefault("reference_written", set()).update(tables)
        invalidate(tables)


@event.listens_for(Session, "before_flush")
def _before_flush(session, _context, _instances):
    _mark(session, _written_tables(session))


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state):
    statement = state.statement
    if isinstance(statement, UpdateBase):
        name = getattr(getattr(statement, "table", None), "name", None)
        _mark(state.session, {name} & WATCHED)
    elif isinstance(statement, TextClause):
        found = _WRITE_TEXT.match(statement.text)
        _mark(state.session, {found.group(2).lower()} if found else set())


@event.listens_for(Session, "after_transaction_end")
def _after_end(session, _transaction):
    # Committed or rolled back: a copy read inside that transaction may hold either state.
    written = session.info.pop("reference_written", None)
    if written:
        invalidate(written)


# --- the copies ---------------------------------------------------------------------------


def _seconds() -> float:
    return float(current_app.config.get("REFERENCE_CACHE_SECONDS", DEFAULT_SECONDS))


def _cached(key: str, load, *, reread: bool = False):
    if not has_app_context():
        return load()
    store = current_app.extensions.setdefault("desk_reference", {})
    generation, now = _generations[key], monotonic()
    entry = store.get(key)
    if not reread and entry is not None and entry[0] == generation and entry[1] > now:
        return entry[2]
    value = load()
    seconds = _seconds()
    if seconds > 0:
        store[key] = (generation, now + seconds, value)
    return value


def _table(rows) -> Table:
    rows = tuple(rows)
    return Table(rows, {row.id: row for row in rows})


def departments(*, reread: bool = False) -> Table:
    """Every department, by name."""
    return _cached("department", reread=reread, load=lambda: _table(
        DepartmentRef(i, code, name, bool(active)) for i, code, name, active in db.session.execute(
            select(Department.id, Department.code, Department.name, Department.active)
            .order_by(Department.name))))


def categories(*, reread: bool = False) -> Table:
    """Every category, in its configured order."""
    return _cached("category", reread=reread, load=lambda: _table(
        CategoryRef(i, code, name, bool(active)) for i, code, name, active in db.session.execute(
            select(Category.id, Category.code, Category.name, Category.active)
            .order_by(Category.sort_order, Category.name))))


def staff(*, reread: bool = False) -> Table:
    """Every staff member's name, role and department, by name (no secret, no token)."""
    return _cached("staff", reread=reread, load=lambda: _table(
        StaffRef(i, name, role, dept, bool(active)) for i, name, role, dept, active
        in db.session.execute(select(Staff.id, Staff.full_name, Staff.role, Staff.department_id,
                                     Staff.active).order_by(Staff.full_name, Staff.id))))


def business_calendar():
    """The working calendar (services.calendar_source), for what a page shows: deadlines
    are computed by the services from a fresh one."""
    from .calendar_source import business_calendar as fresh

    return _cached("calendar_day", fresh)


def _first_miss(table_reader) -> bool:
    """Whether this request has not re-read this table yet (once is enough)."""
    if not has_request_context():
        return True
    reread = g.setdefault("reference_reread", set())
    if table_reader in reread:
        return False
    reread.add(table_reader)
    return True


def name_of(table_reader, key: int | None, attribute: str = "name") -> str:
    """The name of row ``key`` of a cached table; a row missing from the copy (added on
    another host since) re-reads the table once."""
    if key is None:
        return ""
    row = table_reader().by_id.get(key)
    if row is None and _first_miss(table_reader):
        row = table_reader(reread=True).by_id.get(key)
    return getattr(row, attribute) if row is not None else ""

