"""Deadlines: SLA policy matching, each clock over the statutory calendar, the deadline a
status waits on, due soon and overdue.

Working-day clocks end at 23:59:59 of the N-th working day after the start day (the start
day itself never counts); hour clocks and the follow-up month are exact. The default policy
accepts and forwards within 24 h, resolves within 7 working days, calls back within 5.

2026 around National Day (chinese_calendar's data, as production): Sun 09-20 is a make-up
working day, Fri 09-25 (Mid-Autumn) to Sun 09-27 and Thu 10-01 to Wed 10-07 are off, Sat
10-10 is a make-up working day.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from rules.constants import Clock, Status
from rules.deadlines import (
    DEFAULT_POLICIES,
    DUE_FIELDS,
    PENDING_DEADLINE,
    RESPONSIBLE,
    STATUS_CLOCKS,
    Policy,
    accept_due,
    callback_due,
    current_due,
    is_due_soon,
    is_overdue,
    match_policy,
    resolve_due,
    start_clock,
)

DEFAULT = match_policy([], "complaint", "service", "normal")


def test_default_policy_values():
    """The default policy: accept and forward within 24 h, resolve in 7 working days, call back
    within 5 (1 callback), review, reply and decide extensions within 1, follow up for 30 days."""
    assert (DEFAULT.accept_hours, DEFAULT.forward_hours, DEFAULT.resolve_days,
            DEFAULT.callback_days, DEFAULT.callbacks_required) == (24, 24, 7, 5, 1)
    assert (DEFAULT.review_days, DEFAULT.reply_days, DEFAULT.decision_days,
            DEFAULT.followup_days) == (1, 1, 1, 30)


def eod(year: int, month: int, day: int) -> datetime:
    """The end (23:59:59) of a day: where every working-day clock ends."""
    return datetime(year, month, day, 23, 59, 59)


# --- resolve due over the statutory calendar ---------------------------------------------------


def test_resolve_due_across_national_day(cal):
    """Forwarded the day before National Day: the Golden Week does not count, the make-up
    Saturday does."""
    # Forwarded Wed 2026-09-30 10:00. Oct 1-7 are holidays. Working days after it:
    # Oct 8 (1), Oct 9 (2), Sat Oct 10 make-up (3), Oct 12 (4), 13 (5), 14 (6), 15 (7).
    assert resolve_due(datetime(2026, 9, 30, 10, 0), DEFAULT, cal) == eod(2026, 10, 15)


def test_resolve_due_counts_make_up_saturday(cal):
    """Forwarded right after the Golden Week: the make-up Saturday 2026-10-10 is one of the 7."""
    # Forwarded Thu 2026-10-08 16:30 (the day itself never counts):
    # Oct 9 (1), Sat Oct 10 make-up (2), Oct 12 (3), 13 (4), 14 (5), 15 (6), 16 (7).
    assert resolve_due(datetime(2026, 10, 8, 16, 30), DEFAULT, cal) == eod(2026, 10, 16)


def test_resolve_due_across_spring_festival(cal):
    """Around Spring Festival 2026 both make-up Saturdays count and Feb 15-23 do not."""
    # Forwarded Thu 2026-02-12 09:00: Feb 13 (1), Sat Feb 14 make-up (2), Feb 15-23 holidays,
    # Feb 24 (3), 25 (4), 26 (5), 27 (6), Sat Feb 28 make-up (7).
    assert resolve_due(datetime(2026, 2, 12, 9, 0), DEFAULT, cal) == eod(2026, 2, 28)


def test_resolve_due_into_year_without_data_falls_back(cal):
    """Crossing into 2027 (no statutory data) uses Monday–Friday, records the fallback and
    never raises."""
    # Forwarded Mon 2026-12-28: Dec 29 (1), 30 (2), 31 (3), then 2027 without statutory data:
    # Fri 2027-01-01 counts as a working day in the Monday–Friday fallback (4),
    # Mon Jan 4 (5), Tue Jan 5 (6), Wed Jan 6 (7).
    assert date(2026, 12, 28).weekday() == 0 and date(2027, 1, 1).weekday() == 4
    assert resolve_due(datetime(2026, 12, 28, 11, 0), DEFAULT, cal) == eod(2027, 1, 6)
    assert 2027 in cal.fallback_years
    assert cal.has_statutory_data(2027) is False
    assert 2026 not in cal.fallback_years


def test_override_weekday_holiday_shifts_resolve_due(make_calendar):
    """A company day off on a weekday pushes the resolve due date one working day later."""
    # Forwarded Thu 2026-10-08 with Tue Oct 13 declared a company holiday:
    # Oct 9 (1), Sat Oct 10 (2), Oct 12 (3), [13 off], 14 (4), 15 (5), 16 (6), Mon Oct 19 (7).
    cal = make_calendar({date(2026, 10, 13): False})
    assert resolve_due(datetime(2026, 10, 8, 9, 0), DEFAULT, cal) == eod(2026, 10, 19)


def test_override_saturday_working_shifts_resolve_due(make_calendar, cal):
    """A company working Saturday brings the resolve due date one working day earlier."""
    # Forwarded Mon 2026-10-12. Without override: 13, 14, 15, 16, 19, 20, 21 -> Oct 21.
    # With Sat Oct 17 a company working day: 13, 14, 15, 16, 17, 19, 20 -> Oct 20.
    forwarded = datetime(2026, 10, 12, 9, 0)
    assert resolve_due(forwarded, DEFAULT, cal) == eod(2026, 10, 21)
    with_override = make_calendar({date(2026, 10, 17): True})
    assert resolve_due(forwarded, DEFAULT, with_override) == eod(2026, 10, 20)


def test_resolve_due_follows_policy_days(cal):
    """A policy with 3 resolve days gives the end of the 3rd working day."""
    # Forwarded Fri 2026-03-06: Mon 9 (1), Tue 10 (2), Wed 11 (3).
    policy = Policy(resolve_days=3)
    assert resolve_due(datetime(2026, 3, 6, 17, 0), policy, cal) == eod(2026, 3, 11)


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
    due = accept_due(datetime(2026, 3, 3, 22, 0), Policy(accept_hours=4))
    assert due == datetime(2026, 3, 4, 2, 0)


def test_callback_due_is_five_working_days_after_resolution(cal):
    """Callback due is the end of the 5th working day after the resolution."""
    # Resolved Thu 2026-10-15 14:00: Oct 16 (1), 19 (2), 20 (3), 21 (4), 22 (5).
    assert callback_due(datetime(2026, 10, 15, 14, 0), DEFAULT, cal) == eod(2026, 10, 22)


def test_callback_due_across_spring_festival(cal):
    """Callback due skips Spring Festival and counts the make-up Saturday."""
    # Resolved Thu 2026-02-12: Feb 13 (1), Sat Feb 14 (2), Feb 24 (3), 25 (4), 26 (5).
    assert callback_due(datetime(2026, 2, 12, 9, 0), DEFAULT, cal) == eod(2026, 2, 26)


# --- start_clock: every clock, across National Day -------------------------------------------

EVE = datetime(2026, 9, 30, 10, 0)  # Wed, the last working day before the Golden Week


@pytest.mark.parametrize(
    "clock,field,want",
    [
        # Hour clocks run on calendar hours: the holiday does not stop them.
        (Clock.ACCEPT, "accept_due", datetime(2026, 10, 1, 10, 0)),
        (Clock.FORWARD, "forward_due", datetime(2026, 10, 1, 10, 0)),
        # Oct 8 (1), 9 (2), Sat 10 make-up (3), 12 (4), 13 (5), 14 (6), 15 (7).
        (Clock.RESOLVE, "resolve_due", eod(2026, 10, 15)),
        # One working day: the first one after the Golden Week.
        (Clock.EXTENSION, "extension_due", eod(2026, 10, 8)),
        (Clock.REVIEW, "review_due", eod(2026, 10, 8)),
        (Clock.REPLY, "reply_due", eod(2026, 10, 8)),
        # Oct 8 (1), 9 (2), Sat 10 make-up (3), 12 (4), 13 (5).
        (Clock.CALLBACK, "callback_due", eod(2026, 10, 13)),
        # Thirty calendar days, to the minute.
        (Clock.FOLLOWUP, "followup_until", datetime(2026, 10, 30, 10, 0)),
    ],
)
def test_start_clock_from_now_across_national_day(cal, clock, field, want):
    """Each clock started on the eve of National Day sets exactly its own due field."""
    assert start_clock(clock, now=EVE, policy=DEFAULT, calendar=cal) == {field: want}


@pytest.mark.parametrize(
    "clock,now,want",
    [
        # Started on Sat 09-19: the make-up Sunday 09-20 is the first working day.
        (Clock.REVIEW, datetime(2026, 9, 19, 11, 0), eod(2026, 9, 20)),
        (Clock.REPLY, datetime(2026, 9, 19, 11, 0), eod(2026, 9, 20)),
        (Clock.EXTENSION, datetime(2026, 9, 19, 11, 0), eod(2026, 9, 20)),
        # Started on Fri 10-09: the make-up Saturday 10-10 is the next working day.
        (Clock.REVIEW, datetime(2026, 10, 9, 17, 0), eod(2026, 10, 10)),
        # Started Thu 09-24: 09-25..27 (Mid-Autumn) and 10-01..07 off:
        # Mon 09-28 (1), 29 (2), 30 (3), Oct 8 (4), 9 (5), Sat 10 (6), 12 (7).
        (Clock.RESOLVE, datetime(2026, 9, 24, 9, 0), eod(2026, 10, 12)),
        # Started Fri 09-18: Sun 09-20 make-up (1), 21 (2), 22 (3), 23 (4), 24 (5).
        (Clock.CALLBACK, datetime(2026, 9, 18, 16, 0), eod(2026, 9, 24)),
    ],
)
def test_start_clock_counts_make_up_days(cal, clock, now, want):
    """The make-up working Sunday 09-20 and Saturday 10-10 count as working days."""
    assert start_clock(clock, now=now, policy=DEFAULT, calendar=cal) == {DUE_FIELDS[clock]: want}


def test_start_clock_hour_clocks_count_from_receipt(cal):
    """Accept and forward count from receipt when given, else from now."""
    received = datetime(2026, 9, 29, 20, 30)
    for clock in (Clock.ACCEPT, Clock.FORWARD):
        got = start_clock(clock, now=EVE, policy=DEFAULT, calendar=cal, received_at=received)
        assert got == {DUE_FIELDS[clock]: datetime(2026, 9, 30, 20, 30)}
        got = start_clock(clock, now=EVE, policy=DEFAULT, calendar=cal)
        assert got == {DUE_FIELDS[clock]: EVE + timedelta(hours=24)}


def test_start_clock_followup_clocks_count_from_resolution(cal):
    """The first callback and the follow-up month count from the resolution when known."""
    resolved = datetime(2026, 9, 18, 16, 0)  # Fri
    kw = dict(now=EVE, policy=DEFAULT, calendar=cal, resolved_at=resolved)
    assert start_clock(Clock.CALLBACK, **kw) == {"callback_due": eod(2026, 9, 24)}
    assert start_clock(Clock.FOLLOWUP, **kw) == {"followup_until": datetime(2026, 10, 18, 16, 0)}
    # The other clocks ignore it: they start now.
    assert start_clock(Clock.REVIEW, **kw) == {"review_due": eod(2026, 10, 8)}


@pytest.mark.parametrize(
    "clock,want",
    [
        (Clock.ACCEPT, datetime(2026, 9, 30, 14, 0)),  # 4 hours
        (Clock.FORWARD, datetime(2026, 9, 30, 18, 0)),  # 8 hours
        (Clock.RESOLVE, eod(2026, 10, 9)),  # 2 days: Oct 8, 9
        (Clock.EXTENSION, eod(2026, 10, 10)),  # 3 days: Oct 8, 9, Sat 10
        (Clock.REVIEW, eod(2026, 10, 12)),  # 4 days: Oct 8, 9, 10, 12
        (Clock.CALLBACK, eod(2026, 10, 9)),  # 2 days
        (Clock.FOLLOWUP, datetime(2026, 10, 15, 10, 0)),  # 15 calendar days
        (Clock.REPLY, eod(2026, 10, 13)),  # 5 days: Oct 8, 9, 10, 12, 13
    ],
)
def test_start_clock_follows_the_policy(cal, clock, want):
    """Every clock takes its length from its own policy field."""
    policy = Policy(accept_hours=4, forward_hours=8, resolve_days=2, decision_days=3,
                    review_days=4, callback_days=2, followup_days=15, reply_days=5)
    assert start_clock(clock, now=EVE, policy=policy, calendar=cal) == {DUE_FIELDS[clock]: want}


def test_start_clock_unknown_clock_raises(cal):
    """An unknown clock name is a programming error."""
    with pytest.raises(ValueError, match="unknown clock"):
        start_clock("lunch", now=EVE, policy=DEFAULT, calendar=cal)


# --- which deadline a status waits on -------------------------------------------------------

T1, T2, T3 = datetime(2026, 3, 2, 9, 0), datetime(2026, 3, 3, 9, 0), datetime(2026, 3, 4, 9, 0)
ALL_SET = {field: T2 for field in DUE_FIELDS.values()}


@pytest.mark.parametrize(
    "status,dues,want",
    [
        ("in_progress", {"resolve_due": T2, "extension_due": T1}, (T1, "extension")),
        ("in_progress", {"resolve_due": T1, "extension_due": T2}, (T1, "resolve")),
        ("forwarded", {"resolve_due": T2, "extension_due": T2}, (T2, "resolve")),  # a tie
        ("forwarded", {"resolve_due": None, "extension_due": T3}, (T3, "extension")),
        ("callback", {"callback_due": T3, "followup_until": T2}, (T2, "followup")),
        ("callback", {"callback_due": T1, "followup_until": T2}, (T1, "callback")),
        # Only the status's own clocks count.
        ("registered", {"accept_due": T3, "forward_due": T1, "resolve_due": T1}, (T3, "accept")),
        ("accepted", {"accept_due": T1, "forward_due": T3}, (T3, "forward")),
        ("rejected", {"reply_due": T3, "accept_due": T1}, (T3, "reply")),
        ("resolved", {"review_due": T3, "callback_due": T1}, (T3, "review")),
        ("registered", {"forward_due": T1}, (None, None)),
        ("in_progress", {}, (None, None)),
        ("closed", ALL_SET, (None, None)),
        ("no_such_status", ALL_SET, (None, None)),
    ],
)
def test_current_due_earliest_own_clock_wins(status, dues, want):
    """The deadline waited on is the earliest set clock of the status (a tie goes to the
    first listed); a closed complaint waits on nothing."""
    assert current_due(status, dues) == want


def test_every_open_status_has_a_clock():
    """No stage without a clock: every open status waits on one, closed on none; every clock
    has its due field and someone who answers for it."""
    assert set(STATUS_CLOCKS) == set(Status.ALL)
    assert all(STATUS_CLOCKS[status] for status in Status.OPEN)
    assert STATUS_CLOCKS[Status.CLOSED] == ()
    assert set(DUE_FIELDS) == set(Clock.ALL) == set(RESPONSIBLE)


def test_pending_deadline_per_status():
    """Each status's "Due" label names its first clock; closed has none."""
    assert PENDING_DEADLINE == {
        "registered": "accept", "accepted": "forward", "rejected": "reply",
        "forwarded": "resolve", "in_progress": "resolve", "resolved": "review",
        "callback": "callback", "closed": None,
    }


# --- due soon / overdue ---------------------------------------------------------------------------


def test_due_exactly_now_is_due_soon_not_overdue(cal):
    """A deadline exactly at now is due soon and not yet overdue."""
    now = datetime(2026, 3, 3, 10, 0)
    assert is_due_soon(now, now, cal)
    assert not is_overdue(now, now)


@pytest.mark.parametrize("seconds_late", [-3600, -1, 0, 1, 3600])
def test_overdue_boundary_is_the_sweeps(seconds_late):
    """is_overdue draws the line where the sweep does (``due_at < now``): a deadline equal to
    now is not missed, one a second earlier is."""
    due = eod(2026, 10, 8)
    now = due + timedelta(seconds=seconds_late)
    assert is_overdue(due, now) is (due < now) is (seconds_late > 0)


def test_one_second_past_due_is_overdue_not_due_soon(cal):
    """One second after the deadline it is overdue and no longer due soon."""
    due = datetime(2026, 3, 3, 10, 0)
    now = due + timedelta(seconds=1)
    assert is_overdue(due, now)
    assert not is_due_soon(due, now, cal)


def test_friday_evening_due_monday_end_of_day_not_due_soon(cal):
    """Friday 18:00 with a deadline at Monday's end of day is not due soon (the weekend uses
    no time)."""
    now = datetime(2026, 3, 6, 18, 0)
    assert now.weekday() == 4
    monday_end = eod(2026, 3, 9)
    assert not is_due_soon(monday_end, now, cal)
    assert not is_overdue(monday_end, now)


def test_friday_evening_due_monday_afternoon_is_due_soon(cal):
    """Friday 18:00 with a deadline at Monday 17:59:59 is due soon (less than one working day
    left)."""
    assert is_due_soon(datetime(2026, 3, 9, 17, 59, 59), datetime(2026, 3, 6, 18, 0), cal)


def test_due_exactly_at_cutoff_is_not_due_soon(cal):
    """A deadline exactly at the cutoff has one full working day left: not due soon; a second
    less is."""
    now = datetime(2026, 3, 6, 18, 0)
    cutoff = cal.due_soon_cutoff(now)
    assert cutoff == datetime(2026, 3, 9, 18, 0)
    assert not is_due_soon(cutoff, now, cal)
    assert is_due_soon(cutoff - timedelta(seconds=1), now, cal)


def test_due_soon_over_national_day(cal):
    """Over the Golden Week the cutoff skips the holidays: on Sep 30 10:00, a deadline before
    Oct 8 10:00 is due soon."""
    now = datetime(2026, 9, 30, 10, 0)
    assert is_due_soon(datetime(2026, 10, 8, 9, 59, 59), now, cal)
    assert not is_due_soon(datetime(2026, 10, 8, 10, 0), now, cal)


def test_no_deadline_is_neither_due_soon_nor_overdue(cal):
    """A complaint with no deadline is neither due soon nor overdue."""
    now = datetime(2026, 3, 3, 10, 0)
    assert not is_due_soon(None, now, cal)
    assert not is_overdue(None, now)


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
    """With no configured policy: 2 callbacks for product-quality complaints, 1 for the rest."""
    assert match_policy([], kind, category, "normal").callbacks_required == required


def test_empty_policy_list_uses_default_policies():
    """An empty policy list falls back to the built-in DEFAULT_POLICIES."""
    assert match_policy([], "complaint", "product_quality", "major") in DEFAULT_POLICIES
    assert match_policy([], "consultation", None, "normal") == DEFAULT_POLICIES[0]


def test_policies_matching_nothing_fall_back_to_defaults():
    """Configured policies that all miss the complaint fall back to the defaults, never raise."""
    only_billing = [Policy(id=1, resolve_days=2, category="billing")]
    policy = match_policy(only_billing, "complaint", "product_quality", "normal")
    assert policy.callbacks_required == 2
