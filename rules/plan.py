"""处理方案: the handling plan, approved before it is carried out (R25/R26).

The department (its handler, its head) submits a plan while the complaint is in progress;
the department head approves it or returns it with a reason (a manager decides a plan
the head wrote); a critical complaint's plan is approved by senior management as well.
Customer service then records the customer's answer: agreed (the plan may be carried
out and the complaint resolved) or declined (back to planning). Each waiting step has
its clock (``Clock.PLAN`` for the approver, ``Clock.PLAN_ANSWER`` for customer service).

When the SLA policy asks for a plan (``Policy.plan_required``, or a compensation above
``Policy.plan_over_amount``), resolving is refused until the customer agreed to one
(:func:`plan_refusal`, called by the resolve action's input check).
"""

from __future__ import annotations

from .actions import ActionSpec, Context, register
from .constants import Action, Clock, PlanState, Role, Severity, Status
from .deadlines import Policy
from .errors import N_, MissingInput, NothingWaiting, RuleError, TransitionNotAllowed, about
from .facts import Actor, Facts
from .fields import FLAG, Field

# Who writes the plan: the department's people (as for resolving).
SUBMITTERS = (Role.HANDLER, Role.DEPT_HEAD, Role.ADMIN)
# Who decides a plan: the department head (a manager for the head's own plan, or when
# the department has none), and senior management after the head for a critical one.
APPROVERS = (Role.DEPT_HEAD, *Role.MANAGERS, Role.EXECUTIVE)
ANSWER_TAKERS = Role.CUSTOMER_SERVICE
WHERE = (Status.IN_PROGRESS,)  # plans are made while the department works on it
# The approval steps: waiting for a decision.
TO_DECIDE = (PlanState.SUBMITTED, PlanState.HEAD_APPROVED)


def _each(roles):
    return {status: tuple(roles) for status in WHERE}


# --- guards ---------------------------------------------------------------------------------


def _open_to_submit(f: Facts, a: Actor) -> RuleError | None:
    if f.plan_state in TO_DECIDE:
        return TransitionNotAllowed(
            N_("A handling plan is already waiting for approval; it is decided first."))
    if f.plan_state == PlanState.APPROVED:
        return TransitionNotAllowed(
            N_("The approved handling plan is waiting for the customer's answer."))
    if f.plan_state == PlanState.AGREED:
        return TransitionNotAllowed(
            N_("The customer agreed to the handling plan: carry it out and resolve the "
               "complaint."))
    return None


def _to_decide(f: Facts, a: Actor) -> RuleError | None:
    """A plan waits for this actor's decision (approve or return)."""
    if f.plan_state == PlanState.SUBMITTED:
        if a.role == Role.EXECUTIVE:
            return TransitionNotAllowed(
                N_("Senior management decides only a critical complaint's handling plan, "
                   "after the department head approved it."))
        if a.role == Role.DEPT_HEAD and f.plan_submitted_by_id == a.id:
            return TransitionNotAllowed(
                N_("You cannot decide on a handling plan you submitted yourself; a manager "
                   "decides it."))
        return None
    if f.plan_state == PlanState.HEAD_APPROVED:
        if a.role != Role.EXECUTIVE:
            return TransitionNotAllowed(
                N_("The department approved this critical complaint's handling plan; senior "
                   "management decides it now."))
        return None
    return NothingWaiting(N_("There is no handling plan waiting for a decision."))


def _approved_plan(f: Facts, a: Actor) -> RuleError | None:
    if f.plan_state != PlanState.APPROVED:
        return NothingWaiting(
            N_("There is no approved handling plan waiting for the customer's answer."))
    return None


# --- what each step does -------------------------------------------------------------------


def needs_executive(f: Facts) -> bool:
    """A submitted plan of a critical complaint goes to senior management after the head."""
    return f.plan_state == PlanState.SUBMITTED and f.severity == Severity.CRITICAL


def _submit_changes(ctx: Context) -> dict:
    return {"plan_state": PlanState.SUBMITTED, "plan_submitted_by_id": ctx.actor.id,
            "plan_answer_due": None}


def _submit_notify(ctx: Context) -> tuple[str, ...]:
    # The head decides; a plan the head wrote goes to the managers.
    return ("managers",) if ctx.actor.role == Role.DEPT_HEAD else ("department_head",)


def _approve_changes(ctx: Context) -> dict:
    if needs_executive(ctx.facts):
        return {"plan_state": PlanState.HEAD_APPROVED}  # its clock starts again
    return {"plan_state": PlanState.APPROVED, "plan_due": None}


def _approve_starts(ctx: Context) -> tuple[str, ...]:
    return (Clock.PLAN,) if needs_executive(ctx.facts) else (Clock.PLAN_ANSWER,)


def _approve_notify(ctx: Context) -> tuple[str, ...]:
    if needs_executive(ctx.facts):
        return ("executives",)
    return ("customer_service", "plan_submitter")


def _check_answer(ctx: Context) -> None:
    if ctx.inputs["agreed"] is False and not ctx.inputs.get("note"):
        raise about("note", MissingInput(
            N_("Write down why the customer declined the handling plan.")))


def _answer_changes(ctx: Context) -> dict:
    state = PlanState.AGREED if ctx.inputs["agreed"] else PlanState.DECLINED
    return {"plan_state": state, "plan_answer_due": None}


# The answer as the event's note stores it (English, as every stored note), then ": " and
# what the customer said; the timeline shows it in the reader's language.
AGREED_NOTE, DECLINED_NOTE = "agreed", "declined"


def answer_note(agreed: bool, note: str | None) -> str:
    answer = AGREED_NOTE if agreed else DECLINED_NOTE
    return f"{answer}: {note}" if note else answer


def parse_answer_note(note: str) -> tuple[bool, str | None] | None:
    """(agreed, what the customer said) from a stored answer note; None if not one."""
    for answer, agreed in ((AGREED_NOTE, True), (DECLINED_NOTE, False)):
        if note == answer:
            return agreed, None
        if note.startswith(answer + ": "):
            return agreed, note[len(answer) + 2:]
    return None


def _answer_note(ctx: Context) -> str:
    return answer_note(ctx.inputs["agreed"], ctx.inputs.get("note"))


register(
    ActionSpec(
        Action.PLAN_SUBMIT, N_("submit a handling plan for"), _each(SUBMITTERS),
        fields=(Field("plan"),), guard=_open_to_submit, changes=_submit_changes,
        starts=(Clock.PLAN,), note=lambda ctx: ctx.inputs["plan"], notify=_submit_notify),
    ActionSpec(
        Action.PLAN_APPROVE, N_("approve the handling plan of"), _each(APPROVERS),
        fields=(Field("note", required=False),), guard=_to_decide,
        changes=_approve_changes, starts=_approve_starts, notify=_approve_notify),
    ActionSpec(
        Action.PLAN_RETURN, N_("return the handling plan of"), _each(APPROVERS),
        fields=(Field("reason"),), guard=_to_decide,
        changes=lambda ctx: {"plan_state": PlanState.RETURNED, "plan_due": None},
        notify=("assignee", "plan_submitter")),
    ActionSpec(
        Action.PLAN_ANSWER, N_("record the customer's answer to the handling plan of"),
        _each(ANSWER_TAKERS), fields=(Field("agreed", FLAG), Field("note", required=False)),
        guard=_approved_plan, validate=_check_answer, changes=_answer_changes,
        note=_answer_note, notify=("assignee", "department_head")),
)


def dropped_plan(f: Facts) -> dict:
    """The department gives the complaint back (return): a plan not yet agreed goes with
    it — the department it is forwarded to next submits its own — and its clocks stop.
    A plan the customer agreed to stays."""
    if f.plan_state in PlanState.WAITING:
        return {"plan_state": PlanState.RETURNED, "plan_due": None, "plan_answer_due": None}
    return {}


# --- resolving needs an agreed plan when the policy asks for one ---------------------------

NEEDED = N_("This complaint needs a handling plan approved by the department and agreed by "
            "the customer before it is resolved: %(state_name)s")
NEEDED_OVER = N_("A compensation above %(amount)s yuan needs a handling plan approved by the "
                 "department and agreed by the customer first: %(state_name)s")
# What is still missing, by where the plan stands (a part of the sentences above).
MISSING = {
    None: N_("no plan has been submitted yet."),
    PlanState.SUBMITTED: N_("its plan is waiting for the department's approval."),
    PlanState.HEAD_APPROVED: N_("its plan is waiting for senior management's approval."),
    PlanState.APPROVED: N_("its plan is waiting for the customer's answer, which customer "
                           "service records."),
    PlanState.RETURNED: N_("its plan was returned by the approver; submit a new one."),
    PlanState.DECLINED: N_("the customer declined its plan; submit a new one."),
}
ON_THE_SPOT = N_("it cannot be answered on the spot: forward it to the department, which "
                 "submits the plan.")


def plan_needed(policy: Policy, compensation_amount=None) -> bool:
    """Whether resolving needs an agreed plan: always under this policy, or for a
    compensation above its threshold."""
    if policy.plan_required:
        return True
    return (policy.plan_over_amount is not None and compensation_amount is not None
            and compensation_amount > policy.plan_over_amount)


def plan_refusal_of(f: Facts) -> RuleError | None:
    """The resolve guard's half of :func:`plan_refusal`: the facts say the policy always
    asks for a plan (``Facts.plan_required``) and none was agreed (None: no such refusal;
    a compensation above the threshold is for the input check)."""
    if not f.plan_required or f.plan_state == PlanState.AGREED:
        return None
    missing = MISSING.get(f.plan_state, MISSING[None])
    if f.status != Status.IN_PROGRESS and f.plan_state is None:
        missing = ON_THE_SPOT
    return TransitionNotAllowed(NEEDED, state_name=missing)


def plan_refusal(ctx: Context) -> RuleError | None:
    """Why the complaint may not be resolved yet for want of an agreed plan (None: it may)."""
    f, policy = ctx.facts, ctx.policy
    amount = ctx.inputs.get("compensation_amount")
    if f.plan_state == PlanState.AGREED or not plan_needed(policy, amount):
        return None
    missing = MISSING.get(f.plan_state, MISSING[None])
    if f.status != Status.IN_PROGRESS and f.plan_state is None:
        missing = ON_THE_SPOT
    if policy.plan_required:
        return TransitionNotAllowed(NEEDED, state_name=missing)
    return about("compensation_amount", TransitionNotAllowed(
        NEEDED_OVER, amount=f"{policy.plan_over_amount:,.2f}", state_name=missing))
