"""The public complaint form and status lookup (issue 14): throttling per client address,
registration by the web channel's account, attachments, and the customer's view of a
complaint. Decisions in rules.public (and rules.intake, as for every registration).

Throttling is the sign-in limiter (rules.login, LoginAttempt rows): every form POST counts
on ``web:<address>``, every lookup that finds nothing on ``lookup:<address>``; after a few
free ones the address waits, 2, 4, 8 … seconds up to an hour, forgotten after a quiet day.
A refused (throttled) attempt and a filled honeypot are written to the administrative
record (AdminEvent) as security events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import Category, Complaint, db
from models.engine import write_transaction
from models.org import LoginAttempt
from rules import Channel
from rules import admin_events as events
from rules import login as throttle
from rules import public as rules_public
from rules.customer_messages import answer_deadline
from rules.errors import RuleError

from . import admin_events, clock
from . import attachments as attachment_service
from .auth import _locked_rows, _state
from .calendar_source import business_calendar
from .channels import channel_account
from .complaints import policy_for, register

DEFAULTS = {
    "PUBLIC_FREE_SUBMISSIONS": 5,  # form posts per address before it must wait
    "PUBLIC_FREE_LOOKUPS": 10,  # lookups that find nothing, per address
    "PUBLIC_MAX_DELAY_SECONDS": 3600,
    "PUBLIC_FORGET_HOURS": 24,
    # The largest form POST (all fields and files together): a clear 413 page above it.
    "PUBLIC_MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
    "PUBLIC_MAX_FILES": 3,
}


def config(name):
    if has_app_context():
        return current_app.config.get(name, DEFAULTS[name])
    return DEFAULTS[name]


# --- throttling ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Gate:
    """The answer of the limiter: may this attempt go on, and if not, for how long it waits."""

    allowed: bool
    wait_seconds: int = 0


def _free(key: str) -> int:
    if key.startswith(rules_public.LOOKUP_PREFIX):
        return int(config("PUBLIC_FREE_LOOKUPS"))
    return int(config("PUBLIC_FREE_SUBMISSIONS"))


def _next_state(key: str, state: throttle.AttemptState | None, now: datetime
                ) -> throttle.AttemptState:
    return throttle.after_failure(
        state, now, free=_free(key), cap=int(config("PUBLIC_MAX_DELAY_SECONDS")),
        forget_after=timedelta(hours=float(config("PUBLIC_FORGET_HOURS"))))


def _attempt(key: str, ip: str | None, now: datetime, *, count: bool) -> Gate:
    """In one write transaction, on the key's locked row: refuse while it waits (and record
    the refusal), else count this attempt when ``count``."""
    with write_transaction(db.session):
        (row,) = _locked_rows([key])
        state = _state(row)
        if throttle.is_blocked(state, now):
            wait = throttle.seconds_left(state, now)
            admin_events.record(events.PUBLIC_THROTTLED, ip=ip, now=now,
                                detail=f"{key.split(':', 1)[0]}: wait {wait} s")
            return Gate(False, wait)
        if count:
            state = _next_state(key, state, now)
            row.failures, row.last_failure_at, row.blocked_until = (
                state.failures, state.last_failure_at, state.blocked_until)
    return Gate(True)


def submission_gate(ip: str | None, now: datetime | None = None) -> Gate:
    """Whether this address may post the form now; if so the post is counted."""
    return _attempt(rules_public.submit_key(ip), ip, now or clock.now(), count=True)


def lookup_gate(ip: str | None, now: datetime | None = None) -> Gate:
    """Whether this address may look a complaint up now (only failures are counted:
    :func:`lookup_failed`)."""
    key = rules_public.lookup_key(ip)
    now = now or clock.now()
    row = db.session.scalar(select(LoginAttempt).where(LoginAttempt.key == key))
    blocked = throttle.is_blocked(_state(row), now)
    db.session.rollback()  # a read: end it before any write
    if not blocked:
        return Gate(True)
    return _attempt(key, ip, now, count=False)


def lookup_failed(ip: str | None, now: datetime | None = None) -> None:
    key = rules_public.lookup_key(ip)
    now = now or clock.now()
    with write_transaction(db.session):
        (row,) = _locked_rows([key])
        state = _next_state(key, _state(row), now)
        row.failures, row.last_failure_at, row.blocked_until = (
            state.failures, state.last_failure_at, state.blocked_until)


def honeypot_filled(ip: str | None, now: datetime | None = None) -> None:
    """A robot filled the hidden field: nothing is registered, the attempt is recorded."""
    admin_events.record_now(events.PUBLIC_HONEYPOT, ip=ip, now=now or clock.now(),
                            detail="public complaint form: hidden field filled")


# --- the form ------------------------------------------------------------------------------


def categories() -> list[Category]:
    """The categories a visitor may choose, in the desk's order."""
    return list(db.session.scalars(select(Category).where(Category.active.is_(True))
                                   .order_by(Category.sort_order, Category.id)))


@dataclass
class Registered:
    number: str
    answer_due: datetime
    refused_files: list[tuple[str, RuleError]]


def promised_deadline(complaint: Complaint) -> datetime:
    """The answer deadline told to the customer at registration (rules.customer_messages)."""
    policy = policy_for(complaint.kind, complaint.category.code if complaint.category else None,
                        complaint.severity)
    return answer_deadline(complaint.received_at, complaint.created_at, policy,
                           business_calendar())


CHALLENGE_USED = "challenge:"  # LoginAttempt key of an answered challenge's nonce


def use_challenge(nonce: str, now: datetime) -> None:
    """Use up an answered challenge, once: the same form posted again (a replay, even with
    its old session cookie) is refused. Kept as a LoginAttempt row, purged with them once
    the challenge has expired anyway."""
    key = CHALLENGE_USED + nonce
    try:
        with write_transaction(db.session):
            if db.session.scalar(select(LoginAttempt.id).where(LoginAttempt.key == key)):
                raise rules_public.challenge_used()
            db.session.add(LoginAttempt(key=key, failures=0, last_failure_at=now))
    except IntegrityError:  # the same form sent twice at once: one of them registers
        raise rules_public.challenge_used() from None


def submit(clean: dict, files=(), now: datetime | None = None) -> Registered:
    """Register a checked public submission (rules.public.check_form) as the web channel's
    account, then keep its files; a refused file is reported, the complaint stays."""
    now = now or clock.now()
    actor = channel_account(Channel.WEB)
    complaint = register(clean, actor, now)
    number, complaint_id = complaint.number, complaint.id
    answer_due = promised_deadline(complaint)
    refused = []
    for upload in list(files)[:int(config("PUBLIC_MAX_FILES"))]:
        try:
            attachment_service.add(complaint_id, actor, upload.filename, upload.stream, now=now)
        except RuleError as err:
            refused.append((upload.filename or "", err))
    return Registered(number, answer_due, refused)


# --- the lookup ----------------------------------------------------------------------------


def look_up(number: str, contact: str) -> rules_public.CustomerView | None:
    """The customer's view of the complaint with this number, if ``contact`` proves it is
    theirs; None otherwise (a wrong number and a wrong contact: the same None, one query)."""
    complaint = db.session.scalar(select(Complaint).where(Complaint.number == (number or "")))
    phone, email = ((complaint.customer_phone_norm, complaint.customer_email)
                    if complaint is not None else (None, None))
    matches = rules_public.contact_matches(contact, phone, email)
    if complaint is None or not matches:
        return None
    return rules_public.customer_view(complaint.number, complaint.status,
                                      promised_deadline(complaint), complaint.resolve_due,
                                      complaint.resolution)
