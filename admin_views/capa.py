"""纠正预防措施: the corrective and preventive actions screen, and the complaint page's panel.

A generated list / details screen (filters: status, owner department, category, overdue),
scoped per role (``services.capa.scope``: managers, administrators, supervisors and
senior management see all; a department head their department's; a handler those they
own; a clerk has no such screen). Creating, editing and the steps (done, check effect,
cancel) go through their own forms to ``services.capa``, which asks ``rules.capa``;
every change is an event shown as the timeline of the details page. Never deleted.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request
from flask_admin import expose
from flask_admin.babel import gettext as admin_gettext
from flask_admin.contrib.sqla import filters
from flask_admin.helpers import get_redirect_target
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import not_, select

from models import Category, Complaint, CorrectiveAction, Department, db
from rules import RuleError
from rules import capa as rule
from rules.bounds import parse_id
from rules.constants import CapaStatus
from services import capa as service
from services.labels import CAPA_KIND, CAPA_STATUS

from . import labels as L
from .base import SecureModelView
from .capa_forms import STEP_FORMS, CapaForm
from .complaint_columns import TYPE_FORMATTERS
from .crud import QueryOptions
from .form_errors import csrf_messages, show_refusal
from .i18n import rule_message
from .privacy import shown_text

# What the timeline calls each event, and the fields an edit note names.
EVENT = {
    rule.CapaStep.CREATE: _l("Opened"), rule.CapaStep.EDIT: _l("Edited"),
    rule.CapaStep.DONE: _l("Marked done"),
    rule.CapaStep.CHECK: _l("Effect checked"), rule.CapaStep.CANCEL: _l("Cancelled"),
    rule.CapaStep.OVERDUE: _l("Past its due date"),
}
STEP = {rule.CapaStep.DONE: _l("Mark done"), rule.CapaStep.CHECK: _l("Check effect"),
        rule.CapaStep.CANCEL: _l("Cancel the action")}
FIELD = {
    "kind": _l("Kind"), "problem": _l("Problem"), "cause": _l("Cause"),
    "action": _l("Action to take"), "owner_department_id": _l("Owner department"),
    "owner_id": _l("Owner"), "category_id": _l("Category"), "due_date": _l("Due date"),
    "complaints": _l("Linked complaints"),
}
def _department_options():
    return [(str(pk), name) for pk, name in db.session.execute(
        select(Department.id, Department.name).order_by(Department.code))]


def _category_options():
    return [(str(pk), name) for pk, name in db.session.execute(
        select(Category.id, Category.name).order_by(Category.sort_order, Category.name))]


# --- list columns and filters ---------------------------------------------------------------


class OverdueFilter(filters.BaseSQLAFilter):
    """Open and past its due date (marked by the sweep), or not."""

    def __init__(self):
        super().__init__(CorrectiveAction.overdue_since, _l("Overdue"),
                         options=(("1", _l("Yes")), ("0", _l("No"))))

    def apply(self, query, value, alias=None):
        clause = service.overdue_clause()
        return query.filter(clause if value == "1" else not_(clause))

    def operation(self):
        return _l("equals")


def _number(view, context, model, name):
    return Markup('<a href="{}">{}</a>').format(view.get_url(".details_view", id=model.id),
                                                model.number)


def _short(view, context, model, name):
    value = shown_text(getattr(model, name)) or ""
    return value if len(value) <= 80 else value[:79] + "…"


def _overdue(view, context, model, name):
    if model.status == CapaStatus.OPEN and model.overdue_since is not None:
        return Markup('<span class="badge badge-danger capa-overdue">{}</span>').format(
            _("Overdue"))
    return ""


def _effective(view, context, model, name):
    if model.effective is None:
        return ""
    return _("Yes") if model.effective else _("No")


def _capa_url(view, row):
    return view.get_url(".details_view", id=row.id)


class CorrectiveActionView(SecureModelView):
    read_roles = rule.SCREEN_ROLES
    # The edit form's coarse gate; each row is checked by the rules (its owner head, open).
    write_roles = rule.CREATE_ROLES + (rule.Role.DEPT_HEAD,)
    create_roles = rule.CREATE_ROLES
    action_roles = ()  # no bulk actions
    can_delete = False
    action_delete = None  # never deleted

    details_template = "capa_details.html"
    create_template = "capa_form.html"
    edit_template = "capa_form.html"

    column_list = ("number", "kind", "problem", "owner_department", "owner", "due_date",
                   "status", "overdue_since")
    column_details_list = ("number", "kind", "status", "problem", "cause", "action",
                           "owner_department", "owner", "category", "due_date",
                           "overdue_since", "done_at", "done_note", "effective",
                           "effect_check", "effect_checked_at", "effect_checked_by",
                           "created_at", "created_by", "updated_at")
    column_export_list = ("number", "kind", "problem", "cause", "action", "owner_department",
                          "owner", "category", "due_date", "status", "done_at", "effective",
                          "effect_check", "effect_checked_at")
    export_value_labels = {"kind": CAPA_KIND, "status": CAPA_STATUS}
    export_extra_columns = ("status", "overdue_since", "effective")
    column_select_related_list = (CorrectiveAction.owner_department, CorrectiveAction.owner)
    column_searchable_list = ("number", "problem")
    column_default_sort = ("id", True)
    column_sortable_list = ("number", "due_date", "status")
    column_filters = (
        filters.FilterEqual(CorrectiveAction.status, _l("Status"), options=L.options(CAPA_STATUS)),
        filters.IntEqualFilter(CorrectiveAction.owner_department_id, _l("Owner department"),
                               options=QueryOptions(_department_options)),
        filters.IntEqualFilter(CorrectiveAction.category_id, _l("Category"),
                               options=QueryOptions(_category_options)),
        OverdueFilter(),
    )
    column_formatters = {
        "number": _number, "problem": _short, "overdue_since": _overdue,
        "effective": _effective,
        "cause": lambda v, c, m, n: shown_text(m.cause),
        "action": lambda v, c, m, n: shown_text(m.action),
        "done_note": lambda v, c, m, n: shown_text(m.done_note),
        "effect_check": lambda v, c, m, n: shown_text(m.effect_check),
        **L.formatters(kind=CAPA_KIND, status=CAPA_STATUS),
    }
    column_formatters_export = {"effective": _effective}
    column_type_formatters = TYPE_FORMATTERS
    column_type_formatters_detail = TYPE_FORMATTERS
    column_labels = {
        "number": _l("Number"), "kind": _l("Kind"), "problem": _l("Problem"),
        "cause": _l("Cause"), "action": _l("Action to take"),
        "owner_department": _l("Owner department"), "owner": _l("Owner"),
        "category": _l("Category"), "due_date": _l("Due date"), "status": _l("Status"),
        "overdue_since": _l("Overdue"), "done_at": _l("Done at"),
        "done_note": _l("What was done"), "effective": _l("Effective"),
        "effect_check": _l("Effect check"), "effect_checked_at": _l("Effect checked at"),
        "effect_checked_by": _l("Effect checked by"), "created_at": _l("Created"),
        "created_by": _l("Created by"), "updated_at": _l("Last changed"),
    }

    # --- scope -------------------------------------------------------------------------------

    def scope(self, query):
        return query.filter(service.scope(current_user.actor))

    def export_row_is_overdue(self, row, now):
        return row.status == CapaStatus.OPEN and row.overdue_since is not None

    # --- the templates' helpers --------------------------------------------------------------

    def render(self, template, **kwargs):
        kwargs.setdefault("labels", L)
        kwargs.setdefault("capa_view", self)
        kwargs.setdefault("shown_text", shown_text)
        return super().render(template, **kwargs)

    def steps(self, model):
        """(step, label, url) the current user may take now."""
        actor = current_user.actor
        return [(step, STEP[step], self.get_url(".step_view", step=step, id=model.id))
                for step in rule.allowed_steps(actor, service.facts(model))]

    def may_edit(self, model) -> bool:
        return rule.edit_refusal(current_user.actor, service.facts(model)) is None

    def timeline(self, model):
        return service.timeline(model.id)

    def links(self, model):
        return service.linked_complaints(model.id, current_user.actor)

    @staticmethod
    def event_label(action):
        return L.label(EVENT, action)

    @staticmethod
    def status_label(status):
        return L.label(CAPA_STATUS, status)

    @staticmethod
    def note_lines(note):
        """An event's note as lines: a changed field ("field: old → new") gets its label."""
        lines = []
        for line in (note or "").split("\n"):
            key, sep, rest = line.partition(": ")
            if sep and key in FIELD:
                lines.append(f"{FIELD[key]}: {rest}")
            elif line in FIELD:
                lines.append(str(FIELD[line]))
            elif line == service.OVERDUE_NOTE:
                lines.append(_(service.OVERDUE_NOTE))
            else:
                lines.append(shown_text(line))
        return lines

    # --- create and edit (their own forms, saved by services.capa) ---------------------------

    def _form_page(self, template, form, messages, **kwargs):
        return self.render(template, form=form, form_messages=messages,
                           return_url=get_redirect_target() or self.get_url(".index_view"),
                           **kwargs)

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        if not self.can_create:
            abort(403)
        form = CapaForm(request.form if request.method == "POST" else None)
        form.fill_choices()
        messages = []
        if request.method == "GET":
            self._prefill_from_complaint(form)
        elif form.validate():
            try:
                row = service.create(form.values(), current_user)
            except RuleError as err:
                messages = show_refusal(form, err)
            else:
                flash(_("Corrective action %(number)s opened.", number=row.number), "success")
                return redirect(self.get_url(".details_view", id=row.id))
        else:
            messages = csrf_messages(form)
        return self._form_page(self.create_template, form, messages, model=None)

    def _prefill_from_complaint(self, form):
        """"Open a corrective action for this complaint": its number and category."""
        complaint_id = parse_id(request.args.get("complaint_id"))
        if complaint_id is None:
            return
        from services.queries import scope_clause

        found = db.session.execute(
            select(Complaint.number, Complaint.category_id)
            .where(Complaint.id == complaint_id, scope_clause(current_user.actor))).first()
        if found is not None:
            form.complaint_numbers.data = found.number
            form.category_id.data = str(found.category_id or "")
            form.kind.data = rule.CapaKind.CORRECTIVE

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        if not self.can_edit:
            abort(403)
        model = self.get_one(request.args.get("id"))
        if model is None:
            flash(admin_gettext("Record does not exist."), "error")
            return redirect(self.get_url(".index_view"))
        details = self.get_url(".details_view", id=model.id)
        refusal = rule.edit_refusal(current_user.actor, service.facts(model))
        if refusal is not None:
            flash(rule_message(refusal), "error")
            return redirect(details)
        form = CapaForm(request.form if request.method == "POST" else None)
        form.fill_choices()
        messages = []
        if request.method == "GET":
            form.kind.data = model.kind
            form.problem.data, form.cause.data = model.problem, model.cause
            form.action.data, form.due_date.data = model.action, model.due_date
            form.owner_department_id.data = str(model.owner_department_id)
            form.owner_id.data = str(model.owner_id or "")
            form.category_id.data = str(model.category_id or "")
            form.expected_version.data = model.version
        elif form.validate():
            expected = form.expected_version.data or None  # none sent: treated as stale
            try:
                service.edit(model.id, form.values(), current_user, expected_version=expected)
            except RuleError as err:
                messages = show_refusal(form, err)
            else:
                flash(admin_gettext("Record was successfully saved."), "success")
                return redirect(details)
        else:
            messages = csrf_messages(form)
        return self._form_page(self.edit_template, form, messages, model=model,
                               linked=self.links(model))

    # --- the steps ---------------------------------------------------------------------------

    @expose("/step/<step>/", methods=("GET", "POST"))
    def step_view(self, step):
        form_class = STEP_FORMS.get(step)
        if form_class is None:
            abort(404)
        model = self.get_one(request.args.get("id"))
        if model is None:
            abort(404)
        details = self.get_url(".details_view", id=model.id)
        refusal = rule.step_refusal(step, current_user.actor, service.facts(model))
        if refusal is not None:
            flash(rule_message(refusal), "error")
            return redirect(details)
        form = form_class(request.form if request.method == "POST" else None)
        messages = []
        if request.method == "GET":
            form.version.data = model.version
        elif form.validate():
            try:
                service.take_step(model.id, step, form.inputs(), current_user,
                                  expected_version=form.version.data or None)
            except RuleError as err:
                messages = show_refusal(form, err)
            else:
                flash(_("%(number)s: %(step)s.", number=model.number, step=STEP[step]),
                      "success")
                return redirect(details)
        else:
            messages = csrf_messages(form)
        return self.render("capa_step.html", form=form, model=model, step=step,
                           step_label=STEP[step], form_messages=messages, details_url=details)


# --- the complaint page's panel ------------------------------------------------------------


def capa_panel(complaint):
    """What _capa_panel.html shows on a complaint's page: the corrective actions linked to
    it that the user may see (each with its page), and the link to open one for it."""
    if not current_user.is_authenticated:
        return None
    actor = current_user.actor
    if not rule.can_open_screen(actor.role):
        return None
    from flask import url_for

    rows = [(row, url_for("corrective_action.details_view", id=row.id))
            for row in service.for_complaint(complaint.id, actor)]
    create_url = (url_for("corrective_action.create_view", complaint_id=complaint.id)
                  if rule.can_create(actor.role) else None)
    return {"rows": rows, "create_url": create_url,
            "status_label": CorrectiveActionView.status_label,
            "kind_label": lambda kind: L.label(CAPA_KIND, kind)}


def capa_notification_link(notification):
    """(url, number) of the corrective action a notification is about (overdue), or None;
    the action's page checks the reader's scope as ever."""
    found = service.notified_action(notification.kind, notification.key)
    if found is None:
        return None
    from flask import url_for

    return url_for("corrective_action.details_view", id=found[0]), found[1]


def add_views(admin):
    """The corrective-action screen (after accountability), and the complaint panel's data."""
    admin.add_view(CorrectiveActionView(CorrectiveAction, db,
                                        name=_l("Corrective actions"),
                                        endpoint="corrective_action"))
    admin.app.add_template_global(capa_panel, "capa_panel")
    admin.app.add_template_global(capa_notification_link, "capa_notification_link")
