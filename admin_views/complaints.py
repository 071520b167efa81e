"""The complaint screens: list (queues, filters, search), detail, registration and edit.

Views show; ``rules`` decide (which actions, who, with what) and ``services`` write. Every
read goes through the scoped ``get_query`` / ``get_one`` of :class:`SecureModelView`.
Columns live in :mod:`.complaint_columns`, the list's queues, search and order in
:mod:`.complaint_list`, the workflow actions in :mod:`.complaint_actions`, the forms in
:mod:`.complaint_forms` and their saving in :mod:`.complaint_form_views`.
"""

from __future__ import annotations

from dataclasses import replace

from flask import g, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

import rules
from models import Complaint, db
from rules import Role
from rules.intake import EDIT_ROLES, REGISTER_ROLES, relays
from services import clock, customer_messages, queries, queues

from . import labels
from .assist import AssistMixin
from .attachments import AttachmentsMixin
from .base import SecureModelView
from .complaint_actions import ComplaintActionsMixin
from .complaint_columns import (
    DETAIL_GROUPS,
    FORMATTERS,
    HIDDEN_WHEN_EMPTY,
    LABELS,
    TYPE_FORMATTERS,
    deadline_state,
    detail_groups,
)
from .complaint_filters import complaint_filters
from .complaint_form_views import ComplaintFormViewsMixin
from .complaint_forms import ComplaintEditForm, ComplaintForm, category_choices
from .complaint_list import ComplaintListMixin
from .contact_search import ContactSearchMixin
from .deliveries import CHANNEL as DELIVERY_CHANNEL
from .deliveries import PURPOSE as DELIVERY_PURPOSE
from .deliveries import STATUS as DELIVERY_STATUS
from .list_total import ListTotalMixin
from .privacy import contacts_visible, shown_text
from .timeline import shown_notes


def _with_deliveries(entries, shown):
    """The timeline with each message event's deliveries, labelled for the screen:
    (purpose, channel, masked address, state label, state)."""
    def labelled(event_id):
        return tuple((labels.label(DELIVERY_PURPOSE, d.purpose),
                      labels.label(DELIVERY_CHANNEL, d.channel), d.address,
                      labels.label(DELIVERY_STATUS, d.status), d.status)
                     for d in shown.get(event_id, ()))
    return [replace(e, deliveries=labelled(e.event_id)) if e.action == rules.Action.MESSAGE
            else e for e in entries]


class ComplaintView(ComplaintListMixin, ComplaintFormViewsMixin, ComplaintActionsMixin,
                    AttachmentsMixin, AssistMixin, ContactSearchMixin, ListTotalMixin,
                    SecureModelView):
    read_roles = Role.ALL
    write_roles = EDIT_ROLES  # the generic edit form
    create_roles = REGISTER_ROLES  # any staff member registers what they received
    can_delete = False
    action_delete = None  # no built-in "delete" bulk action either: complaints are kept

    list_template = "complaint_list.html"
    details_template = "complaint_details.html"
    edit_template = "complaint_edit.html"
    create_template = "complaint_create.html"
    simple_list_pager = True  # no count(*) over a million rows: a capped total (list_total.py)
    column_display_actions = False  # the number links to the complaint page; no icon column
    can_set_page_size = True
    page_size_options = (20, 50, 100)

    column_list = ("number", "title", "customer_name", "status", "department", "assignee",
                   "category", "severity", "escalation_level", "received_at", "due_at")
    column_sortable_list = ("number", "status", "severity", "escalation_level", "received_at",
                            "due_at")
    # "Export to Excel" (admin_views/export.py): the list's rows, with the fields a meeting
    # needs; contacts are masked for roles that may not see them.
    column_export_list = ("number", "received_at", "kind", "channel", "customer_name",
                          "customer_phone", "customer_email", "customer_class", "category",
                          "severity", "title", "description", "demand", "status", "department",
                          "assignee", "escalation_level", "due_at", "root_cause", "resolution",
                          "resolved_at", "compensation_amount", "closed_at",
                          "final_satisfaction", "location", "upstream_ref")
    # (what it is about and who sent it down are on the complaint page: the list stays
    # printable on one landscape page, tests/exports/test_print_setup.py)
    column_details_list = tuple(c for _, cols in DETAIL_GROUPS for c in cols)
    column_labels = LABELS
    column_formatters = FORMATTERS
    column_type_formatters = TYPE_FORMATTERS
    column_type_formatters_detail = TYPE_FORMATTERS
    # Class-bound attributes (strings fail on SQLAlchemy 2); loaded by selectinload.
    column_select_related_list = (Complaint.department, Complaint.assignee, Complaint.category)
    column_filters = complaint_filters()

    # --- templates' helpers ----------------------------------------------------------------

    def render(self, template, **kwargs):
        kwargs.setdefault("labels", labels)
        if template == self.details_template:  # who caused it: accountability readers only
            kwargs.setdefault("detail_groups",
                              detail_groups(queues.may_read_accountability(current_user)))
        kwargs.setdefault("detail_groups", DETAIL_GROUPS)
        kwargs.setdefault("hidden_when_empty", HIDDEN_WHEN_EMPTY)
        kwargs.setdefault("deadline_state", deadline_state)
        kwargs.setdefault("shown_text", shown_text)  # free text masked per role (titles)
        if g.get("hide_search") and "search" in kwargs:
            kwargs["search"] = ""  # not in the box, the title or the filter form
        return super().render(template, **kwargs)

    def timeline(self, complaint):
        """Events and callbacks; their notes with phones and e-mails masked for roles that
        may not see contacts (old edit notes hold changed contact values, staff type them
        into reasons). A message to the customer lists its deliveries: what, how, to whom
        (masked) and whether it went out."""
        cache = g.setdefault("complaint_timelines", {})  # asked by the summary and the table
        if complaint.id not in cache:
            cache[complaint.id] = self._timeline(complaint)
        return cache[complaint.id]

    def _timeline(self, complaint):
        entries = queries.timeline(complaint.id)
        if any(e.action == rules.Action.MESSAGE for e in entries):
            entries = _with_deliveries(entries, customer_messages.shown_deliveries(complaint.id))
        # System notes and edit notes in the reader's language (admin_views.timeline).
        entries = shown_notes(entries)
        if contacts_visible():
            return entries
        return [replace(e, note=shown_text(e.note)) if e.note else e for e in entries]

    def chooses_channel(self) -> bool:
        """Customer service says how a complaint came in; anyone else relays it (the rules
        set the channel to "relayed by a department" for them: rules.check_register)."""
        return not relays(current_user.role)

    # --- registration and the generic edit form -------------------------------------------

    def get_create_form(self):
        return ComplaintForm

    def get_edit_form(self):
        return ComplaintEditForm

    def create_form(self, obj=None):
        form = super().create_form(obj)
        form.category_id.choices = category_choices()
        if request.method == "GET" and not form.received_at.data:
            form.received_at.data = clock.now()  # the call came in as the form was opened
        if not self.chooses_channel():
            del form.channel
        return form

    def edit_form(self, obj=None):
        form = super().edit_form(obj)
        form.category_id.choices = category_choices(obj.category_id if obj else None)
        if request.method == "GET" and obj is not None:
            form.category_id.data = str(obj.category_id or "")
        return form

    def on_form_prefill(self, form, id):
        # Called on GET (and after a failed POST): only the GET sets the version the user
        # is looking at; a re-shown form keeps the version it was opened with.
        if request.method == "GET":
            complaint = self.get_one(id)
            if complaint is not None:
                form.expected_version.data = complaint.version

    # Saving: complaint_form_views.ComplaintFormViewsMixin (create_view, edit_view).

    def get_save_return_url(self, model, is_created=False):
        return self.get_url(".details_view", id=model.id)


def add_views(admin):
    """Add the complaint screens."""
    admin.add_view(ComplaintView(Complaint, db, name=_l("Complaints"), endpoint="complaint"))
