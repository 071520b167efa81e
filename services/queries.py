"""Read-side SQL: the row scope, the queues, deadline filters, search and dashboard figures.

Every predicate here mirrors a decision of ``rules`` in SQL, so that lists, counts and
aggregates are computed by the database without loading rows into Python:

- :func:`scope_clause` is ``rules.can_see`` (tests/services/test_queries.py proves the two
  agree on every combination of role, department and assignee);
- :func:`overdue_clause` / :func:`due_soon_clause` are ``rules.deadlines.is_overdue`` /
  ``is_due_soon`` with the calendar's due-soon cutoff computed once per request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import (
    Integer,
    String,
    and_,
    any_,
    case,
    cast,
    false,
    func,
    null,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import aliased, joinedload

from models import Assist, CallbackRecord, Complaint, ComplaintEvent, Department, Staff, db
from rules import Action, Actor, Role, Satisfaction, Severity, Status
from rules.constants import AssistStatus

# --- scope and queues -------------------------------------------------------------------


def scope_clause(actor: Actor, *, assisting: bool = True):
    """SQL twin of ``rules.can_see``: the complaints inside this actor's scope.

    ``assisting``: with the complaints the actor assists on (协办, ``assisting_clause``);
    False: their own scope only (what a department exports: not another's complaints).
    """
    if actor.role in Role.SEE_ALL:
        return true()
    own = Complaint.registered_by_id == actor.id  # what they registered themselves
    parts = (assisting_clause(actor),) if assisting else ()
    if actor.role == Role.DEPT_HEAD:
        if actor.department_id is None:
            return own
        return or_(Complaint.department_id == actor.department_id, own, *parts)
    if actor.role == Role.HANDLER:
        return or_(and_(Complaint.assignee_id.is_not(None), Complaint.assignee_id == actor.id),
                   own, *parts)
    return own


def assisting_clause(actor: Actor):
    """SQL twin of ``can_see(assisting=…)``: the complaint has a part (not withdrawn) of the
    head's department, or named for the handler."""
    if actor.role == Role.DEPT_HEAD and actor.department_id is not None:
        mine = Assist.department_id == actor.department_id
    elif actor.role == Role.HANDLER:
        mine = Assist.assignee_id == actor.id
    else:
        return false()
    # The parts' complaint ids (an index search), not a correlated EXISTS per complaint row:
    # the scope stays an OR of index searches (SQLite: MULTI-INDEX OR; PostgreSQL: a
    # BitmapOr, which it builds for "= ANY(ARRAY(…))" but not for "IN (subquery)").
    ids = select(Assist.complaint_id).where(mine, Assist.status != AssistStatus.WITHDRAWN)
    if db.engine.dialect.name == "postgresql":
        return Complaint.id == any_(func.array(ids.scalar_subquery()))
    return Complaint.id.in_(ids)


def escalated_clause(actor: Actor):
    """SQL twin of ``rules.escalated_to``: the open complaints escalated to this actor."""
    open_ = Complaint.status.in_(Status.OPEN)
    level, dept = Complaint.escalation_level, Complaint.department_id
    critical = Complaint.severity == Severity.CRITICAL
    if actor.role == Role.DEPT_HEAD:
        if actor.department_id is None:
            return false()
        return and_(Complaint.status.in_(Status.IN_DEPARTMENT), level == 1,
                    dept == actor.department_id)
    if actor.role in Role.MANAGERS:
        with_cs = or_(dept.is_(None), Complaint.status.not_in(Status.IN_DEPARTMENT))
        return and_(open_, or_(level == 2, and_(level == 1, with_cs), critical))
    if actor.role == Role.EXECUTIVE:
        return and_(open_, or_(level >= 3, critical))
    return false()


def complaint_scope(query, actor: Actor, *, assisting: bool = True):
    """Restrict a legacy Query or a ``select()`` over Complaint to the actor's scope."""
    return query.where(scope_clause(actor, assisting=assisting))


# "My queue": what waits for this actor's step, derived from the rules' declarations of
# who takes which step in which status (services.queues.work_statuses): customer service
# works the front and the back of the loop, a head their department's, a handler what is
# assigned to them; a supervisor and senior management have no queue of their own.


def queue_statuses(role: str) -> tuple[str, ...]:
    from .queues import work_statuses  # (services.queues builds on this module)

    return work_statuses(role)


def queue_clause(actor: Actor):
    """The actor's own queue: open complaints where they take the next step now
    (``services.queues.actionable_clause``, the dashboard's definition too)."""
    from .queues import actionable_clause

    return actionable_clause(actor)


# --- deadlines --------------------------------------------------------------------------


def overdue_clause(now: datetime):
    """Open and past its current deadline (``rules.deadlines.is_overdue``)."""
    return and_(Complaint.status.in_(Status.OPEN), Complaint.due_at < now)


def due_soon_clause(now: datetime, cutoff: datetime):
    """Open, not overdue, less than one working day left (``is_due_soon``)."""
    return and_(Complaint.status.in_(Status.OPEN), Complaint.due_at >= now,
                Complaint.due_at < cutoff)


def end_of_day(now: datetime) -> datetime:
    return datetime.combine(now.date() + timedelta(days=1), time(0))


def due_today_clause(now: datetime):
    """Open, not overdue, due before midnight."""
    return and_(Complaint.status.in_(Status.OPEN), Complaint.due_at >= now,
                Complaint.due_at < end_of_day(now))


def deadline_clause(kind: str, now: datetime, cutoff: datetime):
    if kind == "overdue":
        return overdue_clause(now)
    if kind == "due_today":
        return due_today_clause(now)
    if kind == "due_soon":
        return due_soon_clause(now, cutoff)
    return None


def queue_order():
    """Most urgent first: due time, no deadline last (on SQLite too), then the oldest.

    ``due_at ASC NULLS LAST, id`` is read in index order on both databases (SQLite ≥ 3.30
    scans an ascending index twice for NULLS LAST): see bench/bench_list.py.
    """
    return (Complaint.due_at.asc().nulls_last(), Complaint.id)


def recent_order():
    """Everything in scope (the "all" list, search results): newest first."""
    return (Complaint.received_at.desc(), Complaint.id.desc())


# --- search -----------------------------------------------------------------------------

_NUMBER = re.compile(r"^TS-[0-9-]*$", re.IGNORECASE)
_PHONE = re.compile(r"^\+?[0-9][0-9 ()\-]{3,}$")
_TOP = "\U0010ffff"  # sorts after every character: [term, term+_TOP) is "starts with term"


def _starts_with(column, term: str):
    """A prefix match that a B-tree index serves on SQLite and PostgreSQL alike.

    (``LIKE 'x%'`` uses an index on SQLite only with ``case_sensitive_like`` and on
    PostgreSQL only with the C collation; a range does in both.)
    """
    return and_(column >= term, column < term + _TOP)


def search_clause(text: str):
    """One indexed predicate: number prefix, exact phone, or name prefix (B-tree only).

    The complaint list's box uses ``services.search`` since issue 10 (full-text index:
    number and phone tails, name parts, words); this stays for callers needing no index.

    - ``TS-2026…`` → complaint numbers starting so (unique index);
    - digits (with +86, spaces, dashes) → the exact normalised phone (indexed column);
    - anything else → customer names starting with it (index on ``customer_name``).

    Never ``LIKE '%…%'`` over the table.
    """
    from rules import normalize_phone

    term = " ".join((text or "").split())
    if not term:
        return None
    if _NUMBER.match(term):
        return _starts_with(Complaint.number, term.upper())
    if _PHONE.match(term):
        norm = normalize_phone(term)
        if norm:
            return Complaint.customer_phone_norm == norm
    return _starts_with(Complaint.customer_name, term)


# --- the detail page --------------------------------------------------------------------


@dataclass
class TimelineEntry:
    at: datetime
    kind: str  # "event" or "callback"
    actor: str
    action: str | None = None
    from_status: str | None = None
    to_status: str | None = None
    to_department: str | None = None
    to_assignee: str | None = None
    escalation_level: int | None = None
    note: str | None = None
    method: str | None = None
    reached: bool | None = None
    satisfaction: str | None = None
    solved: bool | None = None
    order: tuple = field(default=(), repr=False)
    event_id: int | None = None
    # A message to the customer: its deliveries (services.customer_messages.ShownDelivery).
    deliveries: tuple = ()


def timeline(complaint_id: int) -> list[TimelineEntry]:
    """The complaint's events and callbacks in time order (three queries, whatever the size)."""
    events = db.session.scalars(
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint_id)
        .options(joinedload(ComplaintEvent.actor), joinedload(ComplaintEvent.to_department),
                 joinedload(ComplaintEvent.to_assignee))
        .order_by(ComplaintEvent.at, ComplaintEvent.id)
    ).all()
    callbacks = db.session.scalars(
        select(CallbackRecord)
        .where(CallbackRecord.complaint_id == complaint_id)
        .options(joinedload(CallbackRecord.staff))
        .order_by(CallbackRecord.at, CallbackRecord.id)
    ).all()
    # A callback is written twice, as its CallbackRecord and as the action's event (same
    # time, same person): shown as one line, the record's outcome with the event's move.
    records: dict[tuple, list[CallbackRecord]] = {}
    for c in callbacks:
        records.setdefault((c.at, c.staff_id), []).append(c)
    entries = []
    for e in events:
        pair = records.get((e.at, e.actor_id)) if e.action == Action.CALLBACK else None
        c = pair.pop(0) if pair else None
        entries.append(TimelineEntry(
            at=e.at, kind="callback" if c else "event",
            actor=e.actor.full_name if e.actor else "",
            action=e.action, from_status=e.from_status, to_status=e.to_status,
            to_department=e.to_department.name if e.to_department else None,
            to_assignee=e.to_assignee.full_name if e.to_assignee else None,
            escalation_level=e.escalation_level, note=c.notes if c else e.note,
            order=(e.at, 0, e.id), event_id=e.id,
            **({"method": c.method, "reached": c.reached, "satisfaction": c.satisfaction,
                "solved": c.solved} if c else {}),
        ))
    entries += [
        TimelineEntry(
            at=c.at, kind="callback", actor=c.staff.full_name if c.staff else "",
            method=c.method, reached=c.reached, satisfaction=c.satisfaction, solved=c.solved,
            note=c.notes, order=(c.at, 1, c.id),
        )
        for pair in records.values() for c in pair  # a record without its event
    ]
    entries.sort(key=lambda entry: entry.order)
    return entries


# --- the dashboard ----------------------------------------------------------------------


@dataclass
class StatusCounts:
    total: int = 0
    overdue: int = 0
    due_today: int = 0
    due_soon: int = 0


@dataclass
class OpenFigure:
    """Open complaints in scope of one (department, status) pair, with deadline counts."""

    department_id: int | None
    department_name: str | None
    status: str
    counts: StatusCounts


def open_figures(actor: Actor, now: datetime, cutoff: datetime) -> list[OpenFigure]:
    """One SQL statement, one pass over the open complaints in scope: the dashboard's sums.

    Grouped by department and status (a few dozen rows), so that the figures per status
    and per department are both sums of these. For the roles that see everything the
    statement is driven from the small department table: a covering index seek per
    department on (department_id, status, due_at) reads open complaints only (those not
    yet forwarded in a second branch). A head's or a handler's scope is one index range
    already ((department_id, …) or (assignee_id, status, due_at)): grouped directly.
    """

    def n(clause):
        return func.coalesce(func.sum(case((clause, 1), else_=0)), 0)

    sums = (
        func.count(Complaint.id),
        n(Complaint.due_at < now),
        n(and_(Complaint.due_at >= now, Complaint.due_at < end_of_day(now))),
        n(and_(Complaint.due_at >= now, Complaint.due_at < cutoff)),
    )
    open_in_scope = and_(Complaint.status.in_(Status.OPEN), scope_clause(actor))
    if actor.role in Role.SEE_ALL:
        per_department = (
            select(Department.id, Department.name, Complaint.status, *sums)
            .select_from(Department)
            .join(Complaint, Complaint.department_id == Department.id)
            .where(open_in_scope)
            .group_by(Department.id, Department.name, Complaint.status)
        )
        not_forwarded = (
            select(cast(null(), Integer), cast(null(), String), Complaint.status, *sums)
            .where(Complaint.department_id.is_(None), open_in_scope)
            .group_by(Complaint.status)
        )
        stmt = union_all(per_department, not_forwarded)
    else:
        grouped = (
            select(Complaint.department_id, Complaint.status, *sums)
            .where(open_in_scope)
            # status first: SQLite then reads the scope's index range instead of scanning
            # (department_id, status, due_at) whole for the grouping order
            .group_by(Complaint.status, Complaint.department_id)
            .subquery()
        )
        c = grouped.c
        stmt = (
            select(c.department_id, Department.name, *list(c)[1:])
            .select_from(grouped)
            .outerjoin(Department, Department.id == c.department_id)
        )
    return [
        OpenFigure(dept, name, status, StatusCounts(int(t), int(o), int(d), int(s)))
        for dept, name, status, t, o, d, s in db.session.execute(stmt)
    ]


def open_counts_by_status(actor: Actor, now: datetime, cutoff: datetime,
                          figures: list[OpenFigure] | None = None) -> dict[str, StatusCounts]:
    """Open complaints in scope per status, with how many are overdue / due today / soon."""
    if figures is None:
        figures = open_figures(actor, now, cutoff)
    out: dict[str, StatusCounts] = {}
    for f in figures:
        total = out.setdefault(f.status, StatusCounts())
        total.total += f.counts.total
        total.overdue += f.counts.overdue
        total.due_today += f.counts.due_today
        total.due_soon += f.counts.due_soon
    return out


@dataclass
class DepartmentLoad:
    department_id: int | None
    name: str | None
    open: int
    overdue: int


def department_load(actor: Actor, now: datetime,
                    figures: list[OpenFigure] | None = None) -> list[DepartmentLoad]:
    """Open and overdue complaints per responsible department (None: not yet forwarded)."""
    if figures is None:
        figures = open_figures(actor, now, now)
    loads: dict = {}
    for f in figures:
        load = loads.setdefault(f.department_id,
                                DepartmentLoad(f.department_id, f.department_name, 0, 0))
        load.open += f.counts.total
        load.overdue += f.counts.overdue
    return sorted(loads.values(), key=lambda r: (-r.overdue, -r.open, r.name or ""))


@dataclass
class SatisfactionRate:
    good: int
    reached: int

    @property
    def rate(self) -> float | None:
        return self.good / self.reached if self.reached else None


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    start = datetime(now.year, now.month, 1)
    nxt = date(now.year + (now.month == 12), now.month % 12 + 1, 1)
    return start, datetime.combine(nxt, time(0))


def satisfaction(actor: Actor, start: datetime, end: datetime) -> SatisfactionRate:
    """Callbacks that reached the customer in [start, end), and how many found them satisfied."""
    stmt = (
        select(
            func.count(),
            func.coalesce(func.sum(case(
                (CallbackRecord.satisfaction.in_(Satisfaction.GOOD), 1), else_=0)), 0),
        )
        .select_from(CallbackRecord)
        .join(Complaint, Complaint.id == CallbackRecord.complaint_id)
        .where(CallbackRecord.reached.is_(True), CallbackRecord.at >= start,
               CallbackRecord.at < end, scope_clause(actor),
               Complaint.merged_into_id.is_(None))  # a merged duplicate's count for nothing
    )
    reached, good = db.session.execute(stmt).one()
    return SatisfactionRate(good=int(good), reached=int(reached))


def missing_calendar_years(now: datetime, known_years: Iterable[int]) -> list[int]:
    """The current and next year when the statutory calendar has no data for them."""
    known = set(known_years)
    return [year for year in (now.year, now.year + 1) if year not in known]


def in_scope(actor: Actor, complaint_id) -> bool:
    """Whether a complaint id exists inside the actor's scope (one indexed lookup)."""
    try:
        pk = int(complaint_id)
    except (TypeError, ValueError):
        return False
    stmt = select(Complaint.id).where(Complaint.id == pk, scope_clause(actor))
    return db.session.scalar(stmt) is not None


__all__ = [
    "DepartmentLoad", "OpenFigure", "SatisfactionRate", "StatusCounts",
    "TimelineEntry", "open_figures",
    "complaint_scope", "deadline_clause", "department_load", "due_soon_clause",
    "due_today_clause", "end_of_day", "in_scope", "missing_calendar_years", "month_bounds",
    "open_counts_by_status", "overdue_clause", "queue_clause", "queue_order", "queue_statuses",
    "recent_order", "satisfaction", "scope_clause", "search_clause", "timeline",
]


def active_head_clause(department_id):
    """SQL: the department has an active head (its ``head_id``, else an active member with
    the head's role), who sees its queue and assigns what is forwarded to it."""
    named_by = aliased(Department)  # not the outer query's department (correlated below)
    named = (select(Staff.id).join(named_by, named_by.head_id == Staff.id)
             .where(named_by.id == department_id, Staff.active.is_(True)))
    member = select(Staff.id).where(Staff.department_id == department_id,
                                    Staff.role == Role.DEPT_HEAD, Staff.active.is_(True))
    return or_(named.exists(), member.exists())
