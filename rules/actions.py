"""Actions as objects: the shape of one workflow step, and the engine that decides one.

Each step of the procedure is one :class:`ActionSpec` (declared in ``rules.procedure``):
who may take it from which status, what it needs and how that is checked, where it lands,
which fields it changes (a pure function of a :class:`Context`), which clocks it starts,
which event note it writes and whom it notifies. :func:`check` turns a spec and the facts
into a :class:`Decision` the services apply as they are; :func:`may` and
:func:`allowed_actions` are the screens' non-raising questions. Nothing here reads the
clock or a database.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .calendar import BusinessCalendar
from .constants import STATUS_NAMES, Role, Status
from .deadlines import DUE_FIELDS, Policy, current_due, start_clock
from .errors import (
    N_,
    InvalidInput,
    NothingWaiting,
    PermissionDenied,
    RuleError,
    TransitionNotAllowed,
    refuse_all,
)
from .facts import Actor, Facts, Target
from .fields import Field
from .scope import can_act, can_see

# Whom an action's notification goes to (the notification work resolves them to people).
RECIPIENTS = (
    "assignee",  # the person responsible now
    "department_head",  # the head of the complaint's department
    "customer_service",  # the customer-service clerks
    "managers",  # the customer-service managers
    "executives",  # senior management
    "supervisors",  # the quality supervisors (督办): critical complaints
    "escalation_owner",  # whoever owns the complaint at its (new) escalation level
    "extension_approver",  # the head, or a manager when the head asked
    "extension_requester",  # who asked for the extension
    "registered_by",  # who registered the complaint
    "plan_submitter",  # who submitted the handling plan (rules.plan)
    "assisting_head",  # 协办: the head of the assisting department whose part it is
)

ROLE_NAMES = {
    Role.ADMIN: N_("administrator"),
    Role.INTAKE: N_("customer-service clerk"),
    Role.DEPT_HEAD: N_("department head"),
    Role.HANDLER: N_("handler"),
    Role.SUPERVISOR: N_("supervisor"),
    Role.MANAGER: N_("manager"),
    Role.EXECUTIVE: N_("senior manager"),
}


@dataclass(frozen=True)
class Context:
    """Everything a declared action's functions may read: no clock, no database."""

    facts: Facts
    actor: Actor
    inputs: Mapping  # checked values, by field name
    target: Target
    now: datetime
    policy: Policy
    calendar: BusinessCalendar


Guard = Callable[[Facts, Actor], "RuleError | None"]


@dataclass(frozen=True)
class ActionSpec:
    name: str
    verb: str  # for "You cannot %(action_name)s a complaint that is …" (msgid)
    who: Mapping[str, tuple[str, ...]]  # from-status → the roles that may take it from there
    fields: tuple[Field, ...] = ()
    guard: Guard | None = None  # may it be taken at all now (inputs aside)?
    validate: Callable[[Context], None] | None = None  # inputs and target; raises RuleError
    lands: str | Callable[[Context], str] | None = None  # None: the status does not change
    changes: Callable[[Context], dict] | None = None  # complaint fields to set
    starts: tuple[str, ...] | Callable[[Context], tuple[str, ...]] = ()  # clocks started
    note: Callable[[Context], str | None] | None = None  # the event's note
    # RECIPIENTS, or a function of the Context giving them (e.g. only when reopened)
    notify: tuple[str, ...] | Callable[[Context], tuple[str, ...]] = ()
    writes_callback: bool = False  # a CallbackRecord from the inputs
    # A role in ``who`` takes it only when given it (a company setting, on the Actor): the
    # refusal of an actor not given it, or None. Not given: not their action at all.
    given: Callable[[Actor], RuleError | None] | None = None

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(self.who)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(role for roles in self.who.values() for role in roles)

    @property
    def final(self) -> bool:
        """It ends the handling (lands in a final status: closed, rejected): the screens ask
        the user to confirm it first."""
        return isinstance(self.lands, str) and self.lands in Status.FINAL


@dataclass(frozen=True)
class Decision:
    """What an allowed action does: the services apply ``changes`` and write the event."""

    action: str
    from_status: str
    to_status: str
    escalation_level: int
    changes: Mapping = field(default_factory=dict)  # complaint fields, status and due included
    inputs: Mapping = field(default_factory=dict)
    note: str | None = None
    notify: tuple[str, ...] = ()
    reopened: bool = False
    callback: Mapping | None = None  # the CallbackRecord to write, if any


_REGISTRY: dict[str, ActionSpec] = {}


def register(*specs: ActionSpec) -> None:
    for spec in specs:
        _REGISTRY[spec.name] = spec


def spec_of(action: str) -> ActionSpec:
    try:
        return _REGISTRY[action]
    except KeyError:
        raise InvalidInput(N_("Unknown action.")) from None


def all_specs() -> tuple[ActionSpec, ...]:
    return tuple(_REGISTRY.values())


# --- may it be taken? -------------------------------------------------------------------


def refusal(action: str, facts: Facts, actor: Actor) -> RuleError | None:
    """Why this actor may not take this action now (inputs aside), or None if they may."""
    if action not in _REGISTRY:
        return InvalidInput(N_("Unknown action."))
    if not can_see(actor, facts.department_id, facts.assignee_id, facts.registered_by_id):
        return PermissionDenied(N_("This complaint is not in your queue."))
    if not can_act(actor, facts.department_id, facts.assignee_id):
        return PermissionDenied(N_(
            "You registered this complaint, so you can follow it; only the department it is "
            "with can work on it."))
    spec = _REGISTRY[action]
    status_name = STATUS_NAMES.get(facts.status, facts.status)
    if facts.status not in spec.who:
        return TransitionNotAllowed(
            N_("You cannot %(action_name)s a complaint that is %(status_name)s."),
            action_name=spec.verb, status_name=status_name)
    if spec.given is not None and actor.role in spec.who[facts.status]:
        withheld = spec.given(actor)
        if withheld is not None:
            return withheld
    if actor.role not in spec.who[facts.status]:
        return PermissionDenied(
            N_("A %(role_name)s may not %(action_name)s a complaint that is %(status_name)s."),
            role_name=ROLE_NAMES.get(actor.role, actor.role), action_name=spec.verb,
            status_name=status_name)
    return spec.guard(facts, actor) if spec.guard else None


def may(action: str, facts: Facts, actor: Actor) -> bool:
    """Whether the actor may take the action now, inputs aside (the screens' question)."""
    return refusal(action, facts, actor) is None


def allowed_actions(facts: Facts, actor: Actor) -> list[str]:
    """The actions this actor may take on this complaint now, in declaration order."""
    return [name for name in _REGISTRY if may(name, facts, actor)]


@dataclass(frozen=True)
class Unavailable:
    """An action the actor's role takes on some complaints, refused on this one now.

    ``blocked``: the status and the role are right and a condition is not met yet (close
    before enough callbacks, an extension already asked); otherwise the complaint is not
    at a stage where this role takes it. ``reason`` is the refusal shown to the user.
    """

    action: str
    reason: RuleError
    blocked: bool


def unavailable_actions(facts: Facts, actor: Actor) -> list[Unavailable]:
    """Every action the actor's role could take, refused now, with the reason, in
    declaration order; none for a complaint the actor may not see at all."""
    if not can_act(actor, facts.department_id, facts.assignee_id):
        return []  # seen only as its author: nothing this actor could take on it
    out = []
    for name, spec in _REGISTRY.items():
        if actor.role not in spec.roles or not takes(spec, actor):
            continue
        reason = refusal(name, facts, actor)
        if reason is not None:
            blocked = (actor.role in spec.who.get(facts.status, ())
                       and not isinstance(reason, NothingWaiting))
            out.append(Unavailable(name, reason, blocked))
    return out


def takes(spec: ActionSpec, actor: Actor) -> bool:
    """Whether the actor's role takes this action at all (a setting may withhold it)."""
    return actor.role in spec.roles and (spec.given is None or spec.given(actor) is None)


def is_final(action: str) -> bool:
    """Whether the action ends the handling and so asks for confirmation on the screens."""
    spec = _REGISTRY.get(action)
    return spec is not None and spec.final


# --- the decision -----------------------------------------------------------------------


def check(action: str, facts: Facts, actor: Actor, inputs: Mapping | None = None,
          now: datetime | None = None, *, target: Target | None = None,
          policy: Policy | None = None, calendar: BusinessCalendar | None = None) -> Decision:
    """Decide an action, or raise a RuleError saying why it is refused.

    ``now`` is required for any action that is allowed (deadlines start from it).
    """
    reason = refusal(action, facts, actor)
    if reason is not None:
        raise reason
    if now is None:
        raise ValueError("check() needs now")
    spec = spec_of(action)
    raw = dict(inputs or {})
    clean = _clean_all(spec.fields, raw)
    ctx = Context(facts, actor, clean, target or Target(), now, policy or Policy(),
                  calendar or BusinessCalendar())
    if spec.validate:
        spec.validate(ctx)
    changes = dict(spec.changes(ctx) if spec.changes else {})
    starts = spec.starts(ctx) if callable(spec.starts) else spec.starts
    # The forward window counts from receipt when the complaint is first accepted, from
    # now when it comes back to customer service to be forwarded again.
    first_pass = facts.status == Status.REGISTERED
    for clock in starts:
        changes.update(start_clock(clock, now=now, policy=ctx.policy, calendar=ctx.calendar,
                                   received_at=facts.received_at if first_pass else None,
                                   resolved_at=changes.get("resolved_at", facts.resolved_at)))
    lands = spec.lands(ctx) if callable(spec.lands) else spec.lands
    to_status = lands or facts.status
    level = changes.get("escalation_level", facts.escalation_level)
    changes.update(status=to_status, escalation_level=level)
    changes.update(_deadline_changes(facts, changes, to_status, now))
    return Decision(
        action=action, from_status=facts.status, to_status=to_status, escalation_level=level,
        changes=changes, inputs=clean, note=spec.note(ctx) if spec.note else _note(clean),
        notify=spec.notify(ctx) if callable(spec.notify) else spec.notify,
        reopened="reopen_count" in changes,
        callback=clean if spec.writes_callback else None,
    )


def _clean_all(fields, raw: Mapping) -> dict:
    """Every field's checked value; every refused one at once (InputErrors), not the first."""
    clean, errors = {}, []
    for f in fields:
        try:
            clean[f.name] = f.clean(raw)
        except RuleError as err:
            errors.append(err)
    refuse_all(errors)
    return clean


def _note(clean: Mapping) -> str | None:
    return clean.get("reason") or clean.get("note") or None


def _deadline_changes(facts: Facts, changes: Mapping, status: str, now: datetime) -> dict:
    """The deadline waited on after the action, and whether it is already missed.

    A new deadline clears the "missed" mark; one already in the past counts as missed
    at once (without a second escalation for the same lateness); one equal to ``now`` is
    not yet missed, as in ``is_overdue`` and the sweep.
    """
    after = dataclasses.replace(facts, **{k: v for k, v in changes.items()
                                          if k in DUE_FIELDS.values()})
    dues = {name: getattr(after, name) for name in DUE_FIELDS.values()}
    due_at, due_kind = current_due(status, dues)
    if (due_at, due_kind) == (facts.due_at, facts.due_kind):
        return {}
    missed = due_at is not None and due_at < now
    out = {"due_at": due_at, "due_kind": due_kind, "overdue_since": now if missed else None}
    if missed:
        out["was_overdue"] = True
    return out
