"""Staff accounts: passwords, login throttling, session tokens."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from models import Staff, db
from models.engine import write_transaction
from rules import Role
from rules.errors import N_, InvalidInput

from . import clock

MIN_PASSWORD_LENGTH = 8
# Compared against when the username is unknown, so that both failures take as long.
_DUMMY_HASH = generate_password_hash("not-a-real-password")

LOGIN_FAILED = N_("Unknown user name or wrong password.")
LOGIN_LOCKED = N_("Too many failed attempts. Try again in %(minutes)d minutes.")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def check_password_strength(password: str) -> None:
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(N_("A password needs at least %(n)d characters."), n=MIN_PASSWORD_LENGTH)


def set_password(staff: Staff, password: str) -> None:
    """Hash the password and end every session of this user (the caller commits)."""
    check_password_strength(password)
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if current_app else "scrypt"
    staff.password_hash = generate_password_hash(password, method=method)
    staff.session_token = new_token()
    staff.failed_logins = 0
    staff.locked_until = None


def change_password(staff_id: int, password: str) -> Staff:
    """Set a new password and end every session of that user, in one transaction."""
    check_password_strength(password)
    with write_transaction(db.session):
        staff = db.session.get(Staff, staff_id, with_for_update=True)
        set_password(staff, password)
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


class LoginRefused(Exception):
    def __init__(self, msgid, **params):
        self.msgid, self.params = msgid, params
        super().__init__(msgid % params if params else msgid)


def authenticate(username: str, password: str, *, max_failures: int = 5,
                 lock_minutes: int = 15, now: datetime | None = None) -> Staff:
    """The staff member for these credentials, or LoginRefused with one message for all failures.

    Failures are counted in the database, so the lock holds across processes and hosts.
    """
    now = now or clock.now()
    with write_transaction(db.session):
        staff = db.session.scalar(
            select(Staff).where(Staff.username == (username or "").strip()).with_for_update()
        )
        if staff is None or not staff.active:
            check_password_hash(_DUMMY_HASH, password or "")
            raise LoginRefused(LOGIN_FAILED)
        if staff.locked_until and staff.locked_until > now:
            minutes = max(1, int((staff.locked_until - now).total_seconds() // 60) + 1)
            raise LoginRefused(LOGIN_LOCKED, minutes=minutes)
        if not check_password_hash(staff.password_hash, password or ""):
            staff.failed_logins = (staff.failed_logins or 0) + 1
            if staff.failed_logins >= max_failures:
                staff.locked_until = now + timedelta(minutes=lock_minutes)
                staff.failed_logins = 0
            # committed on leaving the block: the count persists even though we refuse
            failed = True
        else:
            failed = False
            staff.failed_logins = 0
            staff.locked_until = None
            staff.last_login_at = now
    if failed:
        raise LoginRefused(LOGIN_FAILED)
    return staff


def end_sessions(staff: Staff) -> None:
    """Rotate the session token: every cookie issued before stops working."""
    with write_transaction(db.session):
        db.session.merge(staff).session_token = new_token()


def set_locale(staff_id: int, locale: str | None) -> None:
    """Store a user's interface language (None: follow the browser)."""
    with write_transaction(db.session):
        db.session.get(Staff, staff_id).locale = locale or None


def load_by_token(token: str) -> Staff | None:
    if not token:
        return None
    staff = db.session.scalar(select(Staff).where(Staff.session_token == token))
    if staff is None or not staff.active:
        return None
    return staff
