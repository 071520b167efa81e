"""The administrative record: changes to the organisation and configuration, security events."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import db
from .org import Staff


class AdminEvent(db.Model):
    """One change made by an administrator, or one security event (append-only).

    ``action`` is one of ``rules.admin_events``; ``detail`` says what changed
    (``field: old → new``), never a password or its hash.
    """

    __tablename__ = "admin_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)  # company-local time (services.clock)
    # None: the system, or a visitor who is not logged in (a failed login).
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    target_type: Mapped[Optional[str]] = mapped_column(String(30))
    target_id: Mapped[Optional[int]] = mapped_column(Integer)
    target_label: Mapped[Optional[str]] = mapped_column(String(200))
    detail: Mapped[Optional[str]] = mapped_column(Text)
    ip: Mapped[Optional[str]] = mapped_column(String(45))

    actor: Mapped[Optional[Staff]] = relationship(foreign_keys=[actor_id])

    def __repr__(self):
        return f"<AdminEvent {self.action} {self.target_type}:{self.target_id}>"
