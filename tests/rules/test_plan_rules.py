"""处理方案 (rules.plan): the four plan actions over every status, role and plan state, the
approvals' paths and clocks, and resolving refused without an agreed plan when the policy
asks for one.

The expected table is written out by hand from the issue (R25/R26) and docs/spec, not
derived from the declarations.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules import (
    Facts,
    MissingInput,
    PermissionDenied,
    Policy,
    TransitionNotAllowed,
    check,
    may,
)
from rules.constants import Clock, PlanState
from rules.deadlines import DUE_FIELDS, current_due
from rules.facts import PersonFacts, Target
from rules.notify import Recipient, recipients
from rules.plan import plan_needed
from tests.rules.cast import ACTORS, DEPT, HANDLER_ID, HEAD_ID, NOW, ROLES, STATUSES

PLAN_ACTIONS = ("plan_submit", "plan_approve", "plan_return", "plan_answer")
STATES = ("none", *PlanState.ALL)

# In progress, one line per (action, plan state), one column per role; in every other
# status every plan action is refused. The plan was submitted by the handler (the head
# decides it); the complaint is of normal severity (no senior management step).
MATRIX = """
action          state           intake manager admin dept_head handler supervisor executive
plan_submit     none               .      .      Y       Y        Y        .         .
plan_submit     submitted          .      .      .       .        .        .         .
plan_submit     head_approved      .      .      .       .        .        .         .
plan_submit     approved           .      .      .       .        .        .         .
plan_submit     agreed             .      .      .       .        .        .         .
plan_submit     returned           .      .      Y       Y        Y        .         .
plan_submit     declined           .      .      Y       Y        Y        .         .

plan_approve    none               .      .      .       .        .        .         .
plan_approve    submitted          .      Y      Y       Y        .        .         .
plan_approve    head_approved      .      .      .       .        .        .         Y
plan_approve    approved           .      .      .       .        .        .         .
plan_approve    agreed             .      .      .       .        .        .         .
plan_approve    returned           .      .      .       .        .        .         .
plan_approve    declined           .      .      .       .        .        .         .

plan_return     none               .      .      .       .        .        .         .
plan_return     submitted          .      Y      Y       Y        .        .         .
plan_return     head_approved      .      .      .       .        .        .         Y
plan_return     approved           .      .      .       .        .        .         .
plan_return     agreed             .      .      .       .        .        .         .
plan_return     returned           .      .      .       .        .        .         .
plan_return     declined           .      .      .       .        .        .         .

plan_answer     none               .      .      .       .        .        .         .
plan_answer     submitted          .      .      .       .        .        .         .
plan_answer     head_approved      .      .      .       .        .        .         .
plan_answer     approved           Y      Y      Y       .        .        .         .
plan_answer     agreed             .      .      .       .        .        .         .
plan_answer     returned           .      .      .       .        .        .         .
plan_answer     declined           .      .      .       .        .        .         .
"""
# The roles that take each action in progress at all (the others: PermissionDenied).
TAKERS = {"plan_submit": {"admin", "dept_head", "handler"},
          "plan_approve": {"manager", "admin", "dept_head", "executive"},
          "plan_return": {"manager", "admin", "dept_head", "executive"},
          "plan_answer": {"intake", "manager", "admin"}}


def _parse(text):
    lines = [ln.split() for ln in text.strip().splitlines() if ln.strip()]
    assert tuple(lines[0][2:]) == ROLES
    cells = {}
    for action, state, *marks in lines[1:]:
        assert action in PLAN_ACTIONS and state in STATES and len(marks) == len(ROLES)
        for role, mark in zip(ROLES, marks, strict=True):
            cells[(action, state, role)] = mark == "Y"
    return cells


CELLS = _parse(MATRIX)

RESOLVE_DUE = datetime(2026, 3, 16, 23, 59, 59)
INPUTS = {"plan_submit": {"plan": "Exchange the unit and refund the delivery fee."},
          "plan_approve": {}, "plan_return": {"reason": "Say who delivers it."},
          "plan_answer": {"agreed": True}}
RESULT = {"root_cause": "Faulty batch.", "responsibility": "company", "remedy": "exchange",
          "resolution": "Unit exchanged."}


def facts(status="in_progress", state=None, **extra) -> Facts:
    plan_state = None if state in (None, "none") else state
    dues = {}
    if plan_state in (PlanState.SUBMITTED, PlanState.HEAD_APPROVED):
        dues["plan_due"] = NOW + timedelta(days=1)
    if plan_state == PlanState.APPROVED:
        dues["plan_answer_due"] = NOW + timedelta(days=1)
    due_at, due_kind = current_due(status, {"resolve_due": RESOLVE_DUE, **dues})
    values = dict(status=status, department_id=DEPT, assignee_id=HANDLER_ID,
                  category="service", received_at=NOW - timedelta(days=2),
                  resolve_due=RESOLVE_DUE, due_at=due_at, due_kind=due_kind,
                  plan_state=plan_state,
                  plan_submitted_by_id=HANDLER_ID if plan_state else None, **dues)
    values.update(extra)
    return Facts(**values)


def decide(action, f, actor, inputs=None, policy=None, now=NOW):
    return check(action, f, actor, INPUTS[action] if inputs is None else inputs, now,
                 policy=policy)


def apply(f: Facts, decision) -> Facts:
    names = {x.name for x in dataclasses.fields(Facts)}
    return dataclasses.replace(f, **{k: v for k, v in decision.changes.items() if k in names})


# --- the table --------------------------------------------------------------------------


def test_matrix_is_complete():
    assert set(CELLS) == {(a, s, r) for a in PLAN_ACTIONS for s in STATES for r in ROLES}


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("action", PLAN_ACTIONS)
def test_cell(action, status, state, refusal_sentence):
    """may() and check() agree with the table for every role; refusals say why."""
    for role in ROLES:
        f = facts(status, state)
        actor = ACTORS[role]
        want = status == "in_progress" and CELLS[(action, state, role)]
        assert may(action, f, actor) is want, (role, action, status, state)
        if want:
            decision = decide(action, f, actor)
            assert decision.to_status == status  # a plan step never moves the status
            continue
        expected = TransitionNotAllowed
        if status == "in_progress" and role not in TAKERS[action]:
            expected = PermissionDenied
        with pytest.raises(expected) as info:
            decide(action, f, actor)
        refusal_sentence(info.value)


# --- who decides ------------------------------------------------------------------------


def test_a_head_does_not_decide_their_own_plan_a_manager_does(refusal_sentence):
    f = facts(state=PlanState.SUBMITTED, plan_submitted_by_id=HEAD_ID)
    for action in ("plan_approve", "plan_return"):
        assert not may(action, f, ACTORS["dept_head"])
        with pytest.raises(TransitionNotAllowed) as info:
            decide(action, f, ACTORS["dept_head"])
        assert "submitted yourself" in refusal_sentence(info.value)
        assert may(action, f, ACTORS["manager"])


def test_critical_plan_goes_to_senior_management_after_the_head():
    f = facts(state=PlanState.SUBMITTED, severity="critical")
    assert not may("plan_approve", f, ACTORS["executive"])
    first = decide("plan_approve", f, ACTORS["dept_head"], now=NOW)
    assert first.changes["plan_state"] == PlanState.HEAD_APPROVED
    assert first.changes["plan_due"] > NOW  # its clock starts again, for senior management
    assert first.notify == ("executives",)
    f = apply(f, first)
    for role in ("dept_head", "manager", "admin"):
        assert not may("plan_approve", f, ACTORS[role]), role
    later = NOW + timedelta(hours=3)
    second = decide("plan_approve", f, ACTORS["executive"], now=later)
    assert second.changes["plan_state"] == PlanState.APPROVED
    assert second.changes["plan_due"] is None
    assert second.changes["plan_answer_due"] > later
    assert second.notify == ("customer_service", "plan_submitter")


# --- what each step changes -------------------------------------------------------------


def test_submit_starts_the_plan_clock_and_tells_the_approver():
    policy = Policy(plan_days=1)
    d = decide("plan_submit", facts(), ACTORS["handler"], policy=policy)
    assert d.changes["plan_state"] == PlanState.SUBMITTED
    assert d.changes["plan_submitted_by_id"] == HANDLER_ID
    # One working day: Friday 23:59:59, before the resolve deadline, so it is waited on.
    assert d.changes["plan_due"] == datetime(2026, 3, 6, 23, 59, 59)
    assert (d.changes["due_at"], d.changes["due_kind"]) == (d.changes["plan_due"], Clock.PLAN)
    assert d.note == INPUTS["plan_submit"]["plan"]
    assert d.notify == ("department_head",)
    # The head's own plan goes to the managers.
    assert decide("plan_submit", facts(), ACTORS["dept_head"]).notify == ("managers",)


def test_approve_waits_for_the_customer_and_return_stops_the_clock():
    f = facts(state=PlanState.SUBMITTED)
    d = decide("plan_approve", f, ACTORS["dept_head"])
    assert (d.changes["plan_state"], d.changes["plan_due"]) == (PlanState.APPROVED, None)
    assert d.changes["due_kind"] == Clock.PLAN_ANSWER
    r = decide("plan_return", f, ACTORS["dept_head"])
    assert (r.changes["plan_state"], r.changes["plan_due"]) == (PlanState.RETURNED, None)
    assert r.note == INPUTS["plan_return"]["reason"]
    assert r.notify == ("assignee", "plan_submitter")
    # Back on the resolve clock.
    assert r.changes["due_kind"] == Clock.RESOLVE


def test_return_needs_a_reason():
    with pytest.raises(MissingInput) as info:
        decide("plan_return", facts(state=PlanState.SUBMITTED), ACTORS["dept_head"],
               inputs={"reason": " "})
    assert info.value.field == "reason"


def test_customer_answer_agreed_or_declined_with_why():
    f = facts(state=PlanState.APPROVED)
    agreed = decide("plan_answer", f, ACTORS["intake"], inputs={"agreed": True})
    assert agreed.changes["plan_state"] == PlanState.AGREED
    assert agreed.changes["plan_answer_due"] is None
    assert agreed.note == "agreed"
    with pytest.raises(MissingInput) as info:
        decide("plan_answer", f, ACTORS["intake"], inputs={"agreed": False, "note": ""})
    assert info.value.field == "note"
    declined = decide("plan_answer", f, ACTORS["intake"],
                      inputs={"agreed": False, "note": "Wants a refund."})
    assert declined.changes["plan_state"] == PlanState.DECLINED
    assert declined.note == "declined: Wants a refund."
    assert declined.notify == ("assignee", "department_head")
    # Declined: back to planning.
    assert may("plan_submit", apply(f, declined), ACTORS["handler"])
    with pytest.raises(MissingInput):  # neither agreed nor declined
        decide("plan_answer", f, ACTORS["intake"], inputs={})


def test_plan_submitter_recipient_is_who_wrote_it():
    f = facts(state=PlanState.SUBMITTED, plan_submitted_by_id=77)
    d = decide("plan_return", f, ACTORS["dept_head"])
    after = apply(f, d)
    assert recipients(d.notify, f, after, ACTORS["dept_head"]) == (
        Recipient(person_id=HANDLER_ID), Recipient(person_id=77))


# --- resolving needs an agreed plan when the policy asks for one ------------------------


@pytest.mark.parametrize("state", STATES)
def test_resolve_refused_without_an_agreed_plan_when_required(state, refusal_sentence):
    f = facts(state=state)
    policy = Policy(plan_required=True)
    if state == PlanState.AGREED:
        assert decide_resolve(f, policy).to_status == "resolved"
        return
    with pytest.raises(TransitionNotAllowed) as info:
        decide_resolve(f, policy)
    text = refusal_sentence(info.value)
    assert text.startswith("This complaint needs a handling plan")
    # What is missing, in words, by where the plan stands.
    assert {"none": "no plan has been submitted", "submitted": "department's approval",
            "head_approved": "senior management's approval",
            "approved": "customer's answer", "returned": "was returned",
            "declined": "customer declined"}[state] in text


def decide_resolve(f, policy, **inputs):
    return check("resolve", f, ACTORS["handler"], {**RESULT, **inputs}, NOW, policy=policy)


def test_resolve_without_a_plan_when_the_policy_does_not_ask():
    assert decide_resolve(facts(), Policy()).to_status == "resolved"


def test_compensation_above_the_threshold_needs_a_plan(refusal_sentence):
    policy = Policy(plan_over_amount=Decimal("1000"))
    comp = {"remedy": "compensation"}
    assert decide_resolve(facts(), policy, **comp, compensation_amount="1000").to_status == (
        "resolved")
    with pytest.raises(TransitionNotAllowed) as info:
        decide_resolve(facts(), policy, **comp, compensation_amount="1000.01")
    assert info.value.field == "compensation_amount"
    assert "above 1,000.00 yuan" in refusal_sentence(info.value)
    agreed = facts(state=PlanState.AGREED)
    assert decide_resolve(agreed, policy, **comp, compensation_amount="5000").to_status == (
        "resolved")


def test_on_the_spot_answer_refused_when_a_plan_is_required(refusal_sentence):
    f = facts(status="registered", department_id=None, assignee_id=None)
    with pytest.raises(TransitionNotAllowed) as info:
        check("resolve", f, ACTORS["intake"], RESULT, NOW, policy=Policy(plan_required=True))
    assert "forward it to the department" in refusal_sentence(info.value)


@pytest.mark.parametrize("policy, amount, needed", [
    (Policy(), None, False), (Policy(), Decimal("9e9"), False),
    (Policy(plan_required=True), None, True),
    (Policy(plan_over_amount=Decimal("0")), Decimal("0"), False),
    (Policy(plan_over_amount=Decimal("0")), Decimal("0.01"), True),
    (Policy(plan_over_amount=Decimal("500")), None, False),
])
def test_plan_needed(policy, amount, needed):
    assert plan_needed(policy, amount) is needed


# --- any sequence keeps the plan's clocks consistent ------------------------------------

STEPS = st.lists(st.tuples(st.sampled_from(PLAN_ACTIONS), st.sampled_from(ROLES),
                           st.booleans()), max_size=25)


@settings(max_examples=150, deadline=None)
@given(steps=STEPS, critical=st.booleans())
def test_any_sequence_keeps_state_and_clocks_consistent(steps, critical):
    """Whatever is tried by whom: the plan state is a known one, its clock runs exactly
    while someone must act on it, and the complaint stays in progress."""
    f = facts(severity="critical" if critical else "normal")
    now = NOW
    for action, role, agreed in steps:
        actor = ACTORS[role]
        if not may(action, f, actor):
            continue
        now += timedelta(hours=1)
        inputs = {**INPUTS[action], "agreed": agreed, "note": "why"}
        d = check(action, f, actor, inputs, now, target=Target(
            assignee_id=None, person=PersonFacts(HANDLER_ID)))
        f = apply(f, d)
        assert f.status == "in_progress"
        assert f.plan_state in PlanState.ALL
        assert (f.plan_due is not None) == (f.plan_state in (PlanState.SUBMITTED,
                                                             PlanState.HEAD_APPROVED))
        assert (f.plan_answer_due is not None) == (f.plan_state == PlanState.APPROVED)
        if f.plan_state == PlanState.HEAD_APPROVED:
            assert critical
        waited = {DUE_FIELDS[c]: getattr(f, DUE_FIELDS[c])
                  for c in (Clock.RESOLVE, Clock.PLAN, Clock.PLAN_ANSWER)}
        assert f.due_at == min(v for v in waited.values() if v is not None)


@pytest.mark.parametrize("state", STATES)
def test_returning_the_complaint_drops_a_plan_not_yet_agreed(state):
    """Given back to customer service, the department's waiting plan goes with it (the
    next department submits its own); an agreed plan stays."""
    f = facts(state=state)
    d = check("return", f, ACTORS["dept_head"], {"reason": "Not ours."}, NOW)
    after = apply(f, d)
    if f.plan_state in PlanState.WAITING:
        assert (after.plan_state, after.plan_due, after.plan_answer_due) == (
            PlanState.RETURNED, None, None)
    else:
        assert after.plan_state == f.plan_state
    assert d.changes["due_kind"] == Clock.FORWARD
