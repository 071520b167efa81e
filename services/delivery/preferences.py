"""A member of staff's own delivery choices: which notifications reach them by e-mail and by
their department's group robot, the daily digest, and their e-mail address.

In-app notifications are always on. No NotificationPreference row means the defaults of
``rules.delivery``; :func:`save` writes one (an upsert, safe when two saves race). Which
kinds exist is for ``rules.delivery.STAFF_KINDS`` to say: anything else posted is dropped.
One's own choices leave no AdminEvent (the administrator's changes to accounts do).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from models import Department, NotificationPreference, Staff, db
from models.engine import write_transaction
from rules import delivery as R
from rules.delivery_settings import check_email


@dataclass(frozen=True)
class Preferences:
    """What reaches one person outside the app, and what this server can send."""

    email: str | None
    email_kinds: frozenset[str]
    robot_kinds: frozenset[str]
    digest: bool
    mail_on: bool  # MAIL_SERVER is set: e-mails go out
    robot_on: bool  # their department has a group robot
    department: str | None  # their department's name


def _kinds(text: str | None, default) -> frozenset[str]:
    return frozenset(default) if text is None else R.parse_kinds(text)


def mail_on() -> bool:
    return bool(current_app.config.get("MAIL_SERVER"))


def get(staff_id: int) -> Preferences:
    """The person's choices (the defaults when they never saved any). Two queries."""
    row = db.session.execute(
        select(Staff.email, Department.name, Department.robot_kind, Department.robot_url)
        .select_from(Staff).outerjoin(Department, Department.id == Staff.department_id)
        .where(Staff.id == staff_id)).one()
    pref = db.session.get(NotificationPreference, staff_id)
    return Preferences(
        email=row.email,
        email_kinds=_kinds(pref.email_kinds if pref else None, R.DEFAULT_EMAIL_KINDS),
        robot_kinds=_kinds(pref.robot_kinds if pref else None, R.DEFAULT_ROBOT_KINDS),
        digest=bool(pref.digest) if pref else False,
        mail_on=mail_on(),
        robot_on=R.robot_channel(row.robot_kind, row.robot_url) is not None,
        department=row.name,
    )


def _upsert(values: dict) -> None:
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(NotificationPreference).values(**values)
    changed = {k: stmt.excluded[k] for k in ("email_kinds", "robot_kinds", "digest")}
    db.session.execute(stmt.on_conflict_do_update(index_elements=["staff_id"], set_=changed))


def save(staff_id: int, *, email: str | None, email_kinds: Iterable[str],
         robot_kinds: Iterable[str], digest: bool) -> Preferences:
    """Store the person's choices and address (rules.delivery_settings.check_email refuses
    a bad address: RuleError, nothing saved). Unknown kinds are dropped."""
    address = check_email(email)
    with write_transaction(db.session):
        staff = db.session.get(Staff, staff_id)
        staff.email = address
        _upsert({"staff_id": staff_id, "email_kinds": R.format_kinds(email_kinds),
                 "robot_kinds": R.format_kinds(robot_kinds), "digest": bool(digest)})
    db.session.expire_all()
    return get(staff_id)
