"""rules.delivery: channels per preference, retries, digest timing, customer media, keys."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from itertools import product

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules import Action, all_specs
from rules import delivery as d
from rules.constants import Channel

# --- kinds ------------------------------------------------------------------------------


def test_staff_kinds_are_the_notifying_actions_and_the_event_kinds():
    """Reopening and a callback tell only as "reopened" (tests/services/
    test_notifications.py proves it), so they have no setting of their own."""
    declared = [s.name for s in all_specs() if s.notify and s.name not in d.ALWAYS_REOPENED]
    assert list(d.STAFF_KINDS[:len(declared)]) == declared
    assert set(d.STAFF_KINDS) == set(declared) | {
        "reopened", "overdue", "escalated", "due_soon", "critical_registered",
        "assist_report", "assist_assign", "part_overdue", "capa_overdue",
        "upstream_overdue", "new_in_channel"}
    assert len(set(d.STAFF_KINDS)) == len(d.STAFF_KINDS)


def test_staff_kinds_hold_the_actions_that_tell_someone_and_not_the_silent_ones():
    assert {Action.FORWARD, Action.ASSIGN, Action.URGE, Action.ESCALATE,
            "reopened"} <= set(d.STAFF_KINDS)
    assert not {Action.ACCEPT, Action.CLOSE, Action.CALLBACK, Action.REOPEN} & set(
        d.STAFF_KINDS)


def test_defaults_every_kind_by_email_none_to_the_robot():
    assert d.DEFAULT_EMAIL_KINDS == frozenset(d.STAFF_KINDS)
    assert d.DEFAULT_ROBOT_KINDS == frozenset()


@pytest.mark.parametrize("text, kinds", [
    (None, set()), ("", set()), (" , ,", set()),
    ("urge", {"urge"}), (" urge , overdue ,urge", {"urge", "overdue"}),
    ("urge,no_such_kind", {"urge"}),
])
def test_parse_kinds(text, kinds):
    assert d.parse_kinds(text) == frozenset(kinds)


def test_format_kinds_orders_drops_unknown_and_repeats():
    assert d.format_kinds(["overdue", "urge", "bogus", "urge"]) == "urge,overdue"
    assert d.format_kinds([]) == ""


@given(st.sets(st.sampled_from(d.STAFF_KINDS)))
def test_format_then_parse_is_the_identity(kinds):
    assert d.parse_kinds(d.format_kinds(kinds)) == kinds


# --- channels_for: every combination ----------------------------------------------------


@pytest.mark.parametrize("wants_mail, wants_robot, digest, has_address, mail_on, robot_on",
                         list(product((False, True), repeat=6)))
def test_channels_for_every_combination(wants_mail, wants_robot, digest, has_address,
                                        mail_on, robot_on):
    kind = "urge"
    got = d.channels_for(kind, email_kinds={kind} if wants_mail else {"overdue"},
                         robot_kinds={kind} if wants_robot else set(), digest=digest,
                         has_address=has_address, mail_on=mail_on, robot_on=robot_on)
    expected = []
    if wants_mail and not digest and has_address and mail_on:
        expected.append("email")
    if wants_robot and robot_on:
        expected.append("robot")
    assert got == tuple(expected)


def test_channels_for_with_the_defaults_is_email_only():
    for kind in d.STAFF_KINDS:
        assert d.channels_for(kind, email_kinds=d.DEFAULT_EMAIL_KINDS,
                              robot_kinds=d.DEFAULT_ROBOT_KINDS, digest=False,
                              has_address=True, mail_on=True, robot_on=True) == ("email",)


@pytest.mark.parametrize("kind, url, channel", [
    ("wecom", "https://qyapi.weixin.qq.com/x", "wecom"),
    ("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=t", "dingtalk"),
    ("wecom", None, None), ("wecom", "  ", None), (None, "https://x", None),
    ("slack", "https://x", None), ("", "", None),
])
def test_robot_channel(kind, url, channel):
    assert d.robot_channel(kind, url) == channel


# --- retries ----------------------------------------------------------------------------


def test_backoff_steps_then_cap():
    assert [d.backoff(n) for n in range(1, 8)] == [timedelta(minutes=m) for m in
                                                   (1, 5, 15, 60, 240, 240, 240)]
    with pytest.raises(ValueError):
        d.backoff(0)


@given(st.integers(min_value=1, max_value=10_000))
def test_backoff_never_shrinks_and_is_capped(n):
    assert timedelta(minutes=1) <= d.backoff(n) <= d.backoff(n + 1) <= d.BACKOFF_CAP


@given(st.integers(min_value=1, max_value=50), st.integers(min_value=1, max_value=50),
       st.booleans())
def test_after_failure(attempts, max_attempts, permanent):
    verdict, wait = d.after_failure(attempts, max_attempts, permanent)
    if permanent or attempts >= max_attempts:
        assert (verdict, wait) == ("failed", None)
    else:
        assert (verdict, wait) == ("retry", d.backoff(attempts))


def test_six_tries_then_failed():
    verdicts = [d.after_failure(n, d.MAX_ATTEMPTS, False)[0] for n in range(1, 7)]
    assert verdicts == ["retry"] * 5 + ["failed"]
    assert d.after_failure(1, d.MAX_ATTEMPTS, True) == ("failed", None)


# --- digest -----------------------------------------------------------------------------


@pytest.mark.parametrize("now, last, due", [
    (datetime(2026, 11, 23, 7, 59), None, False),
    (datetime(2026, 11, 23, 8, 0), None, True),
    (datetime(2026, 11, 23, 8, 0), date(2026, 11, 22), True),
    (datetime(2026, 11, 23, 23, 59), date(2026, 11, 23), False),
    (datetime(2026, 11, 24, 7, 0), date(2026, 11, 23), False),
    (datetime(2026, 11, 24, 9, 0), date(2026, 11, 20), True),
])
def test_digest_due(now, last, due):
    assert d.digest_due(now, last, 8) is due


def test_digest_window():
    day = date(2026, 11, 23)
    assert d.digest_window(day, None, 8) == (datetime(2026, 11, 22, 8), datetime(2026, 11, 23, 8))
    assert d.digest_window(day, date(2026, 11, 21), 8) == (datetime(2026, 11, 21, 8),
                                                            datetime(2026, 11, 23, 8))
    assert d.digest_window(day, date(2026, 1, 1), 8) == (datetime(2026, 11, 16, 8),
                                                         datetime(2026, 11, 23, 8))


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 1, 1)),
       st.integers(min_value=1, max_value=3), st.integers(min_value=0, max_value=23))
def test_digest_windows_of_consecutive_digests_meet(day, gap, hour):
    first = d.digest_window(day, None, hour)
    later = day + timedelta(days=gap)
    second = d.digest_window(later, day, hour)
    assert first[1] == second[0] < second[1]
    assert first[0] < first[1]


# --- keys -------------------------------------------------------------------------------


def test_keys():
    assert d.email_key(7) == "n:7:email"
    assert d.robot_key(3, 41, "urge") == "r:3:41:urge"
    assert d.digest_key(5, date(2026, 11, 23)) == "d:5:2026-11-23"
    assert d.customer_key(9, "customer_ack", "sms") == "c:9:customer_ack:sms"


def test_long_robot_key_is_bounded_and_still_distinct():
    a = d.robot_key(1, "due_soon:" + "x" * 200, "due_soon")
    b = d.robot_key(1, "due_soon:" + "x" * 199 + "y", "due_soon")
    assert len(a) == len(b) == d.KEY_MAX and a != b
    assert d.robot_key(1, "due_soon:" + "x" * 200, "due_soon") == a  # stable


# --- customer media ---------------------------------------------------------------------

EVERY_CHANNEL = Channel.ALL


@pytest.mark.parametrize("purpose", d.CUSTOMER_PURPOSES)
@pytest.mark.parametrize("email, phone, mail_on, sms_on",
                         list(product(("c@example.com", None, " "), ("13800138000", None, ""),
                                      (True, False), (True, False))))
def test_customer_media_every_combination(purpose, email, phone, mail_on, sms_on):
    for intake in EVERY_CHANNEL:
        got = d.customer_media(purpose, intake, EVERY_CHANNEL, email, phone, sms_on, mail_on)
        can_mail = bool(mail_on and email and email.strip())
        can_sms = bool(sms_on and phone)
        if purpose == "customer_result" or not (can_mail and can_sms):
            expected = tuple(m for m, ok in (("email", can_mail), ("sms", can_sms)) if ok)
        else:
            expected = ("email",) if intake in ("email", "web") else ("sms",)
        assert got == expected, (intake, got)


def test_customer_media_none_for_a_channel_not_chosen():
    allowed = ("phone", "email")
    assert d.customer_media("customer_ack", "walk_in", allowed, "c@example.com",
                            "13800138000", True, True) == ()
    assert d.customer_media("customer_result", "phone", allowed, "c@example.com",
                            "13800138000", True, True) == ("email", "sms")
    assert d.customer_media("customer_ack", "phone", allowed, "c@example.com",
                            "13800138000", True, True) == ("sms",)
    assert d.customer_media("customer_ack", "email", allowed, "c@example.com",
                            "13800138000", True, True) == ("email",)


def test_customer_media_refuses_an_unknown_purpose():
    with pytest.raises(ValueError):
        d.customer_media("spam", "phone", EVERY_CHANNEL, "c@example.com", None, True, True)


def test_channel_names():
    assert d.CHANNELS == ("email", "wecom", "dingtalk", "sms")
    assert d.ROBOTS == ("wecom", "dingtalk")


@pytest.mark.parametrize("channel", d.CHANNELS)
def test_route_is_one_server_per_channel_and_one_robot_per_department(channel):
    """Mail and SMS go through one server each; each department's robot is its own."""
    assert d.route(channel, 1) == d.route(channel, 1)
    if channel in d.ROBOTS:
        assert d.route(channel, 1) != d.route(channel, 2)
        assert d.route(channel, 1) != d.route(d.EMAIL, 1)
    else:
        assert d.route(channel, 1) == d.route(channel, 2) == d.route(channel, None)


def test_an_unreachable_server_waits_less_than_the_longest_backoff():
    assert timedelta(0) < d.UNREACHABLE_WAIT <= d.backoff(d.MAX_ATTEMPTS)
