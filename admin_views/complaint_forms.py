"""The small forms of the complaint screens: registration / edit, one per workflow action, bulk.

The forms collect input and CSRF only; whether an action is allowed and whether its
inputs are complete is for ``rules`` to say (their refusals are shown next to the fields:
admin_views/form_errors.py), so select fields do not second-guess the choices
(``validate_choice=False``). Their CSRF token lives as long as the session
(``base.DeskForm``).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms import SelectChoice as Choice
from wtforms.validators import InputRequired, Length, Optional

from models import Category, Department, Staff, db
from rules import Action, DepartmentFacts, Role, Severity
from rules.bounds import MAX_LONG_TEXT, parse_id
from rules.fields import MAX_TEXT
from rules.intake import REQUIRED_FIELDS
from rules.procedure import forward_refusal
from services.complaints import active_head_clause

from . import labels
from .base import DeskForm
from .params import DateWindow

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"

PHONE_HINT = _l("11-digit mobile, or a landline with its area code; +86 and spaces, dashes "
                "or brackets are fine.")
AMOUNT_HINT = _l("In yuan, such as 1200, 1,200.50, ¥200 or 200元.")


def _blank(label=None):
    return Choice("", label if label is not None else _l("— choose —"))


def enum_choices(mapping, blank=True):
    """Choices from a label mapping of admin_views.labels, optionally with an empty first."""
    items = [Choice(value, text) for value, text in mapping.items()]
    return ([_blank()] if blank else []) + items


def _select(label, mapping=None, blank=True, **kwargs):
    return SelectField(label, choices=enum_choices(mapping, blank) if mapping else [],
                       validate_choice=False, **kwargs)


YES_NO = {"yes": _l("Yes"), "no": _l("No")}


def yes_no(value):
    """'yes' → True, 'no' → False, anything else → None (rules then ask for it)."""
    return {"yes": True, "no": False}.get(value)


def _text(value):
    return (value or "").strip()


# --- choices read from the database (active rows only) ----------------------------------


def forward_targets(*, exclude_id=None):
    """Active departments other than customer service, each with the rules' reason why a
    complaint cannot be forwarded there now (None: it can): [(department, refusal)]."""
    staffed = (
        select(Staff.id)
        .where(Staff.department_id == Department.id, Staff.active.is_(True),
               Staff.role.in_(Role.ASSIGNABLE))
        .exists()
    )
    rows = db.session.execute(
        select(Department, staffed.label("staffed"),
               active_head_clause(Department.id).label("has_head"))
        .where(Department.active.is_(True), Department.is_customer_service.is_(False))
        .order_by(Department.name)
    ).all()
    return [(d, forward_refusal(DepartmentFacts(d.id, True, False, bool(has_staff),
                                                bool(has_head)), exclude_id))
            for d, has_staff, has_head in rows if d.id != exclude_id]


def department_choices(*, exclude_id=None, targets=None):
    """The forward choices: the departments the rules accept, then those they refuse now,
    shown disabled with the reason (财务部 — no active head) so nobody wonders where it is."""
    from .i18n import rule_message  # (a view helper; the forms module stays import-light)

    targets = forward_targets(exclude_id=exclude_id) if targets is None else targets
    ok = [Choice(str(d.id), d.name) for d, refusal in targets if refusal is None]
    refused = [Choice(str(d.id), _l("%(name)s — not possible: %(reason)s", name=d.name,
                                    reason=rule_message(refusal)),
                      render_kw={"disabled": True})
               for d, refusal in targets if refusal is not None]
    return [_blank()] + ok + refused


def person_choices(department_id=None, *, blank_label=None, department_ids=None):
    """Active handlers and heads (of one department, of ``department_ids``, or of every
    active one), by department; each option names its department (data-department, which
    static/desk/forward.js uses to offer only the chosen department's people)."""
    stmt = (
        select(Staff, Department.name)
        .join(Department, Department.id == Staff.department_id)
        .where(Staff.active.is_(True), Department.active.is_(True),
               Staff.role.in_(Role.ASSIGNABLE))
        .order_by(Department.name, Staff.full_name)
    )
    if department_id is not None:
        stmt = stmt.where(Staff.department_id == department_id)
    if department_ids is not None:
        stmt = stmt.where(Staff.department_id.in_(department_ids))
    choices = [_blank(blank_label)]
    for person, dept_name in db.session.execute(stmt):
        text = f"{person.full_name} ({labels.label(labels.ROLE, person.role)})"
        choices.append(Choice(str(person.id), text, optgroup=dept_name,
                              render_kw={"data-department": str(person.department_id)}))
    return choices


def staff_choices():
    """Every active staff member, by department (who caused a complaint: anyone)."""
    stmt = (
        select(Staff, Department.name)
        .outerjoin(Department, Department.id == Staff.department_id)
        .where(Staff.active.is_(True))
        .order_by(Department.name, Staff.full_name)
    )
    choices = [_blank(_l("— nobody named —"))]
    for person, dept_name in db.session.execute(stmt):
        choices.append(Choice(str(person.id), person.full_name, optgroup=dept_name or ""))
    return choices


def category_choices(current_id=None):
    rows = db.session.scalars(
        select(Category)
        .where((Category.active.is_(True)) | (Category.id == current_id))
        .order_by(Category.sort_order, Category.name)
    ).all()
    return [_blank()] + [Choice(str(c.id), c.name) for c in rows]


# --- registration and the generic edit form --------------------------------------------


class ComplaintForm(DeskForm):
    """Registration; the edit form adds the hidden version. Status, level, deadlines and
    results are not here: they change only through the workflow actions."""

    required_fields = REQUIRED_FIELDS  # the rules' (rules.intake), marked on the form

    kind = _select(_l("Kind"), labels.KIND, blank=False)
    channel = _select(_l("Channel"), labels.CHANNEL, blank=False)
    received_at = DateTimeLocalField(_l("Received at"), format=DATETIME_FORMAT,
                                     validators=[Optional(), DateWindow()])
    customer_name = StringField(_l("Customer name"), validators=[Length(max=100)])
    customer_phone = StringField(_l("Customer phone"), validators=[Length(max=32)],
                                 description=PHONE_HINT)
    customer_email = StringField(_l("Customer e-mail"), validators=[Length(max=200)])
    customer_class = _select(_l("Customer class"), labels.CUSTOMER_CLASS, blank=False,
                             default="C")
    category_id = _select(_l("Category"))
    severity = _select(_l("Severity"), labels.SEVERITY, blank=False,
                      default=Severity.NORMAL)
    title = StringField(_l("Title"), validators=[Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=MAX_LONG_TEXT)])
    demand = TextAreaField(_l("Customer demand"), validators=[Length(max=MAX_LONG_TEXT)])
    late_reason = TextAreaField(
        _l("Reason for late registration"), validators=[Length(max=4000)],
        description=_l("Needed only when the complaint was received more than 30 days ago."))
    # 地点 / 投诉对象, and who sent it down (R45): shown in their own groups (RECORD_GROUPS).
    location = StringField(_l("Location"), validators=[Length(max=200)],
                           description=_l("Where it happened: a store, an address, a site."))
    target_kind = _select(_l("Complaint about"), labels.TARGET_KIND)
    target_text = StringField(_l("Which one"), validators=[Length(max=200)],
                              description=_l("The product, person or store, in words."))
    upstream_source = _select(_l("Sent down by"), labels.UPSTREAM_SOURCE,
                              description=_l("Only for a complaint an upstream centre sent "
                                             "down: its report back is then due."))
    upstream_ref = StringField(_l("Upstream reference number"), validators=[Length(max=64)])
    upstream_due = DateTimeLocalField(_l("Report back by"), format=DATETIME_FORMAT,
                                      validators=[Optional(), DateWindow()],
                                      description=_l("The deadline the centre set, if any."))

    record_groups = (
        (_l("Where and what about"), ("location", "target_kind", "target_text")),
        (_l("Sent down by an upstream centre"),
         ("upstream_source", "upstream_ref", "upstream_due")),
    )

    def record_names(self) -> tuple[str, ...]:
        return tuple(name for _label, names in self.record_groups for name in names)

    def values(self) -> dict:
        """The submitted values, named as the model's columns (plus ``late_reason``)."""
        names = ("kind", "channel", "customer_name", "customer_phone", "customer_email",
                 "customer_class", "severity", "title", "description", "demand", "late_reason",
                 "location", "target_kind", "target_text", "upstream_source", "upstream_ref")
        data = {name: self[name].data for name in names if name in self}
        if self.received_at.data:
            data["received_at"] = self.received_at.data
        data["upstream_due"] = self.upstream_due.data or None
        raw = self.category_id.data
        data["category_id"] = parse_id(raw)  # None for "", "abc" or past 64 bits
        return data


class ComplaintEditForm(ComplaintForm):
    late_reason = None  # registration only
    # Set on GET, compared on save: a form opened before someone else's change is refused.
    expected_version = HiddenField()
    reason = TextAreaField(
        _l("Reason for the change"), validators=[Length(max=4000)],
        description=_l("Needed when the complaint is closed (only a manager may change it "
                       "then)."))

    def reason_text(self) -> str | None:
        return _text(self.reason.data) or None


# --- one form per workflow action -------------------------------------------------------


class ActionForm(DeskForm):
    """No input besides the complaint version the user saw (accept, approve, close)."""

    version = HiddenField()
    fields_needed = False

    def prepare(self, complaint):
        """Fill the choices that depend on the complaint; called before rendering/validating."""

    def inputs(self) -> dict:
        return {}


class ReasonForm(ActionForm):
    fields_needed = True
    reason = TextAreaField(_l("Reason"), validators=[Length(max=4000)])

    def inputs(self):
        return {"reason": _text(self.reason.data)}


class NoteForm(ActionForm):
    fields_needed = True
    note = TextAreaField(_l("Note"), validators=[Length(max=4000)])

    def inputs(self):
        return {"note": _text(self.note.data)}


class ReplyForm(ActionForm):
    """The customer was told why the complaint is invalid: how, and what was said."""

    fields_needed = True
    method = _select(_l("How the customer was told"), labels.CALLBACK_METHOD)
    note = TextAreaField(_l("What the customer was told"), validators=[Length(max=4000)])

    def inputs(self):
        return {"method": self.method.data or None, "note": _text(self.note.data)}


class ForwardForm(ActionForm):
    fields_needed = True
    department_id = _select(_l("Target department"))
    assignee_id = _select(_l("Person (optional)"))

    def prepare(self, complaint):
        targets = forward_targets(exclude_id=complaint.department_id)
        open_ids = [d.id for d, refusal in targets if refusal is None]
        self.department_id.choices = department_choices(targets=targets)
        # Only the people of departments it can go to; the rules refuse a person of another
        # department than the one chosen, and forward.js hides them as the choice changes.
        self.assignee_id.choices = person_choices(
            blank_label=_l("— the department head assigns —"), department_ids=open_ids)
        suggested = complaint.category.default_department_id if complaint.category else None
        if suggested in open_ids:
            name = next(d.name for d, _r in targets if d.id == suggested)
            self.department_id.description = _l(
                "Suggested for the category %(category)s: %(department)s.",
                category=complaint.category.name, department=name)
            if self.department_id.data is None:  # not posted: pre-select the suggestion
                self.department_id.data = str(suggested)

    def inputs(self):
        return {"department_id": self.department_id.data or None,
                "assignee_id": self.assignee_id.data or None}


class AssignForm(ActionForm):
    fields_needed = True
    assignee_id = _select(_l("Handler"))

    def prepare(self, complaint):
        self.assignee_id.choices = person_choices(complaint.department_id)

    def inputs(self):
        return {"assignee_id": self.assignee_id.data or None}


class ResolveForm(ActionForm):
    fields_needed = True
    root_cause = TextAreaField(_l("Root cause"), validators=[Length(max=MAX_TEXT)])
    responsibility = _select(_l("Responsibility"), labels.RESPONSIBILITY)
    remedy = _select(_l("Remedy"), labels.REMEDY)
    compensation_amount = StringField(_l("Compensation amount (yuan)"),
                                      validators=[Length(max=40)], description=AMOUNT_HINT)
    resolution = TextAreaField(_l("Resolution"), validators=[Length(max=MAX_TEXT)])
    # Who caused it (optional; read only by those who read accountability).
    caused_by_id = _select(_l("Caused by (staff member, optional)"))
    caused_by_text = StringField(
        _l("Caused by (outside party, optional)"), validators=[Length(max=200)],
        description=_l("A supplier, a carrier, a contractor… in words. Only managers and "
                       "the accountability department read who caused a complaint."))

    def prepare(self, complaint):
        self.caused_by_id.choices = staff_choices()

    def inputs(self):
        data = {name: _text(self[name].data)
                for name in ("root_cause", "responsibility", "remedy", "resolution")}
        data["compensation_amount"] = _text(self.compensation_amount.data) or None  # optional
        data["caused_by_id"] = self.caused_by_id.data or None
        data["caused_by_text"] = _text(self.caused_by_text.data) or None
        return data


class CallbackForm(ActionForm):
    fields_needed = True
    method = _select(_l("Method"), labels.CALLBACK_METHOD)
    reached = _select(_l("Customer reached?"), YES_NO)
    satisfaction = _select(_l("Satisfaction"), labels.SATISFACTION)
    solved = _select(_l("Problem solved?"), YES_NO)
    notes = TextAreaField(_l("Notes"), validators=[Length(max=4000)])

    def inputs(self):
        return {"method": self.method.data or None, "reached": yes_no(self.reached.data),
                "satisfaction": self.satisfaction.data or None,
                "solved": yes_no(self.solved.data), "notes": _text(self.notes.data)}


class ExtendRequestForm(ActionForm):
    fields_needed = True
    new_due = DateTimeLocalField(_l("New deadline"), format=DATETIME_FORMAT,
                                 validators=[Optional(), DateWindow()])
    reason = TextAreaField(_l("Reason"), validators=[Length(max=4000)])

    def inputs(self):
        return {"new_due": self.new_due.data, "reason": _text(self.reason.data)}


DECISIONS = {"approve": _l("Approve the new deadline"), "refuse": _l("Refuse")}


class ExtendDecideForm(ActionForm):
    fields_needed = True
    approve = _select(_l("Decision"), DECISIONS)
    note = TextAreaField(_l("Note"), validators=[Length(max=4000)])

    def inputs(self):
        decision = {"approve": True, "refuse": False}.get(self.approve.data)
        return {"approve": decision, "note": _text(self.note.data)}


class ReportUpstreamForm(ActionForm):
    """反馈上级: what was reported back to the centre that sent the complaint down, and how."""

    fields_needed = True
    method = _select(_l("How it was reported"), labels.CALLBACK_METHOD)
    note = TextAreaField(_l("What was reported"), validators=[Length(max=4000)])

    def prepare(self, complaint):
        if complaint.upstream_ref:  # whom to report to, quoting their reference
            self.note.description = _l(
                "To: %(source)s, reference %(ref)s.",
                source=labels.label(labels.UPSTREAM_SOURCE, complaint.upstream_source),
                ref=complaint.upstream_ref)

    def inputs(self):
        return {"method": self.method.data or None, "note": _text(self.note.data)}


class MergeForm(ActionForm):
    """This complaint is a duplicate: the number of the complaint it is merged into."""

    fields_needed = True
    master_number = StringField(
        _l("Number of the complaint to merge into"), validators=[Length(max=40)],
        description=_l("For example TS-20261130-0010. This complaint is then closed as "
                       "merged into it; its own history stays here."))
    note = TextAreaField(_l("Note (optional)"), validators=[Length(max=4000)])

    def inputs(self):
        return {"master_number": _text(self.master_number.data),
                "note": _text(self.note.data)}


# 处理方案 (rules.plan): submit, approve / return, the customer's answer.


class PlanSubmitForm(ActionForm):
    fields_needed = True
    plan = TextAreaField(
        _l("Handling plan"), validators=[Length(max=MAX_TEXT)],
        description=_l("What will be done for the customer, by whom and by when (remedy, "
                       "compensation, steps). The department head approves it before it is "
                       "carried out."))

    def inputs(self):
        return {"plan": _text(self.plan.data)}


class PlanApproveForm(ActionForm):
    fields_needed = True
    note = TextAreaField(_l("Note (optional)"), validators=[Length(max=4000)])

    def inputs(self):
        return {"note": _text(self.note.data)}


PLAN_ANSWERS = {"yes": _l("The customer agreed to the plan"),
                "no": _l("The customer declined the plan")}


class PlanAnswerForm(ActionForm):
    fields_needed = True
    agreed = _select(_l("Customer's answer"), PLAN_ANSWERS)
    note = TextAreaField(
        _l("Note"), validators=[Length(max=4000)],
        description=_l("What the customer said; needed when they declined. If the customer "
                       "signed the plan, add the signed form to the complaint's files."))

    def inputs(self):
        return {"agreed": yes_no(self.agreed.data), "note": _text(self.note.data)}


# 协办 (rules.assist): the lead adds an assisting department's part, or withdraws one.


class AssistAddForm(ActionForm):
    fields_needed = True
    department_id = _select(_l("Assisting department"))
    task = TextAreaField(_l("Task of the assisting department"),
                         validators=[Length(max=2000)],
                         description=_l("What that department is asked to do (check, "
                                        "deliver, answer) and report back."))
    due = DateTimeLocalField(_l("Deadline of the part"), format=DATETIME_FORMAT,
                             validators=[Optional(), DateWindow()])

    def prepare(self, complaint):
        targets = forward_targets(exclude_id=complaint.department_id)
        self.department_id.choices = department_choices(targets=targets)
        if complaint.resolve_due is not None:
            self.due.description = _l(
                "Leave it empty for the complaint's own deadline (%(due)s); not later "
                "than that.", due=f"{complaint.resolve_due:%Y-%m-%d %H:%M}")

    def inputs(self):
        return {"department_id": self.department_id.data or None,
                "task": _text(self.task.data), "due": self.due.data}


class AssistWithdrawForm(ActionForm):
    fields_needed = True
    part = _select(_l("Assisting part"))
    reason = TextAreaField(_l("Reason"), validators=[Length(max=4000)])

    def prepare(self, complaint):
        from services.assist import open_part_choices  # (the parts of this complaint)

        self.part.choices = [_blank()] + [Choice(str(pk), text)
                                          for pk, text in open_part_choices(complaint.id)]

    def inputs(self):
        return {"part": self.part.data or None, "reason": _text(self.reason.data)}


ACTION_FORMS: dict[str, type[ActionForm]] = {
    Action.ACCEPT: ActionForm,
    Action.REJECT: ReasonForm,
    Action.REPLY: ReplyForm,
    Action.FORWARD: ForwardForm,
    Action.RETURN: ReasonForm,
    Action.ASSIGN: AssignForm,
    Action.RESOLVE: ResolveForm,  # the department's result, or answered on the spot
    Action.REVIEW_APPROVE: ActionForm,
    Action.REVIEW_SEND_BACK: ReasonForm,
    Action.CALLBACK: CallbackForm,
    Action.CLOSE: ActionForm,
    Action.FORCE_CLOSE: ReasonForm,
    Action.REOPEN: ReasonForm,
    Action.ESCALATE: ReasonForm,
    Action.EXTEND_REQUEST: ExtendRequestForm,
    Action.EXTEND_DECIDE: ExtendDecideForm,
    Action.URGE: NoteForm,
    Action.NOTE: NoteForm,
    Action.INSTRUCT: NoteForm,
    Action.MERGE: MergeForm,
    Action.ASSIST_ADD: AssistAddForm,
    Action.ASSIST_WITHDRAW: AssistWithdrawForm,
    Action.REPORT_UPSTREAM: ReportUpstreamForm,
    Action.PLAN_SUBMIT: PlanSubmitForm,
    Action.PLAN_APPROVE: PlanApproveForm,
    Action.PLAN_RETURN: ReasonForm,
    Action.PLAN_ANSWER: PlanAnswerForm,
}


# --- bulk actions on the list -----------------------------------------------------------


# The bulk forms are the action forms for a selection: no version (each complaint is
# checked as it is now) and nothing that depends on one complaint.


class BulkForwardForm(ForwardForm):
    version = None
    assignee_id = None  # the department head of each assigns

    def prepare(self, complaint=None):
        self.department_id.choices = department_choices()

    def inputs(self):
        return {"department_id": self.department_id.data or None}


class BulkEscalateForm(ReasonForm):
    version = None


class BulkCloseForm(ActionForm):
    """Closing ends the handling (rules.is_final): confirmed on the server, not in JS only."""

    version = None
    confirm = BooleanField(
        _l("I confirm: close the selected complaints. This ends their handling."),
        validators=[InputRequired(message=_l("Tick “I confirm” to go on."))])


BULK_FORMS = {Action.FORWARD: BulkForwardForm, Action.ESCALATE: BulkEscalateForm,
              Action.CLOSE: BulkCloseForm}
BULK_ACTIONS = (Action.FORWARD, Action.ESCALATE, Action.CLOSE)
