"""Staff accounts: passwords, login throttling, the two-step sign-in, session tokens.

Login throttling (decisions in :mod:`rules.login`): every failure is counted per account
name (``user:<name>``, whether the account exists or not) and per client address
(``ip:<addr>``) in the ``login_attempt`` table, so it holds across processes and hosts.
After a few failures a key must wait, 2, 4, 8 … seconds up to 15 minutes; nobody is locked
out for good. While a key waits, every attempt gets the same answer as a wrong password
(plus "wait a few minutes"), and the password is not even looked at. A browser in which
the account has signed in before ("known device") is not held back by strangers' failures
on the account's name; its address still is.

Every answer costs one password hash: the real one, or a dummy one for an unknown name,
an inactive account or a waiting key, so that neither the message nor the time tells
whether an account exists. Every failure, every refused (throttled) attempt and every
successful login is written to the administrative record (AdminEvent).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from flask import current_app, has_app_context
from sqlalchemy import delete, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from models import Department, Setting, Staff, db
from models.engine import UnsavedWork, read_only, write_transaction
from models.org import LoginAttempt, StaffRecoveryCode
from models.settings import (
    ACCOUNTABILITY_DEPARTMENT,
    DEFAULT_SETTINGS,
    SUPERVISOR_CALLBACKS,
    YES,
)
from rules import Role
from rules import admin_events as events
from rules import login as throttle
from rules.accountability import can_read
from rules.errors import N_, InvalidInput
from rules.passwords import MAX_LENGTH as PASSWORD_MAX_LENGTH
from rules.passwords import check_password

from . import admin_events, clock, totp

LOGIN_FAILED = N_("Unknown user name or wrong password.")
TRY_LATER = N_("Too many failed attempts: please wait a few minutes, then try again.")
CODE_FAILED = N_("Wrong or expired code.")
SECOND_STEP_EXPIRED = N_("Your sign-in took too long or was interrupted. Please log in again.")
CODE_WRONG_AT_ENROLMENT = N_("That code is not right. Check that your phone's clock is "
                            "correct and type the newest code.")
ALREADY_ENABLED = N_("Two-step sign-in is already on.")
NOT_ENABLED = N_("Two-step sign-in is not on.")
DISABLE_FAILED = N_("Wrong password or code. Two-step sign-in stays on.")

# Throttling defaults (the app config overrides them: LOGIN_*).
DEFAULTS = {
    "LOGIN_FREE_FAILURES": throttle.FREE_FAILURES,  # per account name and second step
    "LOGIN_FREE_FAILURES_PER_ADDRESS": 10,  # an office may share one address
    "LOGIN_MAX_DELAY_SECONDS": throttle.MAX_DELAY_SECONDS,
    "LOGIN_FORGET_HOURS": 24,
}


def _config(name):
    if has_app_context():
        return current_app.config.get(name, DEFAULTS.get(name))
    return DEFAULTS.get(name)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _hash_method() -> str:
    return (current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context()
            else "scrypt")


def hash_secret(value: str) -> str:
    return generate_password_hash(value, method=_hash_method())


@lru_cache(maxsize=8)
def _dummy_hash_for(method: str) -> str:
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def _dummy_check(password: str | None) -> None:
    """Spend the time of one password check against a hash no password matches, with the
    method real hashes use (an unknown name must not answer faster)."""
    check_password_hash(_dummy_hash_for(_hash_method()), password or "")


# --- password policy ---------------------------------------------------------------------


def password_score(password: str, user_inputs=()) -> int | None:
    """zxcvbn's score (0–4) of the password, or None when zxcvbn is not installed.

    zxcvbn judges at most 72 characters; a longer password is judged by its start.
    """
    try:
        from zxcvbn import zxcvbn
    except ImportError:  # the rules' own list and patterns still apply
        return None
    inputs = [str(v) for v in user_inputs if v] + ["complaint", "desk", "complaintdesk"]
    return int(zxcvbn(password[:72], user_inputs=inputs)["score"])


def check_password_strength(password: str, username: str | None = None,
                            full_name: str | None = None) -> None:
    """Refuse (InvalidInput, plain words) a password that is short, common or easy to guess,
    or contains the user name (rules.passwords)."""
    password = password or ""
    score = None
    if len(password) <= PASSWORD_MAX_LENGTH:
        score = password_score(password, (username, full_name, *(full_name or "").split()))
    check_password(password, username, score=score)


def set_password(staff: Staff, password: str, *, now: datetime | None = None) -> None:
    """Check the password policy, hash the password and end every session of this user
    (the caller commits)."""
    check_password_strength(password, staff.username, staff.full_name)
    staff.password_hash = hash_secret(password)
    staff.session_token = new_token()
    staff.failed_logins = 0
    staff.locked_until = None
    staff.password_changed_at = now or clock.now()


def change_password(staff_id: int, password: str) -> Staff:
    """Set a new password and end every session of that user, in one transaction."""
    with write_transaction(db.session):
        staff = db.session.get(Staff, staff_id, with_for_update=True)
        set_password(staff, password)  # a refused password rolls back: nothing changes
    return staff


# Changes to an account that end its open sessions (the role is re-read on every request
# anyway; rotating the token makes the user log in again under the new terms).
SESSION_ENDING_FIELDS = frozenset({"role", "active"})


def account_saved(staff: Staff, *, created: bool, changed_fields) -> None:
    """Before an account edit is committed: a new account gets a session token and no
    usable password (an administrator sets one); a role or active change ends its sessions."""
    if created or not staff.session_token:
        staff.session_token = new_token()
        staff.password_hash = staff.password_hash or "!"
        staff.failed_logins = staff.failed_logins or 0
    elif SESSION_ENDING_FIELDS & set(changed_fields):
        staff.session_token = new_token()


def create_user(username, full_name, role, password, department_id=None, email=None,
                locale=None) -> Staff:
    if role not in Role.ALL:
        raise InvalidInput(N_("Unknown role."))
    with write_transaction(db.session):
        taken = db.session.scalar(select(Staff.id).where(Staff.username == username.strip()))
        if taken is not None:  # said in words; the unique constraint still backs it
            raise InvalidInput(N_("The user name %(username)s is already taken."),
                               username=username.strip())
        staff = Staff(username=username.strip(), full_name=full_name.strip(), role=role,
                      department_id=department_id, email=email, locale=locale, active=True,
                      session_token=new_token(), failed_logins=0)
        set_password(staff, password)
        db.session.add(staff)
    return staff


# --- throttling --------------------------------------------------------------------------


class LoginRefused(Exception):
    """A refused sign-in; ``messages`` are (msgid, params) pairs to show, in order."""

    def __init__(self, *msgids, **params):
        self.messages = [(m, params) for m in msgids]
        self.msgid, self.params = msgids[0], params
        super().__init__(" ".join(m % params if params else m for m in msgids))

    @property
    def throttled(self) -> bool:
        return any(m == TRY_LATER for m, _ in self.messages)


def _free_failures(key: str) -> int:
    if key.startswith(throttle.IP_PREFIX):
        return int(_config("LOGIN_FREE_FAILURES_PER_ADDRESS"))
    return int(_config("LOGIN_FREE_FAILURES"))


def _forget_after() -> timedelta:
    return timedelta(hours=float(_config("LOGIN_FORGET_HOURS")))


def _state(row: LoginAttempt | None) -> throttle.AttemptState | None:
    if row is None:
        return None
    return throttle.AttemptState(row.failures or 0, row.last_failure_at, row.blocked_until)


def _load_states(keys) -> dict[str, throttle.AttemptState]:
    rows = db.session.scalars(select(LoginAttempt).where(LoginAttempt.key.in_(list(keys))))
    return {row.key: _state(row) for row in rows}


def _locked_rows(keys) -> list[LoginAttempt]:
    """The rows of these keys, created if missing, locked (in key order: no deadlock)."""
    keys = sorted(set(keys))
    table = LoginAttempt.__table__
    dialect = db.session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        for key in keys:
            db.session.execute(insert(table).values(key=key, failures=0)
                               .on_conflict_do_nothing(index_elements=["key"]))
    else:  # pragma: no cover - the two databases the desk supports are handled above
        have = set(db.session.scalars(select(LoginAttempt.key).where(LoginAttempt.key.in_(keys))))
        for key in set(keys) - have:
            db.session.add(LoginAttempt(key=key, failures=0))
        db.session.flush()
    return list(db.session.scalars(
        select(LoginAttempt).where(LoginAttempt.key.in_(keys)).order_by(LoginAttempt.key)
        .with_for_update().execution_options(populate_existing=True)))


def _count_failure(keys, now: datetime) -> dict[str, throttle.AttemptState]:
    """One more failure on each key (inside the caller's write transaction)."""
    states = {}
    for row in _locked_rows(keys):
        state = throttle.after_failure(
            _state(row), now, free=_free_failures(row.key),
            cap=int(_config("LOGIN_MAX_DELAY_SECONDS")), forget_after=_forget_after())
        row.failures, row.last_failure_at, row.blocked_until = (
            state.failures, state.last_failure_at, state.blocked_until)
        states[row.key] = state
    # Keys quiet for longer than the forget time hold nothing worth keeping.
    db.session.execute(delete(LoginAttempt).where(
        LoginAttempt.last_failure_at < now - _forget_after(),
        LoginAttempt.key.not_in(list(states))))
    return states


def _forget(keys) -> None:
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.key.in_(list(keys))))


def _blocked(states: dict, keys, now: datetime) -> bool:
    return any(throttle.is_blocked(states.get(k), now) for k in keys)


def _wait_text(states: dict, keys, now: datetime) -> str:
    seconds = max((throttle.seconds_left(states.get(k), now) for k in keys), default=0)
    return f"wait {seconds} s" if seconds else ""


def _staff_target(staff: Staff | None):
    return (events.TARGET_STAFF, staff.id, staff.username) if staff is not None else None


def _detail(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


def _name_detail(username: str) -> str:
    return "user name: " + events.text_of(username)[:80]


def _begin_reading() -> None:
    """End a read transaction the request may have open (it wrote nothing), so that the
    reads below run without SQLite's write lock and see the latest data. Unsaved work of
    the caller is never thrown away: refused, as write_transaction refuses it."""
    real = db.session()
    if real.in_transaction():
        if real.new or real.dirty or real.deleted or real.info.get("wrote"):
            raise UnsavedWork("sign-in would roll back the caller's unsaved changes; "
                              "commit or roll them back first.")
        db.session.rollback()


@dataclass(frozen=True)
class _Account:
    id: int
    username: str
    password_hash: str
    active: bool
    totp_enabled: bool
    session_token: str


def _account(staff: Staff | None) -> _Account | None:
    if staff is None:
        return None
    return _Account(staff.id, staff.username, staff.password_hash or "!", bool(staff.active),
                    bool(staff.totp_enabled), staff.session_token)


def authenticate(username: str, password: str, *, ip: str | None = None,
                 known_device: bool = False, now: datetime | None = None) -> Staff:
    """The staff member for these credentials, or LoginRefused with one message for every
    failure (plus "wait a few minutes" while the name or the address must wait).

    ``known_device``: the request comes from a browser in which this account signed in
    before; the account name's own delay does not hold it back (its address's still does).
    A user with two-step sign-in gets their Staff back without being signed in yet: the
    caller asks for a code and finishes with :func:`verify_second_step`.
    """
    now = now or clock.now()
    name = " ".join((username or "").split())
    password = password or ""
    user_k, ip_k = throttle.user_key(name), throttle.ip_key(ip)
    applying = [ip_k] if known_device else [ip_k, user_k]
    _begin_reading()
    with read_only():
        staff = (db.session.scalar(select(Staff).where(Staff.username == name))
                 if name and len(name) <= 64 else None)
        account = _account(staff)
        states = _load_states(applying)
        db.session.rollback()

    if _blocked(states, applying, now):
        _dummy_check(password)  # the same work as any other answer
        with write_transaction(db.session):
            admin_events.record(
                events.LOGIN_LOCKED, target=_account_target(account), ip=ip, now=now,
                detail=_detail(_name_detail(name), _wait_text(states, applying, now)))
        raise LoginRefused(LOGIN_FAILED, TRY_LATER)

    if account is None or not account.active:
        _dummy_check(password)
        ok = False
        reason = "unknown user name" if account is None else "inactive account"
    else:
        ok = check_password_hash(account.password_hash, password)
        reason = "wrong password"

    with write_transaction(db.session):
        if not ok:
            after = _count_failure([ip_k, user_k], now)
            if account is not None:
                db.session.execute(update(Staff).where(Staff.id == account.id).values(
                    failed_logins=Staff.failed_logins + 1))
            throttled = _blocked(after, applying, now)
            admin_events.record(
                events.LOGIN_FAILED, target=_account_target(account), ip=ip, now=now,
                detail=_detail(_name_detail(name), "reason: " + reason,
                               _wait_text(after, applying, now)))
        else:
            staff = db.session.get(Staff, account.id)
            if not account.totp_enabled:
                _signed_in(staff, now, ip=ip, how="password")
    if not ok:
        raise LoginRefused(LOGIN_FAILED, *([TRY_LATER] if throttled else []))
    return staff


def _account_target(account: _Account | None):
    return (events.TARGET_STAFF, account.id, account.username) if account else None


def _signed_in(staff: Staff, now: datetime, *, ip: str | None, how: str) -> None:
    """A complete sign-in (inside the caller's write transaction)."""
    _forget([throttle.user_key(staff.username), throttle.second_step_key(staff.id)])
    staff.failed_logins = 0
    staff.last_login_at = now
    admin_events.record(events.LOGIN_SUCCEEDED, actor_id=staff.id, target=_staff_target(staff),
                        ip=ip, now=now, detail=how)


def needs_second_step(staff: Staff) -> bool:
    return bool(staff.totp_enabled)


def token_digest(token: str | None) -> str:
    """What a half-done sign-in keeps of the account's session token (not the token)."""
    return hashlib.sha256((token or "").encode()).hexdigest()


def verify_second_step(staff_id: int, digest: str, code: str, *,
                       ip: str | None = None, now: datetime | None = None) -> Staff:
    """Finish a two-step sign-in with a code from the app or an unused recovery code.

    Throttled like the password (per account and per address); a code is accepted once,
    a recovery code once. ``digest`` (:func:`token_digest`) must still match the account's
    session token: a password change or a logout since the password step ends the attempt.
    """
    now = now or clock.now()
    keys = [throttle.ip_key(ip), throttle.second_step_key(staff_id)]
    _begin_reading()
    with read_only():
        staff = db.session.get(Staff, staff_id)
        if (staff is None or not staff.active or not staff.totp_enabled
                or not secrets.compare_digest(token_digest(staff.session_token), digest or "")):
            db.session.rollback()
            raise LoginRefused(SECOND_STEP_EXPIRED)
        secret, last_step, username = staff.totp_secret, staff.totp_last_step, staff.username
        states = _load_states(keys)
        recovery = [] if totp.looks_like_code(code) else [
            (rc.id, rc.code_hash) for rc in db.session.scalars(
                select(StaffRecoveryCode).where(StaffRecoveryCode.staff_id == staff_id,
                                                StaffRecoveryCode.used_at.is_(None)))]
        db.session.rollback()
    target = (events.TARGET_STAFF, staff_id, username)
    if _blocked(states, keys, now):
        with write_transaction(db.session):
            admin_events.record(events.LOGIN_LOCKED, target=target, ip=ip, now=now,
                                detail=_detail("second step", _wait_text(states, keys, now)))
        raise LoginRefused(CODE_FAILED, TRY_LATER)

    step = totp.matching_step(secret, code, after=last_step, now=now)
    recovery_id = None
    if step is None and recovery:
        typed = totp.normalize_recovery_code(code)
        recovery_id = next((rid for rid, h in recovery if check_password_hash(h, typed)), None)

    with write_transaction(db.session):
        used = False
        if step is not None:  # the step moves forward once: a replayed code finds it moved
            used = db.session.execute(update(Staff).where(
                Staff.id == staff_id,
                (Staff.totp_last_step.is_(None)) | (Staff.totp_last_step < step),
            ).values(totp_last_step=step)).rowcount == 1
            how = "password and code"
        elif recovery_id is not None:
            used = db.session.execute(update(StaffRecoveryCode).where(
                StaffRecoveryCode.id == recovery_id, StaffRecoveryCode.used_at.is_(None),
            ).values(used_at=now)).rowcount == 1
            how = "password and recovery code"
        if used:
            staff = db.session.get(Staff, staff_id)
            db.session.refresh(staff)
            _signed_in(staff, now, ip=ip, how=how)
        else:
            after = _count_failure(keys, now)
            throttled = _blocked(after, keys, now)
            admin_events.record(events.LOGIN_FAILED, target=target, ip=ip, now=now,
                                detail=_detail("second step: wrong code",
                                               _wait_text(after, keys, now)))
    if not used:
        raise LoginRefused(CODE_FAILED, *([TRY_LATER] if throttled else []))
    return staff


# --- sessions ----------------------------------------------------------------------------


def end_sessions(staff: Staff) -> None:
    """Rotate the session token: every cookie issued before stops working."""
    with write_transaction(db.session):
        db.session.merge(staff).session_token = new_token()


def set_locale(staff_id: int, locale: str | None) -> None:
    """Store a user's interface language (None: follow the browser)."""
    with write_transaction(db.session):
        db.session.get(Staff, staff_id).locale = locale or None


@dataclass(frozen=True)
class SessionFacts:
    """What every page asks about its user besides the Staff row, read with it: whether
    supervisors record callbacks (their queue) and whether the user reads accountability
    (the menu), both from company settings (services.queues, models.settings)."""

    supervisors_call_back: bool
    reads_accountability: bool


def _setting_value(key: str):
    return select(Setting.value).where(Setting.key == key).scalar_subquery()


def load_session(token: str) -> tuple[Staff, SessionFacts] | None:
    """The active staff member holding this session token, and their :class:`SessionFacts`:
    one statement (the department's code and the two settings ride along as scalar
    subqueries), read fresh on every request — a logout, a deactivation or a settings
    change takes effect on the next page, on every host."""
    if not token:
        return None
    department_code = (select(Department.code).where(Department.id == Staff.department_id)
                       .scalar_subquery())
    row = db.session.execute(
        select(Staff, department_code, _setting_value(SUPERVISOR_CALLBACKS),
               _setting_value(ACCOUNTABILITY_DEPARTMENT))
        .where(Staff.session_token == token)).first()
    if row is None or not row[0].active:
        return None
    staff, code, callbacks, accountability = row
    accountability = accountability or DEFAULT_SETTINGS[ACCOUNTABILITY_DEPARTMENT]
    return staff, SessionFacts(
        supervisors_call_back=(callbacks or DEFAULT_SETTINGS[SUPERVISOR_CALLBACKS]) == YES,
        reads_accountability=can_read(staff.role, code, accountability))


def load_by_token(token: str) -> Staff | None:
    found = load_session(token)
    return found[0] if found is not None else None
