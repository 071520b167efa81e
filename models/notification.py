"""The notification outbox: one row per person told of something, written in the same
transaction as the event that causes it (services.notifications, services.sweep)."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import db
from .complaint import Complaint


class Notification(db.Model):
    """One message to one member of staff: read in the app, delivered by e-mail later.

    ``kind`` is the workflow action that caused it (``forward``, ``assign``, ``urge`` …),
    ``reopened``, ``overdue``, ``due_soon`` or ``critical_registered``. The unique
    constraint on (recipient, event, kind) keeps one event from telling anyone twice.
    """

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("recipient_id", "event_id", "kind",
                         name="uq_notification_recipient_id_event_id_kind"),
        Index("ix_notification_recipient_id_read_at", "recipient_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    recipient_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    complaint_id: Mapped[Optional[int]] = mapped_column(ForeignKey("complaint.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    event_id: Mapped[Optional[int]] = mapped_column(ForeignKey("complaint_event.id"))
    read_at: Mapped[Optional[datetime]]
    delivered_email_at: Mapped[Optional[datetime]]  # for the e-mail worker (not yet built)

    complaint: Mapped[Optional[Complaint]] = relationship()

    def __repr__(self):
        return f"<Notification {self.kind} → {self.recipient_id}>"
