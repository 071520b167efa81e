"""Read-side helpers of the screens: the "escalated to me" queue and who reads accountability."""

from __future__ import annotations

from functools import cache

from sqlalchemy import and_, func, select

from models import Complaint, Department, Setting, db
from models.settings import ACCOUNTABILITY_DEPARTMENT, DEFAULT_SETTINGS
from rules import Actor, Severity, Status, escalated_to
from rules.accountability import can_read

from .queries import escalated_clause, scope_clause


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
