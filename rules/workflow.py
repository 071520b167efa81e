"""The complaint workflow: the transition table as data, and the checks over it.

``check()`` raises a :class:`RuleError` saying why an action is refused;
``may()`` is its non-raising twin for the screens (which buttons to show).
Nothing here reads the clock: callers pass ``now``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from .constants import (
    MAX_ESCALATION,
    STATUS_NAMES,
    Action,
    CallbackMethod,
    Kind,
    Remedy,
    Responsibility,
    Role,
    Satisfaction,
    Status,
)
from .errors import (
    N_,
    InvalidInput,
    MissingInput,
    PermissionDenied,
    RuleError,
    StaleVersion,
    TransitionNotAllowed,
)


@dataclass(frozen=True)
class Actor:
    """Who is acting: enough of a Staff row for the rules."""

    id: int
    role: str
    department_id: int | None = None


@dataclass(frozen=True)
class Facts:
    """A snapshot of the complaint as far as the rules need it."""

    status: str
    kind: str = Kind.COMPLAINT
    severity: str = "normal"
    category: str | None = None
    department_id: int | None = None
    assignee_id: int | None = None
    escalation_level: int = 0
    callbacks_required: int = 1
    callbacks_reached: int = 0
    last_satisfaction: str | None = None
    extension_requested_by_id: int | None = None
    resolve_due: datetime | None = None

    @property
    def extension_pending(self) -> bool:
        return self.extension_requested_by_id is not None


@dataclass(frozen=True)
class Decision:
    """What an allowed action does to the complaint's workflow fields."""

    action: str
    from_status: str
    to_status: str
    escalation_level: int
    reopened: bool = False
    inputs: Mapping = field(default_factory=dict)


MAX_COMPENSATION = Decimal("10000000000")  # what the Numeric(12, 2) column holds
CS = (Role.INTAKE, Role.MANAGER, Role.ADMIN)  # customer service may do the clerk's work
MANAGERS = (Role.MANAGER, Role.ADMIN)

Guard = Callable[[Facts, Actor], "str | None"]  # returns a refusal msgid or None


def _only_consultation(f: Facts, a: Actor):
    if f.kind != Kind.CONSULTATION:
        return N_("Only a consultation can be resolved on the spot; forward this complaint instead.")
    return None


def _below_top_level(f: Facts, a: Actor):
    if f.escalation_level >= MAX_ESCALATION:
        return N_("This complaint is already escalated to senior management, the highest level.")
    return None


def _enough_callbacks(f: Facts, a: Actor):
    if f.callbacks_reached < f.callbacks_required:
        return N_(
            "This complaint needs %(required)d callback(s) that reached the customer before it "
            "can be closed; %(recorded)d is recorded."
        )
    if f.last_satisfaction not in Satisfaction.GOOD:
        return N_("The last callback must find the customer at least satisfied before closing.")
    return None


def _no_pending_extension(f: Facts, a: Actor):
    if f.extension_pending:
        return N_("An extension request is already waiting for a decision.")
    return None


def _pending_extension_not_own(f: Facts, a: Actor):
    if not f.extension_pending:
        return N_("There is no extension request waiting for a decision.")
    if a.role == Role.DEPT_HEAD and f.extension_requested_by_id == a.id:
        return N_("You cannot approve your own extension request; a manager decides it.")
    return None


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[str, ...]
    roles: tuple[str, ...]
    dest: str | None  # None: the status does not change, or is computed (see _destination)
    required: tuple[str, ...] = ()
    guard: Guard | None = None


TRANSITIONS: tuple[Transition, ...] = (
    Transition(Action.ACCEPT, (Status.REGISTERED,), CS, Status.ACCEPTED),
    Transition(Action.REJECT, (Status.REGISTERED, Status.ACCEPTED), CS, Status.REJECTED, ("reason",)),
    Transition(Action.FORWARD, (Status.ACCEPTED,), CS, Status.FORWARDED, ("department_id",)),
    Transition(
        Action.RETURN, (Status.FORWARDED, Status.IN_PROGRESS), (Role.DEPT_HEAD, Role.ADMIN),
        Status.ACCEPTED, ("reason",),
    ),
    Transition(
        Action.ASSIGN, (Status.FORWARDED, Status.IN_PROGRESS), (Role.DEPT_HEAD, *MANAGERS),
        Status.IN_PROGRESS, ("assignee_id",),
    ),
    Transition(
        Action.RESOLVE, (Status.IN_PROGRESS,), (Role.HANDLER, Role.DEPT_HEAD, Role.ADMIN),
        Status.RESOLVED, ("root_cause", "responsibility", "remedy", "resolution"),
    ),
    # A consultation answered on the spot by the clerk who took the call.
    Transition(
        Action.RESOLVE, (Status.REGISTERED, Status.ACCEPTED), CS, Status.RESOLVED,
        ("resolution",), _only_consultation,
    ),
    Transition(Action.REVIEW_APPROVE, (Status.RESOLVED,), CS, Status.CALLBACK),
    Transition(Action.REVIEW_SEND_BACK, (Status.RESOLVED,), CS, None, ("reason",)),
    Transition(Action.CALLBACK, (Status.CALLBACK,), CS, None, ("method", "reached")),
    Transition(Action.CLOSE, (Status.CALLBACK,), CS, Status.CLOSED, (), _enough_callbacks),
    Transition(Action.FORCE_CLOSE, Status.OPEN, MANAGERS, Status.CLOSED, ("reason",)),
    Transition(Action.REOPEN, Status.FINAL, MANAGERS, None, ("reason",)),
    Transition(
        Action.ESCALATE, Status.OPEN, (Role.INTAKE, Role.DEPT_HEAD, *MANAGERS), None,
        ("reason",), _below_top_level,
    ),
    Transition(
        Action.EXTEND_REQUEST, (Status.FORWARDED, Status.IN_PROGRESS),
        (Role.HANDLER, Role.DEPT_HEAD, Role.ADMIN), None, ("reason", "new_due"),
        _no_pending_extension,
    ),
    Transition(
        Action.EXTEND_DECIDE, (Status.FORWARDED, Status.IN_PROGRESS), (Role.DEPT_HEAD, *MANAGERS),
        None, ("approve",), _pending_extension_not_own,
    ),
    Transition(Action.URGE, Status.OPEN, (Role.SUPERVISOR, *MANAGERS), None, ("note",)),
)

ACTIONS: tuple[str, ...] = tuple(dict.fromkeys(t.action for t in TRANSITIONS))

# Every role that may take each action from some status (the screens' coarse gate; the
# full check is ``check``/``may`` on the complaint itself).
ACTION_ROLES: dict[str, frozenset[str]] = {
    action: frozenset(role for t in TRANSITIONS if t.action == action for role in t.roles)
    for action in ACTIONS
}

ACTION_NAMES = {
    Action.ACCEPT: N_("accept"),
    Action.REJECT: N_("reject"),
    Action.FORWARD: N_("forward"),
    Action.RETURN: N_("return"),
    Action.ASSIGN: N_("assign"),
    Action.RESOLVE: N_("resolve"),
    Action.REVIEW_APPROVE: N_("approve the result of"),
    Action.REVIEW_SEND_BACK: N_("send back"),
    Action.CALLBACK: N_("record a callback for"),
    Action.CLOSE: N_("close"),
    Action.FORCE_CLOSE: N_("force-close"),
    Action.REOPEN: N_("reopen"),
    Action.ESCALATE: N_("escalate"),
    Action.EXTEND_REQUEST: N_("ask for an extension of"),
    Action.EXTEND_DECIDE: N_("decide the extension of"),
    Action.URGE: N_("urge"),
}

ROLE_NAMES = {
    Role.ADMIN: N_("administrator"),
    Role.INTAKE: N_("customer-service clerk"),
    Role.DEPT_HEAD: N_("department head"),
    Role.HANDLER: N_("handler"),
    Role.SUPERVISOR: N_("supervisor"),
    Role.MANAGER: N_("manager"),
}

FIELD_NAMES = {
    "reason": N_("reason"),
    "department_id": N_("target department"),
    "assignee_id": N_("handler"),
    "root_cause": N_("root cause"),
    "responsibility": N_("responsibility"),
    "remedy": N_("remedy"),
    "resolution": N_("resolution"),
    "method": N_("callback method"),
    "reached": N_("whether the customer was reached"),
    "satisfaction": N_("satisfaction"),
    "solved": N_("whether the problem is solved"),
    "new_due": N_("new deadline"),
    "approve": N_("decision"),
    "note": N_("note"),
}


# --- scope ------------------------------------------------------------------------------


def can_see(actor: Actor, department_id: int | None, assignee_id: int | None) -> bool:
    """Whether a complaint with this department and assignee is inside the actor's scope."""
    if actor.role in Role.SEE_ALL:
        return True
    if actor.role == Role.DEPT_HEAD:
        return actor.department_id is not None and department_id == actor.department_id
    if actor.role == Role.HANDLER:
        return assignee_id is not None and assignee_id == actor.id
    return False


def check_version(expected: int | None, actual: int) -> None:
    """Refuse an action or edit prepared on a version that is no longer current."""
    if expected is None:
        return
    try:
        same = str(expected).strip() == str(int(actual))
    except (TypeError, ValueError):  # a tampered or garbled version field
        same = False
    if not same:
        raise StaleVersion()


# --- checks -----------------------------------------------------------------------------


def _rows(action: str) -> list[Transition]:
    rows = [t for t in TRANSITIONS if t.action == action]
    if not rows:
        raise InvalidInput(N_("Unknown action."))
    return rows


def _select(action: str, facts: Facts, actor: Actor) -> Transition:
    """The table row that lets this actor take this action now, or a RuleError saying why not."""
    if not can_see(actor, facts.department_id, facts.assignee_id):
        raise PermissionDenied(N_("This complaint is not in your queue."))
    rows = _rows(action)
    by_status = [t for t in rows if facts.status in t.sources]
    if not by_status:
        raise TransitionNotAllowed(
            N_("You cannot %(action_name)s a complaint that is %(status_name)s."),
            action_name=ACTION_NAMES[action],
            status_name=STATUS_NAMES.get(facts.status, facts.status),
        )
    by_role = [t for t in by_status if actor.role in t.roles]
    if not by_role:
        raise PermissionDenied(
            N_("A %(role_name)s may not %(action_name)s a complaint that is %(status_name)s."),
            role_name=ROLE_NAMES.get(actor.role, actor.role),
            action_name=ACTION_NAMES[action],
            status_name=STATUS_NAMES.get(facts.status, facts.status),
        )
    refusal = None
    for row in by_role:
        reason = row.guard(facts, actor) if row.guard else None
        if reason is None:
            return row
        refusal = refusal or reason
    raise TransitionNotAllowed(
        refusal, required=facts.callbacks_required, recorded=facts.callbacks_reached
    )


def may(action: str, facts: Facts, actor: Actor) -> bool:
    """Whether the actor may take the action now, inputs aside (the screens' question)."""
    try:
        _select(action, facts, actor)
    except RuleError:
        return False
    return True


def allowed_actions(facts: Facts, actor: Actor) -> list[str]:
    """The actions this actor may take on this complaint now, in table order."""
    return [a for a in ACTIONS if may(a, facts, actor)]


def _text(inputs: Mapping, name: str) -> str:
    value = inputs.get(name)
    if isinstance(value, str):
        value = value.strip()
    if value is None or value == "":
        raise MissingInput(N_("Please fill in the %(field_name)s."), field_name=FIELD_NAMES[name])
    return value


def _one_of(value, allowed, name):
    if value not in allowed:
        raise InvalidInput(N_("The %(field_name)s is not one of the allowed values."),
                           field_name=FIELD_NAMES[name])
    return value


def _check_inputs(row: Transition, facts: Facts, actor: Actor, inputs: Mapping, now) -> dict:
    clean = dict(inputs)
    for name in row.required:
        if name in ("reached", "approve"):
            if not isinstance(inputs.get(name), bool):
                raise MissingInput(N_("Please fill in the %(field_name)s."), field_name=FIELD_NAMES[name])
        elif name == "new_due":
            if not isinstance(inputs.get(name), datetime):
                raise MissingInput(N_("Please fill in the %(field_name)s."), field_name=FIELD_NAMES[name])
        else:
            clean[name] = _text(inputs, name)

    action = row.action
    if action in (Action.FORWARD, Action.ASSIGN):
        target = clean.get("department_id") if action == Action.FORWARD else facts.department_id
        if action == Action.FORWARD:
            if target == facts.department_id:
                raise InvalidInput(N_("The complaint is already with that department."))
            if not inputs.get("department_active", False):
                raise InvalidInput(N_("That department is not active; choose another one."))
            if inputs.get("department_is_customer_service", False):
                raise InvalidInput(N_("Forward the complaint to a responsible department, "
                                      "not to customer service."))
        if clean.get("assignee_id") is not None:
            if not inputs.get("assignee_active", False):
                raise InvalidInput(N_("That person is not active; choose another one."))
            if inputs.get("assignee_department_id") != target:
                raise InvalidInput(N_("That person does not work in the responsible department."))
            if inputs.get("assignee_role") not in (Role.HANDLER, Role.DEPT_HEAD):
                raise InvalidInput(N_("Only a handler or a department head can be assigned."))
    elif action == Action.RESOLVE:
        if "responsibility" in row.required:
            _one_of(clean["responsibility"], Responsibility.ALL, "responsibility")
            _one_of(clean["remedy"], Remedy.ALL, "remedy")
        amount = inputs.get("compensation_amount")
        if amount not in (None, ""):
            try:
                amount = Decimal(str(amount))
            except InvalidOperation:
                raise InvalidInput(N_("The compensation amount must be a number.")) from None
            if not amount.is_finite():  # NaN / Infinity would make the checks below raise
                raise InvalidInput(N_("The compensation amount must be a number."))
            try:
                exact = amount == amount.quantize(Decimal("0.01"))
            except InvalidOperation:  # too many digits to quantize (e.g. 1e30)
                exact = False
            if amount < 0 or not exact or amount >= MAX_COMPENSATION:
                raise InvalidInput(N_("The compensation amount must be a sum in yuan from 0 to "
                                      "9,999,999,999.99, with at most two decimals."))
            clean["compensation_amount"] = amount
        elif clean.get("remedy") == "compensation":
            raise MissingInput(N_("Please fill in the compensation amount."))
    elif action == Action.CALLBACK:
        _one_of(clean["method"], CallbackMethod.ALL, "method")
        if inputs["reached"]:
            if not inputs.get("satisfaction"):
                raise MissingInput(N_("Please fill in the %(field_name)s."),
                                   field_name=FIELD_NAMES["satisfaction"])
            _one_of(inputs.get("satisfaction"), Satisfaction.ALL, "satisfaction")
            if not isinstance(inputs.get("solved"), bool):
                raise MissingInput(N_("Please fill in the %(field_name)s."), field_name=FIELD_NAMES["solved"])
    elif action == Action.EXTEND_REQUEST:
        new_due = inputs["new_due"]
        if facts.resolve_due is not None and new_due <= facts.resolve_due:
            raise InvalidInput(N_("The new deadline must be later than the current one."))
        if now is not None and new_due <= now:
            raise InvalidInput(N_("The new deadline must be in the future."))
    return clean


def _destination(row: Transition, facts: Facts, inputs: Mapping) -> tuple[str, int, bool]:
    """(new status, new escalation level, reopened?) for an allowed action."""
    level = facts.escalation_level
    back_to_work = Status.IN_PROGRESS if facts.department_id is not None else Status.ACCEPTED
    if row.action == Action.FORWARD and inputs.get("assignee_id") is not None:
        return Status.IN_PROGRESS, level, False
    if row.action == Action.REVIEW_SEND_BACK:
        return back_to_work, level, False
    if row.action == Action.CALLBACK:
        if inputs["reached"] and inputs.get("satisfaction") == Satisfaction.UNSATISFIED:
            return back_to_work, min(level + 1, MAX_ESCALATION), True
        return facts.status, level, False
    if row.action == Action.REOPEN:
        if facts.department_id is None:
            return Status.ACCEPTED, level, True
        if facts.assignee_id is None:
            return Status.FORWARDED, level, True
        return Status.IN_PROGRESS, level, True
    if row.action == Action.ESCALATE:
        return facts.status, level + 1, False
    if row.action == Action.RETURN:
        return Status.ACCEPTED, level, False
    return (row.dest or facts.status), level, False


def check(action: str, facts: Facts, actor: Actor, inputs: Mapping | None = None,
          now: datetime | None = None) -> Decision:
    """Decide an action, or raise a RuleError saying why it is refused."""
    row = _select(action, facts, actor)
    clean = _check_inputs(row, facts, actor, inputs or {}, now)
    to_status, level, reopened = _destination(row, facts, clean)
    return Decision(action, facts.status, to_status, level, reopened, clean)


def initial_escalation_level(severity: str) -> int:
    """A critical complaint starts at the customer-service manager (level 2)."""
    return 2 if severity == "critical" else 0


def escalated(level: int) -> int:
    """One level up, never above senior management."""
    return min(level + 1, MAX_ESCALATION)
