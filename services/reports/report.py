"""The period of a report (a month, a quarter, a half-year or a free range of days, with the
previous period of the same length) and what the report holds; the SQL that fills it is in
``figures``, the file is written by ``workbook``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta

from models import Department

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})\s*-?\s*Q([1-4])$", re.IGNORECASE)
_HALF = re.compile(r"^(\d{4})\s*-?\s*H([12])$", re.IGNORECASE)
_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")

# The kinds of period a report covers (docs/metrics.md, "Periods").
MONTH, QUARTER, HALF, RANGE = "month", "quarter", "half", "range"
PERIOD_KINDS = (MONTH, QUARTER, HALF, RANGE)
MAX_RANGE_DAYS = 731  # a free range covers at most two years


# --- periods ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A span of whole days, [start, end) in local time: a calendar month, a quarter, a
    half-year, or a free range of days (both ends included as days)."""

    start: datetime
    end: datetime
    kind: str = MONTH

    @property
    def label(self) -> str:
        if self.kind == QUARTER:
            return f"{self.start.year}Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == HALF:
            return f"{self.start.year}H{1 if self.start.month <= 6 else 2}"
        if self.kind == RANGE:
            return f"{self.first_day:%Y-%m-%d}–{self.last_day:%Y-%m-%d}"
        return f"{self.start:%Y-%m}"

    @property
    def first_day(self) -> date:
        return self.start.date()

    @property
    def last_day(self) -> date:
        return (self.end - timedelta(days=1)).date()

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def is_month(self) -> bool:
        return self.kind == MONTH

    @property
    def previous(self) -> Period:
        """The period of the same length just before: the previous month, quarter or
        half-year; for a free range, as many days ending the day before it starts."""
        if self.kind == RANGE:
            return Period(self.start - (self.end - self.start), self.start, RANGE)
        months = {MONTH: 1, QUARTER: 3, HALF: 6}[self.kind]
        index = self.start.year * 12 + self.start.month - 1 - months
        return _months(index // 12, index % 12 + 1, months, self.kind)


def _months(year: int, first_month: int, count: int, kind: str) -> Period:
    start = datetime(year, first_month, 1)  # ValueError for a bad month
    index = year * 12 + first_month - 1 + count
    return Period(start, datetime(index // 12, index % 12 + 1, 1), kind)


def month(text: str) -> Period:
    """The month written ``YYYY-MM``; raises ValueError otherwise."""
    found = _MONTH.match((text or "").strip())
    if not found:
        raise ValueError("month must look like 2026-11")
    return _months(int(found.group(1)), int(found.group(2)), 1, MONTH)


def quarter(text: str) -> Period:
    """The quarter written ``YYYYQn`` (2026Q4: October to December); ValueError otherwise."""
    found = _QUARTER.match((text or "").strip())
    if not found:
        raise ValueError("quarter must look like 2026Q4")
    return _months(int(found.group(1)), 3 * int(found.group(2)) - 2, 3, QUARTER)


def half(text: str) -> Period:
    """The half-year written ``YYYYHn`` (2026H2: July to December); ValueError otherwise."""
    found = _HALF.match((text or "").strip())
    if not found:
        raise ValueError("half-year must look like 2026H2")
    return _months(int(found.group(1)), 6 * int(found.group(2)) - 5, 6, HALF)


def _day(text: str) -> date:
    found = _DAY.match((text or "").strip())
    if not found:
        raise ValueError("a day must look like 2026-10-01")
    return date(*(int(g) for g in found.groups()))  # ValueError for 2026-02-30


def date_range(first: str | date, last: str | date) -> Period:
    """The days ``first`` to ``last``, both included (``YYYY-MM-DD``); ValueError when a
    day is malformed, the range runs backwards or is longer than MAX_RANGE_DAYS."""
    first = first if isinstance(first, date) else _day(first)
    last = last if isinstance(last, date) else _day(last)
    if last < first:
        raise ValueError("the range ends before it starts")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ValueError(f"a range covers at most {MAX_RANGE_DAYS} days")
    start = datetime.combine(first, datetime.min.time())
    return Period(start, datetime.combine(last + timedelta(days=1), datetime.min.time()),
                  RANGE)


def parse_period(kind: str, value: str = "", first: str = "", last: str = "") -> Period:
    """The period a screen or the command line asked for; ValueError when it is wrong."""
    parsers = {MONTH: month, QUARTER: quarter, HALF: half}
    if kind == RANGE:
        return date_range(first, last)
    if kind not in parsers:
        raise ValueError("unknown kind of period")
    return parsers[kind](value)


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
    # The sheets that depend on who asks (None: not in this workbook; see ReportOptions).
    people: list[PersonFigures] | None = None
    parts: list[tuple] | None = None
    corrective: list[tuple] | None = None


# A period's report is the monthly report generalised; the old name stays for its callers.
PeriodReport = MonthlyReport


@dataclass
class PersonFigures:
    """One staff member's figures for the period (docs/metrics.md, "Per person")."""

    person_id: int
    name: str
    department: str
    handled: int = 0  # resolved in the period, the complaint assigned to them
    on_time: int = 0  # of those, resolved within the resolve deadline in force
    reopened: int = 0  # of those, reopened at least once
    overdue: int = 0  # missed deadlines in their name (accountability records)
    responsible: int = 0  # of those, the latest finding "responsible"
    closed_rated: int = 0  # closed in the period, assigned to them, a final satisfaction
    closed_good: int = 0  # of those, very satisfied or satisfied
    caused: int = 0  # resolved in the period with them recorded as the cause

    @property
    def on_time_rate(self):
        return _ratio(self.on_time, self.handled)

    @property
    def satisfaction_rate(self):
        return _ratio(self.closed_good, self.closed_rated)


@dataclass(frozen=True)
class ReportOptions:
    """What one workbook holds besides the figures every report role gets; built for a
    staff member by ``services.reports.access.options_for`` (or by ``flask report``'s
    flags). ``people_only``: the per-person sheet alone."""

    mask_phones: bool = True
    per_person: bool = False
    corrective: bool = False
    people_only: bool = False
