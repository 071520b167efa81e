"""Departments and staff."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from flask_login import UserMixin
from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rules import Actor, Role

from .base import db


class Department(db.Model):
    __tablename__ = "department"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    parent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("department.id"))
    head_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("staff.id", use_alter=True, name="fk_department_head_id_staff")
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_customer_service: Mapped[bool] = mapped_column(Boolean, default=False)
    # The department's group robot, optional: ``wecom`` (企业微信) or ``dingtalk`` (钉钉),
    # its webhook address, and DingTalk's signing secret (加签).
    robot_kind: Mapped[Optional[str]] = mapped_column(String(16))
    robot_url: Mapped[Optional[str]] = mapped_column(String(500))
    robot_secret: Mapped[Optional[str]] = mapped_column(String(200))

    parent: Mapped[Optional[Department]] = relationship(remote_side=[id])
    head: Mapped[Optional[Staff]] = relationship(foreign_keys=[head_id], post_update=True)
    staff: Mapped[list[Staff]] = relationship(
        back_populates="department", foreign_keys="Staff.department_id"
    )

    def __repr__(self):
        return f"<Department {self.code}>"

    def __str__(self):
        return self.name


class Staff(UserMixin, db.Model):
    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[Optional[str]] = mapped_column(String(200))
    phone: Mapped[Optional[str]] = mapped_column(String(32))
    department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("department.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(String(255), default="!")
    # Rotated on logout, password change and deactivation: old session cookies stop working.
    session_token: Mapped[str] = mapped_column(String(64), index=True)
    last_login_at: Mapped[Optional[datetime]]
    # Consecutive failed logins, for the administrator's information only (no lock).
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    # No longer used: logins are slowed down per name and address (LoginAttempt), never locked.
    locked_until: Mapped[Optional[datetime]]
    locale: Mapped[Optional[str]] = mapped_column(String(16))
    password_changed_at: Mapped[Optional[datetime]]
    # Two-step sign-in (TOTP, RFC 6238): the shared secret (base32), set when enrolment
    # starts; ``totp_enabled`` once a code confirmed it. The last time step used: a code is
    # accepted once.
    totp_secret: Mapped[Optional[str]] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    totp_last_step: Mapped[Optional[int]] = mapped_column(BigInteger)

    department: Mapped[Optional[Department]] = relationship(
        back_populates="staff", foreign_keys=[department_id]
    )

    def __repr__(self):
        return f"<Staff {self.username} {self.role}>"

    def __str__(self):
        return self.full_name

    # Flask-Login: the id in the session cookie is the rotating token, not the primary key.
    def get_id(self):
        return self.session_token

    @property
    def is_active(self):
        return bool(self.active)

    @property
    def actor(self) -> Actor:
        # Only a supervisor's callbacks depend on a company setting (read once a request).
        calls_back = self.role == Role.SUPERVISOR and _supervisors_call_back()
        return Actor(id=self.id, role=self.role, department_id=self.department_id,
                     calls_back=calls_back)


class StaffRecoveryCode(db.Model):
    """One single-use recovery code of the two-step sign-in, stored hashed."""

    __tablename__ = "staff_recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[Optional[datetime]]


class LoginAttempt(db.Model):
    """Failed sign-in attempts of one key (``user:<name>``, ``ip:<address>``, ``2fa:<id>``):
    the count, the last failure and until when the key must wait (rules.login)."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[Optional[datetime]] = mapped_column(index=True)
    blocked_until: Mapped[Optional[datetime]]


def _supervisors_call_back() -> bool:
    from .settings import supervisors_call_back  # (settings imports nothing of org)

    return supervisors_call_back()
