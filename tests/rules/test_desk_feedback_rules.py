"""rules for the screens' feedback: the deadline countdown, why an action is not available
now, the callback progress, and which actions end the handling (asked to confirm)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules import (
    ACTIONS,
    Actor,
    Facts,
    Role,
    Satisfaction,
    Status,
    all_specs,
    allowed_actions,
    callback_progress,
    can_see,
    countdown,
    is_final,
    refusal,
    unavailable_actions,
)
from rules.actions import takes
from rules.calendar import BusinessCalendar
from rules.deadlines import DUE_TODAY, LEFT, OVERDUE, Countdown
from rules.errors import NothingWaiting
from tests.rules.conftest import build_calendar

PRODUCTION = build_calendar()
# Company overrides on top: a working Saturday and a closed Wednesday.
OVERRIDDEN = build_calendar({date(2026, 12, 5): True, date(2026, 12, 9): False})
WEEKDAYS = BusinessCalendar()  # no statutory data: Monday–Friday
CALENDARS = st.sampled_from((PRODUCTION, OVERRIDDEN, WEEKDAYS))

moments = st.datetimes(min_value=datetime(2025, 12, 1), max_value=datetime(2027, 2, 1))
spans = st.timedeltas(min_value=timedelta(days=-60), max_value=timedelta(days=60))


def working_days_after(cal, start: date, end: date) -> int:
    """The reference count, written out: working days d with start < d <= end."""
    return sum(cal.is_working_day(start + timedelta(days=i))
               for i in range(1, (end - start).days + 1))


# --- countdown ----------------------------------------------------------------------------


def test_no_deadline_no_countdown():
    """A complaint waiting on nothing shows no countdown."""
    assert countdown(None, datetime(2026, 11, 30, 9), PRODUCTION) is None


@settings(max_examples=600, deadline=None)
@given(now=moments, span=spans, cal=CALENDARS)
def test_countdown_states_are_exhaustive_and_exact(now, span, cal):
    """Every (due, now) falls in exactly one state, with the documented count of days."""
    due = now + span
    c = countdown(due, now, cal)
    if now > due:
        assert c == Countdown(OVERDUE, (now.date() - due.date()).days)
        assert c.days >= 0
    elif due.date() == now.date():
        assert c == Countdown(DUE_TODAY, 0)
    else:
        assert c == Countdown(LEFT, working_days_after(cal, now.date(), due.date()))
        assert 0 <= c.days <= (due.date() - now.date()).days


@settings(max_examples=300, deadline=None)
@given(now=moments, n=st.integers(min_value=1, max_value=30), cal=CALENDARS)
def test_a_clock_of_n_working_days_started_now_shows_n_left(now, n, cal):
    """A resolve clock of 7 working days started now reads "7 working days left"."""
    assert countdown(cal.due_after(now, n), now, cal) == Countdown(LEFT, n)


@settings(max_examples=300, deadline=None)
@given(now=moments, span=spans, step=st.timedeltas(min_value=timedelta(0),
                                                   max_value=timedelta(days=10)),
       cal=CALENDARS)
def test_time_only_brings_the_deadline_closer(now, span, step, cal):
    """Later, a countdown never shows more days left, nor fewer days overdue."""
    due = now + span
    order = {LEFT: 0, DUE_TODAY: 1, OVERDUE: 2}
    before, after = countdown(due, now, cal), countdown(due, now + step, cal)
    assert order[after.state] >= order[before.state]
    if before.state == after.state == LEFT:
        assert after.days <= before.days
    if before.state == after.state == OVERDUE:
        assert after.days >= before.days


@pytest.mark.parametrize("now, due, expected", [
    # Fri 2026-11-27 10:00, due Tue 12-01 end of day: Mon and Tue are left.
    (datetime(2026, 11, 27, 10), datetime(2026, 12, 1, 23, 59, 59), Countdown(LEFT, 2)),
    (datetime(2026, 12, 1, 8), datetime(2026, 12, 1, 23, 59, 59), Countdown(DUE_TODAY, 0)),
    # due exactly now: not yet missed (as the sweep)
    (datetime(2026, 12, 1, 18), datetime(2026, 12, 1, 18), Countdown(DUE_TODAY, 0)),
    (datetime(2026, 12, 1, 18, 0, 1), datetime(2026, 12, 1, 18), Countdown(OVERDUE, 0)),
    # missed on Sat 11-21, seen on Mon 11-30: 9 calendar days late
    (datetime(2026, 11, 30, 9), datetime(2026, 11, 21, 23, 59, 59), Countdown(OVERDUE, 9)),
    # Before National Day 2026 (10-01..10-07 off, Sat 10-10 worked): from Wed 09-30 to
    # Fri 10-09 only 10-08 and 10-09 are working days.
    (datetime(2026, 9, 30, 12), datetime(2026, 10, 9, 23, 59, 59), Countdown(LEFT, 2)),
    # The follow-up month ending on Sunday, seen on Saturday: no working day in between.
    (datetime(2026, 12, 5, 9), datetime(2026, 12, 6, 10), Countdown(LEFT, 0)),
    # Overdue across the holiday: calendar days, not working days.
    (datetime(2026, 10, 8, 9), datetime(2026, 9, 30, 23, 59, 59), Countdown(OVERDUE, 8)),
])
def test_countdown_examples(now, due, expected):
    """The statutory calendar's examples, holidays and make-up days included."""
    assert countdown(due, now, PRODUCTION) == expected


def test_company_overrides_count():
    """A company working Saturday counts as a working day left, a closed Wednesday not."""
    now = datetime(2026, 12, 4, 9)  # Friday
    due = datetime.combine(date(2026, 12, 10), time(23, 59, 59))  # Thursday
    assert countdown(due, now, PRODUCTION) == Countdown(LEFT, 4)  # Mon Tue Wed Thu
    assert countdown(due, now, OVERRIDDEN) == Countdown(LEFT, 4)  # Sat Mon Tue Thu


# --- why an action is not available -----------------------------------------------------

ROLES = tuple(Role.ALL)
ACTORS = {role: Actor(i + 1, role, 10) for i, role in enumerate(ROLES)}

facts_strategy = st.builds(
    Facts,
    status=st.sampled_from(Status.ALL),
    category=st.sampled_from((None, "service")),
    department_id=st.sampled_from((None, 10, 20)),
    assignee_id=st.sampled_from((None, 1, 2, 3, 4, 5, 6, 7)),
    registered_by_id=st.sampled_from((None, 1, 99)),
    escalation_level=st.integers(min_value=0, max_value=3),
    callbacks_required=st.integers(min_value=1, max_value=3),
    callbacks_reached=st.integers(min_value=0, max_value=3),
    last_satisfaction=st.sampled_from((None, *Satisfaction.ALL)),
    extension_requested_by_id=st.sampled_from((None, 1, 2, 3, 4, 5)),
)


@settings(max_examples=800, deadline=None)
@given(facts=facts_strategy, role=st.sampled_from(ROLES))
def test_every_action_of_the_role_is_either_allowed_or_explained(facts, role):
    """For a complaint the user sees, each action of their role is allowed now or listed
    with the rules' own refusal; never both, never neither; nothing for other roles."""
    actor = ACTORS[role]
    allowed = set(allowed_actions(facts, actor))
    missing = unavailable_actions(facts, actor)
    names = [u.action for u in missing]
    assert len(names) == len(set(names))
    if not can_see(actor, facts.department_id, facts.assignee_id, facts.registered_by_id):
        assert missing == [] and allowed == set()
        return
    # (a role a company setting has not given an action to does not take it: rules.takes)
    of_role = {s.name for s in all_specs() if takes(s, actor)}
    assert allowed | set(names) == of_role
    assert not allowed & set(names)
    for u in missing:
        assert str(u.reason) == str(refusal(u.action, facts, actor))
        spec = next(s for s in all_specs() if s.name == u.action)
        # "nothing waits for it" (no extension asked, no plan to decide) is not "blocked"
        assert u.blocked == (role in spec.who.get(facts.status, ())
                             and not isinstance(u.reason, NothingWaiting))
    assert names == [n for n in ACTIONS if n in names]  # declaration order


def test_close_before_enough_callbacks_says_how_many():
    """The clerk's close button on a complaint with 1 of 2 callbacks: blocked, with why."""
    facts = Facts(status=Status.CALLBACK, department_id=10, callbacks_required=2,
                  callbacks_reached=1, last_satisfaction=Satisfaction.SATISFIED)
    close = next(u for u in unavailable_actions(facts, ACTORS["intake"]) if u.action == "close")
    assert close.blocked
    assert "needs 2 callback(s)" in str(close.reason) and "1 is recorded" in str(close.reason)


def test_out_of_scope_lists_nothing():
    """A handler looking at someone else's complaint is told nothing about its actions."""
    facts = Facts(status=Status.IN_PROGRESS, department_id=20, assignee_id=99)
    assert unavailable_actions(facts, Actor(7, Role.HANDLER, 10)) == []


# --- callback progress, final actions ------------------------------------------------------


@given(required=st.integers(0, 5), done=st.integers(0, 6))
def test_callback_progress_is_what_close_counts(required, done):
    """Required and done are the facts the close guard reads; remaining never negative."""
    p = callback_progress(Facts(status=Status.CALLBACK, callbacks_required=required,
                                callbacks_reached=done))
    assert (p.required, p.done, p.remaining) == (required, done, max(0, required - done))


def test_final_actions_are_those_landing_in_a_final_status():
    """Reject, reply (closed as invalid), close, force-close and merge ask to confirm."""
    assert {a for a in ACTIONS if is_final(a)} == {
        "reject", "reply", "close", "force_close", "merge"}
    assert not is_final("reopen") and not is_final("no such action")
