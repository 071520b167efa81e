"""The monthly meeting workbook: every figure a SQL aggregate, every summary with a chart.

Figures come from ``COUNT`` / ``SUM(CASE …)`` / ``GROUP BY`` queries run by the database;
no complaint is loaded into Python to be counted. Two passes over the complaint table give
every complaint figure of the month and of the previous month per department.

Working days need the company calendar (statutory holidays, make-up weekends, the
company's overrides), which lives in Python (``rules.calendar``). They are computed inside
the same SQL pass with a cumulative working-day number ``cum(day)``: Mondays to Fridays by
arithmetic on the day number, plus a short ``CASE`` of corrections for the calendar's
exceptions in the range of the data (see :class:`WorkingDays`); the working days from a to
b are ``cum(b) − cum(a)``, summed per department by the database.

Only the two lists (repeat complainants, overdue complaints) read rows, streamed.
The definition of every figure is in docs/metrics.md.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta

import xlsxwriter
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import Date, Integer, and_, case, cast, distinct, func, literal, or_, select

from models import CallbackRecord, Category, Complaint, ComplaintEvent, Department, Staff, db
from rules import BusinessCalendar, Satisfaction, Status, mask_phone
from rules.constants import Action, CustomerClass, Kind

from .export import WORKBOOK_OPTIONS, display_width, sheet_title

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")

c = Complaint.__table__
e = ComplaintEvent.__table__
cb = CallbackRecord.__table__


# --- periods ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A calendar month, [start, end) in local time."""

    start: datetime
    end: datetime

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m}"

    @property
    def previous(self) -> Period:
        last = self.start - timedelta(days=1)
        return month(f"{last:%Y-%m}")


def month(text: str) -> Period:
    """The month written ``YYYY-MM``; raises ValueError otherwise."""
    found = _MONTH.match((text or "").strip())
    if not found:
        raise ValueError("month must look like 2026-11")
    year, number = int(found.group(1)), int(found.group(2))
    start = datetime(year, number, 1)  # ValueError for month 13
    end = datetime(year + (number == 12), number % 12 + 1, 1)
    return Period(start, end)


# --- figures ------------------------------------------------------------------------------


@dataclass
class Figures:
    """The figures of one department (or of all) for one month; see docs/metrics.md."""

    received: int = 0
    closed: int = 0
    open_at_end: int = 0
    overdue: int = 0
    resolved: int = 0
    on_time: int = 0  # resolved, and not after the resolve deadline in force
    reopened: int = 0  # resolved, and reopened at least once (mode "reopened")
    on_the_spot: int = 0  # resolved, answered on the spot, never reopened
    late: int = 0  # resolved after the deadline, not on the spot, never reopened
    extension_requests: int = 0
    callbacks_rated: int = 0
    callbacks_good: int = 0  # very satisfied or satisfied
    resolve_days: int = 0  # Σ working days received → resolved, over the resolved
    handling_days: int = 0  # Σ working days forwarded → resolved
    handled: int = 0  # resolved complaints that were forwarded (handling-days denominator)

    @property
    def within_deadline(self) -> int:
        """Handling mode "within deadline": the resolved ones in no other mode."""
        return self.resolved - self.reopened - self.on_the_spot - self.late

    @property
    def on_time_rate(self):
        return _ratio(self.on_time, self.resolved)

    @property
    def reopen_rate(self):
        return _ratio(self.reopened, self.resolved)

    @property
    def satisfaction_rate(self):
        return _ratio(self.callbacks_good, self.callbacks_rated)

    @property
    def avg_resolve_days(self):
        return _ratio(self.resolve_days, self.resolved)

    @property
    def avg_handling_days(self):
        return _ratio(self.handling_days, self.handled)

    def __iadd__(self, other: Figures) -> Figures:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self


def _ratio(part, whole):
    return part / whole if whole else None


@dataclass
class MonthlyReport:
    period: Period
    department: Department | None  # None: every department
    total: Figures
    previous_total: Figures
    by_department: list[tuple[int | None, Figures]]
    department_names: dict[int | None, str]
    kind_category: dict[tuple[str, int | None], int]
    categories: list[tuple[int | None, str]]
    channels: dict[str, int]
    classes: dict[str, int]
    satisfaction: dict[str, int]
    repeat_complainants: list[tuple]
    made_at: datetime
    extra: dict = field(default_factory=dict)


def _in(col, p: Period):
    return and_(col >= p.start, col < p.end)


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _scope(department_id):
    return [c.c.department_id == department_id] if department_id is not None else []


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
        _count_if(and_(c.c.status == Status.CLOSED, _in(c.c.closed_at, p))),
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
        (and_(c.c.status == Status.CLOSED, c.c.closed_at < p.end), 0),
        (and_(c.c.status == Status.REJECTED, c.c.rejected_at < p.end), 0),
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
    first = db.session.scalar(select(func.min(c.c.received_at)).where(*scope))
    first = first.date() if isinstance(first, datetime) else cur.start.date()
    wd = WorkingDays(calendar, min(first, prev.start.date()), cur.end.date())

    # Both passes group on an expression ("department_id + 0") so that SQLite scans the
    # table and sorts, instead of walking an index on department with one random row
    # lookup per complaint; PostgreSQL hashes either way.
    dept = (c.c.department_id + 0).label("dept")

    # 1. Open at each month's end: the complaints not finished before the previous month
    #    began (a complaint closed or rejected earlier is finished at both ends).
    finished_before = case(
        (and_(c.c.status == Status.CLOSED, c.c.closed_at < prev.start), 1),
        (and_(c.c.status == Status.REJECTED, c.c.rejected_at < prev.start), 1),
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
                and_(c.c.status == Status.CLOSED, _in(c.c.closed_at, window)))
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
    from .calendar_source import business_calendar
    from .clock import now as clock_now

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

    repeat = db.session.execute(
        select(c.c.customer_phone_norm, func.min(c.c.customer_name), func.count(),
               func.min(c.c.received_at), func.max(c.c.received_at))
        .where(_in(c.c.received_at, period), c.c.customer_phone_norm.is_not(None),
               c.c.customer_phone_norm != "", *_scope(department_id))
        .group_by(c.c.customer_phone_norm)
        .having(func.count() >= 2)
        .order_by(func.count().desc(), c.c.customer_phone_norm)
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


# --- the workbook -------------------------------------------------------------------------


class _Book:
    """The workbook, its formats, and a small table writer (rows in order: constant memory)."""

    def __init__(self, target, report: MonthlyReport, subtitle: str):
        self.wb = xlsxwriter.Workbook(target, WORKBOOK_OPTIONS)
        self.report = report
        self.subtitle = subtitle
        add = self.wb.add_format
        self.fmt = {
            "title": add({"bold": True, "font_size": 13}),
            "note": add({"italic": True, "font_color": "#555555"}),
            "header": add({"bold": True, "bg_color": "#E9ECEF", "bottom": 1, "text_wrap": True,
                           "valign": "top"}),
            "text": add({}),
            "bold": add({"bold": True, "top": 1}),
            "int": add({"num_format": "0"}),
            "int_total": add({"num_format": "0", "bold": True, "top": 1}),
            "rate": add({"num_format": "0.0%"}),
            "rate_total": add({"num_format": "0.0%", "bold": True, "top": 1}),
            "days": add({"num_format": "0.0"}),
            "days_total": add({"num_format": "0.0", "bold": True, "top": 1}),
            "delta_int": add({"num_format": "+0;-0;0"}),
            "delta_pp": add({"num_format": '+0.0" pp";-0.0" pp";0.0" pp"'}),
            "delta_days": add({"num_format": "+0.0;-0.0;0.0"}),
            "datetime": add({"num_format": "yyyy-mm-dd hh:mm"}),
        }

    def sheet(self, name: str):
        ws = self.wb.add_worksheet(sheet_title(name))
        ws.write_string(0, 0, f"{name} — {self.subtitle}", self.fmt["title"])
        ws.write_string(1, 0, _("Definitions of every figure: docs/metrics.md"), self.fmt["note"])
        return ws

    def table(self, ws, top: int, headers, rows, kinds, total=None, widths=None) -> int:
        """Write headers and rows from row ``top``; returns the last data row written."""
        for col, header in enumerate(headers):
            ws.write_string(top, col, str(header), self.fmt["header"])
        row = top
        for values in rows:
            row += 1
            self._row(ws, row, values, kinds)
        if total is not None:
            row += 1
            self._row(ws, row, total, kinds, suffix="_total", first="bold")
        sizes = widths or [max(display_width(str(h)) + 2, 10) for h in headers]
        for col, width in enumerate(sizes):
            ws.set_column(col, col, width)
        return row

    def _row(self, ws, row, values, kinds, suffix="", first="text"):
        for col, (value, kind) in enumerate(zip(values, kinds, strict=True)):
            if value is None:
                continue
            if kind == "text":
                ws.write_string(row, col, str(value), self.fmt[first if col == 0 else "text"])
            elif kind == "datetime":
                ws.write_datetime(row, col, value, self.fmt["datetime"])
            else:
                fmt = self.fmt.get(kind + suffix, self.fmt[kind])
                ws.write_number(row, col, value, fmt)

    def chart(self, ws, kind: str, title: str, categories, series, anchor: str, subtype=None,
              size=(640, 320)):
        """A native chart; ``series`` is [(name, first row, last row, column)]."""
        options = {"type": kind}
        if subtype:
            options["subtype"] = subtype
        chart = self.wb.add_chart(options)
        name = ws.get_name()
        cat_first, cat_last, cat_col = categories
        for series_name, first, last, col in series:
            spec = {
                "name": str(series_name),
                "categories": [name, cat_first, cat_col, cat_last, cat_col],
                "values": [name, first, col, last, col],
            }
            if kind == "pie":
                spec["data_labels"] = {"percentage": True}
            chart.add_series(spec)
        chart.set_title({"name": str(title)})
        if kind == "pie" or len(series) == 1:
            chart.set_legend({"position": "right" if kind == "pie" else "none"})
        chart.set_size({"width": size[0], "height": size[1]})
        ws.insert_chart(anchor, chart)

    def close(self):
        self.wb.close()


def _delta(cur, prev):
    if cur is None or prev is None:
        return None
    return cur - prev


def _share(part, whole):
    return part / whole if whole else None


def write_monthly_workbook(report: MonthlyReport, target, value_labels: Mapping[str, Mapping],
                           mask_phones: bool, made_by: str) -> int:
    """Write the workbook to ``target`` (a path or a binary file); returns the list rows."""
    scope = (report.department_names.get(report.department.id, report.department.name)
             if report.department is not None else _("all departments"))
    subtitle = _("%(month)s · %(scope)s · made by %(user)s on %(when)s",
                 month=report.period.label, scope=scope, user=made_by,
                 when=report.made_at.strftime("%Y-%m-%d %H:%M"))
    book = _Book(target, report, subtitle)

    def text(kind, value):
        return str(value_labels.get(kind, {}).get(value, value))

    _summary_sheet(book, report)
    _department_sheet(book, report)
    _kind_category_sheet(book, report, text)
    _share_sheet(book, _("By channel"), _("Channel"),
                 [(text("channel", k), n) for k, n in sorted(
                     report.channels.items(), key=lambda kv: (-kv[1], kv[0]))],
                 "pie")
    _share_sheet(book, _("Customer class"), _("Customer class"),
                 [(k, report.classes.get(k, 0)) for k in CustomerClass.ALL]
                 + [(k, n) for k, n in report.classes.items() if k not in CustomerClass.ALL],
                 "column")
    t = report.total
    _share_sheet(book, _("Handling mode"), _("Handling mode"),
                 [(_("Answered on the spot"), t.on_the_spot),
                  (_("Within deadline"), t.within_deadline),
                  (_("Overdue"), t.late),
                  (_("Reopened"), t.reopened)], "pie",
                 note=_("Complaints resolved in the month, each in exactly one mode."))
    _share_sheet(book, _("Satisfaction"), _("Satisfaction"),
                 [(text("satisfaction", k), report.satisfaction.get(k, 0))
                  for k in Satisfaction.ALL], "pie",
                 note=_("Callbacks in the month that reached the customer. "
                        "Satisfaction rate: %(rate)s",
                        rate=_percent(t.satisfaction_rate)))
    rows = _repeat_sheet(book, report, mask_phones)
    rows += _overdue_sheet(book, report, text)
    book.close()
    return rows


def _percent(value) -> str:
    return "—" if value is None else f"{value:.1%}"


def _summary_sheet(book: _Book, report: MonthlyReport):
    ws = book.sheet(_("Summary"))
    cur, prev = report.total, report.previous_total
    metrics = [
        (_("Received in the month"), cur.received, prev.received, "int"),
        (_("Resolved in the month"), cur.resolved, prev.resolved, "int"),
        (_("Closed in the month"), cur.closed, prev.closed, "int"),
        (_("Open at month end"), cur.open_at_end, prev.open_at_end, "int"),
        (_("Overdue (missed a deadline)"), cur.overdue, prev.overdue, "int"),
        (_("On-time rate"), cur.on_time_rate, prev.on_time_rate, "rate"),
        (_("Reopen rate"), cur.reopen_rate, prev.reopen_rate, "rate"),
        (_("Satisfaction rate"), cur.satisfaction_rate, prev.satisfaction_rate, "rate"),
        (_("Average working days to resolve"), cur.avg_resolve_days, prev.avg_resolve_days,
         "days"),
    ]
    top = 3
    headers = [_("Figure"), report.period.label, report.period.previous.label, _("Change")]
    for col, header in enumerate(headers):
        ws.write_string(top, col, str(header), book.fmt["header"])
    for i, (name, a, b, kind) in enumerate(metrics, start=top + 1):
        ws.write_string(i, 0, str(name), book.fmt["text"])
        for col, value in ((1, a), (2, b)):
            if value is not None:
                ws.write_number(i, col, value, book.fmt[kind])
        change = _delta(a, b)
        if change is not None:
            delta_kind = {"int": "delta_int", "rate": "delta_pp", "days": "delta_days"}[kind]
            ws.write_number(i, 3, change * 100 if kind == "rate" else change,
                            book.fmt[delta_kind])
    ws.set_column(0, 0, 34)
    ws.set_column(1, 3, 12)
    # Chart: the counts of both months side by side (rows Received … Overdue).
    first, last = top + 1, top + 5
    book.chart(ws, "column", _("This month and the previous month"), (first, last, 0),
               [(report.period.label, first, last, 1),
                (report.period.previous.label, first, last, 2)], "F4")


def _department_sheet(book: _Book, report: MonthlyReport):
    ws = book.sheet(_("By department"))
    headers = [_("Department"), _("Received in the month"), _("Resolved in the month"),
               _("Resolved within deadline"),
               _("On-time rate"), _("Overdue (missed a deadline)"), _("Extension requests"),
               _("Average handling working days"), _("Rated callbacks"),
               _("Satisfaction rate")]
    kinds = ["text", "int", "int", "int", "rate", "int", "int", "days", "int", "rate"]

    def line(name, f: Figures):
        return [name, f.received, f.resolved, f.on_time, f.on_time_rate, f.overdue,
                f.extension_requests, f.avg_handling_days, f.callbacks_rated,
                f.satisfaction_rate]

    rows = [line(report.department_names.get(d, str(d)), f) for d, f in report.by_department]
    top = 3
    last = book.table(ws, top, headers, rows, kinds, total=line(_("Total"), report.total),
                      widths=[30] + [13] * (len(headers) - 1))
    if rows:
        first, end = top + 1, last - 1
        book.chart(ws, "bar", _("Received and overdue by department"), (first, end, 0),
                   [(headers[1], first, end, 1), (headers[5], first, end, 5)],
                   f"B{last + 4}", size=(720, max(320, 40 * len(rows) + 120)))


def _kind_category_sheet(book: _Book, report: MonthlyReport, text):
    ws = book.sheet(_("Kind × category"))
    kinds = list(Kind.ALL) + sorted({k for k, _c in report.kind_category} - set(Kind.ALL))
    cats = list(report.categories)
    if any(cat is None for _k, cat in report.kind_category):
        cats.append((None, _("(no category)")))
    headers = [_("Category")] + [text("kind", k) for k in kinds] + [_("Total")]
    rows = []
    for cat_id, name in cats:
        counts = [report.kind_category.get((k, cat_id), 0) for k in kinds]
        rows.append([name, *counts, sum(counts)])
    totals = [sum(r[i] for r in rows) for i in range(1, len(headers))]
    top = 3
    last = book.table(ws, top, headers, rows, ["text"] + ["int"] * (len(headers) - 1),
                      total=[_("Total"), *totals], widths=[24] + [13] * (len(headers) - 1))
    first, end = top + 1, last - 1
    if rows:
        book.chart(ws, "column", _("Received by category and kind"), (first, end, 0),
                   [(headers[i], first, end, i) for i in range(1, len(kinds) + 1)],
                   f"B{last + 4}", subtype="stacked", size=(720, 340))


def _share_sheet(book: _Book, title: str, first_header: str, items, chart_kind: str,
                 note: str | None = None):
    ws = book.sheet(title)
    total = sum(n for _k, n in items)
    rows = [[name, n, _share(n, total)] for name, n in items]
    top = 3
    last = book.table(ws, top, [first_header, _("Count"), _("Share")], rows,
                      ["text", "int", "rate"], total=[_("Total"), total, _share(total, total)],
                      widths=[28, 12, 12])
    row = last
    if note:
        row += 2
        ws.write_string(row, 0, note, book.fmt["note"])
    if rows:
        first, end = top + 1, last - 1
        book.chart(ws, chart_kind, title, (first, end, 0), [(_("Count"), first, end, 1)],
                   "E4", size=(520, 320))


def _repeat_sheet(book: _Book, report: MonthlyReport, mask_phones: bool) -> int:
    ws = book.sheet(_("Repeat complainants"))
    headers = [_("Phone"), _("Customer name"), _("Complaints in the month"),
               _("First received"), _("Last received")]
    rows = [[mask_phone(phone) if mask_phones else phone, name, n, first, last]
            for phone, name, n, first, last in report.repeat_complainants]
    book.table(ws, 3, headers, rows, ["text", "text", "int", "datetime", "datetime"],
               widths=[16, 20, 14, 17, 17])
    ws.freeze_panes(4, 0)
    return len(rows)


def _overdue_sheet(book: _Book, report: MonthlyReport, text) -> int:
    ws = book.sheet(_("Overdue complaints"))
    headers = [_("Number"), _("Received at"), _("Department"), _("Kind"), _("Severity"),
               _("Title"), _("Status"), _("Due"), _("Resolve by"), _("Resolved at"),
               _("Escalation level"), _("Assignee")]
    top = 3
    for col, header in enumerate(headers):
        ws.write_string(top, col, str(header), book.fmt["header"])
    kinds = ["text", "datetime", "text", "text", "text", "text", "text", "datetime",
             "datetime", "datetime", "text", "text"]
    row = top
    dept_id = report.department.id if report.department is not None else None
    for r in overdue_rows(report.period, dept_id):
        row += 1
        values = [r[0], r[1], r[2], text("kind", r[3]), text("severity", r[4]), r[5],
                  text("status", r[6]), r[7], r[8], r[9], text("escalation", r[10]), r[11]]
        book._row(ws, row, values, kinds)
    for col, width in enumerate([18, 17, 20, 12, 10, 40, 16, 17, 17, 17, 18, 16]):
        ws.set_column(col, col, width)
    ws.freeze_panes(top + 1, 0)
    if row > top:
        ws.autofilter(top, 0, row, len(headers) - 1)
    return row - top
