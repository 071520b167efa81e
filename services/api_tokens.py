"""Other systems' API tokens: made, checked and revoked; only their SHA-256 is kept.

A token is ``cd_`` followed by 32 random bytes (URL-safe Base64). Its first 11 characters
(``cd_`` + 8) are kept as its prefix, to tell tokens apart on the screen and to find the
row; the whole token is compared by its hash, in constant time. A token acts as its staff
account (role and scope); it stops working when revoked or when that account is
deactivated. Creating and revoking are recorded in the administrative record.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from models import ApiToken, Staff, db
from models.engine import write_transaction
from models.org import LoginAttempt
from rules import login as throttle
from rules.admin_events import (
    API_TOKEN_CREATED,
    API_TOKEN_REFUSED,
    API_TOKEN_REVOKED,
    TARGET_API_TOKEN,
)
from rules.errors import N_, InvalidInput, MissingInput, about

from . import admin_events, clock

PREFIX = "cd_"
PREFIX_LENGTH = len(PREFIX) + 8
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is rewritten at most this often
# Refused tokens are counted per client address by the sign-in limiter (rules.login):
# after API_FREE_FAILURES (config) the address waits, 2, 4, 8 … seconds.
KEY_PREFIX = "api:"


def hash_of(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(name: str, staff_id, actor_id: int | None,
           now: datetime | None = None) -> tuple[ApiToken, str]:
    """A new token acting as ``staff_id``: (its row, the token — shown once, never kept)."""
    now = now or clock.now()
    name = (name or "").strip()
    if not name:
        raise about("name", MissingInput(N_("Please fill in the %(field_name)s."),
                                         field_name=N_("name")))
    if len(name) > 100:
        raise about("name", InvalidInput(
            N_("The %(field_name)s is too long: at most %(max)d characters."),
            field_name=N_("name"), max=100))
    with write_transaction(db.session):
        staff = db.session.get(Staff, int(staff_id)) if str(staff_id).isdigit() else None
        if staff is None or not staff.active:
            raise about("staff_id", InvalidInput(
                N_("Choose an active account for the token to act as.")))
        token = PREFIX + secrets.token_urlsafe(32)
        row = ApiToken(name=name, prefix=token[:PREFIX_LENGTH], token_hash=hash_of(token),
                       staff_id=staff.id, created_at=now, created_by_id=actor_id)
        db.session.add(row)
        db.session.flush()
        admin_events.record(API_TOKEN_CREATED, actor_id=actor_id,
                            target=(TARGET_API_TOKEN, row.id, str(row)),
                            detail=f"account: {staff.username}", now=now)
    return row, token


def revoke(token_id: int, actor_id: int | None, now: datetime | None = None) -> ApiToken | None:
    """Revoke a token (None if there is no such token); revoking twice changes nothing."""
    now = now or clock.now()
    with write_transaction(db.session):
        row = db.session.get(ApiToken, token_id, with_for_update=True)
        if row is None or row.revoked_at is not None:
            return row
        row.revoked_at, row.revoked_by_id = now, actor_id
        admin_events.record(API_TOKEN_REVOKED, actor_id=actor_id,
                            target=(TARGET_API_TOKEN, row.id, str(row)), now=now)
    return row


def authenticate(token: str | None, now: datetime | None = None) -> ApiToken | None:
    """The active token whose account is active, or None (unknown, revoked, deactivated)."""
    if not token or not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = db.session.scalar(select(ApiToken).options(joinedload(ApiToken.staff))
                            .where(ApiToken.prefix == token[:PREFIX_LENGTH]))
    # Hash compared in constant time; a missing row still costs a comparison.
    known = row.token_hash if row is not None else "0" * 64
    if not hmac.compare_digest(known, hash_of(token)) or row is None:
        return None
    if row.revoked_at is not None or not row.staff.active:
        return None
    now = now or clock.now()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        token_id = row.id
        with write_transaction(db.session):
            fresh = db.session.get(ApiToken, token_id)
            fresh.last_used_at = now
        row = db.session.scalar(select(ApiToken).options(joinedload(ApiToken.staff))
                                .where(ApiToken.id == token_id))
    return row


def listing() -> list[ApiToken]:
    """Every token, newest first, with its account."""
    return list(db.session.scalars(
        select(ApiToken).options(joinedload(ApiToken.staff), joinedload(ApiToken.created_by),
                                 joinedload(ApiToken.revoked_by))
        .order_by(ApiToken.id.desc())))


# --- refused tokens: the sign-in limiter, per client address -------------------------------------


def _key(ip: str | None) -> str:
    return KEY_PREFIX + (ip or "unknown")[:45]


def _state(row: LoginAttempt | None) -> throttle.AttemptState | None:
    if row is None:
        return None
    return throttle.AttemptState(row.failures or 0, row.last_failure_at, row.blocked_until)


def wait_seconds(ip: str | None, now: datetime | None = None) -> int:
    """How long this address must wait before its next refused token is answered."""
    now = now or clock.now()
    row = db.session.scalar(select(LoginAttempt).where(LoginAttempt.key == _key(ip)))
    return throttle.seconds_left(_state(row), now)


def count_refusal(ip: str | None, now: datetime | None = None) -> int:
    """One more refused token from this address; the wait it now has (0: none). The start
    of a wait is recorded in the administrative record (a flood is seen, not each try)."""
    now = now or clock.now()
    key = _key(ip)
    table = LoginAttempt.__table__
    with write_transaction(db.session):
        if db.session.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        db.session.execute(insert(table).values(key=key, failures=0)
                           .on_conflict_do_nothing(index_elements=["key"]))
        row = db.session.scalar(select(LoginAttempt).where(LoginAttempt.key == key)
                                .with_for_update()
                                .execution_options(populate_existing=True))
        before = _state(row)
        if throttle.is_blocked(before, now):
            return throttle.seconds_left(before, now)
        state = throttle.after_failure(
            before, now, free=int(current_app.config["API_FREE_FAILURES"]),
            cap=int(current_app.config["LOGIN_MAX_DELAY_SECONDS"]),
            forget_after=timedelta(hours=float(current_app.config["LOGIN_FORGET_HOURS"])))
        row.failures, row.last_failure_at, row.blocked_until = (
            state.failures, state.last_failure_at, state.blocked_until)
        wait = throttle.seconds_left(state, now)
        if wait:
            admin_events.record(API_TOKEN_REFUSED, ip=ip, now=now,
                                detail=f"{state.failures} refused tokens; wait {wait} s")
    return wait
