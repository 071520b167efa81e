"""Registration and the generic edit form of a complaint: every refusal at once, each next
to its field, one success message, and nothing lost when the form's token has expired.

Flask-Admin's own create and edit views flash one message per submit ("Failed to create
record.", untranslated) and their success message on top of ours; these two replace them.
The rules decide (``rules.check_register`` / ``check_edit`` through the services).

A form's CSRF token lives as long as the session (``base.DeskForm``); the session ends
after SESSION_IDLE_MINUTES without a request. Typing in a form is activity too:
static/desk/form_activity.js asks ``keepalive`` (at most every few minutes, and only
after the user typed or chose something since), so a clerk filling a form through a long
call is not signed out under it; an untouched page still times out.
"""

from __future__ import annotations

from flask import Response, abort, flash, redirect, request
from flask_admin import expose
from flask_admin.babel import gettext as admin_gettext
from flask_admin.helpers import get_redirect_target
from flask_babel import gettext as _
from flask_login import current_user

import rules
from services import clock
from services import complaints as complaint_service
from services import edits as edit_service

from .form_errors import csrf_messages, show_refusal
from .i18n import rule_message


class ComplaintFormViewsMixin:
    """Mixed into the complaint view (before SecureModelView): /new/ and /edit/."""

    def _dry_run(self, form) -> list[str]:
        """After a refused CSRF token or a field too long: what the rules would say too, so
        that every problem shows at once (pure check, nothing written)."""
        try:
            rules.check_register(current_user.role, form.values(), clock.now())
        except rules.RuleError as err:
            return show_refusal(form, err, skip_filled=True)
        return []

    @expose("/keepalive/")
    def keepalive(self):
        """The user is working in a form: nothing to do, the request itself counts as
        activity for the session's idle timeout (admin_views/auth.py). Changes nothing;
        the role check is the view's (is_accessible)."""
        return Response(status=204, headers={"Cache-Control": "no-store"})

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        if not self.can_create:
            abort(403)
        return_url = get_redirect_target() or self.get_url(".index_view")
        form = self.create_form()
        messages = []
        if request.method == "POST":
            if form.validate():
                try:
                    complaint = complaint_service.register(form.values(), current_user)
                except rules.RuleError as err:
                    messages = show_refusal(form, err)
                else:
                    flash(_("Complaint %(number)s registered.", number=complaint.number),
                          "success")
                    if request.form.get("then") == "forward":
                        return self._accept_then_forward(complaint)
                    return redirect(self.get_save_return_url(complaint, is_created=True))
            else:
                messages = csrf_messages(form) + self._dry_run(form)
        return self.render(self.create_template, form=form, return_url=return_url,
                           form_messages=messages)

    def accepts_on_registration(self) -> bool:
        """Whether the user's role accepts and forwards what it registers (customer
        service): the form offers "Save, accept and forward"."""
        return current_user.role in rules.ACTION_ROLES.get(rules.Action.ACCEPT, ())

    def _accept_then_forward(self, complaint):
        """Registered: accepted at once (the rules decide, as for the button) and on to the
        forward form; a refusal says why, on the complaint's page."""
        try:
            complaint_service.perform(complaint.id, rules.Action.ACCEPT, current_user,
                                      expected_version=complaint.version)
        except rules.RuleError as err:
            flash(rule_message(err), "error")
            return redirect(self.get_save_return_url(complaint, is_created=True))
        return redirect(self.get_url(".act_view", action_name=rules.Action.FORWARD,
                                     id=complaint.id))

    @expose("/edit/", methods=("GET", "POST"))
    def edit_view(self):
        if not self.can_edit:
            abort(403)
        return_url = get_redirect_target() or self.get_url(".index_view")
        model = self.get_one(request.args.get("id"))
        if model is None:
            flash(admin_gettext("Record does not exist."), "error")
            return redirect(return_url)
        form = self.edit_form(obj=model)
        messages = []
        if request.method == "GET":
            self.on_form_prefill(form, model.id)
        elif form.validate():
            expected = form.expected_version.data or "missing"  # no version: treated as stale
            try:
                edit_service.edit(model.id, form.values(), current_user,
                                  expected_version=expected, reason=form.reason_text())
            except rules.RuleError as err:
                messages = show_refusal(form, err)
            else:
                flash(admin_gettext("Record was successfully saved."), "success")
                return redirect(self.get_save_return_url(model, is_created=False))
        else:
            messages = csrf_messages(form)
        return self.render(self.edit_template, model=model, form=form, return_url=return_url,
                           form_messages=messages)
