"""The customer file (顾客档案): who a complaint's customer is, what a lookup may show.

A customer is recognised by a *key*: the normalised phone (``rules.intake.normalize_phone``:
digits only, no +86 / 0086) when the complaint has one, else the e-mail address trimmed and
lower-cased (ASCII letters only, as SQL's ``lower()`` does on SQLite). Two complaints with
the same key are the same customer; a complaint with neither has none.

The registration form looks customers up while the clerk types a phone: the lookup is
limited per user (a fixed window of ``LOOKUP_LIMIT`` lookups per ``LOOKUP_WINDOW``), shows
only the complaints the user may see, and warns when one of them is still open.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .constants import Status
from .errors import N_
from .intake import normalize_phone

# A phone shorter than this (digits) names nobody yet: the lookup waits for more.
MIN_LOOKUP_DIGITS = 5
# Complaints received this long before now count as "recent" in a lookup.
RECENT = timedelta(days=90)
# At most this many complaints of each kind (open, recent) in a lookup's answer.
LOOKUP_ROWS = 10
# Lookups per user per window; the key of a user's counter (stored with the login throttle).
LOOKUP_LIMIT = 30
LOOKUP_WINDOW = timedelta(minutes=1)
LOOKUP_PREFIX = "lookup:"

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

OPEN_WARNING = N_("This customer already has a complaint that is still open: check it "
                  "before registering a new one.")
RECENT_NOTE = N_("This customer has complained before.")


def normalize_email(raw: str | None) -> str | None:
    """The e-mail address as a key: trimmed, ASCII letters lower-cased; None when empty."""
    if not raw:
        return None
    value = raw.strip().translate(_ASCII_LOWER)
    return value or None


def customer_key(phone: str | None, email: str | None) -> str | None:
    """The key of the customer of a complaint with this phone (as typed) and e-mail.

    The phone wins; a key holding "@" is an e-mail address, any other a phone's digits.
    A phone without digits (or retention's ``anon-`` token) is no phone.
    """
    phone_norm = normalize_phone(phone)
    if phone_norm:
        return phone_norm
    return normalize_email(email)


def lookup_key(phone: str | None, email: str | None = None) -> str | None:
    """The key a lookup asks for, or None while the input names nobody yet (too short)."""
    phone_norm = normalize_phone(phone)
    if phone_norm:
        return phone_norm if MIN_LOOKUP_DIGITS <= len(phone_norm) <= 20 else None
    email = normalize_email(email)
    if email and "@" in email and len(email) <= 200:
        return email
    return None


# --- the lookup's rate limit ------------------------------------------------------------


@dataclass(frozen=True)
class LookupCounter:
    """A user's lookups in the current window: how many, since when."""

    count: int = 0
    window_start: datetime | None = None


def count_lookup(counter: LookupCounter, now: datetime, *, limit: int = LOOKUP_LIMIT,
                 window: timedelta = LOOKUP_WINDOW) -> tuple[LookupCounter, bool]:
    """The counter after one more lookup at ``now``, and whether that lookup is allowed.

    A window starts at a user's first lookup and lasts ``window``; within it, the first
    ``limit`` lookups are allowed and the next are refused (and not counted, so a refused
    burst does not extend the wait). A clock that went back starts a new window.
    """
    start = counter.window_start
    if start is None or now >= start + window or now < start:
        return LookupCounter(1, now), limit >= 1
    if counter.count >= limit:
        return counter, False
    return LookupCounter(counter.count + 1, start), True


def retry_after(counter: LookupCounter, now: datetime, *,
                window: timedelta = LOOKUP_WINDOW) -> int:
    """Whole seconds (at least 1) until a refused user may look up again."""
    if counter.window_start is None:
        return 1
    left = counter.window_start + window - now
    return max(1, left.days * 86400 + left.seconds + (1 if left.microseconds else 0))


# --- what a lookup shows ----------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    """One of the customer's complaints the user may see, as the lookup needs it."""

    id: int
    status: str
    received_at: datetime


def split_history(rows: Iterable[Seen], now: datetime, *, recent: timedelta = RECENT,
                  most: int = LOOKUP_ROWS) -> tuple[list[Seen], list[Seen]]:
    """The open complaints and the recent closed ones (received within ``recent``), newest
    first, at most ``most`` of each."""
    ordered = sorted(rows, key=lambda r: (r.received_at, r.id), reverse=True)
    open_ = [r for r in ordered if r.status in Status.OPEN]
    recent_ = [r for r in ordered if r.status not in Status.OPEN
               and r.received_at >= now - recent]
    return open_[:most], recent_[:most]


def lookup_message(open_count: int, recent_count: int) -> tuple[str | None, str | None]:
    """(level, message) the form shows: a warning when a complaint is still open, a note
    when there are only recent ones, nothing otherwise."""
    if open_count:
        return "warning", OPEN_WARNING
    if recent_count:
        return "info", RECENT_NOTE
    return None, None
