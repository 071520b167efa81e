"""What the complaint screens show in each column: labels, formatters, the detail groups.

Every value is escaped (Markup only around ``escape``-d values, or through ``.format``).
A list page formats hundreds of cells: translated labels and the details URL are looked
up once per request (``g``), not once per cell (Flask-Babel's lookup is slow).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import g
from flask_admin.model import typefmt
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup, escape

import rules
from rules import Clock, Status
from rules.deadlines import DUE_FIELDS, DUE_TODAY, OVERDUE, countdown, is_overdue
from rules.privacy import may_see_contact

from . import labels
from .complaint_filters import due_soon_cutoff, request_calendar, request_now
from .privacy import free_text


def cached_label(mapping, value):
    """labels.label(), translated once per request and value."""
    cache = g.setdefault("complaint_labels", {})
    key = (id(mapping), value)
    if key not in cache:
        cache[key] = str(labels.label(mapping, value))
    return cache[key]


def _enum(mapping):
    def fmt(view, context, model, name):
        return cached_label(mapping, getattr(model, name))

    return fmt


def _name_of(attribute):
    def fmt(view, context, model, name):
        related = getattr(model, name)
        return getattr(related, attribute) if related is not None else ""

    return fmt


def _contact(masker):
    def fmt(view, context, model, name):
        value = getattr(model, name)
        return value if may_see_contact(current_user.role) else masker(value)

    return fmt


def _number(view, context, model, name):
    if "complaint_details_url" not in g:
        g.complaint_details_url = view.get_url(".details_view")
    url = f"{g.complaint_details_url}?id={int(model.id)}"
    return Markup(f'<a href="{escape(url)}">{escape(model.number)}</a>')


def _escalation(view, context, model, name):
    """Who owns the complaint at its level now (rules.owner_role)."""
    owner = rules.owner_role(model.escalation_level, model.department_id, model.status)
    return cached_label(labels.ESCALATION_OWNER, owner)


def when(value):
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


# --- deadlines ----------------------------------------------------------------------------

# The due-soon cutoff is one working day ahead; no run of days off is longer than this.
_NEVER_DUE_SOON = timedelta(days=21)


def deadline_state(complaint) -> str | None:
    """"overdue", "due_soon" or None for the complaint's current deadline.

    rules.deadlines.is_overdue, and is_due_soon with the calendar's cutoff computed once
    per request (is_due_soon(due, now, cal) is ``now <= due < cal.due_soon_cutoff(now)``).
    """
    if complaint.status not in Status.OPEN or complaint.due_at is None:
        return None
    now = request_now()
    if is_overdue(complaint.due_at, now):
        return "overdue"
    if complaint.due_at - now > _NEVER_DUE_SOON:
        return None  # more working days ahead than any holiday can swallow: skip the calendar
    if now <= complaint.due_at < due_soon_cutoff():
        return "due_soon"
    return None


def _countdown_words(state: str, days: int) -> str:
    if state == OVERDUE:
        if days == 0:
            return _("overdue since earlier today")
        return ngettext("overdue %(num)d day", "overdue %(num)d days", days)
    if state == DUE_TODAY:
        return _("due today")
    if days == 0:
        return _("due before the next working day")
    return ngettext("%(num)d working day left", "%(num)d working days left", days)


def countdown_text(complaint) -> str | None:
    """"2 working days left", "due today", "overdue 9 days" for the complaint's current
    deadline (rules.deadlines.countdown; overdue counts calendar days), or None.

    The calendar is read once per request; the words once per (state, days).
    """
    if complaint.status not in Status.OPEN or complaint.due_at is None:
        return None
    c = countdown(complaint.due_at, request_now(), request_calendar())
    cache = g.setdefault("countdown_words", {})
    key = (c.state, c.days)
    if key not in cache:
        cache[key] = _countdown_words(c.state, c.days)
    return cache[key]


DEADLINE_LABELS = {"overdue": _l("Overdue"), "due_soon": _l("Due soon")}
_DEADLINE_CSS = {"overdue": "badge-danger deadline-overdue",
                 "due_soon": "badge-warning deadline-due-soon"}


def _due(view, context, model, name):
    """The deadline waited on now, its clock ("Resolve by") and an overdue / due-soon badge."""
    # (escape() and f-strings, not Markup.format: this runs for every row of a page)
    state = deadline_state(model)
    out = [escape(when(model.due_at))]
    if model.due_at is not None and model.due_kind:
        out.append(f'<small class="d-block text-muted due-kind">'
                   f'{escape(cached_label(labels.CLOCK, model.due_kind))}</small>')
    if state is not None:
        out.append(f'<span class="badge {escape(_DEADLINE_CSS[state])}">'
                   f'{escape(cached_label(DEADLINE_LABELS, state))}</span>')
    words = countdown_text(model)
    if words is not None:
        out.append(f'<small class="d-block countdown countdown-{escape(state or "ok")}">'
                   f'{escape(words)}</small>')
    return Markup("".join(out))


def _datetime(view, value, name):
    return when(value)


def _yes_no(view, value, name):
    return _("Yes") if value else _("No")


TYPE_FORMATTERS = {**typefmt.BASE_FORMATTERS, datetime: _datetime, bool: _yes_no}

# The complaint's free-text columns (admin_views.privacy masks contacts inside them).
FREE_TEXT_COLUMNS = ("title", "description", "demand", "validity_reason", "root_cause",
                     "resolution", "extension_reason", "location", "target_text",
                     "caused_by_text")

FORMATTERS = {
    "number": _number,
    "status": _enum(labels.STATUS),
    "kind": _enum(labels.KIND),
    "channel": _enum(labels.CHANNEL),
    "severity": _enum(labels.SEVERITY),
    "validity": _enum(labels.VALIDITY),
    "responsibility": _enum(labels.RESPONSIBILITY),
    "remedy": _enum(labels.REMEDY),
    "last_satisfaction": _enum(labels.SATISFACTION),
    "final_satisfaction": _enum(labels.SATISFACTION),
    "due_kind": _enum(labels.CLOCK),
    "escalation_level": _escalation,
    "department": _name_of("name"),
    "source_department": _name_of("name"),
    "category": _name_of("name"),
    "assignee": _name_of("full_name"),
    "registered_by": _name_of("full_name"),
    "extension_requested_by": _name_of("full_name"),
    "caused_by": _name_of("full_name"),
    "target_kind": _enum(labels.TARGET_KIND),
    "upstream_source": _enum(labels.UPSTREAM_SOURCE),
    "customer_phone": _contact(rules.mask_phone),
    "customer_email": _contact(rules.mask_email),
    "due_at": _due,
    # Free text staff typed may hold a phone or an e-mail: masked as contacts are.
    **{name: free_text for name in FREE_TEXT_COLUMNS},
}

# The column of each clock's deadline, labelled as the clock ("Resolve by").
DUE_COLUMNS = tuple(DUE_FIELDS[clock] for clock in Clock.ALL)

LABELS = {
    "number": _l("Number"), "kind": _l("Kind"), "channel": _l("Channel"),
    "received_at": _l("Received at"), "registered_by": _l("Registered by"),
    "source_department": _l("Relayed by department"),
    "customer_name": _l("Customer"), "customer_phone": _l("Phone"),
    "customer_email": _l("E-mail"), "customer_class": _l("Customer class"),
    "category": _l("Category"), "severity": _l("Severity"), "title": _l("Title"),
    "description": _l("Description"), "demand": _l("Customer demand"),
    "validity": _l("Validity"), "validity_reason": _l("Validity reason"),
    "status": _l("Status"), "department": _l("Department"), "assignee": _l("Assignee"),
    "escalation_level": _l("Escalation level"),
    **{DUE_FIELDS[clock]: labels.CLOCK[clock] for clock in Clock.ALL},
    "due_at": _l("Due"), "accepted_at": _l("Accepted at"), "rejected_at": _l("Rejected at"),
    "forwarded_at": _l("Forwarded at"), "assigned_at": _l("Assigned at"),
    "resolved_at": _l("Resolved at"), "reviewed_at": _l("Reviewed at"),
    "closed_at": _l("Closed at"), "root_cause": _l("Root cause"),
    "responsibility": _l("Responsibility"), "remedy": _l("Remedy"),
    "compensation_amount": _l("Compensation (yuan)"), "resolution": _l("Resolution"),
    "answered_on_the_spot": _l("Answered on the spot"), "reopen_count": _l("Reopened"),
    "callbacks_required": _l("Callbacks required"),
    "callbacks_reached": _l("Callbacks reaching the customer"),
    "last_satisfaction": _l("Last satisfaction"), "final_satisfaction": _l("Final satisfaction"),
    "extension_requested_until": _l("Extension requested until"),
    "extension_reason": _l("Extension reason"),
    "extension_requested_by": _l("Extension requested by"),
    "extension_count": _l("Extensions granted"), "version": _l("Version"),
    "location": _l("Location"), "target_kind": _l("Complaint about"),
    "target_text": _l("Which one"), "upstream_source": _l("Sent down by"),
    "upstream_ref": _l("Upstream reference number"), "upstream_due": _l("Report back by"),
    "upstream_reported_at": _l("Reported back upstream at"),
    "upstream_overdue_since": _l("Report back overdue since"),
    "caused_by": _l("Caused by (staff member)"), "caused_by_text": _l("Caused by (outside party)"),
}

# Where and what about; who sent it down and the report back to it (issue 12).
RECORD_COLUMNS = ("location", "target_kind", "target_text", "upstream_source", "upstream_ref",
                  "upstream_due", "upstream_reported_at", "upstream_overdue_since")
# Who caused the complaint: shown only to those who read accountability (detail_groups).
ACCOUNTABILITY_COLUMNS = ("caused_by", "caused_by_text")

DETAIL_GROUPS = (
    (_l("Complaint"), ("number", "status", "kind", "channel", "source_department", "category",
                       "severity", "title", "description", "demand", "received_at",
                       "registered_by", "validity", "validity_reason", *RECORD_COLUMNS)),
    (_l("Customer"), ("customer_name", "customer_phone", "customer_email", "customer_class")),
    (_l("Handling"), ("department", "assignee", "escalation_level", "due_at", *DUE_COLUMNS,
                      "extension_requested_until", "extension_reason",
                      "extension_requested_by", "extension_count")),
    (_l("Result"), ("root_cause", "responsibility", "remedy", "compensation_amount",
                    "resolution", *ACCOUNTABILITY_COLUMNS, "answered_on_the_spot",
                    "callbacks_required",
                    "callbacks_reached", "last_satisfaction", "final_satisfaction",
                    "reopen_count")),
    (_l("Steps"), ("accepted_at", "rejected_at", "forwarded_at", "assigned_at", "resolved_at",
                   "reviewed_at", "closed_at")),
)
# Shown on the detail page only when set (most clocks never run for one complaint).
HIDDEN_WHEN_EMPTY = frozenset((*DUE_COLUMNS, "source_department", "extension_requested_until",
                               "extension_reason", "extension_requested_by", *RECORD_COLUMNS,
                               *ACCOUNTABILITY_COLUMNS))


def detail_groups(reads_accountability: bool):
    """The detail page's groups for this reader: who caused the complaint only for those
    who read accountability (services.queues.may_read_accountability)."""
    if reads_accountability:
        return DETAIL_GROUPS
    return tuple((label, tuple(c for c in columns if c not in ACCOUNTABILITY_COLUMNS))
                 for label, columns in DETAIL_GROUPS)
