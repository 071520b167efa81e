"""反馈上级: reports back to the upstream centre that sent a complaint down (issue 12).

The report itself is a workflow action (``rules.procedure`` REPORT_UPSTREAM: customer
service, at any stage, as often as needed; the first one stops the clock). Here: the
queue of reports still owed (:func:`waiting_clause`) and the sweep of the report-back
deadlines the centres set (:func:`sweep`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, insert, literal, null, select, update

from models import Complaint, ComplaintEvent, Notification, Staff, db
from models.engine import write_transaction
from rules import Action, Actor, Role
from rules.notify import UPSTREAM_OVERDUE

from .queries import scope_clause

# The audit note of a missed report-back deadline (English, as every stored note).
NOTE = "report back upstream deadline missed"
# Who is told: the customer-service managers (rules.notify "managers").
TOLD = (Role.MANAGER,)
# Complaints marked per transaction.
BATCH = 1000


def waiting_clause():
    """Complaints sent down by an upstream centre and not reported back to it yet."""
    return and_(Complaint.upstream_ref.is_not(None), Complaint.upstream_reported_at.is_(None))


def waiting_count(actor: Actor) -> int:
    """Reports back still owed, in the actor's scope (one count, any status: a closed
    complaint is reported back too)."""
    stmt = (select(func.count()).select_from(Complaint)
            .where(waiting_clause(), scope_clause(actor)))
    return int(db.session.scalar(stmt) or 0)


def _missed(now: datetime):
    return and_(waiting_clause(), Complaint.upstream_due.is_not(None),
                Complaint.upstream_due < now, Complaint.upstream_overdue_since.is_(None))


def sweep(now: datetime) -> int:
    """Mark the reports back upstream past the deadline the centre set; how many.

    Each missed one once: ``upstream_overdue_since`` set, an OVERDUE event (note
    :data:`NOTE`, status and level unchanged) and an ``upstream_overdue`` notification to every
    active manager, in batches of :data:`BATCH`, each its own transaction. A report made
    in time, or later, leaves nothing to mark; a second run finds nothing.
    """
    c, e = Complaint.__table__, ComplaintEvent.__table__
    total = 0
    while True:
        with write_transaction(db.session):
            ids = list(db.session.scalars(
                select(Complaint.id).where(_missed(now)).order_by(Complaint.id).limit(BATCH)
                .with_for_update(skip_locked=True)))
            if not ids:
                break
            db.session.execute(insert(e).from_select(
                ["complaint_id", "at", "actor_id", "action", "from_status", "to_status",
                 "from_department_id", "to_department_id", "from_assignee_id",
                 "to_assignee_id", "escalation_level", "note"],
                select(c.c.id, literal(now), null(), literal(Action.UPSTREAM_OVERDUE), c.c.status,
                       c.c.status, c.c.department_id, c.c.department_id, c.c.assignee_id,
                       c.c.assignee_id, c.c.escalation_level, literal(NOTE))
                .where(c.c.id.in_(ids))))
            events = dict(db.session.execute(
                select(e.c.complaint_id, func.max(e.c.id))
                .where(e.c.complaint_id.in_(ids), e.c.action == Action.UPSTREAM_OVERDUE,
                       e.c.at == now, e.c.note == NOTE)
                .group_by(e.c.complaint_id)).all())
            managers = list(db.session.scalars(
                select(Staff.id).where(Staff.active.is_(True), Staff.role.in_(TOLD))))
            rows = [{"created_at": now, "recipient_id": person, "complaint_id": cid,
                     "kind": UPSTREAM_OVERDUE, "event_id": event_id}
                    for cid, event_id in events.items() for person in managers]
            if rows:
                db.session.execute(insert(Notification), rows)
            db.session.execute(
                update(c).where(c.c.id.in_(ids))
                .values(upstream_overdue_since=now, version=c.c.version + 1, updated_at=now)
                .execution_options(synchronize_session=False))
            total += len(ids)
        if len(ids) < BATCH:
            break
    return total
