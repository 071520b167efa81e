"""Due soon: warn whoever answers for a deadline that falls within one working day.

Run by the sweep (``flask sweep``) after it marked the missed deadlines. A complaint is
due soon when it is open, its current deadline is not yet missed (``now <= due_at``) and
falls before the moment one working day from now: ``rules.deadlines.is_due_soon``, with
the working calendar the deadlines use (services.calendar_source); that moment is computed
once per run, in Python, and the database compares ``due_at`` with it.

Who is told: whoever answers for the clock the complaint waits on, as for a missed one
(services.sweep_sql.tell_responsible). Each notification has the key
``due_soon:<complaint>:<clock>:<due_at>:<recipient>`` (rules.notify.due_soon_key) and is
inserted ON CONFLICT (key) DO NOTHING: once per person and deadline, however often the
sweep runs; a deadline moved (an extension, a new stage) is a new deadline, announced
again; a new person answering for it (reassigned) is told too.

Set-based, in batches like the sweep: the due-soon complaints' ids are read once (the
partial index ``ix_complaint_sweep`` holds every column of the condition); each batch of
them goes to the batch table and its notifications are written with INSERT … SELECT, in
one short write transaction per batch (PostgreSQL: under the sweep's advisory lock, so
two sweeps take turns; SQLite: BEGIN IMMEDIATE). The condition is applied again when
writing: a complaint closed or moved meanwhile is left out.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, insert, select

from models import Complaint, db
from models.engine import write_transaction
from rules import BusinessCalendar, Status
from rules.notify import DUE_SOON

from . import clock
from .calendar_source import business_calendar
from .sweep_sql import (
    BATCH,
    begin_batch,
    chosen,
    due_soon_key_clause,
    responsible,
    tell_responsible,
)

DUE_SOON_BATCH = 50_000


def due_soon_clause(c, now: datetime, horizon: datetime):
    """Open, not yet missed, due before ``horizon`` (rules.deadlines.is_due_soon in SQL)."""
    return and_(c.c.status.in_(Status.OPEN), c.c.overdue_since.is_(None),
                c.c.due_at >= now, c.c.due_at < horizon)


def notify_due_soon(now: datetime | None = None, batch: int = DUE_SOON_BATCH,
                    calendar: BusinessCalendar | None = None) -> int:
    """Write the ``due_soon`` notifications not written yet; how many were written."""
    now = now or clock.now()
    horizon = (calendar or business_calendar()).due_soon_cutoff(now)
    c = Complaint.__table__
    soon = due_soon_clause(c, now, horizon)
    # Read once, in the partial index (not in id order with a LIMIT per batch: SQLite may
    # then walk the whole table by rowid to find the next ones).
    ids = db.session.scalars(select(c.c.id).where(soon).order_by(c.c.id)).all()
    department, person = responsible(c)
    written = 0
    for start in range(0, len(ids), batch):
        with write_transaction(db.session):
            begin_batch()
            db.session.execute(insert(BATCH), [{"id": i} for i in ids[start:start + batch]])
            written += tell_responsible(
                c, c, and_(chosen(c), soon), department, person, DUE_SOON, now,
                key=lambda recipient: due_soon_key_clause(c, recipient))
    return written
