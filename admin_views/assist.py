"""协办 on the complaint page: the parts of assisting departments, and the assisting side's
two steps (report the part; its head names who does it).

Mixed into the complaint view: each route finds the complaint through the scoped
``get_one`` (an assisting head or handler sees it; anyone else outside the scope gets 404)
and ``services.assist`` checks scope, the part's version and the rules again. The lead's
own steps (add, withdraw) are declared actions with their buttons in the action bar.
"""

from __future__ import annotations

from flask import abort, flash, redirect, request
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import HiddenField, SelectField, TextAreaField
from wtforms.validators import Length

import rules
from rules import Role
from rules import assist as rules_assist
from rules.constants import AssistStatus
from rules.scope import assists
from services import assist as assist_service

from . import labels
from .base import DeskForm
from .complaint_forms import person_choices
from .form_errors import csrf_messages
from .i18n import rule_message


class PartReportForm(DeskForm):
    version = HiddenField()
    report = TextAreaField(_l("Report on your part"), validators=[Length(max=4000)],
                           description=_l("What your department found or did; the lead "
                                          "department reads it before resolving."))


class PartAssignForm(DeskForm):
    version = HiddenField()
    assignee_id = SelectField(_l("Who does the part"), choices=[], validate_choice=False)


class AssistMixin:
    """Needs the complaint view's scoped ``get_one`` and ``get_url``."""

    # --- what the detail page shows --------------------------------------------------------

    def assist_panel(self, complaint):
        """The complaint's parts, each with what the current user may do on it."""
        actor = current_user.actor
        rows = []
        for part in assist_service.parts_of(complaint.id):
            facts = assist_service.part_facts(part)
            row = {"part": part, "status": labels.label(labels.ASSIST_STATUS, part.status),
                   "mine": assists(actor, part.department_id, part.assignee_id)
                   and part.status != AssistStatus.WITHDRAWN,
                   "overdue": part.overdue_since is not None
                   and part.status == AssistStatus.OPEN,
                   "report_form": None, "assign_form": None}
            if rules_assist.may_report(actor, facts, complaint.status):
                form = PartReportForm()
                form.version.data = part.version
                row["report_form"] = form
            if rules_assist.may_assign_part(actor, facts, complaint.status):
                form = PartAssignForm()
                form.version.data = part.version
                form.assignee_id.choices = person_choices(part.department_id)
                form.assignee_id.data = str(part.assignee_id or "")
                row["assign_form"] = form
            rows.append(row)
        assisting_only = bool(rows) and not rules.can_see(
            actor, complaint.department_id, complaint.assignee_id, complaint.registered_by_id)
        return {"rows": rows, "assisting_only": assisting_only}

    def has_assisting_queue(self) -> bool:
        """The list's "assisting parts" tab: a head's or a handler's (services.queues)."""
        return current_user.is_authenticated and current_user.role in Role.DEPARTMENTAL

    # --- the assisting side's routes ---------------------------------------------------------

    def _part_step(self, part_id, form_class, run, done_message):
        if current_user.role not in Role.DEPARTMENTAL:
            abort(403)  # only a head or a handler of an assisting department
        complaint = self.get_one(request.args.get("id"))
        if complaint is None:
            abort(404)  # outside the user's scope is the same as not there
        details_url = self.get_url(".details_view", id=complaint.id)
        form = form_class(request.form)
        if not form.validate():
            for message in csrf_messages(form) or [_("The text is too long.")]:
                flash(message, "error")
            return redirect(details_url)
        try:
            run(complaint, form)
        except rules.RuleError as err:
            flash(rule_message(err), "error")
            return redirect(details_url)
        flash(done_message, "success")
        return redirect(details_url)

    @expose("/parts/<int:part_id>/report/", methods=("POST",))
    def part_report_view(self, part_id):
        def run(complaint, form):
            assist_service.report(complaint.id, part_id, current_user, form.report.data,
                                  expected_version=form.version.data or "missing")
        return self._part_step(part_id, PartReportForm, run, _("Your part is reported."))

    @expose("/parts/<int:part_id>/assign/", methods=("POST",))
    def part_assign_view(self, part_id):
        def run(complaint, form):
            assist_service.assign_part(complaint.id, part_id, current_user,
                                       form.assignee_id.data,
                                       expected_version=form.version.data or "missing")
        return self._part_step(part_id, PartAssignForm, run,
                               _("The part is assigned."))
