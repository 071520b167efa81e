"""The public complaint form and status lookup (issue 14): what a visitor's input must be,
the built-in challenge, which complaint a lookup names, and what a customer is told.

Pure: no Flask, no SQLAlchemy, no clock. The services register through rules.intake as
every registration does; these checks come first and speak to the visitor.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from .constants import Channel, Status
from .errors import N_, InvalidInput, MissingInput, RuleError, about, refuse_all
from .intake import normalize_phone

# Throttling keys (LoginAttempt rows, the sign-in limiter of rules.login): per client address.
SUBMIT_PREFIX = "web:"
LOOKUP_PREFIX = "lookup:"
MAX_ADDRESS_IN_KEY = 150

# The fields of the form as the registration names them (rules.intake).
FORM_FIELDS = ("customer_name", "customer_phone", "customer_email", "category", "description",
               "location", "demand")
# What the visitor types at most (the registration's own limits still apply after).
FIELD_LIMITS = {
    "customer_name": 100,
    "customer_phone": 32,
    "customer_email": 200,
    "category": 32,
    "description": 5000,
    "location": 200,
    "demand": 2000,
}
TITLE_LENGTH = 60  # the title a clerk sees: the start of what happened
CHALLENGE_MAX = 9  # the challenge adds two numbers from 1 to this
NUMBER = re.compile(r"^[A-Z]{1,4}-\d{8}-\d{1,6}$")
MAX_NUMBER_LENGTH = 20
PHONE_TAIL = 4


def submit_key(address: str | None) -> str:
    return SUBMIT_PREFIX + ((address or "").strip()[:MAX_ADDRESS_IN_KEY] or "unknown")


def lookup_key(address: str | None) -> str:
    return LOOKUP_PREFIX + ((address or "").strip()[:MAX_ADDRESS_IN_KEY] or "unknown")


# --- the challenge -------------------------------------------------------------------------


def challenge_digest(secret: bytes, nonce: str, answer: int) -> str:
    """The HMAC the form carries instead of the answer."""
    return hmac.new(secret, f"{nonce}:{int(answer)}".encode(), hashlib.sha256).hexdigest()


def challenge_used() -> RuleError:
    """A challenge already answered by a registered complaint: the same form sent again."""
    return about("challenge", InvalidInput(
        N_("This form was already sent. Please answer the new question and send it again.")))


def challenge_passed(secret: bytes, nonce: str, digest: str, typed: str | None) -> bool:
    """Whether ``typed`` is the answer the digest was made for (compared in constant time)."""
    typed = (typed or "").strip()
    if not typed.isascii() or not typed.isdigit() or len(typed) > 3:
        return False
    return hmac.compare_digest(challenge_digest(secret, nonce, int(typed)), digest or "")


# --- the form ------------------------------------------------------------------------------


def title_of(description: str) -> str:
    """A title for the clerk's list: the first line of what happened, cut short."""
    first = next((line.strip() for line in description.splitlines() if line.strip()), "")
    return first if len(first) <= TITLE_LENGTH else first[:TITLE_LENGTH - 1] + "…"


def check_form(data: Mapping, categories: frozenset[str], *, consent: bool,
               challenge_ok: bool) -> dict:
    """The registration data of a public submission, or a RuleError naming each field.

    ``categories``: the codes a visitor may choose (active categories). The registration's
    own checks (rules.intake.check_register: phone, e-mail, lengths) run after these.
    """
    clean = {name: (data.get(name) or "").strip() for name in FORM_FIELDS}
    errors = []
    for name, most in FIELD_LIMITS.items():
        if len(clean[name]) > most:
            errors.append(about(name, InvalidInput(
                N_("This is too long: at most %(max)d characters."), max=most)))
    if not clean["customer_name"]:
        errors.append(about("customer_name", MissingInput(N_("Please tell us your name."))))
    if not clean["customer_phone"] and not clean["customer_email"]:
        errors.append(about("customer_phone", MissingInput(
            N_("Please give a phone number or an e-mail address, so that we can answer you."))))
    if not clean["description"]:
        errors.append(about("description", MissingInput(N_("Please tell us what happened."))))
    if clean["category"] and clean["category"] not in categories:
        errors.append(about("category", InvalidInput(
            N_("Please choose a category from the list."))))
    if not consent:
        errors.append(about("consent", MissingInput(
            N_("Please agree to the use of your personal data for handling this complaint."))))
    if not challenge_ok:
        errors.append(about("challenge", InvalidInput(
            N_("The answer to the sum is not right. Please try again."))))
    refuse_all(errors)
    return {
        **{name: clean[name] or None for name in FORM_FIELDS},
        "title": title_of(clean["description"]),
        "channel": Channel.WEB,
    }


def check_file_count(count: int, most: int) -> None:
    if count > most:
        raise about("attachments", InvalidInput(N_("Please attach at most %(count)d files."),
                                                count=most))


# --- the status lookup ---------------------------------------------------------------------


def normalize_number(raw: str | None) -> str | None:
    """The complaint number as typed, upper-cased and trimmed; None if it cannot be one."""
    number = (raw or "").strip().upper()
    if not number or len(number) > MAX_NUMBER_LENGTH or not NUMBER.match(number):
        return None
    return number


def contact_matches(typed: str | None, phone_norm: str | None, email: str | None) -> bool:
    """Whether what the visitor typed proves the complaint is theirs: the last 4 digits of
    its phone, or its full e-mail address (any case). Compared in constant time."""
    typed = (typed or "").strip()
    if "@" in typed:
        expected, given = (email or "").strip().casefold(), typed.casefold()
        return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())
    digits = normalize_phone(typed) or ""
    tail = (phone_norm or "")[-PHONE_TAIL:]
    if len(digits) != PHONE_TAIL or len(tail) != PHONE_TAIL:
        hmac.compare_digest(b"0000", b"0000")  # the same work either way
        return False
    return hmac.compare_digest(tail.encode(), digits.encode())


def check_lookup(number: str | None, contact: str | None) -> str:
    """The normalised number, or a RuleError at the fields left empty (only emptiness is
    told: a malformed number gets the same answer as an unknown one)."""
    errors = []
    if not (number or "").strip():
        errors.append(about("number", MissingInput(N_("Please type the complaint number."))))
    if not (contact or "").strip():
        errors.append(about("contact", MissingInput(
            N_("Please type the last 4 digits of your phone number, or your e-mail address."))))
    refuse_all(errors)
    return normalize_number(number) or ""


# What the customer is told of each status (never who, which department, or notes).
CUSTOMER_STATUS = {
    Status.REGISTERED: N_("Received: customer service will look at it shortly."),
    Status.ACCEPTED: N_("Accepted: it is being passed to the department responsible."),
    Status.FORWARDED: N_("Being handled by the department responsible."),
    Status.IN_PROGRESS: N_("Being handled by the department responsible."),
    Status.RESOLVED: N_("Handled: customer service is checking the result."),
    Status.CALLBACK: N_("Handled: customer service will contact you about the result."),
    Status.CLOSED: N_("Closed."),
    Status.REJECTED: N_("Not taken up as a complaint: customer service will tell you why."),
}
# Statuses whose answer deadline the customer sees, and those whose result they see.
WAITING_FOR_ANSWER = (Status.REGISTERED, Status.ACCEPTED, Status.FORWARDED, Status.IN_PROGRESS)
RESULT_SHOWN = (Status.CALLBACK, Status.CLOSED)


@dataclass(frozen=True)
class CustomerView:
    """All a lookup shows: the number, the status in customer words, the answer deadline
    while one is awaited, the result once it is final."""

    number: str
    status_text: str
    answer_due: datetime | None
    result: str | None


def customer_view(number: str, status: str, promised: datetime | None,
                  resolve_due: datetime | None, resolution: str | None) -> CustomerView:
    """``promised``: the answer deadline told at registration; ``resolve_due``: the
    department's current deadline once it has the complaint (extensions included)."""
    due = None
    if status in (Status.FORWARDED, Status.IN_PROGRESS):
        due = resolve_due or promised
    elif status in WAITING_FOR_ANSWER:
        due = promised
    result = (resolution or "").strip() or None if status in RESULT_SHOWN else None
    return CustomerView(number, CUSTOMER_STATUS.get(status, CUSTOMER_STATUS[Status.REGISTERED]),
                        due, result)
