"""The accounts that register complaints no staff member typed (issue 14).

A complaint sent through the public web form or the complaint mailbox is registered by an
**inactive** staff account of its channel (``channel-web``, ``channel-email``): role intake,
the customer-service department, an unusable password hash. Inactive, so it can never sign
in and is never a notification recipient; the audit trail shows it as who registered.

``channel_account`` gets or creates it. Two processes creating it at once: the unique user
name decides, the loser's savepoint rolls back and it reads the winner's row.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import Department, Staff, db
from models.engine import write_transaction
from rules import Channel, Role

# The channels that have an account of their own, and its full name (shown in the timeline).
ACCOUNT_NAMES = {
    Channel.WEB: "网站投诉表单",
    Channel.EMAIL: "投诉邮箱",
}

USERNAME_PREFIX = "channel-"


def username_of(channel: str) -> str:
    return f"{USERNAME_PREFIX}{channel}"


def _customer_service_department_id() -> int | None:
    return db.session.scalar(
        select(Department.id)
        .where(Department.is_customer_service.is_(True), Department.active.is_(True))
        .order_by(Department.id)
        .limit(1)
    )


def _find(username: str) -> Staff | None:
    return db.session.scalar(select(Staff).where(Staff.username == username))


def channel_account(channel: str) -> Staff:
    """The inactive staff account that registers what arrives through ``channel``
    (``web`` or ``email``); created on first use. Nesting-safe: inside a caller's
    write_transaction it is created in a savepoint (committed with the caller)."""
    if channel not in ACCOUNT_NAMES:
        raise ValueError(f"no channel account for {channel!r}")
    username = username_of(channel)
    staff = _find(username)
    if staff is not None:
        return staff
    try:
        with write_transaction(db.session):
            staff = Staff(
                username=username,
                full_name=ACCOUNT_NAMES[channel],
                role=Role.INTAKE,
                department_id=_customer_service_department_id(),
                active=False,
                # Not a werkzeug hash: no password ever matches it.
                password_hash="!" + secrets.token_hex(32),
                session_token=secrets.token_urlsafe(32),
                failed_logins=0,
            )
            db.session.add(staff)
            db.session.flush()
    except IntegrityError:  # another process created it first
        staff = _find(username)
        if staff is None:
            raise
    return staff
