"""The administrative record: what the configuration screens write, and the screen that reads it.

- :class:`RecordedChanges` (mixed into the configuration screens of ``crud``) writes one
  AdminEvent per created, changed or deleted row, inside Flask-Admin's own transaction
  (``on_model_change`` / ``on_model_delete`` run before its commit): the change and its
  record are committed, or rolled back, together. What changed is read from SQLAlchemy's
  attribute history of the form's fields after the form filled the model, before the flush.
- :class:`AdminEventView`: the administrator's read-only list, details and Excel export.
"""

from __future__ import annotations

from flask_admin.contrib.sqla import filters
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import inspect, select

from models import AdminEvent, Staff, db
from rules import Role
from rules import admin_events as E
from services import admin_events as recorder

from . import labels as L
from .base import SecureModelView
from .list_total import ListTotalMixin

ACTION = {
    E.STAFF_CREATED: _l("Account created"),
    E.STAFF_CHANGED: _l("Account changed"),
    E.ROLE_CHANGED: _l("Role changed"),
    E.STAFF_DEACTIVATED: _l("Account deactivated"),
    E.STAFF_ACTIVATED: _l("Account activated"),
    E.PASSWORD_RESET: _l("Password set by an administrator"),
    E.PASSWORD_CHANGED: _l("Password changed"),
    E.DEPARTMENT_CREATED: _l("Department created"),
    E.DEPARTMENT_CHANGED: _l("Department changed"),
    E.SLA_POLICY_CREATED: _l("SLA policy created"),
    E.SLA_POLICY_CHANGED: _l("SLA policy changed"),
    E.SLA_POLICY_DELETED: _l("SLA policy deleted"),
    E.CALENDAR_DAY_CREATED: _l("Calendar day added"),
    E.CALENDAR_DAY_CHANGED: _l("Calendar day changed"),
    E.CALENDAR_DAY_DELETED: _l("Calendar day removed"),
    E.CATEGORY_CREATED: _l("Category created"),
    E.CATEGORY_CHANGED: _l("Category changed"),
    E.SETTING_CHANGED: _l("Setting changed"),
    E.LOGIN_FAILED: _l("Login failed"),
    E.LOGIN_LOCKED: _l("Login locked"),
    E.LOGIN_SUCCEEDED: _l("Login succeeded"),
    E.EXPORT: _l("Export"),
    E.RETENTION_APPLIED: _l("Old personal data anonymised"),
    E.DELIVERY_RETRIED: _l("Message queued again"),
    E.CONTACT_SEARCHED: _l("Contact searched (masked role)"),
    E.API_TOKEN_CREATED: _l("API token created"),
    E.API_TOKEN_REVOKED: _l("API token revoked"),
    E.API_TOKEN_REFUSED: _l("API tokens refused: address made to wait"),
    E.PUBLIC_THROTTLED: _l("Public form or lookup throttled"),
    E.PUBLIC_HONEYPOT: _l("Public form: robot refused"),
}
TARGET = {
    E.TARGET_STAFF: _l("Staff"),
    E.TARGET_DEPARTMENT: _l("Department"),
    E.TARGET_SLA_POLICY: _l("SLA policy"),
    E.TARGET_CALENDAR_DAY: _l("Calendar day"),
    E.TARGET_CATEGORY: _l("Category"),
    E.TARGET_SETTING: _l("Setting"),
    E.TARGET_EXPORT: _l("Export"),
    E.TARGET_DELIVERY: _l("Outgoing message"),
    E.TARGET_API_TOKEN: _l("API token"),
}


# --- writing: the configuration screens ------------------------------------------------------


def _related_value(state, relationship):
    """A many-to-one's value before the form changed it, from its (not yet synced) key."""
    keys = [p.key for p in state.mapper.column_attrs
            if any(c in relationship.local_columns for c in p.columns)]
    if len(keys) != 1:
        return None
    pk = state.attrs[keys[0]].value
    if pk is None:
        return None
    with db.session.no_autoflush:
        return db.session.get(relationship.mapper.class_, pk)


def _identity(value):
    return inspect(value).identity if value is not None and hasattr(value, "_sa_instance_state") \
        else value


def field_changes(model, names) -> dict:
    """``{field: (old, new)}`` of the named attributes the form changed (before the flush)."""
    state = inspect(model)
    mapper = state.mapper
    out = {}
    for name in names:
        if name not in state.attrs:
            continue
        history = state.attrs[name].history
        if not history.has_changes():
            continue
        new = history.added[0] if history.added else None
        if name in mapper.relationships:
            old = history.deleted[0] if history.deleted else _related_value(
                state, mapper.relationships[name])
            if _identity(old) == _identity(new):
                continue
        else:
            old = history.deleted[0] if history.deleted else None
            if old == new:
                continue
        out[name] = (old, new)
    return out


class RecordedChanges:
    """Writes an AdminEvent for every row a screen creates, changes or deletes.

    A view sets ``record_target`` (``rules.admin_events.TARGET_*``) and its actions
    (``record_created`` / ``record_changed`` / ``record_deleted``), and may override
    :meth:`record_label` and :meth:`change_actions`. A view overriding ``on_model_change``
    calls ``super().on_model_change(...)`` last (after its own adjustments of the model).
    """

    record_target: str = ""
    record_created: str | None = None
    record_changed: str | None = None
    record_deleted: str | None = None

    def record_label(self, model) -> str:
        return str(model)

    def recorded_fields(self):
        return list(self.form_columns or ())

    def change_actions(self, changes: dict) -> list[tuple[str, dict]]:
        return [(self.record_changed, changes)] if changes else []

    def record_value(self, name, value):
        """How a field's value reads in the record (override to hide part of it)."""
        return value

    def _record(self, action, model, detail):
        if action is None:
            return
        recorder.record(action, actor_id=getattr(current_user, "id", None),
                        target=(self.record_target, model.id, self.record_label(model)),
                        detail=detail)

    def on_model_change(self, form, model, is_created):
        super().on_model_change(form, model, is_created)
        if is_created:
            values = {name: self.record_value(name, getattr(model, name, None))
                      for name in self.recorded_fields()}
            db.session.flush()  # the new row's id, for the record
            self._record(self.record_created, model, E.describe_values(values))
            return
        changes = {name: (self.record_value(name, old), self.record_value(name, new))
                   for name, (old, new) in field_changes(model, self.recorded_fields()).items()}
        for action, fields in self.change_actions(changes):
            self._record(action, model, E.describe_changes(fields))

    def on_model_delete(self, model):
        super().on_model_delete(model)
        values = {name: getattr(model, name, None) for name in self.recorded_fields()}
        self._record(self.record_deleted, model, E.describe_values(values))


# --- reading: the administrator's screen ------------------------------------------------------


class SecurityFilter(filters.BaseSQLAFilter):
    """Only the security events (rules.admin_events.SECURITY): logins, passwords, exports."""

    def __init__(self, column, name):
        super().__init__(column, name, options=[("1", _l("only"))])

    def apply(self, query, value, alias=None):
        return query.filter(self.column.in_(E.SECURITY)) if value == "1" else query

    def operation(self):
        return _l("show")


class _StaffOptions:
    """Actor filter options read on each request (Flask-Admin keeps a list from start-up)."""

    def __bool__(self):
        return True

    def __iter__(self):
        rows = db.session.execute(select(Staff.id, Staff.full_name, Staff.username)
                                  .order_by(Staff.full_name))
        return iter([(str(pk), f"{name} ({username})") for pk, name, username in rows])


class AdminEventView(ListTotalMixin, SecureModelView):
    """Changes to staff and configuration, and security events: append-only, newest first."""

    read_roles = (Role.ADMIN,)
    write_roles = ()
    column_list = ("at", "actor", "action", "target_type", "target_label", "detail", "ip")
    column_details_list = ("at", "actor", "action", "target_type", "target_id", "target_label",
                           "detail", "ip")
    column_export_list = column_details_list
    column_select_related_list = (AdminEvent.actor,)
    column_default_sort = [("at", True), ("id", True)]
    column_sortable_list = ("at",)
    simple_list_pager = True  # the record only grows: no count(*) on every page
    column_searchable_list = ("target_label",)
    column_filters = (
        filters.FilterEqual(AdminEvent.action, _l("Action"), options=L.options(ACTION)),
        SecurityFilter(AdminEvent.action, _l("Security events")),
        filters.DateTimeBetweenFilter(AdminEvent.at, _l("Time")),
        filters.IntEqualFilter(AdminEvent.actor_id, _l("Actor"), options=_StaffOptions()),
        filters.FilterEqual(AdminEvent.target_type, _l("Concerns"), options=L.options(TARGET)),
    )
    column_formatters = L.formatters(action=ACTION, target_type=TARGET)
    export_value_labels = {"action": ACTION, "target_type": TARGET}
    export_extra_columns = ()
    column_labels = {
        "at": _l("Time"), "actor": _l("Actor"), "action": _l("Action"),
        "target_type": _l("Concerns"), "target_id": _l("Record id"),
        "target_label": _l("Record"), "detail": _l("What changed"),
        "ip": _l("Client address"),
    }


def add_views(admin):
    """The administrative record, after the complaint records."""
    admin.add_view(AdminEventView(AdminEvent, db, name=_l("Admin events"),
                                  endpoint="admin_event"))
