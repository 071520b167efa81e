"""The deadline sweep: mark complaints whose current deadline passed, escalate each once,
tell whoever answered for the deadline (``overdue``) and the new escalation owner
(``escalated``); then warn of the deadlines due within one working day (services.due_soon).

Set-based, in batches: each batch takes up to ``SWEEP_BATCH`` missed complaints, writes
their audit events with one INSERT … SELECT and marks them with one UPDATE, and commits.
Short batches keep the database writable for everyone else while a large backlog is
swept (on SQLite the write lock is held only for one batch, well under the busy timeout).

Idempotent: a complaint is marked once per missed deadline (``overdue_since`` is set, and
cleared only when a new deadline is set); a second run finds nothing (the partial index
``ix_complaint_sweep`` holds only unmarked deadlines, so that costs nothing).

Safe on several hosts at once, and consistent with concurrent user actions: on PostgreSQL
each batch holds a transaction-scoped advisory lock (sweeps take turns) and locks its rows
``FOR UPDATE SKIP LOCKED`` before writing, so the events and the marks are written for
exactly the same rows, and a complaint a user is changing at that moment is left for the
next run instead of being waited for; on SQLite each batch's transaction begins IMMEDIATE,
which admits one writer at a time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, insert, literal, null, select, update

from models import AccountabilityRecord, Complaint, ComplaintEvent, db
from models.engine import write_transaction
from rules import MAX_ESCALATION, Action, Clock, Status
from rules.notify import OVERDUE

from . import assist, capa, clock, upstream
from .due_soon import notify_due_soon
from .sweep_sql import (
    BATCH,
    SWEEP_LOCK_KEY,
    begin_batch,
    chosen,
    responsible,
    tell_owner,
    tell_responsible,
    told_responsible,
)

__all__ = ["NOTES", "SWEEP_BATCH", "SWEEP_LOCK_KEY", "SweepResult", "sweep"]

# The audit note of each missed clock (English, as every stored note; the screens show the
# clock's translated name next to it).
NOTES = {
    Clock.ACCEPT: "accept deadline missed",
    Clock.FORWARD: "forward deadline missed",
    Clock.RESOLVE: "resolve deadline missed",
    Clock.EXTENSION: "extension decision deadline missed",
    Clock.REVIEW: "review deadline missed",
    Clock.CALLBACK: "callback deadline missed",
    Clock.FOLLOWUP: "one-month follow-up limit missed",
    Clock.REPLY: "reply-to-customer deadline missed",
    Clock.PLAN: "handling plan approval deadline missed",
    Clock.PLAN_ANSWER: "customer's answer to the handling plan deadline missed",
}


@dataclass
class SweepResult:
    marked: int
    by_status: dict[str, int]
    escalated: int = 0  # ``escalated`` notifications written (to the new owners)
    due_soon: int = 0  # ``due_soon`` notifications written (services.due_soon)
    # The further procedures' own deadlines (issue 12), each marked once when missed:
    parts: int = 0  # assisting departments' parts (services.assist)
    corrective: int = 0  # corrective actions (services.capa)
    upstream: int = 0  # reports back to an upstream centre (services.upstream)


def _notify(c, e, department, person, next_level, now) -> int:
    """The batch's notifications of its new overdue events, set-based (INSERT … SELECT):
    ``overdue`` to whoever answered for the missed clock (sweep_sql.tell_responsible),
    then ``escalated`` to the new escalation owner of each complaint whose level rose
    (sweep_sql.tell_owner; nobody gets both for one event). Each row names the batch's
    new overdue event, so a second run (a new event, or none) never repeats one; the unique
    (recipient, event, kind) constraint guards it too. How many ``escalated`` rows.
    """
    event = (select(e.c.complaint_id, func.max(e.c.id).label("event_id"))
             .where(e.c.complaint_id.in_(select(BATCH.c.id)),
                    e.c.action == Action.OVERDUE)
             .group_by(e.c.complaint_id).subquery())
    joined = c.join(event, event.c.complaint_id == c.c.id)
    tell_responsible(c, joined, chosen(c), department, person, OVERDUE, now,
                     event_id=event.c.event_id)
    rose = and_(chosen(c), c.c.escalation_level < MAX_ESCALATION)
    return tell_owner(c, joined, rose, next_level, event.c.event_id, now,
                      told=lambda staff: told_responsible(staff, department, person))


# Rows per batch: on SQLite one batch of 50,000 holds the write lock about 2 s on the test
# machine (busy_timeout is 10 s); smaller batches cost throughput (bench/bench_core.py).
SWEEP_BATCH = 50_000


def sweep(now: datetime | None = None, batch: int = SWEEP_BATCH) -> SweepResult:
    now = now or clock.now()
    c = Complaint.__table__
    missed = and_(
        c.c.status.in_(Status.OPEN),
        c.c.due_at < now,
        c.c.overdue_since.is_(None),
    )
    next_level = case(
        (c.c.escalation_level < MAX_ESCALATION, c.c.escalation_level + 1),
        else_=MAX_ESCALATION,
    )
    e = ComplaintEvent.__table__
    note = case(*((c.c.due_kind == k, literal(n)) for k, n in NOTES.items()),
                else_=literal("deadline missed"))
    a = AccountabilityRecord.__table__
    department, person = responsible(c)
    # The batch's ids go to a per-connection temporary table (sweep_sql.begin_batch).
    batch_rows = chosen(c)
    counts: Counter[str] = Counter()
    escalated = 0
    while True:
        with write_transaction(db.session):
            begin_batch()
            # Read in the order of ix_complaint_sweep (no sort); PostgreSQL locks the rows.
            db.session.execute(insert(BATCH).from_select(
                ["id"],
                select(c.c.id).where(missed).limit(batch).with_for_update(skip_locked=True),
            ))
            found = dict(db.session.execute(
                select(c.c.status, func.count()).where(batch_rows).group_by(c.c.status)
            ).all())
            if found:
                db.session.execute(
                    insert(e).from_select(
                        [
                            "complaint_id", "at", "actor_id", "action", "from_status",
                            "to_status", "from_department_id", "to_department_id",
                            "from_assignee_id", "to_assignee_id", "escalation_level", "note",
                        ],
                        select(
                            c.c.id, literal(now), null(), literal(Action.OVERDUE),
                            c.c.status, c.c.status, c.c.department_id, c.c.department_id,
                            c.c.assignee_id, c.c.assignee_id, next_level, note,
                        ).where(batch_rows),
                    )
                )
                # Who was responsible at that moment, before anything moves (append-only).
                db.session.execute(
                    insert(a).from_select(
                        ["complaint_id", "at", "clock", "due_at", "status", "department_id",
                         "person_id", "escalation_level"],
                        select(c.c.id, literal(now), func.coalesce(c.c.due_kind, literal("")),
                               c.c.due_at, c.c.status, department, person,
                               next_level).where(batch_rows),
                    )
                )
                escalated += _notify(c, e, department, person, next_level, now)
                db.session.execute(
                    update(c)
                    .where(batch_rows)
                    .values(
                        overdue_since=now,
                        was_overdue=True,
                        escalation_level=next_level,
                        version=c.c.version + 1,
                        updated_at=now,
                    )
                    .execution_options(synchronize_session=False)
                )
                counts.update(found)
        if sum(found.values()) < batch:
            break
    due_soon = notify_due_soon(now, batch)
    return SweepResult(marked=sum(counts.values()), by_status=dict(counts),
                       escalated=escalated, due_soon=due_soon, parts=assist.sweep(now),
                       corrective=capa.sweep(now), upstream=upstream.sweep(now))
