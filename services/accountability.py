"""Accountability for missed deadlines: a manager's findings, and the department that reads them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from models import AccountabilityFinding, AccountabilityRecord, Department, Setting, db
from models.engine import write_transaction
from models.settings import ACCOUNTABILITY_DEPARTMENT, NO, SUPERVISOR_CALLBACKS, YES
from rules.accountability import (
    check_accountability_department,
    check_finding,
    check_supervisor_callbacks,
)
from rules.errors import N_, RuleError

from . import clock


class RecordNotFound(RuleError):
    def __init__(self):
        super().__init__(N_("Accountability record not found."))


def record_finding(record_id, finding: str | None, note: str | None, actor,
                   now: datetime | None = None) -> AccountabilityFinding:
    """Record a manager's finding on a missed deadline (a new row: the newest one counts).

    Refused (RuleError, nothing written) for a role other than a manager's, an unknown
    finding, an empty note or an unknown record.
    """
    now = now or clock.now()
    actor_id, role = actor.id, actor.role
    check_finding(role, finding, note)
    try:
        pk = int(record_id)
    except (TypeError, ValueError):
        raise RecordNotFound() from None
    with write_transaction(db.session):
        if db.session.get(AccountabilityRecord, pk) is None:
            raise RecordNotFound()
        row = AccountabilityFinding(record_id=pk, at=now, staff_id=actor_id, finding=finding,
                                    note=note.strip())
        db.session.add(row)
    return row


def set_accountability_department(code: str | None, actor) -> None:
    """Choose the department whose staff read the accountability records (by its code)."""
    role = actor.role
    code = (code or "").strip()
    with write_transaction(db.session):
        known = set(db.session.scalars(select(Department.code).where(Department.active.is_(True))))
        check_accountability_department(role, code, known)
        row = db.session.get(Setting, ACCOUNTABILITY_DEPARTMENT)
        if row is None:
            db.session.add(Setting(key=ACCOUNTABILITY_DEPARTMENT, value=code))
        else:
            row.value = code


def set_supervisor_callbacks(value: str | None, actor) -> None:
    """Give callbacks to the inspection department (supervisors) too, or take them back:
    "yes" / "no" (rules.accountability.check_supervisor_callbacks)."""
    role = actor.role
    value = (value or "").strip()
    check_supervisor_callbacks(role, value, (YES, NO))
    with write_transaction(db.session):
        row = db.session.get(Setting, SUPERVISOR_CALLBACKS)
        if row is None:
            db.session.add(Setting(key=SUPERVISOR_CALLBACKS, value=value))
        else:
            row.value = value
