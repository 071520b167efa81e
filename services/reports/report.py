"""The month of a report and what the report holds; the SQL that fills it is in ``figures``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta

from models import Department

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


# --- periods ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A calendar month, [start, end) in local time."""

    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m}"

    @property
    def previous(self) -> Period:
        last = self.start - timedelta(days=1)
        return month(f"{last:%Y-%m}")


def month(text: str) -> Period:
    """The month written ``YYYY-MM``; raises ValueError otherwise."""
    found = _MONTH.match((text or "").strip())
    if not found:
        raise ValueError("month must look like 2026-11")
    year, number = int(found.group(1)), int(found.group(2))
    start = datetime(year, number, 1)  # ValueError for month 13
    end = datetime(year + (number == 12), number % 12 + 1, 1)
    return Period(start, end)


# --- figures ------------------------------------------------------------------------------


@dataclass
class Figures:
    """The figures of one department (or of all) for one month; see docs/metrics.md."""

    received: int = 0
    closed: int = 0
    open_at_end: int = 0
    overdue: int = 0
    resolved: int = 0
    on_time: int = 0  # resolved, and not after the resolve deadline in force
    reopened: int = 0  # resolved, and reopened at least once (mode "reopened")
    on_the_spot: int = 0  # resolved, answered on the spot, never reopened
    late: int = 0  # resolved after the deadline, not on the spot, never reopened
    extension_requests: int = 0
    callbacks_rated: int = 0
    callbacks_good: int = 0  # very satisfied or satisfied
    resolve_days: int = 0  # Σ working days received → resolved, over the resolved
    handling_days: int = 0  # Σ working days forwarded → resolved
    handled: int = 0  # resolved complaints that were forwarded (handling-days denominator)

    @property
    def within_deadline(self) -> int:
        """Handling mode "within deadline": the resolved ones in no other mode."""
        return self.resolved - self.reopened - self.on_the_spot - self.late

    @property
    def on_time_rate(self):
        return _ratio(self.on_time, self.resolved)

    @property
    def reopen_rate(self):
        return _ratio(self.reopened, self.resolved)

    @property
    def satisfaction_rate(self):
        return _ratio(self.callbacks_good, self.callbacks_rated)

    @property
    def avg_resolve_days(self):
        return _ratio(self.resolve_days, self.resolved)

    @property
    def avg_handling_days(self):
        return _ratio(self.handling_days, self.handled)

    def __iadd__(self, other: Figures) -> Figures:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self


def _ratio(part, whole):
    return part / whole if whole else None


@dataclass
class MonthlyReport:
    period: Period
    department: Department | None  # None: every department
    total: Figures
    previous_total: Figures
    by_department: list[tuple[int | None, Figures]]
    department_names: dict[int | None, str]
    kind_category: dict[tuple[str, int | None], int]
    categories: list[tuple[int | None, str]]
    channels: dict[str, int]
    classes: dict[str, int]
    satisfaction: dict[str, int]
    repeat_complainants: list[tuple]
    made_at: datetime
    extra: dict = field(default_factory=dict)
