"""rules.customers: the customer key, the lookup's key, rate limit, history and message."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from rules import Status
from rules import customers as rule
from rules.intake import normalize_phone

T = datetime(2026, 11, 30, 9, 0)


def test_customer_key_examples():
    assert rule.customer_key("+86 138-0013-8000", "x@y.com") == "13800138000"
    assert rule.customer_key("0086 13800138000", None) == "13800138000"
    assert rule.customer_key("", " Li.Na@Example.COM ") == "li.na@example.com"
    assert rule.customer_key(None, None) is None
    assert rule.customer_key("---", "") is None
    assert rule.customer_key(None, "Ärger@Example.com") == "Ärger@example.com"  # ASCII only


@given(st.text(max_size=40), st.text(max_size=40))
def test_customer_key_properties(phone, email):
    key = rule.customer_key(phone, email)
    norm = normalize_phone(phone)
    if norm:
        assert key == norm
    elif email.strip():
        assert key == rule.normalize_email(email)
        assert key == rule.customer_key(None, email.upper()) or not email.isascii()
    else:
        assert key is None


@given(st.text(max_size=30))
def test_lookup_key_waits_for_enough_digits(phone):
    key = rule.lookup_key(phone)
    norm = normalize_phone(phone)
    if key is not None:
        assert key == norm and rule.MIN_LOOKUP_DIGITS <= len(key) <= 20
    else:
        assert not norm or not rule.MIN_LOOKUP_DIGITS <= len(norm) <= 20


def test_lookup_key_examples():
    assert rule.lookup_key("1380") is None
    assert rule.lookup_key("13800") == "13800"
    assert rule.lookup_key(None, "li@x.cn") == "li@x.cn"
    assert rule.lookup_key(None, "li") is None
    assert rule.lookup_key("9" * 21) is None
    assert rule.lookup_key("", "a@" + "b" * 300) is None


def test_count_lookup_window():
    counter, ok = rule.count_lookup(rule.LookupCounter(), T, limit=2)
    assert ok and counter == rule.LookupCounter(1, T)
    counter, ok = rule.count_lookup(counter, T + timedelta(seconds=10), limit=2)
    assert ok and counter == rule.LookupCounter(2, T)
    refused, ok = rule.count_lookup(counter, T + timedelta(seconds=20), limit=2)
    assert not ok and refused == counter  # not counted, the window not extended
    assert rule.retry_after(refused, T + timedelta(seconds=20)) == 40
    fresh, ok = rule.count_lookup(refused, T + rule.LOOKUP_WINDOW, limit=2)
    assert ok and fresh == rule.LookupCounter(1, T + rule.LOOKUP_WINDOW)
    back, ok = rule.count_lookup(refused, T - timedelta(hours=1), limit=2)  # clock went back
    assert ok and back.count == 1


@given(st.lists(st.integers(min_value=0, max_value=300), max_size=80),
       st.integers(min_value=1, max_value=10))
def test_count_lookup_never_allows_more_than_the_limit_per_window(offsets, limit):
    """Whatever the times of the lookups (in order), no window of LOOKUP_WINDOW starting at
    an allowed lookup's window start holds more than ``limit`` allowed lookups."""
    counter = rule.LookupCounter()
    allowed: dict[datetime, int] = {}
    for offset in sorted(offsets):
        now = T + timedelta(seconds=offset)
        counter, ok = rule.count_lookup(counter, now, limit=limit)
        if ok:
            allowed[counter.window_start] = allowed.get(counter.window_start, 0) + 1
            assert now < counter.window_start + rule.LOOKUP_WINDOW
    assert all(n <= limit for n in allowed.values())


def test_retry_after_at_least_one_second():
    assert rule.retry_after(rule.LookupCounter(), T) == 1
    assert rule.retry_after(rule.LookupCounter(5, T), T + timedelta(seconds=59.5)) == 1
    assert rule.retry_after(rule.LookupCounter(5, T), T + timedelta(hours=1)) == 1


_statuses = st.sampled_from(sorted(set(Status.OPEN) | {Status.CLOSED}))


@given(st.lists(st.tuples(_statuses, st.integers(min_value=0, max_value=400)), max_size=30))
def test_split_history(rows):
    seen = [rule.Seen(i, status, T - timedelta(days=age))
            for i, (status, age) in enumerate(rows)]
    open_, recent = rule.split_history(seen, T, most=5)
    assert all(s.status in Status.OPEN for s in open_)
    assert all(s.status not in Status.OPEN and T - s.received_at <= rule.RECENT
               for s in recent)
    assert len(open_) == min(5, sum(s.status in Status.OPEN for s in seen))
    for part in (open_, recent):
        assert part == sorted(part, key=lambda s: (s.received_at, s.id), reverse=True)


def test_lookup_message():
    assert rule.lookup_message(1, 0) == ("warning", rule.OPEN_WARNING)
    assert rule.lookup_message(2, 3) == ("warning", rule.OPEN_WARNING)
    assert rule.lookup_message(0, 1) == ("info", rule.RECENT_NOTE)
    assert rule.lookup_message(0, 0) == (None, None)
