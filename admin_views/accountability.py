"""Accountability (问责记录): the missed deadlines, a manager's finding on each, the setting.

The records are written by the deadline sweep and never changed: this screen only lists
them, and lets a manager add a finding (a new row; the newest one counts). Who reads
them (managers, supervisors, senior management, the accountability department's staff)
and who records a finding is for ``rules.accountability`` to say; the services write.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.contrib.sqla import filters
from flask_admin.form import SecureForm
from flask_admin.model.template import EndpointLinkRowAction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import false, select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import SelectField, TextAreaField
from wtforms.validators import Length

import rules
from models import AccountabilityRecord, Complaint, Department, db
from models.engine import write_transaction
from models.settings import ACCOUNTABILITY_DEPARTMENT, NO, SUPERVISOR_CALLBACKS, YES
from rules import Channel
from rules.accountability import FINDING_ROLES, SETTING_ROLES
from services import accountability as accountability_service
from services import admin_events as admin_record
from services import channel_owners, queues

from . import labels as L
from .base import SecureBaseView, SecureModelView
from .complaint_columns import TYPE_FORMATTERS
from .crud import QueryOptions
from .i18n import rule_message
from .privacy import shown_text


def may_read() -> bool:
    """Whether the current user reads the records (rules.accountability.can_read; once per
    request: the menu asks on every page)."""
    if not (current_user.is_authenticated and current_user.is_active):
        return False
    if "may_read_accountability" not in g:
        g.may_read_accountability = queues.may_read_accountability(current_user)
    return g.may_read_accountability


def may_record_finding() -> bool:
    return current_user.is_authenticated and current_user.role in FINDING_ROLES


# --- columns ----------------------------------------------------------------------------


def _complaint(view, context, model, name):
    """The complaint's number, linked to its page when the user may open it."""
    c = model.complaint
    if c is None:
        return ""
    if rules.can_see(current_user.actor, c.department_id, c.assignee_id, c.registered_by_id):
        url = url_for("complaint.details_view", id=c.id)
        return Markup('<a href="{}">{}</a>').format(url, c.number)
    return c.number


def latest_finding(record):
    """The finding that counts (the newest), or None."""
    return record.findings[-1] if record.findings else None


def _finding_text(view, context, model, name):
    finding = latest_finding(model)
    if finding is None:
        return _("Not yet decided")
    return f"{L.label(L.FINDING, finding.finding)}: {shown_text(finding.note)}"


def _finding(view, context, model, name):
    finding = latest_finding(model)
    if finding is None:
        return Markup('<span class="text-muted finding-none">{}</span>').format(
            _("Not yet decided"))
    css = "badge-danger" if finding.finding == rules.Finding.RESPONSIBLE else "badge-success"
    return Markup('<span class="badge {} finding-{}">{}</span> {}').format(
        css, finding.finding, L.label(L.FINDING, finding.finding), shown_text(finding.note))


def _department_options():
    return [(str(i), name) for i, name in
            db.session.execute(select(Department.id, Department.name).order_by(Department.name))]


class FindingForm(SecureForm):
    finding = SelectField(_l("Finding"), choices=L.choices(L.FINDING, blank=_l("— choose —")),
                          validate_choice=False)
    note = TextAreaField(_l("Note"), validators=[Length(max=4000)])


class AccountabilityRecordView(SecureModelView):
    """Read-only list of missed deadlines; a manager records findings on its own form."""

    read_roles = rules.Role.ALL  # the real gate: may_read() (role or department)
    write_roles = ()
    can_export = True
    details_template = "accountability_details.html"
    column_list = ("complaint", "clock", "due_at", "at", "status", "department", "person",
                   "escalation_level", "findings")
    column_details_list = ("complaint", "clock", "due_at", "at", "status", "department",
                           "person", "escalation_level")
    column_export_list = column_list
    column_select_related_list = (AccountabilityRecord.department,
                                  AccountabilityRecord.person)
    column_default_sort = [("at", True), ("id", True)]
    column_sortable_list = ("at", "due_at", "escalation_level")
    column_filters = (
        filters.FilterEqual(AccountabilityRecord.clock, _l("Missed deadline"),
                            options=L.options(L.CLOCK)),
        filters.IntEqualFilter(AccountabilityRecord.department_id, _l("Department"),
                               options=QueryOptions(_department_options)),
        filters.DateTimeBetweenFilter(AccountabilityRecord.at, _l("Found missed at")),
    )
    column_formatters = {
        "complaint": _complaint,
        "findings": _finding,
        **L.formatters(clock=L.CLOCK, status=L.STATUS, escalation_level=L.ESCALATION),
    }
    column_formatters_export = {"complaint": lambda v, c, m, n: m.complaint.number,
                                "findings": _finding_text}
    column_type_formatters = TYPE_FORMATTERS  # times to the minute, as everywhere
    column_type_formatters_detail = TYPE_FORMATTERS
    column_labels = {
        "complaint": _l("Complaint"), "clock": _l("Missed deadline"), "due_at": _l("Due"),
        "at": _l("Found missed at"), "status": _l("Status then"),
        "department": _l("Department"), "person": _l("Person responsible"),
        "escalation_level": _l("Escalation level"), "findings": _l("Finding"),
    }

    def is_accessible(self):
        return super().is_accessible() and may_read()

    def scope(self, query):
        return query if may_read() else query.where(false())

    def get_query(self):
        return super().get_query().options(
            joinedload(AccountabilityRecord.complaint).load_only(
                Complaint.id, Complaint.number, Complaint.department_id,
                Complaint.assignee_id, Complaint.registered_by_id),
            selectinload(AccountabilityRecord.findings),
        )

    def export_row_is_overdue(self, row, now):
        return False

    def get_list_row_actions(self):
        actions = super().get_list_row_actions()
        if may_record_finding():
            actions.append(EndpointLinkRowAction("fa fa-gavel", ".finding_view",
                                                 title=_l("Record finding")))
        return actions

    def render(self, template, **kwargs):
        kwargs.setdefault("labels", L)
        kwargs.setdefault("may_record_finding", may_record_finding())
        kwargs.setdefault("shown_text", shown_text)  # findings' notes masked per role
        return super().render(template, **kwargs)

    @expose("/finding/", methods=("GET", "POST"))
    def finding_view(self):
        """Record a manager's finding on one record (a new row: the newest one counts)."""
        if not may_record_finding():
            abort(403)
        record = self.get_one(request.args.get("id"))
        if record is None:
            abort(404)
        details_url = self.get_url(".details_view", id=record.id)
        form = FindingForm(request.form if request.method == "POST" else None)
        if request.method == "POST" and form.validate():
            try:
                accountability_service.record_finding(record.id, form.finding.data or None,
                                                      form.note.data, current_user)
            except rules.RuleError as err:
                flash(rule_message(err), "error")
            else:
                flash(_("Finding recorded for %(number)s.", number=record.complaint.number),
                      "success")
                return redirect(details_url)
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return self.render("accountability_finding.html", record=record, form=form,
                           details_url=details_url)


# --- the company settings (the administrator's) -----------------------------------------


class SettingsForm(SecureForm):
    accountability_department = SelectField(
        _l("Accountability department"), validate_choice=False,
        description=_l("Its staff read the accountability records of missed deadlines."))
    # Who calls back (R-procedure): customer service, or the inspection department too.
    supervisor_callbacks = SelectField(
        _l("The inspection department (supervisors) records callbacks"), validate_choice=False,
        description=_l("When on, supervisors record callbacks as customer service does."))


# 渠道负责人: one field per intake channel (services.channel_owners); a form without the
# field keeps that channel's owner, the blank choice takes it away.
def _owner_field(channel: str) -> str:
    return f"channel_owner_{channel}"


for _channel in Channel.ALL:
    setattr(SettingsForm, _owner_field(_channel), SelectField(
        _l("Channel owner: %(channel)s", channel=L.CHANNEL[_channel]), validate_choice=False,
        description=_l("Told of every new complaint that comes in through this channel.")))


def _owner_choices():
    return L.choices({str(pk): f"{name} ({username})"
                      for pk, name, username in channel_owners.eligible()},
                     blank=_l("— nobody —"))


class SettingsView(SecureBaseView):
    read_roles = SETTING_ROLES

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = SettingsForm(request.form if request.method == "POST" else None)
        rows = db.session.execute(
            select(Department.code, Department.name).where(Department.active.is_(True))
            .order_by(Department.code)).all()
        form.accountability_department.choices = L.choices(
            {code: f"{name} ({code})" for code, name in rows}, blank=_l("— choose —"))
        form.supervisor_callbacks.choices = L.choices({NO: _l("No"), YES: _l("Yes")})
        owner_choices = _owner_choices()
        for channel in Channel.ALL:
            getattr(form, _owner_field(channel)).choices = owner_choices
        if request.method == "GET":
            form.accountability_department.data = queues.accountability_department_code()
            form.supervisor_callbacks.data = queues.setting(SUPERVISOR_CALLBACKS)
            for channel, owner in channel_owners.owners().items():
                getattr(form, _owner_field(channel)).data = str(owner) if owner else ""
        elif form.validate():
            try:
                with write_transaction(db.session):  # the change and its AdminEvent together
                    before = queues.accountability_department_code()
                    accountability_service.set_accountability_department(
                        form.accountability_department.data, current_user)
                    admin_record.setting_changed(
                        ACCOUNTABILITY_DEPARTMENT, before,
                        queues.accountability_department_code(), actor_id=current_user.id)
                    if form.supervisor_callbacks.data:  # (a form without it keeps it)
                        before = queues.setting(SUPERVISOR_CALLBACKS)
                        accountability_service.set_supervisor_callbacks(
                            form.supervisor_callbacks.data, current_user)
                        admin_record.setting_changed(
                            SUPERVISOR_CALLBACKS, before, queues.setting(SUPERVISOR_CALLBACKS),
                            actor_id=current_user.id)
                    for channel in Channel.ALL:  # each change recorded (AdminEvent)
                        value = getattr(form, _owner_field(channel)).data
                        if value is not None:  # (a form without the field keeps it)
                            channel_owners.set_owner(channel, value, current_user)
            except rules.RuleError as err:
                flash(rule_message(err), "error")
            else:
                flash(_("The settings were saved."), "success")
                return redirect(self.get_url(".index"))
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return self.render("admin/company_settings.html", form=form)


def add_views(admin):
    """The accountability list (after the audit trail)."""
    admin.add_view(AccountabilityRecordView(AccountabilityRecord, db, name=_l("Accountability"),
                                            endpoint="accountability"))


def add_settings_view(admin, settings_category):
    """The company settings page, under the configuration menu."""
    admin.add_view(SettingsView(name=_l("Company settings"), endpoint="company_settings",
                                category=settings_category))
