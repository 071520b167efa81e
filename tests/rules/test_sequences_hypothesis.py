"""Random action sequences from registered, applied to a small model of the complaint.

The model applies every allowed Decision the way the services do (status, level,
callbacks, department/assignee, extension) and checks the workflow invariants after
each step.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from functools import lru_cache

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rules import (
    MAX_ESCALATION,
    Actor,
    Facts,
    InvalidInput,
    MissingInput,
    PermissionDenied,
    RuleError,
    Satisfaction,
    Status,
    TransitionNotAllowed,
    allowed_actions,
    check,
    may,
)
from rules.workflow import initial_escalation_level

ACTIONS = (
    "accept", "reject", "forward", "return", "assign", "resolve", "review_approve",
    "review_send_back", "callback", "close", "force_close", "reopen", "escalate",
    "extend_request", "extend_decide", "urge",
)
# Actions that leave the main path; drawn less often.
DETOURS = ("reject", "return", "force_close", "reopen", "urge", "extend_request",
           "extend_decide", "review_send_back")
REFUSALS = (TransitionNotAllowed, PermissionDenied, MissingInput, InvalidInput)

# Departments: 10 and 20 are responsible and active, 30 is inactive, 99 is customer service.
ACTIVE_DEPTS = (10, 20)
INACTIVE_DEPT = 30
CS_DEPT = 99
# The cast: every role, two departments, two handlers in department 10.
CAST = (
    Actor(1, "intake", CS_DEPT),
    Actor(2, "manager", CS_DEPT),
    Actor(3, "admin", None),
    Actor(4, "supervisor", None),
    Actor(11, "dept_head", 10),
    Actor(12, "handler", 10),
    Actor(13, "handler", 10),
    Actor(21, "dept_head", 20),
    Actor(22, "handler", 20),
)
STAFF_OF = {d: [a for a in CAST if a.department_id == d and a.role in ("handler", "dept_head")]
            for d in ACTIVE_DEPTS}
START = datetime(2026, 3, 2, 9, 0)

REASON = "客户来电 again."  # any non-blank text will do; kept fixed to save draws
BLANK = st.sampled_from(["", "   ", None])
BAD_AMOUNT = st.sampled_from(["-1", "0.001", "abc", "NaN", "Infinity", "1e30", True])


@st.composite
def inputs_for(draw, action: str, f: Facts, now: datetime):
    """(inputs, valid): valid inputs for the action on these facts, or a corrupted variant."""
    corrupt = draw(st.integers(0, 5)) == 0
    inputs: dict = {}
    if action in ("reject", "return", "review_send_back", "force_close", "reopen", "escalate"):
        inputs = {"reason": REASON}
    elif action == "urge":
        inputs = {"note": REASON}
    elif action == "forward":
        target = draw(st.sampled_from([d for d in ACTIVE_DEPTS if d != f.department_id]))
        inputs = {"department_id": target, "department_active": True,
                  "department_is_customer_service": False}
        if draw(st.booleans()):
            person = draw(st.sampled_from(STAFF_OF[target]))
            inputs.update(assignee_id=person.id, assignee_active=True,
                          assignee_department_id=target, assignee_role=person.role)
    elif action == "assign":
        staff = STAFF_OF.get(f.department_id) or [CAST[5]]
        person = draw(st.sampled_from(staff))
        inputs = {"assignee_id": person.id, "assignee_active": True,
                  "assignee_department_id": f.department_id, "assignee_role": person.role}
    elif action == "resolve":
        remedy = draw(st.sampled_from(["exchange", "explanation", "compensation"]))
        inputs = {"root_cause": REASON, "responsibility": "company", "remedy": remedy,
                  "resolution": REASON}
        if remedy == "compensation":
            inputs["compensation_amount"] = draw(st.sampled_from(["0.50", "100", 35, "12.3"]))
    elif action == "callback":
        reached = draw(st.booleans())
        inputs = {"method": "phone", "reached": reached}
        if reached:
            inputs["satisfaction"] = draw(st.sampled_from(Satisfaction.ALL))
            inputs["solved"] = inputs["satisfaction"] in Satisfaction.GOOD
    elif action == "extend_request":
        floor = max(now, f.resolve_due or now)
        inputs = {"reason": REASON, "new_due": floor + timedelta(days=2)}
    elif action == "extend_decide":
        inputs = {"approve": draw(st.booleans())}

    if not corrupt:
        return inputs, True
    # Corrupt one thing: a blank required text, a missing/mistyped field, or a bad value.
    kind = draw(st.sampled_from(["blank", "drop", "bad_value", "bad_value"]))
    if kind == "blank" and inputs:
        key = draw(st.sampled_from(sorted(inputs)))
        inputs[key] = draw(BLANK)
    elif kind == "drop" and inputs:
        del inputs[draw(st.sampled_from(sorted(inputs)))]
    elif action == "forward":
        inputs.update(draw(st.sampled_from([
            {"department_id": f.department_id or 10, "department_active": True},
            {"department_id": INACTIVE_DEPT, "department_active": False},
            {"department_id": CS_DEPT, "department_is_customer_service": True},
        ])))
    elif action == "resolve":
        key = draw(st.sampled_from(["responsibility", "remedy", "compensation_amount"]))
        inputs[key] = draw(BAD_AMOUNT) if key == "compensation_amount" else "unknown"
    elif action == "callback":
        inputs["method"] = "fax"
    elif action == "extend_request":
        inputs["new_due"] = (f.resolve_due or now) - timedelta(hours=1)
    elif action == "assign":
        inputs["assignee_department_id"] = 999
    # Some corruptions happen to leave the inputs valid (e.g. dropping an optional field),
    # so a corrupted draw is never claimed to be valid.
    return inputs, False


def apply(f: Facts, d, actor: Actor, now: datetime) -> Facts:
    """What the services write for an allowed decision (the workflow fields only)."""
    new = replace(f, status=d.to_status, escalation_level=d.escalation_level)
    i = d.inputs
    if d.action == "forward":
        new = replace(new, department_id=i["department_id"], assignee_id=i.get("assignee_id"),
                      resolve_due=now + timedelta(days=9), extension_requested_by_id=None)
    elif d.action == "assign":
        new = replace(new, assignee_id=i["assignee_id"])
    elif d.action == "return":
        new = replace(new, department_id=None, assignee_id=None, resolve_due=None,
                      extension_requested_by_id=None)
    elif d.action in ("resolve", "force_close"):
        new = replace(new, extension_requested_by_id=None)
    elif d.action == "callback" and i["reached"]:
        new = replace(new, callbacks_reached=f.callbacks_reached + 1,
                      last_satisfaction=i["satisfaction"])
    elif d.action == "extend_request":
        new = replace(new, extension_requested_by_id=actor.id)
    elif d.action == "extend_decide":
        new = replace(new, extension_requested_by_id=None,
                      resolve_due=f.resolve_due + timedelta(days=3) if i["approve"] and f.resolve_due
                      else f.resolve_due)
    return new


@lru_cache(maxsize=4096)
def _allowed_pairs(f: Facts) -> list:
    """(actor, action) pairs allowed on these facts; only used to steer the draws."""
    return [(a, act) for a in CAST for act in allowed_actions(f, a)]


def assert_invariants(f: Facts):
    assert f.status in Status.ALL
    assert 0 <= f.escalation_level <= MAX_ESCALATION


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_sequences_keep_workflow_invariants(data, refusal_sentence):
    """Random (action, actor, inputs) sequences from registered keep status, level and close invariants; refusals are RuleErrors agreeing with may()."""
    severity = data.draw(st.sampled_from(["normal", "major", "critical"]), label="severity")
    f = Facts(
        status=Status.REGISTERED,
        kind=data.draw(st.sampled_from(["complaint", "consultation", "suggestion"]), label="kind"),
        severity=severity,
        escalation_level=initial_escalation_level(severity),
        callbacks_required=data.draw(st.integers(1, 2), label="callbacks_required"),
    )
    assert f.escalation_level == (2 if severity == "critical" else 0)
    now = START
    steps = data.draw(st.integers(1, 20), label="steps")
    for _ in range(steps):
        assert_invariants(f)
        now += timedelta(hours=7)
        # Mostly walk the allowed paths, mostly forward, so that deep states are reached;
        # sometimes try anything at all.
        mode = data.draw(st.integers(0, 7))
        pairs = _allowed_pairs(f) if mode else []
        forward = [p for p in pairs if p[1] not in DETOURS]
        if mode >= 2 and forward:
            actor, action = data.draw(st.sampled_from(forward))
        elif mode == 1 and pairs:
            actor, action = data.draw(st.sampled_from(pairs))
        else:
            actor = data.draw(st.sampled_from(CAST))
            action = data.draw(st.sampled_from(ACTIONS))
        offered = allowed_actions(f, actor)
        inputs, valid = data.draw(inputs_for(action, f, now))

        allowed = may(action, f, actor)
        assert (action in offered) == allowed
        try:
            d = check(action, f, actor, inputs, now=now)
        except RuleError as err:
            # Refused: only the known subclasses, a readable reason, and never for an
            # allowed action with valid inputs.
            assert isinstance(err, REFUSALS), type(err)
            refusal_sentence(err)
            assert not (allowed and valid), f"{action} by {actor.role} refused: {err}"
            if not allowed:
                assert isinstance(err, (TransitionNotAllowed, PermissionDenied))
            continue  # a refused action changes nothing

        assert allowed, f"check() let {action} by {actor.role} through but may() says no"
        assert d.action == action and d.from_status == f.status
        assert d.to_status in Status.ALL
        assert 0 <= d.escalation_level <= MAX_ESCALATION
        assert d.escalation_level >= f.escalation_level
        if d.to_status == Status.CLOSED:
            assert action in ("close", "force_close")
        if action == "close":
            event("closed through close")
            assert f.callbacks_reached >= f.callbacks_required
            assert f.last_satisfaction in Satisfaction.GOOD
        if action == "force_close":
            assert actor.role in ("manager", "admin") and inputs["reason"].strip()
        if action == "escalate":
            assert d.escalation_level == f.escalation_level + 1
        f = apply(f, d, actor, now)
    assert_invariants(f)
    event(f"ended {f.status}")


def test_happy_path_reaches_closed():
    """The design's main path registered → … → closed is allowed step by step with two callbacks."""
    intake, head, handler = CAST[0], CAST[4], CAST[5]
    f = Facts(status="registered", kind="complaint", category="product_quality",
              callbacks_required=2)
    now = START
    steps = [
        ("accept", intake, {}),
        ("forward", intake, {"department_id": 10, "department_active": True}),
        ("assign", head, {"assignee_id": handler.id, "assignee_active": True,
                          "assignee_department_id": 10, "assignee_role": "handler"}),
        ("resolve", handler, {"root_cause": "Seal", "responsibility": "company",
                              "remedy": "exchange", "resolution": "Exchanged."}),
        ("review_approve", intake, {}),
        ("callback", intake, {"method": "phone", "reached": True, "satisfaction": "satisfied",
                              "solved": True}),
    ]
    seen = [f.status]
    for action, actor, inputs in steps:
        f = apply(f, check(action, f, actor, inputs, now=now), actor, now)
        seen.append(f.status)
    assert seen == ["registered", "accepted", "forwarded", "in_progress", "resolved",
                    "callback", "callback"]
    assert not may("close", f, intake)  # one callback of the two required
    f = apply(f, check("callback", f, intake, steps[-1][2], now=now), intake, now)
    assert check("close", f, intake).to_status == "closed"
