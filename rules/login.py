"""Login throttling: how long a client waits after failed attempts (pure, no clock).

Failures are counted per *key*: the account name tried (``user:<name>``, whether or not
such an account exists), the client address (``ip:<addr>``) and, for the second step of
a two-step sign-in, the account (``2fa:<id>``). Each key has its own count; an attempt
is refused while any key that applies to it is blocked.

Nobody is ever locked out for good: a key's delay grows with its failures — none for the
first few, then 2, 4, 8 … seconds — up to a cap (15 minutes by default), and the count is
forgotten after a quiet spell (24 hours by default). The caller decides which keys apply
(an account's own known browser is not held back by strangers' failures on its name).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .constants import Role

# Failures that cost nothing: a few typing mistakes never make anyone wait.
FREE_FAILURES = 3
# The longest wait after a failure (seconds): 15 minutes.
MAX_DELAY_SECONDS = 15 * 60
# A key's count starts again after this long without a failure.
FORGET_AFTER = timedelta(hours=24)

USER_PREFIX = "user:"
IP_PREFIX = "ip:"
SECOND_STEP_PREFIX = "2fa:"
# Stored keys are cut to this length (the column holds 255).
MAX_NAME_IN_KEY = 150


def delay_seconds(failures: int, *, free: int = FREE_FAILURES,
                  cap: int = MAX_DELAY_SECONDS) -> int:
    """The wait after the ``failures``-th failure in a row: 0 for the first ``free`` ones,
    then 2 ** (failures - free) seconds, never more than ``cap``."""
    if failures <= free or cap <= 0:
        return 0
    exponent = failures - free
    if exponent >= cap.bit_length():  # 2 ** exponent > cap: no need to build a huge number
        return cap
    return min(cap, 2 ** exponent)


@dataclass(frozen=True)
class AttemptState:
    """What is stored for one key."""

    failures: int = 0
    last_failure_at: datetime | None = None
    blocked_until: datetime | None = None


def current_failures(state: AttemptState, now: datetime, *,
                     forget_after: timedelta = FORGET_AFTER) -> int:
    """The failures that still count at ``now`` (none after a quiet spell)."""
    if not state.failures or state.last_failure_at is None:
        return 0
    if now - state.last_failure_at >= forget_after:
        return 0
    return state.failures


def after_failure(state: AttemptState, now: datetime, *, free: int = FREE_FAILURES,
                  cap: int = MAX_DELAY_SECONDS,
                  forget_after: timedelta = FORGET_AFTER) -> AttemptState:
    """The key's state once one more failure happened at ``now``."""
    failures = current_failures(state, now, forget_after=forget_after) + 1
    delay = delay_seconds(failures, free=free, cap=cap)
    return AttemptState(failures=failures, last_failure_at=now,
                        blocked_until=now + timedelta(seconds=delay) if delay else None)


def is_blocked(state: AttemptState | None, now: datetime) -> bool:
    """Whether an attempt at ``now`` must be refused without looking at the password."""
    return bool(state and state.blocked_until is not None and now < state.blocked_until)


def seconds_left(state: AttemptState | None, now: datetime) -> int:
    """Whole seconds (rounded up) until the key may try again; 0 when it may now."""
    if not is_blocked(state, now):
        return 0
    left = state.blocked_until - now
    return left.days * 86400 + left.seconds + (1 if left.microseconds else 0)


def normalize_username(username: str | None) -> str:
    """The account name as throttling counts it: trimmed, case-folded, one key per name."""
    return " ".join((username or "").split()).casefold()[:MAX_NAME_IN_KEY]


def user_key(username: str | None) -> str:
    """The key of an account name (the same for a name that no account has)."""
    return USER_PREFIX + normalize_username(username)


def ip_key(address: str | None) -> str:
    """The key of a client address (``ip:unknown`` when the address is not known)."""
    address = (address or "").strip()[:MAX_NAME_IN_KEY]
    return IP_PREFIX + (address or "unknown")


def second_step_key(staff_id: int) -> str:
    """The key of an account's second sign-in step (codes and recovery codes)."""
    return f"{SECOND_STEP_PREFIX}{int(staff_id)}"


# --- sessions --------------------------------------------------------------------------

SESSION_IDLE = "idle"
SESSION_TOO_OLD = "too_old"


def totp_required(role: str, production: bool, enabled: bool) -> bool:
    """An administrator of a production desk must use two-step sign-in before anything else."""
    return production and role == Role.ADMIN and not enabled


def session_expiry(login_at: datetime, seen_at: datetime, now: datetime, *,
                   idle: timedelta, max_age: timedelta) -> str | None:
    """Why a logged-in session must end at ``now``, or None while it may go on.

    ``SESSION_TOO_OLD`` once ``max_age`` has passed since the login, whatever the activity;
    ``SESSION_IDLE`` once ``idle`` has passed since the last request.
    """
    if now - login_at >= max_age:
        return SESSION_TOO_OLD
    if now - seen_at >= idle:
        return SESSION_IDLE
    return None
