"""rules.assist (协办): the lead's add / withdraw table, the assisting side's report and
handler, the scope an assisting part gives, and the resolve guard."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import product

import pytest

from rules import (
    Action,
    Actor,
    DepartmentFacts,
    Facts,
    InvalidInput,
    MissingInput,
    PermissionDenied,
    PersonFacts,
    RuleError,
    Status,
    Target,
    TransitionNotAllowed,
    allowed_actions,
    can_act,
    can_see,
    check,
    may,
    unavailable_actions,
)
from rules import assist as A
from rules.constants import AssistStatus, Role
from rules.facts import PartFacts

LEAD, HELPER, OTHER, CS = 10, 20, 30, 1
HEAD_LEAD, HANDLER_LEAD, HEAD_HELPER, HANDLER_HELPER, HEAD_OTHER = 11, 12, 21, 22, 31
NOW = datetime(2026, 3, 5, 10, 0)
RESOLVE_DUE = datetime(2026, 3, 10, 23, 59, 59)

ACTORS = {
    "intake": Actor(1, Role.INTAKE, CS),
    "manager": Actor(2, Role.MANAGER, CS),
    "admin": Actor(3, Role.ADMIN, None),
    "supervisor": Actor(4, Role.SUPERVISOR, CS),
    "executive": Actor(5, Role.EXECUTIVE, CS),
    "head_lead": Actor(HEAD_LEAD, Role.DEPT_HEAD, LEAD),
    "handler_lead": Actor(HANDLER_LEAD, Role.HANDLER, LEAD),
    "head_helper": Actor(HEAD_HELPER, Role.DEPT_HEAD, HELPER),
    "handler_helper": Actor(HANDLER_HELPER, Role.HANDLER, HELPER),
    "head_other": Actor(HEAD_OTHER, Role.DEPT_HEAD, OTHER),
}
# Who adds and withdraws parts: the lead department's head and customer service.
LEADS = {"intake", "manager", "admin", "head_lead"}
PART = PartFacts(7, HELPER, HANDLER_HELPER, AssistStatus.OPEN, RESOLVE_DUE, "质量部")
ADD_TARGET = Target(HELPER, DepartmentFacts(HELPER, name="质量部"))
ADD_INPUTS = {"department_id": HELPER, "task": "检测样品"}


def facts(status, assists_open=0, **kw) -> Facts:
    return Facts(status=status, department_id=LEAD, assignee_id=HANDLER_LEAD,
                 category="service", resolve_due=RESOLVE_DUE, assists_open=assists_open,
                 callbacks_reached=1, last_satisfaction="satisfied", **kw)


def add(f, actor, inputs=None, target=ADD_TARGET, now=NOW):
    return check(Action.ASSIST_ADD, f, actor, inputs or ADD_INPUTS, now, target=target)


def withdraw(f, actor, part=PART):
    return check(Action.ASSIST_WITHDRAW, f, actor, {"part": part.id if part else 99,
                                                     "reason": "not needed"}, NOW,
                 target=Target(part_id=part.id if part else 99, part=part,
                               parts=(part,) if part else ()))


# --- the lead's table: status x action x role x open parts (exhaustive) ------------------


@pytest.mark.parametrize("status,who,open_parts",
                         list(product(Status.ALL, sorted(ACTORS), (0, 1, 2))))
def test_add_and_withdraw_table(status, who, open_parts):
    """Add: the lead's head or customer service while the complaint is with a department;
    withdraw: the same, and only while a part is open. Everyone else is refused."""
    actor, f = ACTORS[who], facts(status, open_parts)
    with_department = status in Status.IN_DEPARTMENT and who in LEADS
    assert may(Action.ASSIST_ADD, f, actor) is with_department
    assert may(Action.ASSIST_WITHDRAW, f, actor) is (with_department and open_parts > 0)
    if with_department:
        decision = add(f, actor)
        assert decision.changes["assists_open"] == open_parts + 1
        assert decision.to_status == status
        assert decision.notify == ("assisting_head",)
        assert decision.note == "质量部: 检测样品 → 2026-03-10 23:59"
    else:
        with pytest.raises((PermissionDenied, TransitionNotAllowed)):
            add(f, actor)
    if with_department and open_parts:
        decision = withdraw(f, actor)
        assert decision.changes["assists_open"] == open_parts - 1
        assert decision.note == "质量部: not needed"
    else:
        with pytest.raises((PermissionDenied, TransitionNotAllowed)):
            withdraw(f, actor)


@pytest.mark.parametrize("who", ["head_helper", "handler_helper"])
@pytest.mark.parametrize("status", Status.ALL)
def test_the_assisting_side_sees_but_takes_no_declared_action(who, status):
    """An assisting head or handler sees the complaint (assisting=…) and can act on none of
    it: every declared action is refused, none is offered or explained."""
    actor = ACTORS[who]
    f = facts(status, 1)
    pairs = A.live((PART,))
    assert can_see(actor, LEAD, HANDLER_LEAD, None, assisting=pairs)
    assert not can_see(actor, LEAD, HANDLER_LEAD, None)
    assert not can_act(actor, LEAD, HANDLER_LEAD)
    assert allowed_actions(f, actor) == []
    assert unavailable_actions(f, actor) == []
    from rules import ACTIONS

    for action in ACTIONS:
        assert not may(action, f, actor), action
        with pytest.raises(PermissionDenied):
            check(action, f, actor, {}, NOW)


def test_withdrawn_parts_give_no_sight_and_other_departments_none():
    gone = PartFacts(7, HELPER, HANDLER_HELPER, AssistStatus.WITHDRAWN, RESOLVE_DUE)
    reported = PartFacts(8, HELPER, HANDLER_HELPER, AssistStatus.REPORTED, RESOLVE_DUE)
    for who in ("head_helper", "handler_helper"):
        assert not can_see(ACTORS[who], LEAD, HANDLER_LEAD, assisting=A.live((gone,)))
        assert can_see(ACTORS[who], LEAD, HANDLER_LEAD, assisting=A.live((reported,)))
    assert not can_see(ACTORS["head_other"], LEAD, HANDLER_LEAD, assisting=A.live((PART,)))
    # a handler of the assisting department not named for the part: not theirs
    other_handler = Actor(23, Role.HANDLER, HELPER)
    assert not can_see(other_handler, LEAD, HANDLER_LEAD, assisting=A.live((PART,)))
    # the part's department with no head naming: a head sees it, a handler only if named
    unnamed = PartFacts(9, HELPER, None)
    assert can_see(ACTORS["head_helper"], LEAD, None, assisting=A.live((unnamed,)))
    assert not can_see(ACTORS["handler_helper"], LEAD, None, assisting=A.live((unnamed,)))


# --- add: inputs and target ----------------------------------------------------------------


def _refused(field, err_type, **kw):
    with pytest.raises(err_type) as info:
        add(facts(Status.IN_PROGRESS), ACTORS["head_lead"], **kw)
    assert info.value.field == field
    return info.value


@pytest.mark.parametrize("department,why", [
    (None, "not active"),
    (DepartmentFacts(HELPER, active=False), "not active"),
    (DepartmentFacts(LEAD), "already with that department"),
    (DepartmentFacts(CS, is_customer_service=True), "Customer service"),
    (DepartmentFacts(HELPER, has_head=False), "no active head"),
])
def test_add_refuses_a_department_that_cannot_take_a_part(department, why):
    dept_id = department.id if department else 99
    err = _refused("department_id", InvalidInput, target=Target(dept_id, department),
                   inputs={"department_id": dept_id, "task": "x"})
    assert why in str(err)


def test_add_refuses_a_second_open_part_of_the_same_department_but_not_after_a_report():
    target = Target(HELPER, DepartmentFacts(HELPER), parts=(PART,))
    assert "already has an open part" in str(_refused("department_id", InvalidInput,
                                                      target=target))
    done = PartFacts(7, HELPER, None, AssistStatus.REPORTED)
    add(facts(Status.IN_PROGRESS), ACTORS["head_lead"],
        target=Target(HELPER, DepartmentFacts(HELPER), parts=(done,)))


def test_add_due_defaults_to_the_complaints_deadline_and_is_bounded_by_it():
    assert A.part_due(facts(Status.IN_PROGRESS), {}) == RESOLVE_DUE
    _refused("due", InvalidInput, inputs={**ADD_INPUTS, "due": NOW - timedelta(hours=1)})
    _refused("due", InvalidInput, inputs={**ADD_INPUTS, "due": NOW})
    err = _refused("due", InvalidInput,
                   inputs={**ADD_INPUTS, "due": RESOLVE_DUE + timedelta(minutes=1)})
    assert "2026-03-10 23:59" in str(err)
    ok = add(facts(Status.IN_PROGRESS), ACTORS["head_lead"],
             inputs={**ADD_INPUTS, "due": NOW + timedelta(days=1)})
    assert ok.inputs["due"] == NOW + timedelta(days=1)
    with pytest.raises(MissingInput) as info:
        check(Action.ASSIST_ADD, Facts(status=Status.FORWARDED, department_id=LEAD),
              ACTORS["head_lead"], ADD_INPUTS, NOW, target=ADD_TARGET)
    assert info.value.field == "due"


def test_add_needs_a_task_and_a_department():
    with pytest.raises(RuleError) as info:
        add(facts(Status.IN_PROGRESS), ACTORS["intake"], inputs={"department_id": HELPER})
    assert info.value.field == "task"


def test_withdraw_refuses_a_part_not_of_this_complaint_or_no_longer_open():
    f = facts(Status.IN_PROGRESS, 1)
    with pytest.raises(InvalidInput) as info:
        withdraw(f, ACTORS["intake"], part=None)
    assert info.value.field == "part"
    for status in (AssistStatus.REPORTED, AssistStatus.WITHDRAWN):
        with pytest.raises(InvalidInput):
            withdraw(f, ACTORS["intake"], part=PartFacts(7, HELPER, None, status))


# --- the assisting side: report and handler (exhaustive over who x part state x status) ----

REPORTERS = {"head_helper", "handler_helper"}


@pytest.mark.parametrize("who,part_status,status", list(product(
    sorted(ACTORS), AssistStatus.ALL, Status.ALL)))
def test_report_table(who, part_status, status):
    """Only the assisting head or the part's person, only an open part, only while the
    complaint is being handled; the lead, customer service and others never."""
    part = PartFacts(7, HELPER, HANDLER_HELPER, part_status)
    allowed = (who in REPORTERS and part_status == AssistStatus.OPEN
               and status in Status.ACTIVE)
    assert A.may_report(ACTORS[who], part, status) is allowed
    if allowed:
        assert A.check_report(ACTORS[who], part, status, "  done  ") == "done"
        with pytest.raises(MissingInput):
            A.check_report(ACTORS[who], part, status, " ")
    else:
        with pytest.raises(RuleError):
            A.check_report(ACTORS[who], part, status, "done")


def test_another_departments_part_is_refused():
    other = PartFacts(8, OTHER, None)
    for who in REPORTERS:
        with pytest.raises(PermissionDenied):
            A.check_report(ACTORS[who], other, Status.IN_PROGRESS, "done")
        with pytest.raises(PermissionDenied):
            A.check_assign_part(ACTORS[who], other, Status.IN_PROGRESS,
                                PersonFacts(HANDLER_HELPER, True, OTHER, Role.HANDLER))


@pytest.mark.parametrize("who,part_status,status", list(product(
    sorted(ACTORS), AssistStatus.ALL, Status.ALL)))
def test_assign_part_table(who, part_status, status):
    """Only the assisting department's head names who does an open part."""
    part = PartFacts(7, HELPER, None, part_status)
    person = PersonFacts(HANDLER_HELPER, True, HELPER, Role.HANDLER)
    allowed = (who == "head_helper" and part_status == AssistStatus.OPEN
               and status in Status.ACTIVE)
    assert A.may_assign_part(ACTORS[who], part, status) is allowed
    if allowed:
        assert A.check_assign_part(ACTORS[who], part, status, person) == HANDLER_HELPER
    else:
        with pytest.raises(RuleError):
            A.check_assign_part(ACTORS[who], part, status, person)


@pytest.mark.parametrize("person,error", [
    (None, MissingInput),
    (PersonFacts(40, False, HELPER, Role.HANDLER), InvalidInput),
    (PersonFacts(40, True, LEAD, Role.HANDLER), InvalidInput),
    (PersonFacts(40, True, HELPER, Role.INTAKE), InvalidInput),
])
def test_assign_part_refuses_someone_outside_the_assisting_department(person, error):
    with pytest.raises(error) as info:
        A.check_assign_part(ACTORS["head_helper"], PART, Status.IN_PROGRESS, person)
    assert info.value.field == "assignee_id"


# --- the lead resolves only once every part is in -----------------------------------------

RESULT = {"root_cause": "c", "responsibility": "company", "remedy": "exchange",
          "resolution": "done"}


@pytest.mark.parametrize("open_parts", [0, 1, 3])
@pytest.mark.parametrize("who", ["head_lead", "handler_lead", "admin"])
def test_resolve_waits_for_every_part(who, open_parts):
    f = facts(Status.IN_PROGRESS, open_parts)
    if open_parts == 0:
        assert check(Action.RESOLVE, f, ACTORS[who], RESULT, NOW).to_status == Status.RESOLVED
        return
    assert not may(Action.RESOLVE, f, ACTORS[who])
    with pytest.raises(TransitionNotAllowed) as info:
        check(Action.RESOLVE, f, ACTORS[who], RESULT, NOW)
    assert f"{open_parts} assisting part(s) are still open" in str(info.value)
    blocked = {u.action: u for u in unavailable_actions(f, ACTORS[who])}
    assert blocked[Action.RESOLVE].blocked  # shown as "not yet", with the reason


def test_the_missed_note_reads_back():
    note = A.missed_note("物流部 (北区)", datetime(2026, 3, 5, 17, 0))
    assert A.parse_missed_note(note) == ("物流部 (北区)", "2026-03-05 17:00")
    assert A.parse_missed_note("resolve deadline missed") is None


def test_withdraw_without_an_open_part_is_not_shown_as_blocked():
    """Nothing to withdraw: listed with the other stages' steps, not a greyed-out button."""
    for who in sorted(LEADS):
        found = {u.action: u for u in unavailable_actions(facts(Status.IN_PROGRESS, 0),
                                                           ACTORS[who])}
        assert not found[Action.ASSIST_WITHDRAW].blocked, who
