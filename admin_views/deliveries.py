"""The delivery queue (the administrator's): every e-mail, robot post and SMS the desk sends,
newest first, with its state, tries, next try and last error; "send again" for failed
messages and those waiting after a failed try.

Read-only otherwise: no create, edit, delete, details or export (a message's text stays in
the database). A customer's address is shown masked (rules.delivery_settings.shown_address)
and every error text goes through rules.privacy.mask_text (an SMTP refusal quotes the
address). A page runs a fixed number of queries: the rows with their complaint numbers, then
one query for the staff and one for the departments they name (:meth:`DeliveryView.get_list`).
"""

from __future__ import annotations

from flask import flash, g, url_for
from flask_admin.actions import action
from flask_admin.contrib.sqla import filters
from flask_admin.model.template import TemplateLinkRowAction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import defer, joinedload

from models import Complaint, Delivery, Department, Staff, db
from rules import Role
from rules import delivery as R
from rules.delivery import CUSTOMER_ACK, CUSTOMER_RESULT, DIGEST, FAILED, PENDING, SENT
from rules.delivery_settings import retryable, shown_address, to_customer
from rules.privacy import mask_text
from services import clock
from services.delivery import queue as service

from . import labels as L
from .base import SecureModelView
from .complaint_columns import TYPE_FORMATTERS
from .notifications import KIND

CHANNEL = {R.EMAIL: _l("E-mail"), R.WECOM: _l("WeCom robot"), R.DINGTALK: _l("DingTalk robot"),
           R.SMS: _l("SMS")}
STATUS = {PENDING: _l("Waiting"), SENT: _l("Sent"), FAILED: _l("Failed")}
PURPOSE = {**KIND, DIGEST: _l("Daily digest"),
           CUSTOMER_ACK: _l("Acknowledgement to the customer"),
           CUSTOMER_RESULT: _l("Result to the customer")}
ERROR_SHOWN = 160  # characters of the last error in the list (all of it in the tooltip)


def _purpose_options():
    kinds = (*R.STAFF_KINDS, DIGEST, *R.CUSTOMER_PURPOSES)
    return [(kind, L.label(PURPOSE, kind)) for kind in kinds]


def _names(model, ids):
    if not ids:
        return {}
    column = Staff.full_name if model is Staff else Department.name
    return dict(db.session.execute(select(model.id, column).where(model.id.in_(ids))).all())


# --- columns ---------------------------------------------------------------------------------


def _complaint(view, context, model, name):
    c = model.complaint
    if c is None:
        return ""
    return Markup('<a href="{}">{}</a>').format(url_for("complaint.details_view", id=c.id),
                                                c.number)


def _recipient(view, context, model, name):
    """Who it goes to: a member of staff by name, a department's group, or a customer's
    address masked."""
    if to_customer(model.purpose):
        return Markup('{} <small class="text-muted">{}</small>').format(
            shown_address(model.purpose, model.channel, model.address), _l("customer"))
    if model.recipient_id is not None:
        person = g.get("delivery_staff", {}).get(model.recipient_id, "")
        return Markup('{} <small class="text-muted">{}</small>').format(
            person, model.address or "")
    if model.department_id is not None:
        return Markup('{} <small class="text-muted">{}</small>').format(
            g.get("delivery_departments", {}).get(model.department_id, ""), _l("group chat"))
    return shown_address(model.purpose, model.channel, model.address) or ""


def _last_error(view, context, model, name):
    text = mask_text(model.last_error)
    if not text:
        return ""
    if len(text) <= ERROR_SHOWN:
        return text
    return Markup('<span title="{}">{}…</span>').format(text, text[:ERROR_SHOWN])


def _next_try(view, context, model, name):
    """When a waiting message is tried next (a sent or failed one is not tried again)."""
    if model.status != PENDING or model.next_attempt_at is None:
        return ""
    return model.next_attempt_at.strftime("%Y-%m-%d %H:%M")


def _status(view, context, model, name):
    css = {FAILED: "badge-danger", SENT: "badge-success"}.get(model.status, "badge-secondary")
    return Markup('<span class="badge {} delivery-{}">{}</span>').format(
        css, model.status, L.label(STATUS, model.status))


class DeliveryView(SecureModelView):
    """Administrators only; rows are never created, changed or deleted here."""

    read_roles = (Role.ADMIN,)
    write_roles = ()
    action_roles = (Role.ADMIN,)
    can_view_details = False
    can_export = False
    list_template = "delivery_list.html"
    simple_list_pager = True  # the queue only grows: no count(*) on every page
    column_display_actions = True
    column_extra_row_actions = [TemplateLinkRowAction("delivery_row.retry_row", _l("Send again"))]
    column_list = ("created_at", "channel", "purpose", "complaint", "recipient", "status",
                   "attempts", "next_attempt_at", "last_error")
    column_sortable_list = ("created_at", "next_attempt_at")
    column_default_sort = ("id", True)  # newest first, along the primary key
    column_filters = (
        filters.FilterEqual(Delivery.status, _l("Status"), options=L.options(STATUS)),
        filters.FilterEqual(Delivery.channel, _l("Channel"), options=L.options(CHANNEL)),
        filters.FilterEqual(Delivery.purpose, _l("Purpose"), options=_purpose_options),
    )
    column_formatters = {
        "complaint": _complaint,
        "recipient": _recipient,
        "last_error": _last_error,
        "status": _status,
        "next_attempt_at": _next_try,
        **L.formatters(channel=CHANNEL, purpose=PURPOSE),
    }
    column_type_formatters = TYPE_FORMATTERS
    column_labels = {
        "created_at": _l("Created"), "channel": _l("Channel"), "purpose": _l("Purpose"),
        "complaint": _l("Complaint"), "recipient": _l("Recipient"), "status": _l("Status"),
        "attempts": _l("Tries"), "next_attempt_at": _l("Next try"),
        "last_error": _l("Last error"),
    }

    def get_query(self):
        # The list never needs the messages' text; the complaint: its number only.
        return super().get_query().options(
            defer(Delivery.body), defer(Delivery.html), defer(Delivery.subject),
            joinedload(Delivery.complaint).load_only(Complaint.id, Complaint.number))

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        count, rows = super().get_list(page, sort_column, sort_desc, search, filters,
                                       execute=execute, page_size=page_size)
        if execute:
            rows = list(rows)
            g.delivery_staff = _names(Staff, {r.recipient_id for r in rows
                                              if r.recipient_id is not None})
            g.delivery_departments = _names(Department, {r.department_id for r in rows
                                                         if r.department_id is not None})
        return count, rows

    def retryable(self, row) -> bool:
        return retryable(row.status, row.attempts, row.lease_until, clock.now())

    def failed_url(self) -> str:
        key = next(k for k, (_i, flt) in self._filter_args.items()
                   if flt is self.column_filters[0])
        return self.get_url(".index_view", **{f"flt0_{key}": FAILED})

    def render(self, template, **kwargs):
        if template == self.list_template:
            kwargs.setdefault("failed_count", service.failed_count())
        return super().render(template, **kwargs)

    @action("retry", _l("Send again"), _l("Send the selected messages again?"))
    def action_retry(self, ids):
        done = service.retry(ids, current_user.id, clock.now())
        if done:
            flash(ngettext("%(num)d message will be sent again.",
                           "%(num)d messages will be sent again.", done), "success")
        else:
            flash(_("None of the selected messages can be sent again (sent ones and those "
                     "being sent right now are left as they are)."), "warning")


def add_views(admin, category):
    """The queue, among the administrator's settings screens."""
    admin.add_view(DeliveryView(Delivery, db, name=_l("Delivery queue"), endpoint="delivery",
                                category=category))
