"""Builds the working calendar: statutory data from chinesecalendar + the company's overrides."""

from __future__ import annotations

from datetime import date
from functools import lru_cache

from sqlalchemy import select

from models import CalendarDay, SlaPolicy, db
from rules.calendar import BusinessCalendar, statutory_years
from rules.deadlines import Policy


@lru_cache(maxsize=1)
def _statutory():
    try:
        import chinese_calendar.constants as cc
    except ImportError:  # the package is pinned; without it every year uses the fallback
        return frozenset(), frozenset(), frozenset()
    holidays = frozenset(cc.holidays)
    workdays = frozenset(cc.workdays)
    return holidays, workdays, frozenset(statutory_years(holidays, workdays))


def overrides() -> dict[date, bool]:
    rows = db.session.execute(select(CalendarDay.day, CalendarDay.is_working_day)).all()
    return {day: working for day, working in rows}


def business_calendar() -> BusinessCalendar:
    holidays, workdays, years = _statutory()
    return BusinessCalendar(holidays, workdays, years, overrides())


def statutory_data_years() -> frozenset[int]:
    return _statutory()[2]


def policies() -> list[Policy]:
    rows = db.session.scalars(select(SlaPolicy).where(SlaPolicy.active.is_(True))).all()
    return [row.policy() for row in rows]


def statutory_calendar(company_overrides: dict[date, bool] | None = None) -> BusinessCalendar:
    """The calendar with the given overrides, without a database session (migrations)."""
    holidays, workdays, years = _statutory()
    return BusinessCalendar(holidays, workdays, years, company_overrides or {})
