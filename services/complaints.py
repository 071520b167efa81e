"""Workflow services: load, ask rules, apply, write one audit event — in one transaction.

Everything the rules need (the complaint, the target department and person, the SLA
policy and the calendar) is read *before* anything changes; the rules' Decision is then
applied as it is. A refused action raises the rules' ``RuleError`` and leaves the
database untouched.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

import rules
from models import CallbackRecord, Category, Complaint, ComplaintEvent, Department, Staff, db
from models.engine import write_transaction
from rules import Action, Clock, Role, Status, Validity
from rules.bounds import MAX_ID
from rules.deadlines import current_due, match_policy, start_clock
from rules.errors import N_, RuleError, StaleVersion
from rules.intake import relays

from . import assist, clock, customer_messages, customers, merge, notifications, plans
from .calendar_source import business_calendar, policies
from .numbers import next_number
from .queries import active_head_clause


class NotFound(RuleError):
    """The complaint does not exist, or is outside the user's scope (the same to them)."""

    def __init__(self):
        super().__init__(N_("Complaint not found."))


def policy_for(kind: str, category: str | None, severity: str):
    return match_policy(policies(), kind, category, severity)


def write_event(complaint: Complaint, actor_id: int | None, action: str, now: datetime, *,
                before: tuple | None = None, note=None) -> ComplaintEvent:
    """The audit event of an action; ``before`` is (status, department, assignee) before it."""
    from_status, from_department_id, from_assignee_id = before or (None, None, None)
    event = ComplaintEvent(
        complaint_id=complaint.id, at=now, actor_id=actor_id, action=action,
        from_status=from_status, to_status=complaint.status,
        from_department_id=from_department_id, to_department_id=complaint.department_id,
        from_assignee_id=from_assignee_id, to_assignee_id=complaint.assignee_id,
        escalation_level=complaint.escalation_level, note=note,
    )
    db.session.add(event)
    return event


def _category(clean: Mapping) -> Category | None:
    if clean.get("category_id"):
        return db.session.get(Category, int(clean["category_id"]))
    if clean.get("category"):
        return db.session.scalar(select(Category).filter_by(code=clean["category"]))
    return None


# --- registration -----------------------------------------------------------------------


# The record's further fields (issue 12): registration and the edit form keep them.
RECORD_FIELDS = ("location", "target_kind", "target_text", "upstream_source", "upstream_ref",
                 "upstream_due")


def register(data: Mapping, actor: Staff, now: datetime | None = None) -> Complaint:
    """Register a new complaint (status ``registered``) with its number and accept deadline.

    Anyone on the staff may: outside customer service the complaint is "relayed by a
    department" (their department is recorded) and waits in customer service's queue.
    """
    now = now or clock.now()
    actor_id, role, dept_id = actor.id, actor.role, actor.department_id  # read once
    clean = rules.check_register(role, data, now)
    with write_transaction(db.session):
        category = _category(clean)
        received = clean.get("received_at") or now
        severity = clean["severity"]
        policy = policy_for(clean["kind"], category.code if category else None, severity)
        dues = start_clock(Clock.ACCEPT, now=now, policy=policy, calendar=None,
                           received_at=received)
        due_at, due_kind = current_due(Status.REGISTERED, dues)
        complaint = Complaint(
            number=next_number(now),
            kind=clean["kind"],
            channel=clean["channel"],
            received_at=received,
            registered_by_id=actor_id,
            source_department_id=dept_id if relays(role) else None,
            customer_name=clean["customer_name"],
            customer_phone=clean.get("customer_phone") or None,
            customer_phone_norm=clean["customer_phone_norm"],
            customer_email=clean.get("customer_email") or None,
            customer_class=clean["customer_class"],
            category=category,
            severity=severity,
            title=clean["title"],
            description=clean.get("description") or "",
            demand=clean.get("demand") or None,
            # where and what about; sent down by whom (rules.intake: cleaned, None if empty)
            **{name: clean.get(name) for name in RECORD_FIELDS},
            status=Status.REGISTERED,
            validity=Validity.PENDING,
            escalation_level=rules.initial_escalation_level(severity),
            callbacks_required=policy.callbacks_required,
            due_at=due_at,
            due_kind=due_kind,
            overdue_since=now if due_at < now else None,
            was_overdue=due_at < now,
            created_at=now,
            updated_at=now,
            **dues,
        )
        customers.link(complaint, now)  # the customer file, in this same transaction
        db.session.add(complaint)
        db.session.flush()
        event = write_event(complaint, actor_id, Action.REGISTER, now,
                            note=clean.get("late_reason") or None)
        notifications.write_for_registration(
            complaint, event, rules.Actor(actor_id, role, dept_id), now)
        customer_messages.on_registration(complaint, policy, now)  # R8: the acknowledgement
    return complaint


# --- workflow actions -------------------------------------------------------------------


def _load_for_update(complaint_id) -> Complaint | None:
    try:
        pk = int(complaint_id)
    except (TypeError, ValueError):
        return None
    if not 1 <= pk <= MAX_ID:
        return None
    stmt = (
        select(Complaint)
        .where(Complaint.id == pk)
        .options(joinedload(Complaint.category))
        .with_for_update(of=Complaint)
    )
    return db.session.scalars(stmt).unique().one_or_none()


def load_checked(complaint_id, actor: Staff, expected_version) -> Complaint:
    """The complaint, row-locked, if it is in the actor's scope and still at that version."""
    complaint = _load_for_update(complaint_id)
    if complaint is None or not rules.can_see(
        actor.actor, complaint.department_id, complaint.assignee_id, complaint.registered_by_id
    ):
        raise NotFound()
    rules.check_version(expected_version, complaint.version)
    return complaint


def _id_or_none(value):
    if value in ("", None):
        return None
    try:
        pk = int(value)
    except (TypeError, ValueError):
        return -1  # no such row: the rules refuse it as not active
    return pk if 1 <= pk <= MAX_ID else -1


def target_facts(inputs: Mapping) -> rules.Target:
    """What the rules need to know about the department and person the inputs name."""
    dept_id, person_id = _id_or_none(inputs.get("department_id")), _id_or_none(
        inputs.get("assignee_id"))
    department = person = None
    if dept_id is not None:
        row = db.session.get(Department, dept_id)
        if row is not None:
            staffed = db.session.scalar(
                select(func.count()).select_from(Staff).where(
                    Staff.department_id == row.id, Staff.active.is_(True),
                    Staff.role.in_(Role.ASSIGNABLE)))
            has_head = db.session.scalar(select(active_head_clause(row.id)))
            department = rules.DepartmentFacts(row.id, bool(row.active),
                                               bool(row.is_customer_service), bool(staffed),
                                               bool(has_head), row.name)
    if person_id is not None:
        person = _person_facts(person_id)
    caused_by_id = _id_or_none(inputs.get("caused_by_id"))
    caused_by = _person_facts(caused_by_id) if caused_by_id is not None else None
    return rules.Target(dept_id, department, person_id, person, **merge.target_fields(inputs),
                        caused_by_id=caused_by_id, caused_by=caused_by)


def _person_facts(person_id: int) -> rules.PersonFacts | None:
    row = db.session.get(Staff, person_id)
    if row is None:
        return None
    return rules.PersonFacts(row.id, bool(row.active), row.department_id, row.role)


def facts_of(complaint: Complaint, policy=None):
    """The complaint as the rules see it, with what its SLA policy says (a plan required)."""
    facts = complaint.facts()
    policy = policy or policy_for(facts.kind, facts.category, facts.severity)
    return dataclasses.replace(facts, plan_required=bool(policy.plan_required))


def decide(complaint: Complaint, action: str, actor: Staff, inputs: Mapping,
           now: datetime) -> rules.Decision:
    """Ask the rules, with every fact read from the database before any change."""
    plain = complaint.facts()
    policy = policy_for(plain.kind, plain.category, plain.severity)
    facts = facts_of(complaint, policy)
    target = assist.target(action, complaint, inputs, target_facts(inputs))  # 协办: parts
    return rules.check(action, facts, actor.actor, inputs, now, target=target,
                       policy=policy, calendar=business_calendar())


def _apply(c: Complaint, decision: rules.Decision, actor_id: int, now: datetime):
    """Write the decision onto the complaint (and its callback record); no look-ups here."""
    for name, value in decision.changes.items():
        setattr(c, name, value)
    c.updated_at = now
    # Every accepted action is a new version of the complaint, even one that changes no
    # column (an urge, a callback that did not reach the customer, two actions within the
    # same second): a form opened before it is stale, and the version counts the actions.
    flag_modified(c, "updated_at")
    callback = None
    if decision.callback is not None:
        i = decision.callback
        callback = CallbackRecord(
            complaint_id=c.id, staff_id=actor_id, at=now, method=i["method"],
            reached=i["reached"], satisfaction=i.get("satisfaction") if i["reached"] else None,
            solved=i.get("solved") if i["reached"] else None, notes=i.get("notes") or None,
        )
        db.session.add(callback)
    return callback


@dataclass
class Outcome:
    complaint: Complaint
    event: ComplaintEvent
    decision: rules.Decision
    callback: CallbackRecord | None = None


def perform(complaint_id, action: str, actor: Staff, inputs: Mapping | None = None, *,
            expected_version: int | None = None, now: datetime | None = None) -> Outcome:
    """Carry out one workflow action on one complaint, or raise a RuleError saying why not."""
    now = now or clock.now()
    actor_id = actor.id
    try:
        with write_transaction(db.session):
            complaint = load_checked(complaint_id, actor, expected_version)
            decision = decide(complaint, action, actor, dict(inputs or {}), now)
            before = (complaint.status, complaint.department_id, complaint.assignee_id)
            facts_before = complaint.facts()
            callback = _apply(complaint, decision, actor_id, now)
            db.session.flush()
            event = write_event(complaint, actor_id, action, now, before=before,
                                note=decision.note)
            merge.after_action(action, complaint, actor_id, decision.inputs.get("note"), now)
            # The further procedures' own rows (issue 12): the plan's text, the parts.
            plans.after_action(action, complaint, decision, actor_id, event, now)
            assist.after_action(action, complaint, decision, actor_id, event, now)
            # The outbox: the declared recipients, told in this same transaction.
            notifications.write_for_action(decision.notify, action, decision.reopened,
                                           facts_before, complaint, event, actor.actor, now)
            customer_messages.on_action(action, complaint, now)  # R8: the result, on close
    except StaleDataError:
        raise StaleVersion() from None
    return Outcome(complaint, event, decision, callback)


@dataclass
class BulkResult:
    done: list[str] = field(default_factory=list)
    refused: list[tuple[str, RuleError]] = field(default_factory=list)  # (number or id, why)


def perform_many(ids: Iterable, action: str, actor: Staff, inputs: Mapping | None = None,
                 now: datetime | None = None) -> BulkResult:
    """The same action on several complaints, each checked and written on its own."""
    result = BulkResult()
    for complaint_id in ids:
        try:
            outcome = perform(complaint_id, action, actor, inputs, now=now)
        except RuleError as err:
            number = db.session.scalar(
                select(Complaint.number).where(Complaint.id == _id_or_none(complaint_id))
            ) if not isinstance(err, NotFound) else None
            result.refused.append((number or str(complaint_id), err))
        else:
            result.done.append(outcome.complaint.number)
    return result
