"""What the further procedures keep (issue 12): handling plans, assisting departments'
parts, corrective and preventive actions. Decisions are in ``rules`` (plan, assist,
capa); the services write these rows and the complaint's audit events together.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Optional

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import db
from .complaint import Category, Complaint
from .org import Department, Staff


class HandlingPlan(db.Model):
    """处理方案: one submitted plan (append-only; a new submission is a new row). Its
    approval and the customer's answer are the complaint's events (plan_approve, …)."""

    __tablename__ = "handling_plan"
    __table_args__ = (Index("ix_handling_plan_complaint_id_id", "complaint_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"))
    submitted_at: Mapped[datetime]
    submitted_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    text: Mapped[str] = mapped_column(Text)
    event_id: Mapped[Optional[int]] = mapped_column(ForeignKey("complaint_event.id"))

    complaint: Mapped[Complaint] = relationship()
    submitted_by: Mapped[Optional[Staff]] = relationship()

    def __repr__(self):
        return f"<HandlingPlan {self.id} of complaint {self.complaint_id}>"


class Assist(db.Model):
    """协办: one assisting department's part of a complaint (versioned: its status moves
    open → reported / withdrawn, each move an event on the complaint)."""

    __tablename__ = "assist"
    __table_args__ = (
        Index("ix_assist_complaint_id_id", "complaint_id", "id"),
        # An assisting department's queue and the scope clause (services.queries).
        Index("ix_assist_department_status", "department_id", "status"),
        Index("ix_assist_assignee_status", "assignee_id", "status"),
        # The sweep: open parts by their sub-deadline.
        Index("ix_assist_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    # The handler there who does the part (the assisting head names one; None: the head).
    assignee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    task: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="open")  # rules AssistStatus
    created_at: Mapped[datetime]
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    report: Mapped[Optional[str]] = mapped_column(Text)
    reported_at: Mapped[Optional[datetime]]
    reported_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    withdrawn_at: Mapped[Optional[datetime]]
    withdrawn_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    withdraw_reason: Mapped[Optional[str]] = mapped_column(Text)
    # Set by the sweep when due_at was missed while open.
    overdue_since: Mapped[Optional[datetime]]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    complaint: Mapped[Complaint] = relationship()
    department: Mapped[Department] = relationship()
    assignee: Mapped[Optional[Staff]] = relationship(foreign_keys=[assignee_id])
    created_by: Mapped[Optional[Staff]] = relationship(foreign_keys=[created_by_id])
    reported_by: Mapped[Optional[Staff]] = relationship(foreign_keys=[reported_by_id])
    withdrawn_by: Mapped[Optional[Staff]] = relationship(foreign_keys=[withdrawn_by_id])

    def __repr__(self):
        return f"<Assist {self.id} {self.status} of complaint {self.complaint_id}>"


class CorrectiveAction(db.Model):
    """纠正预防措施 (CAPA): problem, cause, action, owner, due, status, effect check.
    Versioned (optimistic lock); every change is a CorrectiveActionEvent."""

    __tablename__ = "corrective_action"
    __table_args__ = (
        Index("ix_corrective_action_status_due", "status", "due_date"),
        Index("ix_corrective_action_owner_dept_status", "owner_department_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # CA-YYYY-NNNN
    kind: Mapped[str] = mapped_column(String(12), default="corrective")  # or "preventive"
    problem: Mapped[str] = mapped_column(Text)
    cause: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    owner_department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    owner_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    category_id: Mapped[Optional[int]] = mapped_column(ForeignKey("category.id"))
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="open")  # rules CapaStatus
    done_at: Mapped[Optional[datetime]]
    done_note: Mapped[Optional[str]] = mapped_column(Text)
    effect_check: Mapped[Optional[str]] = mapped_column(Text)
    effect_checked_at: Mapped[Optional[datetime]]
    effect_checked_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    effective: Mapped[Optional[bool]] = mapped_column(Boolean)
    created_at: Mapped[datetime]
    created_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    updated_at: Mapped[datetime]
    overdue_since: Mapped[Optional[datetime]]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    owner_department: Mapped[Department] = relationship()
    owner: Mapped[Optional[Staff]] = relationship(foreign_keys=[owner_id])
    category: Mapped[Optional[Category]] = relationship()
    created_by: Mapped[Optional[Staff]] = relationship(foreign_keys=[created_by_id])
    effect_checked_by: Mapped[Optional[Staff]] = relationship(
        foreign_keys=[effect_checked_by_id])
    links: Mapped[list[CorrectiveActionLink]] = relationship(
        back_populates="corrective_action", viewonly=True)

    def __repr__(self):
        return f"<CorrectiveAction {self.number} {self.status}>"

    def __str__(self):
        return self.number


class CorrectiveActionLink(db.Model):
    """A complaint a corrective action answers (append-only: a link is never removed)."""

    __tablename__ = "corrective_action_link"
    __table_args__ = (Index("ix_corrective_action_link_complaint", "complaint_id"),)

    corrective_action_id: Mapped[int] = mapped_column(ForeignKey("corrective_action.id"),
                                                      primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), primary_key=True)
    linked_at: Mapped[datetime]
    linked_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))

    corrective_action: Mapped[CorrectiveAction] = relationship(back_populates="links")
    complaint: Mapped[Complaint] = relationship()


class CorrectiveActionEvent(db.Model):
    """The audit trail of a corrective action (append-only)."""

    __tablename__ = "corrective_action_event"
    __table_args__ = (Index("ix_corrective_action_event_ca_id", "corrective_action_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    corrective_action_id: Mapped[int] = mapped_column(ForeignKey("corrective_action.id"))
    at: Mapped[datetime]
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))  # None: the system
    action: Mapped[str] = mapped_column(String(20))  # create, edit, done, check, cancel, …
    from_status: Mapped[Optional[str]] = mapped_column(String(12))
    to_status: Mapped[Optional[str]] = mapped_column(String(12))
    note: Mapped[Optional[str]] = mapped_column(Text)

    actor: Mapped[Optional[Staff]] = relationship()
