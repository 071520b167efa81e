"""The complaint list's filters, with stable URL names and options read per request.

URL names do not depend on the interface language (``?flt0_status_equals=in_progress``,
``?flt0_deadline_is=overdue``, ``?flt0_received_between=2026-01-01+to+2026-01-31``).
Options that come from the database (departments, people, categories) are limited to the
user's scope on each request, from the copies of services.reference (kept a minute, dropped
at once when this process writes those tables); Flask-Admin would keep them from start-up.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import g, has_app_context
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_admin.model.filters import BaseDateBetweenFilter
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from models import Complaint
from rules import Role, Status
from rules.bounds import date_in_window, parse_id
from services import clock, queries, reference

from . import labels


class KeyedFilter(BaseSQLAFilter):
    """A filter with a fixed URL key (``flt0_<url_key>=…``)."""

    url_key = ""
    op_label = _l("equals")

    def operation(self):
        return self.op_label


class ValueFilter(KeyedFilter):
    """column = value, the value one of the options."""

    def __init__(self, column, name, url_key, options, coerce=str):
        super().__init__(column, name, options=options)
        self.url_key = url_key
        self.coerce = coerce

    def validate(self, value):
        # An id past 64 bits would overflow SQLite's integer, past 31 bits PostgreSQL's
        # INTEGER id columns (a 500 either way): "Invalid Filter Value".
        if self.coerce is int:
            number = parse_id(value)
            return number is not None and number <= 2**31 - 1
        return len(value) <= 200

    def clean(self, value):
        return self.coerce(value)

    def apply(self, query, value, alias=None):
        return query.filter(self.get_column(alias) == value)


class StatusFilter(ValueFilter):
    """One status, or any open one."""

    def __init__(self):
        options = [("open", _l("Any open status")), *labels.STATUS.items()]
        super().__init__(Complaint.status, _l("Status"), "status_equals", options)

    def validate(self, value):
        return value == "open" or value in Status.ALL

    def apply(self, query, value, alias=None):
        if value == "open":
            return query.filter(Complaint.status.in_(Status.OPEN))
        return query.filter(Complaint.status == value)


class EscalationFilter(ValueFilter):
    """Who owns the complaint now: its escalation level (0 handler … 3 senior management)."""

    def __init__(self):
        super().__init__(Complaint.escalation_level, _l("Escalation level"),
                         "escalation_level_equals", list(labels.ESCALATION.items()), coerce=int)

    def validate(self, value):
        return value in {str(level) for level in labels.ESCALATION}


def request_now():
    """The request's "now" (one clock reading per request)."""
    if "deadline_now" not in g:
        g.deadline_now = clock.now()
    return g.deadline_now


def request_calendar():
    """The working calendar of what the page shows (services.reference: kept a minute;
    the deadlines themselves are computed by the services from a fresh one)."""
    if "deadline_calendar" not in g:
        g.deadline_calendar = reference.business_calendar()
    return g.deadline_calendar


def due_soon_cutoff():
    """The calendar's due-soon cutoff for the request's "now", computed once per request."""
    if "deadline_cutoff" not in g:
        g.deadline_cutoff = request_calendar().due_soon_cutoff(request_now())
    return g.deadline_cutoff


def deadline_now():
    """The request's "now" and due-soon cutoff."""
    return request_now(), due_soon_cutoff()


DEADLINES = {"overdue": _l("Overdue"), "due_today": _l("Due today"),
             "due_soon": _l("Due soon (less than one working day)")}


class DeadlineFilter(KeyedFilter):
    url_key = "deadline_is"
    op_label = _l("is")

    def __init__(self):
        super().__init__(Complaint.due_at, _l("Deadline"), options=list(DEADLINES.items()))

    def validate(self, value):
        return value in DEADLINES

    def apply(self, query, value, alias=None):
        now, cutoff = deadline_now()
        return query.filter(queries.deadline_clause(value, now, cutoff))


class ReceivedBetweenFilter(KeyedFilter, BaseDateBetweenFilter):
    """Received on or after the first day and on or before the last (whole days)."""

    url_key = "received_between"
    op_label = _l("between")

    def __init__(self):
        super().__init__(Complaint.received_at, _l("Received"), data_type="daterangepicker")

    def validate(self, value):
        # Days outside rules.bounds (e.g. 9999-12-31, whose next day overflows): refused,
        # shown as "Invalid Filter Value" with the filter ignored.
        if not super().validate(value):
            return False
        return all(date_in_window(day) for day in self.clean(value))

    def apply(self, query, value, alias=None):
        start, end = value
        return query.filter(Complaint.received_at >= datetime.combine(start, time(0)),
                            Complaint.received_at < datetime.combine(end + timedelta(days=1),
                                                                     time(0)))


# --- options from the reference tables (services.reference: kept a minute), scoped -------


def _user_ready() -> bool:
    return has_app_context() and current_user and current_user.is_authenticated


def department_options():
    if not _user_ready():
        return []
    rows = reference.departments().rows
    if current_user.role in Role.DEPARTMENTAL:
        rows = [d for d in rows if d.id == current_user.department_id]
    inactive = _l("inactive")
    return [(str(d.id), d.name if d.active else f"{d.name} ({inactive})") for d in rows]


def person_options():
    if not _user_ready():
        return []
    rows = [s for s in reference.staff().rows if s.role in Role.ASSIGNABLE]
    if current_user.role == Role.DEPT_HEAD:
        rows = [s for s in rows if s.department_id == current_user.department_id]
    elif current_user.role == Role.HANDLER:
        rows = [s for s in rows if s.id == current_user.id]
    return [(str(s.id), s.full_name) for s in rows]


def category_options():
    if not _user_ready():
        return []
    return [(str(c.id), c.name) for c in reference.categories().rows]


def complaint_filters():
    return [
        StatusFilter(),
        ValueFilter(Complaint.department_id, _l("Department"), "department_equals",
                    department_options, coerce=int),
        ValueFilter(Complaint.assignee_id, _l("Assignee"), "assignee_equals",
                    person_options, coerce=int),
        ValueFilter(Complaint.category_id, _l("Category"), "category_equals",
                    category_options, coerce=int),
        ValueFilter(Complaint.severity, _l("Severity"), "severity_equals",
                    list(labels.SEVERITY.items())),
        ValueFilter(Complaint.customer_class, _l("Customer class"), "customer_class_equals",
                    list(labels.CUSTOMER_CLASS.items())),
        EscalationFilter(),
        DeadlineFilter(),
        ReceivedBetweenFilter(),
    ]
