"""Deadlines: SLA policy matching, due times over the statutory calendar, due soon and overdue.

Resolve due = end (23:59:59) of the N-th working day after the forward date; the forward
day itself never counts. The default policy resolves within 7 working days and calls back
within 5.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from rules.deadlines import (
    DEFAULT_POLICIES,
    PENDING_DEADLINE,
    Policy,
    accept_due,
    callback_due,
    is_due_soon,
    is_overdue,
    match_policy,
    resolve_due,
)

DEFAULT = match_policy([], "complaint", "service", "normal")


def test_default_policy_values():
    """The default policy: accept within 24 h, resolve in 7 working days, call back within 5, 1 callback."""
    assert (DEFAULT.accept_hours, DEFAULT.resolve_days, DEFAULT.callback_days,
            DEFAULT.callbacks_required) == (24, 7, 5, 1)


# --- resolve due over the statutory calendar ---------------------------------------------------


def test_resolve_due_across_national_day(cal):
    """Forwarded the day before National Day: the Golden Week does not count, the make-up Saturday does."""
    # Forwarded Wed 2026-09-30 10:00. Oct 1-7 are holidays. Working days after it:
    # Oct 8 (1), Oct 9 (2), Sat Oct 10 make-up (3), Oct 12 (4), 13 (5), 14 (6), 15 (7).
    assert resolve_due(datetime(2026, 9, 30, 10, 0), DEFAULT, cal) == datetime(2026, 10, 15, 23, 59, 59)


def test_resolve_due_counts_make_up_saturday(cal):
    """Forwarded right after the Golden Week: the make-up Saturday 2026-10-10 is one of the 7 days."""
    # Forwarded Thu 2026-10-08 16:30 (the day itself never counts):
    # Oct 9 (1), Sat Oct 10 make-up (2), Oct 12 (3), 13 (4), 14 (5), 15 (6), 16 (7).
    assert resolve_due(datetime(2026, 10, 8, 16, 30), DEFAULT, cal) == datetime(2026, 10, 16, 23, 59, 59)


def test_resolve_due_across_spring_festival(cal):
    """Around Spring Festival 2026 both make-up Saturdays count and Feb 15-23 do not."""
    # Forwarded Thu 2026-02-12 09:00: Feb 13 (1), Sat Feb 14 make-up (2), Feb 15-23 holidays,
    # Feb 24 (3), 25 (4), 26 (5), 27 (6), Sat Feb 28 make-up (7).
    assert resolve_due(datetime(2026, 2, 12, 9, 0), DEFAULT, cal) == datetime(2026, 2, 28, 23, 59, 59)


def test_resolve_due_into_year_without_data_falls_back(cal):
    """Crossing into 2027 (no statutory data) uses Monday–Friday, records the fallback and never raises."""
    # Forwarded Mon 2026-12-28: Dec 29 (1), 30 (2), 31 (3), then 2027 without statutory data:
    # Fri 2027-01-01 counts as a working day in the Monday–Friday fallback (4),
    # Mon Jan 4 (5), Tue Jan 5 (6), Wed Jan 6 (7).
    assert date(2026, 12, 28).weekday() == 0 and date(2027, 1, 1).weekday() == 4
    assert resolve_due(datetime(2026, 12, 28, 11, 0), DEFAULT, cal) == datetime(2027, 1, 6, 23, 59, 59)
    assert 2027 in cal.fallback_years
    assert cal.has_statutory_data(2027) is False
    assert 2026 not in cal.fallback_years


def test_override_weekday_holiday_shifts_resolve_due(make_calendar):
    """A company day off on a weekday pushes the resolve due date one working day later."""
    # Forwarded Thu 2026-10-08 with Tue Oct 13 declared a company holiday:
    # Oct 9 (1), Sat Oct 10 (2), Oct 12 (3), [13 off], 14 (4), 15 (5), 16 (6), Mon Oct 19 (7).
    cal = make_calendar({date(2026, 10, 13): False})
    assert resolve_due(datetime(2026, 10, 8, 9, 0), DEFAULT, cal) == datetime(2026, 10, 19, 23, 59, 59)


def test_override_saturday_working_shifts_resolve_due(make_calendar, cal):
    """A company working Saturday brings the resolve due date one working day earlier."""
    # Forwarded Mon 2026-10-12. Without override: 13, 14, 15, 16, 19, 20, 21 -> Oct 21.
    # With Sat Oct 17 a company working day: 13, 14, 15, 16, 17, 19, 20 -> Oct 20.
    forwarded = datetime(2026, 10, 12, 9, 0)
    assert resolve_due(forwarded, DEFAULT, cal) == datetime(2026, 10, 21, 23, 59, 59)
    with_override = make_calendar({date(2026, 10, 17): True})
    assert resolve_due(forwarded, DEFAULT, with_override) == datetime(2026, 10, 20, 23, 59, 59)


def test_resolve_due_follows_policy_days(cal):
    """A policy with 3 resolve days gives the end of the 3rd working day."""
    # Forwarded Fri 2026-03-06: Mon 9 (1), Tue 10 (2), Wed 11 (3).
    policy = Policy(resolve_days=3)
    assert resolve_due(datetime(2026, 3, 6, 17, 0), policy, cal) == datetime(2026, 3, 11, 23, 59, 59)


# --- accept due / callback due -------------------------------------------------------------------


@pytest.mark.parametrize(
    "received,due",
    [
        (datetime(2026, 3, 3, 14, 25), datetime(2026, 3, 4, 14, 25)),
        # Calendar hours, not working hours: a holiday does not stop the accept clock.
        (datetime(2026, 9, 30, 10, 0), datetime(2026, 10, 1, 10, 0)),
    ],
)
def test_accept_due_is_received_plus_24_hours(received, due):
    """Accept due is the received time plus the policy's accept hours (24 by default)."""
    assert accept_due(received, DEFAULT) == due


def test_accept_due_follows_policy_hours():
    """A policy with 4 accept hours gives received + 4 h."""
    assert accept_due(datetime(2026, 3, 3, 22, 0), Policy(accept_hours=4)) == datetime(2026, 3, 4, 2, 0)


def test_callback_due_is_five_working_days_after_resolution(cal):
    """Callback due is the end of the 5th working day after the resolution."""
    # Resolved Thu 2026-10-15 14:00: Oct 16 (1), 19 (2), 20 (3), 21 (4), 22 (5).
    assert callback_due(datetime(2026, 10, 15, 14, 0), DEFAULT, cal) == datetime(2026, 10, 22, 23, 59, 59)


def test_callback_due_across_spring_festival(cal):
    """Callback due skips Spring Festival and counts the make-up Saturday."""
    # Resolved Thu 2026-02-12: Feb 13 (1), Sat Feb 14 (2), Feb 24 (3), 25 (4), 26 (5).
    assert callback_due(datetime(2026, 2, 12, 9, 0), DEFAULT, cal) == datetime(2026, 2, 26, 23, 59, 59)


# --- due soon / overdue ---------------------------------------------------------------------------


def test_due_exactly_now_is_due_soon_not_overdue(cal):
    """A deadline exactly at now is due soon and not yet overdue."""
    now = datetime(2026, 3, 3, 10, 0)
    assert is_due_soon(now, now, cal)
    assert not is_overdue(now, now)


def test_one_second_past_due_is_overdue_not_due_soon(cal):
    """One second after the deadline it is overdue and no longer due soon."""
    due = datetime(2026, 3, 3, 10, 0)
    now = due + timedelta(seconds=1)
    assert is_overdue(due, now)
    assert not is_due_soon(due, now, cal)


def test_friday_evening_due_monday_end_of_day_not_due_soon(cal):
    """Friday 18:00 with a deadline at Monday's end of day is not due soon (the weekend uses no time)."""
    now = datetime(2026, 3, 6, 18, 0)
    assert now.weekday() == 4
    monday_end = datetime(2026, 3, 9, 23, 59, 59)
    assert not is_due_soon(monday_end, now, cal)
    assert not is_overdue(monday_end, now)


def test_friday_evening_due_monday_afternoon_is_due_soon(cal):
    """Friday 18:00 with a deadline at Monday 17:59:59 is due soon (less than one working day left)."""
    assert is_due_soon(datetime(2026, 3, 9, 17, 59, 59), datetime(2026, 3, 6, 18, 0), cal)


def test_due_exactly_at_cutoff_is_not_due_soon(cal):
    """A deadline exactly at the cutoff has one full working day left: not due soon; a second less is."""
    now = datetime(2026, 3, 6, 18, 0)
    cutoff = cal.due_soon_cutoff(now)
    assert cutoff == datetime(2026, 3, 9, 18, 0)
    assert not is_due_soon(cutoff, now, cal)
    assert is_due_soon(cutoff - timedelta(seconds=1), now, cal)


def test_due_soon_over_national_day(cal):
    """Over the Golden Week the cutoff skips the holidays: on Sep 30 10:00, due before Oct 8 10:00 is due soon."""
    now = datetime(2026, 9, 30, 10, 0)
    assert is_due_soon(datetime(2026, 10, 8, 9, 59, 59), now, cal)
    assert not is_due_soon(datetime(2026, 10, 8, 10, 0), now, cal)


def test_no_deadline_is_neither_due_soon_nor_overdue(cal):
    """A complaint with no deadline is neither due soon nor overdue."""
    now = datetime(2026, 3, 3, 10, 0)
    assert not is_due_soon(None, now, cal)
    assert not is_overdue(None, now)


def test_pending_deadline_per_status():
    """Each status waits on the right deadline: accept, resolve, callback, or none."""
    assert PENDING_DEADLINE == {
        "registered": "accept", "accepted": None, "forwarded": "resolve",
        "in_progress": "resolve", "resolved": "callback", "callback": "callback",
        "rejected": None, "closed": None,
    }


# --- policy matching ---------------------------------------------------------------------------

POLICIES = [
    Policy(id=1, resolve_days=7),
    Policy(id=2, resolve_days=5, kind="complaint"),
    Policy(id=3, resolve_days=3, kind="complaint", category="product_quality"),
    Policy(id=4, resolve_days=2, category="product_quality", severity="critical"),
    Policy(id=5, resolve_days=1, kind="complaint", category="product_quality", severity="critical"),
    Policy(id=6, resolve_days=4, severity="major"),
]


@pytest.mark.parametrize(
    "kind,category,severity,want_id",
    [
        ("consultation", "service", "normal", 1),         # only the catch-all matches
        ("complaint", "service", "normal", 2),            # kind beats catch-all
        ("complaint", "product_quality", "normal", 3),    # kind+category beats kind
        ("complaint", "product_quality", "critical", 5),  # all three beat any two
        ("suggestion", "product_quality", "critical", 4),  # category+severity
        ("complaint", "service", "major", 2),             # tie (kind vs severity): lowest id
        ("complaint", None, "normal", 2),                 # no category: category policies skip
    ],
)
def test_match_policy_most_specific_wins(kind, category, severity, want_id):
    """The matching policy with most fields set wins; ties go to the lowest id."""
    assert match_policy(POLICIES, kind, category, severity).id == want_id


def test_match_policy_tie_goes_to_lowest_id_in_any_order():
    """Between equally specific policies the lowest id wins, whatever the list order."""
    a = Policy(id=9, resolve_days=1, kind="complaint")
    b = Policy(id=4, resolve_days=2, category="billing")
    for order in ([a, b], [b, a]):
        assert match_policy(order, "complaint", "billing", "normal").id == 4


@pytest.mark.parametrize(
    "kind,category,required",
    [
        ("complaint", "product_quality", 2),
        ("complaint", "service", 1),
        ("complaint", None, 1),
        ("consultation", "product_quality", 1),
        ("suggestion", "product_quality", 1),
    ],
)
def test_default_policies_callbacks_required(kind, category, required):
    """With no configured policy: 2 callbacks for product-quality complaints, 1 for everything else."""
    assert match_policy([], kind, category, "normal").callbacks_required == required


def test_empty_policy_list_uses_default_policies():
    """An empty policy list falls back to the built-in DEFAULT_POLICIES."""
    assert match_policy([], "complaint", "product_quality", "major") in DEFAULT_POLICIES
    assert match_policy([], "consultation", None, "normal") == DEFAULT_POLICIES[0]


def test_policies_matching_nothing_fall_back_to_defaults():
    """Configured policies that all miss the complaint fall back to the defaults, never raise."""
    only_billing = [Policy(id=1, resolve_days=2, category="billing")]
    assert match_policy(only_billing, "complaint", "product_quality", "normal").callbacks_required == 2
