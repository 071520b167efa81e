"""My notification settings: which notifications reach me by e-mail and by my department's
group robot, the daily digest, my e-mail address. Every logged-in user, their own only.

The kinds offered are ``rules.delivery.STAFF_KINDS``; the choices are stored by
``services.delivery.preferences`` (which checks the address through the rules). The page
also says whether this server sends e-mail at all and whether the department has a robot.
Reached from "My notifications" and the user menu in the navbar.
"""

from __future__ import annotations

from flask import current_app, flash, redirect, request
from flask_admin import expose
from flask_admin.form import SecureForm
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import BooleanField, SelectMultipleField, StringField

from rules import Role, RuleError
from rules import delivery as R
from services.delivery import preferences as service

from .base import SecureBaseView
from .i18n import rule_message
from .notifications import kind_label


class SettingsForm(SecureForm):
    email = StringField(_l("E-mail address"))  # checked by rules.delivery_settings
    email_kinds = SelectMultipleField(_l("By e-mail"), validate_choice=False)
    robot_kinds = SelectMultipleField(_l("In the department's group chat"),
                                      validate_choice=False)
    digest = BooleanField(_l("One e-mail a day with everything instead (daily digest)"))


def _form(prefs) -> SettingsForm:
    """The form, filled from the request on POST and from the stored choices on GET."""
    if request.method == "POST":
        form = SettingsForm(request.form)
    else:
        form = SettingsForm(email=prefs.email, email_kinds=sorted(prefs.email_kinds),
                            robot_kinds=sorted(prefs.robot_kinds), digest=prefs.digest)
    for field in (form.email_kinds, form.robot_kinds):
        field.choices = [(kind, kind_label(kind)) for kind in R.STAFF_KINDS]
    return form


class NotificationSettingsView(SecureBaseView):
    read_roles = Role.ALL

    def is_visible(self):
        return False  # reached from "My notifications" and the user menu

    @expose("/", methods=("GET", "POST"))
    def index(self):
        prefs = service.get(current_user.id)
        form = _form(prefs)
        if request.method == "POST":
            if form.validate():
                try:
                    service.save(current_user.id, email=form.email.data,
                                 email_kinds=form.email_kinds.data or (),
                                 robot_kinds=form.robot_kinds.data or (),
                                 digest=form.digest.data)
                except RuleError as err:
                    flash(rule_message(err), "error")
                else:
                    flash(_("Your notification settings were saved."), "success")
                    return redirect(self.get_url(".index"))
            elif "csrf_token" in form.errors:
                flash(_("Your session form expired. Please try again."), "error")
            else:
                for errors in form.errors.values():
                    for error in errors:
                        flash(str(error), "error")
        rows = [(kind, kind_label(kind)) for kind in R.STAFF_KINDS]
        return self.render("notification_settings.html", form=form, prefs=prefs, rows=rows,
                           email_kinds=set(form.email_kinds.data or ()),
                           robot_kinds=set(form.robot_kinds.data or ()),
                           digest_hour=current_app.config.get("NOTIFY_DIGEST_HOUR"))


def add_views(admin):
    admin.add_view(NotificationSettingsView(name=_l("My notification settings"),
                                            endpoint="notification_settings"))
