"""Who sees which complaint, and the optimistic-lock check."""

from __future__ import annotations

from collections.abc import Iterable

from .constants import Role
from .errors import StaleVersion
from .facts import Actor


def can_see(actor: Actor, department_id: int | None, assignee_id: int | None,
            registered_by_id: int | None = None, *,
            assisting: Iterable[tuple[int, int | None]] = ()) -> bool:
    """Whether a complaint with this department, assignee and author is in the actor's scope.

    Customer service, managers, supervisors and executives see everything; a department
    head their department's complaints; a handler those assigned to them; anyone the
    complaints they registered themselves. ``assisting``: the (department, assignee) of
    the complaint's parts not withdrawn (协办): the head of an assisting department and the
    handler named for a part see the complaint too (to read it and report their part;
    ``can_act`` stays false for them, so no workflow action is theirs).
    """
    if actor.role in Role.SEE_ALL:
        return True
    if registered_by_id is not None and registered_by_id == actor.id:
        return True
    if any(assists(actor, dept, person) for dept, person in assisting):
        return True
    if actor.role == Role.DEPT_HEAD:
        return actor.department_id is not None and department_id == actor.department_id
    if actor.role == Role.HANDLER:
        return assignee_id is not None and assignee_id == actor.id
    return False


def assists(actor: Actor, part_department_id: int | None,
            part_assignee_id: int | None) -> bool:
    """Whether the actor works on this assisting part: the head of its department, or the
    handler named for it."""
    if actor.role == Role.DEPT_HEAD:
        return actor.department_id is not None and part_department_id == actor.department_id
    if actor.role == Role.HANDLER:
        return part_assignee_id is not None and part_assignee_id == actor.id
    return False


def can_act(actor: Actor, department_id: int | None, assignee_id: int | None) -> bool:
    """Whether the complaint is with the actor's own desk, so that a department role may
    take a workflow step on it.

    Seeing is wider than acting: a department head or handler sees the complaints they
    registered themselves, wherever they are, to follow them, but only the department a
    complaint is with (its head; the handler it is assigned to) works on it.
    """
    if actor.role == Role.DEPT_HEAD:
        return actor.department_id is not None and department_id == actor.department_id
    if actor.role == Role.HANDLER:
        return assignee_id is not None and assignee_id == actor.id
    return can_see(actor, department_id, assignee_id)


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
