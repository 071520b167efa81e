"""纠正预防措施 (corrective and preventive actions): who sees, opens, edits and moves one,
and what each step needs.

A corrective action answers a problem found in complaints (R48, R55): its cause, the
action, an owner department (and person) and a due date. The owner carries it out and
marks it done; a manager or supervisor checks its effect: effective closes it, not
effective sends it back to open with a new due date. A manager may cancel it. It is never
deleted. The services give the facts (:class:`CapaFacts`); nothing here reads a clock or
a database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from .bounds import date_in_window
from .constants import CapaStatus, Role
from .errors import (
    N_,
    InvalidInput,
    MissingInput,
    PermissionDenied,
    RuleError,
    StaleVersion,
    TransitionNotAllowed,
    about,
    refuse_all,
)
from .facts import Actor, DepartmentFacts, PersonFacts

MAX_TEXT = 4000
MAX_LINKS = 50
# The notification of a corrective action past its due date (services.capa.sweep).
OVERDUE_NOTIFICATION = "capa_overdue"


class CapaKind:
    CORRECTIVE = "corrective"  # 纠正: removes the cause of a problem that happened
    PREVENTIVE = "preventive"  # 预防: keeps a possible problem from happening
    ALL = (CORRECTIVE, PREVENTIVE)


class CapaStep:
    """What a CorrectiveActionEvent records (``action``)."""

    CREATE = "create"
    EDIT = "edit"
    DONE = "done"
    CHECK = "check"
    CANCEL = "cancel"
    OVERDUE = "overdue"  # the sweep: open past its due date
    # The steps a user takes from the detail page, in the order the page shows them.
    USER = (DONE, CHECK, CANCEL)


# Who reads every corrective action; a department head reads their department's, a
# handler the ones they own; customer service's clerks none.
READ_ALL_ROLES = (Role.MANAGER, Role.ADMIN, Role.SUPERVISOR, Role.EXECUTIVE)
SCREEN_ROLES = READ_ALL_ROLES + Role.DEPARTMENTAL
# Who opens one (and edits any open one); the owner department's head edits theirs.
CREATE_ROLES = (Role.MANAGER, Role.SUPERVISOR, Role.ADMIN)
CHECK_ROLES = CREATE_ROLES
CANCEL_ROLES = Role.MANAGERS
DONE_ROLES = Role.MANAGERS  # and the owner department's head, the owner


@dataclass(frozen=True)
class CapaFacts:
    """A corrective action as far as the rules need it."""

    status: str = CapaStatus.OPEN
    owner_department_id: int | None = None
    owner_id: int | None = None
    due_date: date | None = None


# --- seeing and opening --------------------------------------------------------------------


def can_open_screen(role: str) -> bool:
    """Whether the role has the corrective-action screen at all (a clerk has not)."""
    return role in SCREEN_ROLES


def can_see(actor: Actor, facts: CapaFacts) -> bool:
    """Whether this corrective action is in the actor's scope."""
    if actor.role in READ_ALL_ROLES:
        return True
    if actor.role == Role.DEPT_HEAD:
        return actor.department_id is not None and facts.owner_department_id == actor.department_id
    if actor.role == Role.HANDLER:
        return facts.owner_id is not None and facts.owner_id == actor.id
    return False


def can_create(role: str) -> bool:
    return role in CREATE_ROLES


def _owner_head(actor: Actor, facts: CapaFacts) -> bool:
    return (actor.role == Role.DEPT_HEAD and actor.department_id is not None
            and actor.department_id == facts.owner_department_id)


def _owner(actor: Actor, facts: CapaFacts) -> bool:
    return facts.owner_id is not None and facts.owner_id == actor.id


def check_create(role: str) -> None:
    if not can_create(role):
        raise PermissionDenied(N_("Only a manager, a supervisor or the administrator may open "
                                  "a corrective action."))


def edit_refusal(actor: Actor, facts: CapaFacts) -> RuleError | None:
    """Why the actor may not edit this corrective action now (None: they may)."""
    if not (actor.role in CREATE_ROLES or _owner_head(actor, facts)):
        return PermissionDenied(N_("Only a manager, a supervisor, the administrator or the "
                                   "owner department's head may edit a corrective action."))
    if facts.status != CapaStatus.OPEN:
        return TransitionNotAllowed(N_("This corrective action is no longer open: it cannot "
                                       "be edited."))
    return None


def check_edit(actor: Actor, facts: CapaFacts, department_id: int | None = None) -> None:
    """Refuse the edit (``department_id``: the owner department the form names; a head
    keeps the action in their department — giving it away is for the managers)."""
    err = edit_refusal(actor, facts)
    if err is not None:
        raise err
    if (actor.role not in CREATE_ROLES and department_id is not None
            and department_id != facts.owner_department_id):
        raise about("owner_department_id", PermissionDenied(
            N_("A department head may not give a corrective action to another department: "
               "ask a manager.")))


# --- the steps ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StepSpec:
    """One step: from which statuses, who (roles; ``owner_side``: also the owner department's
    head and the owner person), and the refusal when the role does not fit."""

    name: str
    sources: tuple[str, ...]
    roles: tuple[str, ...]
    owner_side: bool
    not_allowed: str
    wrong_status: str


STEPS: dict[str, StepSpec] = {
    CapaStep.DONE: StepSpec(
        CapaStep.DONE, (CapaStatus.OPEN,), DONE_ROLES, True,
        N_("Only the owner, the owner department's head or a manager may mark a corrective "
           "action done."),
        N_("Only an open corrective action can be marked done.")),
    CapaStep.CHECK: StepSpec(
        CapaStep.CHECK, (CapaStatus.DONE,), CHECK_ROLES, False,
        N_("Only a manager or a supervisor may check the effect of a corrective action."),
        N_("The effect is checked once the corrective action is done.")),
    CapaStep.CANCEL: StepSpec(
        CapaStep.CANCEL, (CapaStatus.OPEN, CapaStatus.DONE), CANCEL_ROLES, False,
        N_("Only a manager may cancel a corrective action."),
        N_("This corrective action is closed already: it cannot be cancelled.")),
}


def step_refusal(step: str, actor: Actor, facts: CapaFacts) -> RuleError | None:
    """Why the actor may not take this step now (None: they may)."""
    spec = STEPS.get(step)
    if spec is None:
        return InvalidInput(N_("There is no such step."))
    if not (actor.role in spec.roles
            or (spec.owner_side and (_owner_head(actor, facts) or _owner(actor, facts)))):
        return PermissionDenied(spec.not_allowed)
    if facts.status not in spec.sources:
        return TransitionNotAllowed(spec.wrong_status)
    return None


def may(step: str, actor: Actor, facts: CapaFacts) -> bool:
    return step_refusal(step, actor, facts) is None


def allowed_steps(actor: Actor, facts: CapaFacts) -> tuple[str, ...]:
    """The steps the detail page offers this actor now."""
    return tuple(step for step in CapaStep.USER if may(step, actor, facts))


def _required_text(values: Mapping, name: str, label: str) -> str:
    value = values.get(name)
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise about(name, MissingInput(N_("Please fill in the %(field_name)s."),
                                       field_name=label))
    if len(text) > MAX_TEXT:
        raise about(name, InvalidInput(
            N_("The %(field_name)s is too long: at most %(max)d characters."),
            field_name=label, max=MAX_TEXT))
    return text


def _future_date(values: Mapping, name: str, label: str, today: date) -> date:
    value = values.get(name)
    if not isinstance(value, date) or isinstance(value, datetime):
        raise about(name, MissingInput(N_("Please fill in the %(field_name)s."),
                                       field_name=label))
    if value < today:
        raise about(name, InvalidInput(N_("The %(field_name)s must be today or later."),
                                       field_name=label))
    if not date_in_window(value):  # e.g. the year 2999
        raise about(name, InvalidInput(N_("The %(field_name)s is not one of the allowed "
                                          "values."), field_name=label))
    return value


def check_step(step: str, actor: Actor, facts: CapaFacts, inputs: Mapping, now: datetime,
               today: date) -> dict:
    """The changes of one step (column → value), or a RuleError saying why not."""
    err = step_refusal(step, actor, facts)
    if err is not None:
        raise err
    if step == CapaStep.DONE:
        note = _required_text(inputs, "note", N_("what was done"))
        return {"status": CapaStatus.DONE, "done_at": now, "done_note": note}
    if step == CapaStep.CANCEL:
        _required_text(inputs, "reason", N_("reason"))
        return {"status": CapaStatus.CANCELLED}
    # CHECK: the effect, found effective (closed) or not (open again, with a new due date).
    errors = []
    effective = inputs.get("effective")
    if not isinstance(effective, bool):
        errors.append(about("effective", MissingInput(
            N_("Please say whether the action was effective."))))
    try:
        text = _required_text(inputs, "effect_check", N_("effect check"))
    except RuleError as e:
        errors.append(e)
    due = None
    if effective is False:
        try:
            due = _future_date(inputs, "due_date", N_("new due date"), today)
        except RuleError as e:
            errors.append(e)
    refuse_all(errors)
    changes = {"effective": effective, "effect_check": text, "effect_checked_at": now,
               "effect_checked_by_id": actor.id}
    if effective:
        changes["status"] = CapaStatus.EFFECTIVE
    else:
        changes.update(status=CapaStatus.OPEN, due_date=due, overdue_since=None)
    return changes


# --- the form's values -----------------------------------------------------------------------


def check_values(values: Mapping, today: date, *, department: DepartmentFacts | None,
                 owner: PersonFacts | None, category_known: bool,
                 unknown_numbers: Sequence[str] = (), due_changed: bool = True) -> dict:
    """The cleaned values of the create / edit form, or every refusal at once.

    ``department`` / ``owner``: what the services found for the ids chosen (None: nothing
    chosen or no such row); ``unknown_numbers``: linked complaint numbers the user may not
    see or that do not exist; ``due_changed``: an edit keeping the due date may keep a past
    one (the sweep marks it), a new one is today or later.
    """
    errors: list[RuleError] = []
    clean: dict = {}
    kind = values.get("kind")
    if kind not in CapaKind.ALL:
        errors.append(about("kind", MissingInput(N_("Please fill in the %(field_name)s."),
                                                 field_name=N_("kind of action"))))
    clean["kind"] = kind
    for name, label in (("problem", N_("problem")), ("cause", N_("cause")),
                        ("action", N_("action to take"))):
        try:
            clean[name] = _required_text(values, name, label)
        except RuleError as e:
            errors.append(e)
    if values.get("owner_department_id") is None:
        errors.append(about("owner_department_id", MissingInput(
            N_("Please fill in the %(field_name)s."), field_name=N_("owner department"))))
    elif department is None or not department.active:
        errors.append(about("owner_department_id", InvalidInput(
            N_("The owner department must be an active department."))))
    clean["owner_department_id"] = values.get("owner_department_id")
    if values.get("owner_id") is not None:
        if owner is None or not owner.active:
            errors.append(about("owner_id", InvalidInput(
                N_("The owner must be an active member of staff."))))
        elif owner.department_id != values.get("owner_department_id"):
            errors.append(about("owner_id", InvalidInput(
                N_("The owner must work in the owner department."))))
    clean["owner_id"] = values.get("owner_id")
    if values.get("category_id") is not None and not category_known:
        errors.append(about("category_id", InvalidInput(
            N_("The %(field_name)s is not one of the allowed values."),
            field_name=N_("category"))))
    clean["category_id"] = values.get("category_id")
    if due_changed:
        try:
            clean["due_date"] = _future_date(values, "due_date", N_("due date"), today)
        except RuleError as e:
            errors.append(e)
    else:
        clean["due_date"] = values.get("due_date")
    if unknown_numbers:
        errors.append(about("complaint_numbers", InvalidInput(
            N_("No complaint of yours has the number %(numbers)s."),
            numbers=", ".join(unknown_numbers))))
    refuse_all(errors)
    return clean


def parse_numbers(text: str | None) -> tuple[str, ...]:
    """Complaint numbers typed in a box (commas, spaces, new lines, Chinese commas),
    without repeats, in the order typed; at most MAX_LINKS (more: InvalidInput)."""
    raw = (text or "").replace("，", ",").replace("、", ",").replace(",", " ").split()
    numbers = tuple(dict.fromkeys(n.strip().upper() for n in raw if n.strip()))
    if len(numbers) > MAX_LINKS:
        raise about("complaint_numbers", InvalidInput(
            N_("At most %(max)d complaints can be linked at once."), max=MAX_LINKS))
    return numbers


# --- deadlines and the optimistic lock ------------------------------------------------------


def is_overdue(status: str, due_date: date | None, today: date) -> bool:
    """Open past its due date (the company's date): the sweep marks it."""
    return status == CapaStatus.OPEN and due_date is not None and due_date < today


class StaleCapa(StaleVersion):
    def __init__(self):
        RuleError.__init__(self, N_(
            "This corrective action was changed by someone else after you opened it. "
            "Nothing was saved: reload the page to see the current version, then try "
            "again."))


def check_version(expected, actual: int) -> None:
    """Refuse a change prepared on a version that is no longer current (none given: stale)."""
    try:
        same = expected is not None and str(expected).strip() == str(int(actual))
    except (TypeError, ValueError):
        same = False
    if not same:
        raise StaleCapa()
