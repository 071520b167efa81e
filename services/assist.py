"""协办: assisting departments' parts — their rows, the assisting side's report and handler,
and the sweep of missed parts (issue 12).

The lead side's actions (add, withdraw) are declared in ``rules.assist`` and carried out
by ``services.complaints.perform``; :func:`target` gives the rules the parts, and
:func:`after_action` writes the part's row in the same transaction. The assisting side's
two steps (:func:`report`, :func:`assign_part`) are not declared actions (``can_act`` is
false for them): each locks the complaint, checks scope and the part's version, asks
``rules.assist`` and writes the part, the complaint's event and the notifications in one
transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime

from sqlalchemy import and_, select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

import rules
from models import AccountabilityRecord, Assist, Complaint, Department, Staff, db
from models.engine import write_transaction
from rules import Action, Role, Status
from rules import assist as rules_assist
from rules.bounds import MAX_ID
from rules.constants import AssistStatus
from rules.errors import StaleVersion
from rules.facts import PartFacts, PersonFacts
from rules.notify import recipients

from . import clock, notifications

SWEEP_BATCH = 500


# --- reading ------------------------------------------------------------------------------


def part_facts(part: Assist, department_name: str | None = None) -> PartFacts:
    name = department_name
    if name is None and part.department is not None:
        name = part.department.name
    return PartFacts(id=part.id, department_id=part.department_id,
                     assignee_id=part.assignee_id, status=part.status, due_at=part.due_at,
                     department_name=name, version=part.version)


def parts_of(complaint_id: int) -> list[Assist]:
    """Every part of a complaint, oldest first, with its department and people (1 query)."""
    return list(db.session.scalars(
        select(Assist).where(Assist.complaint_id == complaint_id)
        .options(joinedload(Assist.department), joinedload(Assist.assignee),
                 joinedload(Assist.reported_by), joinedload(Assist.withdrawn_by),
                 joinedload(Assist.created_by))
        .order_by(Assist.id)))


def assisting_pairs(actor: rules.Actor, complaint_id: int) -> tuple:
    """``can_see(assisting=…)`` for a department role: the (department, assignee) of the
    complaint's parts not withdrawn; () for the roles that see every complaint anyway."""
    if actor.role not in Role.DEPARTMENTAL:
        return ()
    rows = db.session.execute(
        select(Assist.department_id, Assist.assignee_id)
        .where(Assist.complaint_id == complaint_id,
               Assist.status != AssistStatus.WITHDRAWN)).all()
    return tuple((d, a) for d, a in rows)


def can_see(actor: rules.Actor, complaint: Complaint) -> bool:
    """rules.can_see with the complaint's parts (an assisting head or handler sees it)."""
    return rules.can_see(actor, complaint.department_id, complaint.assignee_id,
                         complaint.registered_by_id,
                         assisting=assisting_pairs(actor, complaint.id))


def _id(value) -> int | None:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        return None
    return pk if 1 <= pk <= MAX_ID else None


def target(action: str, complaint: Complaint, inputs: Mapping,
           found: rules.Target) -> rules.Target:
    """The rules' Target of an assist action, with the complaint's parts and the part named
    (``part``: one of this complaint's parts, else None); other actions as they are."""
    if action not in (Action.ASSIST_ADD, Action.ASSIST_WITHDRAW, Action.FORWARD):
        return found
    parts = tuple(part_facts(p) for p in parts_of(complaint.id))
    part_id = _id(inputs.get("part"))
    part = next((p for p in parts if p.id == part_id), None)
    live = tuple(p for p in parts if p.status != AssistStatus.WITHDRAWN)
    return replace(found, part_id=part_id, part=part, parts=live)


# --- the lead side's actions (services.complaints.perform) ---------------------------------


def _tell(symbols, complaint: Complaint, event, kind: str, actor: rules.Actor, now: datetime,
          *, assisting: int | None = None, people: tuple = ()) -> int:
    facts = complaint.facts()
    wanted = recipients(symbols, facts, facts, actor, assisting=assisting)
    ids = notifications.resolve(wanted) | {p for p in people if p is not None}
    return notifications._write(ids, complaint.id, event, kind, now, actor.id)


def after_action(action, complaint, decision, actor_id, event, now) -> None:
    """Called by services.complaints.perform in the action's transaction: the part's row
    (added, withdrawn) and the assisting department's notification."""
    if action == Action.ASSIST_ADD:
        inputs = decision.inputs
        department_id = int(inputs["department_id"])
        part = Assist(complaint_id=complaint.id, department_id=department_id,
                      task=inputs["task"], status=AssistStatus.OPEN, created_at=now,
                      created_by_id=actor_id,
                      due_at=rules_assist.part_due(complaint.facts(), inputs))
        db.session.add(part)
        db.session.flush()
        actor = _actor(actor_id)
        _tell(("assisting_head",), complaint, event, action, actor, now,
              assisting=department_id)
    elif decision.to_status == Status.CLOSED and decision.from_status != Status.CLOSED:
        # Closed (force-closed, merged) with parts still open: they are withdrawn with it
        # (the rules zeroed the count), so that no assisting department keeps working on
        # a closed complaint.
        for part in db.session.scalars(select(Assist).where(
                Assist.complaint_id == complaint.id, Assist.status == AssistStatus.OPEN)):
            part.status = AssistStatus.WITHDRAWN
            part.withdrawn_at = now
            part.withdrawn_by_id = actor_id
            part.withdraw_reason = decision.note or action
        db.session.flush()
    elif action == Action.ASSIST_WITHDRAW:
        part = _part_for_update(complaint.id, decision.inputs["part"])
        part.status = AssistStatus.WITHDRAWN
        part.withdrawn_at = now
        part.withdrawn_by_id = actor_id
        part.withdraw_reason = decision.inputs["reason"]
        db.session.flush()
        _tell(("assisting_head",), complaint, event, action, _actor(actor_id), now,
              assisting=part.department_id, people=(part.assignee_id,))


def _actor(actor_id: int) -> rules.Actor:
    return db.session.get(Staff, actor_id).actor


def _part_for_update(complaint_id: int, part_id) -> Assist | None:
    pk = _id(part_id)
    if pk is None:
        return None
    return db.session.scalars(
        select(Assist).where(Assist.id == pk, Assist.complaint_id == complaint_id)
        .options(joinedload(Assist.department))
        .with_for_update(of=Assist)).unique().one_or_none()


# --- the assisting side: report the part, name who does it --------------------------------


def _locked(complaint_id, part_id, actor, expected_version):
    """(complaint, part), both row-locked, when the actor may see the complaint (its parts
    included) and the part is at the version the form showed; else NotFound / StaleVersion."""
    from .complaints import NotFound, _load_for_update

    complaint = _load_for_update(complaint_id)
    if complaint is None or not can_see(actor.actor, complaint):
        raise NotFound()
    part = _part_for_update(complaint.id, part_id)
    if part is None:
        raise NotFound()
    rules.check_version(expected_version, part.version)
    return complaint, part


def _touch(complaint: Complaint, now: datetime) -> None:
    complaint.updated_at = now
    flag_modified(complaint, "updated_at")  # a new version: a form opened before is stale


def report(complaint_id, part_id, actor: Staff, text, *, expected_version=None,
           now: datetime | None = None) -> Assist:
    """The assisting department reports its part: the part is done (reported), the lead's
    count of open parts goes down, the event is written and the lead is told."""
    from .complaints import write_event

    now = now or clock.now()
    try:
        with write_transaction(db.session):
            complaint, part = _locked(complaint_id, part_id, actor, expected_version)
            text = rules_assist.check_report(actor.actor, part_facts(part), complaint.status,
                                             text)
            before = (complaint.status, complaint.department_id, complaint.assignee_id)
            part.status = AssistStatus.REPORTED
            part.report = text
            part.reported_at = now
            part.reported_by_id = actor.id
            complaint.assists_open = max(0, (complaint.assists_open or 0) - 1)
            _touch(complaint, now)
            db.session.flush()
            event = write_event(complaint, actor.id, Action.ASSIST_REPORT, now, before=before,
                                note=f"{part.department.name}: {text}")
            _tell(("assignee", "department_head"), complaint, event, Action.ASSIST_REPORT,
                  actor.actor, now)
    except StaleDataError:
        raise StaleVersion() from None
    return part


def person_facts(person_id) -> PersonFacts | None:
    pk = _id(person_id)
    row = db.session.get(Staff, pk) if pk is not None else None
    if row is None:
        return None
    return PersonFacts(row.id, bool(row.active), row.department_id, row.role)


def assign_part(complaint_id, part_id, actor: Staff, assignee_id, *, expected_version=None,
                now: datetime | None = None) -> Assist:
    """The assisting department's head names who does the part (a handler there)."""
    from .complaints import write_event

    now = now or clock.now()
    try:
        with write_transaction(db.session):
            complaint, part = _locked(complaint_id, part_id, actor, expected_version)
            person = person_facts(assignee_id) if assignee_id not in (None, "") else None
            chosen = rules_assist.check_assign_part(actor.actor, part_facts(part),
                                                    complaint.status, person)
            before = (complaint.status, complaint.department_id, complaint.assignee_id)
            part.assignee_id = chosen
            _touch(complaint, now)
            db.session.flush()
            name = db.session.get(Staff, chosen).full_name
            event = write_event(complaint, actor.id, Action.ASSIST_ASSIGN, now, before=before,
                                note=f"{part.department.name}: {name}")
            _tell(("assignee",), complaint, event, Action.ASSIST_ASSIGN, actor.actor, now,
                  people=(chosen,))
    except StaleDataError:
        raise StaleVersion() from None
    return part


# --- the sweep ------------------------------------------------------------------------------


def _missed(now: datetime):
    return and_(Assist.status == AssistStatus.OPEN, Assist.due_at < now,
                Assist.overdue_since.is_(None), Complaint.id == Assist.complaint_id,
                Complaint.status.in_(Status.ACTIVE))


def sweep(now: datetime | None = None, batch: int = SWEEP_BATCH) -> int:
    """Mark the open parts past their deadline (once each): the part's ``overdue_since``,
    the complaint's ``overdue`` event naming the part, an accountability record (clock
    ``assist``: the assisting department, and the part's person, else its head) and a
    ``part_overdue`` notification to the assisting department's head and the part's
    person. In batches; rows a user holds at that moment are left for the next run."""
    from .complaints import write_event

    now = now or clock.now()
    marked = 0
    while True:
        with write_transaction(db.session):
            rows = db.session.execute(
                select(Assist, Complaint).where(_missed(now))
                .order_by(Assist.due_at, Assist.id).limit(batch)
                .with_for_update(of=(Complaint, Assist), skip_locked=True)).all()
            names = dict(db.session.execute(
                select(Department.id, Department.name)
                .where(Department.id.in_({p.department_id for p, _c in rows}))).all())
            for part, complaint in rows:
                heads = notifications._heads(part.department_id)
                person = part.assignee_id or (heads[0] if heads else None)
                name = names.get(part.department_id, part.department_id)
                event = write_event(
                    complaint, None, Action.PART_OVERDUE, now,
                    before=(complaint.status, complaint.department_id, complaint.assignee_id),
                    note=rules_assist.missed_note(str(name), part.due_at))
                db.session.add(AccountabilityRecord(
                    complaint_id=complaint.id, at=now, clock=rules_assist.ASSIST_CLOCK,
                    due_at=part.due_at, status=complaint.status,
                    department_id=part.department_id, person_id=person,
                    escalation_level=complaint.escalation_level))
                notifications._write(set(heads) | ({part.assignee_id} - {None}),
                                     complaint.id, event, rules_assist.PART_OVERDUE, now, None)
            if rows:
                # Core UPDATE: not a new version of the part (a report form stays valid).
                db.session.execute(
                    update(Assist).where(Assist.id.in_([p.id for p, _c in rows]))
                    .values(overdue_since=now).execution_options(synchronize_session=False))
            marked += len(rows)
        if len(rows) < batch:
            return marked


def open_part_choices(complaint_id: int) -> list[tuple[int, str]]:
    """(id, "department: task") of the complaint's open parts (the withdraw form)."""
    return [(p.id, f"{p.department.name}: {p.task[:60]}") for p in parts_of(complaint_id)
            if p.status == AssistStatus.OPEN]
