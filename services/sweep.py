"""The deadline sweep: mark complaints whose current deadline passed, escalate each once,
tell whoever answered for the deadline (``overdue``) and the new escalation owner
(``escalated``); then warn of the deadlines due within one working day (services.due_soon).

Set-based, in batches: the missed complaints' ids are read once and swept in id order
(a batch's rows lie side by side in the table); each batch takes up to ``SWEEP_BATCH`` of
them, checks them again, keeps who answers for each clock in the batch table, writes their
audit events, accountability records and notifications with INSERT … SELECT, marks them
with one UPDATE, and commits.
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

from sqlalchemy import and_, case, func, insert, literal, null, select, text, true, update

from models import AccountabilityRecord, Complaint, ComplaintEvent, db
from models.engine import write_transaction
from rules import MAX_ESCALATION, Action, Clock, Status
from rules.notify import OVERDUE

from . import assist, capa, clock, upstream
from .due_soon import notify_due_soon
from .sweep_sql import (
    BATCH,
    IDS,
    SWEEP_LOCK_KEY,
    answering,
    begin_batch,
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


def _notify(c, source, now) -> int:
    """The batch's notifications of its new overdue events, set-based (INSERT … SELECT):
    ``overdue`` to whoever answered for the missed clock (sweep_sql.tell_responsible),
    then ``escalated`` to the new escalation owner of each complaint whose level rose
    (sweep_sql.tell_owner; nobody gets both for one event). Each row names the batch's
    new overdue event, so a second run (a new event, or none) never repeats one; the unique
    (recipient, event, kind) constraint guards it too. Who answers was computed once per
    complaint into the batch table (sweep_sql.BATCH). How many ``escalated`` rows.
    """
    b = BATCH
    answered = (b.c.who, b.c.no_head)
    tell_responsible(c, source, true(), b.c.department, b.c.person, OVERDUE, now,
                     event_id=b.c.event_id, answered=answered)
    # The level before the batch (kept in the batch table: a condition on the complaint's
    # own column would let SQLite read the complaints by ix_complaint_level_due instead of
    # the batch's few).
    next_level = case((b.c.level < MAX_ESCALATION, b.c.level + 1), else_=MAX_ESCALATION)
    return tell_owner(c, source, b.c.level < MAX_ESCALATION, next_level,
                      b.c.event_id, now,
                      told=lambda staff: told_responsible(staff, b.c.department, b.c.person,
                                                          answered=answered))


# Rows per batch: on SQLite one batch of 50,000 holds the write lock about 2 s on the test
# machine (busy_timeout is 10 s); smaller batches cost throughput (bench/bench_core.py).
SWEEP_BATCH = 50_000
# SQLite's page cache for the sweep's connection while it writes a batch (KiB; the default
# is 2 MiB): a batch's rows lie all over the table, so a small cache writes the same pages
# to the WAL again and again before the commit (bench/bench_core.py).
SQLITE_SWEEP_CACHE_KIB = 256 * 1024
SQLITE_DEFAULT_CACHE = -2000


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
    who, no_head = answering(department, person)
    b = BATCH
    # Every statement of a batch reads the complaints through the batch table (its primary
    # key: the complaints in id order, so the table's pages are visited once, in order).
    source = b.join(c, c.c.id == b.c.id)
    sqlite = db.engine.dialect.name == "sqlite"
    counts: Counter[str] = Counter()
    escalated = 0
    # The missed complaints' ids, read once (in ix_complaint_sweep) and swept in id order:
    # a batch's rows then lie side by side in the table, so each page of the table is
    # written once by the whole sweep (in the index's order, every batch would rewrite
    # pages all over the table).
    ids = db.session.scalars(select(c.c.id).where(missed).order_by(c.c.id)).all()
    for start in range(0, len(ids), batch):
        with write_transaction(db.session):
            if sqlite:  # the batch's pages stay in memory until the commit writes them once
                db.session.execute(text(f"PRAGMA cache_size=-{SQLITE_SWEEP_CACHE_KIB}"))
            begin_batch()
            chunk = ids[start:start + batch]
            if sqlite:
                db.session.execute(insert(IDS), [{"id": i} for i in chunk])
            else:  # one array parameter: psycopg's executemany sends a statement per row
                db.session.execute(text("INSERT INTO sweep_ids (id) "
                                        "SELECT unnest(CAST(:ids AS integer[]))"), {"ids": chunk})
            # Checked again (another sweep or a user may have changed them since they were
            # read); PostgreSQL locks the rows. Who answers for each clock is computed
            # here, once per complaint.
            db.session.execute(insert(b).from_select(
                ["id", "department", "person", "who", "no_head", "level"],
                select(c.c.id, department, person, who, no_head, c.c.escalation_level)
                .where(c.c.id.in_(select(IDS.c.id)), missed)
                .with_for_update(skip_locked=True, of=c),
            ))
            if not sqlite:  # the planner then reads the complaints by key, not all of them
                db.session.execute(text("ANALYZE sweep_batch"))
            found = dict(db.session.execute(
                select(c.c.status, func.count()).select_from(source).group_by(c.c.status)
            ).all())
            if found:
                # Every event this batch writes has an id above the largest one now (the
                # batch's rows are locked: nobody else writes an overdue event for them).
                before = db.session.scalar(select(func.coalesce(func.max(e.c.id), 0)))
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
                        ).select_from(source),
                    )
                )
                db.session.execute(
                    update(b).values(event_id=e.c.id)
                    .where(e.c.complaint_id == b.c.id, e.c.id > before,
                           e.c.action == Action.OVERDUE)
                )
                # Who was responsible at that moment, before anything moves (append-only).
                db.session.execute(
                    insert(a).from_select(
                        ["complaint_id", "at", "clock", "due_at", "status", "department_id",
                         "person_id", "escalation_level"],
                        select(c.c.id, literal(now), func.coalesce(c.c.due_kind, literal("")),
                               c.c.due_at, c.c.status, b.c.department, b.c.person,
                               next_level).select_from(source),
                    )
                )
                escalated += _notify(c, source, now)
                db.session.execute(
                    update(c)
                    .where(c.c.id.in_(select(b.c.id)))
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
    if sqlite:  # back to the connection's usual page cache
        db.session.execute(text(f"PRAGMA cache_size={SQLITE_DEFAULT_CACHE}"))
        db.session.commit()
    due_soon = notify_due_soon(now, batch)
    return SweepResult(marked=sum(counts.values()), by_status=dict(counts),
                       escalated=escalated, due_soon=due_soon, parts=assist.sweep(now),
                       corrective=capa.sweep(now), upstream=upstream.sweep(now))
