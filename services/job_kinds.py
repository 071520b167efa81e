"""The export job kinds (issue 13): a list screen's "Export to Excel" and the meeting
workbooks (monthly, period, per person), made off the request by services.jobs.

Each kind runs as the screen that asked, found by its endpoint in the app's Flask-Admin
registry (``current_app.extensions["admin"]``), inside a request context for that screen's
URL with the owner signed in (``JobContext.owner_request``): the owner's access, scope,
masking and language are checked and applied again when the job runs, not only when it
was asked for. A refusal fails the job in the owner's words (``JobRefused``).
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from models import Department, db
from rules.errors import PermissionDenied
from rules.privacy import report_covers_all_departments
from services import clock, jobs
from services.export import XLSX_MIMETYPE, record_export
from services.reports import make_workbook, month, options_for, parse_period

LIST_EXPORT = "list_export"
WORKBOOK = "workbook"
REPORTS_ENDPOINT = "reports"


def screen(endpoint: str):
    """The Flask-Admin view registered under ``endpoint``, or None."""
    for admin in current_app.extensions.get("admin", ()):
        for view in admin._views:  # noqa: SLF001 - Flask-Admin keeps no public list
            if view.endpoint == endpoint:
                return view
    return None


def _query_string(pairs) -> str:
    return urlencode([(str(k), str(v)) for k, v in pairs or ()])


# --- a list's export ------------------------------------------------------------------------


@jobs.kind(LIST_EXPORT, label=_l("Excel export"))
def run_list_export(ctx: jobs.JobContext) -> None:
    """``params``: ``endpoint`` (the list's view), ``args`` (the list URL's query as
    [key, value] pairs), optionally ``session`` (values the list reads from the owner's
    session, e.g. a masked contact search). The view writes the file
    (``XlsxExportMixin.write_export``) as its export endpoint did in the request."""
    endpoint = ctx.params.get("endpoint") or ""
    view = screen(endpoint)
    if view is None or not hasattr(view, "write_export"):
        raise jobs.JobRefused(_("This list can no longer be exported."))
    # The export's own URL, not the list's: what a view decides by its endpoint (the
    # complaint list exports its own department's complaints, not those it assists on)
    # is decided as in the request.
    url = f"{view.url.rstrip('/')}/export/xlsx/"
    query = _query_string(ctx.params.get("args"))
    with ctx.owner_request(f"{url}?{query}" if query else url):
        session.update(ctx.params.get("session") or {})
        if not view.is_accessible() or not view.can_export:
            raise jobs.JobRefused(_("You may no longer export this list."))
        now = clock.now()
        path = ctx.output(f"{view.endpoint}-{now:%Y%m%d-%H%M}.xlsx", XLSX_MIMETYPE)
        view.write_export(path, ctx.progress, now=now)


# --- the meeting workbooks ------------------------------------------------------------------


def period_params(period_args: dict):
    """The Period of a job's ``period`` parameter ({"month": …} or kind/value/from/to), or
    None when it is not one (any more)."""
    try:
        if "month" in period_args:
            return month(period_args.get("month") or "")
        return parse_period(period_args.get("kind", ""), period_args.get("value", ""),
                            period_args.get("from", ""), period_args.get("to", ""))
    except ValueError:
        return None


def workbook_name(period, department_code: str | None, people_only: bool) -> str:
    suffix = f"-{department_code}" if department_code else ""
    stem = ("per-person" if people_only
            else "monthly-report" if period.is_month else "period-report")
    return f"{stem}-{period.label.replace('–', '_')}{suffix}.xlsx"


def workbook_title(period, department_code: str | None, people_only: bool) -> str:
    """The job's name in the job list, in the asker's words."""
    where = department_code or _("all departments")
    if people_only:
        return _("Per-person figures %(period)s — %(department)s", period=period.label,
                 department=where)
    if period.is_month:
        return _("Meeting workbook %(period)s — %(department)s", period=period.label,
                 department=where)
    return _("Period workbook %(period)s — %(department)s", period=period.label,
             department=where)


@jobs.kind(WORKBOOK, label=_l("Meeting workbook"))
def run_workbook(ctx: jobs.JobContext) -> None:
    """``params``: ``period`` ({"month": "2026-11"} or {"kind", "value", "from", "to"}),
    ``department`` (a code, or None for all), ``people_only``, ``screen`` (the export
    log's screen name, or None for the usual one). The owner's right to the workbook and
    to the department is checked again: a department head gets their own department only."""
    params = ctx.params
    people_only = bool(params.get("people_only"))
    period = period_params(params.get("period") or {})
    if period is None:
        raise jobs.JobRefused(_("This period is not valid any more; please ask again."))
    view = screen(REPORTS_ENDPOINT)
    with ctx.owner_request(f"{view.url.rstrip('/')}/" if view is not None else "/"):
        staff = ctx.owner
        if view is None or not view.is_accessible():
            raise jobs.JobRefused(_("You may no longer download the meeting workbooks."))
        try:
            options = options_for(staff, people_only=people_only)
        except PermissionDenied as refused:
            raise jobs.JobRefused(str(refused)) from None
        code = params.get("department") or None
        department = None
        if code is not None:
            department = db.session.scalar(select(Department).filter_by(code=code))
            if department is None:
                raise jobs.JobRefused(_("There is no department with the code %(code)s.",
                                        code=code))
        if not report_covers_all_departments(staff.role) and (
                department is None or department.id != staff.department_id):
            raise jobs.JobRefused(_("You may only have the workbook of your own "
                                    "department; please ask again."))
        ctx.progress(0, 3, force=True)
        now = clock.now()
        path = ctx.output(workbook_name(period, code, people_only), XLSX_MIMETYPE)
        rows = make_workbook(period, department, options, path, view.workbook_labels(),
                             made_by=staff.full_name or staff.username, now=now,
                             progress=lambda step: ctx.progress(step, 3))
        ctx.progress(3, 3)
        screen_name = params.get("screen") or (
            "per_person_report" if people_only
            else "monthly_report" if period.is_month else "period_report")
        which = {"month": period.label} if period.is_month else {"period": period.label}
        record_export(staff.id, screen_name, {**which, "department": code}, rows, now)
