"""Working days: China's statutory calendar, the company's overrides, and a fallback.

The statutory data (holidays and make-up working weekends, 调休) is handed in as plain
sets of dates by the caller (see ``services.calendar_source``), so this module needs
nothing but the standard library. For a year with no statutory data the calendar falls
back to Monday–Friday, never raises, and records the year in ``fallback_years``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta

END_OF_DAY = time(23, 59, 59)


class BusinessCalendar:
    def __init__(
        self,
        holidays: Iterable[date] = (),
        workdays: Iterable[date] = (),
        known_years: Iterable[int] = (),
        overrides: Mapping[date, bool] | None = None,
    ):
        self.holidays = frozenset(holidays)
        self.workdays = frozenset(workdays)  # weekend days that are statutory working days
        self.known_years = frozenset(known_years)
        self.overrides = dict(overrides or {})
        self.fallback_years: set[int] = set()

    def has_statutory_data(self, year: int) -> bool:
        return year in self.known_years

    def is_working_day(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year not in self.known_years:
            self.fallback_years.add(day.year)
            return day.weekday() < 5
        if day in self.holidays:
            return False
        if day in self.workdays:
            return True
        return day.weekday() < 5

    def add_working_days(self, start: date, days: int) -> date:
        """The ``days``-th working day after ``start`` (``start`` itself never counts)."""
        if days < 0:
            raise ValueError("days must not be negative")
        day = start
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def due_after(self, start: datetime, days: int) -> datetime:
        """End of the ``days``-th working day after ``start``."""
        return datetime.combine(self.add_working_days(start.date(), days), END_OF_DAY)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 if end <= start)."""
        count = 0
        day = start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return count

    def due_soon_cutoff(self, now: datetime) -> datetime:
        """The moment one full working day (24 working hours) from ``now``.

        A deadline before this moment has less than one working day left: "due soon".
        Non-working days do not use up the day.
        """
        remaining = timedelta(days=1)
        cursor = now
        while True:
            day_end = datetime.combine(cursor.date() + timedelta(days=1), time(0))
            if self.is_working_day(cursor.date()):
                available = day_end - cursor
                if available >= remaining:
                    return cursor + remaining
                remaining -= available
            cursor = day_end


def statutory_years(holidays: Iterable[date], workdays: Iterable[date]) -> set[int]:
    """The years a statutory data set covers."""
    return {d.year for d in holidays} | {d.year for d in workdays}
