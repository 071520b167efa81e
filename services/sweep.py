"""The deadline sweep: mark complaints whose current deadline passed, escalate each once.

Set-based: one INSERT … SELECT for the audit events and one UPDATE, in one transaction,
whatever the number of rows. Idempotent: a complaint is marked once per missed deadline
(``overdue_since`` is set, and cleared only when a new deadline is set). Safe on several
hosts at once: on PostgreSQL the sweep holds a transaction-scoped advisory lock, so a
second sweep waits and then finds nothing left to mark; on SQLite the transaction begins
IMMEDIATE, which admits one writer at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, func, insert, literal, null, select, text, update

from models import Complaint, ComplaintEvent, db
from models.engine import write_transaction
from rules import MAX_ESCALATION, Action, Status
from rules.deadlines import PENDING_DEADLINE

from . import clock

SWEEP_LOCK_KEY = 0x436F6D70  # "Comp": the advisory lock id of the sweep

_NOTES = {
    Status.REGISTERED: "accept deadline missed",
    Status.FORWARDED: "resolve deadline missed",
    Status.IN_PROGRESS: "resolve deadline missed",
    Status.RESOLVED: "callback deadline missed",
    Status.CALLBACK: "callback deadline missed",
}


@dataclass
class SweepResult:
    marked: int
    by_status: dict[str, int]


def _due_statuses():
    return [s for s, deadline in PENDING_DEADLINE.items() if deadline]


def sweep(now: datetime | None = None) -> SweepResult:
    now = now or clock.now()
    c = Complaint.__table__
    missed = and_(
        c.c.status.in_(_due_statuses()),
        c.c.due_at < now,
        c.c.overdue_since.is_(None),
    )
    next_level = case(
        (c.c.escalation_level < MAX_ESCALATION, c.c.escalation_level + 1),
        else_=MAX_ESCALATION,
    )
    with write_transaction(db.session):
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SWEEP_LOCK_KEY})
        counts = dict(
            db.session.execute(
                select(c.c.status, func.count()).where(missed).group_by(c.c.status)
            ).all()
        )
        if counts:
            e = ComplaintEvent.__table__
            note = case(*((c.c.status == s, literal(n)) for s, n in _NOTES.items()), else_=None)
            db.session.execute(
                insert(e).from_select(
                    [
                        "complaint_id", "at", "actor_id", "action", "from_status", "to_status",
                        "from_department_id", "to_department_id", "from_assignee_id",
                        "to_assignee_id", "escalation_level", "note",
                    ],
                    select(
                        c.c.id, literal(now), null(), literal(Action.OVERDUE),
                        c.c.status, c.c.status, c.c.department_id, c.c.department_id,
                        c.c.assignee_id, c.c.assignee_id, next_level, note,
                    ).where(missed),
                )
            )
            db.session.execute(
                update(c)
                .where(missed)
                .values(
                    overdue_since=now,
                    was_overdue=True,
                    escalation_level=next_level,
                    version=c.c.version + 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
    return SweepResult(marked=sum(counts.values()), by_status=counts)
