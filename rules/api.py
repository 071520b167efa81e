"""What the REST API accepts (issue 14): the fields of each request and their JSON types.

An unknown field is refused by name, never ignored; a value of the wrong JSON type is
refused with its field; text may hold tab, CR and LF but no other control character. What
the values mean (required fields, lengths, value sets, deadlines) is checked by the same
rules as the screens (``rules.intake``). Pure: the standard library alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from .bounds import MAX_ID, date_in_window, has_control_chars
from .errors import N_, InvalidInput, MissingInput, about, refuse_all

TEXT, TIME, INT = "text", "time", "int"

# POST /api/v1/complaints: the registration form's fields (the category by its code).
REGISTER_FIELDS = {
    "customer_name": TEXT, "customer_phone": TEXT, "customer_email": TEXT,
    "customer_class": TEXT, "kind": TEXT, "channel": TEXT, "severity": TEXT,
    "category": TEXT, "title": TEXT, "description": TEXT, "demand": TEXT,
    "received_at": TIME, "late_reason": TEXT, "location": TEXT, "target_kind": TEXT,
    "target_text": TEXT, "upstream_source": TEXT, "upstream_ref": TEXT, "upstream_due": TIME,
}
# POST /api/v1/complaints/<number>/upstream: who sent it down, their reference, the
# report-back deadline; ``version``: refuse if the complaint changed since it was read.
UPSTREAM_FIELDS = {"upstream_source": TEXT, "upstream_ref": TEXT, "upstream_due": TIME,
                   "version": INT}
UPSTREAM_REQUIRED = (("upstream_source", N_("upstream source")),
                     ("upstream_ref", N_("upstream reference number")))
# GET /api/v1/complaints: the query parameters.
LIST_PARAMS = ("changed_since", "limit", "cursor")
DEFAULT_LIMIT, MAX_LIMIT = 50, 200
MAX_KEY_LENGTH = 100  # Idempotency-Key (ApiRequest.idempotency_key)
MAX_TEXT = 100_000  # any single text value; the fields' own limits are rules.intake's


def parse_time(text: str) -> datetime:
    """An ISO 8601 time ("2026-11-30T09:30", "…+08:00", "…Z"); raises ValueError.
    Without an offset it is company time; with one the caller converts it."""
    if not isinstance(text, str) or not 10 <= len(text) <= 40:
        raise ValueError(text)
    value = datetime.fromisoformat(text.strip())
    if not date_in_window(value):  # year 1 or 9999: no offset arithmetic may overflow
        raise ValueError(text)
    return value


def _has_surrogate(text: str) -> bool:
    """A lone UTF-16 surrogate (JSON "\\ud800"): no character, and no text can hold it."""
    return any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def _value(name: str, kind: str, value):
    """The value checked against its JSON type: (clean value, refusal or None)."""
    if value is None:
        return None, None
    if kind == INT:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
            return None, InvalidInput(N_("The %(name)s must be a whole number."), name=name)
        return value, None
    if not isinstance(value, str):
        return None, InvalidInput(N_("The %(name)s must be text."), name=name)
    if (len(value) > MAX_TEXT or has_control_chars(value, multiline=True)
            or _has_surrogate(value)):
        return None, InvalidInput(
            N_("The %(name)s holds a control character or is far too long."), name=name)
    if kind == TIME:
        if not value.strip():
            return None, None
        try:
            return parse_time(value), None
        except ValueError:
            return None, InvalidInput(
                N_("The %(name)s must be a time written as ISO 8601, e.g. "
                   "2026-11-30T09:30:00+08:00."), name=name)
    return value, None


def check_payload(payload, fields: Mapping[str, str], required=()) -> dict:
    """The request body's fields, typed; every refusal at once, each with its field.

    ``required``: (field, label) pairs that must hold a value. Unknown fields are refused
    by name (a typo must not pass as a field left empty).
    """
    if not isinstance(payload, dict):
        raise InvalidInput(N_("The request body must be a JSON object."))
    errors, clean = [], {}
    for name in sorted(payload):
        if name not in fields:
            errors.append(about(str(name)[:100], InvalidInput(
                N_("Unknown field: %(name)s."), name=str(name)[:100])))
            continue
        value, err = _value(name, fields[name], payload[name])
        if err is not None:
            errors.append(about(name, err))
        else:
            clean[name] = value
    for name, label in required:
        refused = any(e.field == name for e in errors)
        if not refused and not (clean.get(name) or "").strip():
            errors.append(about(name, MissingInput(N_("Please fill in the %(field_name)s."),
                                                       field_name=label)))
    refuse_all(errors)
    return clean


def check_list_params(args: Mapping[str, str]) -> tuple[datetime | None, int, str | None]:
    """(changed_since, limit, cursor) of the list; unknown parameters refused by name."""
    errors = []
    for name in sorted(args):
        if name not in LIST_PARAMS:
            errors.append(about(name[:100], InvalidInput(N_("Unknown field: %(name)s."),
                                                         name=name[:100])))
    since = None
    if args.get("changed_since"):
        try:
            since = parse_time(args["changed_since"])
        except ValueError:
            errors.append(about("changed_since", InvalidInput(
                N_("The %(name)s must be a time written as ISO 8601, e.g. "
                   "2026-11-30T09:30:00+08:00."), name="changed_since")))
    limit = DEFAULT_LIMIT
    raw = args.get("limit")
    if raw is not None:
        text = raw.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 6
                and 1 <= int(text) <= MAX_LIMIT):
            errors.append(about("limit", InvalidInput(
                N_("The limit must be a whole number from 1 to %(max)d."), max=MAX_LIMIT)))
        else:
            limit = int(text)
    refuse_all(errors)
    return since, limit, args.get("cursor") or None


def check_idempotency_key(key: str | None) -> str | None:
    """The Idempotency-Key header: printable ASCII, 1 to 100 characters (or none)."""
    if key is None:
        return None
    if not (1 <= len(key) <= MAX_KEY_LENGTH and key.isascii() and key.isprintable()):
        raise about("Idempotency-Key", InvalidInput(
            N_("The Idempotency-Key must be 1 to %(max)d printable ASCII characters."),
            max=MAX_KEY_LENGTH))
    return key
