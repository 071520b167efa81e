"""Who may see customers' contact data (phone, e-mail) in screens and exports."""

from __future__ import annotations

import re

from .constants import Role
from .intake import mask_email, mask_phone

# Roles whose work needs the customer's phone and e-mail (calling back, investigating).
# The supervisor reads and evaluates; they get masked contacts (138****5678).
CONTACT_ROLES = (Role.INTAKE, Role.MANAGER, Role.ADMIN, Role.DEPT_HEAD, Role.HANDLER)


def may_see_contact(role: str | None) -> bool:
    """Whether this role sees customers' phone numbers and e-mail addresses unmasked."""
    return role in CONTACT_ROLES


# Free text (reasons, notes, resolutions, old audit notes) may hold a phone number or an
# e-mail address typed by staff. Searched in one pass, left to right, first match wins:
# 1. what must stay as it is although it has many digits: complaint numbers
#    (TS-20261123-0001) and dates or times (2026-11-23, 2026-11-23 09:30:00);
# 2. an e-mail address (before phones: 13812345678@qq.com is an address);
# 3. a phone-like run: 7 or more digits, single spaces, dashes or brackets between them,
#    an optional +86 / 0086 in front; not part of a decimal number (1234567.50).
_TEXT_CONTACTS = re.compile(
    r"(?P<keep>\b[A-Z]{2,5}-\d{8}-\d{1,6}\b"
    r"|(?<!\d)\d{4}-\d{1,2}-\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?!\d))"
    r"|(?P<email>[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)"
    r"|(?P<phone>(?<!\d)(?<!\d\.)(?:(?:\+|00)\s?86[\s\-]?)?\(?\d(?:[\s\-()]{0,2}\d){6,}"
    r"(?!\d)(?!\.\d))"
)


def _mask_match(match: re.Match) -> str:
    if match.group("email"):
        return mask_email(match.group("email"))
    if match.group("phone"):
        return mask_phone(match.group("phone"))
    return match.group(0)


def mask_text(text: str | None) -> str | None:
    """Free text with every phone-like number and e-mail address in it masked.

    ``"call 138 1234 5678 or li.na@example.com"`` → ``"call 138****5678 or
    l***@example.com"``. Phone-like: 7 or more digits, with single spaces, dashes or
    brackets between them and an optional +86 / 0086 prefix (masked as ``mask_phone``
    masks a number); complaint numbers, dates and times, decimal amounts and shorter
    numbers stay as they are. Longer digit runs that are no phone (an order number) are
    masked too: better one masked number too many than one phone shown.
    """
    if not text:
        return text
    return _TEXT_CONTACTS.sub(_mask_match, text)


# Who takes the monthly meeting workbook: everyone but handlers. Roles that see every
# complaint choose any department (or all); a department head gets their own only.
REPORT_ROLES = (Role.ADMIN, Role.INTAKE, Role.MANAGER, Role.SUPERVISOR, Role.EXECUTIVE,
                Role.DEPT_HEAD)


def report_covers_all_departments(role: str | None) -> bool:
    """Whether this role's workbook may cover any department (else only their own)."""
    return role in Role.SEE_ALL


# The corrective actions in the period workbook: for those who see them on their screen
# (issue 12: managers, administrators, supervisors, senior management; a department head
# their department's — their workbook is their department's), not the clerks.
CORRECTIVE_REPORT_ROLES = (Role.ADMIN, Role.MANAGER, Role.SUPERVISOR, Role.EXECUTIVE,
                           Role.DEPT_HEAD)


def report_shows_corrective_actions(role: str | None) -> bool:
    """Whether this role's period workbook lists the corrective and preventive actions."""
    return role in CORRECTIVE_REPORT_ROLES
