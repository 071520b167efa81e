"""Deadlines: which SLA policy applies, when each step is due, overdue and due soon."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .calendar import BusinessCalendar
from .constants import Status

PRODUCT_QUALITY = "product_quality"


@dataclass(frozen=True)
class Policy:
    """An SLA rule; ``None`` in kind/category/severity matches anything."""

    accept_hours: int = 24
    resolve_days: int = 7
    callback_days: int = 5
    callbacks_required: int = 1
    kind: str | None = None
    category: str | None = None
    severity: str | None = None
    id: int = 0

    def matches(self, kind, category, severity) -> bool:
        return (
            (self.kind is None or self.kind == kind)
            and (self.category is None or self.category == category)
            and (self.severity is None or self.severity == severity)
        )

    @property
    def specificity(self) -> int:
        return sum(v is not None for v in (self.kind, self.category, self.severity))


# The company's written rules: accept within 24 h, resolve within 7 working days, first
# callback within 5 working days, 2 callbacks for product-quality complaints, 1 otherwise.
DEFAULT_POLICIES = (
    Policy(),
    Policy(callbacks_required=2, kind="complaint", category=PRODUCT_QUALITY),
)


def match_policy(policies: Iterable[Policy], kind: str, category: str | None,
                 severity: str) -> Policy:
    """The most specific policy matching the complaint; ties go to the lowest id."""
    candidates = [p for p in policies if p.matches(kind, category, severity)]
    if not candidates:
        candidates = [p for p in DEFAULT_POLICIES if p.matches(kind, category, severity)]
    return max(candidates, key=lambda p: (p.specificity, -p.id))


def accept_due(received_at: datetime, policy: Policy) -> datetime:
    return received_at + timedelta(hours=policy.accept_hours)


def resolve_due(forwarded_at: datetime, policy: Policy, calendar: BusinessCalendar) -> datetime:
    return calendar.due_after(forwarded_at, policy.resolve_days)


def callback_due(resolved_at: datetime, policy: Policy, calendar: BusinessCalendar) -> datetime:
    return calendar.due_after(resolved_at, policy.callback_days)


def is_overdue(due: datetime | None, now: datetime) -> bool:
    return due is not None and now > due


def is_due_soon(due: datetime | None, now: datetime, calendar: BusinessCalendar) -> bool:
    """Not yet overdue, with less than one working day left."""
    return due is not None and now <= due < calendar.due_soon_cutoff(now)


# Which deadline a complaint is waiting on, by status ("current due"); None: none.
PENDING_DEADLINE = {
    Status.REGISTERED: "accept",
    Status.ACCEPTED: None,
    Status.FORWARDED: "resolve",
    Status.IN_PROGRESS: "resolve",
    Status.RESOLVED: "callback",
    Status.CALLBACK: "callback",
    Status.REJECTED: None,
    Status.CLOSED: None,
}
