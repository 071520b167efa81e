"""纠正预防措施 rules: the step table (status × step × role, exhaustive), who sees and edits,
what each step and the form need, numbers typed, overdue, the version check."""

from __future__ import annotations

import itertools
from datetime import date, datetime

import pytest

from rules import Actor, DepartmentFacts, PersonFacts, Role
from rules import capa as rule
from rules.capa import CapaFacts, CapaKind, CapaStep
from rules.constants import CapaStatus
from rules.errors import InputErrors, PermissionDenied, RuleError, TransitionNotAllowed

NOW = datetime(2026, 11, 24, 10, 0)
TODAY = NOW.date()
OWN_DEPT, OTHER_DEPT = 10, 20
OWNER, OTHER_PERSON = 100, 200

# Every kind of actor there is for one corrective action owned by OWN_DEPT / OWNER.
ACTORS = {
    "admin": Actor(1, Role.ADMIN, 1),
    "manager": Actor(2, Role.MANAGER, 1),
    "supervisor": Actor(3, Role.SUPERVISOR, 1),
    "executive": Actor(4, Role.EXECUTIVE, 2),
    "intake": Actor(5, Role.INTAKE, 1),
    "owner_head": Actor(6, Role.DEPT_HEAD, OWN_DEPT),
    "other_head": Actor(7, Role.DEPT_HEAD, OTHER_DEPT),
    "owner": Actor(OWNER, Role.HANDLER, OWN_DEPT),
    "colleague": Actor(8, Role.HANDLER, OWN_DEPT),
    "other_handler": Actor(OTHER_PERSON, Role.HANDLER, OTHER_DEPT),
}

# The table the issue asks for: (step, from status) → who may take it.
MAY = {
    CapaStep.DONE: ({CapaStatus.OPEN}, {"admin", "manager", "owner_head", "owner"}),
    CapaStep.CHECK: ({CapaStatus.DONE}, {"admin", "manager", "supervisor"}),
    CapaStep.CANCEL: ({CapaStatus.OPEN, CapaStatus.DONE}, {"admin", "manager"}),
}
SEES = {"admin", "manager", "supervisor", "executive", "owner_head", "owner"}
EDITS_OPEN = {"admin", "manager", "supervisor", "owner_head"}


def facts(status=CapaStatus.OPEN):
    return CapaFacts(status=status, owner_department_id=OWN_DEPT, owner_id=OWNER,
                     due_date=date(2026, 12, 1))


@pytest.mark.parametrize(("step", "status", "who"),
                         list(itertools.product(CapaStep.USER, CapaStatus.ALL, ACTORS)))
def test_step_table(step, status, who):
    """Each step from each status by each actor: allowed exactly as the table says; a refusal
    is a permission refusal for the wrong person, a status refusal for the right one."""
    sources, people = MAY[step]
    err = rule.step_refusal(step, ACTORS[who], facts(status))
    if status in sources and who in people:
        assert err is None
        assert step in rule.allowed_steps(ACTORS[who], facts(status))
    else:
        assert isinstance(err, RuleError)
        assert step not in rule.allowed_steps(ACTORS[who], facts(status))
        expected = PermissionDenied if who not in people else TransitionNotAllowed
        assert isinstance(err, expected), (step, status, who, err)
        with pytest.raises(RuleError):
            rule.check_step(step, ACTORS[who], facts(status), _good_inputs(step), NOW, TODAY)


def _good_inputs(step):
    return {"note": "fixed the sealer", "reason": "duplicate", "effective": True,
            "effect_check": "no repeat in 4 weeks"}


@pytest.mark.parametrize(("status", "who"), list(itertools.product(CapaStatus.ALL, ACTORS)))
def test_seeing_and_editing(status, who):
    """Managers, admins, supervisors, senior management see all; the owner department's
    head and the owner theirs; nobody else. Editing: open only, by creators and the head."""
    actor = ACTORS[who]
    assert rule.can_see(actor, facts(status)) == (who in SEES)
    editable = status == CapaStatus.OPEN and who in EDITS_OPEN
    assert (rule.edit_refusal(actor, facts(status)) is None) == editable


def test_a_head_keeps_the_action_in_their_department():
    """The owner head edits, but may not give the action to another department; a manager
    may."""
    rule.check_edit(ACTORS["owner_head"], facts(), OWN_DEPT)
    with pytest.raises(PermissionDenied) as err:
        rule.check_edit(ACTORS["owner_head"], facts(), OTHER_DEPT)
    assert err.value.field == "owner_department_id"
    rule.check_edit(ACTORS["manager"], facts(), OTHER_DEPT)


def test_screen_and_create_roles():
    """A clerk has no screen; managers, supervisors and the administrator open actions."""
    assert not rule.can_open_screen(Role.INTAKE)
    assert {r for r in Role.ALL if rule.can_create(r)} == {Role.MANAGER, Role.SUPERVISOR,
                                                          Role.ADMIN}
    with pytest.raises(PermissionDenied):
        rule.check_create(Role.DEPT_HEAD)


def test_done_needs_a_note_and_records_it():
    """Done asks what was done; the owner's note and time are recorded."""
    manager = ACTORS["manager"]
    with pytest.raises(RuleError) as err:
        rule.check_step(CapaStep.DONE, manager, facts(), {"note": "  "}, NOW, TODAY)
    assert err.value.field == "note"
    changes = rule.check_step(CapaStep.DONE, ACTORS["owner"], facts(), {"note": " done "},
                              NOW, TODAY)
    assert changes == {"status": CapaStatus.DONE, "done_at": NOW, "done_note": "done"}


def test_effective_check_closes_it():
    """Found effective: closed for good, with who checked."""
    changes = rule.check_step(CapaStep.CHECK, ACTORS["supervisor"], facts(CapaStatus.DONE),
                              {"effective": True, "effect_check": "no repeats"}, NOW, TODAY)
    assert changes["status"] == CapaStatus.EFFECTIVE and changes["effective"] is True
    assert changes["effect_checked_by_id"] == ACTORS["supervisor"].id
    assert CapaStatus.EFFECTIVE in CapaStatus.FINAL


def test_not_effective_reopens_with_a_new_due_date():
    """Not effective: open again, with the new due date and no overdue mark."""
    inputs = {"effective": False, "effect_check": "two repeats",
              "due_date": date(2026, 12, 20)}
    changes = rule.check_step(CapaStep.CHECK, ACTORS["manager"], facts(CapaStatus.DONE),
                              inputs, NOW, TODAY)
    assert changes["status"] == CapaStatus.OPEN
    assert changes["due_date"] == date(2026, 12, 20) and changes["overdue_since"] is None


def test_check_refuses_every_missing_input_at_once():
    """The check names every missing input; not effective also needs the new due date."""
    with pytest.raises(InputErrors) as err:
        rule.check_step(CapaStep.CHECK, ACTORS["manager"], facts(CapaStatus.DONE),
                        {"effective": None, "effect_check": ""}, NOW, TODAY)
    assert {e.field for e in err.value.errors} == {"effective", "effect_check"}
    with pytest.raises(InputErrors) as err:
        rule.check_step(CapaStep.CHECK, ACTORS["manager"], facts(CapaStatus.DONE),
                        {"effective": False, "effect_check": ""}, NOW, TODAY)
    assert {e.field for e in err.value.errors} == {"effect_check", "due_date"}


def test_not_effective_with_a_past_due_date_is_refused():
    """A new due date in the past is refused at its field."""
    with pytest.raises(RuleError) as err:
        rule.check_step(CapaStep.CHECK, ACTORS["manager"], facts(CapaStatus.DONE),
                        {"effective": False, "effect_check": "x",
                         "due_date": date(2026, 11, 1)}, NOW, TODAY)
    assert err.value.field == "due_date"
    assert "today or later" in str(err.value)


def test_cancel_needs_a_reason():
    """Cancelling asks why."""
    with pytest.raises(RuleError) as err:
        rule.check_step(CapaStep.CANCEL, ACTORS["manager"], facts(), {"reason": ""}, NOW,
                        TODAY)
    assert err.value.field == "reason"


def test_unknown_step_is_refused():
    """A step name that is not in the table is refused (never a KeyError)."""
    assert rule.step_refusal("delete", ACTORS["admin"], facts()) is not None


GOOD = {"kind": CapaKind.CORRECTIVE, "problem": "leaking seals", "cause": "worn mould",
        "action": "replace the mould", "owner_department_id": OWN_DEPT, "owner_id": OWNER,
        "category_id": None, "due_date": date(2026, 12, 15)}
DEPT = DepartmentFacts(id=OWN_DEPT)
OWNER_FACTS = PersonFacts(id=OWNER, department_id=OWN_DEPT, role=Role.HANDLER)


def test_values_accepted_and_cleaned():
    """A complete form is accepted, its texts trimmed."""
    clean = rule.check_values({**GOOD, "problem": "  leaking seals "}, TODAY, department=DEPT,
                              owner=OWNER_FACTS, category_known=True)
    assert clean["problem"] == "leaking seals" and clean["due_date"] == date(2026, 12, 15)


def test_values_refused_each_at_its_field():
    """Missing texts, no department, an owner of another department, a past due date and
    unknown complaint numbers: all refused at once, each at its field."""
    bad = {**GOOD, "kind": "other", "problem": "", "cause": " ", "action": "",
           "owner_id": OTHER_PERSON, "due_date": date(2026, 11, 1)}
    with pytest.raises(InputErrors) as err:
        rule.check_values(bad, TODAY, department=DEPT,
                          owner=PersonFacts(id=OTHER_PERSON, department_id=OTHER_DEPT),
                          category_known=False, unknown_numbers=["TS-1"])
    fields = {e.field for e in err.value.errors}
    assert fields == {"kind", "problem", "cause", "action", "owner_id", "due_date",
                      "complaint_numbers"}
    with pytest.raises(InputErrors) as err:
        rule.check_values({**GOOD, "owner_department_id": None, "category_id": 5}, TODAY,
                          department=None, owner=OWNER_FACTS, category_known=False)
    assert {e.field for e in err.value.errors} == {"owner_department_id", "owner_id",
                                                  "category_id"}


def test_inactive_department_or_owner_refused():
    """An inactive department or owner is refused."""
    with pytest.raises(InputErrors):
        rule.check_values(GOOD, TODAY, department=DepartmentFacts(id=OWN_DEPT, active=False),
                          owner=PersonFacts(id=OWNER, active=False, department_id=OWN_DEPT),
                          category_known=True)


def test_an_edit_keeping_a_past_due_date_is_accepted():
    """An edit that leaves a past due date as it was is saved (the sweep marks it)."""
    past = {**GOOD, "due_date": date(2026, 11, 1)}
    clean = rule.check_values(past, TODAY, department=DEPT, owner=OWNER_FACTS,
                              category_known=True, due_changed=False)
    assert clean["due_date"] == date(2026, 11, 1)


def test_numbers_typed():
    """Numbers typed with commas, Chinese commas, spaces or lines, upper-cased, no repeats."""
    assert rule.parse_numbers("ts-20261120-0001, TS-20261120-0002，TS-20261120-0001\n"
                              "TS-20261120-0003、") == (
        "TS-20261120-0001", "TS-20261120-0002", "TS-20261120-0003")
    assert rule.parse_numbers(None) == ()
    with pytest.raises(RuleError):
        rule.parse_numbers(" ".join(f"N{i}" for i in range(rule.MAX_LINKS + 1)))


@pytest.mark.parametrize(("status", "due", "overdue"), [
    (CapaStatus.OPEN, date(2026, 11, 23), True),
    (CapaStatus.OPEN, TODAY, False),
    (CapaStatus.DONE, date(2026, 11, 1), False),
    (CapaStatus.CANCELLED, date(2026, 11, 1), False),
    (CapaStatus.EFFECTIVE, date(2026, 11, 1), False),
])
def test_overdue_is_open_past_the_due_date(status, due, overdue):
    """Only an open action past its due date (company date) is overdue."""
    assert rule.is_overdue(status, due, TODAY) is overdue


@pytest.mark.parametrize(("expected", "ok"), [("3", True), (3, True), (" 3 ", True),
                                              ("2", False), (None, False), ("x", False)])
def test_version_check(expected, ok):
    """The form's version must be the row's; missing or garbled is stale too."""
    if ok:
        rule.check_version(expected, 3)
    else:
        with pytest.raises(rule.StaleCapa) as err:
            rule.check_version(expected, 3)
        assert "corrective action was changed by someone else" in str(err.value)
