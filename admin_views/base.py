"""The secure base of every screen: role access, row scope, CSRF, no leaked DB errors.

Every model view derives from :class:`SecureModelView` and says, as class attributes,
which roles may open it (``read_roles``), change it (``write_roles``) and create rows
(``create_roles``), and overrides :meth:`scope` when rows are per department or person.
The scope is applied to the list, the count, ``get_one`` (details / edit / delete /
ajax update) and to the ids of every action (FLASK-ADMIN.md P1–P3).
"""

from __future__ import annotations

import logging

from flask import abort, flash, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.actions import action
from flask_admin.babel import ngettext
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla import typefmt as sqla_typefmt
from flask_admin.contrib.sqla.fields import QuerySelectField, QuerySelectMultipleField
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.contrib.sqla.tools import get_query_for_ids
from flask_admin.form import SecureForm
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func
from sqlalchemy.exc import SQLAlchemyError
from wtforms import ValidationError
from wtforms.fields.choices import Choice

from models import db
from rules import Role
from rules.bounds import parse_id

from .export import XlsxExportMixin
from .params import filter_value_ok

log = logging.getLogger(__name__)


class RoleAccessMixin:
    """Open to ``read_roles``; anonymous users go to the login page, others get 403."""

    read_roles: tuple[str, ...] = ()

    def is_accessible(self):
        return (
            current_user.is_authenticated
            and current_user.is_active
            and current_user.role in self.read_roles
        )

    def is_visible(self):
        return self.is_accessible()

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)


class SecureIndexView(RoleAccessMixin, AdminIndexView):
    """The admin home page is not public (Flask-Admin's default index view is)."""

    read_roles = Role.ALL


class SecureBaseView(RoleAccessMixin, BaseView):
    """A custom (non-model) page with role access."""


class ChoiceQuerySelectField(QuerySelectField):
    """Flask-Admin's relationship select yielding WTForms ``Choice`` objects (its raw tuples
    raise a DeprecationWarning under WTForms 3.3, an error with filterwarnings=error), and
    refusing a posted id outside its choices (Flask-Admin silently stores NULL instead)."""

    def iter_choices(self):
        return (Choice(*choice) for choice in super().iter_choices())

    def pre_validate(self, form):
        super().pre_validate(form)
        if self.data is None and self._formdata is not None:  # matched no allowed choice
            raise ValidationError(self.gettext("Not a valid choice"))


class ChoiceQuerySelectMultipleField(QuerySelectMultipleField):
    def iter_choices(self):
        return (Choice(*choice) for choice in super().iter_choices())


class ModelConverter(AdminModelConverter):
    _CHOICE_FIELDS = {QuerySelectField: ChoiceQuerySelectField,
                      QuerySelectMultipleField: ChoiceQuerySelectMultipleField}

    def _model_select_field(self, prop, multiple, remote_model, **kwargs):
        unbound = super()._model_select_field(prop, multiple, remote_model, **kwargs)
        field_class = self._CHOICE_FIELDS.get(unbound.field_class)
        if field_class is None:
            return unbound
        return field_class(*unbound.args, **unbound.kwargs)


def _bool_named(view, value, name):
    """Flask-Admin's check / minus icon, with its word for screen readers (是 / 否): an
    icon alone leaves the list's in-place edit link with no name (axe: link-name)."""
    from flask_admin.babel import gettext
    from markupsafe import Markup, escape

    icon = "fa-check-circle" if value else "fa-minus-circle"
    word = escape(gettext("Yes") if value else gettext("No"))
    return Markup(f'<span class="fa {icon}" aria-hidden="true"></span>'
                  f'<span class="sr-only">{word}</span>')


class DeskForm(SecureForm):
    """SecureForm whose CSRF token lives as long as the session that holds its secret
    (WTForms' default is 30 minutes: a form kept open through a long call was refused).
    The session itself ends on the idle timeout and the maximum length (config.py)."""

    class Meta:
        csrf_time_limit = None


class SecureModelView(XlsxExportMixin, RoleAccessMixin, ModelView):
    form_base_class = DeskForm  # CSRF on create, edit, delete, actions and ajax update
    column_type_formatters = {**sqla_typefmt.DEFAULT_FORMATTERS, bool: _bool_named}
    model_form_converter = ModelConverter  # relationship selects without WTForms warnings
    named_filter_urls = True
    page_size = 50
    can_view_details = True
    can_delete = False  # overridden per view where deleting a row is allowed at all
    delete_roles: tuple[str, ...] = ()
    write_roles: tuple[str, ...] = (Role.ADMIN,)
    create_roles: tuple[str, ...] | None = None  # None: the same as write_roles
    action_roles: tuple[str, ...] | None = None  # None: the same as write_roles

    # --- who may do what (checked on every request, not only to hide buttons) -----------

    def _role_in(self, roles) -> bool:
        return current_user.is_authenticated and current_user.role in roles

    @property
    def can_edit(self):
        return self._role_in(self.write_roles)

    @property
    def can_create(self):
        roles = self.write_roles if self.create_roles is None else self.create_roles
        return self._role_in(roles)

    def can_act(self) -> bool:
        roles = self.write_roles if self.action_roles is None else self.action_roles
        return self._role_in(roles)

    def is_action_allowed(self, name):
        if name == "delete":
            return self.can_delete and self._role_in(self.delete_roles)
        return self.can_act() and super().is_action_allowed(name)

    # --- row scope -------------------------------------------------------------------------

    def scope(self, query):
        """Restrict a query to the rows the current user may see; default: all rows."""
        return query

    def get_query(self):
        return self.scope(super().get_query())

    def get_count_query(self):
        # count(*) rather than Flask-Admin's count(?) with a bound '*' (SQLite evaluates
        # that per row), and the same scope as the list.
        # (self.session is the Flask-SQLAlchemy object here, not a session: use db.session.)
        return self.scope(db.session.query(func.count()).select_from(self.model))

    def get_one(self, id):
        pk = parse_id(id)  # ?id=1,2, ?id=abc or past 64 bits: "not found", never a 500
        if pk is None:
            return None
        return self.get_query().filter(self.model.id == pk).one_or_none()

    def scoped_ids(self, ids):
        """The subset of ``ids`` inside the user's scope (action ids arrive raw)."""
        clean = [pk for pk in map(parse_id, ids) if pk is not None]
        if not clean:
            return []
        return get_query_for_ids(self.get_query(), self.model, clean).all()

    @action("delete", _l("Delete"), _l("Are you sure you want to delete selected records?"))
    def action_delete(self, ids):
        """Bulk delete of the scoped rows, all or nothing. (Flask-Admin's own compares the id
        column with text — an SQL error on PostgreSQL — and flashes the raw error text.)"""
        rows = self.scoped_ids(ids)
        try:
            for row in rows:
                self.on_model_delete(row)
                db.session.delete(row)
            db.session.commit()
        except SQLAlchemyError as exc:
            self.handle_view_exception(exc)
            return
        for row in rows:
            self.after_model_delete(row)
        flash(ngettext("Record was successfully deleted.",
                       "%(count)s records were successfully deleted.", len(rows),
                       count=len(rows)), "success")

    # --- filters: values bounded (admin_views/params.py) ------------------------------------

    def _get_list_filter_args(self):
        """Flask-Admin's, with each value also bounded: an int past 64 bits, "inf" or a date
        outside rules.bounds is an invalid filter (flashed and ignored), not a 500."""
        if not self._filters:
            return None
        found = []
        for arg in request.args:
            if not arg.startswith("flt") or "_" not in arg:
                continue
            pos, key = arg[3:].split("_", 1)
            if key not in self._filter_args:
                continue
            idx, flt = self._filter_args[key]
            value = request.args[arg]
            if filter_value_ok(flt, value):
                found.append((pos, (idx, str(flt.name), value)))
            else:
                flash(self.get_invalid_value_msg(value, flt), "error")
        return [v[1] for v in sorted(found, key=lambda n: n[0])]

    # --- endpoints Flask-Admin does not guard by itself ------------------------------------

    @expose("/ajax/update/", methods=("POST",))
    def ajax_update(self):
        if not self.can_edit:
            abort(403)
        if self.column_editable_list and self.get_one(request.form.get("list_form_pk")) is None:
            abort(404)  # Flask-Admin answers a missing (or out-of-scope) row with a 500
        result = super().ajax_update()
        if isinstance(result, tuple) and result[1] == 500:
            return result[0], 400  # refused (CSRF, validation): the request's fault, not ours
        return result

    @expose("/action/", methods=("POST",))
    def action_view(self):
        name = request.form.get("action")
        if not self.is_action_allowed(name):
            abort(403)
        return super().action_view()

    @expose("/delete/", methods=("POST",))
    def delete_view(self):
        if not (self.can_delete and self._role_in(self.delete_roles)):
            abort(403)
        return super().delete_view()

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        if not self.can_create:
            abort(403)
        return super().create_view()

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        if not self.can_edit:
            abort(403)
        return super().edit_view()

    # --- errors ----------------------------------------------------------------------------

    def handle_view_exception(self, exc):
        if isinstance(exc, ValidationError):
            flash(str(exc), "error")
            return True
        if isinstance(exc, SQLAlchemyError):
            # Never show database text to a user (FLASK-ADMIN.md P5); log it for us.
            log.exception("database error in %s", self.endpoint)
            db.session.rollback()
            flash(_l("The change could not be saved. Nothing was changed; please try again "
                     "or ask your administrator."), "error")
            return True
        return super().handle_view_exception(exc)
