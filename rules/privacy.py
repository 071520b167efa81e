"""Who may see customers' contact data (phone, e-mail) in screens and exports."""

from __future__ import annotations

from .constants import Role

# Roles whose work needs the customer's phone and e-mail (calling back, investigating).
# The supervisor reads and evaluates; they get masked contacts (138****5678).
CONTACT_ROLES = (Role.INTAKE, Role.MANAGER, Role.ADMIN, Role.DEPT_HEAD, Role.HANDLER)


def may_see_contact(role: str | None) -> bool:
    """Whether this role sees customers' phone numbers and e-mail addresses unmasked."""
    return role in CONTACT_ROLES
