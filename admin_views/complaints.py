"""The complaint screens: list (queues, filters, search), detail, registration and edit.

Views show; ``rules`` decide (which actions, who, with what) and ``services`` write. Every
read goes through the scoped ``get_query`` / ``get_one`` of :class:`SecureModelView`.
Columns live in :mod:`.complaint_columns`, the workflow actions in
:mod:`.complaint_actions`, the forms in :mod:`.complaint_forms`.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from datetime import datetime

from flask import flash, g, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import false
from sqlalchemy.orm import selectinload

import rules
from models import Complaint, db
from rules import Role
from rules.intake import EDIT_ROLES, REGISTER_ROLES, relays
from services import customer_messages, queries
from services import search as search_service
from services.queues import extension_clause, has_escalation_queue, has_work_queue

from . import labels
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
    when,
)
from .complaint_filters import complaint_filters
from .complaint_form_views import ComplaintFormViewsMixin
from .complaint_forms import ComplaintEditForm, ComplaintForm, category_choices
from .contact_search import ContactSearchMixin, masked_term
from .deliveries import CHANNEL as DELIVERY_CHANNEL
from .deliveries import PURPOSE as DELIVERY_PURPOSE
from .deliveries import STATUS as DELIVERY_STATUS
from .list_total import ListTotalMixin
from .privacy import contacts_visible, shown_text
from .timeline import shown_notes

# The list's queues (?queue=): the user's own work, everything in scope, what is escalated
# to them (rules.escalated_to: a head's level 1, a manager's level 2 and critical ones, …).
MINE, ALL, ESCALATED = "mine", "all", "escalated"
# Extension requests waiting for the user's decision (the dashboard's figure links here).
EXTENSIONS = "extensions"


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


class ComplaintView(ComplaintFormViewsMixin, ComplaintActionsMixin, AttachmentsMixin,
                    ContactSearchMixin, ListTotalMixin, SecureModelView):
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
                          "final_satisfaction")
    column_details_list = tuple(c for _, cols in DETAIL_GROUPS for c in cols)
    column_labels = LABELS
    column_formatters = FORMATTERS
    column_type_formatters = TYPE_FORMATTERS
    column_type_formatters_detail = TYPE_FORMATTERS
    # Class-bound attributes (strings fail on SQLAlchemy 2); loaded by selectinload.
    column_select_related_list = (Complaint.department, Complaint.assignee, Complaint.category)
    column_filters = complaint_filters()

    # --- scope, queue, search, order ---------------------------------------------------

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._auto_joins = ()  # the related rows are loaded with selectinload (get_query)

    def scope(self, query):
        query = queries.complaint_scope(query, current_user.actor)
        mode = g.get("complaint_list_mode")
        if mode == MINE:
            query = query.where(queries.queue_clause(current_user.actor))
        elif mode == ESCALATED:
            query = query.where(queries.escalated_clause(current_user.actor))
        elif mode == EXTENSIONS:
            query = query.where(extension_clause(current_user.actor))
        return query

    def get_query(self):
        query = super().get_query()
        if g.get("complaint_list_mode"):
            # selectinload, not Flask-Admin's joinedload: four queries per page whatever its
            # size, and a deep page's OFFSET skips complaint rows only, not joined rows.
            query = query.options(*(selectinload(rel) for rel in self.column_select_related_list))
        return query

    def has_escalated_queue(self) -> bool:
        return current_user.is_authenticated and has_escalation_queue(current_user.role)

    def has_my_queue(self) -> bool:
        return current_user.is_authenticated and has_work_queue(current_user.role)

    def queue_mode(self, search=None, filters=None) -> str:
        """"mine" (the role's queue), "all" (everything in scope) or "escalated".

        ``?queue=`` decides; without it a search or a filter looks at everything in scope,
        and the bare list is the user's queue.
        """
        mode = request.args.get("queue")
        if mode in (MINE, ALL, ESCALATED, EXTENSIONS):  # some roles' are always empty
            return mode
        # (A masked role's contact search is hidden from the page but still a search.)
        if search or filters or g.get("hide_search"):
            return ALL
        # A supervisor or senior management takes no step of its own: everything in scope.
        return MINE if has_work_queue(current_user.role) else ALL

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        g.complaint_list_mode = self.queue_mode(search, filters)
        try:
            return super().get_list(page, sort_column, sort_desc, search, filters,
                                    execute=execute, page_size=page_size)
        finally:
            g.complaint_list_mode = None
            search_service.sorting_back_on()  # after a search with many hits (PostgreSQL)

    def init_search(self):
        return True  # our own indexed search below, not LIKE '%…%' over columns

    def search_placeholder(self):
        return _("Number or its end, phone or its last 4 digits, name, words")

    def _get_list_extra_args(self):
        # ?contact=<key>: a masked role's contact search kept in the session
        # (admin_views/contact_search.py), for the list and its export alike.
        return self._resolve_contact(super()._get_list_extra_args())

    def _criteria(self, args, sort):
        # The export's title and record: a hidden contact search in its masked form.
        if g.get("hide_search") and args.search:
            shown = "" if g.get("contact_missing") else masked_term(args.search)
            args = args.clone(search=shown or None)
        return super()._criteria(args, sort)

    def _apply_search(self, query, count_query, joins, count_joins, search):
        # services/search.py: number tails, phone tails, name parts, Chinese words, in the
        # full-text index; the scope is applied by scope() as for every list.
        self.flash_contact_note()
        if g.get("contact_missing") or g.get("contact_by_get"):
            nothing = false()
            return (query.filter(nothing),
                    count_query.filter(nothing) if count_query is not None else None,
                    joins, count_joins)
        parsed = search_service.parse(search)
        clause = search_service.search_clause(search, parsed)
        if parsed is not None and "too_short" in parsed.notes:
            flash(_("Type at least 3 digits of a number or 4 of a phone."), "info")
        if clause is not None:
            g.search_rank = search_service.rank(parsed)
            if parsed is not None and parsed.is_contact and not contacts_visible():
                # a masked role's contact search: logged once by search_view (POST), never
                # echoed; reached by ?contact=<key> only (_resolve_contact)
                g.hide_search = True
            query = query.filter(clause)
            if count_query is not None:
                count_query = count_query.filter(clause)
        return query, count_query, joins, count_joins

    def _get_list_url(self, view_args):
        if g.get("hide_search"):  # page and sort links leave the contact out …
            if view_args.search is None:  # … "clear the search": the key goes too
                view_args = view_args.clone(extra_args={
                    k: v for k, v in view_args.extra_args.items() if k != "contact"})
            view_args = view_args.clone(search=None)  # … else ?contact=<key> carries it
        return super()._get_list_url(view_args)

    def _apply_sorting(self, query, joins, sort_column, sort_desc):
        if sort_column is None:  # the queues by due time; everything else newest first
            urgent = g.get("complaint_list_mode") in (MINE, ESCALATED, EXTENSIONS)
            order = queries.queue_order() if urgent else queries.recent_order()
            exact = g.get("search_rank")  # a search: exact number / phone hits first
            return query.order_by(*((exact,) if exact is not None else ()), *order), joins
        if sort_column == "due_at":  # no deadline last, on SQLite as on PostgreSQL
            if sort_desc:
                return query.order_by(Complaint.due_at.desc().nulls_last(),
                                      Complaint.id.desc()), joins
            return query.order_by(*queries.queue_order()), joins
        query, joins = super()._apply_sorting(query, joins, sort_column, sort_desc)
        return query.order_by(Complaint.id.desc() if sort_desc else Complaint.id), joins

    # --- filters: stable URL names, options per request and scope ------------------------

    def get_filter_arg(self, index, flt):
        return getattr(flt, "url_key", None) or super().get_filter_arg(index, flt)

    def _get_filter_groups(self):
        if not self._filters:
            return None
        groups = OrderedDict()
        for index, flt in enumerate(self._filters):
            options = flt.get_options(self)
            groups.setdefault(str(flt.name), []).append({
                "index": index,
                "arg": self.get_filter_arg(index, flt),
                "operation": str(flt.operation()),
                "options": [(k, str(v)) for k, v in options] if options else None,
                "type": flt.data_type,
            })
        return groups

    # --- templates' helpers ----------------------------------------------------------------

    def render(self, template, **kwargs):
        kwargs.setdefault("labels", labels)
        kwargs.setdefault("detail_groups", DETAIL_GROUPS)
        kwargs.setdefault("hidden_when_empty", HIDDEN_WHEN_EMPTY)
        kwargs.setdefault("deadline_state", deadline_state)
        kwargs.setdefault("shown_text", shown_text)  # free text masked per role (titles)
        if g.get("hide_search") and "search" in kwargs:
            kwargs["search"] = ""  # not in the box, the title or the filter form
        return super().render(template, **kwargs)

    def row_cells(self, row):
        """(column, display value) of one list row: the column formatters, then dates.

        A lean twin of Flask-Admin's per-cell get_value (a list page formats hundreds of
        cells); values stay plain strings or Markup built with .format, so autoescaped.
        """
        cells = []
        for name, _label_text in self._list_columns:
            formatter = self.column_formatters.get(name)
            value = formatter(self, None, row, name) if formatter else getattr(row, name)
            if isinstance(value, datetime):
                value = when(value)
            cells.append((name, "" if value is None else value))
        return cells

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
