"""Who may see customers' contact data (phone, e-mail) in screens and exports."""

from __future__ import annotations

from .constants import Role

# Roles whose work needs the customer's phone and e-mail (calling back, investigating).
# The supervisor reads and evaluates; they get masked contacts (138****5678).
CONTACT_ROLES = (Role.INTAKE, Role.MANAGER, Role.ADMIN, Role.DEPT_HEAD, Role.HANDLER)


def may_see_contact(role: str | None) -> bool:
    """Whether this role sees customers' phone numbers and e-mail addresses unmasked."""
    return role in CONTACT_ROLES


# Who takes the monthly meeting workbook: everyone but handlers. Roles that see every
# complaint choose any department (or all); a department head gets their own only.
REPORT_ROLES = (Role.ADMIN, Role.INTAKE, Role.MANAGER, Role.SUPERVISOR, Role.DEPT_HEAD)


def report_covers_all_departments(role: str | None) -> bool:
    """Whether this role's workbook may cover any department (else only their own)."""
    return role in Role.SEE_ALL
