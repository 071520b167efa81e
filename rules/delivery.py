"""Notifications outside the app: which channels carry what, and how failed sends are retried.

Pure decisions for ``services.delivery``: no database, no clock (the time is an argument).

- Staff choose per notification kind whether it reaches them by e-mail and/or by their
  department's group robot (WeCom 企业微信, DingTalk 钉钉); without a saved choice the
  defaults hold: every kind by e-mail, none to the robot. A daily digest replaces the
  single e-mails.
- A failed send is tried again later (:func:`backoff`), until ``max_attempts`` tries or a
  permanent refusal (a bad address): then the delivery is ``failed`` for the administrator.
- Customers get an acknowledgement and the result (R8) by e-mail and/or SMS
  (:func:`customer_media`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from datetime import date, datetime, time, timedelta

from . import procedure as _procedure  # noqa: F401  (declares the actions read below)
from .actions import all_specs
from .assist import PART_OVERDUE
from .capa import OVERDUE_NOTIFICATION as CAPA_OVERDUE
from .channel_owners import NEW_IN_CHANNEL
from .constants import Action
from .notify import CRITICAL_REGISTERED, DUE_SOON, ESCALATED, OVERDUE, REOPENED, UPSTREAM_OVERDUE

# --- channels ---------------------------------------------------------------------------

EMAIL = "email"
WECOM = "wecom"
DINGTALK = "dingtalk"
SMS = "sms"
CHANNELS = (EMAIL, WECOM, DINGTALK, SMS)
ROBOTS = (WECOM, DINGTALK)  # a department's group robot: one of these kinds
ROBOT = "robot"  # what a person chooses: "my department's robot", whichever kind it is

# --- what a notification is about -------------------------------------------------------

# Kinds no declared action names: written by the sweep and by registration.
EVENT_KINDS = (REOPENED, OVERDUE, ESCALATED, DUE_SOON, CRITICAL_REGISTERED)
# 协办 (services.assist): the assisting side's report and handler, a part's missed deadline.
EVENT_KINDS += (Action.ASSIST_REPORT, Action.ASSIST_ASSIGN, PART_OVERDUE)
# 纠正预防措施 (services.capa.sweep): a corrective action past its due date.
EVENT_KINDS += (CAPA_OVERDUE,)
# 反馈上级 (services.upstream.sweep): a report back upstream past the centre's deadline.
EVENT_KINDS += (UPSTREAM_OVERDUE,)
# 渠道负责人 (services.channel_owners): a new complaint from the channel one owns.
EVENT_KINDS += (NEW_IN_CHANNEL,)


# Actions whose every notification is of kind "reopened" (rules.notify.kind_of): reopening,
# and a callback, which tells anyone only when it sends the complaint back.
ALWAYS_REOPENED = (Action.REOPEN, Action.CALLBACK)


def _action_kinds() -> tuple[str, ...]:
    """The actions whose declaration notifies someone (a tuple, or a function of the
    context that may name recipients), in declaration order; not those that only ever
    notify as "reopened"."""
    return tuple(spec.name for spec in all_specs()
                 if spec.notify and spec.name not in ALWAYS_REOPENED)


# Every notification kind a member of staff can receive (the settings page's rows).
STAFF_KINDS: tuple[str, ...] = tuple(dict.fromkeys((*_action_kinds(), *EVENT_KINDS)))
DEFAULT_EMAIL_KINDS: frozenset[str] = frozenset(STAFF_KINDS)
DEFAULT_ROBOT_KINDS: frozenset[str] = frozenset()

# Purposes of deliveries that are not a single notification.
DIGEST = "digest"
CUSTOMER_ACK = "customer_ack"
CUSTOMER_RESULT = "customer_result"
CUSTOMER_PURPOSES = (CUSTOMER_ACK, CUSTOMER_RESULT)

# Delivery.status
PENDING, SENT, FAILED = "pending", "sent", "failed"
STATUSES = (PENDING, SENT, FAILED)

KEY_MAX = 160  # Delivery.key's column length


def parse_kinds(text: str | None) -> frozenset[str]:
    """The kinds of a stored comma list; unknown names (a kind since removed) are dropped."""
    names = {part.strip() for part in (text or "").split(",")}
    return frozenset(names & set(STAFF_KINDS))


def format_kinds(kinds: Iterable[str]) -> str:
    """The comma list to store: known kinds only, in STAFF_KINDS order, no repeats."""
    chosen = set(kinds)
    return ",".join(kind for kind in STAFF_KINDS if kind in chosen)


def channels_for(kind: str, *, email_kinds: Collection[str], robot_kinds: Collection[str],
                 digest: bool, has_address: bool, mail_on: bool,
                 robot_on: bool) -> tuple[str, ...]:
    """Which of ``"email"`` / ``"robot"`` to plan for one notification of ``kind``.

    E-mail: the server sends mail, the person has an address and wants this kind by
    e-mail, and not by the daily digest (the digest carries it then). Robot: their
    department has one and they want this kind posted there.
    """
    out: list[str] = []
    if mail_on and has_address and not digest and kind in email_kinds:
        out.append(EMAIL)
    if robot_on and kind in robot_kinds:
        out.append(ROBOT)
    return tuple(out)


def robot_channel(robot_kind: str | None, robot_url: str | None) -> str | None:
    """The department's robot channel (``wecom`` / ``dingtalk``), or None when it has none."""
    if robot_kind in ROBOTS and (robot_url or "").strip():
        return robot_kind
    return None


# --- retries ----------------------------------------------------------------------------

MAX_ATTEMPTS = 6  # tries of one message before it is failed (config NOTIFY_MAX_ATTEMPTS)
BACKOFF_MINUTES = (1, 5, 15, 60, 240)  # wait after the 1st, 2nd, … failed try
BACKOFF_CAP = timedelta(minutes=BACKOFF_MINUTES[-1])
RETRY = "retry"


def backoff(attempt: int) -> timedelta:
    """How long to wait after the ``attempt``-th failed try (1-based): 1, 5, 15, 60, 240
    minutes, then 240 minutes (four hours) for every later try."""
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    if attempt > len(BACKOFF_MINUTES):
        return BACKOFF_CAP
    return timedelta(minutes=BACKOFF_MINUTES[attempt - 1])


def after_failure(attempts: int, max_attempts: int,
                  permanent: bool) -> tuple[str, timedelta | None]:
    """After a failed try (``attempts`` made so far, this one included): ``("retry",
    wait)``, or ``("failed", None)`` when the refusal is permanent or no try is left."""
    if permanent or attempts >= max_attempts:
        return FAILED, None
    return RETRY, backoff(attempts)


# While a server cannot be reached at all, its messages wait this long between passes
# without using up their tries: an outage of a weekend delays, it never fails a message.
UNREACHABLE_WAIT = timedelta(minutes=5)


def route(channel: str, department_id: int | None) -> tuple[str, int | None]:
    """The server a message goes through: one mail server, one SMS gateway, one robot per
    department. When one is unreachable, the rest of a batch for it waits."""
    return (channel, department_id if channel in ROBOTS else None)


# --- the daily digest -------------------------------------------------------------------

DIGEST_MAX_DAYS = 7  # a digest never reaches further back (digest turned on after a pause)


def digest_due(now: datetime, last_sent_on: date | None, hour: int) -> bool:
    """Whether a digest goes out at ``now``: from ``hour`` o'clock, once a day."""
    if now.hour < hour:
        return False
    return last_sent_on is None or last_sent_on < now.date()


def digest_window(day: date, last_sent_on: date | None, hour: int) -> tuple[datetime, datetime]:
    """[start, end) of the notifications the digest of ``day`` carries: from the cut-off
    of the last digest (``hour`` o'clock of ``last_sent_on``; the day before when there was
    none) to today's cut-off, reaching back at most DIGEST_MAX_DAYS. Consecutive digests'
    windows meet exactly: nothing is carried twice or skipped."""
    end = datetime.combine(day, time(hour))
    earliest = end - timedelta(days=DIGEST_MAX_DAYS)
    start = end - timedelta(days=1) if last_sent_on is None else datetime.combine(
        last_sent_on, time(hour))
    return max(start, earliest), end


# --- idempotency keys (Delivery.key: the e-mail's Message-ID, the webhook's request id) ---


def _bounded(key: str) -> str:
    if len(key) <= KEY_MAX:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"{key[:KEY_MAX - 33]}~{digest}"


def email_key(notification_id: int) -> str:
    return f"n:{notification_id}:{EMAIL}"


def robot_key(department_id: int, event: int | str, kind: str) -> str:
    """One robot post per department and event: the event id, else the notification's
    own key (``event`` is then that key, or ``n<id>`` when it has neither)."""
    return _bounded(f"r:{department_id}:{event}:{kind}")


def digest_key(staff_id: int, day: date) -> str:
    return f"d:{staff_id}:{day.isoformat()}"


def customer_key(complaint_id: int, purpose: str, medium: str) -> str:
    return f"c:{complaint_id}:{purpose}:{medium}"


# --- messages to customers (R8) ---------------------------------------------------------

# The channels by which a customer reached us in writing: they are answered by e-mail first.
WRITTEN_INTAKE = ("email", "web")


def customer_media(purpose: str, intake_channel: str, allowed_channels: Collection[str],
                   email: str | None, phone: str | None, sms_on: bool,
                   mail_on: bool) -> tuple[str, ...]:
    """By which media (``"email"``, ``"sms"``) a customer message is sent; () for none.

    None unless complaints received through ``intake_channel`` get messages (the setting
    ``customer_message_channels``). A medium needs its contact and the server's service.
    The acknowledgement goes by one medium: e-mail for a customer who wrote in (e-mail,
    web form), else SMS; the other one when that is not possible. The result goes by
    every medium possible: it carries the answer and how to reach customer service.
    """
    if purpose not in CUSTOMER_PURPOSES:
        raise ValueError(f"unknown customer message {purpose!r}")
    if intake_channel not in allowed_channels:
        return ()
    possible = []
    if mail_on and (email or "").strip():
        possible.append(EMAIL)
    if sms_on and (phone or "").strip():
        possible.append(SMS)
    if purpose == CUSTOMER_RESULT or len(possible) < 2:
        return tuple(possible)
    return (EMAIL,) if intake_channel in WRITTEN_INTAKE else (SMS,)
