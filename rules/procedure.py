"""The procedure: one declaration per workflow action (see ``rules.actions.ActionSpec``).

A new step is one declaration here, plus its form (``admin_views.complaint_forms``), its
label (``admin_views.labels.ACTION``) and its Chinese translation; ``tests/rules`` fail
when one of them is missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from .actions import ActionSpec, Context, register
from .constants import (
    MAX_ESCALATION,
    Action,
    AssistStatus,
    CallbackMethod,
    Clock,
    Remedy,
    Responsibility,
    Role,
    Satisfaction,
    Status,
    Validity,
)
from .errors import (
    N_,
    InvalidInput,
    MissingInput,
    NothingWaiting,
    PermissionDenied,
    RuleError,
    TransitionNotAllowed,
    about,
)
from .escalation import escalated
from .facts import Actor, DepartmentFacts, Facts
from .fields import AMOUNT, CHOICE, FLAG, REF, WHEN, Field, missing
from .merge import MAX_NUMBER, check_master, merge_note

CS = Role.CUSTOMER_SERVICE
MANAGERS = Role.MANAGERS
DEPARTMENT_WORKERS = (Role.HANDLER, Role.DEPT_HEAD, Role.ADMIN)
REOPENERS = (*MANAGERS, Role.EXECUTIVE)


def _each(statuses, roles):
    return {status: tuple(roles) for status in statuses}


REASON = Field("reason")
NOTE = Field("note")
RESULT_FIELDS = (
    Field("root_cause"),
    Field("responsibility", CHOICE, choices=Responsibility.ALL),
    Field("remedy", CHOICE, choices=Remedy.ALL),
    Field("compensation_amount", AMOUNT, required=False),
    Field("resolution"),
    # Who caused the complaint (R52-R54): a staff member, or an outside party in words.
    Field("caused_by_id", REF, required=False),
    Field("caused_by_text", required=False, max_length=200),
)


# --- guards (may the action be taken at all now?) ---------------------------------------


def _has_category(f: Facts, a: Actor):
    if not f.category:
        return TransitionNotAllowed(N_("Choose the complaint's category before accepting it."))
    return None


def _below_top_level(f: Facts, a: Actor):
    if f.escalation_level >= MAX_ESCALATION:
        return TransitionNotAllowed(
            N_("This complaint is already escalated to senior management, the highest level."))
    return None


def _enough_callbacks(f: Facts, a: Actor):
    if f.callbacks_reached < f.callbacks_required:
        return TransitionNotAllowed(
            N_("This complaint needs %(required)d callback(s) that reached the customer before "
               "it can be closed; %(recorded)d is recorded."),
            required=f.callbacks_required, recorded=f.callbacks_reached)
    if f.last_satisfaction == Satisfaction.AVERAGE:
        return TransitionNotAllowed(
            N_("The last callback found the customer only moderately satisfied: record another "
               "callback, or a manager may force-close it with a written reason or reopen it."))
    if f.last_satisfaction not in Satisfaction.GOOD:
        return TransitionNotAllowed(
            N_("The last callback must find the customer at least satisfied before closing."))
    return None


@dataclass(frozen=True)
class CallbackProgress:
    """The callbacks a complaint needs before it can be closed, and those done so far
    (reached the customer, since the last reopening): "2 needed, 1 done"."""

    required: int
    done: int

    @property
    def remaining(self) -> int:
        return max(0, self.required - self.done)


def callback_progress(f: Facts) -> CallbackProgress:
    """What the close guard counts (``_enough_callbacks``), for the screens to show."""
    return CallbackProgress(required=f.callbacks_required, done=f.callbacks_reached)


def _calls_back(a: Actor):
    """Callbacks are customer service's; a company setting gives them to the inspection
    department (督察考评, the supervisors) too (Actor.calls_back)."""
    if a.role == Role.SUPERVISOR and not a.calls_back:
        return PermissionDenied(N_("Callbacks are recorded by customer service; the "
                                   "administrator can give them to the inspection department "
                                   "in Settings."))
    return None


def _sent_down(f: Facts, a: Actor):
    if not f.upstream_ref:
        return TransitionNotAllowed(N_("This complaint was not sent down by an upstream "
                                       "centre."))
    return None


def _no_pending_extension(f: Facts, a: Actor):
    if f.extension_pending:
        return TransitionNotAllowed(N_("An extension request is already waiting for a decision."))
    return None


def _parts_in(f: Facts, a: Actor):
    """协办: the lead resolves once every assisting part is reported or withdrawn; and, when
    the policy always asks for a plan, once the customer agreed to one (so the screens show
    resolving as not yet possible, with why, before anyone fills in the result)."""
    if f.assists_open > 0:
        return TransitionNotAllowed(
            N_("%(count)d assisting part(s) are still open: each assisting department "
               "reports its part, or the lead withdraws it."), count=f.assists_open)
    from .plan import plan_refusal_of  # (here: rules.plan declares its actions after these)

    return plan_refusal_of(f)


def _pending_extension_not_own(f: Facts, a: Actor):
    if not f.extension_pending:
        return NothingWaiting(N_("There is no extension request waiting for a decision."))
    if a.role == Role.DEPT_HEAD and f.extension_requested_by_id == a.id:
        return TransitionNotAllowed(
            N_("You cannot approve your own extension request; a manager decides it."))
    return None


# --- input checks on the target ---------------------------------------------------------


def _check_person(ctx: Context, department_id):
    t = ctx.target
    if t.assignee_id is None:
        return
    p = t.person
    if p is None or not p.active:
        raise about("assignee_id", InvalidInput(N_("That person is not active; choose another "
                                                   "one.")))
    if p.department_id != department_id:
        raise about("assignee_id", InvalidInput(N_("That person does not work in the "
                                                   "responsible department.")))
    if p.role not in Role.ASSIGNABLE:
        raise about("assignee_id", InvalidInput(N_("Only a handler or a department head can "
                                                   "be assigned.")))


def _check_forward(ctx: Context):
    t = ctx.target
    reason = forward_refusal(t.department, ctx.facts.department_id)
    if reason is None and any(p.department_id == t.department_id
                              and p.status == AssistStatus.OPEN for p in t.parts):
        reason = InvalidInput(N_("That department assists on this complaint with an open "
                                 "part: withdraw its part first, or choose another "
                                 "department."))
    if reason is not None:
        raise about("department_id", reason)
    _check_person(ctx, t.department_id)


def forward_refusal(d: DepartmentFacts | None, current_department_id=None) -> RuleError | None:
    """Why a complaint cannot be forwarded to department ``d`` (None: it can). The forward
    form asks this of every department, to leave out or mark those it would refuse."""
    if d is not None and d.id == current_department_id:
        return InvalidInput(N_("The complaint is already with that department."))
    if d is None or not d.active:
        return InvalidInput(N_("That department is not active; choose another one."))
    if d.is_customer_service:
        return InvalidInput(N_("Forward the complaint to a responsible department, "
                               "not to customer service."))
    if not d.staffed:
        return InvalidInput(N_("Nobody in that department could take the complaint (no active "
                               "head or handler); choose another department."))
    if not d.has_head:
        return InvalidInput(N_("That department has no active head to assign the complaint; "
                               "choose another department, or ask the administrator to name "
                               "its head."))
    return None


def _check_assign(ctx: Context):
    if ctx.target.assignee_id is None:
        raise MissingInput(N_("Please fill in the %(field_name)s."), field_name=N_("handler"))
    _check_person(ctx, ctx.facts.department_id)


def _check_caused_by(ctx: Context):
    """The staff member named as having caused the complaint exists and is active."""
    t = ctx.target
    if t.caused_by_id is None:
        return
    if t.caused_by is None or not t.caused_by.active:
        raise about("caused_by_id", InvalidInput(N_("That person is not active; choose "
                                                    "another one.")))


def _check_result(ctx: Context):
    _check_caused_by(ctx)
    if ctx.inputs.get("remedy") == "compensation" and ctx.inputs.get(
            "compensation_amount") is None:
        raise about("compensation_amount",
                    MissingInput(N_("Please fill in the compensation amount.")))
    from .plan import plan_refusal  # (here: rules.plan declares its actions after these)

    no_plan = plan_refusal(ctx)  # 处理方案: the policy asks for a plan the customer agreed to
    if no_plan is not None:
        raise no_plan


def _plan_dropped(ctx: Context) -> dict:
    from .plan import dropped_plan  # (here: rules.plan declares its actions after these)

    return dropped_plan(ctx.facts)


def _check_callback(ctx: Context):
    if ctx.inputs["reached"]:
        for name in ("satisfaction", "solved"):
            if ctx.inputs.get(name) is None:
                raise missing(name)


def _check_extension(ctx: Context):
    new_due = ctx.inputs["new_due"]
    if ctx.facts.resolve_due is not None and new_due <= ctx.facts.resolve_due:
        raise about("new_due", InvalidInput(N_("The new deadline must be later than the "
                                               "current one.")))
    if new_due <= ctx.now:
        raise about("new_due", InvalidInput(N_("The new deadline must be in the future.")))


# --- where it lands, what it changes ----------------------------------------------------


def _back_to_work(f: Facts) -> str:
    """Where work goes back to: the department (its handler, if one), else customer service."""
    if f.department_id is None:
        return Status.ACCEPTED
    return Status.IN_PROGRESS if f.assignee_id is not None else Status.FORWARDED


def _work_clock(f: Facts) -> tuple[str, ...]:
    return (Clock.RESOLVE,) if f.department_id is not None else (Clock.FORWARD,)


NO_EXTENSION = {"extension_requested_by_id": None, "extension_requested_until": None,
                "extension_due": None}
FRESH_LOOP = {"callbacks_reached": 0, "last_satisfaction": None, "callback_due": None,
              "followup_until": None, "review_due": None}


def _reopen_changes(f: Facts, **extra) -> dict:
    return {"reopen_count": f.reopen_count + 1, **FRESH_LOOP, **NO_EXTENSION, **extra}


def _forward(ctx: Context) -> dict:
    t = ctx.target
    return {"department_id": t.department_id, "assignee_id": t.assignee_id,
            "forwarded_at": ctx.now, "assigned_at": ctx.now if t.assignee_id else None,
            **NO_EXTENSION}


def _on_the_spot(ctx: Context) -> bool:
    return ctx.facts.status in (Status.REGISTERED, Status.ACCEPTED)


def _resolve(ctx: Context) -> dict:
    i = ctx.inputs
    out = {name: i.get(name) for name in ("root_cause", "responsibility", "remedy",
                                          "compensation_amount", "resolution",
                                          "caused_by_text")}
    out["caused_by_id"] = ctx.target.caused_by_id
    out.update(resolved_at=ctx.now, **NO_EXTENSION)
    if _on_the_spot(ctx):
        out.update(answered_on_the_spot=True, validity=Validity.VALID,
                   accepted_at=ctx.now if ctx.facts.status == Status.REGISTERED else None)
        if out["accepted_at"] is None:
            del out["accepted_at"]
    return out


def _callback_unhappy(ctx: Context) -> bool:
    i = ctx.inputs
    return bool(i["reached"]) and (i.get("satisfaction") == Satisfaction.UNSATISFIED
                                   or i.get("solved") is False)


def _callback_lands(ctx: Context) -> str:
    return _back_to_work(ctx.facts) if _callback_unhappy(ctx) else Status.CALLBACK


def _callback_changes(ctx: Context) -> dict:
    f, i = ctx.facts, ctx.inputs
    if not i["reached"]:
        return {}  # another try, by the same deadline
    if _callback_unhappy(ctx):
        # Unsatisfied, or not solved: straight back to the responsible department.
        return _reopen_changes(f, escalation_level=escalated(f.escalation_level))
    reached = f.callbacks_reached + 1
    out = {"callbacks_reached": reached, "last_satisfaction": i["satisfaction"]}
    done = reached >= f.callbacks_required and i["satisfaction"] in Satisfaction.GOOD
    # The next callback (each within callback_days of the last), or, once enough
    # satisfied callbacks are in, closing (within review_days).
    days = ctx.policy.review_days if done else ctx.policy.callback_days
    out["callback_due"] = ctx.calendar.due_after(ctx.now, days)
    return out


def _callback_starts(ctx: Context):
    return _work_clock(ctx.facts) if _callback_unhappy(ctx) else ()


def _callback_note(ctx: Context):
    return ctx.inputs.get("notes") or None


def _reopen_lands(ctx: Context) -> str:
    return _back_to_work(ctx.facts)


def _reopen(ctx: Context) -> dict:
    out = _reopen_changes(ctx.facts, closed_at=None, final_satisfaction=None, reply_due=None)
    if ctx.facts.validity == Validity.INVALID:
        out.update(validity=Validity.VALID)
    if ctx.facts.merged_into_id is not None:  # a merged duplicate reopened: merged no more
        out.update(merged_into_id=None)
    return out


def _closing(ctx: Context) -> dict:
    # (assisting parts still open are withdrawn with the closing: services.assist)
    return {"closed_at": ctx.now, "final_satisfaction": ctx.facts.last_satisfaction,
            "assists_open": 0, **NO_EXTENSION}


def _extend_request(ctx: Context) -> dict:
    return {"extension_requested_until": ctx.inputs["new_due"],
            "extension_reason": ctx.inputs["reason"],
            "extension_requested_by_id": ctx.actor.id}


def _extend_note(ctx: Context) -> str:
    return f"{ctx.inputs['reason']} → {ctx.inputs['new_due']:%Y-%m-%d %H:%M}"


def _extend_decide(ctx: Context) -> dict:
    out = dict(NO_EXTENSION)
    if ctx.inputs["approve"]:
        out.update(resolve_due=ctx.facts.extension_requested_until,
                   extension_count=ctx.facts.extension_count + 1)
    return out


register(
    ActionSpec(
        Action.ACCEPT, N_("accept"), {Status.REGISTERED: CS}, guard=_has_category,
        lands=Status.ACCEPTED,
        changes=lambda ctx: {"validity": Validity.VALID, "accepted_at": ctx.now},
        starts=(Clock.FORWARD,)),
    ActionSpec(
        Action.REJECT, N_("reject"), _each((Status.REGISTERED, Status.ACCEPTED), CS),
        fields=(REASON,), lands=Status.REJECTED,
        changes=lambda ctx: {"validity": Validity.INVALID, "rejected_at": ctx.now,
                             "validity_reason": ctx.inputs["reason"]},
        starts=(Clock.REPLY,), notify=("registered_by",)),
    # The customer is told why the complaint is invalid; then it is closed as invalid.
    ActionSpec(
        Action.REPLY, N_("record the reply to the customer of"), {Status.REJECTED: CS},
        fields=(Field("method", CHOICE, choices=CallbackMethod.ALL), Field("note")),
        lands=Status.CLOSED, changes=lambda ctx: {"closed_at": ctx.now, "reply_due": None}),
    ActionSpec(
        Action.FORWARD, N_("forward"), {Status.ACCEPTED: CS},
        fields=(Field("department_id", REF), Field("assignee_id", REF, required=False)),
        validate=_check_forward,
        lands=lambda ctx: Status.IN_PROGRESS if ctx.target.assignee_id else Status.FORWARDED,
        changes=_forward, starts=(Clock.RESOLVE,), notify=("department_head", "assignee")),
    ActionSpec(
        Action.RETURN, N_("return"), _each(Status.IN_DEPARTMENT, (Role.DEPT_HEAD, Role.ADMIN)),
        fields=(REASON,), lands=Status.ACCEPTED,
        changes=lambda ctx: {"department_id": None, "assignee_id": None, "resolve_due": None,
                             **NO_EXTENSION, **_plan_dropped(ctx)},
        starts=(Clock.FORWARD,), notify=("customer_service",)),
    ActionSpec(
        Action.ASSIGN, N_("assign"), _each(Status.IN_DEPARTMENT, (Role.DEPT_HEAD, *MANAGERS)),
        fields=(Field("assignee_id", REF),), validate=_check_assign, lands=Status.IN_PROGRESS,
        changes=lambda ctx: {"assignee_id": ctx.target.assignee_id, "assigned_at": ctx.now},
        notify=("assignee",)),
    # The department's result; or customer service answering at once ("on the spot"),
    # which needs no review of its own answer and goes straight to the callbacks.
    ActionSpec(
        Action.RESOLVE, N_("resolve"),
        {Status.IN_PROGRESS: DEPARTMENT_WORKERS, Status.REGISTERED: CS, Status.ACCEPTED: CS},
        fields=RESULT_FIELDS, validate=_check_result, guard=_parts_in,
        lands=lambda ctx: Status.CALLBACK if _on_the_spot(ctx) else Status.RESOLVED,
        changes=_resolve,
        starts=lambda ctx: ((Clock.CALLBACK, Clock.FOLLOWUP) if _on_the_spot(ctx)
                            else (Clock.REVIEW,)),
        note=lambda ctx: ctx.inputs["resolution"], notify=("customer_service",)),
    ActionSpec(
        Action.REVIEW_APPROVE, N_("approve the result of"), {Status.RESOLVED: CS},
        lands=Status.CALLBACK,
        changes=lambda ctx: {"reviewed_at": ctx.now, "review_due": None},
        starts=(Clock.CALLBACK, Clock.FOLLOWUP)),
    ActionSpec(
        Action.REVIEW_SEND_BACK, N_("send back"), {Status.RESOLVED: CS}, fields=(REASON,),
        lands=lambda ctx: _back_to_work(ctx.facts),
        changes=lambda ctx: {"review_due": None},
        starts=lambda ctx: _work_clock(ctx.facts), notify=("assignee", "department_head")),
    ActionSpec(
        Action.CALLBACK, N_("record a callback for"), {Status.CALLBACK: (*CS, Role.SUPERVISOR)},
        given=_calls_back,
        fields=(Field("method", CHOICE, choices=CallbackMethod.ALL), Field("reached", FLAG),
                Field("satisfaction", CHOICE, required=False, choices=Satisfaction.ALL),
                Field("solved", FLAG, required=False), Field("notes", required=False)),
        validate=_check_callback, lands=_callback_lands, changes=_callback_changes,
        starts=_callback_starts, note=_callback_note, writes_callback=True,
        # Only a callback that sends the complaint back is news to the department.
        notify=lambda ctx: (("assignee", "department_head", "escalation_owner")
                            if _callback_unhappy(ctx) else ())),
    ActionSpec(
        Action.CLOSE, N_("close"), {Status.CALLBACK: CS}, guard=_enough_callbacks,
        lands=Status.CLOSED, changes=_closing),
    ActionSpec(
        Action.FORCE_CLOSE, N_("force-close"), _each(Status.OPEN, MANAGERS), fields=(REASON,),
        lands=Status.CLOSED, changes=_closing),
    ActionSpec(
        Action.REOPEN, N_("reopen"), _each((*Status.FINAL, Status.CALLBACK), REOPENERS),
        fields=(REASON,), lands=_reopen_lands, changes=_reopen,
        starts=lambda ctx: _work_clock(ctx.facts), notify=("assignee", "department_head")),
    ActionSpec(
        Action.ESCALATE, N_("escalate"), _each(Status.OPEN, (Role.INTAKE, Role.DEPT_HEAD,
                                                              *MANAGERS)),
        fields=(REASON,), guard=_below_top_level,
        changes=lambda ctx: {"escalation_level": escalated(ctx.facts.escalation_level)},
        notify=("escalation_owner",)),
    ActionSpec(
        Action.EXTEND_REQUEST, N_("ask for an extension of"),
        _each(Status.IN_DEPARTMENT, DEPARTMENT_WORKERS),
        fields=(REASON, Field("new_due", WHEN)), guard=_no_pending_extension,
        validate=_check_extension, changes=_extend_request, starts=(Clock.EXTENSION,),
        note=_extend_note, notify=("extension_approver",)),
    ActionSpec(
        Action.EXTEND_DECIDE, N_("decide the extension of"),
        _each(Status.IN_DEPARTMENT, (Role.DEPT_HEAD, *MANAGERS, Role.EXECUTIVE)),
        fields=(Field("approve", FLAG), Field("note", required=False)),
        guard=_pending_extension_not_own, changes=_extend_decide, notify=("extension_requester",)),
    ActionSpec(
        Action.URGE, N_("urge"), _each(Status.OPEN, (Role.SUPERVISOR, *MANAGERS,
                                                     Role.EXECUTIVE)),
        fields=(NOTE,), notify=("assignee", "department_head")),
    # 办理进展: the department notes where the work stands; nothing else changes.
    ActionSpec(
        Action.NOTE, N_("add a progress note to"), _each(Status.IN_DEPARTMENT,
                                                         DEPARTMENT_WORKERS),
        fields=(NOTE,)),
    # 批示: senior management's instruction on the handling.
    ActionSpec(
        Action.INSTRUCT, N_("give an instruction on"),
        _each((*Status.OPEN, Status.CLOSED), (Role.EXECUTIVE,)), fields=(NOTE,),
        notify=("assignee", "department_head", "managers")),
    # 重复件合并: customer service closes a duplicate as merged into its master (which
    # gets an event of its own: services.merge); reopening it undoes the merge.
    ActionSpec(
        Action.MERGE, N_("merge as a duplicate"), _each(Status.OPEN, CS),
        fields=(Field("master_number", max_length=MAX_NUMBER), Field("note", required=False)),
        validate=check_master, lands=Status.CLOSED,
        changes=lambda ctx: {**_closing(ctx), "merged_into_id": ctx.target.master.id},
        note=merge_note),
)


# 反馈上级 (R45): customer service tells the upstream centre that sent the complaint down
# what was done, at any stage (closed included) and as often as needed; the first report
# stops its report-back clock (services.upstream sweeps a missed one).
register(
    ActionSpec(
        Action.REPORT_UPSTREAM, N_("report back upstream on"), _each(Status.ALL, CS),
        fields=(Field("method", CHOICE, choices=CallbackMethod.ALL), Field("note")),
        guard=_sent_down,
        changes=lambda ctx: {"upstream_reported_at": ctx.facts.upstream_reported_at or ctx.now,
                             "upstream_overdue_since": None}),
)
