"""The complaint list's mechanics: the queues (?queue=), scope, the indexed search, the
order, the filters' URL names and options, and the lean row cells. Mixed into
:class:`admin_views.complaints.ComplaintView` (the screen a newcomer opens first).
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

from flask import flash, g, request
from flask_admin.babel import gettext as admin_gettext
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import false
from sqlalchemy.orm import load_only, selectinload

from models import Complaint
from rules import Role
from services import queries, reference, upstream
from services import search as search_service
from services.queues import (
    assisting_clause,
    extension_clause,
    has_escalation_queue,
    has_work_queue,
    plan_clause,
)

from .complaint_columns import when
from .contact_search import masked_term
from .privacy import contacts_visible

# The list's queues (?queue=): the user's own work, everything in scope, what is escalated
# to them (rules.escalated_to: a head's level 1, a manager's level 2 and critical ones, …).
MINE, ALL, ESCALATED = "mine", "all", "escalated"
# Extension requests waiting for the user's decision (the dashboard's figure links here).
EXTENSIONS = "extensions"
# Handling plans waiting for the user (处理方案: services.queues.plan_clause).
PLANS = "plans"
# Complaints sent down by an upstream centre, not reported back yet (services.upstream).
UPSTREAM = "upstream"
# 协办: complaints with an open part of my department / named for me (services.queues).
ASSISTING = "assisting"


class ComplaintListMixin:
    """The list of :class:`ComplaintView`: what is in it, in which order, found how."""

    # --- scope, queue, search, order ---------------------------------------------------

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._auto_joins = ()  # the related rows are loaded with selectinload (get_query)

    def scope(self, query):
        # 协办: an assisting department sees the complaints it assists on, but its list's
        # export holds its own complaints only (never another department's).
        exporting = request.endpoint == f"{self.endpoint}.export"
        query = queries.complaint_scope(query, current_user.actor, assisting=not exporting)
        mode = g.get("complaint_list_mode")
        if mode == MINE:
            query = query.where(queries.queue_clause(current_user.actor))
        elif mode == ESCALATED:
            query = query.where(queries.escalated_clause(current_user.actor))
        elif mode == EXTENSIONS:
            query = query.where(extension_clause(current_user.actor))
        elif mode == PLANS:
            query = query.where(plan_clause(current_user.actor))
        elif mode == UPSTREAM:
            query = query.where(upstream.waiting_clause())
        elif mode == ASSISTING:
            query = query.where(assisting_clause(current_user.actor))
        return query

    def get_query(self):
        query = super().get_query()
        if g.get("complaint_list_page"):
            # The list page: only its columns, and no related row — the names of departments,
            # categories and assignees come from services.reference (row_cells): one
            # statement per page, and a deep page's OFFSET skips complaint rows only.
            query = query.options(load_only(*self._list_attributes()))
        elif g.get("complaint_list_mode"):
            # The export: selectinload, not Flask-Admin's joinedload (a fixed number of
            # statements, and no joined rows under OFFSET).
            query = query.options(*(selectinload(rel) for rel in self.column_select_related_list))
        return query

    def _list_attributes(self):
        """The complaint columns a list row reads (row_cells and its formatters)."""
        names = {"id", "status", "due_at", "due_kind", "department_id", "escalation_level",
                 *LIST_NAME_COLUMNS.values()}
        names.update(name for name, _label in self._list_columns
                     if name not in LIST_NAME_COLUMNS)
        return [getattr(Complaint, name) for name in sorted(names)]

    def has_escalated_queue(self) -> bool:
        return current_user.is_authenticated and has_escalation_queue(current_user.role)

    def has_my_queue(self) -> bool:
        return current_user.is_authenticated and has_work_queue(
            current_user.role, current_user.actor.calls_back)

    def queue_mode(self, search=None, filters=None) -> str:
        """"mine" (the role's queue), "all" (everything in scope) or "escalated".

        ``?queue=`` decides; without it a search or a filter looks at everything in scope,
        and the bare list is the user's queue.
        """
        mode = request.args.get("queue")
        # (some roles' are always empty)
        if mode in (MINE, ALL, ESCALATED, EXTENSIONS, PLANS, UPSTREAM, ASSISTING):
            return mode
        # (A masked role's contact search is hidden from the page but still a search.)
        if search or filters or g.get("hide_search"):
            return ALL
        # A supervisor or senior management takes no step of its own: everything in scope.
        return MINE if has_work_queue(current_user.role, current_user.actor.calls_back) else ALL

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        g.complaint_list_mode = self.queue_mode(search, filters)
        g.complaint_list_filtered = bool(filters)
        g.complaint_list_page = execute  # the page itself (the export asks for the query)
        try:
            return super().get_list(page, sort_column, sort_desc, search, filters,
                                    execute=execute, page_size=page_size)
        finally:
            g.complaint_list_mode = None
            g.complaint_list_page = None
            g.search_hit_count = None
            search_service.sorting_back_on()  # after a search with many hits (PostgreSQL)

    def known_total(self, cap):
        """The list's total when the search already counted it (list_total.py): a search
        over everything by a role that sees everything, with no filter, lists exactly the
        index's hits; their number (exact up to search.WALK, past it only "more than
        WALK") saves counting them again."""
        hits = g.get("search_hit_count")
        if (hits is None or g.get("complaint_list_filtered") or g.get("hide_search")
                or g.get("complaint_list_mode") != ALL
                or current_user.role not in Role.SEE_ALL):
            return None
        if hits > search_service.WALK and search_service.WALK < cap:
            return None  # more than WALK, not known to be more than the cap: counted
        return hits

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
        g.search_hit_count = search_service.hit_count()
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
            urgent = g.get("complaint_list_mode") in (MINE, ESCALATED, EXTENSIONS, PLANS)
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

    def row_cells(self, row):
        """(column, display value) of one list row: the column formatters, then dates.

        A lean twin of Flask-Admin's per-cell get_value (a list page formats hundreds of
        cells); values stay plain strings or Markup built with .format, so autoescaped.
        Department, assignee and category names come from services.reference by id.
        """
        cells = []
        formatters = self.column_formatters
        for name, _label_text in self._list_columns:
            named = LIST_NAME_COLUMNS.get(name)
            if named is not None:
                value = reference.name_of(LIST_NAME_TABLES[name], getattr(row, named),
                                          LIST_NAME_ATTRIBUTES.get(name, "name"))
            else:
                formatter = formatters.get(name)
                value = formatter(self, None, row, name) if formatter else getattr(row, name)
            if isinstance(value, datetime):
                value = when(value)
            cells.append((name, "" if value is None else value))
        return cells

    def row_html(self, row, actions) -> Markup:
        """The cells of one list row (the template's ``list_row`` block), built here: Jinja
        spends more per cell than the cell's value costs. Every value is escaped."""
        heads, (before, middle, aria, after) = self._row_parts()
        parts = ([f"{before}{int(row.id)}{middle}{aria % {'name': row.number}}{after}"]
                 if actions else [])
        for (name, value), head in zip(self.row_cells(row), heads, strict=True):
            parts.append(f'<td class="col-{name}"{head}>{escape(value)}</td>')
        return Markup("".join(parts))

    def _row_parts(self):
        """Per request: each cell's opening attributes (its column's name as data-label,
        shown before the value when a row is a card on a narrow screen; the number and the
        title head the card without one) and the row's checkbox, translated once."""
        parts = g.get("complaint_row_parts")
        if parts is None:
            heads = ["" if name in ("number", "title")
                     else f' data-label="{escape(str(label))}"'
                     for name, label in self._list_columns]
            select = escape(admin_gettext("Select record"))
            # As Jinja's gettext: the translation as markup, the number escaped into it.
            checkbox = ('<td><input type="checkbox" name="rowid" class="action-checkbox" value="',
                        f'" title="{select}" aria-label="', Markup(_("Select %(name)s")),
                        '" /></td>')
            parts = g.complaint_row_parts = (heads, checkbox)
        return parts


# List columns shown by name from services.reference: column → the row's id attribute.
LIST_NAME_COLUMNS = {"department": "department_id", "assignee": "assignee_id",
                     "category": "category_id"}
LIST_NAME_TABLES = {"department": reference.departments, "assignee": reference.staff,
                    "category": reference.categories}
LIST_NAME_ATTRIBUTES = {"assignee": "full_name"}
