"""Registering and editing a complaint: who may, what it needs, how contact data is kept."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from .bounds import MAX_LONG_TEXT, MAX_YEAR, MIN_YEAR, date_in_window
from .constants import (
    Channel,
    CustomerClass,
    Kind,
    Role,
    Severity,
    Status,
    TargetKind,
    UpstreamSource,
)
from .errors import N_, InvalidInput, MissingInput, PermissionDenied, about, refuse_all
from .fields import parse_phone

# Any active staff member may register a complaint they received; outside customer
# service it is "relayed by a department" and lands in customer service's intake queue.
REGISTER_ROLES = Role.ALL
# The generic edit form (customer service); a closed complaint only a manager, with a reason.
EDIT_ROLES = Role.CUSTOMER_SERVICE
CLOSED_EDIT_ROLES = Role.MANAGERS
# A complaint received longer ago than this is registered late: say why.
LATE_REGISTRATION = timedelta(days=30)
# The longest text each field holds (its column's size; Text columns: rules.bounds).
TEXT_LIMITS = (
    ("customer_name", N_("customer name"), 100),
    ("customer_phone", N_("customer phone"), 32),
    ("customer_email", N_("customer e-mail"), 200),
    ("title", N_("title"), 200),
    ("description", N_("description"), MAX_LONG_TEXT),
    ("demand", N_("customer demand"), MAX_LONG_TEXT),
    ("late_reason", N_("reason for late registration"), 4000),
    # 地点, 投诉对象 (what or who exactly), the upstream centre's reference (R45).
    ("location", N_("location"), 200),
    ("target_text", N_("complaint target details"), 200),
    ("upstream_ref", N_("upstream reference number"), 64),
)
# Optional value sets of the record: empty is None, anything else must be one of them.
OPTIONAL_CHOICES = (
    ("target_kind", N_("complaint target"), TargetKind.ALL),
    ("upstream_source", N_("upstream source"), UpstreamSource.ALL),
)
# What a registration cannot do without (besides a phone or an e-mail: one of the two).
REQUIRED_FIELDS = ("customer_name", "title", "description")
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


def _phone_shown(n: int) -> tuple[int, int]:
    """How many leading and trailing digits a masked number of ``n`` digits keeps."""
    if n >= 11:
        return 3, 4  # a mobile number: 138****5678 (4 or more digits hidden)
    if n >= 8:
        return 1, 2  # 6*****00: at least 5 hidden, more than half
    if n >= 4:
        return 0, 2  # *****10: at least half hidden
    return 0, 0


def mask_phone(phone: str | None) -> str | None:
    """Enough of a number to recognise it, never enough to call it.

    Only the digits count; a +86 / 0086 country prefix before a number of 7 digits or
    more is dropped first (as in normalize_phone). With ``n`` digits left, each hidden
    digit becomes one ``*``:

    - ``n >= 11``: the first 3 and the last 4 — ``13812345678`` → ``138****5678``
      (the usual mobile mask; at least 4 digits hidden);
    - ``8 <= n <= 10``: the first 1 and the last 2 — ``65432100`` → ``6*****00``
      (at least 5 hidden, always more than half);
    - ``4 <= n <= 7``: the last 2 — ``6543210`` → ``*****10`` (at least half hidden);
    - ``n <= 3``: nothing.

    So a number of 8 digits or more always has at least 4 hidden, and one of up to 10
    digits (a landline, a short number) never shows more than half of its digits. An 11
    to 13 digit number shows 7 (the mobile mask everyone recognises, and what a
    callback check needs); from 14 digits on at least half is hidden again.
    """
    if not phone:
        return phone
    digits = re.sub(r"\D", "", phone)
    if digits.startswith("0086") and len(digits) >= 4 + 7:
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    head, tail = _phone_shown(len(digits))
    hidden = len(digits) - head - tail
    return digits[:head] + "*" * hidden + (digits[-tail:] if tail else "")


def mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return email
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain}"


def relays(role: str) -> bool:
    """Whether this role's registrations are "relayed by a department" (not customer
    service's own intake): their channel is fixed and their department recorded."""
    return role not in Role.CUSTOMER_SERVICE


def check_register(role: str, data: Mapping, now: datetime | None = None, *,
                   kept_phone: str | None = None, upstream_now: datetime | None = None) -> dict:
    """Validate a new (or edited) complaint; returns the cleaned values or raises a RuleError.

    Every problem is reported at once, each marked with its field (``RuleError.field``;
    several: ``InputErrors``). The phone is stored normalised (``fields.parse_phone``).
    With ``now``: a receipt time in the future is refused, and one more than 30 days ago
    needs a ``late_reason``. Outside customer service the channel is "relayed by a
    department" whatever was chosen. ``kept_phone``: the number already on file (an edit),
    kept as it is when sent back unchanged, even if older rules let it in.
    ``upstream_now`` (default ``now``): a report-back deadline before it is refused (an
    edit passes it only when that deadline changes).
    """
    if role not in REGISTER_ROLES:
        raise PermissionDenied(N_("Only active staff may register complaints."))
    clean = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()}
    if relays(role):
        clean["channel"] = Channel.TRANSFERRED
    errors = []

    def refuse(field, err):
        errors.append(about(field, err))

    for name, label in zip(REQUIRED_FIELDS, (N_("customer name"), N_("title"),
                                             N_("description")), strict=True):
        if not clean.get(name):
            refuse(name, MissingInput(N_("Please fill in the %(field_name)s."),
                                      field_name=label))
    if not clean.get("customer_phone") and not clean.get("customer_email"):
        refuse("customer_phone", MissingInput(
            N_("Please give the customer's phone or e-mail, so that we can call back.")))
    if clean.get("customer_phone") and clean["customer_phone"] != kept_phone:
        try:
            clean["customer_phone"] = parse_phone(clean["customer_phone"])
        except InvalidInput as err:
            refuse("customer_phone", err)
    if clean.get("customer_email") and not _EMAIL.match(clean["customer_email"]):
        refuse("customer_email", InvalidInput(N_("The e-mail address does not look valid.")))
    for name, allowed, default in (
        ("kind", Kind.ALL, Kind.COMPLAINT),
        ("channel", Channel.ALL, "phone"),
        ("severity", Severity.ALL, Severity.NORMAL),
        ("customer_class", CustomerClass.ALL, "C"),
    ):
        clean[name] = clean.get(name) or default
        if clean[name] not in allowed:
            refuse(name, InvalidInput(N_("The %(field_name)s is not one of the allowed values."),
                                      field_name=name))
    clean["customer_phone_norm"] = normalize_phone(clean.get("customer_phone"))
    for name, label, most in TEXT_LIMITS:
        if isinstance(clean.get(name), str) and len(clean[name]) > most:
            refuse(name, InvalidInput(
                N_("The %(field_name)s is too long: at most %(max)d characters."),
                field_name=label, max=most))
    received = clean.get("received_at")
    if received is not None and not date_in_window(received):  # e.g. 1900 or 9999
        refuse("received_at", InvalidInput(
            N_("The time received must be between the years %(first)d and %(last)d."),
            first=MIN_YEAR, last=MAX_YEAR))
    elif received is not None and now is not None:
        if received > now:
            refuse("received_at", InvalidInput(N_("The time received cannot be in the future.")))
        elif received < now - LATE_REGISTRATION and not clean.get("late_reason"):
            refuse("late_reason", MissingInput(
                N_("This complaint was received more than 30 days ago: please say why it is "
                   "registered so late.")))
    for err in _record_fields(clean, now if upstream_now is None else upstream_now):
        errors.append(err)
    refuse_all(errors)
    return clean


def _record_fields(clean: dict, now: datetime | None) -> list:
    """Where and what about, and who sent it down: cleaned in place; the refusals."""
    errors = []
    for name, label, allowed in OPTIONAL_CHOICES:
        clean[name] = clean.get(name) or None
        if clean[name] is not None and clean[name] not in allowed:
            errors.append(about(name, InvalidInput(
                N_("The %(field_name)s is not one of the allowed values."), field_name=label)))
    for name in ("location", "target_text", "upstream_ref"):
        clean[name] = clean.get(name) or None
    source, ref, due = clean["upstream_source"], clean["upstream_ref"], clean.get("upstream_due")
    clean["upstream_due"] = due or None
    if source and not ref:
        errors.append(about("upstream_ref", MissingInput(
            N_("Please give the upstream centre's reference number: the report back quotes "
               "it."))))
    if ref and not source:
        errors.append(about("upstream_source", MissingInput(
            N_("Please say which upstream centre sent this complaint down."))))
    if due is not None:
        if not (source or ref):
            errors.append(about("upstream_due", InvalidInput(
                N_("A report-back deadline belongs to a complaint sent down by an upstream "
                   "centre: give its source and reference, or leave the deadline empty."))))
        elif not date_in_window(due):
            errors.append(about("upstream_due", InvalidInput(
                N_("The %(field_name)s must be between the years %(first)d and %(last)d."),
                field_name=N_("report-back deadline"), first=MIN_YEAR, last=MAX_YEAR)))
        elif now is not None and due <= now:
            errors.append(about("upstream_due", InvalidInput(
                N_("The report-back deadline must be in the future."))))
    return errors


def check_edit(role: str, status: str, category_set: bool, reason: str | None) -> None:
    """May this role save the generic edit form now? (Values: check_register.)

    A closed complaint is part of past monthly figures: only a manager may change it, and
    must say why. Once accepted, a complaint keeps a category.
    """
    if role not in EDIT_ROLES:
        raise PermissionDenied(N_("Only customer service may edit complaints."))
    if status == Status.CLOSED:
        if role not in CLOSED_EDIT_ROLES:
            raise PermissionDenied(N_("This complaint is closed: only a manager may change it."))
        if not (reason or "").strip():
            raise about("reason", MissingInput(N_("This complaint is closed: please give the "
                                                  "reason for the change.")))
    if status != Status.REGISTERED and not category_set:
        raise about("category_id", MissingInput(N_("Please fill in the %(field_name)s."),
                                                field_name=N_("category")))
