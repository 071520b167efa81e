"""The complaint screens' workflow actions: one action on one complaint, and bulk actions.

Which actions exist, who may take them and what they need is for ``rules`` to say
(``rules.ACTION_ROLES`` as the coarse gate, ``rules.allowed_actions`` / ``rules.refusal``
for this complaint now); ``services.complaints`` applies them. The view only shows the
form, passes the inputs and tells the user the outcome or the rules' reason.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, request
from flask_admin import expose
from flask_admin.actions import action
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user

import rules
from models import Complaint
from rules import ACTION_ROLES, Action
from rules.merge import normalize_number
from services import complaints as complaint_service
from services import merge as merge_service

from . import labels
from .complaint_columns import countdown_text
from .complaint_forms import ACTION_FORMS, BULK_ACTIONS, BULK_FORMS, ActionForm
from .form_errors import csrf_messages, required_names, show_refusal
from .i18n import rule_message
from .plan_panel import plan_panel
from .privacy import contacts_visible, shown_text

# The actions whose form shows the customer, the department's result and the callbacks.
_RESULT_CONTEXT = (Action.REVIEW_APPROVE, Action.REVIEW_SEND_BACK, Action.CALLBACK,
                   Action.CLOSE, Action.FORCE_CLOSE, Action.REOPEN)
_RESULT_FIELDS = ("root_cause", "responsibility", "remedy", "compensation_amount", "resolution")
# "I confirm" (the check box of an action that ends the handling: rules.is_final).
CONFIRM_FIELD = "confirm"
# Actions whose few inputs sit on the detail page itself (the head picks the handler there);
# an action that ends the handling with no input (close) is confirmed there too, by its
# "I confirm" box — checked on the server all the same (_confirmation_pending).
INLINE_FORMS = (Action.ASSIGN,)
CONFIRMED_MASTER_FIELD = "confirmed_master"


class ComplaintActionsMixin:
    """Mixed into the complaint view: needs its scoped ``get_one`` and ``scoped_ids``."""

    # --- the buttons of the detail page ---------------------------------------------------

    @staticmethod
    def rule_facts(complaint):
        """The complaint's facts with its policy's (services.complaints.facts_of), read once
        per request and version: the page asks for them several times."""
        cache = g.setdefault("desk_rule_facts", {})
        key = (complaint.id, complaint.version)
        if key not in cache:
            cache[key] = complaint_service.facts_of(complaint)
        return cache[key]

    def available_actions(self, complaint):
        """One entry per action rules allow this user now: its label, and a form or not."""
        entries = []
        for name in rules.allowed_actions(self.rule_facts(complaint), current_user.actor):
            form_class = ACTION_FORMS.get(name)
            if form_class is None:
                continue
            final = rules.is_final(name)
            entry = {"name": name, "label": labels.ACTION.get(name, name),
                     "needs_form": form_class.fields_needed, "final": final,
                     "url": self.get_url(".act_view", action_name=name, id=complaint.id)}
            if name in INLINE_FORMS:  # done from this page: one page load fewer
                form = form_class()
                form.prepare(complaint)
                entry.update(needs_form=False, inline_form=form)
            entries.append(entry)
        return entries

    def unavailable_actions(self, complaint):
        """The actions of the user's role not available now, each with the rules' reason:
        (blocked, others) — blocked: right stage, a condition not met yet (close before
        enough callbacks); others: not at the stage where this role takes them."""
        blocked, others = [], []
        for u in rules.unavailable_actions(self.rule_facts(complaint), current_user.actor):
            if u.action not in ACTION_FORMS:
                continue
            entry = {"name": u.action, "label": labels.ACTION.get(u.action, u.action),
                     "reason": rule_message(u.reason)}
            (blocked if u.blocked else others).append(entry)
        return blocked, others

    def countdown(self, complaint):
        """"2 working days left" / "due today" / "overdue 9 days", or None."""
        return countdown_text(complaint)

    def callback_progress(self, complaint):
        """rules.callback_progress: the callbacks needed to close, and done."""
        return rules.callback_progress(complaint.facts())

    def shows_callback_progress(self, complaint) -> bool:
        return complaint.status in (rules.Status.RESOLVED, rules.Status.CALLBACK) or bool(
            complaint.callbacks_reached)

    def last_callback(self, complaint):
        """The latest callback on the timeline (its outcome stays on the summary)."""
        entries = [e for e in self.timeline(complaint) if e.kind == "callback"]
        return entries[-1] if entries else None

    def customer_phone_shown(self, complaint, calling_back=False):
        """The phone as the user may read it; in full on the callback form to a supervisor
        the company gave the callbacks (who otherwise reads contacts masked)."""
        phone = complaint.customer_phone
        if calling_back and current_user.actor.calls_back:
            return phone
        return phone if contacts_visible() or not phone else rules.mask_phone(phone)

    def merge_links(self, complaint):
        """The master of a merged duplicate, and the duplicates merged into this one."""
        return merge_service.links(complaint, current_user.actor)

    def plan_panel(self, complaint):
        """处理方案: what templates/_plan_panel.html shows (admin_views.plan_panel)."""
        return plan_panel(complaint)

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
            refusal = rules.refusal(action_name, self.rule_facts(complaint), current_user.actor)
            if refusal is not None:
                flash(rule_message(refusal), "error")
                return redirect(details_url)
            form.version.data = complaint.version
            return self._render_act(action_name, complaint, form, details_url)

        if not form.validate():  # errors shown next to their fields (templates/_fields.html)
            return self._render_act(action_name, complaint, form, details_url,
                                    form_messages=csrf_messages(form))
        if self._confirmation_pending(action_name, form):
            # Server side, not only in the browser: shown again with what it will do, and
            # done only once "I confirm" is ticked (for a merge: for the master shown).
            refusal = rules.refusal(action_name, self.rule_facts(complaint), current_user.actor)
            if refusal is not None:
                flash(rule_message(refusal), "error")
                return redirect(details_url)
            return self._render_act(action_name, complaint, form, details_url,
                                    confirm_missing=True)
        try:
            prepared = self.action_file(action_name, complaint)  # admin_views/attachments.py
            outcome = complaint_service.perform(
                complaint.id, action_name, current_user, form.inputs(),
                expected_version=form.version.data or "missing",
            )
        except rules.RuleError as err:  # each refusal next to its field, the rest on top
            return self._render_act(action_name, complaint, form, details_url,
                                    form_messages=show_refusal(form, err))
        flash(_("%(action)s: done for %(number)s. Status: %(status)s.",
                action=labels.ACTION.get(action_name, action_name),
                number=outcome.complaint.number,
                status=labels.label(labels.STATUS, outcome.complaint.status)), "success")
        self.attach_action_file(prepared, outcome)
        return redirect(details_url)

    def _render_act(self, action_name, complaint, form, details_url, confirm_missing=False,
                    form_messages=()):
        master = self._merge_master(form) if action_name == Action.MERGE else None
        return self.render("complaint_action.html", complaint=complaint, form=form,
                           action_name=action_name,
                           action_label=labels.ACTION.get(action_name, action_name),
                           details_url=details_url,
                           context=self._action_context(action_name, complaint, master),
                           final=rules.is_final(action_name),
                           confirm_missing=confirm_missing and request.method == "POST",
                           confirm_field=CONFIRM_FIELD, form_messages=form_messages,
                           required_fields=required_names(rules.spec_of(action_name).fields),
                           confirmed_master_field=CONFIRMED_MASTER_FIELD)

    # --- what the action's page shows beside its form ------------------------------------

    def _confirmation_pending(self, action_name, form) -> bool:
        """An action that ends the handling (rules.is_final) posted without "I confirm".

        A merge is confirmed for the master the page showed, not for a number typed
        afterwards; a number that names no complaint the user sees goes to the rules,
        which refuse it with their reason.
        """
        if not rules.is_final(action_name):
            return False
        if action_name == Action.MERGE:
            master = self._merge_master(form)
            if master is None:
                return False
            return not (request.form.get(CONFIRM_FIELD) == "y"
                        and request.form.get(CONFIRMED_MASTER_FIELD) == master.number)
        return request.form.get(CONFIRM_FIELD) != "y"

    def _merge_master(self, form):
        """The complaint named as the master, when the user may see it (else None)."""
        field = getattr(form, "master_number", None)
        raw = (field.data or "").strip() if field is not None else ""
        if not raw or request.method != "POST":
            return None
        number = normalize_number(raw)
        return self.get_query().filter(Complaint.number == number).one_or_none()

    def _action_context(self, action_name, complaint, master=None):
        """What the user needs to see to take the action (no decision made here)."""
        ctx = {"customer": None, "result": (), "progress": None, "last_callback": None,
               "extension": None, "master": None}
        if action_name in _RESULT_CONTEXT:
            ctx["customer"] = (complaint.customer_name, self.customer_phone_shown(
                complaint, calling_back=action_name == Action.CALLBACK))
            ctx["result"] = [(name, self.column_labels.get(name, name), value)
                             for name in _RESULT_FIELDS
                             if (value := self.get_detail_value(None, complaint, name))]
        if action_name in (Action.CALLBACK, Action.CLOSE, Action.FORCE_CLOSE) or (
                action_name in _RESULT_CONTEXT and self.shows_callback_progress(complaint)):
            ctx["progress"] = self.callback_progress(complaint)
            ctx["last_callback"] = self.last_callback(complaint)
        if action_name == Action.EXTEND_DECIDE:
            ctx["extension"] = {
                "until": complaint.extension_requested_until,
                "reason": shown_text(complaint.extension_reason),
                "by": (complaint.extension_requested_by.full_name
                       if complaint.extension_requested_by else None),
                "deadline": complaint.resolve_due,
                "countdown": countdown_text(complaint),
            }
        if master is not None:
            same = bool(
                (master.customer_id and master.customer_id == complaint.customer_id)
                or (master.customer_phone_norm
                    and master.customer_phone_norm == complaint.customer_phone_norm))
            ctx["master"] = {"number": master.number, "title": shown_text(master.title),
                             "customer": (master.customer_name,
                                          self.customer_phone_shown(master)),
                             "status": labels.label(labels.STATUS, master.status),
                             "same_customer": same}
        return ctx

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

    @action(Action.CLOSE, _l("Close"))
    def action_close(self, ids):
        return self._bulk_form(Action.CLOSE, ids)  # "I confirm", checked on the server

    def _bulk_form(self, name, ids, form=None, form_messages=()):
        selected = self.scoped_ids(ids)
        if not selected:
            flash(_("None of the selected complaints can be found."), "error")
            return redirect(self.get_url(".index_view"))
        if form is None:
            form = BULK_FORMS[name]()
        form.prepare(None)  # the action's form, for no one complaint
        return self.render("complaint_bulk.html", form=form, action_name=name,
                           action_label=labels.ACTION.get(name, name), selected=selected,
                           form_messages=form_messages,
                           required_fields=required_names(rules.spec_of(name).fields),
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
            return self._bulk_form(action_name, ids, form, form_messages=csrf_messages(form))
        if self._bulk_run(action_name, ids, form.inputs(), form) is form:
            return self._bulk_form(action_name, ids, form)  # an input to correct, shown there
        return redirect(self.get_url(".index_view"))

    def _bulk_run(self, name, ids, inputs, form=None):
        """Each selected complaint checked and written on its own; report done and refused.

        Returns ``form`` when nothing was done because of the form's input (the same
        refusal about one of its fields for every complaint): it is shown next to it."""
        selected = self.scoped_ids(ids)
        outside = len(set(map(str, ids)) - {str(c.id) for c in selected})
        result = complaint_service.perform_many([c.id for c in selected], name, current_user,
                                                inputs)
        if form is not None and result.refused and not result.done:
            reasons = {rule_message(err) for _number, err in result.refused}
            err = result.refused[0][1]
            if len(reasons) == 1 and err.field and err.field in form:
                show_refusal(form, err)
                return form
        done = len(result.done)
        if done:
            flash(ngettext("%(num)d complaint done: %(numbers)s.",
                           "%(num)d complaints done: %(numbers)s.", done,
                           numbers=", ".join(result.done)), "success")
        # "TS-…：原因。" one after the other (no "。;" in Chinese)
        refused = [_("%(number)s: %(reason)s", number=number, reason=rule_message(err))
                   for number, err in result.refused]
        if outside:
            refused.append(ngettext("%(num)d complaint not found.",
                                    "%(num)d complaints not found.", outside))
        if refused:
            count = len(result.refused) + outside
            flash(ngettext("%(num)d complaint refused — %(reasons)s",
                           "%(num)d complaints refused — %(reasons)s", count,
                           reasons=" ".join(refused)), "error")
