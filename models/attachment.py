"""Files kept on a complaint (issue 10): photos, recordings, reports. Never deleted: retired
with a reason (rules/attachments.py decides; services/attachments.py writes)."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import db
from .org import Staff


class Attachment(db.Model):
    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_complaint_id_id", "complaint_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"))
    # The event it came with (its "attach" event, or the result it documents) and the
    # callback it records, when any.
    event_id: Mapped[Optional[int]] = mapped_column(ForeignKey("complaint_event.id"))
    callback_id: Mapped[Optional[int]] = mapped_column(ForeignKey("callback_record.id"))
    name: Mapped[str] = mapped_column(String(200))  # the user's name, checked (rules)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    storage_key: Mapped[str] = mapped_column(String(200))  # content-addressed
    size: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(10))  # detected from the content
    width: Mapped[Optional[int]] = mapped_column(Integer)
    height: Mapped[Optional[int]] = mapped_column(Integer)
    thumbnail_key: Mapped[Optional[str]] = mapped_column(String(200))
    uploaded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    uploaded_at: Mapped[datetime] = mapped_column()
    retired_at: Mapped[Optional[datetime]] = mapped_column()
    retired_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    retired_reason: Mapped[Optional[str]] = mapped_column(Text)

    uploaded_by: Mapped[Optional[Staff]] = relationship(foreign_keys=[uploaded_by_id])
    retired_by: Mapped[Optional[Staff]] = relationship(foreign_keys=[retired_by_id])

    @property
    def retired(self) -> bool:
        return self.retired_at is not None

    def __repr__(self):
        return f"<Attachment {self.id} {self.kind} of complaint {self.complaint_id}>"
