"""BusinessCalendar over chinese_calendar's statutory data, company overrides and the fallback."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.calendar import BusinessCalendar, statutory_years


def _production_calendar(overrides=None) -> BusinessCalendar:
    import chinese_calendar.constants as cc

    return BusinessCalendar(cc.holidays.keys(), cc.workdays.keys(),
                            statutory_years(cc.holidays, cc.workdays), overrides)


# One shared calendar for the property tests (fallback_years bookkeeping does not matter there).
SHARED = _production_calendar()


@pytest.mark.parametrize(
    "day,working",
    [
        (date(2026, 10, 1), False),   # National Day
        (date(2026, 10, 7), False),   # last day of the Golden Week
        (date(2026, 10, 8), True),    # Thursday after it
        (date(2026, 10, 10), True),   # make-up working Saturday (调休)
        (date(2026, 10, 11), False),  # ordinary Sunday
        (date(2026, 10, 17), False),  # ordinary Saturday
        (date(2026, 2, 14), True),    # Saturday before Spring Festival, make-up workday
        (date(2026, 2, 16), False),   # Spring Festival (Monday)
        (date(2026, 2, 23), False),   # last Spring Festival holiday (Monday)
        (date(2026, 2, 24), True),    # back to work (Tuesday)
        (date(2026, 2, 28), True),    # Saturday after Spring Festival, make-up workday
        (date(2026, 3, 6), True),     # ordinary Friday
    ],
)
def test_statutory_working_days_2026(cal, day, working):
    """Statutory holidays are off, make-up Saturdays are on, other days follow Monday–Friday."""
    assert cal.is_working_day(day) is working


def test_statutory_years_cover_2026_not_2027(cal):
    """The installed statutory data covers 2026 but not 2027."""
    assert cal.has_statutory_data(2026)
    assert not cal.has_statutory_data(2027)


def test_statutory_years_helper_collects_years():
    """statutory_years() is the set of years of all holidays and make-up days given."""
    years = statutory_years([date(2024, 1, 1)], [date(2025, 1, 26), date(2024, 2, 4)])
    assert years == {2024, 2025}
    assert statutory_years([], []) == set()


def test_unknown_year_falls_back_to_monday_friday(cal):
    """A year without statutory data counts Monday–Friday, records the fallback, never raises."""
    assert cal.fallback_years == set()
    # 2027-01-01 is a Friday; in the fallback it is an ordinary working day (no holiday data).
    assert date(2027, 1, 1).weekday() == 4
    assert cal.is_working_day(date(2027, 1, 1)) is True
    assert cal.is_working_day(date(2027, 1, 2)) is False  # Saturday
    assert cal.fallback_years == {2027}
    assert cal.add_working_days(date(2027, 12, 30), 3) == date(2028, 1, 4)
    assert cal.fallback_years == {2027, 2028}


def test_known_year_is_not_recorded_as_fallback(cal):
    """Asking about a year with statutory data does not record a fallback."""
    cal.add_working_days(date(2026, 3, 2), 30)
    assert cal.fallback_years == set()


def test_override_makes_weekday_a_holiday(make_calendar):
    """A company override can make an ordinary weekday a day off."""
    cal = make_calendar({date(2026, 10, 13): False})
    assert not cal.is_working_day(date(2026, 10, 13))
    assert cal.is_working_day(date(2026, 10, 14))


def test_override_makes_saturday_and_statutory_holiday_working(make_calendar):
    """A company override can make a Saturday, or even a statutory holiday, a working day."""
    cal = make_calendar({date(2026, 10, 17): True, date(2026, 10, 2): True})
    assert cal.is_working_day(date(2026, 10, 17))
    assert cal.is_working_day(date(2026, 10, 2))
    assert not cal.is_working_day(date(2026, 10, 3))


def test_override_in_fallback_year_wins(make_calendar):
    """An override also applies in a year without statutory data."""
    cal = make_calendar({date(2027, 1, 1): False})
    assert not cal.is_working_day(date(2027, 1, 1))


def test_add_zero_working_days_is_start(cal):
    """Adding zero working days returns the start day itself, even if it is not a working day."""
    assert cal.add_working_days(date(2026, 10, 3), 0) == date(2026, 10, 3)


def test_add_negative_working_days_raises(cal):
    """A negative number of working days is a programming error (ValueError)."""
    with pytest.raises(ValueError):
        cal.add_working_days(date(2026, 10, 3), -1)


def test_start_day_never_counts(cal):
    """The start day is never counted, even when it is a working day."""
    assert cal.add_working_days(date(2026, 3, 2), 1) == date(2026, 3, 3)  # Mon -> Tue
    assert cal.add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Fri -> Mon


def test_working_days_between_examples(cal):
    """working_days_between counts working days after start up to and including end."""
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 8)) == 1
    assert cal.working_days_between(date(2026, 9, 30), date(2026, 10, 10)) == 3
    assert cal.working_days_between(date(2026, 3, 6), date(2026, 3, 6)) == 0
    assert cal.working_days_between(date(2026, 3, 9), date(2026, 3, 6)) == 0


def test_empty_calendar_is_monday_friday_everywhere():
    """Without any statutory data: Monday–Friday, and every year asked about is recorded."""
    cal = BusinessCalendar()
    assert cal.add_working_days(date(2026, 9, 30), 7) == date(2026, 10, 9)
    assert cal.fallback_years == {2026}


# --- due soon cutoff -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "now,cutoff",
    [
        # An ordinary Tuesday: exactly 24 hours later.
        (datetime(2026, 3, 3, 10, 0), datetime(2026, 3, 4, 10, 0)),
        # Friday 18:00: 6 h left on Friday, Saturday and Sunday skipped, 18 h of Monday.
        (datetime(2026, 3, 6, 18, 0), datetime(2026, 3, 9, 18, 0)),
        # Saturday noon: the weekend uses nothing; all of Monday.
        (datetime(2026, 3, 7, 12, 0), datetime(2026, 3, 10, 0, 0)),
        # Day before National Day, 10:00: 14 h, Oct 1-7 skipped, 10 h of Oct 8.
        (datetime(2026, 9, 30, 10, 0), datetime(2026, 10, 8, 10, 0)),
        # Friday Oct 9 18:00: the make-up Saturday Oct 10 is a working day.
        (datetime(2026, 10, 9, 18, 0), datetime(2026, 10, 10, 18, 0)),
        # Midnight of a working day: the end of that day.
        (datetime(2026, 3, 3, 0, 0), datetime(2026, 3, 4, 0, 0)),
    ],
)
def test_due_soon_cutoff_skips_non_working_days(cal, now, cutoff):
    """The due-soon cutoff is one full working day from now; non-working days do not use it up."""
    assert cal.due_soon_cutoff(now) == cutoff


# --- properties ----------------------------------------------------------------------------

DAYS = st.dates(min_value=date(2005, 1, 1), max_value=date(2028, 12, 31))


@settings(max_examples=200, deadline=None)
@given(start=DAYS, n=st.integers(1, 40))
def test_add_working_days_lands_on_working_day(start, n):
    """add_working_days(d, n) for n >= 1 is a working day after d."""
    end = SHARED.add_working_days(start, n)
    assert end > start
    assert SHARED.is_working_day(end)


@settings(max_examples=200, deadline=None)
@given(start=DAYS, n=st.integers(0, 40))
def test_add_working_days_is_strictly_monotonic(start, n):
    """One more working day always lands strictly later."""
    assert SHARED.add_working_days(start, n) < SHARED.add_working_days(start, n + 1)


@settings(max_examples=200, deadline=None)
@given(start=DAYS, n=st.integers(0, 40))
def test_working_days_between_inverts_add(start, n):
    """working_days_between(d, add_working_days(d, n)) == n."""
    assert SHARED.working_days_between(start, SHARED.add_working_days(start, n)) == n


@settings(max_examples=200, deadline=None)
@given(now=st.datetimes(min_value=datetime(2005, 1, 1), max_value=datetime(2028, 12, 1)))
def test_due_soon_cutoff_is_one_working_day_away(now):
    """The cutoff lies at least 24 h after now; exactly 24 h when all of them are working time."""
    cutoff = SHARED.due_soon_cutoff(now)
    assert cutoff >= now + timedelta(days=1)
    if SHARED.is_working_day(now.date()) and SHARED.is_working_day(now.date() + timedelta(days=1)):
        assert cutoff == now + timedelta(days=1)
