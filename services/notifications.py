"""The notification outbox: rows written in the caller's transaction, and the reader's side.

:func:`write_for_action` and :func:`write_for_registration` run inside the transaction that
writes the event (services.complaints), so a notification exists exactly when its event
does; the unique (recipient, event, kind) constraint keeps anyone from being told twice.
Whom to tell comes from the action's declaration (``rules.notify.recipients``); the actor
is never told of their own action. The sweep writes its ``overdue`` rows set-based
(services.sweep).

Reading re-checks the scope: a notification is listed and counted only while its reader
may still see the complaint (``services.queries.scope_clause``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, func, insert, or_, select, update

from models import Complaint, ComplaintEvent, Department, Notification, Staff, db
from models.engine import write_transaction
from rules import Actor, Role
from rules.channel_owners import NEW_IN_CHANNEL
from rules.facts import Facts
from rules.notify import (
    CRITICAL_REGISTERED,
    Recipient,
    kind_of,
    on_registration,
    recipients,
)

from .channel_owners import owner_of
from .queries import scope_clause

# --- writing (inside the caller's transaction) ------------------------------------------


def resolve(wanted: Iterable[Recipient]) -> set[int]:
    """The active staff ids the descriptions name (one query per kind of description)."""
    wanted = tuple(wanted)
    ids: set[int] = set()
    people = [r.person_id for r in wanted if r.person_id is not None]
    roles = [r.role for r in wanted if r.role is not None]
    clauses = []
    if people:
        clauses.append(Staff.id.in_(people))
    if roles:
        clauses.append(Staff.role.in_(roles))
    if clauses:
        ids.update(db.session.scalars(
            select(Staff.id).where(Staff.active.is_(True), or_(*clauses))))
    for department_id in {r.head_of for r in wanted if r.head_of is not None}:
        ids.update(_heads(department_id))
    return ids


def _heads(department_id: int) -> list[int]:
    """The department's head (``head_id``, if active), else its active department heads."""
    head = db.session.scalar(
        select(Staff.id).join(Department, Department.head_id == Staff.id)
        .where(Department.id == department_id, Staff.active.is_(True)))
    if head is not None:
        return [head]
    return list(db.session.scalars(select(Staff.id).where(
        Staff.department_id == department_id, Staff.role == Role.DEPT_HEAD,
        Staff.active.is_(True))))


def _write(people: set[int], complaint_id: int, event: ComplaintEvent, kind: str,
           now: datetime, actor_id: int | None) -> int:
    people.discard(actor_id)
    if not people:
        return 0
    if event.id is None:
        db.session.flush()
    db.session.execute(insert(Notification), [
        {"created_at": now, "recipient_id": person, "complaint_id": complaint_id,
         "kind": kind, "event_id": event.id} for person in sorted(people)])
    return len(people)


def write_for_action(symbols: Iterable[str], action: str, reopened: bool, before: Facts,
                     complaint: Complaint, event: ComplaintEvent, actor: Actor,
                     now: datetime) -> int:
    """The notifications of one performed action (its declared recipients); how many."""
    symbols = tuple(symbols)
    if not symbols:
        return 0
    wanted = recipients(symbols, before, complaint.facts(), actor)
    return _write(resolve(wanted), complaint.id, event, kind_of(action, reopened), now,
                  actor.id)


def write_for_registration(complaint: Complaint, event: ComplaintEvent, actor: Actor,
                           now: datetime) -> int:
    """A critical complaint's registration tells the managers and senior management; every
    registration tells its channel's owner (``new_in_channel``, services.channel_owners)."""
    written = 0
    symbols = on_registration(complaint.severity)
    if symbols:
        facts = complaint.facts()
        wanted = recipients(symbols, facts, facts, actor)
        written = _write(resolve(wanted), complaint.id, event, CRITICAL_REGISTERED, now,
                         actor.id)
    owner = owner_of(complaint.channel)
    if owner is not None:
        written += _write(resolve((Recipient(person_id=owner),)), complaint.id, event,
                          NEW_IN_CHANNEL, now, actor.id)
    return written


# --- reading ----------------------------------------------------------------------------


def _visible(actor: Actor):
    """The reader's notifications whose complaint they may still see."""
    return and_(Notification.recipient_id == actor.id,
                or_(Notification.complaint_id.is_(None), scope_clause(actor)))


def unread_count(actor: Actor) -> int:
    """The bell's number: one indexed COUNT (recipient, read_at) joined to the scope."""
    stmt = (select(func.count()).select_from(Notification)
            .outerjoin(Complaint, Complaint.id == Notification.complaint_id)
            .where(_visible(actor), Notification.read_at.is_(None)))
    return db.session.scalar(stmt) or 0


def listed(actor: Actor, *, page: int = 0, per_page: int = 20, unread_only: bool = False,
           with_total: bool = True):
    """(rows, total): the reader's notifications, newest first, with their complaints'
    numbers (total None unless ``with_total``)."""
    where = [_visible(actor)]
    if unread_only:
        where.append(Notification.read_at.is_(None))
    total = None
    if with_total:
        total = db.session.scalar(
            select(func.count()).select_from(Notification)
            .outerjoin(Complaint, Complaint.id == Notification.complaint_id)
            .where(*where)) or 0
    rows = db.session.execute(
        select(Notification, Complaint.number)
        .outerjoin(Complaint, Complaint.id == Notification.complaint_id)
        .where(*where)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(per_page).offset(page * per_page)
    ).all()
    return rows, total


def mark_read(actor: Actor, notification_id: int, now: datetime) -> bool:
    """Mark one of the reader's own notifications read; False if it is not theirs."""
    with write_transaction(db.session):
        done = db.session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.recipient_id == actor.id,
                   Notification.read_at.is_(None))
            .values(read_at=now).execution_options(synchronize_session=False))
    return bool(done.rowcount)


def mark_all_read(actor: Actor, now: datetime) -> int:
    """Mark every unread notification of the reader read; how many."""
    with write_transaction(db.session):
        done = db.session.execute(
            update(Notification)
            .where(Notification.recipient_id == actor.id, Notification.read_at.is_(None))
            .values(read_at=now).execution_options(synchronize_session=False))
    return done.rowcount or 0
