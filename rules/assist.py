"""协办: assisting departments, each with its part of a complaint (R27).

The lead side adds and withdraws parts through two declared actions (``ASSIST_ADD``,
``ASSIST_WITHDRAW``): the lead department's head or customer service, while the complaint
is with a department. The assisting side — the head of the assisting department, or the
handler they name for the part — sees the complaint (``rules.scope.can_see`` with
``assisting=``) but acts on nothing of it (``can_act`` stays false): it reports its part
(:func:`check_report`) and its head names who does it (:func:`check_assign_part`). The
lead resolves only once every part is reported or withdrawn (``rules.procedure``'s
resolve guard on ``Facts.assists_open``). Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from .actions import ActionSpec, Context, register
from .constants import Action, AssistStatus, Role, Status
from .errors import (
    N_,
    InvalidInput,
    MissingInput,
    NothingWaiting,
    PermissionDenied,
    TransitionNotAllowed,
    about,
)
from .facts import Actor, Facts, PartFacts, PersonFacts
from .fields import FIELD_NAMES, REF, WHEN, Field, missing
from .scope import assists

# The accountability record's clock of a missed part (AccountabilityRecord.clock), and the
# notification kind telling the assisting department of it (written by the sweep).
ASSIST_CLOCK = "assist"
PART_OVERDUE = "part_overdue"

# Who adds and withdraws parts: the lead department's head (can_act: their department's
# complaint) and customer service (when forwarding, or later).
LEADS = (Role.DEPT_HEAD, *Role.CUSTOMER_SERVICE)
MAX_TASK = 2000

FIELD_NAMES.update({
    "task": N_("task of the assisting department"),
    "due": N_("deadline of the part"),
    "part": N_("assisting part"),
    "report": N_("report on the part"),
})


def live(parts: Iterable[PartFacts]) -> tuple[tuple[int, int | None], ...]:
    """The (department, assignee) of the parts not withdrawn: ``can_see(assisting=…)``."""
    return tuple((p.department_id, p.assignee_id) for p in parts
                 if p.status != AssistStatus.WITHDRAWN)


def part_due(facts: Facts, inputs) -> datetime | None:
    """The part's deadline: the one given, else the complaint's own resolve deadline."""
    return inputs.get("due") or facts.resolve_due


def _when(value: datetime) -> str:
    return f"{value:%Y-%m-%d %H:%M}"


# The sweep's note on a missed part (stored in English, shown translated: admin_views
# .timeline): "assisting part missed: <department> (due <when>)".
MISSED_PREFIX = "assisting part missed: "


def missed_note(department_name: str, due_at: datetime) -> str:
    return f"{MISSED_PREFIX}{department_name} (due {_when(due_at)})"


def parse_missed_note(note: str) -> tuple[str, str] | None:
    """(department, due) of a :func:`missed_note`, or None for any other note."""
    if not note.startswith(MISSED_PREFIX) or " (due " not in note or not note.endswith(")"):
        return None
    name, _sep, due = note[len(MISSED_PREFIX):-1].rpartition(" (due ")
    return name, due


# --- the lead side: declared actions ----------------------------------------------------


def _check_add(ctx: Context) -> None:
    d, f = ctx.target.department, ctx.facts
    if d is None or not d.active:
        raise about("department_id", InvalidInput(N_("That department is not active; choose "
                                                     "another one.")))
    if d.id == f.department_id:
        raise about("department_id", InvalidInput(N_(
            "The complaint is already with that department: an assisting department is "
            "another one.")))
    if d.is_customer_service:
        raise about("department_id", InvalidInput(N_(
            "Customer service does not take a part; choose a responsible department.")))
    if not d.has_head:
        raise about("department_id", InvalidInput(N_(
            "That department has no active head to take the part; choose another "
            "department, or ask the administrator to name its head.")))
    if any(p.department_id == d.id and p.status == AssistStatus.OPEN
           for p in ctx.target.parts):
        raise about("department_id", InvalidInput(N_(
            "That department already has an open part of this complaint; withdraw it "
            "first to give it another task.")))
    due = part_due(f, ctx.inputs)
    if due is None:
        raise missing("due")
    if due <= ctx.now:
        raise about("due", InvalidInput(N_("The deadline of the part must be in the "
                                           "future.")))
    if f.resolve_due is not None and due > f.resolve_due:
        raise about("due", InvalidInput(N_(
            "The deadline of the part cannot be later than the complaint's own deadline "
            "(%(due)s)."), due=_when(f.resolve_due)))


def _add_note(ctx: Context) -> str:
    d = ctx.target.department
    name = (d.name if d is not None and d.name else None) or str(ctx.target.department_id)
    due = part_due(ctx.facts, ctx.inputs)
    return f"{name}: {ctx.inputs['task']} → {_when(due)}"


def _some_part_open(f: Facts, a: Actor):
    if f.assists_open <= 0:
        return NothingWaiting(N_("There is no open assisting part to withdraw."))
    return None


def _check_withdraw(ctx: Context) -> None:
    p = ctx.target.part
    if p is None:
        raise about("part", InvalidInput(N_("That part is not one of this complaint's.")))
    if p.status != AssistStatus.OPEN:
        raise about("part", InvalidInput(N_("That part is no longer open: it was reported "
                                            "or withdrawn.")))


def _withdraw_note(ctx: Context) -> str:
    p = ctx.target.part
    return f"{p.department_name or p.department_id}: {ctx.inputs['reason']}"


_IN_DEPARTMENT = {status: LEADS for status in Status.IN_DEPARTMENT}

register(
    ActionSpec(
        Action.ASSIST_ADD, N_("add an assisting department to"), _IN_DEPARTMENT,
        fields=(Field("department_id", REF), Field("task", max_length=MAX_TASK),
                Field("due", WHEN, required=False)),
        validate=_check_add,
        changes=lambda ctx: {"assists_open": ctx.facts.assists_open + 1},
        note=_add_note, notify=("assisting_head",)),
    ActionSpec(
        Action.ASSIST_WITHDRAW, N_("withdraw an assisting part of"), _IN_DEPARTMENT,
        fields=(Field("part", REF), Field("reason")), guard=_some_part_open,
        validate=_check_withdraw,
        changes=lambda ctx: {"assists_open": max(0, ctx.facts.assists_open - 1)},
        note=_withdraw_note, notify=("assisting_head",)),
)


# --- the assisting side: its own part -----------------------------------------------------


def _part_open(part: PartFacts, status: str) -> None:
    if part.status != AssistStatus.OPEN:
        raise TransitionNotAllowed(N_("This part is no longer open: it was reported or "
                                      "withdrawn."))
    if status not in Status.ACTIVE:
        raise TransitionNotAllowed(N_("The complaint is no longer being handled; its parts "
                                      "cannot change."))


def check_report(actor: Actor, part: PartFacts | None, status: str, report) -> str:
    """May this actor report this part of a complaint in ``status``? The report's text
    (checked), or a RuleError saying why not.

    Only the head of the assisting department or the person named for the part, only an
    open part, only while the complaint is still being handled; the report is required.
    """
    if part is None or not assists(actor, part.department_id, part.assignee_id):
        raise PermissionDenied(N_("Only the head of the assisting department or the person "
                                  "named for the part can report it."))
    _part_open(part, status)
    return Field("report", max_length=MAX_TASK * 2).clean({"report": report})


def check_assign_part(actor: Actor, part: PartFacts | None, status: str,
                      person: PersonFacts | None) -> int:
    """May this actor name ``person`` to do this part? The person's id, or a RuleError.

    The assisting department's head names an active handler (or head) of that department.
    """
    if (part is None or actor.role != Role.DEPT_HEAD
            or not assists(actor, part.department_id, None)):
        raise PermissionDenied(N_("Only the head of the assisting department names who does "
                                  "its part."))
    _part_open(part, status)
    if person is None:
        raise about("assignee_id", MissingInput(N_("Please fill in the %(field_name)s."),
                                                field_name=N_("handler")))
    if not person.active:
        raise about("assignee_id", InvalidInput(N_("That person is not active; choose another "
                                                   "one.")))
    if person.department_id != part.department_id or person.role not in Role.ASSIGNABLE:
        raise about("assignee_id", InvalidInput(N_(
            "Choose a handler or the head of the assisting department.")))
    return person.id


def may_report(actor: Actor, part: PartFacts, status: str) -> bool:
    try:
        check_report(actor, part, status, "-")
    except (PermissionDenied, TransitionNotAllowed):
        return False
    return True


def may_assign_part(actor: Actor, part: PartFacts, status: str) -> bool:
    try:
        check_assign_part(actor, part, status, PersonFacts(0, True, part.department_id,
                                                          Role.HANDLER))
    except (PermissionDenied, TransitionNotAllowed):
        return False
    return True
