"""Workflow services: load, ask rules, apply, write one audit event — in one transaction.

A refused action raises the rules' ``RuleError`` and leaves the database untouched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import flag_modified
from sqlalchemy.orm.exc import StaleDataError

import rules
from models import CallbackRecord, Category, Complaint, ComplaintEvent, Department, Staff, db
from models.engine import write_transaction
from rules import Action, Status
from rules.deadlines import accept_due, callback_due, match_policy, resolve_due
from rules.errors import N_, PermissionDenied, RuleError, StaleVersion
from rules.workflow import initial_escalation_level

from . import clock
from .calendar_source import business_calendar, policies
from .numbers import next_number


class NotFound(RuleError):
    """The complaint does not exist, or is outside the user's scope (the same to them)."""

    def __init__(self):
        super().__init__(N_("Complaint not found."))


def _actor(staff: Staff) -> rules.Actor:
    return staff.actor


def _policy_for(complaint: Complaint):
    category = complaint.category.code if complaint.category else None
    return match_policy(policies(), complaint.kind, category, complaint.severity)


def _event(complaint: Complaint, actor_id: int | None, action: str, now: datetime, *,
           from_status=None, from_department_id=None, from_assignee_id=None, note=None):
    event = ComplaintEvent(
        complaint_id=complaint.id,
        at=now,
        actor_id=actor_id,
        action=action,
        from_status=from_status,
        to_status=complaint.status,
        from_department_id=from_department_id,
        to_department_id=complaint.department_id,
        from_assignee_id=from_assignee_id,
        to_assignee_id=complaint.assignee_id,
        escalation_level=complaint.escalation_level,
        note=note,
    )
    db.session.add(event)
    return event


# --- registration -----------------------------------------------------------------------


def register(data: Mapping, actor: Staff, now: datetime | None = None) -> Complaint:
    """Register a new complaint (status ``registered``) with its number and accept deadline."""
    now = now or clock.now()
    actor_id = actor.id  # read once: the transaction below starts by expiring the session
    clean = rules.check_register(actor.role, data)
    with write_transaction(db.session):
        category = None
        if clean.get("category_id"):
            category = db.session.get(Category, int(clean["category_id"]))
        elif clean.get("category"):
            category = db.session.scalar(select(Category).filter_by(code=clean["category"]))
        received = clean.get("received_at") or now
        complaint = Complaint(
            number=next_number(now),
            kind=clean["kind"],
            channel=clean["channel"],
            received_at=received,
            registered_by_id=actor_id,
            customer_name=clean["customer_name"],
            customer_phone=clean.get("customer_phone") or None,
            customer_phone_norm=clean["customer_phone_norm"],
            customer_email=clean.get("customer_email") or None,
            customer_class=clean["customer_class"],
            category=category,
            severity=clean["severity"],
            title=clean["title"],
            description=clean.get("description") or "",
            demand=clean.get("demand") or None,
            status=Status.REGISTERED,
            validity="pending",
            escalation_level=initial_escalation_level(clean["severity"]),
            created_at=now,
            updated_at=now,
        )
        policy = _policy_for(complaint)
        complaint.callbacks_required = policy.callbacks_required
        complaint.accept_due = accept_due(received, policy)
        complaint.due_at = complaint.accept_due
        db.session.add(complaint)
        db.session.flush()
        _event(complaint, actor_id, Action.REGISTER, now, note=None)
    return complaint


# --- workflow actions -------------------------------------------------------------------


def _load_for_update(complaint_id) -> Complaint | None:
    try:
        pk = int(complaint_id)
    except (TypeError, ValueError):
        return None
    stmt = (
        select(Complaint)
        .where(Complaint.id == pk)
        .options(joinedload(Complaint.category))
        .with_for_update(of=Complaint)
    )
    return db.session.scalars(stmt).unique().one_or_none()


def _load_checked(complaint_id, actor: Staff, expected_version) -> Complaint:
    """The complaint, row-locked, if it is in the actor's scope and still at that version."""
    complaint = _load_for_update(complaint_id)
    if complaint is None or not rules.can_see(
        _actor(actor), complaint.department_id, complaint.assignee_id
    ):
        raise NotFound()
    rules.check_version(expected_version, complaint.version)
    return complaint


def _target_facts(action: str, inputs: dict) -> dict:
    """Look up what rules need to know about the target department and person."""
    inputs = dict(inputs)
    for key in ("department_id", "assignee_id"):
        if inputs.get(key) in ("", None):
            inputs[key] = None
        else:
            try:
                inputs[key] = int(inputs[key])
            except (TypeError, ValueError):
                inputs[key] = -1  # no such row: refused as inactive below
    if action == Action.FORWARD and inputs.get("department_id") is not None:
        dept = db.session.get(Department, inputs["department_id"])
        inputs["department_active"] = bool(dept and dept.active)
        inputs["department_is_customer_service"] = bool(dept and dept.is_customer_service)
    if action in (Action.FORWARD, Action.ASSIGN) and inputs.get("assignee_id") is not None:
        person = db.session.get(Staff, inputs["assignee_id"])
        inputs["assignee_active"] = bool(person and person.active)
        inputs["assignee_department_id"] = person.department_id if person else None
        inputs["assignee_role"] = person.role if person else None
    return inputs


def _apply(c: Complaint, decision: rules.Decision, actor: Staff, now: datetime):
    """Write the decision's consequences onto the complaint; returns (note, callback)."""
    i = decision.inputs
    action = decision.action
    old_due = c.due_at
    note = i.get("reason") or i.get("note") or None
    callback = None
    calendar = None

    def fresh_resolve_due():
        nonlocal calendar
        calendar = calendar or business_calendar()
        c.resolve_due = resolve_due(now, _policy_for(c), calendar)
        return c.resolve_due

    if action == Action.ACCEPT:
        c.validity = "valid"
        c.accepted_at = now
        c.due_at = None
    elif action == Action.REJECT:
        c.validity = "invalid"
        c.validity_reason = i["reason"]
        c.rejected_at = now
        c.due_at = None
    elif action == Action.FORWARD:
        c.department_id = i["department_id"]
        c.assignee_id = i.get("assignee_id")
        c.forwarded_at = now
        c.assigned_at = now if c.assignee_id else None
        c.due_at = fresh_resolve_due()
        c.extension_requested_by_id = None
        c.extension_requested_until = None
    elif action == Action.RETURN:
        c.department_id = None
        c.assignee_id = None
        c.resolve_due = None
        c.due_at = None
        c.extension_requested_by_id = None
        c.extension_requested_until = None
    elif action == Action.ASSIGN:
        c.assignee_id = i["assignee_id"]
        c.assigned_at = now
    elif action == Action.RESOLVE:
        for name in ("root_cause", "responsibility", "remedy", "resolution", "compensation_amount"):
            if i.get(name) not in (None, ""):
                setattr(c, name, i[name])
        c.resolved_at = now
        if decision.from_status in (Status.REGISTERED, Status.ACCEPTED):
            c.answered_on_the_spot = True
            c.validity = "valid"
            c.accepted_at = c.accepted_at or now
        calendar = business_calendar()
        c.callback_due = callback_due(now, _policy_for(c), calendar)
        c.due_at = c.callback_due
        c.extension_requested_by_id = None
        c.extension_requested_until = None
        note = i["resolution"]
    elif action == Action.REVIEW_APPROVE:
        c.reviewed_at = now
    elif action == Action.REVIEW_SEND_BACK:
        c.due_at = c.resolve_due
    elif action == Action.CALLBACK:
        callback = CallbackRecord(
            complaint_id=c.id, staff_id=actor.id, at=now, method=i["method"],
            reached=i["reached"], satisfaction=i.get("satisfaction") if i["reached"] else None,
            solved=i.get("solved") if i["reached"] else None, notes=i.get("notes") or None,
        )
        db.session.add(callback)
        if i["reached"]:
            c.callbacks_reached += 1
            c.last_satisfaction = i["satisfaction"]
            c.due_at = None  # the first callback is done
        if decision.reopened:
            c.reopen_count += 1
            c.callbacks_reached = 0
            c.last_satisfaction = None
            c.due_at = fresh_resolve_due() if c.department_id else None
        note = i.get("notes") or None
    elif action == Action.CLOSE:
        c.closed_at = now
        c.final_satisfaction = c.last_satisfaction
        c.due_at = None
    elif action == Action.FORCE_CLOSE:
        c.closed_at = now
        c.final_satisfaction = c.last_satisfaction
        c.due_at = None
    elif action == Action.REOPEN:
        c.reopen_count += 1
        c.closed_at = None
        c.final_satisfaction = None
        c.callbacks_reached = 0
        c.last_satisfaction = None
        if c.validity == "invalid":
            c.validity = "valid"
        if decision.to_status in (Status.FORWARDED, Status.IN_PROGRESS):
            c.due_at = fresh_resolve_due()
        else:
            c.due_at = None
    elif action == Action.EXTEND_REQUEST:
        c.extension_requested_until = i["new_due"]
        c.extension_reason = i["reason"]
        c.extension_requested_by_id = actor.id
        note = f"{i['reason']} → {i['new_due']:%Y-%m-%d %H:%M}"
    elif action == Action.EXTEND_DECIDE:
        if i["approve"]:
            c.resolve_due = c.extension_requested_until
            c.due_at = c.resolve_due
            c.extension_count += 1
        c.extension_requested_until = None
        c.extension_requested_by_id = None
    # escalate, urge: the status and level changes below are all there is.

    c.status = decision.to_status
    c.escalation_level = decision.escalation_level
    if c.due_at != old_due:
        # A new deadline: not missed yet, unless it is already in the past (then it counts
        # as missed now, without a second escalation for the same lateness).
        c.overdue_since = now if (c.due_at is not None and c.due_at < now) else None
        c.was_overdue = c.was_overdue or c.overdue_since is not None
    c.updated_at = now
    # Every accepted action is a new version of the complaint, even one that changes no
    # column (an urge, a callback that did not reach the customer, two actions within the
    # same second): a form opened before it is stale, and the version counts the actions.
    flag_modified(c, "updated_at")
    return note, callback


@dataclass
class Outcome:
    complaint: Complaint
    event: ComplaintEvent
    callback: CallbackRecord | None = None


def perform(complaint_id, action: str, actor: Staff, inputs: Mapping | None = None, *,
            expected_version: int | None = None, now: datetime | None = None) -> Outcome:
    """Carry out one workflow action on one complaint, or raise a RuleError saying why not."""
    now = now or clock.now()
    inputs = dict(inputs or {})
    try:
        with write_transaction(db.session):
            complaint = _load_checked(complaint_id, actor, expected_version)
            facts_inputs = _target_facts(action, inputs)
            decision = rules.check(action, complaint.facts(), _actor(actor), facts_inputs, now)
            before = (complaint.status, complaint.department_id, complaint.assignee_id)
            # No autoflush while applying: the calendar and policy look-ups inside would
            # otherwise write a half-applied complaint (and bump its version twice).
            with db.session.no_autoflush:
                note, callback = _apply(complaint, decision, actor, now)
            db.session.flush()
            event = _event(
                complaint, actor.id, action, now, from_status=before[0],
                from_department_id=before[1], from_assignee_id=before[2], note=note,
            )
    except StaleDataError:
        raise StaleVersion() from None
    return Outcome(complaint, event, callback)


@dataclass
class BulkResult:
    done: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (number or id, reason)


def perform_many(ids: Iterable, action: str, actor: Staff, inputs: Mapping | None = None,
                 now: datetime | None = None) -> BulkResult:
    """The same action on several complaints, each checked and written on its own."""
    result = BulkResult()
    for complaint_id in ids:
        try:
            outcome = perform(complaint_id, action, actor, inputs, now=now)
        except RuleError as err:
            number = db.session.scalar(
                select(Complaint.number).where(Complaint.id == _int_or_none(complaint_id))
            ) if not isinstance(err, NotFound) else None
            result.refused.append((number or str(complaint_id), err))
        else:
            result.done.append(outcome.complaint.number)
    return result


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- the generic edit form --------------------------------------------------------------

# Fields the generic edit form may change; status, level, deadlines and results only move
# through the workflow actions.
EDITABLE_FIELDS = (
    "kind", "channel", "received_at", "customer_name", "customer_phone", "customer_email",
    "customer_class", "category_id", "severity", "title", "description", "demand",
)


def record_edit(complaint: Complaint, changes: Mapping[str, tuple], actor: Staff,
                now: datetime | None = None) -> ComplaintEvent | None:
    """Write the audit event of a generic edit; the caller's transaction commits both."""
    if not changes:
        return None
    now = now or clock.now()
    # No autoflush: loading the actor would write the edited complaint before updated_at is
    # set, and the complaint's version would go up twice for one edit.
    with db.session.no_autoflush:
        if not rules.can_see(_actor(actor), complaint.department_id, complaint.assignee_id):
            raise PermissionDenied(N_("This complaint is not in your queue."))
        complaint.updated_at = now
        if "customer_phone" in changes:
            complaint.customer_phone_norm = rules.normalize_phone(complaint.customer_phone)
        note = "; ".join(
            f"{name}: {old!s} → {new!s}" for name, (old, new) in sorted(changes.items())
        )
        return _event(complaint, actor.id, Action.EDIT, now, from_status=complaint.status,
                      from_department_id=complaint.department_id,
                      from_assignee_id=complaint.assignee_id, note=note[:4000])


_OPTIONAL_TEXT = ("customer_phone", "customer_email", "demand")


def edit(complaint_id, values: Mapping, actor: Staff, *, expected_version=None,
         now: datetime | None = None) -> Complaint:
    """Save the generic edit form: EDITABLE_FIELDS only, checked as at registration, audited.

    Refused (RuleError, nothing written) when the complaint is outside the actor's scope,
    when the form was opened on an older version, or when the values are not valid.
    """
    now = now or clock.now()
    try:
        with write_transaction(db.session):
            complaint = _load_checked(complaint_id, actor, expected_version)
            current = {name: getattr(complaint, name) for name in EDITABLE_FIELDS}
            wanted = {k: v for k, v in values.items() if k in EDITABLE_FIELDS}
            clean = rules.check_register(actor.role, {**current, **wanted})
            if clean.get("category_id") is not None and (
                db.session.get(Category, clean["category_id"]) is None
            ):
                raise rules.InvalidInput(N_("The %(field_name)s is not one of the allowed "
                                            "values."), field_name=N_("category"))
            changes = {}
            for name in EDITABLE_FIELDS:
                new = clean.get(name)
                if name in _OPTIONAL_TEXT:
                    new = new or None
                elif name == "received_at" and new is None:
                    new = current[name]  # the receipt time cannot be cleared
                elif name == "description":
                    new = new or ""
                if new != current[name]:
                    changes[name] = (current[name], new)
                    setattr(complaint, name, new)
            record_edit(complaint, changes, actor, now)
    except StaleDataError:
        raise StaleVersion() from None
    return complaint
