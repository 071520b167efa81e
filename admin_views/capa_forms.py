"""The forms of the corrective-action screen (admin_views.capa): create / edit and the
steps. They collect input and CSRF only; the rules check every value (selects do not
second-guess their choices)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import DateField, HiddenField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional

from models import Category, Department, Staff, db
from rules import capa as rule
from rules.bounds import parse_id
from services.labels import CAPA_KIND

from . import labels as L
from .base import DeskForm

YES_NO = {"yes": True, "no": False}


def _choice_list(rows, blank=True):
    first = [SelectChoice("", _l("— choose —"))] if blank else []
    return first + [SelectChoice(str(pk), name) for pk, name in rows]


def department_choices():
    return _choice_list(db.session.execute(
        select(Department.id, Department.name).where(Department.active.is_(True))
        .order_by(Department.code)).all())


def owner_choices():
    """Active staff, by department (the rules check the owner works in the owner's)."""
    rows = db.session.execute(
        select(Staff.id, Staff.full_name, Department.name)
        .join(Department, Department.id == Staff.department_id)
        .where(Staff.active.is_(True), Department.active.is_(True))
        .order_by(Department.code, Staff.full_name)).all()
    return [SelectChoice("", _l("— the department head —"))] + [
        SelectChoice(str(pk), f"{department} · {name}") for pk, name, department in rows]


def category_choices():
    return _choice_list(db.session.execute(
        select(Category.id, Category.name).where(Category.active.is_(True))
        .order_by(Category.sort_order, Category.name)).all())


# --- forms ----------------------------------------------------------------------------------


class CapaForm(DeskForm):
    """Create / edit. The selects do not second-guess their choices: the rules check them."""

    kind = SelectField(_l("Kind"), validate_choice=False,
                       choices=L.choices(CAPA_KIND, blank=_l("— choose —")))
    problem = TextAreaField(_l("Problem"), validators=[Length(max=rule.MAX_TEXT)])
    cause = TextAreaField(_l("Cause"), validators=[Length(max=rule.MAX_TEXT)])
    action = TextAreaField(_l("Action to take"), validators=[Length(max=rule.MAX_TEXT)])
    owner_department_id = SelectField(_l("Owner department"), validate_choice=False)
    owner_id = SelectField(_l("Owner"), validate_choice=False,
                           description=_l("A member of the owner department; none: its head."))
    category_id = SelectField(_l("Category"), validate_choice=False)
    due_date = DateField(_l("Due date"), validators=[Optional()])
    complaint_numbers = TextAreaField(
        _l("Linked complaints"), validators=[Length(max=2000)],
        description=_l("Complaint numbers, separated by spaces or commas. A link is kept for "
                       "good: on editing, numbers can be added, not removed."))
    expected_version = HiddenField()

    def values(self) -> dict:
        return {
            "kind": self.kind.data or None, "problem": self.problem.data,
            "cause": self.cause.data, "action": self.action.data,
            "owner_department_id": parse_id(self.owner_department_id.data),
            "owner_id": parse_id(self.owner_id.data),
            "category_id": parse_id(self.category_id.data),
            "due_date": self.due_date.data, "complaint_numbers": self.complaint_numbers.data,
        }

    def fill_choices(self):
        self.owner_department_id.choices = department_choices()
        self.owner_id.choices = owner_choices()
        self.category_id.choices = category_choices()


class DoneForm(DeskForm):
    note = TextAreaField(_l("What was done"), validators=[Length(max=rule.MAX_TEXT)])
    version = HiddenField()

    def inputs(self):
        return {"note": self.note.data}


class CheckForm(DeskForm):
    effective = SelectField(_l("Was it effective?"), validate_choice=False,
                            choices=[SelectChoice("", _l("— choose —")),
                                     SelectChoice("yes", _l("Yes: close it")),
                                     SelectChoice("no", _l("No: open it again with a new "
                                                           "due date"))])
    effect_check = TextAreaField(_l("Effect check"), validators=[Length(max=rule.MAX_TEXT)],
                                 description=_l("What was checked, and what was found."))
    due_date = DateField(_l("New due date"), validators=[Optional()],
                         description=_l("Only when it was not effective."))
    version = HiddenField()

    def inputs(self):
        return {"effective": YES_NO.get(self.effective.data),
                "effect_check": self.effect_check.data, "due_date": self.due_date.data}


class CancelForm(DeskForm):
    reason = TextAreaField(_l("Reason"), validators=[Length(max=rule.MAX_TEXT)])
    version = HiddenField()

    def inputs(self):
        return {"reason": self.reason.data}


STEP_FORMS = {rule.CapaStep.DONE: DoneForm, rule.CapaStep.CHECK: CheckForm,
              rule.CapaStep.CANCEL: CancelForm}
