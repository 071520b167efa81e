"""What the administrative record (AdminEvent) holds: its actions, and how a change reads.

Every change to the organisation and the configuration (staff, roles, activation,
passwords, departments, SLA policies, calendar, categories, settings) and every security
event (failed logins, lockouts, password changes and resets, exports) leaves one
append-only row. Its ``detail`` says what changed, ``field: old → new``; values of
secret fields (passwords, their hashes, session tokens, second-factor secrets) are never
written, only that they changed.

Pure: no Flask, no SQLAlchemy, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime

STAFF_CREATED = "staff_created"
STAFF_CHANGED = "staff_changed"
ROLE_CHANGED = "role_changed"
STAFF_DEACTIVATED = "staff_deactivated"
STAFF_ACTIVATED = "staff_activated"
PASSWORD_RESET = "password_reset"  # an administrator set someone's password
PASSWORD_CHANGED = "password_changed"  # a user changed their own password
DEPARTMENT_CREATED = "department_created"
DEPARTMENT_CHANGED = "department_changed"
SLA_POLICY_CREATED = "sla_policy_created"
SLA_POLICY_CHANGED = "sla_policy_changed"
SLA_POLICY_DELETED = "sla_policy_deleted"
CALENDAR_DAY_CREATED = "calendar_day_created"
CALENDAR_DAY_CHANGED = "calendar_day_changed"
CALENDAR_DAY_DELETED = "calendar_day_deleted"
CATEGORY_CREATED = "category_created"
CATEGORY_CHANGED = "category_changed"
SETTING_CHANGED = "setting_changed"
LOGIN_FAILED = "login_failed"
LOGIN_LOCKED = "login_locked"
LOGIN_SUCCEEDED = "login_succeeded"
EXPORT = "export"
RETENTION_APPLIED = "retention_applied"  # old personal data anonymised (flask retention)
DELIVERY_RETRIED = "delivery_retried"  # the administrator queued a message to send again
CONTACT_SEARCHED = "contact_searched"  # a masked role searched by phone or e-mail (issue 10)
API_TOKEN_CREATED = "api_token_created"  # another system's API token (issue 14)
API_TOKEN_REVOKED = "api_token_revoked"
API_TOKEN_REFUSED = "api_token_refused"  # one address sent too many unknown tokens: it waits
# The public complaint form and lookup (issue 14): an address throttled, a robot caught.
PUBLIC_THROTTLED = "public_throttled"
PUBLIC_HONEYPOT = "public_honeypot"

ALL = (
    STAFF_CREATED, STAFF_CHANGED, ROLE_CHANGED, STAFF_DEACTIVATED, STAFF_ACTIVATED,
    PASSWORD_RESET, PASSWORD_CHANGED, DEPARTMENT_CREATED, DEPARTMENT_CHANGED,
    SLA_POLICY_CREATED, SLA_POLICY_CHANGED, SLA_POLICY_DELETED, CALENDAR_DAY_CREATED,
    CALENDAR_DAY_CHANGED, CALENDAR_DAY_DELETED, CATEGORY_CREATED, CATEGORY_CHANGED,
    SETTING_CHANGED, LOGIN_FAILED, LOGIN_LOCKED, LOGIN_SUCCEEDED, EXPORT, RETENTION_APPLIED,
    DELIVERY_RETRIED, CONTACT_SEARCHED, API_TOKEN_CREATED, API_TOKEN_REVOKED, API_TOKEN_REFUSED,
    PUBLIC_THROTTLED, PUBLIC_HONEYPOT,
)
# Security events: who got in, who did not, whose credentials changed, what data left.
SECURITY = (LOGIN_FAILED, LOGIN_LOCKED, LOGIN_SUCCEEDED, PASSWORD_RESET, PASSWORD_CHANGED,
            EXPORT, API_TOKEN_CREATED, API_TOKEN_REVOKED, API_TOKEN_REFUSED, PUBLIC_THROTTLED,
            PUBLIC_HONEYPOT)

# What an event is about (AdminEvent.target_type).
TARGET_STAFF = "staff"
TARGET_DEPARTMENT = "department"
TARGET_SLA_POLICY = "sla_policy"
TARGET_CALENDAR_DAY = "calendar_day"
TARGET_CATEGORY = "category"
TARGET_SETTING = "setting"
TARGET_EXPORT = "export_log"
TARGET_DELIVERY = "delivery"
TARGET_API_TOKEN = "api_token"

# Fields whose values never reach a record (only the fact that they changed).
SECRET_FIELDS = frozenset({
    "password", "password_hash", "confirm", "session_token", "totp_secret", "otp_secret",
    "recovery_codes", "recovery_code_hashes", "robot_secret",
})
EMPTY = "∅"
MAX_VALUE_LENGTH = 200
MAX_DETAIL_LENGTH = 4000


def text_of(value) -> str:
    """A value as the record shows it: empty as ∅, yes/no, dates in ISO form, cut short."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    text = " ".join(str(value).split())  # one line: no newline or tab inside a value
    if len(text) > MAX_VALUE_LENGTH:
        text = text[:MAX_VALUE_LENGTH - 1] + "…"
    return text


def describe_changes(changes: Mapping[str, tuple] | Iterable[tuple]) -> str:
    """``field: old → new; …`` for ``{field: (old, new)}`` (or ``(field, old, new)`` items).

    A secret field says only ``field: changed``; unchanged fields are left out.
    """
    items = changes.items() if isinstance(changes, Mapping) else (
        (name, (old, new)) for name, old, new in changes)
    parts = []
    for name, (old, new) in items:
        if name in SECRET_FIELDS:
            parts.append(f"{name}: changed")
        elif text_of(old) != text_of(new) or old != new:
            parts.append(f"{name}: {text_of(old)} → {text_of(new)}")
    return cut("; ".join(parts))


def describe_values(values: Mapping[str, object]) -> str:
    """``field: value; …`` of a new row (secret fields left out)."""
    return cut("; ".join(f"{name}: {text_of(value)}" for name, value in values.items()
                         if name not in SECRET_FIELDS))


def cut(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_DETAIL_LENGTH:
        return text
    return text[:MAX_DETAIL_LENGTH - 1] + "…"


def staff_change_actions(changes: Mapping[str, tuple]) -> list[tuple[str, dict]]:
    """Split an account edit into its events: activation, role, the other fields.

    ``changes`` is ``{field: (old, new)}`` of the fields that changed; returns
    ``[(action, {field: (old, new)}), …]`` — one entry per kind of change, each with its
    own fields, so that a filter on "role changed" finds every role change.
    """
    rest = dict(changes)
    out = []
    if "active" in rest:
        old, new = rest.pop("active")
        out.append((STAFF_ACTIVATED if new else STAFF_DEACTIVATED, {"active": (old, new)}))
    if "role" in rest:
        out.append((ROLE_CHANGED, {"role": rest.pop("role")}))
    if rest:
        out.append((STAFF_CHANGED, rest))
    return out
