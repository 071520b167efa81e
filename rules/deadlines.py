"""Deadlines: which SLA policy applies, when each stage is due, overdue and due soon.

Every open status waits on someone, with a clock (DESIGN.md "No stage without a clock"):

| status                | waits on                            | clock (Policy field)          |
|-----------------------|-------------------------------------|-------------------------------|
| registered            | customer service: accept or reject  | receipt + accept_hours        |
| accepted              | customer service: forward           | receipt + forward_hours       |
| rejected              | customer service: tell the customer | reject + reply_days           |
| forwarded/in progress | the department: resolve             | forward + resolve_days        |
|   … extension asked   | the approver: decide                | request + decision_days       |
|   … plan submitted    | the head (then senior management if | submission (head's approval)  |
|                       |   critical): approve or return it   |   + plan_days                 |
|   … plan approved     | customer service: customer's answer | approval + plan_days          |
| resolved              | customer service: review            | resolve + review_days         |
| callback              | customer service: next callback     | resolve (then last call) +    |
|                       |   (or closing, once enough)         |   callback_days; all within   |
|                       |                                     |   followup_days of resolution |

Working-day clocks end at 23:59:59 of the N-th working day after the start day; hour
clocks are exact. Nothing here reads the clock: callers pass ``now``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from .calendar import BusinessCalendar
from .constants import Clock, Status

PRODUCT_QUALITY = "product_quality"


@dataclass(frozen=True)
class Policy:
    """An SLA rule; ``None`` in kind/category/severity matches anything."""

    accept_hours: int = 24
    resolve_days: int = 7
    callback_days: int = 5
    callbacks_required: int = 1
    # Register, classify and forward within the same window of receipt.
    forward_hours: int = 24
    review_days: int = 1
    reply_days: int = 1
    decision_days: int = 1
    followup_days: int = 30  # calendar days after the resolution for all follow-up
    # 处理方案: a plan must be approved (and agreed by the customer) before resolving; also
    # whenever the compensation is above ``plan_over_amount`` (None: no such threshold).
    plan_required: bool = False
    plan_over_amount: Decimal | None = None
    plan_days: int = 1  # each plan step: the approval, the customer's answer
    kind: str | None = None
    category: str | None = None
    severity: str | None = None
    id: int = 0

    def matches(self, kind, category, severity) -> bool:
        return (
            (self.kind is None or self.kind == kind)
            and (self.category is None or self.category == category)
            and (self.severity is None or self.severity == severity)
        )

    @property
    def specificity(self) -> int:
        return sum(v is not None for v in (self.kind, self.category, self.severity))


# The company's written rules: accept within 24 h, resolve within 7 working days, first
# callback within 5 working days, 2 callbacks for product-quality complaints, 1 otherwise.
DEFAULT_POLICIES = (
    Policy(),
    Policy(callbacks_required=2, kind="complaint", category=PRODUCT_QUALITY),
)


def match_policy(policies: Iterable[Policy], kind: str, category: str | None,
                 severity: str) -> Policy:
    """The most specific policy matching the complaint; ties go to the lowest id."""
    candidates = [p for p in policies if p.matches(kind, category, severity)]
    if not candidates:
        candidates = [p for p in DEFAULT_POLICIES if p.matches(kind, category, severity)]
    return max(candidates, key=lambda p: (p.specificity, -p.id))


def accept_due(received_at: datetime, policy: Policy) -> datetime:
    return received_at + timedelta(hours=policy.accept_hours)


def resolve_due(forwarded_at: datetime, policy: Policy, calendar: BusinessCalendar) -> datetime:
    return calendar.due_after(forwarded_at, policy.resolve_days)


def callback_due(resolved_at: datetime, policy: Policy, calendar: BusinessCalendar) -> datetime:
    return calendar.due_after(resolved_at, policy.callback_days)


# The column that holds each clock's deadline.
DUE_FIELDS = {
    Clock.ACCEPT: "accept_due",
    Clock.FORWARD: "forward_due",
    Clock.RESOLVE: "resolve_due",
    Clock.EXTENSION: "extension_due",
    Clock.REVIEW: "review_due",
    Clock.CALLBACK: "callback_due",
    Clock.FOLLOWUP: "followup_until",
    Clock.REPLY: "reply_due",
    Clock.PLAN: "plan_due",
    Clock.PLAN_ANSWER: "plan_answer_due",
}

# Which clocks a complaint in each status waits on (the earliest of them is "due").
STATUS_CLOCKS: dict[str, tuple[str, ...]] = {
    Status.REGISTERED: (Clock.ACCEPT,),
    Status.ACCEPTED: (Clock.FORWARD,),
    Status.REJECTED: (Clock.REPLY,),
    Status.FORWARDED: (Clock.RESOLVE, Clock.EXTENSION),
    Status.IN_PROGRESS: (Clock.RESOLVE, Clock.EXTENSION, Clock.PLAN, Clock.PLAN_ANSWER),
    Status.RESOLVED: (Clock.REVIEW,),
    Status.CALLBACK: (Clock.CALLBACK, Clock.FOLLOWUP),
    Status.CLOSED: (),
}


def start_clock(clock: str, *, now: datetime, policy: Policy, calendar: BusinessCalendar,
                received_at: datetime | None = None,
                resolved_at: datetime | None = None) -> dict[str, datetime]:
    """The field change that starts ``clock`` now: ``{due field: deadline}``.

    The forward window counts from receipt (``received_at``) the first time, from ``now``
    when a complaint comes back to be forwarded again (pass no ``received_at``); the
    follow-up month and the first callback count from the resolution when it is known.
    """
    if clock == Clock.ACCEPT:
        due = (received_at or now) + timedelta(hours=policy.accept_hours)
    elif clock == Clock.FORWARD:
        due = (received_at or now) + timedelta(hours=policy.forward_hours)
    elif clock == Clock.RESOLVE:
        due = calendar.due_after(now, policy.resolve_days)
    elif clock == Clock.EXTENSION:
        due = calendar.due_after(now, policy.decision_days)
    elif clock == Clock.REVIEW:
        due = calendar.due_after(now, policy.review_days)
    elif clock == Clock.CALLBACK:
        due = calendar.due_after(resolved_at or now, policy.callback_days)
    elif clock == Clock.FOLLOWUP:
        due = (resolved_at or now) + timedelta(days=policy.followup_days)
    elif clock == Clock.REPLY:
        due = calendar.due_after(now, policy.reply_days)
    elif clock in (Clock.PLAN, Clock.PLAN_ANSWER):
        due = calendar.due_after(now, policy.plan_days)
    else:
        raise ValueError(f"unknown clock {clock!r}")
    return {DUE_FIELDS[clock]: due}


def current_due(status: str, dues: Mapping[str, datetime | None]) -> tuple[datetime | None,
                                                                           str | None]:
    """(deadline, clock) the complaint waits on in ``status``: the earliest set clock."""
    best: tuple[datetime | None, str | None] = (None, None)
    for clock in STATUS_CLOCKS.get(status, ()):
        due = dues.get(DUE_FIELDS[clock])
        if due is not None and (best[0] is None or due < best[0]):
            best = (due, clock)
    return best


def is_overdue(due: datetime | None, now: datetime) -> bool:
    """Past its deadline: a deadline equal to ``now`` is not yet missed (as in the sweep)."""
    return due is not None and now > due


def is_due_soon(due: datetime | None, now: datetime, calendar: BusinessCalendar) -> bool:
    """Not yet overdue, with less than one working day left."""
    return due is not None and now <= due < calendar.due_soon_cutoff(now)


# The deadline a status is waiting on, for the screens' "Due" label (first clock).
PENDING_DEADLINE = {status: (clocks[0] if clocks else None)
                    for status, clocks in STATUS_CLOCKS.items()}

# Who answers for a missed deadline of each clock (AccountabilityRecord): customer
# service; the responsible department's assignee (else its head); or its head alone
# (the extension decision).
RESPONSIBLE = {
    **{clock: "customer_service" for clock in Clock.CUSTOMER_SERVICE},
    Clock.RESOLVE: "assignee",
    Clock.EXTENSION: "department_head",
    Clock.PLAN: "department_head",
}


# --- the screens' countdown ("2 working days left", "due today", "overdue 9 days") -------

OVERDUE, DUE_TODAY, LEFT = "overdue", "due_today", "left"


@dataclass(frozen=True)
class Countdown:
    """Where a deadline stands from ``now``, in the words the screens use.

    - ``OVERDUE``: past due for ``days`` **calendar** days (0: missed earlier today). The
      lateness is counted in calendar days on purpose: it is how long the customer has
      been waiting past the promise, and a deadline missed just before a seven-day
      holiday must not read "overdue 0 days" for a week.
    - ``DUE_TODAY``: due later today (``days`` is 0).
    - ``LEFT``: ``days`` **working** days left — the working days after today up to and
      including the due day (a 2-working-day clock started now shows 2). 0 when only days
      off lie between today and a deadline on a day off (the follow-up month may end on a
      Sunday).
    """

    state: str
    days: int


def countdown(due: datetime | None, now: datetime,
              calendar: BusinessCalendar) -> Countdown | None:
    """The countdown to ``due`` seen at ``now`` (None without a deadline)."""
    if due is None:
        return None
    if is_overdue(due, now):
        return Countdown(OVERDUE, (now.date() - due.date()).days)
    if due.date() == now.date():
        return Countdown(DUE_TODAY, 0)
    return Countdown(LEFT, calendar.working_days_between(now.date(), due.date()))
