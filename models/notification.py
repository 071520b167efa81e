"""The notification outbox: one row per person told of something, written in the same
transaction as the event that causes it (services.notifications, services.sweep)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import db
from .complaint import Complaint


class Notification(db.Model):
    """One message to one member of staff: read in the app at once; fanned out to e-mail
    and robot deliveries by the worker (``planned_at`` set when that was done).

    ``kind`` is the workflow action that caused it (``forward``, ``assign``, ``urge`` …),
    ``reopened``, ``overdue``, ``escalated``, ``due_soon`` or ``critical_registered``. The
    unique constraint on (recipient, event, kind) keeps one event from telling anyone twice;
    ``key`` does the same for what has no event (``due_soon``: one per deadline).
    """

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("recipient_id", "event_id", "kind",
                         name="uq_notification_recipient_id_event_id_kind"),
        Index("ix_notification_recipient_id_read_at", "recipient_id", "read_at"),
        # The worker's backlog: only the rows not yet fanned out.
        Index("ix_notification_unplanned", "id",
              sqlite_where=text("planned_at IS NULL"),
              postgresql_where=text("planned_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    recipient_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    complaint_id: Mapped[Optional[int]] = mapped_column(ForeignKey("complaint.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    event_id: Mapped[Optional[int]] = mapped_column(ForeignKey("complaint_event.id"))
    read_at: Mapped[Optional[datetime]]
    # When the worker turned it into deliveries (e-mail, robot) by the recipient's choice.
    planned_at: Mapped[Optional[datetime]]
    # Dedupe key of a notification without an event (``due_soon:<complaint>:<due_at>``).
    key: Mapped[Optional[str]] = mapped_column(String(120), unique=True)
    # A job's end (``job_done``, ``job_failed``): the job the message links to.
    job_id: Mapped[Optional[int]] = mapped_column(ForeignKey("job.id"))

    complaint: Mapped[Optional[Complaint]] = relationship()

    def __repr__(self):
        return f"<Notification {self.kind} → {self.recipient_id}>"


class Delivery(db.Model):
    """One message to send outside the app: an e-mail, a group-robot post or an SMS.

    Rendered when written (its text never changes between tries). ``key`` is the
    idempotency key, sent as the e-mail's Message-ID and the webhook's request id: a worker
    killed between sending and marking makes at most one repeat, with the same key.
    ``status``: ``pending`` (``next_attempt_at``, ``lease_until`` while a worker holds it),
    ``sent``, or ``failed`` after the last try (shown to the administrator).
    """

    __tablename__ = "delivery"
    __table_args__ = (
        Index("ix_delivery_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(16))  # email | wecom | dingtalk | sms
    # The notification kind, or ``digest``, ``customer_ack``, ``customer_result``.
    purpose: Mapped[str] = mapped_column(String(30))
    key: Mapped[str] = mapped_column(String(160), unique=True)
    notification_id: Mapped[Optional[int]] = mapped_column(ForeignKey("notification.id"),
                                                           index=True)
    recipient_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("department.id"))
    complaint_id: Mapped[Optional[int]] = mapped_column(ForeignKey("complaint.id"), index=True)
    # The timeline event recording a message to a customer.
    event_id: Mapped[Optional[int]] = mapped_column(ForeignKey("complaint_event.id"))
    address: Mapped[Optional[str]] = mapped_column(String(200))  # e-mail address or phone
    locale: Mapped[Optional[str]] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[Optional[str]] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_until: Mapped[Optional[datetime]]
    leased_by: Mapped[Optional[str]] = mapped_column(String(64))
    last_error: Mapped[Optional[str]] = mapped_column(String(500))
    sent_at: Mapped[Optional[datetime]]

    complaint: Mapped[Optional[Complaint]] = relationship()

    def __repr__(self):
        return f"<Delivery {self.channel} {self.purpose} {self.status}>"


class NotificationPreference(db.Model):
    """A member of staff's choice of what reaches them outside the app (in-app is always on).

    No row: the defaults of ``rules.delivery``. Kinds are comma-separated notification kinds.
    """

    __tablename__ = "notification_preference"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"),
                                          primary_key=True)
    email_kinds: Mapped[str] = mapped_column(String(500), default="")
    robot_kinds: Mapped[str] = mapped_column(String(500), default="")
    # One e-mail a day with everything instead of one per notification.
    digest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    digest_sent_on: Mapped[Optional[date]]  # the last day a digest went out
