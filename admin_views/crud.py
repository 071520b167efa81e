"""Generated screens: departments, staff, callbacks, SLA policies, calendar, categories, audit.

Each screen is a :class:`~admin_views.base.SecureModelView` described by class attributes:
who reads, writes and deletes, which columns show, which rows (``scope``) a user sees.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, request
from flask_admin import expose
from flask_admin.contrib.sqla import filters
from flask_admin.form import SecureForm
from flask_admin.helpers import get_redirect_target
from flask_admin.model.template import EndpointLinkRowAction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user
from sqlalchemy import inspect, select
from sqlalchemy.orm import joinedload
from wtforms import PasswordField, SelectField
from wtforms.validators import EqualTo, InputRequired, NumberRange, Optional

from models import (
    CalendarDay,
    CallbackRecord,
    Category,
    Complaint,
    ComplaintEvent,
    Department,
    SlaPolicy,
    Staff,
    db,
)
from models.engine import write_transaction
from rules import Role, RuleError
from rules import admin_events as E
from services import admin_events as admin_record
from services import auth as auth_service
from services.queries import scope_clause

from . import labels as L
from .admin_events import RecordedChanges
from .base import SecureModelView
from .department_robot import ROBOT_FIELDS, DepartmentRobotMixin
from .i18n import rule_message
from .list_total import ListTotalMixin
from .privacy import free_text

ALL_ROLES = Role.ALL
# Who reads the configuration: customer service, supervisors and senior management.
CONFIG_READERS = (Role.ADMIN, Role.INTAKE, Role.MANAGER, Role.SUPERVISOR, Role.EXECUTIVE)
SETTINGS = _l("Settings")


# --- shared pieces ----------------------------------------------------------------------------


def _scoped_by_complaint(query, complaint_id_column):
    """Keep the rows whose complaint the current user may see (an indexed IN sub-select)."""
    actor = current_user.actor
    if actor.role in Role.SEE_ALL:
        return query
    visible = select(Complaint.id).where(scope_clause(actor))
    return query.filter(complaint_id_column.in_(visible))


def _active_staff():
    return Staff.query.filter(Staff.active.is_(True)).order_by(Staff.full_name)


def _active_departments():
    return Department.query.filter(Department.active.is_(True)).order_by(Department.code)


class QueryOptions:
    """Filter options read on each request (Flask-Admin keeps a plain list from start-up)."""

    def __init__(self, fetch):
        self.fetch = fetch

    def __bool__(self):
        return True

    def __iter__(self):
        return iter(self.fetch())


def _staff_options():
    return [(str(s.id), s.full_name) for s in Staff.query.order_by(Staff.full_name)]


def _category_choices():
    rows = Category.query.filter(Category.active.is_(True)).order_by(Category.sort_order)
    return L.choices({c.code: c.name for c in rows}, blank=_l("Any"))


def _category_name(view, context, model, name):
    """The category's name for a stored code (one look-up per request, not per row)."""
    if not model.category_code:
        return ""
    if "category_names" not in g:
        g.category_names = dict(db.session.execute(select(Category.code, Category.name)).all())
    return g.category_names.get(model.category_code, model.category_code)


def _complaint_number(view, context, model, name):
    return model.complaint.number if model.complaint else ""


def _with_complaint_number(query, relationship):
    """Load only the complaint's id and number with each row (not its ~60 columns)."""
    return query.options(joinedload(relationship).load_only(Complaint.id, Complaint.number))


class ComplaintNumberFilter(filters.BaseSQLAFilter):
    """Rows of the complaint with exactly this number (unique index, no LIKE scan)."""

    def apply(self, query, value, alias=None):
        ids = select(Complaint.id).where(Complaint.number == value.strip())
        return query.filter(self.column.in_(ids))

    def operation(self):
        return _l("equals")


class DeletableByRole:
    """Delete buttons and endpoints only for ``delete_roles`` (base.py guards the POSTs)."""

    @property
    def can_delete(self):
        return self._role_in(self.delete_roles)


# --- configuration screens -------------------------------------------------------------------


class DepartmentView(DepartmentRobotMixin, RecordedChanges, SecureModelView):
    read_roles = CONFIG_READERS
    record_target = E.TARGET_DEPARTMENT
    record_created, record_changed = E.DEPARTMENT_CREATED, E.DEPARTMENT_CHANGED
    write_roles = (Role.ADMIN,)  # no delete: a department is retired by deactivating it
    column_list = ("code", "name", "parent", "head", "active", "is_customer_service",
                   "robot_kind")
    column_details_list = column_list
    column_select_related_list = (Department.parent, Department.head)
    column_searchable_list = ("code", "name")
    column_filters = ("active", "is_customer_service")
    column_default_sort = "code"
    # The group robot's fields and write-only secret: admin_views/department_robot.py.
    form_columns = ("code", "name", "parent", "head", "active", "is_customer_service",
                    *ROBOT_FIELDS)
    form_overrides = DepartmentRobotMixin.robot_form_overrides
    form_extra_fields = DepartmentRobotMixin.robot_extra_fields
    form_args = {
        "parent": {"query_factory": _active_departments},
        "head": {"query_factory": _active_staff},
        **DepartmentRobotMixin.robot_form_args,
    }
    column_formatters = DepartmentRobotMixin.robot_formatters
    column_formatters_export = DepartmentRobotMixin.robot_formatters  # the label, not 'wecom'
    column_labels = {
        "code": _l("Code"), "name": _l("Name"), "parent": _l("Parent department"),
        "head": _l("Department head"), "active": _l("Active"),
        "is_customer_service": _l("Customer service"), **DepartmentRobotMixin.robot_labels,
    }

    def record_label(self, model):
        return f"{model.code} {model.name}"


class StaffView(RecordedChanges, SecureModelView):
    """Accounts. Never shows, exports or accepts a password hash or a session token."""

    read_roles = (Role.ADMIN,)
    write_roles = (Role.ADMIN,)
    record_target = E.TARGET_STAFF
    record_created = E.STAFF_CREATED
    column_list = ("username", "full_name", "department", "role", "email", "phone", "active",
                   "last_login_at", "locked_until", "locale")
    column_details_list = column_list + ("failed_logins",)
    column_export_list = column_list
    column_select_related_list = (Staff.department,)
    column_searchable_list = ("username", "full_name")
    column_filters = (filters.FilterEqual(Staff.role, _l("Role"), options=L.options(L.ROLE)),
                      "active")
    column_default_sort = "username"
    column_formatters = L.formatters(role=L.ROLE, locale=L.LOCALE)
    form_columns = ("username", "full_name", "email", "phone", "department", "role", "active",
                    "locale")
    form_overrides = {"role": SelectField, "locale": SelectField}
    form_args = {
        "department": {"query_factory": _active_departments},
        "role": {"choices": L.choices(L.ROLE), "validators": [InputRequired()]},
        "locale": {"choices": L.choices(L.LOCALE, blank=_l("Browser language"))},
    }
    column_extra_row_actions = [
        EndpointLinkRowAction("fa fa-key", ".password_view", title=_l("Set password")),
    ]
    column_labels = {
        "username": _l("User name"), "full_name": _l("Full name"),
        "department": _l("Department"), "role": _l("Role"), "email": _l("E-mail"),
        "phone": _l("Phone"), "active": _l("Active"), "last_login_at": _l("Last login"),
        "locked_until": _l("Locked until"), "locale": _l("Language"),
        "failed_logins": _l("Failed logins"),
    }

    def on_model_change(self, form, model, is_created):
        model.locale = model.locale or None
        state = inspect(model)
        changed = {a.key for a in state.attrs if a.history.has_changes()}
        auth_service.account_saved(model, created=is_created, changed_fields=changed)
        super().on_model_change(form, model, is_created)  # the AdminEvent(s)

    def record_label(self, model):
        return f"{model.username} ({model.full_name})"

    def change_actions(self, changes):
        """Activation, role and other fields each get their own event."""
        return E.staff_change_actions(changes)

    @expose("/password/", methods=("GET", "POST"))
    def password_view(self):
        """Set a user's password (its own form); every session of that user ends."""
        if not self.can_edit:
            abort(403)
        return_url = get_redirect_target() or self.get_url(".index_view")
        staff = self.get_one(request.args.get("id"))
        if staff is None:
            flash(_("Record does not exist."), "error")
            return redirect(return_url)
        form = PasswordForm(request.form if request.method == "POST" else None)
        if request.method == "POST" and form.validate():
            actor_id = current_user.id
            try:
                # The new password and its record in one transaction (the value never
                # reaches the record).
                with write_transaction(db.session):
                    changed = auth_service.change_password(staff.id, form.password.data)
                    admin_record.record(
                        E.PASSWORD_RESET, actor_id=actor_id,
                        target=(E.TARGET_STAFF, changed.id, self.record_label(changed)),
                        detail=E.describe_changes({"password": (None, None)}))
            except RuleError as err:
                flash(rule_message(err), "error")
            else:
                if changed.id == current_user.id:
                    login_user(changed)  # the admin's own new token: stay logged in
                flash(_("The password of %(name)s was set; their open sessions have ended.",
                        name=changed.full_name), "success")
                return redirect(return_url)
        return self.render("admin/staff_password.html", form=form, staff=staff,
                           return_url=return_url)


class PasswordForm(SecureForm):
    password = PasswordField(_l("New password"), validators=[InputRequired()])
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[InputRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )


class SlaPolicyView(DeletableByRole, RecordedChanges, SecureModelView):
    read_roles = (Role.ADMIN, Role.MANAGER, Role.SUPERVISOR, Role.EXECUTIVE)
    write_roles = (Role.ADMIN,)
    delete_roles = (Role.ADMIN,)
    record_target = E.TARGET_SLA_POLICY
    record_created, record_changed = E.SLA_POLICY_CREATED, E.SLA_POLICY_CHANGED
    record_deleted = E.SLA_POLICY_DELETED
    column_list = ("name", "kind", "category_code", "severity", "accept_hours", "resolve_days",
                   "callback_days", "callbacks_required", "active")
    # 处理方案 (rules.plan): a plan approved and agreed before resolving.
    PLAN_FIELDS = ("plan_required", "plan_over_amount", "plan_days")
    column_details_list = column_list + PLAN_FIELDS
    column_default_sort = "name"
    column_formatters = {"category_code": _category_name,
                         **L.formatters(kind=L.KIND, severity=L.SEVERITY)}
    form_columns = column_list + PLAN_FIELDS
    form_overrides = {"kind": SelectField, "category_code": SelectField, "severity": SelectField}
    form_args = {
        "kind": {"choices": L.choices(L.KIND, blank=_l("Any"))},
        "category_code": {"choices": _category_choices},
        "severity": {"choices": L.choices(L.SEVERITY, blank=_l("Any"))},
        "accept_hours": {"validators": [InputRequired(), NumberRange(min=1, max=24 * 30)]},
        "resolve_days": {"validators": [InputRequired(), NumberRange(min=1, max=365)]},
        "callback_days": {"validators": [InputRequired(), NumberRange(min=1, max=365)]},
        "callbacks_required": {"validators": [InputRequired(), NumberRange(min=1, max=10)]},
        "plan_required": {"description": _l(
            "The department submits a handling plan, approved by its head (and by senior "
            "management for a critical complaint) and agreed by the customer, before "
            "resolving.")},
        "plan_over_amount": {
            "validators": [Optional(), NumberRange(min=0, max=9_999_999_999)],
            "description": _l("Also required for a compensation above this amount (yuan); "
                              "empty: no such threshold.")},
        "plan_days": {"validators": [Optional(), NumberRange(min=1, max=30)],
                      "description": _l("For each plan step: the approval, then the "
                                        "customer's answer (empty: 1).")},
    }
    column_labels = {
        "name": _l("Name"), "kind": _l("Kind"), "category_code": _l("Category"),
        "severity": _l("Severity"), "accept_hours": _l("Hours to accept"),
        "resolve_days": _l("Working days to resolve"),
        "callback_days": _l("Working days to first callback"),
        "callbacks_required": _l("Callbacks required"), "active": _l("Active"),
        "plan_required": _l("Handling plan required"),
        "plan_over_amount": _l("Plan required above compensation (yuan)"),
        "plan_days": _l("Working days per plan step"),
    }

    def on_model_change(self, form, model, is_created):
        # An empty choice means "any": stored as NULL, as the policy matcher expects.
        for name in ("kind", "category_code", "severity"):
            setattr(model, name, getattr(model, name) or None)
        if model.plan_days is None:
            model.plan_days = 1
        model.plan_required = bool(model.plan_required)
        super().on_model_change(form, model, is_created)  # the AdminEvent


class CalendarDayView(DeletableByRole, RecordedChanges, SecureModelView):
    read_roles = ALL_ROLES
    write_roles = (Role.ADMIN,)
    delete_roles = (Role.ADMIN,)
    record_target = E.TARGET_CALENDAR_DAY
    record_created, record_changed = E.CALENDAR_DAY_CREATED, E.CALENDAR_DAY_CHANGED
    record_deleted = E.CALENDAR_DAY_DELETED
    column_list = ("day", "is_working_day", "note")
    column_details_list = column_list
    column_default_sort = ("day", True)
    column_filters = ("day", "is_working_day")
    form_columns = column_list
    column_labels = {"day": _l("Date"), "is_working_day": _l("Working day"), "note": _l("Note")}

    def record_label(self, model):
        return model.day.isoformat() if model.day else ""


class CategoryView(RecordedChanges, SecureModelView):
    read_roles = CONFIG_READERS
    write_roles = (Role.ADMIN,)  # no delete: a category is retired by deactivating it
    record_target = E.TARGET_CATEGORY
    record_created, record_changed = E.CATEGORY_CREATED, E.CATEGORY_CHANGED
    column_list = ("code", "name", "name_en", "default_department", "sort_order", "active")
    column_details_list = column_list
    column_default_sort = "sort_order"
    column_editable_list = ("sort_order", "active")
    column_select_related_list = (Category.default_department,)
    form_columns = column_list
    # The forward form suggests this department for the category's complaints.
    form_args = {"default_department": {"query_factory": _active_departments}}
    column_labels = {"code": _l("Code"), "name": _l("Name (Chinese)"),
                     "name_en": _l("Name (English)"),
                     "default_department": _l("Usual department"),
                     "sort_order": _l("Order"), "active": _l("Active")}

    def record_label(self, model):
        return f"{model.code} {model.name}"


# --- read-only records ------------------------------------------------------------------------


class CallbackRecordView(SecureModelView):
    """Callbacks are written by the complaint's "record callback" action, never here."""

    read_roles = ALL_ROLES
    write_roles = ()
    column_list = ("complaint", "at", "staff", "method", "reached", "satisfaction", "solved",
                   "notes")
    column_details_list = column_list
    column_select_related_list = (CallbackRecord.staff,)  # the complaint: see get_query
    column_default_sort = ("at", True)
    column_sortable_list = ("at",)
    column_filters = (
        ComplaintNumberFilter(CallbackRecord.complaint_id, _l("Complaint number")),
        filters.DateTimeBetweenFilter(CallbackRecord.at, _l("Time")),
        filters.FilterEqual(CallbackRecord.method, _l("Method"),
                            options=L.options(L.CALLBACK_METHOD)),
        filters.FilterEqual(CallbackRecord.satisfaction, _l("Satisfaction"),
                            options=L.options(L.SATISFACTION)),
    )
    column_formatters = {"complaint": _complaint_number,
                         "notes": free_text,  # phones / e-mails masked per role
                         **L.formatters(method=L.CALLBACK_METHOD, satisfaction=L.SATISFACTION)}
    column_labels = {
        "complaint": _l("Complaint"), "at": _l("Time"), "staff": _l("Called by"),
        "method": _l("Method"), "reached": _l("Reached"), "satisfaction": _l("Satisfaction"),
        "solved": _l("Problem solved"), "notes": _l("Notes"),
    }

    def scope(self, query):
        return _scoped_by_complaint(query, CallbackRecord.complaint_id)

    def get_query(self):
        return _with_complaint_number(super().get_query(), CallbackRecord.complaint)


class ComplaintEventView(ListTotalMixin, SecureModelView):
    """The audit trail (处理记录): append-only, newest first, scoped like the complaints."""

    read_roles = ALL_ROLES
    write_roles = ()
    column_list = ("at", "complaint", "actor", "action", "from_status", "to_status",
                   "to_department", "to_assignee", "escalation_level", "note")
    column_details_list = ("at", "complaint", "actor", "action", "from_status", "to_status",
                           "from_department", "to_department", "from_assignee", "to_assignee",
                           "escalation_level", "note")
    column_select_related_list = (ComplaintEvent.actor, ComplaintEvent.to_department,
                                  ComplaintEvent.to_assignee)  # the complaint: see get_query
    # Newest first; the id breaks ties within a second (SQLite's index on "at" ends with
    # the rowid, so this order still walks the index).
    column_default_sort = [("at", True), ("id", True)]
    column_sortable_list = ("at",)
    simple_list_pager = True  # no count(*) of the whole trail on every page (it only grows)
    column_filters = (
        ComplaintNumberFilter(ComplaintEvent.complaint_id, _l("Complaint number")),
        filters.FilterEqual(ComplaintEvent.action, _l("Action"), options=L.options(L.ACTION)),
        filters.IntEqualFilter(ComplaintEvent.actor_id, _l("Actor"),
                               options=QueryOptions(_staff_options)),
        filters.DateTimeBetweenFilter(ComplaintEvent.at, _l("Time")),
    )
    column_formatters = {
        "complaint": _complaint_number,
        "note": free_text,  # phones / e-mails (old edit notes, reasons) masked per role
        **L.formatters(action=L.ACTION, from_status=L.STATUS, to_status=L.STATUS,
                       escalation_level=L.ESCALATION),
    }
    column_labels = {
        "at": _l("Time"), "complaint": _l("Complaint"), "actor": _l("Actor"),
        "action": _l("Action"), "from_status": _l("From status"), "to_status": _l("To status"),
        "from_department": _l("From department"), "to_department": _l("To department"),
        "from_assignee": _l("From assignee"), "to_assignee": _l("To assignee"),
        "escalation_level": _l("Escalation level"), "note": _l("Note"),
    }

    def scope(self, query):
        return _scoped_by_complaint(query, ComplaintEvent.complaint_id)

    def get_query(self):
        return _with_complaint_number(super().get_query(), ComplaintEvent.complaint)


def add_record_views(admin):
    """Add the record screens, after the complaint screens."""
    admin.add_view(CallbackRecordView(CallbackRecord, db, name=_l("Callback records"),
                                      endpoint="callback_record"))
    admin.add_view(ComplaintEventView(ComplaintEvent, db, name=_l("Audit trail"),
                                      endpoint="complaint_event"))


def add_config_views(admin):
    """Add the configuration screens, under the Settings menu."""
    for view, model, name, endpoint in (
        (DepartmentView, Department, _l("Departments"), "department"),
        (StaffView, Staff, _l("Staff"), "staff"),
        (SlaPolicyView, SlaPolicy, _l("SLA policies"), "sla_policy"),
        (CalendarDayView, CalendarDay, _l("Calendar"), "calendar_day"),
        (CategoryView, Category, _l("Categories"), "category"),
    ):
        admin.add_view(view(model, db, name=name, endpoint=endpoint, category=SETTINGS))
