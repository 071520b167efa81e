"""rules.customer_messages and the sweep's keys (rules.notify.due_soon_key): pure decisions."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

import rules
from rules import Action, BusinessCalendar, Channel, Policy
from rules.customer_messages import (
    AFTER_ACTION,
    DEFAULT_CHANNELS,
    after_action,
    answer_deadline,
    format_channels,
    message_key,
    parse_channels,
    timeline_note,
)
from rules.notify import due_soon_key

AUDIT_ONLY = (Action.REGISTER, Action.EDIT, Action.OVERDUE, Action.MESSAGE)
WEEKDAYS = BusinessCalendar()  # no statutory data: Monday to Friday


@pytest.mark.parametrize("action", (*rules.ACTIONS, *AUDIT_ONLY))
def test_only_the_normal_close_sends_the_result(action):
    assert after_action(action) == ("customer_result" if action == Action.CLOSE else None)
    assert set(AFTER_ACTION) <= set(rules.ACTIONS)


def test_default_channels_are_all_but_relayed_and_walk_in():
    assert set(DEFAULT_CHANNELS) == set(Channel.ALL) - {Channel.TRANSFERRED, "walk_in"}
    assert parse_channels(format_channels(DEFAULT_CHANNELS)) == frozenset(DEFAULT_CHANNELS)


@given(st.lists(st.sampled_from((*Channel.ALL, "fax", "", " phone ", "none"))))
def test_channels_setting_round_trip(names):
    parsed = parse_channels(",".join(names))
    assert parsed <= set(Channel.ALL)
    assert parsed == {n.strip() for n in names} & set(Channel.ALL)
    assert parse_channels(format_channels(parsed)) == parsed
    assert format_channels(parsed) == ",".join(c for c in Channel.ALL if c in parsed)


def test_parse_nothing():
    assert parse_channels(None) == parse_channels("") == parse_channels("none") == frozenset()


def test_answer_deadline_examples():
    policy = Policy()  # forward within 24 h, resolve within 7 working days
    monday = datetime(2026, 11, 23, 9, 0)
    # Forwarded by Tuesday 9:00, then 7 working days: Thursday of the next week.
    assert answer_deadline(monday, monday, policy, WEEKDAYS) == datetime(2026, 12, 3, 23, 59, 59)
    # Registered three days after receipt: forwarded from now on at the earliest.
    late = monday + timedelta(days=3)
    assert answer_deadline(monday, late, policy, WEEKDAYS) == datetime(2026, 12, 7, 23, 59, 59)
    quick = Policy(forward_hours=2, resolve_days=1)
    assert answer_deadline(monday, monday, quick, WEEKDAYS) == datetime(2026, 11, 24, 23, 59, 59)


@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 1)),
       st.integers(0, 24 * 20), st.integers(0, 72), st.integers(0, 15))
def test_answer_deadline_is_the_end_of_a_working_day_after_the_forward_window(
        received, hours_later, forward_hours, resolve_days):
    now = received + timedelta(hours=hours_later)
    policy = Policy(forward_hours=forward_hours, resolve_days=resolve_days)
    due = answer_deadline(received, now, policy, WEEKDAYS)
    forwarded = max(received + timedelta(hours=forward_hours), now)
    assert due.time() == time(23, 59, 59) and due >= forwarded
    assert due.date() == WEEKDAYS.add_working_days(forwarded.date(), resolve_days)
    if resolve_days:
        assert WEEKDAYS.is_working_day(due.date())


EMAILS = st.from_regex(r"[a-z][a-z0-9._]{0,15}@[a-z]{1,10}\.(com|cn|org)", fullmatch=True)
PHONES = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


@given(EMAILS, PHONES, st.sampled_from(("customer_ack", "customer_result")))
def test_the_timeline_note_never_holds_an_address(email, phone, purpose):
    note = timeline_note(purpose, [("email", email), ("sms", phone)])
    name, _, domain = email.partition("@")
    assert email not in note and phone not in note
    assert f"{name[0]}***@{domain}" in note and f"{phone[:3]}****{phone[-4:]}" in note
    assert note.startswith(("Acknowledgement to the customer: ", "Result to the customer: "))


def test_the_timeline_note_refuses_what_it_cannot_say():
    with pytest.raises(ValueError):
        timeline_note("customer_ack", [("fax", "123")])
    with pytest.raises(ValueError):
        timeline_note("customer_ack", [])


def test_keys():
    assert message_key(7, "customer_ack", "email") == "c:7:customer_ack:email"
    assert message_key(7, "customer_result", "sms", 99) == "c:7:customer_result:sms:99"
    due = datetime(2026, 12, 2, 23, 59, 59)
    assert due_soon_key(5, "resolve", due, 3) == "due_soon:5:resolve:2026-12-02T23:59:59:3"
    assert due_soon_key(5, None, due.replace(microsecond=7), 3) == (
        "due_soon:5::2026-12-02T23:59:59:3")
