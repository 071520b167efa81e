"""Two-step sign-in (TOTP): enrolment with recovery codes, removal, and the administrator's
reset for a lost phone. The second step at login is in :mod:`services.auth`."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, has_app_context
from sqlalchemy import delete, select
from werkzeug.security import check_password_hash

from models import Staff, db
from models.engine import read_only, write_transaction
from models.org import StaffRecoveryCode
from rules import admin_events as events
from rules import login as throttle
from rules.errors import InvalidInput

from . import admin_events, clock, totp
from .auth import (
    ALREADY_ENABLED,
    CODE_WRONG_AT_ENROLMENT,
    DISABLE_FAILED,
    NOT_ENABLED,
    TRY_LATER,
    _account,
    _account_target,
    _begin_reading,
    _blocked,
    _count_failure,
    _detail,
    _load_states,
    _staff_target,
    _wait_text,
    hash_secret,
    new_token,
)


def needs_totp_enrolment(staff: Staff) -> bool:
    """An administrator of a production desk must use two-step sign-in."""
    production = bool(current_app.config.get("PRODUCTION")) if has_app_context() else False
    return throttle.totp_required(staff.role, production, bool(staff.totp_enabled))


def begin_totp_enrolment(staff_id: int) -> str:
    """The account's pending secret (a new one unless enrolment already started)."""
    with write_transaction(db.session):
        staff = db.session.get(Staff, staff_id, with_for_update=True)
        if staff.totp_enabled:
            raise InvalidInput(ALREADY_ENABLED)
        if not staff.totp_secret:
            staff.totp_secret = totp.new_secret()
        return staff.totp_secret


def confirm_totp_enrolment(staff_id: int, code: str, *, now: datetime | None = None,
                           ip: str | None = None) -> list[str]:
    """Turn two-step sign-in on once a code from the app matches; the new recovery codes
    (shown once, stored hashed)."""
    now = now or clock.now()
    with write_transaction(db.session):
        staff = db.session.get(Staff, staff_id, with_for_update=True)
        if staff.totp_enabled:
            raise InvalidInput(ALREADY_ENABLED)
        step = totp.matching_step(staff.totp_secret or "", code, now=now)
        if step is None:
            raise InvalidInput(CODE_WRONG_AT_ENROLMENT)
        staff.totp_enabled = True
        staff.totp_last_step = step
        codes = _replace_recovery_codes(staff)
        admin_events.record(events.STAFF_CHANGED, actor_id=staff.id, target=_staff_target(staff),
                            ip=ip, now=now,
                            detail=events.describe_changes({"totp_enabled": (False, True)}))
    return codes


def _replace_recovery_codes(staff: Staff) -> list[str]:
    db.session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == staff.id))
    codes = totp.new_recovery_codes()
    for code in codes:
        db.session.add(StaffRecoveryCode(staff_id=staff.id,
                                         code_hash=hash_secret(totp.normalize_recovery_code(code))))
    return codes


def recovery_codes_left(staff_id: int) -> int:
    return len(db.session.scalars(select(StaffRecoveryCode.id).where(
        StaffRecoveryCode.staff_id == staff_id, StaffRecoveryCode.used_at.is_(None))).all())


def disable_totp(staff_id: int, password: str, code: str, *, ip: str | None = None,
                 now: datetime | None = None) -> None:
    """Turn two-step sign-in off: needs the password and a code (or a recovery code).

    Wrong answers count like failed sign-ins (per account and per address)."""
    now = now or clock.now()
    keys = [throttle.ip_key(ip), throttle.second_step_key(staff_id)]
    _begin_reading()
    with read_only():
        staff = db.session.get(Staff, staff_id)
        if not staff.totp_enabled:
            db.session.rollback()
            raise InvalidInput(NOT_ENABLED)
        account = _account(staff)
        secret, last_step = staff.totp_secret, staff.totp_last_step
        states = _load_states(keys)
        recovery = [(rc.id, rc.code_hash) for rc in db.session.scalars(
            select(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == staff_id,
                                            StaffRecoveryCode.used_at.is_(None)))]
        db.session.rollback()
    target = _account_target(account)
    if _blocked(states, keys, now):
        with write_transaction(db.session):
            admin_events.record(events.LOGIN_LOCKED, actor_id=staff_id, target=target, ip=ip,
                                now=now, detail="turning two-step sign-in off")
        raise InvalidInput(TRY_LATER)
    password_ok = check_password_hash(account.password_hash, password or "")
    code_ok = totp.matching_step(secret, code, after=last_step, now=now) is not None
    if not code_ok and not totp.looks_like_code(code):
        typed = totp.normalize_recovery_code(code)
        code_ok = any(check_password_hash(h, typed) for _, h in recovery)
    with write_transaction(db.session):
        if password_ok and code_ok:
            staff = db.session.get(Staff, staff_id, with_for_update=True)
            staff.totp_enabled = False
            staff.totp_secret = None
            staff.totp_last_step = None
            db.session.execute(delete(StaffRecoveryCode).where(
                StaffRecoveryCode.staff_id == staff_id))
            admin_events.record(events.STAFF_CHANGED, actor_id=staff_id, target=target, ip=ip,
                                now=now,
                                detail=events.describe_changes({"totp_enabled": (True, False)}))
        else:
            after = _count_failure(keys, now)
            admin_events.record(events.LOGIN_FAILED, actor_id=staff_id, target=target, ip=ip,
                                now=now, detail=_detail("turning two-step sign-in off: "
                                                        "wrong password or code",
                                                        _wait_text(after, keys, now)))
    if not (password_ok and code_ok):
        raise InvalidInput(DISABLE_FAILED)


def reset_totp(username: str) -> Staff | None:
    """Turn someone's two-step sign-in off (an operator's command, for a lost phone)."""
    with write_transaction(db.session):
        staff = db.session.scalar(select(Staff).where(Staff.username == username)
                                  .with_for_update())
        if staff is None:
            return None
        was = bool(staff.totp_enabled)
        staff.totp_enabled, staff.totp_secret, staff.totp_last_step = False, None, None
        db.session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == staff.id))
        staff.session_token = new_token()
        admin_events.record(events.STAFF_CHANGED, target=_staff_target(staff),
                            detail=events.describe_changes({"totp_enabled": (was, False)}))
    return staff


