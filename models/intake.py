"""What the intake channels keep (issue 14): the mail already read from the complaints
mailbox, the API tokens of other systems, and the API's answered requests (replays)."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import db
from .complaint import Complaint
from .org import Staff


class InboundMessage(db.Model):
    """One message read from the complaints mailbox (append-only): its Message-ID is never
    registered twice, on any number of hosts (the unique index decides)."""

    __tablename__ = "inbound_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    mailbox: Mapped[str] = mapped_column(String(100))
    sender: Mapped[Optional[str]] = mapped_column(String(200))
    subject: Mapped[Optional[str]] = mapped_column(String(300))
    received_at: Mapped[datetime] = mapped_column(index=True)  # when it was read
    # registered (a new complaint), threaded (a note on the complaint its subject names),
    # refused (kept out, with why)
    outcome: Mapped[str] = mapped_column(String(20))
    detail: Mapped[Optional[str]] = mapped_column(Text)
    complaint_id: Mapped[Optional[int]] = mapped_column(ForeignKey("complaint.id"), index=True)

    complaint: Mapped[Optional[Complaint]] = relationship()


class ApiToken(db.Model):
    """A token of another system (a 12345 platform, a CRM, a mini-program backend). Only its
    SHA-256 is kept; it acts as its staff account (role and scope); revoked, never deleted."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)  # shown to tell tokens apart
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    created_at: Mapped[datetime]
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    revoked_at: Mapped[Optional[datetime]]
    revoked_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    last_used_at: Mapped[Optional[datetime]]

    staff: Mapped[Staff] = relationship(foreign_keys=[staff_id])
    created_by: Mapped[Optional[Staff]] = relationship(foreign_keys=[created_by_id])
    revoked_by: Mapped[Optional[Staff]] = relationship(foreign_keys=[revoked_by_id])

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class ApiRequest(db.Model):
    """An API request that changed something, by its Idempotency-Key: a replay gets the
    same answer and changes nothing (append-only)."""

    __tablename__ = "api_request"
    __table_args__ = (UniqueConstraint("token_id", "idempotency_key",
                                       name="uq_api_request_token_key"),
                      Index("ix_api_request_created_at", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_token.id"))
    idempotency_key: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(300))
    body_sha256: Mapped[str] = mapped_column(String(64))  # the same key with another body: 409
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
