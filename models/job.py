"""Long work done off the request (issue 13): exports, period workbooks, notification
delivery, re-indexing. The request writes a :class:`Job` row and answers at once; a worker
(an in-process thread by default, RQ workers on Redis when ``REDIS_URL`` is set) claims it,
reports progress and a heartbeat, and leaves the result file in the storage backend, from
which any web host hands it out."""

from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import db
from .org import Staff


class Job(db.Model):
    """One piece of long work. ``status``: queued → running → done | failed | cancelled
    (a running job whose worker died goes back to queued, or to failed after its attempts).
    ``params`` is JSON text (what to make); ``result_key`` the storage key of the file,
    cleared once the file is deleted after ``expires_at``."""

    __tablename__ = "job"
    __table_args__ = (
        Index("ix_job_owner_id_id", "owner_id", "id"),
        Index("ix_job_status_heartbeat_at", "status", "heartbeat_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    owner_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    title: Mapped[str] = mapped_column(String(300), default="")
    params: Mapped[str] = mapped_column(Text, default="{}")
    locale: Mapped[Optional[str]] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12), default="queued")
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    rows_total: Mapped[Optional[int]] = mapped_column(Integer)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[Optional[str]] = mapped_column(String(120))  # host:pid that runs it
    created_at: Mapped[datetime]
    started_at: Mapped[Optional[datetime]]
    heartbeat_at: Mapped[Optional[datetime]]
    finished_at: Mapped[Optional[datetime]]
    result_key: Mapped[Optional[str]] = mapped_column(String(200))
    result_name: Mapped[Optional[str]] = mapped_column(String(200))
    result_size: Mapped[Optional[int]] = mapped_column(Integer)
    result_mimetype: Mapped[Optional[str]] = mapped_column(String(100))
    expires_at: Mapped[Optional[datetime]]
    result_deleted_at: Mapped[Optional[datetime]]
    error: Mapped[Optional[str]] = mapped_column(Text)  # in words a clerk understands

    owner: Mapped[Optional[Staff]] = relationship()

    def __repr__(self):
        return f"<Job {self.id} {self.kind} {self.status}>"
