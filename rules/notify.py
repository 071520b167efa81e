"""Whom a notification goes to: each ``RECIPIENTS`` symbol of an action, read against the
complaint as it stands after the action, becomes a :class:`Recipient` description that the
services resolve to people (services.notifications). Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from .actions import RECIPIENTS
from .constants import Role, Severity
from .escalation import owner_role
from .facts import Actor, Facts

# Registering a critical complaint tells these (its kind: ``critical_registered``).
CRITICAL_REGISTERED = "critical_registered"
ON_CRITICAL_REGISTRATION = ("managers", "executives", "supervisors")
REOPENED = "reopened"
OVERDUE = "overdue"
# Written by the sweep: the new escalation owner of a complaint whose deadline was missed
# (the overdue event's escalation), and the responsible person of a deadline that falls
# within one working day (services.sweep, services.due_soon).
ESCALATED = "escalated"
DUE_SOON = "due_soon"
# Written by services.upstream.sweep: a report back to an upstream centre past the
# deadline it set (to the customer-service managers).
UPSTREAM_OVERDUE = "upstream_overdue"


@dataclass(frozen=True)
class Recipient:
    """One of: a person (``person_id``), the head of a department (``head_of``: its
    ``head_id``, else its active department heads), or every active member of a role."""

    person_id: int | None = None
    head_of: int | None = None
    role: str | None = None


def _head(department_id: int | None) -> tuple[Recipient, ...]:
    return (Recipient(head_of=department_id),) if department_id is not None else ()


def _person(person_id: int | None) -> tuple[Recipient, ...]:
    return (Recipient(person_id=person_id),) if person_id is not None else ()


def _owner(after: Facts) -> tuple[Recipient, ...]:
    role = owner_role(after.escalation_level, after.department_id, after.status)
    if role == Role.DEPT_HEAD:
        return _head(after.department_id)
    if role in (Role.MANAGER, Role.EXECUTIVE):
        return (Recipient(role=role),)
    return ()  # level 0: the normal queue (the assignee, when the action names them)


def _approver(after: Facts, actor: Actor) -> tuple[Recipient, ...]:
    requester = after.extension_requested_by_id
    head_asked = requester is not None and requester == actor.id and actor.role == Role.DEPT_HEAD
    if head_asked:
        return (Recipient(role=Role.MANAGER),)
    return _head(after.department_id)


def recipients(symbols: Iterable[str], before: Facts, after: Facts,
               actor: Actor, *, assisting: int | None = None) -> tuple[Recipient, ...]:
    """The descriptions of whom to tell, in declaration order, without repeats.

    ``before`` / ``after`` are the complaint's facts before and after the action (the
    extension's requester is known only before its decision). The services leave the
    actor out: nobody is told of their own action. ``assisting``: the department of the
    part an assist action names (services.assist tells its head; none here without it).
    """
    out: list[Recipient] = []
    for symbol in symbols:
        if symbol not in RECIPIENTS:
            raise ValueError(f"unknown recipient {symbol!r}")
        found: tuple[Recipient, ...] = {
            "assignee": lambda: _person(after.assignee_id),
            "department_head": lambda: _head(after.department_id),
            "customer_service": lambda: (Recipient(role=Role.INTAKE),),
            "managers": lambda: (Recipient(role=Role.MANAGER),),
            "executives": lambda: (Recipient(role=Role.EXECUTIVE),),
            "supervisors": lambda: (Recipient(role=Role.SUPERVISOR),),
            "escalation_owner": lambda: _owner(after),
            "extension_approver": lambda: _approver(after, actor),
            "extension_requester": lambda: _person(before.extension_requested_by_id),
            "registered_by": lambda: _person(after.registered_by_id),
            "plan_submitter": lambda: _person(before.plan_submitted_by_id),
            "assisting_head": lambda: _head(assisting),
        }[symbol]()
        out.extend(r for r in found if r not in out)
    return tuple(out)


def kind_of(action: str, reopened: bool) -> str:
    """The notification's kind: the action, or ``reopened`` when it sent the work back."""
    return REOPENED if reopened else action


def on_registration(severity: str) -> tuple[str, ...]:
    """Whom registering a complaint of this severity tells (RECIPIENTS symbols)."""
    return ON_CRITICAL_REGISTRATION if severity == Severity.CRITICAL else ()


# --- the sweep's notifications ------------------------------------------------------------


def due_soon_key(complaint_id: int, due_kind: str | None, due_at: datetime,
                 recipient_id: int) -> str:
    """The dedupe key of a ``due_soon`` notification: one per person and deadline.

    A new deadline (another clock, or the same clock moved) is a new key, so it is
    announced again; the same deadline never twice. (SQL twin:
    services.sweep_sql.due_soon_key_clause.)
    """
    return (f"{DUE_SOON}:{complaint_id}:{due_kind or ''}:"
            f"{due_at:%Y-%m-%dT%H:%M:%S}:{recipient_id}")
