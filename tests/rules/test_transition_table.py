"""The transition table, cell by cell, against a hand-written matrix taken from the design.

The expected matrix below is written out by hand from DESIGN.md ("The workflow") and the
intended table; it is deliberately NOT derived from ``rules.workflow.TRANSITIONS``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from rules import (
    Actor,
    DepartmentFacts,
    Facts,
    PermissionDenied,
    PersonFacts,
    RuleError,
    Target,
    TransitionNotAllowed,
    allowed_actions,
    check,
    may,
)
from rules.facts import MasterFacts
from tests.rules.cast import ACTORS, DEPT, HANDLER_ID, HEAD_ID, NOW, ROLES, STATUSES

ACTIONS = (
    "accept", "reject", "reply", "forward", "return", "assign", "resolve", "review_approve",
    "review_send_back", "callback", "close", "force_close", "reopen", "escalate",
    "extend_request", "extend_decide", "urge", "note", "instruct", "merge",
    "report_upstream",
)
# Declared actions whose guards read more than status and role, each with an exhaustive
# table of its own (status x action x role x their state): left out of this matrix.
OWN_TABLES = {
    "plan_submit", "plan_approve", "plan_return", "plan_answer",  # test_plan_rules.py
    "assist_add", "assist_withdraw",  # test_assist_rules.py
}

# Y = allowed, . = refused.  One block per action, one line per status, one column per role.
# Customer service may resolve any complaint on the spot while it is registered or accepted.
MATRIX = """
action              status        intake manager admin dept_head handler supervisor executive
accept              registered       Y      Y      Y       .         .         .         .
accept              accepted         .      .      .       .         .         .         .
accept              rejected         .      .      .       .         .         .         .
accept              forwarded        .      .      .       .         .         .         .
accept              in_progress      .      .      .       .         .         .         .
accept              resolved         .      .      .       .         .         .         .
accept              callback         .      .      .       .         .         .         .
accept              closed           .      .      .       .         .         .         .

reject              registered       Y      Y      Y       .         .         .         .
reject              accepted         Y      Y      Y       .         .         .         .
reject              rejected         .      .      .       .         .         .         .
reject              forwarded        .      .      .       .         .         .         .
reject              in_progress      .      .      .       .         .         .         .
reject              resolved         .      .      .       .         .         .         .
reject              callback         .      .      .       .         .         .         .
reject              closed           .      .      .       .         .         .         .

reply               registered       .      .      .       .         .         .         .
reply               accepted         .      .      .       .         .         .         .
reply               rejected         Y      Y      Y       .         .         .         .
reply               forwarded        .      .      .       .         .         .         .
reply               in_progress      .      .      .       .         .         .         .
reply               resolved         .      .      .       .         .         .         .
reply               callback         .      .      .       .         .         .         .
reply               closed           .      .      .       .         .         .         .

forward             registered       .      .      .       .         .         .         .
forward             accepted         Y      Y      Y       .         .         .         .
forward             rejected         .      .      .       .         .         .         .
forward             forwarded        .      .      .       .         .         .         .
forward             in_progress      .      .      .       .         .         .         .
forward             resolved         .      .      .       .         .         .         .
forward             callback         .      .      .       .         .         .         .
forward             closed           .      .      .       .         .         .         .

return              registered       .      .      .       .         .         .         .
return              accepted         .      .      .       .         .         .         .
return              rejected         .      .      .       .         .         .         .
return              forwarded        .      .      Y       Y         .         .         .
return              in_progress      .      .      Y       Y         .         .         .
return              resolved         .      .      .       .         .         .         .
return              callback         .      .      .       .         .         .         .
return              closed           .      .      .       .         .         .         .

assign              registered       .      .      .       .         .         .         .
assign              accepted         .      .      .       .         .         .         .
assign              rejected         .      .      .       .         .         .         .
assign              forwarded        .      Y      Y       Y         .         .         .
assign              in_progress      .      Y      Y       Y         .         .         .
assign              resolved         .      .      .       .         .         .         .
assign              callback         .      .      .       .         .         .         .
assign              closed           .      .      .       .         .         .         .

resolve             registered       Y      Y      Y       .         .         .         .
resolve             accepted         Y      Y      Y       .         .         .         .
resolve             rejected         .      .      .       .         .         .         .
resolve             forwarded        .      .      .       .         .         .         .
resolve             in_progress      .      .      Y       Y         Y         .         .
resolve             resolved         .      .      .       .         .         .         .
resolve             callback         .      .      .       .         .         .         .
resolve             closed           .      .      .       .         .         .         .

review_approve      registered       .      .      .       .         .         .         .
review_approve      accepted         .      .      .       .         .         .         .
review_approve      rejected         .      .      .       .         .         .         .
review_approve      forwarded        .      .      .       .         .         .         .
review_approve      in_progress      .      .      .       .         .         .         .
review_approve      resolved         Y      Y      Y       .         .         .         .
review_approve      callback         .      .      .       .         .         .         .
review_approve      closed           .      .      .       .         .         .         .

review_send_back    registered       .      .      .       .         .         .         .
review_send_back    accepted         .      .      .       .         .         .         .
review_send_back    rejected         .      .      .       .         .         .         .
review_send_back    forwarded        .      .      .       .         .         .         .
review_send_back    in_progress      .      .      .       .         .         .         .
review_send_back    resolved         Y      Y      Y       .         .         .         .
review_send_back    callback         .      .      .       .         .         .         .
review_send_back    closed           .      .      .       .         .         .         .

callback            registered       .      .      .       .         .         .         .
callback            accepted         .      .      .       .         .         .         .
callback            rejected         .      .      .       .         .         .         .
callback            forwarded        .      .      .       .         .         .         .
callback            in_progress      .      .      .       .         .         .         .
callback            resolved         .      .      .       .         .         .         .
callback            callback         Y      Y      Y       .         .         .         .
callback            closed           .      .      .       .         .         .         .

close               registered       .      .      .       .         .         .         .
close               accepted         .      .      .       .         .         .         .
close               rejected         .      .      .       .         .         .         .
close               forwarded        .      .      .       .         .         .         .
close               in_progress      .      .      .       .         .         .         .
close               resolved         .      .      .       .         .         .         .
close               callback         Y      Y      Y       .         .         .         .
close               closed           .      .      .       .         .         .         .

force_close         registered       .      Y      Y       .         .         .         .
force_close         accepted         .      Y      Y       .         .         .         .
force_close         rejected         .      Y      Y       .         .         .         .
force_close         forwarded        .      Y      Y       .         .         .         .
force_close         in_progress      .      Y      Y       .         .         .         .
force_close         resolved         .      Y      Y       .         .         .         .
force_close         callback         .      Y      Y       .         .         .         .
force_close         closed           .      .      .       .         .         .         .

reopen              registered       .      .      .       .         .         .         .
reopen              accepted         .      .      .       .         .         .         .
reopen              rejected         .      Y      Y       .         .         .         Y
reopen              forwarded        .      .      .       .         .         .         .
reopen              in_progress      .      .      .       .         .         .         .
reopen              resolved         .      .      .       .         .         .         .
reopen              callback         .      Y      Y       .         .         .         Y
reopen              closed           .      Y      Y       .         .         .         Y

escalate            registered       Y      Y      Y       Y         .         .         .
escalate            accepted         Y      Y      Y       Y         .         .         .
escalate            rejected         Y      Y      Y       Y         .         .         .
escalate            forwarded        Y      Y      Y       Y         .         .         .
escalate            in_progress      Y      Y      Y       Y         .         .         .
escalate            resolved         Y      Y      Y       Y         .         .         .
escalate            callback         Y      Y      Y       Y         .         .         .
escalate            closed           .      .      .       .         .         .         .

extend_request      registered       .      .      .       .         .         .         .
extend_request      accepted         .      .      .       .         .         .         .
extend_request      rejected         .      .      .       .         .         .         .
extend_request      forwarded        .      .      Y       Y         Y         .         .
extend_request      in_progress      .      .      Y       Y         Y         .         .
extend_request      resolved         .      .      .       .         .         .         .
extend_request      callback         .      .      .       .         .         .         .
extend_request      closed           .      .      .       .         .         .         .

extend_decide       registered       .      .      .       .         .         .         .
extend_decide       accepted         .      .      .       .         .         .         .
extend_decide       rejected         .      .      .       .         .         .         .
extend_decide       forwarded        .      Y      Y       Y         .         .         Y
extend_decide       in_progress      .      Y      Y       Y         .         .         Y
extend_decide       resolved         .      .      .       .         .         .         .
extend_decide       callback         .      .      .       .         .         .         .
extend_decide       closed           .      .      .       .         .         .         .

urge                registered       .      Y      Y       .         .         Y         Y
urge                accepted         .      Y      Y       .         .         Y         Y
urge                rejected         .      Y      Y       .         .         Y         Y
urge                forwarded        .      Y      Y       .         .         Y         Y
urge                in_progress      .      Y      Y       .         .         Y         Y
urge                resolved         .      Y      Y       .         .         Y         Y
urge                callback         .      Y      Y       .         .         Y         Y
urge                closed           .      .      .       .         .         .         .

note                registered       .      .      .       .         .         .         .
note                accepted         .      .      .       .         .         .         .
note                rejected         .      .      .       .         .         .         .
note                forwarded        .      .      Y       Y         Y         .         .
note                in_progress      .      .      Y       Y         Y         .         .
note                resolved         .      .      .       .         .         .         .
note                callback         .      .      .       .         .         .         .
note                closed           .      .      .       .         .         .         .

instruct            registered       .      .      .       .         .         .         Y
instruct            accepted         .      .      .       .         .         .         Y
instruct            rejected         .      .      .       .         .         .         Y
instruct            forwarded        .      .      .       .         .         .         Y
instruct            in_progress      .      .      .       .         .         .         Y
instruct            resolved         .      .      .       .         .         .         Y
instruct            callback         .      .      .       .         .         .         Y
instruct            closed           .      .      .       .         .         .         Y

merge               registered       Y      Y      Y       .         .         .         .
merge               accepted         Y      Y      Y       .         .         .         .
merge               rejected         Y      Y      Y       .         .         .         .
merge               forwarded        Y      Y      Y       .         .         .         .
merge               in_progress      Y      Y      Y       .         .         .         .
merge               resolved         Y      Y      Y       .         .         .         .
merge               callback         Y      Y      Y       .         .         .         .
merge               closed           .      .      .       .         .         .         .

report_upstream     registered       Y      Y      Y       .         .         .         .
report_upstream     accepted         Y      Y      Y       .         .         .         .
report_upstream     rejected         Y      Y      Y       .         .         .         .
report_upstream     forwarded        Y      Y      Y       .         .         .         .
report_upstream     in_progress      Y      Y      Y       .         .         .         .
report_upstream     resolved         Y      Y      Y       .         .         .         .
report_upstream     callback         Y      Y      Y       .         .         .         .
report_upstream     closed           Y      Y      Y       .         .         .         .

"""


def _parse_matrix(text: str) -> dict[tuple[str, str, str, str], bool]:
    """{(action, kind, status, role): allowed} from the text above."""
    lines = [ln.split() for ln in text.strip().splitlines() if ln.strip()]
    header, rows = lines[0], lines[1:]
    assert tuple(header[2:]) == ROLES
    cells = {}
    for row in rows:
        action, status, marks = row[0], row[1], row[2:]
        assert action in ACTIONS and status in STATUSES and len(marks) == len(ROLES), row
        for role, mark in zip(ROLES, marks, strict=True):
            assert mark in ("Y", "."), row
            cells[(action, status, role)] = mark == "Y"
    return cells


_CELLS = _parse_matrix(MATRIX)


def expected(action: str, status: str, role: str) -> bool:
    return _CELLS[(action, status, role)]


def test_matrix_is_complete():
    """The hand-written matrix has exactly one cell for every (action, status, role)."""
    wanted = {(a, s, r) for a in ACTIONS for s in STATUSES for r in ROLES}
    assert set(_CELLS) == wanted
    assert len(_CELLS) == len(ACTIONS) * 8 * 7


def test_matrix_names_every_declared_action():
    """Every action declared in rules has its rows here, and nothing else is here."""
    from rules import ACTIONS as DECLARED

    assert set(DECLARED) - OWN_TABLES == set(ACTIONS)


# --- a permissive cast ----------------------------------------------------------------------

OTHER_DEPT = 20    # an active, responsible department to forward to
REQUESTER_ID = 99  # someone else, who asked for the pending extension
RESOLVE_DUE = datetime(2026, 3, 10, 23, 59, 59)


def permissive_facts(action: str, status: str, kind: str = "complaint") -> Facts:
    """Facts that satisfy every guard, so that only status and role decide."""
    return Facts(
        status=status,
        kind=kind,
        department_id=DEPT,
        assignee_id=HANDLER_ID,
        category="service",
        escalation_level=0,
        callbacks_required=1,
        callbacks_reached=1,
        last_satisfaction="satisfied",
        extension_requested_by_id=REQUESTER_ID if action == "extend_decide" else None,
        extension_requested_until=RESOLVE_DUE + timedelta(days=3),
        received_at=NOW - timedelta(hours=2),
        resolve_due=RESOLVE_DUE,
        upstream_ref="12345-2026-0001",  # sent down by a hotline (report_upstream)
    )


TARGETS = {
    "forward": Target(OTHER_DEPT, DepartmentFacts(OTHER_DEPT)),
    "assign": Target(assignee_id=HANDLER_ID,
                     person=PersonFacts(HANDLER_ID, department_id=DEPT, role="handler")),
    "merge": Target(master_number="TS-20260301-0001",
                    master=MasterFacts(77, "TS-20260301-0001", "accepted")),
}


def valid_inputs(action: str) -> dict:
    """Complete, valid inputs for each action (against permissive_facts)."""
    return {
        "accept": {},
        "reject": {"reason": "Not our product."},
        "reply": {"method": "phone", "note": "Told the customer why."},
        "forward": {"department_id": OTHER_DEPT},
        "return": {"reason": "Belongs to logistics."},
        "assign": {"assignee_id": HANDLER_ID},
        "resolve": {
            "root_cause": "Faulty batch.",
            "responsibility": "company",
            "remedy": "exchange",
            "resolution": "Unit exchanged.",
        },
        "review_approve": {},
        "review_send_back": {"reason": "Root cause missing."},
        "callback": {"method": "phone", "reached": True, "satisfaction": "satisfied",
                     "solved": True},
        "close": {},
        "force_close": {"reason": "Customer withdrew."},
        "reopen": {"reason": "Customer called again."},
        "escalate": {"reason": "Stalled for a week."},
        "extend_request": {"reason": "Waiting for the lab.",
                           "new_due": RESOLVE_DUE + timedelta(days=3)},
        "extend_decide": {"approve": True},
        "urge": {"note": "Please hurry."},
        "note": {"note": "Visit arranged."},
        "instruct": {"note": "Refund at once."},
        "merge": {"master_number": "TS-20260301-0001"},
        "report_upstream": {"method": "phone", "note": "Told the hotline what was done."},
    }[action]


def decide(action, facts, actor):
    return check(action, facts, actor, valid_inputs(action), now=NOW,
                 target=TARGETS.get(action))


def expected_refusal(action: str, status: str, role: str) -> type[RuleError]:
    """Wrong status -> TransitionNotAllowed; right status but wrong role -> PermissionDenied."""
    if not any(expected(action, status, r) for r in ROLES):
        return TransitionNotAllowed
    return PermissionDenied


CELLS = [pytest.param(a, s, r, id=f"{a}-{s}-{r}")
         for a in ACTIONS for s in STATUSES for r in ROLES]


@pytest.mark.parametrize("action,status,role", CELLS)
def test_cell(action, status, role, refusal_sentence):
    """may() and check() with valid inputs agree with the hand-written matrix for this cell."""
    facts = permissive_facts(action, status)
    actor = ACTORS[role]
    want = expected(action, status, role)

    assert may(action, facts, actor) is want

    if want:
        decision = decide(action, facts, actor)
        assert decision.action == action
        assert decision.from_status == status
    else:
        with pytest.raises(expected_refusal(action, status, role)) as info:
            decide(action, facts, actor)
        refusal_sentence(info.value)


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("role", ROLES)
def test_allowed_actions_match_matrix(status, role):
    """allowed_actions() lists exactly the matrix's allowed actions for a complaint."""
    want = {
        a for a in ACTIONS
        if expected(a, status, role)
        and a != "extend_decide"  # needs a pending request, absent here
    }
    facts = permissive_facts("-", status)
    assert set(allowed_actions(facts, ACTORS[role])) - OWN_TABLES == want


# --- scope ------------------------------------------------------------------------------------

OUT_OF_SCOPE = {
    "head_of_other_department": (Actor(21, "dept_head", OTHER_DEPT), DEPT, HANDLER_ID),
    "head_without_department": (Actor(21, "dept_head", None), None, None),
    "head_on_unforwarded_complaint": (Actor(HEAD_ID, "dept_head", DEPT), None, None),
    "handler_not_the_assignee": (Actor(22, "handler", DEPT), DEPT, HANDLER_ID),
    "handler_on_unassigned_complaint": (Actor(HANDLER_ID, "handler", DEPT), DEPT, None),
}


@pytest.mark.parametrize("who", sorted(OUT_OF_SCOPE))
@pytest.mark.parametrize("action", ACTIONS)
def test_out_of_scope_is_permission_denied(action, who, refusal_sentence):
    """Outside the actor's scope every action is refused with PermissionDenied, in every status."""
    actor, department_id, assignee_id = OUT_OF_SCOPE[who]
    for status in STATUSES:
        base = permissive_facts(action, status)
        facts = replace(base, department_id=department_id, assignee_id=assignee_id)
        assert may(action, facts, actor) is False, status
        with pytest.raises(PermissionDenied) as info:
            decide(action, facts, actor)
        refusal_sentence(info.value)


# A department head or handler who registered a complaint follows it wherever it is
# (can_see), but only the department it is with works on it (can_act).
REGISTRANTS = {
    "head_of_other_department": (Actor(21, "dept_head", OTHER_DEPT), DEPT, HANDLER_ID),
    "head_on_unforwarded_complaint": (Actor(21, "dept_head", OTHER_DEPT), None, None),
    "handler_not_the_assignee": (Actor(22, "handler", DEPT), DEPT, HANDLER_ID),
    "handler_on_unassigned_complaint": (Actor(22, "handler", OTHER_DEPT), DEPT, None),
}


@pytest.mark.parametrize("who", sorted(REGISTRANTS))
@pytest.mark.parametrize("action", ACTIONS)
def test_registrant_sees_but_does_not_act(action, who, refusal_sentence):
    """Having registered a complaint lets a department role see it, never work on it."""
    from rules import can_act, can_see, unavailable_actions

    actor, department_id, assignee_id = REGISTRANTS[who]
    assert can_see(actor, department_id, assignee_id, registered_by_id=actor.id)
    assert not can_act(actor, department_id, assignee_id)
    for status in STATUSES:
        base = permissive_facts(action, status)
        facts = replace(base, department_id=department_id, assignee_id=assignee_id,
                        registered_by_id=actor.id)
        assert may(action, facts, actor) is False, status
        assert allowed_actions(facts, actor) == [], status
        assert unavailable_actions(facts, actor) == [], status
        with pytest.raises(PermissionDenied) as info:
            decide(action, facts, actor)
        refusal_sentence(info.value)
        assert "registered" in str(info.value)


@pytest.mark.parametrize("role", ["admin", "intake", "supervisor", "manager", "executive"])
def test_see_all_roles_act_as_they_see(role):
    """For roles that see everything, acting scope is seeing scope."""
    from rules import can_act

    actor = Actor(500, role, 77)
    assert can_act(actor, None, None)
    assert can_act(actor, OTHER_DEPT, HANDLER_ID)


@pytest.mark.parametrize("role", ["admin", "intake", "supervisor", "manager", "executive"])
def test_see_all_roles_see_any_complaint(role):
    """Admin, intake, supervisor and manager see complaints of any department and assignee."""
    from rules import can_see

    actor = Actor(500, role, 77)
    assert can_see(actor, None, None)
    assert can_see(actor, DEPT, HANDLER_ID)
    assert can_see(actor, OTHER_DEPT, None)


def test_dept_head_sees_only_own_department():
    """A department head sees exactly the complaints of their own department."""
    from rules import can_see

    head = Actor(HEAD_ID, "dept_head", DEPT)
    assert can_see(head, DEPT, None)
    assert can_see(head, DEPT, 555)
    assert not can_see(head, OTHER_DEPT, HEAD_ID)
    assert not can_see(head, None, None)


def test_handler_sees_only_assigned_complaints():
    """A handler sees exactly the complaints assigned to them, whatever the department."""
    from rules import can_see

    handler = Actor(HANDLER_ID, "handler", DEPT)
    assert can_see(handler, DEPT, HANDLER_ID)
    assert can_see(handler, OTHER_DEPT, HANDLER_ID)
    assert not can_see(handler, DEPT, None)
    assert not can_see(handler, DEPT, 13)


def test_unknown_role_sees_nothing():
    """A role the rules do not know is refused as out of scope."""
    actor = Actor(7, "intern", DEPT)
    facts = permissive_facts("accept", "registered")
    assert not may("accept", facts, actor)
    with pytest.raises(PermissionDenied):
        check("accept", facts, actor, now=NOW)


def test_anyone_sees_what_they_registered():
    """Whoever registered a complaint sees it, whatever their role and its department."""
    from rules import can_see

    handler = Actor(HANDLER_ID, "handler", DEPT)
    assert can_see(handler, OTHER_DEPT, None, registered_by_id=HANDLER_ID)
    assert not can_see(handler, OTHER_DEPT, None, registered_by_id=HANDLER_ID + 1)


def test_unknown_action_is_refused_with_rule_error(refusal_sentence):
    """An action name not in the table is refused with a RuleError, never a KeyError."""
    facts = permissive_facts("accept", "registered")
    assert not may("teleport", facts, ACTORS["admin"])
    with pytest.raises(RuleError) as info:
        check("teleport", facts, ACTORS["admin"], now=NOW)
    refusal_sentence(info.value)
