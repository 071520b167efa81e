"""Escalation: who owns a complaint at each level, and whose "escalated to me" it is in.

Level 0 the handler (the normal queue) → 1 the department head → 2 the customer-service
manager → 3 senior management. A critical complaint starts at level 2 and is in the
manager's and the executives' view from registration.
"""

from __future__ import annotations

from .constants import MAX_ESCALATION, Role, Severity, Status
from .errors import N_
from .facts import Actor

LEVEL_OWNERS = {
    0: N_("the handler"),
    1: N_("the department head"),
    2: N_("the customer-service manager"),
    3: N_("senior management"),
}


def initial_escalation_level(severity: str) -> int:
    """A critical complaint starts at the customer-service manager (level 2)."""
    return 2 if severity == Severity.CRITICAL else 0


def escalated(level: int) -> int:
    """One level up, never above senior management."""
    return min(level + 1, MAX_ESCALATION)


def owner_role(level: int, department_id: int | None, status: str | None = None) -> str | None:
    """The role that owns a complaint at this level (None: its normal queue, level 0).

    Level 1 is the head of the department the complaint waits on: the responsible
    department's head while it is with that department (forwarded, in progress); while it
    waits on customer service (accepting, forwarding, telling a rejection, reviewing,
    calling back) the customer-service manager, who runs those desks.
    """
    if level <= 0:
        return None
    if level == 1:
        with_department = department_id is not None and (
            status is None or status in Status.IN_DEPARTMENT)
        return Role.DEPT_HEAD if with_department else Role.MANAGER
    if level == 2:
        return Role.MANAGER
    return Role.EXECUTIVE


def escalated_to(actor: Actor, status: str, level: int, department_id: int | None,
                 severity: str) -> bool:
    """Whether an open complaint is in this actor's "escalated to me" queue.

    (SQL twin: ``services.queries.escalated_clause``; a test proves they agree.)
    """
    if status not in Status.OPEN:
        return False
    owner = owner_role(level, department_id, status)
    if actor.role == Role.DEPT_HEAD:
        return (owner == Role.DEPT_HEAD and actor.department_id is not None
                and department_id == actor.department_id)
    if actor.role in Role.MANAGERS:
        return owner == Role.MANAGER or severity == Severity.CRITICAL
    if actor.role == Role.EXECUTIVE:
        return owner == Role.EXECUTIVE or severity == Severity.CRITICAL
    return False
