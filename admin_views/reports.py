"""The Reports page: pick a month (and a department), download the monthly meeting workbook;
and the page of the figures' definitions (docs/metrics.md rendered as HTML).

A GET (no CSRF needed: it changes nothing but the job list and the export audit log),
behind the same role checks as every screen; the workbook is made by a job (issue 13,
``services.job_kinds``) that checks them again, while the browser shows its progress. A
department head always gets their own department.

The page opens on :func:`default_month`: the previous month during the first
:data:`SETTLING_WORKING_DAYS` working days of a month, the current month from then on.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import markdown
from flask import abort, flash, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from models import Department, db
from rules.bounds import MAX_YEAR, MIN_YEAR, year_in_window
from rules.calendar import BusinessCalendar
from rules.errors import PermissionDenied
from rules.privacy import REPORT_ROLES, report_covers_all_departments
from services import clock, jobs
from services import labels as service_labels
from services.calendar_source import business_calendar
from services.job_kinds import workbook_title
from services.queues import may_read_accountability
from services.reports import (
    PERIOD_KINDS,
    Period,
    month,
    options_for,
    parse_period,
)

from . import labels
from .base import SecureBaseView
from .dashboard import DashboardView

PERIOD_KIND = {"month": _l("Month"), "quarter": _l("Quarter"), "half": _l("Half-year"),
               "range": _l("Date range")}


def value_labels() -> dict:
    """The translated names of the value sets the workbook shows."""
    return {"kind": labels.KIND, "channel": labels.CHANNEL, "satisfaction": labels.SATISFACTION,
            "status": labels.STATUS, "severity": labels.SEVERITY,
            "escalation": labels.ESCALATION,
            "assist_status": labels.ASSIST_STATUS,
            "capa_status": service_labels.CAPA_STATUS, "capa_kind": service_labels.CAPA_KIND}


# A month's last complaints are still being resolved, called back and closed during the
# first working days of the next one, when the monthly meeting discusses it.
SETTLING_WORKING_DAYS = 5
METRICS_FILE = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"


def default_month(now: datetime, calendar: BusinessCalendar) -> str:
    """The month the Reports page opens on: the previous month up to and including the
    ``SETTLING_WORKING_DAYS``-th working day of the current month, the current month (the
    one that has data) from the next working day on."""
    today = now.date() if isinstance(now, datetime) else now
    first = today.replace(day=1)
    elapsed = calendar.working_days_between(first - timedelta(days=1), today)
    if elapsed <= SETTLING_WORKING_DAYS:
        return f"{first - timedelta(days=1):%Y-%m}"
    return f"{today:%Y-%m}"


def settling_end(today: date, calendar: BusinessCalendar) -> date:
    """The last day the page opens on the previous month, in ``today``'s month."""
    return calendar.add_working_days(today.replace(day=1) - timedelta(days=1),
                                     SETTLING_WORKING_DAYS)


@lru_cache(maxsize=4)
def _metrics_html(path: Path, mtime: float) -> str:
    """A Markdown file as HTML (cached while unchanged). Raw HTML in the file is shown as
    text, never as markup."""
    md = markdown.Markdown(extensions=["tables", "sane_lists"], output_format="html")
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    html = md.convert(path.read_text(encoding="utf-8"))
    for level in range(5, 0, -1):  # the page has its own heading: the document's go one down
        html = html.replace(f"<h{level}>", f"<h{level + 1}>").replace(
            f"</h{level}>", f"</h{level + 1}>")
    return html.replace("<table>", '<table class="table table-sm table-bordered">')


def metrics_html() -> Markup:
    return Markup(_metrics_html(METRICS_FILE, METRICS_FILE.stat().st_mtime))  # noqa: S704


def submit_workbook(period: Period, period_args: dict, department: Department | None,
                    people_only: bool = False, screen: str | None = None):
    """Hand the workbook to a job (``services.job_kinds`` ``workbook``: the path
    ``flask report`` takes, ``services.reports.make_workbook``, and the export log) and send
    the browser to its progress page. ``people_only``: the per-person sheet alone, refused
    (403) here, and again by the job, to whoever may not read accountability."""
    try:
        options_for(current_user, people_only=people_only)
    except PermissionDenied:
        abort(403)
    code = department.code if department is not None else None
    job = jobs.submit("workbook", owner=current_user,
                      params={"period": period_args, "department": code,
                              "people_only": people_only, "screen": screen},
                      title=workbook_title(period, code, people_only))
    return redirect(url_for("jobs.detail", job_id=job.id))


def _period_defaults(now: datetime) -> dict:
    """The values the period form opens on: the current quarter and half-year, the
    current month's first day to today."""
    today = now.date()
    return {"quarter": f"{today.year}Q{(today.month - 1) // 3 + 1}",
            "half": f"{today.year}H{1 if today.month <= 6 else 2}",
            "first": today.replace(day=1).isoformat(), "last": today.isoformat()}


def _period_args() -> dict:
    """The period form's fields, as the workbook job reads them again."""
    return {key: request.args.get(key, "") for key in ("kind", "value", "from", "to")}


class ReportsView(SecureBaseView):
    read_roles = REPORT_ROLES
    workbook_labels = staticmethod(value_labels)  # for the workbook job (services.job_kinds)

    def _departments(self):
        """The departments this user may report on (a head: only their own)."""
        stmt = select(Department).order_by(Department.code)
        if not report_covers_all_departments(current_user.role):
            stmt = stmt.where(Department.id == current_user.department_id)
        return db.session.scalars(stmt).all()

    @expose("/")
    def index(self):
        now, calendar = clock.now(), business_calendar()
        return self.render("admin/reports.html", month=default_month(now, calendar),
                           settling_days=SETTLING_WORKING_DAYS,
                           settling_end=settling_end(now.date(), calendar),
                           departments=self._departments(),
                           all_departments=report_covers_all_departments(current_user.role),
                           period_kinds=[(k, PERIOD_KIND[k]) for k in PERIOD_KINDS],
                           defaults=_period_defaults(now),
                           per_person=may_read_accountability(current_user))

    @expose("/metrics/")
    def metrics(self):
        """How every figure is computed: docs/metrics.md, served by the app."""
        return self.render("admin/metrics.html", content=metrics_html())

    def _department(self):
        """(department or None, None) for the request, or (None, a redirect) when wrong.
        A department head gets their own department, whatever the URL says."""
        if report_covers_all_departments(current_user.role):
            code = request.args.get("department") or ""
            if not code:
                return None, None
            department = db.session.scalar(select(Department).filter_by(code=code))
            if department is None:
                flash(_("There is no department with the code %(code)s.", code=code), "error")
                return None, redirect(url_for(".index"))
            return department, None
        department = db.session.get(Department, current_user.department_id or 0)
        if department is None:
            flash(_("Your account belongs to no department; ask your administrator."),
                  "error")
            return None, redirect(url_for(".index"))
        return department, None

    @expose("/monthly/")
    def monthly(self):
        try:
            period = month(request.args.get("month", ""))
        except ValueError:
            period = None
        if period is None or not year_in_window(period.start.year):  # e.g. 0001-01, 9999-12
            flash(_("Please choose a month between %(first)s and %(last)s, for example "
                    "2026-11.", first=f"{MIN_YEAR}-01", last=f"{MAX_YEAR}-12"), "error")
            return redirect(url_for(".index"))
        department, refused = self._department()
        if refused is not None:
            return refused
        return submit_workbook(period, {"month": request.args.get("month", "")}, department)

    def _period(self):
        """The period the form asked for, or None (and a message) when it is wrong."""
        args = request.args
        try:
            period = parse_period(args.get("kind", ""), args.get("value", ""),
                                  args.get("from", ""), args.get("to", ""))
        except ValueError:
            period = None
        if (period is not None and year_in_window(period.start.year)
                and year_in_window(period.last_day.year)):
            return period
        flash(_("Please choose a period between %(first)s and %(last)s: a month (2026-11), "
                "a quarter (2026Q4), a half-year (2026H2), or a range of at most two years "
                "whose first day is not after its last.",
                first=str(MIN_YEAR), last=str(MAX_YEAR)), "error")
        return None

    @expose("/period/")
    def period(self):
        """The workbook of a month, quarter, half-year or free range of days."""
        period = self._period()
        if period is None:
            return redirect(url_for(".index"))
        department, refused = self._department()
        if refused is not None:
            return refused
        return submit_workbook(period, _period_args(), department)

    @expose("/people/")
    def people(self):
        """The per-person figures alone: 403 for whoever may not read accountability."""
        if not may_read_accountability(current_user):
            abort(403)
        period = self._period()
        if period is None:
            return redirect(url_for(".index"))
        department, refused = self._department()
        if refused is not None:
            return refused
        return submit_workbook(period, _period_args(), department, people_only=True)


MONTHLY_LINK = (_l("Monthly meeting workbook (Excel)"), "reports.index", REPORT_ROLES)


def add_views(admin):
    """The Reports menu entry, and its link on the dashboard."""
    admin.add_view(ReportsView(name=_l("Reports"), endpoint="reports", url="/admin/reports"))
    if MONTHLY_LINK not in DashboardView.extra_links:
        DashboardView.extra_links.append(MONTHLY_LINK)
