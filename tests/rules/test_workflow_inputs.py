"""Input checks of rules.check(): missing, wrong or too long inputs, targets, versions.

Where each action lands is in test_actions_flow.py, the deadlines it sets in
test_actions_clocks.py.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from rules import (
    Actor,
    DepartmentFacts,
    Facts,
    InvalidInput,
    MissingInput,
    PersonFacts,
    StaleVersion,
    Target,
    check,
    check_version,
)

DEPT, OTHER_DEPT, HANDLER_ID, HEAD_ID, NEW_PERSON = 10, 20, 12, 11, 30
NOW = datetime(2026, 3, 5, 10, 0)
RESOLVE_DUE = datetime(2026, 3, 10, 23, 59, 59)

INTAKE = Actor(1, "intake", 1)
MANAGER = Actor(2, "manager", 1)
HEAD = Actor(HEAD_ID, "dept_head", DEPT)
HANDLER = Actor(HANDLER_ID, "handler", DEPT)
SUPERVISOR = Actor(4, "supervisor", None)
EXECUTIVE = Actor(5, "executive", None)


def facts(status, **kw) -> Facts:
    """A complaint with the department working on it (pass department_id=None for none)."""
    base = dict(status=status, category="service", department_id=DEPT, assignee_id=HANDLER_ID,
                resolve_due=RESOLVE_DUE)
    base.update(kw)
    return Facts(**base)


def with_cs(status, **kw) -> Facts:
    """A complaint still with customer service: no department, no assignee, no resolve clock."""
    return facts(status, **{"department_id": None, "assignee_id": None, "resolve_due": None,
                            **kw})


OTHER = DepartmentFacts(OTHER_DEPT)
PERSON = PersonFacts(NEW_PERSON, department_id=OTHER_DEPT, role="handler")
TO_OTHER = Target(department_id=OTHER_DEPT, department=OTHER)
OWN_HANDLER = Target(assignee_id=HANDLER_ID,
                     person=PersonFacts(HANDLER_ID, department_id=DEPT, role="handler"))

RESULT = {"root_cause": "Faulty batch.", "responsibility": "company", "remedy": "repair",
          "resolution": "Repaired under warranty."}
CALLBACK_OK = {"method": "phone", "reached": True, "satisfaction": "satisfied", "solved": True}

# case → (facts, actor, complete valid inputs, target) for every action that needs input.
CASES = {
    "reject": (with_cs("registered"), INTAKE, {"reason": "Spam."}, None),
    "reply": (with_cs("rejected"), INTAKE, {"method": "phone", "note": "Told why."}, None),
    "forward": (with_cs("accepted"), INTAKE, {"department_id": OTHER_DEPT}, TO_OTHER),
    "return": (facts("forwarded"), HEAD, {"reason": "Not ours."}, None),
    "assign": (facts("forwarded", assignee_id=None), HEAD, {"assignee_id": HANDLER_ID},
               OWN_HANDLER),
    "resolve": (facts("in_progress"), HANDLER, RESULT, None),
    "resolve_on_the_spot": (with_cs("registered"), INTAKE, RESULT, None),
    "review_send_back": (facts("resolved"), INTAKE, {"reason": "Incomplete."}, None),
    "callback": (facts("callback"), INTAKE, CALLBACK_OK, None),
    "force_close": (facts("in_progress"), MANAGER, {"reason": "Duplicate."}, None),
    "reopen": (facts("closed"), MANAGER, {"reason": "Called again."}, None),
    "escalate": (facts("in_progress"), INTAKE, {"reason": "Stalled."}, None),
    "extend_request": (facts("in_progress"), HANDLER,
                       {"reason": "Lab test.", "new_due": RESOLVE_DUE + timedelta(days=2)}, None),
    "extend_decide": (facts("in_progress", extension_requested_by_id=HANDLER_ID), HEAD,
                      {"approve": False}, None),
    "urge": (facts("forwarded"), SUPERVISOR, {"note": "Customer is waiting."}, None),
    "note": (facts("in_progress"), HANDLER, {"note": "Parts ordered."}, None),
    "instruct": (facts("in_progress"), EXECUTIVE, {"note": "Settle it this week."}, None),
}

# Required fields and the words the message must use for them (written by hand).
REQUIRED_FIELDS = [
    ("reject", "reason", "reason"),
    ("reply", "method", "callback method"),
    ("reply", "note", "note"),
    ("forward", "department_id", "target department"),
    ("return", "reason", "reason"),
    ("assign", "assignee_id", "handler"),
    ("resolve", "root_cause", "root cause"),
    ("resolve", "responsibility", "responsibility"),
    ("resolve", "remedy", "remedy"),
    ("resolve", "resolution", "resolution"),
    ("resolve_on_the_spot", "root_cause", "root cause"),
    ("resolve_on_the_spot", "responsibility", "responsibility"),
    ("resolve_on_the_spot", "remedy", "remedy"),
    ("resolve_on_the_spot", "resolution", "resolution"),
    ("review_send_back", "reason", "reason"),
    ("callback", "method", "callback method"),
    ("force_close", "reason", "reason"),
    ("reopen", "reason", "reason"),
    ("escalate", "reason", "reason"),
    ("extend_request", "reason", "reason"),
    ("urge", "note", "note"),
    ("note", "note", "note"),
    ("instruct", "note", "note"),
]

# Free-text fields (required or not) and the words of their "too long" message.
TEXT_FIELDS = [
    ("reject", "reason", "reason"),
    ("reply", "note", "note"),
    ("resolve", "root_cause", "root cause"),
    ("resolve", "resolution", "resolution"),
    ("callback", "notes", "notes"),
    ("extend_decide", "note", "note"),
    ("urge", "note", "note"),
    ("note", "note", "note"),
    ("instruct", "note", "note"),
]

_DROP = object()  # marks an input to leave out entirely


def run(case: str, *, now=NOW, target=None, **changes):
    f, actor, inputs, default_target = CASES[case]
    action = "resolve" if case == "resolve_on_the_spot" else case
    merged = {k: v for k, v in {**inputs, **changes}.items() if v is not _DROP}
    return check(action, f, actor, merged, now, target=target or default_target)


@pytest.mark.parametrize("case", sorted(CASES))
def test_valid_inputs_are_accepted(case):
    """Each action with complete, valid inputs is allowed (the baseline for the refusals below)."""
    d = run(case)
    assert d.action == ("resolve" if case == "resolve_on_the_spot" else case)
    assert d.from_status == CASES[case][0].status


@pytest.mark.parametrize("blank", ["", "   ", "\t\n ", None, _DROP],
                         ids=["empty", "spaces", "whitespace", "none", "absent"])
@pytest.mark.parametrize("case,field,words", REQUIRED_FIELDS,
                         ids=[f"{c}-{f}" for c, f, _ in REQUIRED_FIELDS])
def test_blank_required_field_is_missing_input(case, field, words, blank, refusal_sentence):
    """A required field left empty, blank or absent is MissingInput naming the field in words."""
    with pytest.raises(MissingInput) as info:
        run(case, **{field: blank})
    assert refusal_sentence(info.value) == f"Please fill in the {words}."


@pytest.mark.parametrize(
    "case,field,bad,words",
    [
        ("callback", "reached", None, "whether the customer was reached"),
        ("callback", "reached", "yes", "whether the customer was reached"),
        ("callback", "solved", None, "whether the problem is solved"),
        ("callback", "solved", "no", "whether the problem is solved"),
        ("callback", "satisfaction", None, "satisfaction"),
        ("extend_request", "new_due", None, "new deadline"),
        ("extend_request", "new_due", "2026-04-01", "new deadline"),
        ("extend_decide", "approve", None, "decision"),
        ("extend_decide", "approve", "true", "decision"),
    ],
)
def test_typed_required_field_is_missing_input(case, field, bad, words, refusal_sentence):
    """A yes/no, date or (when reached) satisfaction field absent or mistyped is MissingInput."""
    with pytest.raises(MissingInput) as info:
        run(case, **{field: bad})
    assert words in refusal_sentence(info.value)


def test_reason_is_stripped_in_decision():
    """A reason is kept without its surrounding blanks, and is the event's note."""
    d = run("reject", reason="  Spam.  ")
    assert (d.inputs["reason"], d.note) == ("Spam.", "Spam.")


@pytest.mark.parametrize("case,field,words", TEXT_FIELDS,
                         ids=[f"{c}-{f}" for c, f, _ in TEXT_FIELDS])
def test_text_longer_than_4000_is_invalid_input(case, field, words, refusal_sentence):
    """A text of 4000 characters is kept; one of 4001 is InvalidInput naming the field."""
    assert run(case, **{field: "x" * 4000}).inputs[field] == "x" * 4000
    with pytest.raises(InvalidInput) as info:
        run(case, **{field: "x" * 4001})
    text = refusal_sentence(info.value)
    assert words in text and "at most 4000 characters" in text


@pytest.mark.parametrize("case,field,value", [("reject", "reason", 42),
                                              ("note", "note", ["a list"])])
def test_text_field_of_another_type_is_invalid_input(case, field, value, refusal_sentence):
    """A text field holding a number or a list is InvalidInput, never a crash."""
    with pytest.raises(InvalidInput) as info:
        run(case, **{field: value})
    assert field in refusal_sentence(info.value)


@pytest.mark.parametrize(
    "case,field,value,words",
    [
        ("resolve", "responsibility", "nobody", "responsibility"),
        ("resolve", "responsibility", "Company", "responsibility"),
        ("resolve", "remedy", "apology", "remedy"),
        ("resolve", "remedy", 3, "remedy"),
        ("callback", "satisfaction", "delighted", "satisfaction"),
        ("callback", "method", "pigeon", "callback method"),
        ("reply", "method", "telepathy", "callback method"),
        ("forward", "department_id", "abc", "target department"),
        ("assign", "assignee_id", "someone", "handler"),
    ],
)
def test_value_outside_list_is_invalid_input(case, field, value, words, refusal_sentence):
    """A choice outside its list, or a reference that is not a number, is InvalidInput naming it."""
    with pytest.raises(InvalidInput) as info:
        run(case, **{field: value})
    assert words in refusal_sentence(info.value)


# --- compensation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount",
    ["-1", "-0.01", -5, "1.005", "0.001", "12.345", "abc", "1,50", "NaN", "sNaN", "Infinity",
     "-Infinity", float("inf"), float("nan"), "1e30", "1e400", True, "10000000000",
     "10000000000.00"],
)
@pytest.mark.parametrize("case", ["resolve", "resolve_on_the_spot"])
def test_resolve_bad_compensation_is_invalid_input(case, amount, refusal_sentence):
    """A negative, over-precise, too large, non-numeric or non-finite amount is InvalidInput."""
    with pytest.raises(InvalidInput) as info:
        run(case, remedy="compensation", compensation_amount=amount)
    assert "compensation amount" in refusal_sentence(info.value)


@pytest.mark.parametrize("amount,want", [
    ("200", "200"), ("199.9", "199.90"), ("0.01", "0.01"), ("0", "0"), (88, "88"),
    ("1000.50", "1000.50"), (Decimal("3.10"), "3.1"), ("9999999999.99", "9999999999.99"),
])
def test_resolve_good_compensation_becomes_decimal(amount, want):
    """0 to 9,999,999,999.99 with at most two decimals is kept as a Decimal of that value."""
    d = run("resolve", remedy="compensation", compensation_amount=amount)
    assert isinstance(d.inputs["compensation_amount"], Decimal)
    assert d.inputs["compensation_amount"] == Decimal(want)
    assert d.changes["compensation_amount"] == Decimal(want)


@pytest.mark.parametrize("amount", [None, "", "  "])
@pytest.mark.parametrize("case", ["resolve", "resolve_on_the_spot"])
def test_resolve_compensation_without_amount_is_missing_input(case, amount, refusal_sentence):
    """remedy=compensation without an amount is MissingInput about the amount."""
    with pytest.raises(MissingInput) as info:
        run(case, remedy="compensation", compensation_amount=amount)
    assert "compensation amount" in refusal_sentence(info.value)


def test_resolve_other_remedy_needs_no_amount():
    """A remedy other than compensation needs no amount."""
    d = run("resolve", remedy="explanation", compensation_amount=None)
    assert d.to_status == "resolved"
    assert d.changes["compensation_amount"] is None


# --- forward / assign targets --------------------------------------------------------------


def _person(**kw) -> Target:
    return Target(OTHER_DEPT, OTHER, NEW_PERSON, replace(PERSON, **kw))


@pytest.mark.parametrize(
    "target,words",
    [
        (Target(DEPT, DepartmentFacts(DEPT)), "already with that department"),
        (Target(OTHER_DEPT, replace(OTHER, active=False)), "not active"),
        (Target(OTHER_DEPT, None), "not active"),
        (Target(OTHER_DEPT, replace(OTHER, is_customer_service=True)), "not to customer service"),
        (Target(OTHER_DEPT, replace(OTHER, staffed=False)), "Nobody in that department"),
        (_person(department_id=DEPT), "does not work in the responsible department"),
        (_person(active=False), "not active"),
        (Target(OTHER_DEPT, OTHER, NEW_PERSON, None), "not active"),
        (_person(role="supervisor"), "handler or a department head"),
        (_person(role="intake"), "handler or a department head"),
    ],
    ids=["same-department", "inactive-department", "unknown-department", "customer-service",
         "unstaffed", "person-other-department", "person-inactive", "person-unknown",
         "person-supervisor", "person-clerk"],
)
def test_forward_invalid_target_is_invalid_input(target, words, refusal_sentence):
    """Forwarding to the same, an inactive, unknown, customer-service or unstaffed department,
    or with a wrong person, is InvalidInput saying why."""
    f = with_cs("accepted", department_id=DEPT)
    inputs = {"department_id": target.department_id, "assignee_id": target.assignee_id}
    with pytest.raises(InvalidInput) as info:
        check("forward", f, INTAKE, inputs, NOW, target=target)
    assert words in refusal_sentence(info.value)


def test_forward_to_unstaffed_department_says_nobody_is_there(refusal_sentence):
    """An active department with no active head or handler is refused: nobody could take it."""
    with pytest.raises(InvalidInput) as info:
        run("forward", target=Target(OTHER_DEPT, replace(OTHER, staffed=False)))
    text = refusal_sentence(info.value)
    assert "Nobody in that department" in text and "no active head or handler" in text


def test_forward_without_person_goes_to_forwarded():
    """Forwarding to a department without naming a person ends in forwarded, nobody assigned."""
    d = run("forward")
    assert d.to_status == "forwarded"
    assert (d.changes["department_id"], d.changes["assignee_id"]) == (OTHER_DEPT, None)
    assert (d.changes["forwarded_at"], d.changes["assigned_at"]) == (NOW, None)
    assert d.inputs["assignee_id"] is None


@pytest.mark.parametrize("role", ["handler", "dept_head"])
def test_forward_to_person_goes_in_progress(role):
    """Forwarding with an active handler or head of that department ends in in_progress."""
    d = run("forward", assignee_id=str(NEW_PERSON), target=_person(role=role))
    assert d.to_status == "in_progress"
    assert d.inputs["assignee_id"] == NEW_PERSON
    assert (d.changes["assignee_id"], d.changes["assigned_at"]) == (NEW_PERSON, NOW)


def _assign_target(**kw) -> Target:
    person = PersonFacts(HANDLER_ID, department_id=DEPT, role="handler")
    return Target(assignee_id=HANDLER_ID, person=replace(person, **kw))


@pytest.mark.parametrize(
    "target,words",
    [
        (_assign_target(department_id=OTHER_DEPT), "does not work in the responsible department"),
        (_assign_target(active=False), "not active"),
        (Target(assignee_id=HANDLER_ID, person=None), "not active"),
        (_assign_target(role="manager"), "handler or a department head"),
    ],
    ids=["other-department", "inactive", "unknown", "manager"],
)
def test_assign_invalid_person_is_invalid_input(target, words, refusal_sentence):
    """Assigning someone unknown, inactive, of another department or not a handler/head is
    InvalidInput."""
    with pytest.raises(InvalidInput) as info:
        run("assign", target=target)
    assert words in refusal_sentence(info.value)


def test_assign_goes_in_progress():
    """Assigning a handler of the complaint's department puts it in progress with them."""
    d = run("assign")
    assert d.to_status == "in_progress"
    assert (d.changes["assignee_id"], d.changes["assigned_at"]) == (HANDLER_ID, NOW)


# --- extension requests ---------------------------------------------------------------------


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
    with pytest.raises(InvalidInput) as info:
        run("extend_request", new_due=new_due, now=now)
    assert words in refusal_sentence(info.value)


# --- versions ----------------------------------------------------------------------------------


def test_check_version_mismatch_is_stale(refusal_sentence):
    """A version other than the current one raises StaleVersion with a plain explanation."""
    with pytest.raises(StaleVersion) as info:
        check_version(3, 4)
    assert "changed by someone else" in refusal_sentence(info.value)


@pytest.mark.parametrize("expected,actual", [(4, 4), ("4", 4), (" 4 ", 4), (None, 4), (None, 1)])
def test_check_version_match_or_none_passes(expected, actual):
    """A matching version (also as form text) or no version at all passes."""
    assert check_version(expected, actual) is None


@pytest.mark.parametrize("garbage", ["", "abc", "4x", [4]])
def test_check_version_garbage_is_stale(garbage):
    """A garbled version field is refused as stale, never crashes with ValueError/TypeError."""
    with pytest.raises(StaleVersion):
        check_version(garbage, 4)
