"""Read-side helpers of the screens: "my queue" (what the user can act on now), the
"escalated to me" queue, the dashboard's figures, and who reads accountability."""

from __future__ import annotations

from functools import cache

from sqlalchemy import and_, case, false, func, or_, select, true

from models import Assist, Complaint, Delivery, Department, Setting, Staff, db
from models.settings import ACCOUNTABILITY_DEPARTMENT, DEFAULT_SETTINGS
from rules import Action, Actor, Role, Severity, Status, all_specs, escalated_to, spec_of
from rules.accountability import can_read
from rules.actions import takes
from rules.constants import AssistStatus, PlanState

from .queries import active_head_clause, escalated_clause, scope_clause


@cache
def has_escalation_queue(role: str) -> bool:
    """Whether complaints can ever be escalated to this role (``rules.escalated_to``).

    Asked of the rules over every level, with and without a department, at every
    severity: department heads, managers, administrators and senior management.
    """
    actor = Actor(id=0, role=role, department_id=1)
    return any(escalated_to(actor, status, level, department, severity)
               for status in Status.OPEN for level in range(4) for department in (None, 1)
               for severity in Severity.ALL)


def escalated_count(actor: Actor) -> int:
    """Open complaints escalated to this actor, inside their scope (one indexed count)."""
    stmt = (select(func.count()).select_from(Complaint)
            .where(and_(escalated_clause(actor), scope_clause(actor))))
    return int(db.session.scalar(stmt) or 0)


def setting(key: str) -> str | None:
    """A company setting's value, else its default (models.settings.DEFAULT_SETTINGS)."""
    value = db.session.scalar(select(Setting.value).where(Setting.key == key))
    return value if value else DEFAULT_SETTINGS.get(key)


def accountability_department_code() -> str | None:
    """The code of the department whose staff read the accountability records."""
    return setting(ACCOUNTABILITY_DEPARTMENT)


def may_read_accountability(staff) -> bool:
    """Whether this staff member reads the accountability records (rules.accountability)."""
    if can_read(staff.role, None, None):  # by role alone, no query
        return True
    code = None
    if staff.department_id is not None:
        code = db.session.scalar(select(Department.code)
                                 .where(Department.id == staff.department_id))
    return can_read(staff.role, code, accountability_department_code())


# --- the actionable queue ("my queue"), from the rules' declarations --------------------


def _is_step(spec) -> bool:
    """A step a complaint waits for in a status (``rules.procedure``): it moves the
    complaint on (``lands``) and is declared on open statuses, not on every one of them.

    Left out: force-close and merge (ways out at any stage), reopen and instruct (on closed
    complaints too), and what does not move the complaint (escalate, urge, notes, asking
    for an extension; deciding one is its own figure: :func:`extension_clause`).
    """
    sources = set(spec.sources)
    return (spec.lands is not None and sources <= set(Status.OPEN)
            and sources != set(Status.OPEN))


@cache
def work_statuses(role: str, calls_back: bool = False) -> tuple[str, ...]:
    """The open statuses in which this role takes a step (``ActionSpec.who``).

    A clerk: registered, accepted, rejected, resolved, callback; a head: forwarded and in
    progress; a handler: in progress; a manager or the administrator: every open status;
    a supervisor or senior management: none (they oversee, urge, decide, instruct) — a
    supervisor the callbacks when the company gives them callbacks (``calls_back``).
    """
    probe = Actor(id=0, role=role, calls_back=calls_back)
    steps = [spec for spec in all_specs() if _is_step(spec) and takes(spec, probe)]
    return tuple(status for status in Status.OPEN
                 if any(role in spec.who.get(status, ()) for spec in steps))


def has_work_queue(role: str, calls_back: bool = False) -> bool:
    return bool(work_statuses(role, calls_back))


def work_scope_clause(actor: Actor):
    """Where the actor works: their scope without the complaints they only registered
    (a head registering a complaint for customer service does not work on it)."""
    if actor.role in Role.SEE_ALL:
        return true()
    if actor.role == Role.DEPT_HEAD and actor.department_id is not None:
        return Complaint.department_id == actor.department_id
    if actor.role == Role.HANDLER:
        return and_(Complaint.assignee_id.is_not(None), Complaint.assignee_id == actor.id)
    return false()


def actionable_clause(actor: Actor):
    """"My queue": open complaints where this actor takes the next step now — the list's
    ``?queue=mine`` and the dashboard's queue figures."""
    statuses = work_statuses(actor.role, actor.calls_back)
    if not statuses:
        return false()
    return and_(Complaint.status.in_(statuses), work_scope_clause(actor))


def extension_clause(actor: Actor):
    """Extension requests waiting for this actor's decision (``Action.EXTEND_DECIDE``).

    The department's head decides, but not their own request: a manager decides that
    (``rules.notify`` "extension_approver"), and also one in a department with no active
    head, where nobody else would. Senior management decides those on complaints escalated
    to it. (The rules let managers and senior management decide any request; these are the
    ones waiting for them.)
    """
    who = spec_of(Action.EXTEND_DECIDE).who
    statuses = [status for status, roles in who.items() if actor.role in roles]
    if not statuses:
        return false()
    pending = and_(Complaint.status.in_(statuses),
                   Complaint.extension_requested_by_id.is_not(None))
    if actor.role == Role.DEPT_HEAD:
        if actor.department_id is None:
            return false()
        return and_(pending, Complaint.department_id == actor.department_id,
                    Complaint.extension_requested_by_id != actor.id)
    if actor.role in Role.MANAGERS:
        asked_by_head = Complaint.extension_requested_by_id.in_(
            select(Staff.id).where(Staff.role == Role.DEPT_HEAD).scalar_subquery())
        return and_(pending, or_(asked_by_head, ~active_head_clause(Complaint.department_id)))
    if actor.role == Role.EXECUTIVE:
        return and_(pending, escalated_clause(actor))
    return false()


def assisting_clause(actor: Actor):
    """协办: complaints being handled with an open part of the head's department, or named
    for the handler — the "assisting parts for my department" queue and figure."""
    if actor.role == Role.DEPT_HEAD and actor.department_id is not None:
        mine = Assist.department_id == actor.department_id
    elif actor.role == Role.HANDLER:
        mine = Assist.assignee_id == actor.id
    else:
        return false()
    return and_(Complaint.status.in_(Status.ACTIVE),
                select(Assist.id).where(Assist.complaint_id == Complaint.id, mine,
                                        Assist.status == AssistStatus.OPEN).exists())


def plan_clause(actor: Actor):
    """处理方案 waiting for this actor (rules.plan): a head — the submitted plans of their
    department (not their own: a manager decides those, as also in a department with no
    active head); senior management — critical plans the department approved; customer
    service (a clerk) — approved plans waiting for the customer's answer."""
    in_progress = Complaint.status == Status.IN_PROGRESS
    submitted = and_(in_progress, Complaint.plan_state == PlanState.SUBMITTED)
    if actor.role == Role.DEPT_HEAD:
        if actor.department_id is None:
            return false()
        return and_(submitted, Complaint.department_id == actor.department_id,
                    or_(Complaint.plan_submitted_by_id.is_(None),
                        Complaint.plan_submitted_by_id != actor.id))
    if actor.role in Role.MANAGERS:
        by_head = Complaint.plan_submitted_by_id.in_(
            select(Staff.id).where(Staff.role == Role.DEPT_HEAD).scalar_subquery())
        return and_(submitted, or_(by_head, ~active_head_clause(Complaint.department_id)))
    if actor.role == Role.EXECUTIVE:
        return and_(in_progress, Complaint.plan_state == PlanState.HEAD_APPROVED)
    if actor.role == Role.INTAKE:
        return and_(in_progress, Complaint.plan_state == PlanState.APPROVED)
    return false()


def counts_by_status(actor: Actor, figures: dict) -> dict[str, dict[str, int]]:
    """One statement over the open complaints in the actor's scope: for each named SQL
    predicate, how many match, per status ({name: {status: n}})."""
    names = list(figures)
    if not names:
        return {}
    sums = [func.coalesce(func.sum(case((figures[name], 1), else_=0)), 0) for name in names]
    stmt = (select(Complaint.status, *sums)
            .where(Complaint.status.in_(Status.OPEN), scope_clause(actor))
            .group_by(Complaint.status))
    out: dict[str, dict[str, int]] = {name: {} for name in names}
    for status, *values in db.session.execute(stmt):
        for name, value in zip(names, values, strict=True):
            if value:
                out[name][status] = int(value)
    return out


def headless_departments() -> list[tuple[int, str, int]]:
    """(id, name, open complaints) of each department holding open complaints with no
    active head to take them (customer service aside): one grouped statement."""
    stmt = (select(Department.id, Department.name, func.count(Complaint.id))
            .join(Complaint, Complaint.department_id == Department.id)
            .where(Department.is_customer_service.is_(False),
                   Complaint.status.in_(Status.OPEN), ~active_head_clause(Department.id))
            .group_by(Department.id, Department.name)
            .order_by(func.count(Complaint.id).desc(), Department.name))
    return [(i, name, int(n)) for i, name, n in db.session.execute(stmt)]


def delivery_health() -> dict[str, int]:
    """Failed and pending outgoing messages (the administrator's delivery queue)."""
    stmt = (select(Delivery.status, func.count()).where(Delivery.status.in_(("failed",
                                                                             "pending")))
            .group_by(Delivery.status))
    out = {"failed": 0, "pending": 0}
    out.update({status: int(n) for status, n in db.session.execute(stmt)})
    return out
