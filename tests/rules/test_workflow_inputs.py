"""Input validation and refusal messages of rules.workflow.check()."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from rules import (
    Actor,
    Facts,
    InvalidInput,
    MissingInput,
    RuleError,
    StaleVersion,
    TransitionNotAllowed,
    check,
    check_version,
)
from rules.workflow import escalated, initial_escalation_level

DEPT, OTHER_DEPT, HANDLER_ID, HEAD_ID = 10, 20, 12, 11
NOW = datetime(2026, 3, 5, 10, 0)
RESOLVE_DUE = datetime(2026, 3, 10, 23, 59, 59)

INTAKE = Actor(1, "intake", 1)
MANAGER = Actor(2, "manager", 1)
ADMIN = Actor(3, "admin", None)
HEAD = Actor(HEAD_ID, "dept_head", DEPT)
HANDLER = Actor(HANDLER_ID, "handler", DEPT)
SUPERVISOR = Actor(4, "supervisor", None)


def facts(status, **kw) -> Facts:
    base = dict(status=status, department_id=DEPT, assignee_id=HANDLER_ID, resolve_due=RESOLVE_DUE)
    base.update(kw)
    return Facts(**base)


FORWARD_OK = {"department_id": OTHER_DEPT, "department_active": True,
              "department_is_customer_service": False}
ASSIGNEE_OK = {"assignee_id": 30, "assignee_active": True, "assignee_department_id": OTHER_DEPT,
               "assignee_role": "handler"}
RESOLVE_OK = {"root_cause": "Faulty batch.", "responsibility": "company", "remedy": "repair",
              "resolution": "Repaired under warranty."}
CALLBACK_OK = {"method": "phone", "reached": True, "satisfaction": "satisfied", "solved": True}

# (action, facts, actor, complete valid inputs) for every action that needs input.
CASES = {
    "reject": (facts("registered", department_id=None, assignee_id=None), INTAKE, {"reason": "Spam."}),
    "forward": (facts("accepted", department_id=None, assignee_id=None), INTAKE, FORWARD_OK),
    "return": (facts("forwarded"), HEAD, {"reason": "Not ours."}),
    "assign": (facts("forwarded", assignee_id=None), HEAD,
               {"assignee_id": HANDLER_ID, "assignee_active": True,
                "assignee_department_id": DEPT, "assignee_role": "handler"}),
    "resolve": (facts("in_progress"), HANDLER, RESOLVE_OK),
    "resolve_on_the_spot": (facts("registered", kind="consultation", department_id=None,
                                  assignee_id=None), INTAKE, {"resolution": "Answered."}),
    "review_send_back": (facts("resolved"), INTAKE, {"reason": "Incomplete."}),
    "callback": (facts("callback"), INTAKE, CALLBACK_OK),
    "force_close": (facts("in_progress"), MANAGER, {"reason": "Duplicate."}),
    "reopen": (facts("closed"), MANAGER, {"reason": "Called again."}),
    "escalate": (facts("in_progress"), INTAKE, {"reason": "Stalled."}),
    "extend_request": (facts("in_progress"), HANDLER,
                       {"reason": "Lab test.", "new_due": RESOLVE_DUE + timedelta(days=2)}),
    "extend_decide": (facts("in_progress", extension_requested_by_id=HANDLER_ID), HEAD,
                      {"approve": False}),
    "urge": (facts("forwarded"), SUPERVISOR, {"note": "Customer is waiting."}),
}

# Required text fields and the words the message must use for them (written by hand).
TEXT_FIELDS = [
    ("reject", "reason", "reason"),
    ("forward", "department_id", "target department"),
    ("return", "reason", "reason"),
    ("assign", "assignee_id", "handler"),
    ("resolve", "root_cause", "root cause"),
    ("resolve", "responsibility", "responsibility"),
    ("resolve", "remedy", "remedy"),
    ("resolve", "resolution", "resolution"),
    ("resolve_on_the_spot", "resolution", "resolution"),
    ("review_send_back", "reason", "reason"),
    ("callback", "method", "callback method"),
    ("force_close", "reason", "reason"),
    ("reopen", "reason", "reason"),
    ("escalate", "reason", "reason"),
    ("extend_request", "reason", "reason"),
    ("urge", "note", "note"),
]


_DROP = object()  # marks an input to leave out entirely


def run(case: str, **changes):
    f, actor, inputs = CASES[case]
    action = "resolve" if case == "resolve_on_the_spot" else case
    merged = {**inputs, **changes}
    merged = {k: v for k, v in merged.items() if v is not _DROP}
    return check(action, f, actor, merged, now=NOW)


@pytest.mark.parametrize("case", sorted(CASES))
def test_valid_inputs_are_accepted(case):
    """Each action with complete, valid inputs is allowed (the baseline for the refusals below)."""
    f = CASES[case][0]
    d = run(case)
    assert d.action == ("resolve" if case == "resolve_on_the_spot" else case)
    assert d.from_status == f.status


@pytest.mark.parametrize("blank", ["", "   ", "\t\n ", None, _DROP], ids=["empty", "spaces", "whitespace", "none", "absent"])
@pytest.mark.parametrize("case,field,words", TEXT_FIELDS, ids=[f"{c}-{f}" for c, f, _ in TEXT_FIELDS])
def test_blank_required_field_is_missing_input(case, field, words, blank, refusal_sentence):
    """A required text field left empty, blank or absent is refused with MissingInput naming the field."""
    with pytest.raises(MissingInput) as info:
        run(case, **{field: blank})
    text = refusal_sentence(info.value)
    assert words in text
    assert text == f"Please fill in the {words}."


@pytest.mark.parametrize(
    "case,field,bad,words",
    [
        ("callback", "reached", None, "whether the customer was reached"),
        ("callback", "reached", "yes", "whether the customer was reached"),
        ("callback", "solved", None, "whether the problem is solved"),
        ("extend_request", "new_due", None, "new deadline"),
        ("extend_request", "new_due", "2026-04-01", "new deadline"),
        ("extend_decide", "approve", None, "decision"),
        ("extend_decide", "approve", "true", "decision"),
    ],
)
def test_typed_required_field_is_missing_input(case, field, bad, words, refusal_sentence):
    """A yes/no or date field that is absent or of the wrong type is refused with MissingInput naming it."""
    with pytest.raises(MissingInput) as info:
        run(case, **{field: bad})
    assert words in refusal_sentence(info.value)


def test_reason_is_stripped_in_decision():
    """A reason is kept without its surrounding blanks."""
    assert run("reject", reason="  Spam.  ").inputs["reason"] == "Spam."


# --- forward / assign ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes,words",
    [
        ({"department_id": DEPT}, "already with that department"),
        ({"department_active": False}, "not active"),
        ({"department_active": _DROP}, "not active"),
        ({"department_is_customer_service": True}, "not to customer service"),
        ({**ASSIGNEE_OK, "assignee_department_id": DEPT}, "does not work in the responsible department"),
        ({**ASSIGNEE_OK, "assignee_active": False}, "not active"),
        ({**ASSIGNEE_OK, "assignee_role": "supervisor"}, "handler or a department head"),
        ({**ASSIGNEE_OK, "assignee_role": "intake"}, "handler or a department head"),
    ],
    ids=["same-department", "inactive-department", "activity-unknown", "customer-service",
         "assignee-other-department", "assignee-inactive", "assignee-supervisor", "assignee-clerk"],
)
def test_forward_invalid_target_is_invalid_input(changes, words, refusal_sentence):
    """Forwarding to the same, an inactive or the customer-service department, or to a wrong person, is InvalidInput."""
    f = facts("accepted", department_id=DEPT, assignee_id=None)
    with pytest.raises(InvalidInput) as info:
        check("forward", f, INTAKE, {k: v for k, v in {**FORWARD_OK, **changes}.items() if v is not _DROP})
    assert words in refusal_sentence(info.value)


def test_forward_without_person_goes_to_forwarded():
    """Forwarding to a department without naming a person ends in forwarded."""
    assert run("forward").to_status == "forwarded"


@pytest.mark.parametrize("role", ["handler", "dept_head"])
def test_forward_to_person_goes_in_progress(role):
    """Forwarding with an active handler or head of that department ends in in_progress."""
    d = run("forward", **{**ASSIGNEE_OK, "assignee_role": role})
    assert d.to_status == "in_progress"
    assert d.inputs["assignee_id"] == 30


@pytest.mark.parametrize(
    "changes,words",
    [
        ({"assignee_department_id": OTHER_DEPT}, "does not work in the responsible department"),
        ({"assignee_active": False}, "not active"),
        ({"assignee_role": "manager"}, "handler or a department head"),
    ],
    ids=["other-department", "inactive", "manager"],
)
def test_assign_invalid_person_is_invalid_input(changes, words, refusal_sentence):
    """Assigning someone from another department, inactive, or not a handler/head is InvalidInput."""
    with pytest.raises(InvalidInput) as info:
        run("assign", **changes)
    assert words in refusal_sentence(info.value)


def test_assign_goes_in_progress():
    """Assigning a handler of the complaint's department puts it in progress."""
    assert run("assign").to_status == "in_progress"


# --- resolve ---------------------------------------------------------------------------------


@pytest.mark.parametrize("field,value", [("responsibility", "nobody"), ("remedy", "apology"),
                                         ("responsibility", "Company"), ("remedy", 3)])
def test_resolve_value_outside_list_is_invalid_input(field, value, refusal_sentence):
    """A responsibility or remedy outside the allowed list is InvalidInput naming the field."""
    with pytest.raises(InvalidInput) as info:
        run("resolve", **{field: value})
    assert field in refusal_sentence(info.value)


@pytest.mark.parametrize(
    "amount",
    ["-1", "-0.01", -5, "1.005", "0.001", "12.345", "abc", "1,50", "NaN", "sNaN", "Infinity",
     "-Infinity", float("inf"), float("nan"), "1e30", "1e400", True],
)
def test_resolve_bad_compensation_is_invalid_input(amount, refusal_sentence):
    """A negative, over-precise, non-numeric or non-finite compensation amount is InvalidInput."""
    with pytest.raises(InvalidInput) as info:
        run("resolve", remedy="compensation", compensation_amount=amount)
    assert "compensation amount" in refusal_sentence(info.value)


@pytest.mark.parametrize("amount,want", [("200", "200"), ("199.9", "199.90"), ("0.01", "0.01"),
                                         (88, "88"), ("1000.50", "1000.50"), (Decimal("3.10"), "3.1")])
def test_resolve_good_compensation_becomes_decimal(amount, want):
    """A non-negative amount with at most two decimals is kept as a Decimal of the same value."""
    d = run("resolve", remedy="compensation", compensation_amount=amount)
    assert isinstance(d.inputs["compensation_amount"], Decimal)
    assert d.inputs["compensation_amount"] == Decimal(want)


@pytest.mark.parametrize("amount", [None, ""])
def test_resolve_compensation_without_amount_is_missing_input(amount, refusal_sentence):
    """remedy=compensation without an amount is refused with MissingInput about the amount."""
    with pytest.raises(MissingInput) as info:
        run("resolve", remedy="compensation", compensation_amount=amount)
    assert "compensation amount" in refusal_sentence(info.value)


def test_resolve_other_remedy_needs_no_amount():
    """A remedy other than compensation needs no amount."""
    d = run("resolve", remedy="explanation", compensation_amount=None)
    assert d.to_status == "resolved"


def test_resolve_on_the_spot_needs_only_resolution():
    """A consultation answered on the spot needs the resolution text and nothing else."""
    d = run("resolve_on_the_spot")
    assert d.to_status == "resolved"
    assert d.from_status == "registered"


def test_resolve_on_the_spot_refused_for_a_complaint(refusal_sentence):
    """Customer service cannot resolve a complaint (not a consultation) on the spot."""
    f = facts("registered", kind="complaint", department_id=None, assignee_id=None)
    with pytest.raises(TransitionNotAllowed) as info:
        check("resolve", f, INTAKE, RESOLVE_OK)
    assert "consultation" in refusal_sentence(info.value)


# --- extension -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "new_due,now,words",
    [
        (RESOLVE_DUE - timedelta(days=1), NOW, "later than the current one"),
        (RESOLVE_DUE, NOW, "later than the current one"),
        (RESOLVE_DUE + timedelta(days=1), RESOLVE_DUE + timedelta(days=2), "in the future"),
        (RESOLVE_DUE + timedelta(days=1), RESOLVE_DUE + timedelta(days=1), "in the future"),
    ],
    ids=["earlier-than-due", "equal-to-due", "in-the-past", "equal-to-now"],
)
def test_extension_not_later_is_invalid_input(new_due, now, words, refusal_sentence):
    """An extension no later than the current due time, or not in the future, is InvalidInput."""
    f, actor, inputs = CASES["extend_request"]
    with pytest.raises(InvalidInput) as info:
        check("extend_request", f, actor, {**inputs, "new_due": new_due}, now=now)
    assert words in refusal_sentence(info.value)


def test_extension_request_refused_while_one_is_pending(refusal_sentence):
    """A second extension request while one waits for a decision is refused."""
    f = facts("in_progress", extension_requested_by_id=HANDLER_ID)
    with pytest.raises(TransitionNotAllowed) as info:
        check("extend_request", f, HANDLER, CASES["extend_request"][2], now=NOW)
    assert "already waiting" in refusal_sentence(info.value)


def test_extension_decision_needs_a_pending_request(refusal_sentence):
    """Deciding an extension when none is pending is refused."""
    with pytest.raises(TransitionNotAllowed) as info:
        check("extend_decide", facts("in_progress"), MANAGER, {"approve": True})
    assert "no extension request" in refusal_sentence(info.value)


def test_dept_head_cannot_decide_own_extension(refusal_sentence):
    """A department head may not decide their own extension request; a manager may."""
    f = facts("in_progress", extension_requested_by_id=HEAD_ID)
    with pytest.raises(RuleError) as info:
        check("extend_decide", f, HEAD, {"approve": True})
    assert "own extension" in refusal_sentence(info.value)
    assert check("extend_decide", f, MANAGER, {"approve": True}).to_status == "in_progress"


# --- close / escalate ------------------------------------------------------------------------


def test_close_refused_without_enough_callbacks(refusal_sentence):
    """Closing with fewer reached callbacks than required says how many are needed and recorded."""
    f = facts("callback", callbacks_required=2, callbacks_reached=1, last_satisfaction="satisfied")
    with pytest.raises(TransitionNotAllowed) as info:
        check("close", f, INTAKE)
    text = refusal_sentence(info.value)
    assert "needs 2 callback(s)" in text
    assert "1 is recorded" in text


@pytest.mark.parametrize("last", ["average", "unsatisfied", None])
def test_close_refused_unless_last_callback_satisfied(last, refusal_sentence):
    """Closing is refused when the last callback did not find the customer at least satisfied."""
    f = facts("callback", callbacks_required=1, callbacks_reached=1, last_satisfaction=last)
    with pytest.raises(TransitionNotAllowed) as info:
        check("close", f, INTAKE)
    assert "at least satisfied" in refusal_sentence(info.value)


@pytest.mark.parametrize("last", ["satisfied", "very_satisfied"])
def test_close_allowed_with_enough_good_callbacks(last):
    """Closing succeeds once the required callbacks are reached and the last is satisfied or better."""
    f = facts("callback", callbacks_required=2, callbacks_reached=2, last_satisfaction=last)
    assert check("close", f, INTAKE).to_status == "closed"


def test_escalate_at_level_three_is_refused(refusal_sentence):
    """Escalating a complaint already at level 3 (senior management) is refused."""
    with pytest.raises(TransitionNotAllowed) as info:
        check("escalate", facts("in_progress", escalation_level=3), MANAGER, {"reason": "Again."})
    assert "highest level" in refusal_sentence(info.value)


@pytest.mark.parametrize("level", [0, 1, 2])
def test_escalate_raises_level_by_one(level):
    """Escalating below level 3 raises the level by exactly one and keeps the status."""
    d = check("escalate", facts("forwarded", escalation_level=level), HEAD, {"reason": "Stalled."})
    assert (d.escalation_level, d.to_status) == (level + 1, "forwarded")


def test_initial_and_escalated_levels():
    """A critical complaint starts at level 2, others at 0; escalated() never passes 3."""
    assert initial_escalation_level("critical") == 2
    assert initial_escalation_level("major") == 0
    assert initial_escalation_level("normal") == 0
    assert [escalated(n) for n in range(4)] == [1, 2, 3, 3]


# --- destinations ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes,want_status,want_level,reopened",
    [
        ({}, "callback", 0, False),
        ({"satisfaction": "very_satisfied"}, "callback", 0, False),
        ({"satisfaction": "average"}, "callback", 0, False),
        ({"reached": False, "satisfaction": _DROP, "solved": _DROP}, "callback", 0, False),
        ({"satisfaction": "unsatisfied", "solved": False}, "in_progress", 1, True),
    ],
    ids=["satisfied", "very-satisfied", "average", "not-reached", "unsatisfied"],
)
def test_callback_destination(changes, want_status, want_level, reopened):
    """A callback keeps the status, except a reached, unsatisfied one: back in progress, +1 level, reopened."""
    d = run("callback", **changes)
    assert (d.to_status, d.escalation_level, d.reopened) == (want_status, want_level, reopened)


def test_unsatisfied_callback_level_capped_at_three():
    """An unsatisfied callback at level 3 reopens the complaint but keeps the level at 3."""
    d = check("callback", facts("callback", escalation_level=3), INTAKE,
              {**CALLBACK_OK, "satisfaction": "unsatisfied"})
    assert (d.to_status, d.escalation_level, d.reopened) == ("in_progress", 3, True)


def test_unsatisfied_callback_without_department_goes_to_accepted():
    """An unsatisfied callback on a complaint with no department (answered on the spot) goes back to accepted."""
    d = check("callback", facts("callback", department_id=None, assignee_id=None), INTAKE,
              {**CALLBACK_OK, "satisfaction": "unsatisfied"})
    assert d.to_status == "accepted"


def test_callback_reached_needs_known_satisfaction(refusal_sentence):
    """A reached callback with a satisfaction outside the list is refused."""
    with pytest.raises(RuleError) as info:
        run("callback", satisfaction="delighted")
    assert "satisfaction" in refusal_sentence(info.value)


def test_callback_unknown_method_is_invalid_input(refusal_sentence):
    """A callback method outside the list is InvalidInput."""
    with pytest.raises(InvalidInput) as info:
        run("callback", method="pigeon")
    assert "callback method" in refusal_sentence(info.value)


@pytest.mark.parametrize("department_id,want", [(DEPT, "in_progress"), (None, "accepted")])
def test_review_send_back_destination(department_id, want):
    """Sending a result back returns it to in_progress, or to accepted when there is no department."""
    f = facts("resolved", department_id=department_id,
              assignee_id=HANDLER_ID if department_id else None)
    assert check("review_send_back", f, INTAKE, {"reason": "Redo."}).to_status == want


def test_review_approve_goes_to_callback():
    """Approving a result moves the complaint to awaiting callback."""
    assert check("review_approve", facts("resolved"), INTAKE).to_status == "callback"


@pytest.mark.parametrize(
    "status,department_id,assignee_id,want",
    [
        ("closed", None, None, "accepted"),
        ("closed", DEPT, None, "forwarded"),
        ("closed", DEPT, HANDLER_ID, "in_progress"),
        ("rejected", None, None, "accepted"),
        ("rejected", DEPT, None, "forwarded"),
        ("rejected", DEPT, HANDLER_ID, "in_progress"),
    ],
)
def test_reopen_destination(status, department_id, assignee_id, want):
    """Reopening goes to accepted without department, forwarded without assignee, else in_progress."""
    f = facts(status, department_id=department_id, assignee_id=assignee_id)
    d = check("reopen", f, MANAGER, {"reason": "Customer called again."})
    assert (d.to_status, d.reopened) == (want, True)


@pytest.mark.parametrize("status", ["forwarded", "in_progress"])
def test_return_goes_to_accepted(status):
    """A department returning a complaint (退单) sends it back to accepted."""
    assert check("return", facts(status), HEAD, {"reason": "Not ours."}).to_status == "accepted"


@pytest.mark.parametrize("status", ["registered", "accepted", "forwarded", "in_progress",
                                    "resolved", "callback"])
def test_force_close_from_any_open_status(status):
    """A manager force-closes from any open status, with a reason."""
    assert check("force_close", facts(status), MANAGER, {"reason": "Duplicate."}).to_status == "closed"


@pytest.mark.parametrize("status", ["forwarded", "in_progress"])
def test_urge_keeps_status(status):
    """Urging records a note and does not change the status or the level."""
    d = check("urge", facts(status, escalation_level=1), SUPERVISOR, {"note": "Hurry."})
    assert (d.to_status, d.escalation_level) == (status, 1)


# --- optimistic locking ----------------------------------------------------------------------


def test_check_version_mismatch_is_stale(refusal_sentence):
    """A version other than the current one raises StaleVersion with a plain explanation."""
    with pytest.raises(StaleVersion) as info:
        check_version(3, 4)
    assert "changed by someone else" in refusal_sentence(info.value)


@pytest.mark.parametrize("expected,actual", [(4, 4), ("4", 4), (None, 4), (None, 1)])
def test_check_version_match_or_none_passes(expected, actual):
    """A matching version (also as form text) or no version at all passes."""
    assert check_version(expected, actual) is None


@pytest.mark.parametrize("garbage", ["", "abc", "4x", [4]])
def test_check_version_garbage_is_stale(garbage):
    """A garbled version field is refused as stale, never crashes with ValueError/TypeError."""
    with pytest.raises(StaleVersion):
        check_version(garbage, 4)
