"""Accountability for missed deadlines: who reads the records, who records a finding.

Each missed deadline writes an AccountabilityRecord (the sweep); a manager records the
finding (excused / responsible, with a note); the newest finding supersedes the earlier
ones. Managers, administrators, supervisors, senior management and the staff of the
accountability department (a company setting, 行政人事部 by default) read the records.
"""

from __future__ import annotations

from collections.abc import Collection

from .constants import Finding, Role
from .errors import N_, InvalidInput, MissingInput, PermissionDenied

# Who records a finding.
FINDING_ROLES = Role.MANAGERS
# Who reads every record, whatever their department.
READ_ROLES = (Role.MANAGER, Role.ADMIN, Role.SUPERVISOR, Role.EXECUTIVE)
# Who chooses the accountability department (a company setting).
SETTING_ROLES = (Role.ADMIN,)
MAX_NOTE = 4000


def can_read(role: str, department_code: str | None, accountability_code: str | None) -> bool:
    """Whether this user reads the accountability records."""
    if role in READ_ROLES:
        return True
    return bool(department_code) and department_code == accountability_code


def check_finding(role: str, finding: str | None, note: str | None) -> None:
    """Refuse a finding this role may not record, or one that is incomplete."""
    if role not in FINDING_ROLES:
        raise PermissionDenied(N_("Only a manager may record the finding on a missed "
                                  "deadline."))
    if not finding:
        raise MissingInput(N_("Please fill in the %(field_name)s."), field_name=N_("finding"))
    if finding not in Finding.ALL:
        raise InvalidInput(N_("The %(field_name)s is not one of the allowed values."),
                           field_name=N_("finding"))
    if not (note or "").strip():
        raise MissingInput(N_("Please fill in the %(field_name)s."), field_name=N_("note"))
    if len(note.strip()) > MAX_NOTE:
        raise InvalidInput(N_("The %(field_name)s is too long: at most %(max)d characters."),
                           field_name=N_("note"), max=MAX_NOTE)


def check_accountability_department(role: str, code: str | None,
                                    known_codes: Collection[str]) -> None:
    """Refuse a change of the accountability department by another role, or to no department."""
    if role not in SETTING_ROLES:
        raise PermissionDenied(N_("Only the administrator may change the company settings."))
    if not code:
        raise MissingInput(N_("Please fill in the %(field_name)s."),
                           field_name=N_("accountability department"))
    if code not in known_codes:
        raise InvalidInput(N_("The %(field_name)s is not one of the allowed values."),
                           field_name=N_("accountability department"))


def check_supervisor_callbacks(role: str, value: str | None, allowed: Collection[str]) -> None:
    """Refuse a change of "who calls back" by another role, or to an unknown value."""
    if role not in SETTING_ROLES:
        raise PermissionDenied(N_("Only the administrator may change the company settings."))
    if value not in allowed:
        raise InvalidInput(N_("The %(field_name)s is not one of the allowed values."),
                           field_name=N_("who records callbacks"))
