"""API tokens of other systems (issue 14): administrators only. Make one (shown once, on
the answer page itself: never in a flash message, which the session cookie carries),
revoke one, see every one with its prefix, account, maker and last use. Each made and
revoked token is in the administrative record (services.api_tokens)."""

from __future__ import annotations

from flask import flash, redirect, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectField, StringField

from models import Staff, db
from rules import Role, RuleError
from rules.bounds import parse_id
from services import api_tokens as service

from .base import DeskForm, SecureBaseView
from .i18n import rule_message


class TokenForm(DeskForm):
    name = StringField(_l("Name of the system"))
    staff_id = SelectField(_l("Acts as the account"), validate_choice=False)


class RevokeForm(DeskForm):
    pass


def _accounts():
    rows = db.session.scalars(select(Staff).where(Staff.active.is_(True))
                              .order_by(Staff.username))
    return [(str(s.id), f"{s.username} — {s.full_name}") for s in rows]


class ApiTokensView(SecureBaseView):
    read_roles = (Role.ADMIN,)

    def _page(self, form, made=None, status=200):
        form.staff_id.choices = _accounts()
        return self.render("api_tokens.html", form=form, tokens=service.listing(), made=made,
                           revoke_form=RevokeForm()), status

    @expose("/", methods=("GET",))
    def index(self):
        return self._page(TokenForm())

    @expose("/new", methods=("POST",))
    def create(self):
        form = TokenForm(request.form)
        if not form.validate():
            flash(_("Your session form expired. Please try again."), "error")
            return self._page(form, status=400)
        try:
            row, token = service.create(form.name.data, form.staff_id.data, current_user.id)
        except RuleError as err:
            flash(rule_message(err), "error")
            return self._page(form, status=400)
        return self._page(TokenForm(), made=(row, token))

    @expose("/revoke", methods=("POST",))
    def revoke(self):
        form = RevokeForm(request.form)
        pk = parse_id(request.form.get("token_id"))
        if not form.validate() or pk is None:
            flash(_("Your session form expired. Please try again."), "error")
        elif service.revoke(pk, current_user.id) is None:
            flash(_("No such token."), "error")
        else:
            flash(_("The token was revoked: it no longer works."), "success")
        return redirect(self.get_url(".index"))


def add_views(admin, category):
    admin.add_view(ApiTokensView(name=_l("API tokens"), endpoint="api_tokens",
                                 category=category))
