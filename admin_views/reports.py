"""The Reports page: pick a month (and a department), download the monthly meeting workbook.

A GET download (no CSRF needed: it changes nothing but the export audit log), behind the
same role checks as every screen. A department head always gets their own department.
"""

from __future__ import annotations

import tempfile
from datetime import timedelta

from flask import flash, redirect, request, send_file, url_for
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from models import Department, db
from rules.bounds import MAX_YEAR, MIN_YEAR, year_in_window
from rules.privacy import REPORT_ROLES, may_see_contact, report_covers_all_departments
from services import clock
from services.export import XLSX_MIMETYPE, record_export
from services.reports import Period, month, monthly_report, write_monthly_workbook

from . import labels
from .base import SecureBaseView
from .dashboard import DashboardView


def value_labels() -> dict:
    """The translated names of the value sets the workbook shows."""
    return {"kind": labels.KIND, "channel": labels.CHANNEL, "satisfaction": labels.SATISFACTION,
            "status": labels.STATUS, "severity": labels.SEVERITY,
            "escalation": labels.ESCALATION}


def default_month(now) -> str:
    """The last complete month: what a monthly meeting looks back on."""
    return f"{now.replace(day=1) - timedelta(days=1):%Y-%m}"


def send_workbook(period: Period, department: Department | None, staff, mask_phones: bool,
                  screen: str = "monthly_report"):
    """Build the workbook in a temporary file, log the export, send the file."""
    now = clock.now()
    report = monthly_report(period, department, now=now)
    target = tempfile.TemporaryFile(suffix=".xlsx")
    try:
        rows = write_monthly_workbook(report, target, value_labels(), mask_phones,
                                      made_by=staff.full_name or staff.username)
    except BaseException:
        target.close()
        raise
    record_export(staff.id, screen, {"month": period.label,
                                     "department": department.code if department else None},
                  rows, now)
    target.seek(0)
    suffix = f"-{department.code}" if department is not None else ""
    return send_file(target, mimetype=XLSX_MIMETYPE, as_attachment=True, max_age=0,
                     download_name=f"monthly-report-{period.label}{suffix}.xlsx")


class ReportsView(SecureBaseView):
    read_roles = REPORT_ROLES

    def _departments(self):
        """The departments this user may report on (a head: only their own)."""
        stmt = select(Department).order_by(Department.code)
        if not report_covers_all_departments(current_user.role):
            stmt = stmt.where(Department.id == current_user.department_id)
        return db.session.scalars(stmt).all()

    @expose("/")
    def index(self):
        return self.render("admin/reports.html", month=default_month(clock.now()),
                           departments=self._departments(),
                           all_departments=report_covers_all_departments(current_user.role))

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
        if report_covers_all_departments(current_user.role):
            code = request.args.get("department") or ""
            department = None
            if code:
                department = db.session.scalar(select(Department).filter_by(code=code))
                if department is None:
                    flash(_("There is no department with the code %(code)s.", code=code),
                          "error")
                    return redirect(url_for(".index"))
        else:  # a department head: their own department, whatever the URL says
            department = db.session.get(Department, current_user.department_id or 0)
            if department is None:
                flash(_("Your account belongs to no department; ask your administrator."),
                      "error")
                return redirect(url_for(".index"))
        return send_workbook(period, department, current_user,
                             mask_phones=not may_see_contact(current_user.role))


MONTHLY_LINK = (_l("Monthly meeting workbook (Excel)"), "reports.index", REPORT_ROLES)


def add_views(admin):
    """The Reports menu entry, and its link on the dashboard."""
    admin.add_view(ReportsView(name=_l("Reports"), endpoint="reports", url="/admin/reports"))
    if MONTHLY_LINK not in DashboardView.extra_links:
        DashboardView.extra_links.append(MONTHLY_LINK)
