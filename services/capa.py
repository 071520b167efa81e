"""纠正预防措施: corrective and preventive actions — numbering, scope, create / edit /
steps (each with its CorrectiveActionEvent, under the optimistic lock) and the sweep.

``rules.capa`` decides; this module reads the facts, writes the row, its links and its
event in one transaction (``write_transaction``), and marks the overdue ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, false, insert, select, text, true, update
from sqlalchemy.orm import selectinload

from models import (
    Category,
    Complaint,
    CorrectiveAction,
    CorrectiveActionEvent,
    CorrectiveActionLink,
    Department,
    Notification,
    Staff,
    db,
)
from models.engine import write_transaction
from rules import Actor, DepartmentFacts, PersonFacts, Role
from rules import capa as rule
from rules.bounds import parse_id
from rules.constants import CapaStatus
from rules.errors import N_, RuleError

from . import clock
from .queries import scope_clause

OVERDUE_KIND = rule.OVERDUE_NOTIFICATION
# What the sweep's event says (shown translated on the timeline).
OVERDUE_NOTE = N_("Past its due date")

_UPSERT = text(
    "INSERT INTO number_counter (day, last) VALUES (:day, 1) "
    "ON CONFLICT (day) DO UPDATE SET last = number_counter.last + 1 "
    "RETURNING last"
)


class NotFound(RuleError):
    def __init__(self):
        super().__init__(N_("Corrective action not found."))


# --- numbering and scope --------------------------------------------------------------------


def next_number(now: datetime) -> str:
    """CA-YYYY-NNNN, the year's next number, inside the caller's transaction.

    The year's counter is a row of ``number_counter`` keyed ``CAYYYY`` (complaint numbers
    use ``YYYYMMDD`` keys there: no clash); the upsert locks it (PostgreSQL) or runs under
    the write lock (SQLite), so two concurrent creations never share a number.
    """
    last = db.session.execute(_UPSERT, {"day": f"CA{now.year}"}).scalar_one()
    return f"CA-{now.year}-{last:04d}"


def scope(actor: Actor):
    """The SQL condition of the corrective actions this actor sees (rules.capa.can_see)."""
    ca = CorrectiveAction
    if actor.role in rule.READ_ALL_ROLES:
        return true()
    if actor.role == Role.DEPT_HEAD and actor.department_id is not None:
        return ca.owner_department_id == actor.department_id
    if actor.role == Role.HANDLER:
        return ca.owner_id == actor.id
    return false()


def facts(row: CorrectiveAction) -> rule.CapaFacts:
    return rule.CapaFacts(status=row.status, owner_department_id=row.owner_department_id,
                          owner_id=row.owner_id, due_date=row.due_date)


def get_visible(ca_id, actor: Actor) -> CorrectiveAction | None:
    pk = parse_id(ca_id)
    if pk is None:
        return None
    return db.session.scalar(select(CorrectiveAction).where(CorrectiveAction.id == pk,
                                                            scope(actor)))


def _locked(ca_id, actor: Actor) -> CorrectiveAction:
    """The row, locked for this transaction and re-read, if the actor sees it."""
    pk = parse_id(ca_id)
    row = None if pk is None else db.session.scalar(
        select(CorrectiveAction).where(CorrectiveAction.id == pk, scope(actor))
        .with_for_update().execution_options(populate_existing=True))
    if row is None:
        raise NotFound()
    return row


# --- what the form names --------------------------------------------------------------------


def _department(dept_id) -> DepartmentFacts | None:
    if dept_id is None:
        return None
    row = db.session.get(Department, dept_id)
    return None if row is None else DepartmentFacts(
        id=row.id, active=row.active, is_customer_service=row.is_customer_service)


def _person(staff_id) -> PersonFacts | None:
    if staff_id is None:
        return None
    row = db.session.get(Staff, staff_id)
    return None if row is None else PersonFacts(id=row.id, active=row.active,
                                                department_id=row.department_id, role=row.role)


def _category_known(category_id) -> bool:
    if category_id is None:
        return True
    return db.session.scalar(select(Category.id).where(Category.id == category_id,
                                                       Category.active.is_(True))) is not None


def _linkable(numbers, actor: Actor) -> tuple[dict[str, int], list[str]]:
    """{number: complaint id} of the numbers the actor sees, and the others (unknown)."""
    if not numbers:
        return {}, []
    found = dict(db.session.execute(
        select(Complaint.number, Complaint.id)
        .where(Complaint.number.in_(numbers), scope_clause(actor))).all())
    return found, [n for n in numbers if n not in found]


def _checked(values: dict, actor: Actor, now: datetime, *, due_changed=True):
    numbers = rule.parse_numbers(values.get("complaint_numbers"))
    found, unknown = _linkable(numbers, actor)
    clean = rule.check_values(
        values, now.date(), department=_department(values.get("owner_department_id")),
        owner=_person(values.get("owner_id")),
        category_known=_category_known(values.get("category_id")),
        unknown_numbers=unknown, due_changed=due_changed)
    return clean, [found[n] for n in numbers]


def _event(row: CorrectiveAction, action: str, actor_id, now: datetime, *, from_status=None,
           note: str | None = None) -> CorrectiveActionEvent:
    event = CorrectiveActionEvent(corrective_action_id=row.id, at=now, actor_id=actor_id,
                                  action=action, from_status=from_status,
                                  to_status=row.status, note=note)
    db.session.add(event)
    return event


def _link(row: CorrectiveAction, complaint_ids, actor_id, now: datetime) -> list[int]:
    """Link new complaints (append-only; those already linked are skipped)."""
    have = set(db.session.scalars(select(CorrectiveActionLink.complaint_id).where(
        CorrectiveActionLink.corrective_action_id == row.id)))
    new = [cid for cid in complaint_ids if cid not in have]
    for cid in new:
        db.session.add(CorrectiveActionLink(corrective_action_id=row.id, complaint_id=cid,
                                            linked_at=now, linked_by_id=actor_id))
    return new


def _numbers_of(ids) -> str:
    if not ids:
        return ""
    return ", ".join(db.session.scalars(select(Complaint.number).where(Complaint.id.in_(ids))
                                        .order_by(Complaint.number)))


# --- create, edit, steps --------------------------------------------------------------------


def create(values: dict, actor, now: datetime | None = None) -> CorrectiveAction:
    """Open a corrective action (numbered), link the complaints named, write its event."""
    now = now or clock.now()
    who = actor.actor if hasattr(actor, "actor") else actor
    rule.check_create(who.role)
    with write_transaction(db.session):
        clean, complaint_ids = _checked(values, who, now)
        row = CorrectiveAction(number=next_number(now), status=CapaStatus.OPEN,
                               created_at=now, created_by_id=who.id, updated_at=now,
                               **clean)
        db.session.add(row)
        db.session.flush()
        _link(row, complaint_ids, who.id, now)
        linked = _numbers_of(complaint_ids)
        _event(row, rule.CapaStep.CREATE, who.id, now,
               note=f"complaints: {linked}" if linked else None)
    return row


EDITED = ("kind", "problem", "cause", "action", "owner_department_id", "owner_id",
          "category_id", "due_date")


def _shown(name: str, value) -> str:
    """A changed value as the timeline shows it (names, not ids)."""
    if value is None:
        return "—"
    if name == "owner_department_id":
        row = db.session.get(Department, value)
        return row.name if row else str(value)
    if name == "owner_id":
        row = db.session.get(Staff, value)
        return row.full_name if row else str(value)
    if name == "category_id":
        row = db.session.get(Category, value)
        return row.name if row else str(value)
    return value.isoformat() if isinstance(value, date) else str(value)


def edit(ca_id, values: dict, actor, expected_version, now: datetime | None = None
         ) -> CorrectiveAction:
    """Save the edit form of an open corrective action (its version must be the one the
    form was opened on); new complaint numbers are linked; one event names the changes."""
    now = now or clock.now()
    who = actor.actor if hasattr(actor, "actor") else actor
    with write_transaction(db.session):
        row = _locked(ca_id, who)
        rule.check_edit(who, facts(row), values.get("owner_department_id"))
        rule.check_version(expected_version, row.version)
        clean, complaint_ids = _checked(values, who, now,
                                        due_changed=values.get("due_date") != row.due_date)
        lines = []
        for name in EDITED:
            old, new = getattr(row, name), clean[name]
            if old != new:
                if name in ("problem", "cause", "action"):
                    lines.append(name)
                else:
                    lines.append(f"{name}: {_shown(name, old)} → {_shown(name, new)}")
                setattr(row, name, new)
        if "due_date" in clean and not rule.is_overdue(row.status, row.due_date, now.date()):
            row.overdue_since = None
        new_links = _link(row, complaint_ids, who.id, now)
        if new_links:
            lines.append(f"complaints: {_numbers_of(new_links)}")
        if lines:
            row.updated_at = now
            _event(row, rule.CapaStep.EDIT, who.id, now, from_status=row.status,
                   note="\n".join(lines))
    return row


def take_step(ca_id, step: str, inputs: dict, actor, expected_version,
              now: datetime | None = None) -> CorrectiveAction:
    """Done / check effect / cancel: rules decide the changes; the row and its event are
    written together."""
    now = now or clock.now()
    who = actor.actor if hasattr(actor, "actor") else actor
    with write_transaction(db.session):
        row = _locked(ca_id, who)
        before = facts(row)
        changes = rule.check_step(step, who, before, inputs, now, now.date())
        rule.check_version(expected_version, row.version)
        old_due = row.due_date
        for name, value in changes.items():
            setattr(row, name, value)
        row.updated_at = now
        note = (inputs.get("note") or inputs.get("reason") or inputs.get("effect_check")
                or "").strip() or None
        if step == rule.CapaStep.CHECK and changes.get("due_date") not in (None, old_due):
            note = f"{note}\ndue_date: {_shown('due_date', old_due)} → " \
                   f"{_shown('due_date', changes['due_date'])}"
        _event(row, step, who.id, now, from_status=before.status, note=note)
    return row


# --- reading --------------------------------------------------------------------------------


@dataclass
class TimelineEntry:
    at: datetime
    actor: str | None
    action: str
    from_status: str | None
    to_status: str | None
    note: str | None


def timeline(ca_id: int) -> list[TimelineEntry]:
    """The corrective action's events, oldest first, with the actors' names."""
    rows = db.session.execute(
        select(CorrectiveActionEvent, Staff.full_name)
        .outerjoin(Staff, Staff.id == CorrectiveActionEvent.actor_id)
        .where(CorrectiveActionEvent.corrective_action_id == ca_id)
        .order_by(CorrectiveActionEvent.id)).all()
    return [TimelineEntry(e.at, name, e.action, e.from_status, e.to_status, e.note)
            for e, name in rows]


def linked_complaints(ca_id: int, actor: Actor) -> list[tuple[int, str, bool]]:
    """(id, number, visible to the actor) of the complaints linked, by number."""
    rows = db.session.execute(
        select(Complaint.id, Complaint.number, Complaint.department_id, Complaint.assignee_id,
               Complaint.registered_by_id)
        .join(CorrectiveActionLink, CorrectiveActionLink.complaint_id == Complaint.id)
        .where(CorrectiveActionLink.corrective_action_id == ca_id)
        .order_by(Complaint.number)).all()
    from rules import can_see

    return [(r.id, r.number, can_see(actor, r.department_id, r.assignee_id,
                                     r.registered_by_id)) for r in rows]


def for_complaint(complaint_id: int, actor: Actor) -> list[CorrectiveAction]:
    """The corrective actions linked to a complaint that the actor may see, newest first."""
    if not rule.can_open_screen(actor.role):
        return []
    return list(db.session.scalars(
        select(CorrectiveAction)
        .join(CorrectiveActionLink,
              CorrectiveActionLink.corrective_action_id == CorrectiveAction.id)
        .where(CorrectiveActionLink.complaint_id == complaint_id, scope(actor))
        .options(selectinload(CorrectiveAction.owner_department),
                 selectinload(CorrectiveAction.owner))
        .order_by(CorrectiveAction.id.desc())))


# --- the sweep ------------------------------------------------------------------------------


def _heads(department_ids) -> dict[int, set[int]]:
    """Active heads per department: the department's ``head_id`` and its dept_head staff."""
    out: dict[int, set[int]] = {d: set() for d in department_ids}
    if not out:
        return out
    for dept_id, head_id in db.session.execute(
            select(Department.id, Department.head_id)
            .join(Staff, Staff.id == Department.head_id)
            .where(Department.id.in_(out), Staff.active.is_(True))):
        out[dept_id].add(head_id)
    for dept_id, staff_id in db.session.execute(
            select(Staff.department_id, Staff.id)
            .where(Staff.department_id.in_(out), Staff.role == Role.DEPT_HEAD,
                   Staff.active.is_(True))):
        out[dept_id].add(staff_id)
    return out


def notification_key(ca_id: int, number: str, due: date, now: datetime, person: int) -> str:
    """The overdue notification's key: one per marking and person, naming the action (the
    notification has no complaint: its page links the action by this key)."""
    return f"{OVERDUE_KIND}:{ca_id}:{number}:{due:%Y%m%d}:{now:%Y%m%d%H%M%S}:{person}"


def notified_action(kind: str, key: str | None) -> tuple[int, str] | None:
    """(id, number) of the corrective action an overdue notification is about, or None."""
    parts = (key or "").split(":")
    if kind != OVERDUE_KIND or len(parts) != 6 or parse_id(parts[1]) is None:
        return None
    return int(parts[1]), parts[2]


def sweep(now: datetime | None = None) -> int:
    """Mark the open corrective actions past their due date (the company's date) that are
    not marked yet: overdue_since, an event, and a notification to the owner and the owner
    department's head(s). One transaction; how many were marked.

    The mark does not change the row's version: an edit form opened before the sweep
    still saves (it does not touch overdue_since)."""
    now = now or clock.now()
    ca = CorrectiveAction.__table__
    with write_transaction(db.session):
        rows = db.session.execute(
            select(ca.c.id, ca.c.number, ca.c.owner_department_id, ca.c.owner_id,
                   ca.c.due_date)
            .where(ca.c.status == CapaStatus.OPEN, ca.c.due_date < now.date(),
                   ca.c.overdue_since.is_(None))
            .order_by(ca.c.id).with_for_update(skip_locked=True)).all()
        if not rows:
            return 0
        ids = [r.id for r in rows]
        db.session.execute(insert(CorrectiveActionEvent), [
            {"corrective_action_id": r.id, "at": now, "actor_id": None,
             "action": rule.CapaStep.OVERDUE, "from_status": CapaStatus.OPEN,
             "to_status": CapaStatus.OPEN, "note": OVERDUE_NOTE} for r in rows])
        db.session.execute(update(ca).where(ca.c.id.in_(ids), ca.c.overdue_since.is_(None))
                           .values(overdue_since=now)
                           .execution_options(synchronize_session=False))
        heads = _heads({r.owner_department_id for r in rows})
        active = set(db.session.scalars(select(Staff.id).where(
            Staff.id.in_([r.owner_id for r in rows if r.owner_id]), Staff.active.is_(True))))
        notes = []
        for r in rows:
            people = set(heads.get(r.owner_department_id, ()))
            if r.owner_id in active:
                people.add(r.owner_id)
            notes += [{"created_at": now, "recipient_id": person, "complaint_id": None,
                       "kind": OVERDUE_KIND, "event_id": None,
                       # One per marking (the sweep marks an action once per due date).
                       "key": notification_key(r.id, r.number, r.due_date, now, person)}
                      for person in sorted(people)]
        if notes:
            db.session.execute(insert(Notification), notes)
    return len(rows)


def overdue_clause():
    """Open and marked past its due date (the list's filter and mark)."""
    ca = CorrectiveAction
    return and_(ca.status == CapaStatus.OPEN, ca.overdue_since.is_not(None))

