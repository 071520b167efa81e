"""The home page: my queue, overdue, due soon, department load, satisfaction, calendar.

Every figure is an SQL aggregate inside the user's scope (services.queries); each links to
the complaint list filtered the same way.
"""

from __future__ import annotations

from flask import url_for
from flask_admin import expose
from flask_login import current_user

from rules import Status
from services import calendar_source, clock, notifications, queries, queues

from . import labels
from .base import SecureIndexView
from .notifications import kind_label as notification_kind


def complaints_url(**args):
    """The complaint list with these filters (stable names, see complaint_filters)."""
    params = {}
    for n, (key, value) in enumerate(args.items()):
        if key == "queue":
            params["queue"] = value
        else:
            params[f"flt{n}_{key}"] = value
    return url_for("complaint.index_view", **params)


class DashboardView(SecureIndexView):
    """The admin index page (Flask-Admin's default one is public; this one is not)."""

    # Extra links shown under "Reports": (label, endpoint, roles). The exports engineer
    # appends the monthly report download here, e.g.
    # DashboardView.extra_links.append((_l("Monthly report"), "report.monthly", ROLES)).
    extra_links: list[tuple] = []

    @expose("/")
    def index(self):
        actor = current_user.actor
        now = clock.now()
        calendar = calendar_source.business_calendar()
        cutoff = calendar.due_soon_cutoff(now)

        figures = queries.open_figures(actor, now, cutoff)  # one pass over open complaints
        by_status = queries.open_counts_by_status(actor, now, cutoff, figures)
        queue = [s for s in queries.queue_statuses(actor.role) if s in Status.OPEN]
        mine = [(s, by_status.get(s, queries.StatusCounts())) for s in queue]
        totals = queries.StatusCounts(
            total=sum(c.total for _, c in mine), overdue=sum(c.overdue for _, c in mine),
            due_today=sum(c.due_today for _, c in mine),
            due_soon=sum(c.due_soon for _, c in mine),
        )
        start, end = queries.month_bounds(now)
        links = [(text, url_for(endpoint)) for text, endpoint, roles in self.extra_links
                 if actor.role in roles]
        # "Escalated to me" (rules.escalated_to): heads, managers, senior management.
        escalated = (queues.escalated_count(actor) if queues.has_escalation_queue(actor.role)
                     else None)
        # The newest unread notifications (their number is the bell's).
        unread, _ = notifications.listed(actor, per_page=5, unread_only=True, with_total=False)
        return self.render(
            "dashboard.html",
            unread=unread,
            notification_label=notification_kind,
            now=now,
            mine=mine,
            totals=totals,
            departments=queries.department_load(actor, now, figures),
            satisfaction=queries.satisfaction(actor, start, end),
            missing_years=queries.missing_calendar_years(
                now, calendar_source.statutory_data_years()),
            extra_links=links,
            escalated=escalated,
            labels=labels,
            complaints_url=complaints_url,
        )
