"""Registering a complaint: who may, what it needs, how its contact data is kept."""

from __future__ import annotations

import re
from collections.abc import Mapping

from .constants import Channel, CustomerClass, Kind, Role, Severity
from .errors import N_, InvalidInput, MissingInput, PermissionDenied

REGISTER_ROLES = (Role.INTAKE, Role.MANAGER, Role.ADMIN)
# The generic edit form re-validates with check_register: the same roles may edit.
EDIT_ROLES = REGISTER_ROLES
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_phone(raw: str | None) -> str | None:
    """Digits only, without the +86 / 0086 country prefix: the key of an exact phone search."""
    if not raw:
        return None
    digits = re.sub(r"\D", "", raw)
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits or None


def mask_phone(phone: str | None) -> str | None:
    """138****5678: enough to recognise a number, not to call it."""
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"


def mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return email
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}"


def check_register(role: str, data: Mapping) -> dict:
    """Validate a new complaint; returns the cleaned values or raises a RuleError."""
    if role not in REGISTER_ROLES:
        raise PermissionDenied(N_("Only customer service may register complaints."))
    clean = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()}
    for name, label in (("customer_name", N_("customer name")), ("title", N_("title"))):
        if not clean.get(name):
            raise MissingInput(N_("Please fill in the %(field_name)s."), field_name=label)
    if not clean.get("customer_phone") and not clean.get("customer_email"):
        raise MissingInput(N_("Please give the customer's phone or e-mail, so that we can call back."))
    phone_norm = normalize_phone(clean.get("customer_phone"))
    if clean.get("customer_phone") and (not phone_norm or not 5 <= len(phone_norm) <= 15):
        raise InvalidInput(N_("The phone number does not look valid."))
    if clean.get("customer_email") and not _EMAIL.match(clean["customer_email"]):
        raise InvalidInput(N_("The e-mail address does not look valid."))
    for name, allowed, default in (
        ("kind", Kind.ALL, Kind.COMPLAINT),
        ("channel", Channel.ALL, "phone"),
        ("severity", Severity.ALL, Severity.NORMAL),
        ("customer_class", CustomerClass.ALL, "C"),
    ):
        clean[name] = clean.get(name) or default
        if clean[name] not in allowed:
            raise InvalidInput(N_("The %(field_name)s is not one of the allowed values."), field_name=name)
    clean["customer_phone_norm"] = phone_norm
    return clean
