"""Every figure of a monthly report, computed by the database.

Two passes over the complaint table give every complaint figure of the month and of the
previous month per department; one query groups the month's complaints by kind, category,
channel and class; one reads the audit trail, one the callbacks.

Working days need the company calendar (statutory holidays, make-up weekends, the
company's overrides), which lives in Python (``rules.calendar``). They are computed inside
the same SQL pass with a cumulative working-day number ``cum(day)``: Mondays to Fridays by
arithmetic on the day number, plus a short ``CASE`` of corrections for the calendar's
exceptions in the range of the data (see :class:`WorkingDays`); the working days from a to
b are ``cum(b) − cum(a)``, summed per department by the database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import Date, Integer, and_, case, cast, distinct, func, literal, or_, select

from models import (
    AccountabilityFinding,
    AccountabilityRecord,
    Assist,
    CallbackRecord,
    Category,
    Complaint,
    ComplaintEvent,
    CorrectiveAction,
    CorrectiveActionLink,
    Department,
    Staff,
    db,
)
from rules import BusinessCalendar, Satisfaction, Status, Validity
from rules.constants import Action, AssistStatus, CapaStatus, Finding

from .report import Figures, MonthlyReport, Period, PersonFigures, ReportOptions

c = Complaint.__table__
e = ComplaintEvent.__table__
cb = CallbackRecord.__table__

# How a complaint ended, for every figure (docs/metrics.md, "Rejected complaints"): one found
# invalid is finished at ``rejected_at``, whether it still waits for customer service to
# tell the customer why (rejected) or was closed after that reply (closed, invalid); only a
# closed complaint that was not found invalid counts as closed, at ``closed_at``.
_REJECTED = or_(c.c.status == Status.REJECTED,
                and_(c.c.status == Status.CLOSED, c.c.validity == Validity.INVALID))
_CLOSED = and_(c.c.status == Status.CLOSED, c.c.validity != Validity.INVALID)


def _in(col, p: Period):
    return and_(col >= p.start, col < p.end)


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _department(department_id):
    return [c.c.department_id == department_id] if department_id is not None else []


def _scope(department_id):
    """One department's complaints (or all); merged duplicates never count: their master
    does (docs/metrics.md, "Merged duplicates")."""
    return [c.c.merged_into_id.is_(None), *_department(department_id)]


# --- working days in SQL ----------------------------------------------------------------------

EPOCH = date(1900, 1, 1)  # a Monday; day numbers count from it
_SQLITE_EPOCH_JULIAN = 2415020  # int(julianday('1900-01-01'))


def _day_number(col):
    """The calendar day of a timestamp as days since 1900-01-01, in SQL."""
    if db.engine.dialect.name == "sqlite":
        return cast(func.julianday(func.date(col)), Integer) - _SQLITE_EPOCH_JULIAN
    return cast(col, Date) - literal(EPOCH, Date)


class WorkingDays:
    """cum(day), the working days from the epoch up to and including a day, as SQL.

    Mondays to Fridays are counted by arithmetic on the day number
    (``n // 7 * 5 + min(n % 7 + 1, 5)``, the epoch being a Monday); the calendar's
    exceptions inside [first, last] — statutory holidays on weekdays, make-up working
    weekends, the company's overrides, exactly as ``BusinessCalendar`` judges each day —
    are added as a short ``CASE`` of cumulative corrections, compared on the timestamp
    itself (cheap). The working days after day a up to and including day b are then
    ``cum(b) − cum(a)``.
    """

    def __init__(self, calendar: BusinessCalendar, first: date, last: date):
        self.corrections: list[tuple[date, int]] = []  # (from this day on, correction)
        total, day = 0, first
        while day <= last:
            weekday = day.weekday() < 5
            if calendar.is_working_day(day) != weekday:
                total += -1 if weekday else 1
                self.corrections.append((day, total))
            day += timedelta(days=1)

    def sql(self, col):
        n = _day_number(col)
        smaller = func.min if db.engine.dialect.name == "sqlite" else func.least
        weekdays = (n // 7) * 5 + smaller(n % 7 + 1, 5)
        if not self.corrections:
            return weekdays
        return weekdays + case(
            *((col >= datetime.combine(day, datetime.min.time()), total)
              for day, total in reversed(self.corrections)),
            else_=0,
        )

    def py(self, day: date) -> int:
        n = (day - EPOCH).days
        correction = next((t for d, t in reversed(self.corrections) if day >= d), 0)
        return n // 7 * 5 + min(n % 7 + 1, 5) + correction


# --- the figures --------------------------------------------------------------------------


def _complaint_columns(p: Period, wd: WorkingDays):
    """Conditional sums over the complaint table for one month (see docs/metrics.md)."""
    resolved = _in(c.c.resolved_at, p)
    forwarded = c.c.forwarded_at.is_not(None)
    never_reopened = c.c.reopen_count == 0
    res_day = wd.sql(c.c.resolved_at)
    return [
        _count_if(_in(c.c.received_at, p)),
        _count_if(and_(_CLOSED, _in(c.c.closed_at, p))),
        _count_if(resolved),
        _count_if(and_(resolved, or_(c.c.resolve_due.is_(None),
                                     c.c.resolved_at <= c.c.resolve_due))),
        _count_if(and_(resolved, c.c.reopen_count >= 1)),
        _count_if(and_(resolved, never_reopened, c.c.answered_on_the_spot.is_(True))),
        _count_if(and_(resolved, never_reopened, c.c.answered_on_the_spot.is_(False),
                       c.c.resolve_due.is_not(None), c.c.resolved_at > c.c.resolve_due)),
        func.coalesce(func.sum(case(
            (resolved, res_day - wd.sql(c.c.received_at)), else_=0)), 0),
        func.coalesce(func.sum(case(
            (and_(resolved, forwarded), res_day - wd.sql(c.c.forwarded_at)),
            else_=0)), 0),
        _count_if(and_(resolved, forwarded)),
    ]


_COMPLAINT_FIELDS = ("received", "closed", "resolved", "on_time", "reopened", "on_the_spot",
                     "late", "resolve_days", "handling_days", "handled")


def _open_at_end(p: Period):
    """1 for a complaint received before the month's end and not finished by then."""
    return case(
        (c.c.received_at >= p.end, 0),
        (and_(_CLOSED, c.c.closed_at < p.end), 0),
        (and_(_REJECTED, c.c.rejected_at < p.end), 0),
        else_=1,
    )


@dataclass
class _Breakdown:
    """Complaints received in the month by kind × category, channel and customer class."""

    kind_category: dict = field(default_factory=lambda: defaultdict(int))
    channels: dict = field(default_factory=lambda: defaultdict(int))
    classes: dict = field(default_factory=lambda: defaultdict(int))


def _figures(cur: Period, department_id, calendar):
    """({(department id, 1 this month / 0 the previous one): Figures}, breakdown,
    satisfaction distribution of the month).

    Two passes over the complaint table compute every complaint figure of both months per
    department (the backlog open at each month's end; everything that moved during the
    two months); one query groups the month's complaints by kind, category, channel and
    class; one query reads the audit trail, one the callbacks.
    """
    prev = cur.previous
    out: dict[tuple[int | None, int], Figures] = defaultdict(Figures)
    scope = _scope(department_id)
    # (the calendar's first day: merged duplicates included, so MIN stays an index read)
    first = db.session.scalar(select(func.min(c.c.received_at))
                              .where(*_department(department_id)))
    first = first.date() if isinstance(first, datetime) else cur.start.date()
    wd = WorkingDays(calendar, min(first, prev.start.date()), cur.end.date())

    # Both passes group on an expression ("department_id + 0") so that SQLite scans the
    # table and sorts, instead of walking an index on department with one random row
    # lookup per complaint; PostgreSQL hashes either way.
    dept = (c.c.department_id + 0).label("dept")

    # 1. Open at each month's end: the complaints not finished before the previous month
    #    began (a complaint closed or rejected earlier is finished at both ends).
    finished_before = case(
        (and_(_CLOSED, c.c.closed_at < prev.start), 1),
        (and_(_REJECTED, c.c.rejected_at < prev.start), 1),
        else_=0,
    )
    # (No "received_at < end" in the WHERE: the CASE handles it, and on SQLite that range
    # would walk the received_at index over most of the table with a lookup per row.)
    stmt = (select(dept, func.sum(_open_at_end(cur)), func.sum(_open_at_end(prev)))
            .where(finished_before == 0, *scope).group_by(dept))
    for dept_id, open_cur, open_prev in db.session.execute(stmt):
        out[(dept_id, 1)].open_at_end = int(open_cur or 0)
        out[(dept_id, 0)].open_at_end = int(open_prev or 0)

    # 1a. Everything else about the complaints, both months at once: only the complaints
    #     received, resolved or closed during the two months.
    window = Period(prev.start, cur.end)
    moved = or_(_in(c.c.received_at, window), _in(c.c.resolved_at, window),
                and_(_CLOSED, _in(c.c.closed_at, window)))
    cols = _complaint_columns(cur, wd) + _complaint_columns(prev, wd)
    stmt = select(dept, *cols).where(moved, *scope).group_by(dept)
    half = len(_COMPLAINT_FIELDS)
    for dept_id, *values in db.session.execute(stmt):
        for which, chunk in ((1, values[:half]), (0, values[half:])):
            fig = out[(dept_id, which)]
            for name, value in zip(_COMPLAINT_FIELDS, chunk, strict=True):
                setattr(fig, name, int(value or 0))

    # 1b. The month's complaints by kind × category, channel and class (index on received).
    breakdown = _Breakdown()
    dims = (c.c.kind, c.c.category_id, c.c.channel, c.c.customer_class)
    stmt = (select(*dims, func.count()).where(_in(c.c.received_at, cur), *scope)
            .group_by(*dims))
    for kind, category, channel, klass, n in db.session.execute(stmt):
        breakdown.kind_category[(kind, category)] += n
        breakdown.channels[channel] += n
        breakdown.classes[klass] += n

    # 2. The audit trail: deadlines missed (distinct complaints) and extension requests.
    joined = e.join(c, c.c.id == e.c.complaint_id)
    ev_cols = []
    for p in (cur, prev):
        ev_cols.append(func.count(distinct(case(
            (and_(e.c.action == Action.OVERDUE, _in(e.c.at, p)), e.c.complaint_id)))))
        ev_cols.append(_count_if(and_(e.c.action == Action.EXTEND_REQUEST, _in(e.c.at, p))))
    stmt = (select(c.c.department_id, *ev_cols).select_from(joined)
            .where(e.c.action.in_((Action.OVERDUE, Action.EXTEND_REQUEST)),
                   e.c.at >= prev.start, e.c.at < cur.end, *scope)
            .group_by(c.c.department_id))
    for dept, od_cur, ext_cur, od_prev, ext_prev in db.session.execute(stmt):
        out[(dept, 1)].overdue, out[(dept, 1)].extension_requests = od_cur, int(ext_cur)
        out[(dept, 0)].overdue, out[(dept, 0)].extension_requests = od_prev, int(ext_prev)

    # 3. Callbacks that reached the customer and recorded a satisfaction.
    which = case((cb.c.at >= cur.start, 1), else_=0)
    stmt = (select(c.c.department_id, which, cb.c.satisfaction, func.count())
            .select_from(cb.join(c, c.c.id == cb.c.complaint_id))
            .where(cb.c.reached.is_(True), cb.c.satisfaction.is_not(None),
                   cb.c.at >= prev.start, cb.c.at < cur.end, *scope)
            .group_by(c.c.department_id, which, cb.c.satisfaction))
    satisfaction = dict.fromkeys(Satisfaction.ALL, 0)
    for dept, w, value, n in db.session.execute(stmt):
        fig = out[(dept, w)]
        fig.callbacks_rated += n
        if value in Satisfaction.GOOD:
            fig.callbacks_good += n
        if w:
            satisfaction[value] = satisfaction.get(value, 0) + n
    return out, breakdown, satisfaction


def _category_names() -> list[tuple[int | None, str]]:
    locale = get_locale()
    chinese = locale is not None and locale.language == "zh"
    rows = db.session.execute(select(Category.id, Category.name, Category.name_en)
                              .order_by(Category.sort_order, Category.id)).all()
    return [(cid, name if chinese or not name_en else name_en) for cid, name, name_en in rows]


def _department_names(ids) -> dict[int | None, str]:
    rows = db.session.execute(select(Department.id, Department.code, Department.name)
                              .where(Department.id.in_([i for i in ids if i is not None])))
    names = {dept_id: f"{name} ({code})" for dept_id, code, name in rows}
    names[None] = _("Customer service (not forwarded)")
    return names


def monthly_report(period: Period, department: Department | None = None,
                   calendar: BusinessCalendar | None = None,
                   now: datetime | None = None) -> MonthlyReport:
    """Every figure of the month (and the previous month), for one department or all."""
    from ..calendar_source import business_calendar
    from ..clock import now as clock_now

    calendar = calendar or business_calendar()
    department_id = department.id if department is not None else None
    figures, breakdown, satisfaction = _figures(period, department_id, calendar)

    total, previous_total = Figures(), Figures()
    by_dept: dict[int | None, Figures] = {}
    for (dept, which), fig in figures.items():
        (total if which else previous_total).__iadd__(fig)
        if which:
            by_dept[dept] = fig
    if department is not None:
        by_dept.setdefault(department.id, Figures())
    else:
        active = db.session.scalars(select(Department.id).where(
            Department.active.is_(True), Department.is_customer_service.is_(False)))
        for dept_id in active:
            by_dept.setdefault(dept_id, Figures())
    names = _department_names(by_dept)
    order = sorted(by_dept, key=lambda d: (d is None, names.get(d, "")))

    # Repeat complainants: the customers (customer file) with two or more complaints with a
    # phone in the month; a complaint without a customer (none linked yet) by its phone.
    unlinked_phone = case((c.c.customer_id.is_(None), c.c.customer_phone_norm))
    phone = func.min(c.c.customer_phone_norm)
    repeat = db.session.execute(
        select(phone, func.min(c.c.customer_name), func.count(),
               func.min(c.c.received_at), func.max(c.c.received_at))
        .where(_in(c.c.received_at, period), c.c.customer_phone_norm.is_not(None),
               c.c.customer_phone_norm != "", *_scope(department_id))
        .group_by(c.c.customer_id, unlinked_phone)
        .having(func.count() >= 2)
        .order_by(func.count().desc(), phone)
    ).all()

    return MonthlyReport(
        period=period,
        department=department,
        total=total,
        previous_total=previous_total,
        by_department=[(d, by_dept[d]) for d in order],
        department_names=names,
        kind_category=dict(breakdown.kind_category),
        categories=_category_names(),
        channels=dict(breakdown.channels),
        classes=dict(breakdown.classes),
        satisfaction=satisfaction,
        repeat_complainants=[tuple(r) for r in repeat],
        made_at=now or clock_now(),
    )


def overdue_rows(period: Period, department_id=None):
    """The complaints that missed a deadline during the month, streamed in batches."""
    missed = (select(e.c.complaint_id)
              .where(e.c.action == Action.OVERDUE, _in(e.c.at, period)))
    assignee = Staff.__table__.alias("assignee")
    dept = Department.__table__
    stmt = (select(c.c.number, c.c.received_at, dept.c.name, c.c.kind, c.c.severity,
                   c.c.title, c.c.status, c.c.due_at, c.c.resolve_due, c.c.resolved_at,
                   c.c.escalation_level, assignee.c.full_name)
            .select_from(c.outerjoin(dept, dept.c.id == c.c.department_id)
                         .outerjoin(assignee, assignee.c.id == c.c.assignee_id))
            .where(c.c.id.in_(missed), *_scope(department_id))
            .order_by(dept.c.name, c.c.number)
            .execution_options(yield_per=1000))
    return db.session.execute(stmt)


# --- the period workbook's further sheets ------------------------------------------------------

r = AccountabilityRecord.__table__
fnd = AccountabilityFinding.__table__
a = Assist.__table__
ca = CorrectiveAction.__table__


def person_figures(period: Period, department_id=None) -> list[PersonFigures]:
    """Per person (docs/metrics.md, "Per person"): four grouped queries — the complaints
    resolved in the period by their assignee, those closed with a final satisfaction, those
    caused, and the missed deadlines recorded in their name with the latest finding."""
    out: dict[int, PersonFigures] = {}

    def fig(person_id) -> PersonFigures:
        if person_id not in out:
            out[person_id] = PersonFigures(person_id, "", "")
        return out[person_id]

    scope = _scope(department_id)
    resolved = _in(c.c.resolved_at, period)
    on_time = or_(c.c.resolve_due.is_(None), c.c.resolved_at <= c.c.resolve_due)
    stmt = (select(c.c.assignee_id, func.count(), _count_if(on_time),
                   _count_if(c.c.reopen_count >= 1))
            .where(resolved, c.c.assignee_id.is_not(None), *scope)
            .group_by(c.c.assignee_id))
    for person, n, in_time, reopened in db.session.execute(stmt):
        f = fig(person)
        f.handled, f.on_time, f.reopened = n, int(in_time), int(reopened)

    stmt = (select(c.c.assignee_id, func.count(),
                   _count_if(c.c.final_satisfaction.in_(Satisfaction.GOOD)))
            .where(_CLOSED, _in(c.c.closed_at, period), c.c.assignee_id.is_not(None),
                   c.c.final_satisfaction.in_(Satisfaction.ALL), *scope)
            .group_by(c.c.assignee_id))
    for person, n, good in db.session.execute(stmt):
        fig(person).closed_rated, fig(person).closed_good = n, int(good)

    stmt = (select(c.c.caused_by_id, func.count())
            .where(resolved, c.c.caused_by_id.is_not(None), *scope)
            .group_by(c.c.caused_by_id))
    for person, n in db.session.execute(stmt):
        fig(person).caused = n

    latest = (select(fnd.c.finding).where(fnd.c.record_id == r.c.id)
              .order_by(fnd.c.id.desc()).limit(1).scalar_subquery())
    where = [_in(r.c.at, period), r.c.person_id.is_not(None), c.c.merged_into_id.is_(None)]
    if department_id is not None:
        where.append(r.c.department_id == department_id)
    stmt = (select(r.c.person_id, func.count(), _count_if(latest == Finding.RESPONSIBLE))
            .select_from(r.join(c, c.c.id == r.c.complaint_id))
            .where(*where).group_by(r.c.person_id))
    for person, n, responsible in db.session.execute(stmt):
        fig(person).overdue, fig(person).responsible = n, int(responsible)

    if not out:
        return []
    dept = Department.__table__
    s = Staff.__table__
    for person, full_name, username, name, code in db.session.execute(
            select(s.c.id, s.c.full_name, s.c.username, dept.c.name, dept.c.code)
            .select_from(s.outerjoin(dept, dept.c.id == s.c.department_id))
            .where(s.c.id.in_(list(out)))):
        f = out[person]
        f.name = full_name or username
        f.department = f"{name} ({code})" if code else ""
    return sorted(out.values(), key=lambda f: (f.department, f.name, f.person_id))


def assisting_parts(period: Period, department_id=None, now: datetime | None = None):
    """The assisting parts (协办) open at some moment of the period: created before its end,
    not reported or withdrawn before its start. Rows: number, lead department, assisting
    department, task, assignee, created at, due, status, reported at, on time (True /
    False / None: not yet known or withdrawn). A department's workbook lists the parts of
    its complaints and the parts it does for others."""
    lead = Department.__table__.alias("lead")
    helper = Department.__table__.alias("helper")
    person = Staff.__table__.alias("part_assignee")
    live = or_(a.c.status == AssistStatus.OPEN,
               and_(a.c.status == AssistStatus.REPORTED, a.c.reported_at >= period.start),
               and_(a.c.status == AssistStatus.WITHDRAWN, a.c.withdrawn_at >= period.start))
    where = [a.c.created_at < period.end, live, c.c.merged_into_id.is_(None)]
    if department_id is not None:
        where.append(or_(c.c.department_id == department_id,
                         a.c.department_id == department_id))
    stmt = (select(c.c.number, lead.c.name, helper.c.name, a.c.task,
                   func.coalesce(person.c.full_name, person.c.username), a.c.created_at,
                   a.c.due_at, a.c.status, a.c.reported_at)
            .select_from(a.join(c, c.c.id == a.c.complaint_id)
                         .outerjoin(lead, lead.c.id == c.c.department_id)
                         .join(helper, helper.c.id == a.c.department_id)
                         .outerjoin(person, person.c.id == a.c.assignee_id))
            .where(*where)
            .order_by(c.c.number, a.c.id))
    rows = []
    for number, lead_name, helper_name, task, assignee, created, due, status, reported in (
            db.session.execute(stmt)):
        if status == AssistStatus.REPORTED:
            on_time = reported <= due
        elif status == AssistStatus.OPEN and now is not None and now > due:
            on_time = False
        else:
            on_time = None
        rows.append((number, lead_name, helper_name, task, assignee, created, due, status,
                     reported, on_time))
    return rows


def corrective_actions(period: Period, department_id=None):
    """The corrective and preventive actions (纠正预防措施) open at some moment of the
    period: created before its end and not finished (effective or cancelled) before its
    start — a finished action changes no more, so its ``updated_at`` is when it finished.
    Rows: number, kind, problem, owner department, owner, due date, status, done at,
    effective (True / False / None: not checked), effect checked at, overdue since, linked
    complaints."""
    owner_dept = Department.__table__
    owner = Staff.__table__.alias("ca_owner")
    link = CorrectiveActionLink.__table__
    linked = (select(func.count()).select_from(link)
              .where(link.c.corrective_action_id == ca.c.id).scalar_subquery())
    where = [ca.c.created_at < period.end,
             or_(ca.c.status.not_in(CapaStatus.FINAL), ca.c.updated_at >= period.start)]
    if department_id is not None:
        where.append(ca.c.owner_department_id == department_id)
    stmt = (select(ca.c.number, ca.c.kind, ca.c.problem, owner_dept.c.name,
                   func.coalesce(owner.c.full_name, owner.c.username), ca.c.due_date,
                   ca.c.status, ca.c.done_at, ca.c.effective, ca.c.effect_checked_at,
                   ca.c.overdue_since, linked)
            .select_from(ca.join(owner_dept, owner_dept.c.id == ca.c.owner_department_id)
                         .outerjoin(owner, owner.c.id == ca.c.owner_id))
            .where(*where).order_by(ca.c.number))
    return [tuple(row) for row in db.session.execute(stmt)]


def period_report(period: Period, department: Department | None = None,
                  options: ReportOptions | None = None,
                  calendar: BusinessCalendar | None = None,
                  now: datetime | None = None) -> MonthlyReport:
    """Every figure of the period and of the previous period of the same length, and the
    sheets ``options`` allow: the one function behind the screen and ``flask report``."""
    from ..clock import now as clock_now

    now = now or clock_now()
    options = options or ReportOptions()
    report = monthly_report(period, department, calendar=calendar, now=now)
    department_id = department.id if department is not None else None
    if options.per_person:
        report.people = person_figures(period, department_id)
    if not options.people_only:
        report.parts = assisting_parts(period, department_id, now=now)
        if options.corrective:
            report.corrective = corrective_actions(period, department_id)
    return report
