"""Complaint list, detail, workflow action forms, bulk actions and the safe edit form.

Views show; ``rules`` decide (which actions, who, with what) and ``services`` write. Every
read goes through the scoped ``get_query`` / ``get_one`` of :class:`SecureModelView`.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta

from flask import abort, flash, g, redirect, request
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.model import typefmt
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy.orm import selectinload

import rules
from models import Complaint, db
from rules import Role, Status
from rules.deadlines import is_overdue
from rules.intake import EDIT_ROLES, REGISTER_ROLES
from rules.privacy import may_see_contact
from rules.workflow import ACTION_ROLES
from services import complaints as complaint_service
from services import queries

from . import labels
from .base import SecureModelView
from .complaint_filters import complaint_filters, due_soon_cutoff, request_now
from .complaint_forms import (
    ACTION_FORMS,
    BULK_ACTIONS,
    BULK_FORMS,
    ActionForm,
    ComplaintEditForm,
    ComplaintForm,
    category_choices,
)
from .i18n import rule_message

# --- column formatters (every value escaped: Markup only through .format) ---------------
# A list page formats hundreds of cells: translated labels and the details URL are looked
# up once per request (g), not once per cell (Flask-Babel's lookup is slow).


def _label(mapping, value):
    """labels.label(), translated once per request and value."""
    cache = g.setdefault("complaint_labels", {})
    key = (id(mapping), value)
    if key not in cache:
        cache[key] = str(labels.label(mapping, value))
    return cache[key]


def _enum(mapping):
    def fmt(view, context, model, name):
        return _label(mapping, getattr(model, name))

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
    return Markup('<a href="{}">{}</a>').format(url, model.number)


def _escalation(view, context, model, name):
    return _label(labels.ESCALATION, model.escalation_level)


def _when(value):
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


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


# The due-soon cutoff is one working day ahead; no run of days off is longer than this.
_NEVER_DUE_SOON = timedelta(days=21)


DEADLINE_LABELS = {"overdue": _l("Overdue"), "due_soon": _l("Due soon")}
_DEADLINE_CSS = {"overdue": "badge-danger deadline-overdue",
                 "due_soon": "badge-warning deadline-due-soon"}


def _due(view, context, model, name):
    state = deadline_state(model)
    if state is None:
        return _when(model.due_at)
    return Markup('{} <span class="badge {}">{}</span>').format(
        _when(model.due_at), _DEADLINE_CSS[state], _label(DEADLINE_LABELS, state))


def _datetime(view, value, name):
    return _when(value)


def _yes_no(view, value, name):
    return _("Yes") if value else _("No")


TYPE_FORMATTERS = {**typefmt.BASE_FORMATTERS, datetime: _datetime, bool: _yes_no}


FORMATTERS = {**typefmt.BASE_FORMATTERS, datetime: _datetime, bool: _yes_no}


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
    "escalation_level": _escalation,
    "department": _name_of("name"),
    "category": _name_of("name"),
    "assignee": _name_of("full_name"),
    "registered_by": _name_of("full_name"),
    "extension_requested_by": _name_of("full_name"),
    "customer_phone": _contact(rules.mask_phone),
    "customer_email": _contact(rules.mask_email),
    "due_at": _due,
}

LABELS = {
    "number": _l("Number"), "kind": _l("Kind"), "channel": _l("Channel"),
    "received_at": _l("Received at"), "registered_by": _l("Registered by"),
    "customer_name": _l("Customer"), "customer_phone": _l("Phone"),
    "customer_email": _l("E-mail"), "customer_class": _l("Customer class"),
    "category": _l("Category"), "severity": _l("Severity"), "title": _l("Title"),
    "description": _l("Description"), "demand": _l("Customer demand"),
    "validity": _l("Validity"), "validity_reason": _l("Validity reason"),
    "status": _l("Status"), "department": _l("Department"), "assignee": _l("Assignee"),
    "escalation_level": _l("Escalation level"), "accept_due": _l("Accept by"),
    "resolve_due": _l("Resolve by"), "callback_due": _l("First callback by"),
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
}

DETAIL_GROUPS = (
    (_l("Complaint"), ("number", "status", "kind", "channel", "category", "severity", "title",
                       "description", "demand", "received_at", "registered_by", "validity",
                       "validity_reason")),
    (_l("Customer"), ("customer_name", "customer_phone", "customer_email", "customer_class")),
    (_l("Handling"), ("department", "assignee", "escalation_level", "due_at", "accept_due",
                      "resolve_due", "callback_due", "extension_requested_until",
                      "extension_reason", "extension_requested_by", "extension_count")),
    (_l("Result"), ("root_cause", "responsibility", "remedy", "compensation_amount",
                    "resolution", "answered_on_the_spot", "callbacks_required",
                    "callbacks_reached", "last_satisfaction", "final_satisfaction",
                    "reopen_count")),
    (_l("Steps"), ("accepted_at", "rejected_at", "forwarded_at", "assigned_at", "resolved_at",
                   "reviewed_at", "closed_at")),
)



class ComplaintView(SecureModelView):
    read_roles = Role.ALL
    write_roles = EDIT_ROLES  # the generic edit form
    create_roles = REGISTER_ROLES
    can_delete = False
    action_delete = None  # no built-in "delete" bulk action either: complaints are kept

    list_template = "complaint_list.html"
    details_template = "complaint_details.html"
    edit_template = "complaint_edit.html"
    create_template = "complaint_create.html"
    simple_list_pager = True  # no count(*) over a million rows on every page (bench/)
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
                          "severity", "title", "status", "department", "assignee",
                          "escalation_level", "due_at", "resolved_at", "compensation_amount",
                          "closed_at", "final_satisfaction")
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
        if g.get("complaint_list_mode") == "mine":
            query = query.where(queries.queue_clause(current_user.actor))
        return query

    def get_query(self):
        query = super().get_query()
        if g.get("complaint_list_mode"):
            # selectinload, not Flask-Admin's joinedload: four queries per page whatever its
            # size, and a deep page's OFFSET skips complaint rows only, not joined rows.
            query = query.options(*(selectinload(rel) for rel in self.column_select_related_list))
        return query

    def queue_mode(self, search=None, filters=None) -> str:
        """"mine" (the role's queue) or "all" (everything in scope).

        ``?queue=`` decides; without it a search or a filter looks at everything in scope,
        and the bare list is the user's queue.
        """
        mode = request.args.get("queue")
        if mode in ("mine", "all"):
            return mode
        return "all" if (search or filters) else "mine"

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        g.complaint_list_mode = self.queue_mode(search, filters)
        try:
            return super().get_list(page, sort_column, sort_desc, search, filters,
                                    execute=execute, page_size=page_size)
        finally:
            g.complaint_list_mode = None

    def init_search(self):
        return True  # our own indexed search below, not LIKE '%…%' over columns

    def search_placeholder(self):
        return _("Number, customer name or phone")

    def _apply_search(self, query, count_query, joins, count_joins, search):
        clause = queries.search_clause(search)
        if clause is not None:
            query = query.filter(clause)
            if count_query is not None:
                count_query = count_query.filter(clause)
        return query, count_query, joins, count_joins

    def _apply_sorting(self, query, joins, sort_column, sort_desc):
        if sort_column is None:  # the queue by due time; everything else newest first
            mine = g.get("complaint_list_mode") == "mine"
            order = queries.queue_order() if mine else queries.recent_order()
            return query.order_by(*order), joins
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
        kwargs.setdefault("deadline_state", deadline_state)
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
                value = _when(value)
            cells.append((name, "" if value is None else value))
        return cells

    def timeline(self, complaint):
        return queries.timeline(complaint.id)

    def available_actions(self, complaint):
        """One entry per action rules allow this user now: its label, and a form or not."""
        entries = []
        for name in rules.allowed_actions(complaint.facts(), current_user.actor):
            form_class = ACTION_FORMS.get(name)
            if form_class is None:
                continue
            entries.append({"name": name, "label": labels.ACTION.get(name, name),
                            "needs_form": form_class.fields_needed,
                            "url": self.get_url(".act_view", action_name=name, id=complaint.id)})
        return entries

    def inline_action_form(self):
        """A form that holds nothing but the CSRF token, for the one-click actions."""
        return ActionForm()

    # --- registration and the generic edit form -------------------------------------------

    def get_create_form(self):
        return ComplaintForm

    def get_edit_form(self):
        return ComplaintEditForm

    def create_form(self, obj=None):
        form = super().create_form(obj)
        form.category_id.choices = category_choices()
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

    def create_model(self, form):
        try:
            complaint = complaint_service.register(form.values(), current_user)
        except rules.RuleError as err:
            flash(rule_message(err), "error")
            return False
        flash(_("Complaint %(number)s registered.", number=complaint.number), "success")
        return complaint

    def update_model(self, form, model):
        expected = form.expected_version.data or "missing"  # no version: treated as stale
        try:
            complaint_service.edit(model.id, form.values(), current_user,
                                   expected_version=expected)
        except rules.RuleError as err:
            flash(rule_message(err), "error")
            return False
        return True

    def get_save_return_url(self, model, is_created=False):
        return self.get_url(".details_view", id=model.id)

    # --- one workflow action on one complaint ---------------------------------------------

    @expose("/act/<action_name>/", methods=("GET", "POST"))
    def act_view(self, action_name):
        form_class = ACTION_FORMS.get(action_name)
        if form_class is None:
            abort(404)
        if current_user.role not in ACTION_ROLES.get(action_name, ()):
            abort(403)
        complaint = self.get_one(request.args.get("id"))
        if complaint is None:
            abort(404)  # outside the user's scope is the same as not there
        details_url = self.get_url(".details_view", id=complaint.id)
        form = form_class(request.form if request.method == "POST" else None)
        form.prepare(complaint)

        if request.method == "GET":
            refusal = self._refusal(action_name, complaint)
            if refusal:
                flash(refusal, "error")
                return redirect(details_url)
            form.version.data = complaint.version
            return self._render_act(action_name, complaint, form, details_url)

        if not form.validate():
            for errors in form.errors.values():
                for error in errors:
                    flash(str(error), "error")
            return self._render_act(action_name, complaint, form, details_url)
        try:
            outcome = complaint_service.perform(
                complaint.id, action_name, current_user, form.inputs(),
                expected_version=form.version.data or "missing",
            )
        except rules.RuleError as err:
            flash(rule_message(err), "error")
            return self._render_act(action_name, complaint, form, details_url)
        flash(_("%(action)s: done for %(number)s. Status: %(status)s.",
                action=labels.ACTION.get(action_name, action_name),
                number=outcome.complaint.number,
                status=labels.label(labels.STATUS, outcome.complaint.status)), "success")
        return redirect(details_url)

    def _refusal(self, action_name, complaint):
        """The rules' reason why this user cannot take the action now, or None."""
        facts, actor = complaint.facts(), current_user.actor
        if rules.may(action_name, facts, actor):
            return None
        try:  # may() said no: check() raises the same refusal, with its reason
            rules.check(action_name, facts, actor, {}, None)
        except rules.RuleError as err:
            return rule_message(err)
        return None

    def _render_act(self, action_name, complaint, form, details_url):
        return self.render("complaint_action.html", complaint=complaint, form=form,
                           action_name=action_name,
                           action_label=labels.ACTION.get(action_name, action_name),
                           details_url=details_url)

    # --- bulk actions on the list ---------------------------------------------------------

    def is_action_allowed(self, name):
        if name not in BULK_ACTIONS:
            return False
        return current_user.is_authenticated and current_user.role in ACTION_ROLES[name]

    @action("forward", _l("Forward"))
    def action_forward(self, ids):
        return self._bulk_form("forward", ids)

    @action("escalate", _l("Escalate"))
    def action_escalate(self, ids):
        return self._bulk_form("escalate", ids)

    @action("close", _l("Close"), _l("Close the selected complaints?"))
    def action_close(self, ids):
        self._bulk_run("close", ids, {})

    def _bulk_form(self, name, ids, form=None):
        selected = self.scoped_ids(ids)
        if not selected:
            flash(_("None of the selected complaints can be found."), "error")
            return redirect(self.get_url(".index_view"))
        if form is None:
            form = BULK_FORMS[name]()
        form.prepare()
        return self.render("complaint_bulk.html", form=form, action_name=name,
                           action_label=labels.ACTION.get(name, name), selected=selected,
                           post_url=self.get_url(".bulk_view", action_name=name),
                           return_url=self.get_url(".index_view"))

    @expose("/bulk/<action_name>/", methods=("POST",))
    def bulk_view(self, action_name):
        if action_name not in BULK_FORMS:
            abort(404)
        if not self.is_action_allowed(action_name):
            abort(403)
        form = BULK_FORMS[action_name](request.form)
        ids = request.form.getlist("rowid")
        if not form.validate():
            for errors in form.errors.values():
                for error in errors:
                    flash(str(error), "error")
            return self._bulk_form(action_name, ids, form)
        self._bulk_run(action_name, ids, form.inputs())
        return redirect(self.get_url(".index_view"))

    def _bulk_run(self, name, ids, inputs):
        """Each selected complaint checked and written on its own; report done and refused."""
        selected = self.scoped_ids(ids)
        outside = len(set(map(str, ids)) - {str(c.id) for c in selected})
        result = complaint_service.perform_many([c.id for c in selected], name, current_user,
                                                inputs)
        done = len(result.done)
        if done:
            flash(ngettext("%(num)d complaint done: %(numbers)s.",
                           "%(num)d complaints done: %(numbers)s.", done,
                           numbers=", ".join(result.done)), "success")
        refused = [f"{number}: {rule_message(err)}" for number, err in result.refused]
        if outside:
            refused.append(ngettext("%(num)d complaint not found.",
                                    "%(num)d complaints not found.", outside))
        if refused:
            count = len(result.refused) + outside
            flash(ngettext("%(num)d complaint refused — %(reasons)s",
                           "%(num)d complaints refused — %(reasons)s", count,
                           reasons="; ".join(refused)), "error")


def add_views(admin):
    """Add the complaint screens."""
    admin.add_view(ComplaintView(Complaint, db, name=_l("Complaints"), endpoint="complaint"))
