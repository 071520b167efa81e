"""The home page: per role, the figures that role can act on, each linking to its rows.

Every figure is an SQL aggregate inside the user's scope (services.queries, services.queues)
and links to the complaint list filtered the same way: "my queue" is
``services.queues.actionable_clause`` here and in the list's ``?queue=mine``; "extension
requests to decide" is ``extension_clause`` (``?queue=extensions``); "escalated to me" is
``escalated_clause`` (``?queue=escalated``). What a role may do is the rules' declaration
(services.queues reads it); which panels a role sees is the only choice made here.

The number of SQL statements does not depend on the data: one grouped statement for the
queue figures, one for the departments, one for each health figure.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for
from flask_admin import expose
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import and_

from rules import Role, Status
from rules.intake import REGISTER_ROLES
from services import calendar_source, clock, notifications, queries, queues, upstream

from . import labels
from .base import SecureIndexView
from .notifications import kind_label as notification_kind

# The panels each role sees. "queue": my queue, overdue, due soon, and the queue per
# status; "stages": a clerk's stages (register/accept, forward, call back); "extensions":
# extension requests to decide; "plans": handling plans waiting for me; "escalated":
# escalated to me; "at_risk": departments with
# overdue complaints; "oversight": open, overdue, due soon over everything in scope, per
# department; "headless": departments holding open complaints with no active head;
# "calendar": the working calendar's missing statutory data; "delivery": failed and
# pending outgoing messages; "satisfaction": this month's callbacks; "upstream": reports
# back owed to the upstream centres that sent complaints down; "assisting": open parts
# of assisting departments (协办) for my department or named for me.
PANELS = {
    Role.INTAKE: ("queue", "stages", "plans", "upstream", "headless", "satisfaction"),
    Role.DEPT_HEAD: ("queue", "extensions", "plans", "escalated", "assisting"),
    Role.HANDLER: ("queue", "assisting"),
    Role.MANAGER: ("escalated", "extensions", "plans", "at_risk", "headless", "calendar",
                   "satisfaction"),
    Role.EXECUTIVE: ("escalated", "extensions", "plans", "at_risk", "satisfaction"),
    Role.SUPERVISOR: ("oversight", "satisfaction"),
    Role.ADMIN: ("calendar", "delivery", "headless", "oversight"),
}


def complaints_url(**args):
    """The complaint list with these filters (stable names, see complaint_filters)."""
    params = {}
    for n, (key, value) in enumerate(args.items()):
        if key == "queue":
            params["queue"] = value
        else:
            params[f"flt{n}_{key}"] = value
    return url_for("complaint.index_view", **params)


@dataclass
class Tile:
    css: str  # dash-… (tests and the browser suite find the figure by it)
    label: str
    count: int
    url: str
    tone: str = ""  # danger, warning, primary
    note: str = ""  # a second line, e.g. "3 overdue"
    note_url: str = ""


def _total(per_status: dict[str, int], statuses=None) -> int:
    return sum(n for s, n in per_status.items() if statuses is None or s in statuses)


class DashboardView(SecureIndexView):
    """The admin index page (Flask-Admin's default one is public; this one is not)."""

    # Extra links shown under "Reports": (label, endpoint, roles). The exports engineer
    # appends the monthly report download here, e.g.
    # DashboardView.extra_links.append((_l("Monthly report"), "report.monthly", ROLES)).
    extra_links: list[tuple] = []

    @expose("/")
    def index(self):
        actor = current_user.actor
        panels = PANELS.get(actor.role, ())
        if actor.calls_back:  # a supervisor given the callbacks (company settings)
            panels = (*panels, "queue")
        now = clock.now()
        calendar = calendar_source.business_calendar()
        cutoff = calendar.due_soon_cutoff(now)
        context = {"panels": panels, "tiles": [], "by_status": [], "departments": None,
                   "headless": None, "delivery": None, "satisfaction": None,
                   "missing_years": []}

        counts = queues.counts_by_status(actor, self._figures(actor, panels, now, cutoff))
        context["tiles"] += self._queue_tiles(panels, counts)
        if "queue" in panels:
            queue, overdue = counts["queue"], counts["overdue"]
            context["by_status"] = [(s, queue.get(s, 0), overdue.get(s, 0))
                                    for s in queues.work_statuses(actor.role,
                                                                  actor.calls_back)]
        if "at_risk" in panels or "oversight" in panels:
            figures = queries.open_figures(actor, now, cutoff)
            loads = queries.department_load(actor, now, figures)
            if "at_risk" in panels:
                loads = [d for d in loads if d.overdue]
            context["departments"] = loads
            if "oversight" in panels:
                context["tiles"] += self._oversight_tiles(figures)
        if "upstream" in panels:  # reports back owed to upstream centres (any status)
            context["tiles"].append(Tile(
                "dash-upstream", _l("To report back upstream"), upstream.waiting_count(actor),
                complaints_url(queue="upstream"), "primary"))
        if "headless" in panels:
            context["headless"] = queues.headless_departments()
        if "delivery" in panels:
            context["delivery"] = self._delivery()
        if "calendar" in panels:
            context["missing_years"] = queries.missing_calendar_years(
                now, calendar_source.statutory_data_years())
        if "satisfaction" in panels:
            start, end = queries.month_bounds(now)
            context["satisfaction"] = queries.satisfaction(actor, start, end)
        # Unread notifications, for everyone who has some (the newest five and how many).
        # (Both asked whatever the answer: the page's statements do not depend on the data.)
        unread_total = notifications.unread_count(actor)
        unread, _ = notifications.listed(actor, per_page=5, unread_only=True,
                                         with_total=False)
        links = [(text, url_for(endpoint)) for text, endpoint, roles in self.extra_links
                 if actor.role in roles]
        return self.render(
            "dashboard.html", unread=unread, unread_total=unread_total,
            notification_label=notification_kind, now=now, extra_links=links,
            labels=labels, complaints_url=complaints_url,
            # the phone rings: registering is one click from the home page
            register_url=(url_for("complaint.create_view")
                          if current_user.role in REGISTER_ROLES else None),
            **context)

    # --- the figures -------------------------------------------------------------------

    @staticmethod
    def _figures(actor, panels, now, cutoff) -> dict:
        """The SQL predicates counted in one statement (services.queues.counts_by_status)."""
        out = {}
        if "queue" in panels:
            mine = queues.actionable_clause(actor)
            out["queue"] = mine
            out["overdue"] = and_(mine, queries.overdue_clause(now))
            out["due_soon"] = and_(mine, queries.due_soon_clause(now, cutoff))
        if "extensions" in panels:
            out["extensions"] = queues.extension_clause(actor)
        if "plans" in panels:  # 处理方案 waiting for this user (rules.plan)
            out["plans"] = queues.plan_clause(actor)
        if "escalated" in panels and queues.has_escalation_queue(actor.role):
            out["escalated"] = queries.escalated_clause(actor)
        if "assisting" in panels:  # 协办: open parts of my department / named for me
            out["assisting"] = queues.assisting_clause(actor)
        return out

    @staticmethod
    def _queue_tiles(panels, counts) -> list[Tile]:
        tiles = []
        if "queue" in panels:
            tiles += [
                Tile("dash-queue-total", _l("In my queue"), _total(counts["queue"]),
                     complaints_url(queue="mine")),
                Tile("dash-overdue", _l("Overdue"), _total(counts["overdue"]),
                     complaints_url(queue="mine", deadline_is="overdue"), "danger"),
                Tile("dash-due-soon", _l("Due soon (less than one working day)"),
                     _total(counts["due_soon"]),
                     complaints_url(queue="mine", deadline_is="due_soon"), "warning"),
            ]
        if "stages" in panels:
            queue, overdue = counts["queue"], counts["overdue"]
            for css, status, label in (
                    ("dash-intake", Status.REGISTERED, _l("To accept or reject")),
                    ("dash-forwarding", Status.ACCEPTED, _l("To forward")),
                    ("dash-callbacks", Status.CALLBACK, _l("Callbacks due"))):
                late = overdue.get(status, 0)
                tiles.append(Tile(
                    css, label, queue.get(status, 0),
                    complaints_url(queue="mine", status_equals=status),
                    note=_l("%(n)d overdue", n=late) if late else "",
                    note_url=(complaints_url(queue="mine", status_equals=status,
                                             deadline_is="overdue") if late else "")))
        if "extensions" in counts:
            tiles.append(Tile("dash-extensions", _l("Extension requests to decide"),
                              _total(counts["extensions"]),
                              complaints_url(queue="extensions"), "primary"))
        if "plans" in counts:
            tiles.append(Tile("dash-plans", _l("Handling plans waiting for me"),
                              _total(counts["plans"]), complaints_url(queue="plans"),
                              "primary"))
        if "escalated" in counts:
            tiles.append(Tile("dash-escalated", _l("Escalated to me"),
                              _total(counts["escalated"]),
                              complaints_url(queue="escalated"), "primary"))
        if "assisting" in counts:
            tiles.append(Tile("dash-assisting", _l("Assisting parts for my department"),
                              _total(counts["assisting"]),
                              complaints_url(queue="assisting"), "primary"))
        return tiles

    @staticmethod
    def _oversight_tiles(figures) -> list[Tile]:
        total = sum(f.counts.total for f in figures)
        overdue = sum(f.counts.overdue for f in figures)
        soon = sum(f.counts.due_soon for f in figures)
        return [
            Tile("dash-open", _l("Open complaints"), total,
                 complaints_url(queue="all", status_equals="open")),
            Tile("dash-all-overdue", _l("Overdue"), overdue,
                 complaints_url(queue="all", deadline_is="overdue"), "danger"),
            Tile("dash-all-due-soon", _l("Due soon (less than one working day)"), soon,
                 complaints_url(queue="all", deadline_is="due_soon"), "warning"),
        ]

    def _delivery(self) -> dict:
        health = queues.delivery_health()
        view = next((v for v in self.admin._views if getattr(v, "endpoint", "") == "delivery"),
                    None)
        urls = {"all": url_for("delivery.index_view") if view else ""}
        if view is not None:
            key = next((k for k, (_i, flt) in view._filter_args.items()
                        if flt is view.column_filters[0]), None)
            for status in ("failed", "pending"):
                urls[status] = (url_for("delivery.index_view", **{f"flt0_{key}": status})
                                if key is not None else urls["all"])
        return {"counts": health, "urls": urls}
