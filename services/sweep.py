"""The deadline sweep: mark complaints whose current deadline passed, escalate each once.

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

from sqlalchemy import (
    Integer,
    and_,
    case,
    column,
    func,
    insert,
    literal,
    null,
    select,
    table,
    text,
    update,
)

from models import (
    AccountabilityRecord,
    Complaint,
    ComplaintEvent,
    Department,
    Notification,
    Staff,
    db,
)
from models.engine import write_transaction
from rules import MAX_ESCALATION, Action, Clock, Role, Status
from rules.deadlines import RESPONSIBLE
from rules.notify import OVERDUE

from . import clock

SWEEP_LOCK_KEY = 0x436F6D70  # "Comp": the advisory lock id of the sweep
_BATCH = table("sweep_batch", column("id", Integer))

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
}


@dataclass
class SweepResult:
    marked: int
    by_status: dict[str, int]


def _responsible(c):
    """(department, person) who answered for the missed clock: rules.deadlines.RESPONSIBLE.

    Customer service's clocks → the customer-service department; the resolve clock → the
    complaint's department and its assignee, else its head; the extension decision → the
    department's head.
    """
    d = Department.__table__
    cs_dept = (select(func.min(d.c.id)).where(d.c.is_customer_service.is_(True))
               .scalar_subquery())
    head = select(d.c.head_id).where(d.c.id == c.c.department_id).scalar_subquery()
    by = {kind: [k for k, v in RESPONSIBLE.items() if v == kind]
          for kind in set(RESPONSIBLE.values())}
    department = case((c.c.due_kind.in_(by["customer_service"]), cs_dept),
                      else_=c.c.department_id)
    person = case((c.c.due_kind.in_(by["assignee"]), func.coalesce(c.c.assignee_id, head)),
                  (c.c.due_kind.in_(by["department_head"]), head),
                  else_=null())
    return department, person


def _notify(c, e, chosen, department, person, now):
    """One ``overdue`` notification per missed deadline, set-based (INSERT … SELECT).

    To the person of the accountability record (the assignee, else the head of record,
    for the department's clocks), else the head of record of the responsible department,
    else its active department heads, else (customer service's clocks, no head) every
    active customer-service manager. Each row
    names the batch's new overdue event, so a second run (a new event, or none) never
    repeats one; the unique (recipient, event, kind) constraint guards it too.
    """
    d, n, s = Department.__table__, Notification.__table__, Staff.__table__
    event = (select(e.c.complaint_id, func.max(e.c.id).label("event_id"))
             .where(e.c.complaint_id.in_(select(_BATCH.c.id)),
                    e.c.action == Action.OVERDUE)
             .group_by(e.c.complaint_id).subquery())
    head = select(d.c.head_id).where(d.c.id == department).scalar_subquery()
    who = func.coalesce(person, head)
    columns = ["created_at", "recipient_id", "complaint_id", "kind", "event_id"]
    joined = c.join(event, event.c.complaint_id == c.c.id)
    db.session.execute(insert(n).from_select(columns, select(
        literal(now), who, c.c.id, literal(OVERDUE), event.c.event_id,
    ).select_from(joined).where(chosen, who.is_not(None))))
    heads = and_(s.c.role == Role.DEPT_HEAD, s.c.active.is_(True),
                 s.c.department_id == department)
    db.session.execute(insert(n).from_select(columns, select(
        literal(now), s.c.id, c.c.id, literal(OVERDUE), event.c.event_id,
    ).select_from(joined.join(s, heads)).where(chosen, who.is_(None))))
    h = s.alias("any_head")
    no_head = ~select(h.c.id).where(h.c.role == Role.DEPT_HEAD, h.c.active.is_(True),
                                    h.c.department_id == department).exists()
    db.session.execute(insert(n).from_select(columns, select(
        literal(now), s.c.id, c.c.id, literal(OVERDUE), event.c.event_id,
    ).select_from(joined.join(s, and_(s.c.role == Role.MANAGER, s.c.active.is_(True))))
        .where(chosen, who.is_(None), no_head)))


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
    department, person = _responsible(c)
    postgres = db.engine.dialect.name == "postgresql"
    # The batch's ids go to a per-connection temporary table (no list of bound ids: SQLite
    # builds cap the number of variables of a statement, psycopg at 65,535).
    chosen = c.c.id.in_(select(_BATCH.c.id))
    counts: Counter[str] = Counter()
    while True:
        with write_transaction(db.session):
            if postgres:
                db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                                   {"k": SWEEP_LOCK_KEY})
            db.session.execute(text(
                "CREATE TEMPORARY TABLE IF NOT EXISTS sweep_batch (id INTEGER PRIMARY KEY)"))
            db.session.execute(_BATCH.delete())
            # Read in the order of ix_complaint_sweep (no sort); PostgreSQL locks the rows.
            db.session.execute(insert(_BATCH).from_select(
                ["id"],
                select(c.c.id).where(missed).limit(batch).with_for_update(skip_locked=True),
            ))
            found = dict(db.session.execute(
                select(c.c.status, func.count()).where(chosen).group_by(c.c.status)
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
                        ).where(chosen),
                    )
                )
                # Who was responsible at that moment, before anything moves (append-only).
                db.session.execute(
                    insert(a).from_select(
                        ["complaint_id", "at", "clock", "due_at", "status", "department_id",
                         "person_id", "escalation_level"],
                        select(c.c.id, literal(now), func.coalesce(c.c.due_kind, literal("")),
                               c.c.due_at, c.c.status, department, person,
                               next_level).where(chosen),
                    )
                )
                _notify(c, e, chosen, department, person, now)
                db.session.execute(
                    update(c)
                    .where(chosen)
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
    return SweepResult(marked=sum(counts.values()), by_status=dict(counts))
