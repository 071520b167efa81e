"""Random sequences of actions through the real rules: no stage without a clock, no dead end.

Each step draws an actor and an action, asks ``rules.check`` with valid inputs (or a
corrupted variant), and applies the real Decision's changes to the facts, exactly as the
services do (``Decision.changes`` is what they write). After every step:

- a complaint in an open status waits on a deadline (``due_at``) of one of its clocks;
- from every reachable status some role has an allowed action (no dead end);
- the level stays within 0..3 and a refusal changed nothing.

The same properties over the real services and database: tests/services/test_sequences.py.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules import (
    ACTIONS,
    MAX_ESCALATION,
    Actor,
    DepartmentFacts,
    Facts,
    PersonFacts,
    RuleError,
    Satisfaction,
    Status,
    Target,
    allowed_actions,
    check,
    initial_escalation_level,
)
from rules.deadlines import STATUS_CLOCKS, Policy
from rules.facts import MasterFacts

# Departments 10 and 20 are responsible, staffed and active; 30 is inactive; 99 customer
# service; 40 active but nobody in it.
DEPTS = {
    10: DepartmentFacts(10), 20: DepartmentFacts(20), 30: DepartmentFacts(30, active=False),
    99: DepartmentFacts(99, is_customer_service=True), 40: DepartmentFacts(40, staffed=False),
}
CAST = (
    Actor(1, "intake", 99), Actor(2, "manager", 99), Actor(3, "admin", None),
    Actor(4, "supervisor", None), Actor(5, "executive", None),
    Actor(11, "dept_head", 10), Actor(12, "handler", 10), Actor(13, "handler", 10),
    Actor(21, "dept_head", 20), Actor(22, "handler", 20),
)
PEOPLE = {a.id: PersonFacts(a.id, True, a.department_id, a.role) for a in CAST}
STAFF_OF = {d: [a.id for a in CAST if a.department_id == d and a.role in ("handler", "dept_head")]
            for d in (10, 20)}
START = datetime(2026, 3, 2, 9, 0)
TEXT = "客户来电 again."


@st.composite
def inputs_for(draw, action: str, f: Facts, now: datetime):
    """(inputs, target) for the action on these facts: usually valid, sometimes corrupted."""
    inputs: dict = {}
    dept = person = None
    if action in ("reject", "return", "review_send_back", "force_close", "reopen", "escalate"):
        inputs = {"reason": TEXT}
    elif action in ("urge", "note", "instruct"):
        inputs = {"note": TEXT}
    elif action == "reply":
        inputs = {"method": "phone", "note": TEXT}
    elif action == "forward":
        dept = draw(st.sampled_from([d for d in (10, 20) if d != f.department_id]))
        if draw(st.booleans()):
            person = draw(st.sampled_from(STAFF_OF[dept]))
    elif action == "assign":
        person = draw(st.sampled_from(STAFF_OF.get(f.department_id) or [12]))
    elif action == "resolve":
        remedy = draw(st.sampled_from(["exchange", "explanation", "compensation"]))
        inputs = {"root_cause": TEXT, "responsibility": "company", "remedy": remedy,
                  "resolution": TEXT}
        if remedy == "compensation":
            inputs["compensation_amount"] = draw(st.sampled_from(["0.50", "100", "12.3"]))
    elif action == "callback":
        reached = draw(st.booleans())
        inputs = {"method": "phone", "reached": reached}
        if reached:
            inputs["satisfaction"] = draw(st.sampled_from(Satisfaction.ALL))
            inputs["solved"] = draw(st.booleans())
    elif action == "extend_request":
        inputs = {"reason": TEXT, "new_due": max(now, f.resolve_due or now) + timedelta(days=2)}
    elif action == "extend_decide":
        inputs = {"approve": draw(st.booleans())}
    elif action == "merge":  # into an open master (sometimes a closed or missing one)
        inputs = {"master_number": "TS-20260301-0500"}
        master = draw(st.sampled_from([*Status.ACTIVE, Status.CLOSED, None]))
        return inputs, Target(master_number=inputs["master_number"], master=master and
                              MasterFacts(500, inputs["master_number"], master))
    if draw(st.integers(0, 6)) == 0:  # corrupt one thing
        if inputs:
            inputs[draw(st.sampled_from(sorted(inputs)))] = draw(st.sampled_from(["", None, "?"]))
        elif action == "forward":
            dept = draw(st.sampled_from([30, 40, 99, 77]))
        elif action == "assign":
            person = 22 if f.department_id == 10 else 12
    if dept is not None:
        inputs["department_id"] = dept
    if person is not None:
        inputs["assignee_id"] = person
    target = Target(dept, DEPTS.get(dept), person, PEOPLE.get(person))
    return inputs, target


def apply(f: Facts, changes: dict) -> Facts:
    """The services write Decision.changes as they are; the Facts fields are what rules see."""
    names = {fld.name for fld in dataclasses.fields(Facts)}
    return dataclasses.replace(f, **{k: v for k, v in changes.items() if k in names})


def assert_invariants(f: Facts):
    assert f.status in Status.ALL
    assert 0 <= f.escalation_level <= MAX_ESCALATION
    if f.status in Status.OPEN:
        # No stage without a clock: the deadline waited on is one of this status's clocks.
        assert f.due_at is not None, f
        assert f.due_kind in STATUS_CLOCKS[f.status], f
    else:
        assert f.due_at is None
    # No dead end: someone may move it on (closed: a manager may reopen).
    assert any(allowed_actions(f, actor) for actor in CAST if actor.role != "supervisor"), f


def registered(severity: str, category: str | None) -> Facts:
    return Facts(status=Status.REGISTERED, severity=severity, category=category,
                 escalation_level=initial_escalation_level(severity), received_at=START,
                 accept_due=START + timedelta(hours=24), due_at=START + timedelta(hours=24),
                 due_kind="accept", callbacks_required=1 + (category == "product_quality"))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_sequences_keep_every_stage_on_a_clock(data, make_calendar):
    cal = make_calendar()
    f = registered(data.draw(st.sampled_from(["normal", "critical"])),
                   data.draw(st.sampled_from(["service", "product_quality", None])))
    now = START
    policy = Policy(callbacks_required=f.callbacks_required)
    for _ in range(data.draw(st.integers(1, 30))):
        now += timedelta(hours=data.draw(st.integers(0, 80)))
        actor = data.draw(st.sampled_from(CAST))
        options = allowed_actions(f, actor)
        action = data.draw(st.sampled_from(options or list(ACTIONS)))
        inputs, target = data.draw(inputs_for(action, f, now))
        try:
            decision = check(action, f, actor, inputs, now, target=target, policy=policy,
                             calendar=cal)
        except RuleError:
            assert_invariants(f)  # a refusal changes nothing: still a valid state
            continue
        assert action in options
        f = apply(f, decision.changes)
        assert decision.to_status == f.status
        assert_invariants(f)


def test_every_non_terminal_status_has_an_allowed_action_for_some_role():
    """Statically, too: each open status offers some role an action (with its guard's facts)."""
    for status in Status.OPEN:
        f = Facts(status=status, category="service", department_id=10, assignee_id=12,
                  due_at=START, due_kind=STATUS_CLOCKS[status][0], callbacks_reached=0)
        assert any(allowed_actions(f, a) for a in CAST if a.role != "supervisor"), status
