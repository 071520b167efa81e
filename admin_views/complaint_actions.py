"""The complaint screens' workflow actions: one action on one complaint, and bulk actions.

Which actions exist, who may take them and what they need is for ``rules`` to say
(``rules.ACTION_ROLES`` as the coarse gate, ``rules.allowed_actions`` / ``rules.refusal``
for this complaint now); ``services.complaints`` applies them. The view only shows the
form, passes the inputs and tells the user the outcome or the rules' reason.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request
from flask_admin import expose
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

import rules
from rules import ACTION_ROLES, Action
from services import complaints as complaint_service
from services import merge as merge_service

from . import labels
from .complaint_forms import ACTION_FORMS, BULK_ACTIONS, BULK_FORMS, ActionForm
from .i18n import rule_message


def _flash_form_errors(form):
    for errors in form.errors.values():
        for error in errors:
            flash(str(error), "error")


class ComplaintActionsMixin:
    """Mixed into the complaint view: needs its scoped ``get_one`` and ``scoped_ids``."""

    # --- the buttons of the detail page ---------------------------------------------------

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

    def merge_links(self, complaint):
        """The master of a merged duplicate, and the duplicates merged into this one."""
        return merge_service.links(complaint, current_user.actor)

    def inline_action_form(self):
        """A form that holds nothing but the CSRF token, for the one-click actions."""
        return ActionForm()

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
            refusal = rules.refusal(action_name, complaint.facts(), current_user.actor)
            if refusal is not None:
                flash(rule_message(refusal), "error")
                return redirect(details_url)
            form.version.data = complaint.version
            return self._render_act(action_name, complaint, form, details_url)

        if not form.validate():
            _flash_form_errors(form)
            return self._render_act(action_name, complaint, form, details_url)
        try:
            prepared = self.action_file(action_name, complaint)  # admin_views/attachments.py
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
        self.attach_action_file(prepared, outcome)
        return redirect(details_url)

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

    @action(Action.FORWARD, _l("Forward"))
    def action_forward(self, ids):
        return self._bulk_form(Action.FORWARD, ids)

    @action(Action.ESCALATE, _l("Escalate"))
    def action_escalate(self, ids):
        return self._bulk_form(Action.ESCALATE, ids)

    @action(Action.CLOSE, _l("Close"), _l("Close the selected complaints?"))
    def action_close(self, ids):
        self._bulk_run(Action.CLOSE, ids, {})

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
            _flash_form_errors(form)
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
