"""Configuration the administrator keeps: SLA policies and the company's calendar."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Optional

from sqlalchemy import Boolean, Integer, Numeric, String, false
from sqlalchemy.orm import Mapped, mapped_column

from rules import Policy
from rules.customer_messages import DEFAULT_CHANNELS, format_channels

from .base import db


class SlaPolicy(db.Model):
    """时限规则: matched on kind / category / severity; the most specific wins."""

    __tablename__ = "sla_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[Optional[str]] = mapped_column(String(20))
    category_code: Mapped[Optional[str]] = mapped_column(String(32))
    severity: Mapped[Optional[str]] = mapped_column(String(10))
    accept_hours: Mapped[int] = mapped_column(Integer, default=24)
    resolve_days: Mapped[int] = mapped_column(Integer, default=7)
    callback_days: Mapped[int] = mapped_column(Integer, default=5)
    callbacks_required: Mapped[int] = mapped_column(Integer, default=1)
    forward_hours: Mapped[int] = mapped_column(Integer, default=24, server_default="24")
    review_days: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    reply_days: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    decision_days: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    followup_days: Mapped[int] = mapped_column(Integer, default=30, server_default="30")
    # 处理方案: a plan approved before resolving (always, or above a compensation amount).
    plan_required: Mapped[bool] = mapped_column(Boolean, default=False,
                                                server_default=false())
    plan_over_amount: Mapped[Optional[Decimal]] = mapped_column(Numeric(12, 2))
    plan_days: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    def __repr__(self):
        return f"<SlaPolicy {self.name}>"

    def __str__(self):
        return self.name

    def policy(self) -> Policy:
        return Policy(
            accept_hours=self.accept_hours,
            resolve_days=self.resolve_days,
            callback_days=self.callback_days,
            callbacks_required=self.callbacks_required,
            forward_hours=self.forward_hours,
            review_days=self.review_days,
            reply_days=self.reply_days,
            decision_days=self.decision_days,
            followup_days=self.followup_days,
            plan_required=bool(self.plan_required),
            plan_over_amount=self.plan_over_amount,
            plan_days=self.plan_days if self.plan_days is not None else 1,
            kind=self.kind or None,
            category=self.category_code or None,
            severity=self.severity or None,
            id=self.id,
        )


class CalendarDay(db.Model):
    """The company's own override of one day of the working calendar."""

    __tablename__ = "calendar_day"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(unique=True)
    is_working_day: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[Optional[str]] = mapped_column(String(200))

    def __repr__(self):
        return f"<CalendarDay {self.day} {'work' if self.is_working_day else 'off'}>"


class Setting(db.Model):
    """One company setting (key → value), kept by the administrator."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Optional[str]] = mapped_column(String(200))

    def __repr__(self):
        return f"<Setting {self.key}={self.value}>"


# The department that sees the accountability records (行政人事部 by default).
ACCOUNTABILITY_DEPARTMENT = "accountability_department"
# The intake channels whose customers are sent the acknowledgement and the result (R8):
# a comma list (rules.customer_messages; by default all but relayed and walk-in).
CUSTOMER_MESSAGE_CHANNELS = "customer_message_channels"
# The inspection department (督察考评, the supervisors) records callbacks too: "yes" / "no".
SUPERVISOR_CALLBACKS = "supervisor_callbacks"
YES, NO = "yes", "no"
DEFAULT_SETTINGS = {ACCOUNTABILITY_DEPARTMENT: "HR",
                    CUSTOMER_MESSAGE_CHANNELS: format_channels(DEFAULT_CHANNELS),
                    SUPERVISOR_CALLBACKS: NO}


def supervisors_call_back() -> bool:
    """Whether the supervisors record callbacks (the setting), read once per app context
    (a request): Staff.actor asks it for every supervisor's decision and list page."""
    from flask import g, has_app_context

    cached = g.get("supervisors_call_back") if has_app_context() else None
    if cached is None:
        value = db.session.get(Setting, SUPERVISOR_CALLBACKS)
        cached = (value.value if value is not None and value.value else NO) == YES
        if has_app_context():
            g.supervisors_call_back = cached
    return cached
