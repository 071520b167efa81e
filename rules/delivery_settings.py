"""What a user and the administrator may set about delivery, and what the queue may do.

- a member of staff's own e-mail address (:func:`check_email`);
- a department's group robot: its kind, webhook address (http or https only) and signing
  secret (:func:`check_robot`; whether it is on: ``rules.delivery.robot_channel``), and how
  its address reads in the administrative record (:func:`url_for_record`: the key in the
  query hidden);
- which queued messages the administrator may send again (:func:`retryable`);
- which messages go to a customer, whose address the queue shows masked only
  (:func:`to_customer`, :func:`shown_address`).

Pure: no Flask, no SQLAlchemy, no clock (the caller passes ``now``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit, urlunsplit

from .delivery import CUSTOMER_PURPOSES, FAILED, PENDING, ROBOTS, SMS
from .errors import N_, InvalidInput, MissingInput
from .intake import mask_email, mask_phone

MAX_EMAIL = 200  # Staff.email
MAX_URL = 500  # Department.robot_url
MAX_SECRET = 200  # Department.robot_secret
# One address, nothing a mail header could take for a second one or a display name.
_EMAIL = re.compile(r"[^@\s,;<>\"()\[\]\\]+@[^@\s,;<>\"()\[\]\\]+\.[^@\s,;<>\"()\[\]\\.]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
WEBHOOK_SCHEMES = ("http", "https")


def check_email(raw: str | None) -> str | None:
    """A member of staff's e-mail address, trimmed; None when left empty.

    Refused (InvalidInput): more than one address, a display name, spaces or control
    characters, no domain with a dot, longer than the column.
    """
    value = (raw or "").strip()
    if not value:
        return None
    if len(value) > MAX_EMAIL or not _EMAIL.fullmatch(value):
        raise InvalidInput(N_("The e-mail address does not look valid."))
    return value


@dataclass(frozen=True)
class Robot:
    """A department's robot as stored: all None when it has none."""

    kind: str | None
    url: str | None
    secret: str | None


def check_webhook_url(raw: str | None) -> str | None:
    """A robot's webhook address, trimmed; None when empty. Only http(s) with a host."""
    value = (raw or "").strip()
    if not value:
        return None
    if len(value) > MAX_URL or _CONTROL.search(value) or " " in value:
        raise InvalidInput(N_("The webhook address must be an http:// or https:// address."))
    try:
        parts = urlsplit(value)
    except ValueError:
        raise InvalidInput(
            N_("The webhook address must be an http:// or https:// address.")) from None
    if parts.scheme.lower() not in WEBHOOK_SCHEMES or not parts.hostname or parts.username \
            or parts.password:
        raise InvalidInput(N_("The webhook address must be an http:// or https:// address."))
    return value


def check_robot(kind: str | None, url: str | None, new_secret: str | None,
                old_secret: str | None, *, clear_secret: bool = False) -> Robot:
    """The robot a department keeps after the administrator's form.

    No kind: no robot (the address and the secret are dropped); else one of
    ``rules.delivery.ROBOTS``. A kind needs an address. The secret is write-only:
    a blank ``new_secret`` keeps ``old_secret`` unless ``clear_secret``.
    """
    kind = (kind or "").strip() or None
    if kind is None:
        return Robot(None, None, None)
    if kind not in ROBOTS:
        raise InvalidInput(N_("Unknown kind of group robot."))
    address = check_webhook_url(url)
    if address is None:
        raise MissingInput(N_("A group robot needs its webhook address."))
    secret = (new_secret or "").strip() or None
    if secret is not None and (len(secret) > MAX_SECRET or _CONTROL.search(secret)):
        raise InvalidInput(N_("The signing secret does not look valid."))
    if secret is None and not clear_secret:
        secret = old_secret
    return Robot(kind, address, secret)


def url_for_record(url: str | None) -> str | None:
    """A webhook address as the administrative record keeps it: the query (the robot's
    access key) and any user-info hidden, the host and path kept."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return "…"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    query = "…" if parts.query else ""
    return urlunsplit((parts.scheme, host, parts.path, query, ""))


def retryable(status: str, attempts: int, lease_until: datetime | None, now: datetime) -> bool:
    """Whether the administrator may send a queued message again now.

    A failed one, always; a waiting one that failed before (it waits for its next try),
    unless a worker holds it right now (its lease runs): resetting a message being sent
    could send it twice. Not a sent one, nor one never tried (it goes out anyway).
    """
    if status == FAILED:
        return True
    return status == PENDING and attempts > 0 and (lease_until is None or lease_until <= now)


def to_customer(purpose: str | None) -> bool:
    """Whether the message goes to a customer (their address is personal data)."""
    return purpose in CUSTOMER_PURPOSES


def shown_address(purpose: str | None, channel: str | None, address: str | None) -> str | None:
    """The address as the delivery queue shows it: a customer's masked, staff's as it is."""
    if not address or not to_customer(purpose):
        return address
    if channel == SMS:
        return mask_phone(address)
    if "@" in address:
        return mask_email(address)
    return mask_phone(address)
