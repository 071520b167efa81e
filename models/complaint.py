"""The complaint (客户意见单), its callbacks and its audit trail."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Optional

from sqlalchemy import Boolean, ForeignKey, Index, Integer, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rules import Facts, Status

from .base import db
from .customer import Customer
from .org import Department, Staff


class Category(db.Model):
    """The configurable list of complaint categories."""

    __tablename__ = "category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[Optional[str]] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    # The department complaints of this category usually go to: the forward form suggests it.
    default_department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("department.id"))

    default_department: Mapped[Optional[Department]] = relationship(
        foreign_keys=[default_department_id])

    def __repr__(self):
        return f"<Category {self.code}>"

    def __str__(self):
        return self.name


SWEEP_INDEX_WHERE = "overdue_since IS NULL AND due_at IS NOT NULL"


class Complaint(db.Model):
    __tablename__ = "complaint"
    __table_args__ = (
        # The queues: a department's complaints by status and due time; a handler's; intake's.
        Index("ix_complaint_dept_status_due", "department_id", "status", "due_at"),
        Index("ix_complaint_assignee_status_due", "assignee_id", "status", "due_at"),
        Index("ix_complaint_status_due", "status", "due_at"),
        # "My queue" of a department head: open complaints by due time (no deadline last),
        # read in index order whatever the status (services.queries). A handler's few are
        # found by ix_complaint_assignee_status_due. (No index on due_at alone: the intake
        # queue and the overdue filter read ix_complaint_status_due; bench/index_use.py
        # prints which queries use each index.)
        Index("ix_complaint_dept_due", "department_id", "due_at"),
        # "Escalated to me" and the escalation-level filter, most urgent first.
        Index("ix_complaint_level_due", "escalation_level", "due_at"),
        # The deadline sweep: only the complaints whose deadline is not yet marked missed,
        # with every column the sweep reads, so it never visits the table to find them and
        # a sweep that finds nothing reads nothing (figures: bench/bench_core.py).
        Index("ix_complaint_sweep", "status", "due_at", "department_id", "assignee_id",
              "escalation_level", "overdue_since", "due_kind",
              sqlite_where=text(SWEEP_INDEX_WHERE), postgresql_where=text(SWEEP_INDEX_WHERE)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="complaint")
    channel: Mapped[str] = mapped_column(String(20), default="phone")
    received_at: Mapped[datetime] = mapped_column(index=True)
    registered_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), index=True)
    # The department of whoever registered it, when they are outside customer service
    # (a complaint relayed by a department).
    source_department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("department.id"))

    customer_name: Mapped[str] = mapped_column(String(100), index=True)
    customer_phone: Mapped[Optional[str]] = mapped_column(String(32))
    # Digits only, without +86 / 0086: exact, indexed lookup by phone.
    customer_phone_norm: Mapped[Optional[str]] = mapped_column(String(20), index=True)
    customer_email: Mapped[Optional[str]] = mapped_column(String(200))
    customer_class: Mapped[str] = mapped_column(String(1), default="C")
    # The customer file (models.customer; services.customers links it on register/edit).
    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customer.id"), index=True)

    category_id: Mapped[Optional[int]] = mapped_column(ForeignKey("category.id"), index=True)
    severity: Mapped[str] = mapped_column(String(10), default="normal")
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    demand: Mapped[Optional[str]] = mapped_column(Text)
    # 地点 and 投诉对象 (rules.constants.TargetKind, with what or who exactly).
    location: Mapped[Optional[str]] = mapped_column(String(200))
    target_kind: Mapped[Optional[str]] = mapped_column(String(20))
    target_text: Mapped[Optional[str]] = mapped_column(String(200))
    # Sent down by an upstream centre (R45: rules.constants.UpstreamSource), with its
    # reference, the deadline it set for the report back, and when that report was made.
    upstream_source: Mapped[Optional[str]] = mapped_column(String(20))
    upstream_ref: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    upstream_due: Mapped[Optional[datetime]]
    upstream_reported_at: Mapped[Optional[datetime]]
    upstream_overdue_since: Mapped[Optional[datetime]]

    validity: Mapped[str] = mapped_column(String(10), default="pending")
    validity_reason: Mapped[Optional[str]] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=Status.REGISTERED)
    department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("department.id"))
    assignee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)

    # One deadline per stage (rules.deadlines.DUE_FIELDS) ...
    accept_due: Mapped[Optional[datetime]]
    forward_due: Mapped[Optional[datetime]]
    resolve_due: Mapped[Optional[datetime]]
    extension_due: Mapped[Optional[datetime]]
    review_due: Mapped[Optional[datetime]]
    callback_due: Mapped[Optional[datetime]]
    followup_until: Mapped[Optional[datetime]]
    reply_due: Mapped[Optional[datetime]]
    plan_due: Mapped[Optional[datetime]]
    plan_answer_due: Mapped[Optional[datetime]]
    # ... and the one the complaint is waiting on now, with its clock (rules.Clock).
    due_at: Mapped[Optional[datetime]]
    due_kind: Mapped[Optional[str]] = mapped_column(String(20))
    # Set by the sweep when due_at was missed; cleared when a new deadline is set.
    overdue_since: Mapped[Optional[datetime]]
    # Once any deadline was missed, for the reports ("overdue" handling mode).
    was_overdue: Mapped[bool] = mapped_column(Boolean, default=False)

    accepted_at: Mapped[Optional[datetime]]
    rejected_at: Mapped[Optional[datetime]]
    forwarded_at: Mapped[Optional[datetime]]
    assigned_at: Mapped[Optional[datetime]]
    resolved_at: Mapped[Optional[datetime]]
    reviewed_at: Mapped[Optional[datetime]]
    closed_at: Mapped[Optional[datetime]]

    root_cause: Mapped[Optional[str]] = mapped_column(Text)
    responsibility: Mapped[Optional[str]] = mapped_column(String(20))
    remedy: Mapped[Optional[str]] = mapped_column(String(20))
    compensation_amount: Mapped[Optional[Decimal]] = mapped_column(Numeric(12, 2))
    resolution: Mapped[Optional[str]] = mapped_column(Text)
    answered_on_the_spot: Mapped[bool] = mapped_column(Boolean, default=False)

    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    callbacks_required: Mapped[int] = mapped_column(Integer, default=1)
    callbacks_reached: Mapped[int] = mapped_column(Integer, default=0)
    last_satisfaction: Mapped[Optional[str]] = mapped_column(String(20))
    final_satisfaction: Mapped[Optional[str]] = mapped_column(String(20))
    # Who caused the complaint (recorded with the result): a staff member, or an outside
    # party in words (R52-R54).
    caused_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), index=True)
    caused_by_text: Mapped[Optional[str]] = mapped_column(String(200))
    # 处理方案 (models.plan.HandlingPlan holds the texts): rules.constants.PlanState.
    plan_state: Mapped[Optional[str]] = mapped_column(String(20))
    plan_submitted_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    # 协办: assisting parts still open (models.assist.Assist), kept by services.assist.
    assists_open: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    extension_requested_until: Mapped[Optional[datetime]]
    extension_reason: Mapped[Optional[str]] = mapped_column(Text)
    extension_requested_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    extension_count: Mapped[int] = mapped_column(Integer, default=0)
    # A duplicate closed as merged into its master (services.merge); None otherwise.
    merged_into_id: Mapped[Optional[int]] = mapped_column(ForeignKey("complaint.id"),
                                                          index=True)

    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    category: Mapped[Optional[Category]] = relationship()
    customer: Mapped[Optional[Customer]] = relationship()
    department: Mapped[Optional[Department]] = relationship(foreign_keys=[department_id])
    assignee: Mapped[Optional[Staff]] = relationship(foreign_keys=[assignee_id])
    registered_by: Mapped[Optional[Staff]] = relationship(foreign_keys=[registered_by_id])
    source_department: Mapped[Optional[Department]] = relationship(
        foreign_keys=[source_department_id])
    extension_requested_by: Mapped[Optional[Staff]] = relationship(
        foreign_keys=[extension_requested_by_id]
    )
    caused_by: Mapped[Optional[Staff]] = relationship(foreign_keys=[caused_by_id])
    plan_submitted_by: Mapped[Optional[Staff]] = relationship(
        foreign_keys=[plan_submitted_by_id])
    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint", order_by="ComplaintEvent.id", viewonly=True
    )
    callbacks: Mapped[list[CallbackRecord]] = relationship(
        back_populates="complaint", order_by="CallbackRecord.id", viewonly=True
    )

    def __repr__(self):
        return f"<Complaint {self.number} {self.status}>"

    def __str__(self):
        return f"{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status in Status.OPEN

    def facts(self) -> Facts:
        """The complaint as the rules see it: every Facts field read from its column."""
        values = {name: getattr(self, name) for name in _FACT_COLUMNS}
        return Facts(category=self.category.code if self.category else None, **values)


# (``plan_required`` is the SLA policy's, added by services.complaints.facts_of)
_FACT_COLUMNS = tuple(f.name for f in dataclasses.fields(Facts)
                      if f.name not in ("category", "plan_required"))


class CallbackRecord(db.Model):
    """回访记录: one call (or message, or visit) back to the customer."""

    __tablename__ = "callback_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    at: Mapped[datetime] = mapped_column(index=True)
    method: Mapped[str] = mapped_column(String(20))
    reached: Mapped[bool] = mapped_column(Boolean)
    satisfaction: Mapped[Optional[str]] = mapped_column(String(20))
    solved: Mapped[Optional[bool]] = mapped_column(Boolean)
    notes: Mapped[Optional[str]] = mapped_column(Text)

    complaint: Mapped[Complaint] = relationship(back_populates="callbacks")
    staff: Mapped[Optional[Staff]] = relationship()

    def __repr__(self):
        return f"<CallbackRecord {self.complaint_id} {self.satisfaction}>"


class ComplaintEvent(db.Model):
    """处理记录: the append-only audit trail (database triggers refuse UPDATE and DELETE)."""

    __tablename__ = "complaint_event"
    __table_args__ = (Index("ix_complaint_event_complaint_id_id", "complaint_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"))
    at: Mapped[datetime] = mapped_column(index=True)
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))  # None: the system
    action: Mapped[str] = mapped_column(String(30), index=True)
    from_status: Mapped[Optional[str]] = mapped_column(String(20))
    to_status: Mapped[Optional[str]] = mapped_column(String(20))
    from_department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("department.id"))
    to_department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("department.id"))
    from_assignee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    to_assignee_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    escalation_level: Mapped[Optional[int]] = mapped_column(Integer)
    note: Mapped[Optional[str]] = mapped_column(Text)

    complaint: Mapped[Complaint] = relationship(back_populates="events")
    actor: Mapped[Optional[Staff]] = relationship(foreign_keys=[actor_id])
    from_department: Mapped[Optional[Department]] = relationship(foreign_keys=[from_department_id])
    to_department: Mapped[Optional[Department]] = relationship(foreign_keys=[to_department_id])
    from_assignee: Mapped[Optional[Staff]] = relationship(foreign_keys=[from_assignee_id])
    to_assignee: Mapped[Optional[Staff]] = relationship(foreign_keys=[to_assignee_id])

    def __repr__(self):
        return f"<ComplaintEvent {self.complaint_id} {self.action}>"


class AccountabilityRecord(db.Model):
    """问责记录: one missed deadline, with who was responsible then (append-only)."""

    __tablename__ = "accountability_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    at: Mapped[datetime] = mapped_column(index=True)  # when the sweep found it missed
    clock: Mapped[str] = mapped_column(String(20))  # rules.Clock: which deadline
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20))
    department_id: Mapped[Optional[int]] = mapped_column(ForeignKey("department.id"),
                                                         index=True)
    person_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"), index=True)
    escalation_level: Mapped[int] = mapped_column(Integer)  # after the escalation

    complaint: Mapped[Complaint] = relationship()
    department: Mapped[Optional[Department]] = relationship()
    person: Mapped[Optional[Staff]] = relationship()
    findings: Mapped[list[AccountabilityFinding]] = relationship(
        back_populates="record", order_by="AccountabilityFinding.id", viewonly=True)

    def __repr__(self):
        return f"<AccountabilityRecord {self.complaint_id} {self.clock}>"


class AccountabilityFinding(db.Model):
    """A manager's finding on a missed deadline (append-only: a new finding supersedes)."""

    __tablename__ = "accountability_finding"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("accountability_record.id"), index=True)
    at: Mapped[datetime]
    staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    finding: Mapped[str] = mapped_column(String(20))  # rules.Finding
    note: Mapped[str] = mapped_column(Text)

    record: Mapped[AccountabilityRecord] = relationship(back_populates="findings")
    staff: Mapped[Optional[Staff]] = relationship()


class NumberCounter(db.Model):
    """The last complaint number handed out per day (TS-YYYYMMDD-NNNN)."""

    __tablename__ = "number_counter"

    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class ExportLog(db.Model):
    """Who exported what, with which filters, how many rows (personal data leaves the app)."""

    __tablename__ = "export_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    staff_id: Mapped[Optional[int]] = mapped_column(ForeignKey("staff.id"))
    screen: Mapped[str] = mapped_column(String(50))
    filters: Mapped[Optional[str]] = mapped_column(Text)
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)

    staff: Mapped[Optional[Staff]] = relationship()


