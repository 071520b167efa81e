"""Retention: the personal data of complaints closed long ago is anonymised; nothing is deleted.

A complaint closed more than ``RETENTION_YEARS`` years (at least 3, procedures R57; 3 by
default) before now, in company time, loses its customer's data:

- ``customer_name`` → ``已匿名 / anonymised``; ``customer_phone`` and ``customer_email`` →
  NULL; ``description`` and ``demand`` → ``[anonymised]`` (a NULL demand stays NULL);
- ``customer_phone_norm`` → a one-way token, ``anon-`` and 15 letters of
  HMAC-SHA256(SECRET_KEY, "YYYY-MM|phone") where YYYY-MM is the month the complaint was
  received. The monthly report groups repeat complainants by this column within one month
  of receipt, so the complaints of one customer in one month keep one (anonymous) group:
  every count stays the same. The month in the token means the same customer cannot be
  followed from one month to the next; letters only, so no phone search ever matches it;
- ``customer_id`` → NULL (the customer file no longer links it); a customer left with no
  complaint loses name, contact and key (``services.customers.forget_unlinked``). The
  repeat complainants of an anonymised month are then grouped by the token, as before;
- the notes of its events (``complaint_event.note``) and callbacks
  (``callback_record.notes``) → ``[anonymised]`` — the one change the append-only triggers
  allow on those tables, and the only one made to them here.

Every other column stays: the figures of the reports (status, dates, department, kind,
category, channel, customer class, results, satisfaction) and the title (the overdue list
of the monthly workbook shows it). A complaint that shares its receipt month and phone
with a complaint not yet due (still open, or closed too recently) is *held back* until the
whole group is due, so that the repeat-complainants figures never change; the procedures
ask for records to be kept *at least* three years, so waiting is allowed.

The complaint's version is raised (an edit form opened before would be refused, not save
old data back). Rows are marked by their values (the name marker, the token prefix), not
by a new column, and the run is idempotent: a second run finds nothing to do.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import and_, exists, func, not_, or_, select, update
from sqlalchemy.sql.expression import bindparam

from models import CallbackRecord, Complaint, ComplaintEvent, db
from models.engine import read_only, write_transaction
from rules import Status

from . import clock
from .customers import forget_unlinked

MARK_NAME = "已匿名 / anonymised"
MARK_TEXT = "[anonymised]"
TOKEN_PREFIX = "anon-"
TOKEN_LETTERS = 15  # prefix + 15 = 20 characters, the width of customer_phone_norm
DEFAULT_YEARS = 3
MIN_YEARS = 3  # procedures R57: records are kept at least three years
MAX_YEARS = 100
BATCH = 200  # complaints per write transaction (SQLite's write lock is held that long only)
_CHUNK = 500  # ids per IN (...) list

c = Complaint.__table__
e = ComplaintEvent.__table__
cb = CallbackRecord.__table__


class RetentionError(ValueError):
    """The retention settings are unusable; str(err) says why."""


@dataclass
class RetentionResult:
    years: int
    now: datetime
    cutoff: datetime  # complaints closed before this are due
    applied: bool
    complaints: int = 0  # anonymised (applied) or to anonymise (dry run)
    events: int = 0  # event notes
    callbacks: int = 0  # callback notes
    held_back: int = 0  # due, but kept for now (their month's repeat group is not all due)
    oldest_closed: datetime | None = None
    newest_closed: datetime | None = None

    def detail(self) -> str:
        span = (f"; closed {_when(self.oldest_closed)} … {_when(self.newest_closed)}"
                if self.oldest_closed else "")
        return (f"{self.complaints} complaint(s), {self.events} event note(s), "
                f"{self.callbacks} callback note(s) anonymised; closed before "
                f"{self.cutoff:%Y-%m-%d %H:%M} (RETENTION_YEARS={self.years}){span}; "
                f"held back: {self.held_back}")


def _when(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M}"


# --- settings and pure helpers ------------------------------------------------------------


def retention_years(value=None) -> int:
    """``value``, else the app's RETENTION_YEARS, else the environment's, else 3."""
    if value is None:
        value = current_app.config.get("RETENTION_YEARS")
    if value in (None, ""):
        value = os.environ.get("RETENTION_YEARS") or DEFAULT_YEARS
    try:
        years = int(str(value).strip())
    except ValueError:
        raise RetentionError(f"RETENTION_YEARS={value!r} is not a whole number of years.") from None
    if not MIN_YEARS <= years <= MAX_YEARS:
        raise RetentionError(
            f"RETENTION_YEARS={years}: records are kept at least {MIN_YEARS} years "
            f"(procedures R57); use a number from {MIN_YEARS} to {MAX_YEARS}.")
    return years


def cutoff_for(now: datetime, years: int) -> datetime:
    """The same wall-clock time ``years`` calendar years before ``now`` (29 Feb → 28 Feb)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def phone_token(phone_norm: str, received_at: datetime, key: str | bytes) -> str:
    """The stable one-way stand-in for a phone: one customer, one receipt month, one token."""
    if isinstance(key, str):
        key = key.encode()
    digest = hmac.new(key, f"{received_at:%Y-%m}|{phone_norm}".encode(), hashlib.sha256)
    return TOKEN_PREFIX + "".join(chr(ord("a") + int(ch, 16))
                                  for ch in digest.hexdigest()[:TOKEN_LETTERS])


def _real_phone(value: str | None) -> bool:
    return bool(value) and not value.startswith(TOKEN_PREFIX)


def _chunks(items, size=_CHUNK):
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i:i + size]


# --- what is due --------------------------------------------------------------------------


def _due(cutoff):
    return and_(c.c.status == Status.CLOSED, c.c.closed_at.is_not(None), c.c.closed_at < cutoff)


def _note_left(column):
    return and_(column.is_not(None), column != "", column != MARK_TEXT)


def _pending():
    """Some personal data of the complaint is still there."""
    return or_(
        c.c.customer_name != MARK_NAME,
        c.c.customer_phone.is_not(None),
        c.c.customer_email.is_not(None),
        and_(c.c.customer_phone_norm.is_not(None), c.c.customer_phone_norm != "",
             not_(c.c.customer_phone_norm.startswith(TOKEN_PREFIX, autoescape=True))),
        c.c.description != MARK_TEXT,
        and_(c.c.demand.is_not(None), c.c.demand != MARK_TEXT),
        exists().where(e.c.complaint_id == c.c.id, _note_left(e.c.note)),
        exists().where(cb.c.complaint_id == c.c.id, _note_left(cb.c.notes)),
    )


@dataclass
class _Plan:
    groups: list[list[int]]  # complaint ids, one list per (receipt month, phone) group
    held_back: int
    closed: dict[int, datetime]


def _plan(cutoff: datetime) -> _Plan:
    """The complaints due and not yet anonymised, grouped; those held back left out."""
    rows = db.session.execute(
        select(c.c.id, c.c.customer_phone_norm, c.c.received_at, c.c.closed_at)
        .where(_due(cutoff), _pending()).order_by(c.c.id)).all()
    phones = {r.customer_phone_norm for r in rows if _real_phone(r.customer_phone_norm)}
    # (phone, month) pairs that have a complaint not due: its repeat group must not split.
    blocked = set()
    for chunk in _chunks(phones):
        others = db.session.execute(
            select(c.c.customer_phone_norm, c.c.received_at)
            .where(c.c.customer_phone_norm.in_(chunk), not_(_due(cutoff))))
        blocked.update((phone, f"{at:%Y-%m}") for phone, at in others)
    groups: dict[tuple, list[int]] = defaultdict(list)
    held = 0
    for r in rows:
        if _real_phone(r.customer_phone_norm):
            key = (r.customer_phone_norm, f"{r.received_at:%Y-%m}")
            if key in blocked:
                held += 1
                continue
        else:
            key = ("#", r.id)
        groups[key].append(r.id)
    return _Plan(list(groups.values()), held, {r.id: r.closed_at for r in rows})


def _batches(groups: list[list[int]], size: int) -> list[list[int]]:
    """Groups packed into batches of about ``size`` ids; a group is never split."""
    batches, current = [], []
    for group in groups:
        current.extend(group)
        if len(current) >= size:
            batches.append(current)
            current = []
    if current:
        batches.append(current)
    return batches


def _count_notes(table, column, ids) -> int:
    total = 0
    for chunk in _chunks(ids):
        total += db.session.scalar(select(func.count()).select_from(table).where(
            table.c.complaint_id.in_(chunk), _note_left(column))) or 0
    return total


# --- the run ------------------------------------------------------------------------------


def run(*, apply: bool = False, now: datetime | None = None, years=None,
        batch_size: int = BATCH) -> RetentionResult:
    """Anonymise (``apply``) or only count (dry run: nothing written) what retention ends."""
    now = now or clock.now()
    years = retention_years(years)
    cutoff = cutoff_for(now, years)
    result = RetentionResult(years=years, now=now, cutoff=cutoff, applied=apply)
    with read_only():  # on SQLite, looking must not take the write lock
        plan = _plan(cutoff)
        result.held_back = plan.held_back
        if not apply:
            ids = [i for group in plan.groups for i in group]
            result.complaints = len(ids)
            result.events = _count_notes(e, e.c.note, ids)
            result.callbacks = _count_notes(cb, cb.c.notes, ids)
            _span(result, [plan.closed[i] for i in ids])
        db.session.rollback()  # end the read transaction; each batch is a write of its own
    if not apply:
        return result
    key = current_app.config["SECRET_KEY"]
    closed = []
    for batch in _batches(plan.groups, batch_size):
        with write_transaction(db.session):
            done = _anonymise(batch, cutoff, key, now)
            closed.extend(at for _id, at in done)
            ids = [i for i, _at in done]
            result.complaints += len(ids)
            for chunk in _chunks(ids):
                result.events += db.session.execute(
                    update(e).where(e.c.complaint_id.in_(chunk), _note_left(e.c.note))
                    .values(note=MARK_TEXT)).rowcount
                result.callbacks += db.session.execute(
                    update(cb).where(cb.c.complaint_id.in_(chunk), _note_left(cb.c.notes))
                    .values(notes=MARK_TEXT)).rowcount
    _span(result, closed)
    if result.complaints:
        _record(result)
    return result


def _anonymise(ids: list[int], cutoff: datetime, key, now: datetime) -> list[tuple]:
    """Anonymise the complaints of ``ids`` still due (checked again, under the write lock);
    returns [(id, closed_at)] of those changed."""
    rows = db.session.execute(
        select(c.c.id, c.c.customer_phone_norm, c.c.received_at, c.c.closed_at, c.c.demand,
               c.c.customer_id)
        .where(c.c.id.in_(ids), _due(cutoff)).with_for_update()).all()
    if not rows:
        return []
    params = [{
        "row_id": r.id,
        "phone_norm": (phone_token(r.customer_phone_norm, r.received_at, key)
                       if _real_phone(r.customer_phone_norm) else r.customer_phone_norm),
        "demand": MARK_TEXT if r.demand else r.demand,
    } for r in rows]
    stmt = (update(c).where(c.c.id == bindparam("row_id"))
            .values(customer_name=MARK_NAME, customer_phone=None, customer_email=None,
                    customer_phone_norm=bindparam("phone_norm"), demand=bindparam("demand"),
                    description=MARK_TEXT, version=c.c.version + 1, updated_at=now,
                    customer_id=None))  # no longer followed from one month to the next
    db.session.execute(stmt, params)
    forget_unlinked({r.customer_id for r in rows if r.customer_id}, MARK_NAME, now)
    from services.search_index import refresh_ids

    refresh_ids(db.session.connection(), [r.id for r in rows])  # names, texts, phones out
    return [(r.id, r.closed_at) for r in rows]


def _span(result: RetentionResult, closed: list[datetime]) -> None:
    if closed:
        result.oldest_closed, result.newest_closed = min(closed), max(closed)


def _record(result: RetentionResult) -> None:
    """One AdminEvent with the counts, once the administrative record exists."""
    try:
        from rules import admin_events as actions
        from services.admin_events import record_now
    except ImportError:  # the administrative record is not there yet: the summary is printed
        return
    action = getattr(actions, "RETENTION_APPLIED", "retention_applied")
    record_now(action, detail=result.detail(), now=result.now)
