"""rules.login: the delay after failed sign-ins, the keys it is counted on, session limits."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules import login as L

NOW = datetime(2026, 11, 23, 9, 0)


# --- delay_seconds -------------------------------------------------------------------------


@pytest.mark.parametrize("failures, expected", [
    (-1, 0), (0, 0), (1, 0), (2, 0), (3, 0),  # the first three are free
    (4, 2), (5, 4), (6, 8), (7, 16), (8, 32), (9, 64), (10, 128), (11, 256), (12, 512),
    (13, 900), (14, 900), (50, 900), (10**6, 900),  # 2**10 = 1024 > 900: the cap
])
def test_delay_table(failures, expected):
    """0 s for failures 1–3, then 2 ** (n - 3) s, never more than 15 minutes."""
    assert L.delay_seconds(failures) == expected


@given(st.integers(min_value=-5, max_value=10**9), st.integers(min_value=0, max_value=20),
       st.integers(min_value=-10, max_value=10**6))
def test_delay_properties(failures, free, cap):
    """Never negative, never above the cap, zero up to the free count, a power of two or the
    cap beyond it, and it never shrinks as failures grow."""
    d = L.delay_seconds(failures, free=free, cap=cap)
    assert 0 <= d <= max(cap, 0)
    if failures <= free or cap <= 0:
        assert d == 0
    else:
        assert d == cap or (d == 2 ** (failures - free) and d < cap)
    assert L.delay_seconds(failures + 1, free=free, cap=cap) >= d


def test_a_huge_count_costs_no_huge_number():
    """A count in the billions gives the cap at once (no 2 ** 10**9 is ever built)."""
    assert L.delay_seconds(10**12) == L.MAX_DELAY_SECONDS


# --- states ---------------------------------------------------------------------------------


def _fail(state, times, start=NOW, every=timedelta(seconds=1)):
    now = start
    for _ in range(times):
        state = L.after_failure(state, now)
        now += every
    return state


def test_first_failures_block_nothing():
    """Three failures: counted, no wait."""
    state = _fail(L.AttemptState(), 3)
    assert state.failures == 3 and state.blocked_until is None
    assert not L.is_blocked(state, NOW + timedelta(seconds=3))


def test_fourth_failure_blocks_for_two_seconds():
    """The fourth failure at t makes the key wait until t + 2 s, exactly."""
    state = _fail(L.AttemptState(), 3)
    t = NOW + timedelta(minutes=1)
    state = L.after_failure(state, t)
    assert state.failures == 4 and state.last_failure_at == t
    assert state.blocked_until == t + timedelta(seconds=2)
    assert L.is_blocked(state, t + timedelta(seconds=1, microseconds=999_999))
    assert not L.is_blocked(state, t + timedelta(seconds=2))
    assert L.seconds_left(state, t) == 2
    assert L.seconds_left(state, t + timedelta(microseconds=500_000)) == 2  # rounded up
    assert L.seconds_left(state, t + timedelta(seconds=2)) == 0


def test_count_is_forgotten_after_a_quiet_spell():
    """After 24 h without a failure the count starts again from one."""
    state = _fail(L.AttemptState(), 12)
    later = state.last_failure_at + L.FORGET_AFTER
    assert L.current_failures(state, later - timedelta(seconds=1)) == 12
    assert L.current_failures(state, later) == 0
    again = L.after_failure(state, later)
    assert again.failures == 1 and again.blocked_until is None


def test_empty_states():
    """No row, or a row without failures: nothing counts and nothing blocks."""
    assert L.current_failures(L.AttemptState(), NOW) == 0
    assert L.current_failures(L.AttemptState(failures=5, last_failure_at=None), NOW) == 0
    assert not L.is_blocked(None, NOW) and L.seconds_left(None, NOW) == 0
    assert not L.is_blocked(L.AttemptState(), NOW)


@given(st.lists(st.integers(min_value=0, max_value=3 * 24 * 3600), min_size=1, max_size=40))
def test_after_failure_properties(gaps):
    """Whatever the spacing of failures: the count grows by one or restarts at one after a
    quiet spell, the wait matches delay_seconds of the count, and never exceeds the cap."""
    state, now = L.AttemptState(), NOW
    for gap in gaps:
        now += timedelta(seconds=gap)
        before = L.current_failures(state, now)
        state = L.after_failure(state, now)
        assert state.failures == before + 1
        assert state.last_failure_at == now
        wait = L.delay_seconds(state.failures)
        if wait:
            assert state.blocked_until == now + timedelta(seconds=wait)
            assert L.seconds_left(state, now) == wait <= L.MAX_DELAY_SECONDS
        else:
            assert state.blocked_until is None and not L.is_blocked(state, now)


def test_never_blocked_for_good():
    """However many failures, the key may try again 15 minutes after the last one."""
    state = _fail(L.AttemptState(), 500)
    assert L.is_blocked(state, state.last_failure_at)
    assert not L.is_blocked(state, state.last_failure_at + timedelta(minutes=15))


# --- keys -------------------------------------------------------------------------------------


def test_user_key_ignores_case_and_spaces():
    """One key per account name, however it is typed; the same for a name nobody has."""
    assert L.user_key("Admin") == L.user_key("  admin ") == L.user_key("ADMIN") == "user:admin"
    assert L.user_key("li  lei") == L.user_key("Li Lei") == "user:li lei"
    assert L.user_key("nobody-here") == "user:nobody-here"
    assert L.user_key(None) == L.user_key("") == "user:"


def test_keys_are_bounded_and_distinct():
    """Keys fit the column; account, address and second-step keys never collide."""
    assert len(L.user_key("x" * 10_000)) <= 255
    assert len(L.ip_key("1" * 10_000)) <= 255
    assert L.ip_key("10.0.0.1") == "ip:10.0.0.1"
    assert L.ip_key(None) == L.ip_key("  ") == "ip:unknown"
    assert L.second_step_key(7) == "2fa:7"
    assert len({L.user_key("7"), L.ip_key("7"), L.second_step_key(7)}) == 3


@given(st.text(max_size=300))
def test_user_key_properties(name):
    """Any text gives a bounded key with the user prefix; neither case nor surrounding
    spaces make a second key."""
    key = L.user_key(name)
    assert key.startswith("user:") and len(key) <= 255
    assert L.user_key(name.casefold()) == key == L.user_key(f"  {name}\t")


# --- sessions ---------------------------------------------------------------------------------

IDLE, MAX = timedelta(minutes=30), timedelta(hours=12)


@pytest.mark.parametrize("since_login, since_seen, expected", [
    (timedelta(0), timedelta(0), None),
    (timedelta(minutes=29, seconds=59), timedelta(minutes=29, seconds=59), None),
    (timedelta(minutes=30), timedelta(minutes=30), L.SESSION_IDLE),
    (timedelta(hours=11, minutes=59), timedelta(minutes=1), None),
    (timedelta(hours=12), timedelta(minutes=1), L.SESSION_TOO_OLD),
    (timedelta(hours=12), timedelta(hours=1), L.SESSION_TOO_OLD),  # both: the lifetime wins
    (timedelta(days=3), timedelta(0), L.SESSION_TOO_OLD),
])
def test_session_expiry(since_login, since_seen, expected):
    """Idle for 30 minutes, or 12 hours after the login, whatever the activity: it ends."""
    assert L.session_expiry(NOW - since_login, NOW - since_seen, NOW, idle=IDLE,
                            max_age=MAX) == expected


@given(st.integers(min_value=0, max_value=48 * 3600), st.integers(min_value=0, max_value=48 * 3600))
def test_session_expiry_properties(login_s, seen_s):
    """Ends exactly when one of the two limits is reached."""
    seen_s = min(seen_s, login_s)  # the last request is never before the login
    reason = L.session_expiry(NOW - timedelta(seconds=login_s), NOW - timedelta(seconds=seen_s),
                              NOW, idle=IDLE, max_age=MAX)
    too_old = login_s >= MAX.total_seconds()
    idle = seen_s >= IDLE.total_seconds()
    assert (reason is not None) == (too_old or idle)
    if too_old:
        assert reason == L.SESSION_TOO_OLD
