"""Where each action lands: status, escalation level, reopening, and the guards before it.

Inputs are in test_workflow_inputs.py; the deadlines an action sets in
test_actions_clocks.py; the full who-may-do-what matrix in test_transition_table.py.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from rules import (
    Actor,
    Facts,
    PermissionDenied,
    RuleError,
    TransitionNotAllowed,
    check,
    escalated,
    initial_escalation_level,
)
from rules import escalation as escalation_module

DEPT, HANDLER_ID, HEAD_ID = 10, 12, 11
NOW = datetime(2026, 3, 5, 10, 0)

INTAKE = Actor(1, "intake", 1)
MANAGER = Actor(2, "manager", 1)
ADMIN = Actor(3, "admin", None)
HEAD = Actor(HEAD_ID, "dept_head", DEPT)
HANDLER = Actor(HANDLER_ID, "handler", DEPT)
SUPERVISOR = Actor(4, "supervisor", None)
EXECUTIVE = Actor(5, "executive", None)

RESULT = {"root_cause": "Faulty batch.", "responsibility": "company", "remedy": "repair",
          "resolution": "Repaired under warranty."}
CALLBACK_OK = {"method": "phone", "reached": True, "satisfaction": "satisfied", "solved": True}
REASON = {"reason": "Because."}


def facts(status, **kw) -> Facts:
    base = dict(status=status, category="service", department_id=DEPT, assignee_id=HANDLER_ID)
    base.update(kw)
    return Facts(**base)


def with_cs(status, **kw) -> Facts:
    return facts(status, **{"department_id": None, "assignee_id": None, **kw})


def applied(f: Facts, decision) -> Facts:
    """The complaint after the decision, as the services would store it."""
    names = {fl.name for fl in dataclasses.fields(Facts)}
    return dataclasses.replace(f, **{k: v for k, v in decision.changes.items() if k in names})


# --- accept / reject / reply ------------------------------------------------------------------


def test_accept_without_category_is_refused(refusal_sentence):
    """A complaint cannot be accepted before its category is chosen; with one it can."""
    with pytest.raises(TransitionNotAllowed) as info:
        check("accept", with_cs("registered", category=None), INTAKE, {}, NOW)
    assert "category" in refusal_sentence(info.value)
    d = check("accept", with_cs("registered"), INTAKE, {}, NOW)
    assert (d.to_status, d.changes["validity"], d.changes["accepted_at"]) == (
        "accepted", "valid", NOW)


@pytest.mark.parametrize("status", ["registered", "accepted"])
def test_reject_lands_rejected_as_invalid(status):
    """Rejecting marks the complaint invalid, keeps the reason, and tells who registered it."""
    d = check("reject", with_cs(status), INTAKE, {"reason": "Spam."}, NOW)
    assert d.to_status == "rejected"
    assert (d.changes["validity"], d.changes["validity_reason"]) == ("invalid", "Spam.")
    assert d.changes["rejected_at"] == NOW
    assert d.notify == ("registered_by",)


def test_reply_needs_a_method_and_lands_closed(refusal_sentence):
    """Telling the customer why it was rejected needs a method and closes the complaint."""
    f = with_cs("rejected", validity="invalid")
    with pytest.raises(RuleError) as info:
        check("reply", f, INTAKE, {"note": "Told why."}, NOW)
    assert "method" in refusal_sentence(info.value)
    d = check("reply", f, INTAKE, {"method": "sms", "note": "Told why."}, NOW)
    assert (d.from_status, d.to_status, d.note) == ("rejected", "closed", "Told why.")
    assert (d.changes["closed_at"], d.changes["reply_due"]) == (NOW, None)
    assert not d.reopened


# --- resolve ----------------------------------------------------------------------------------


def test_resolve_in_department_goes_to_resolved():
    """The department's result lands in resolved, with the result fields and the resolution."""
    d = check("resolve", facts("in_progress"), HANDLER, RESULT, NOW)
    assert d.to_status == "resolved"
    assert {k: d.changes[k] for k in RESULT} == RESULT
    assert (d.changes["resolved_at"], d.note) == (NOW, RESULT["resolution"])
    assert "answered_on_the_spot" not in d.changes


@pytest.mark.parametrize("kind", ["complaint", "consultation", "suggestion"])
@pytest.mark.parametrize("status", ["registered", "accepted"])
def test_resolve_on_the_spot_any_kind_goes_to_callback(status, kind):
    """Customer service answers any kind on the spot: the full result, then straight to callback."""
    d = check("resolve", with_cs(status, kind=kind), INTAKE, RESULT, NOW)
    assert (d.from_status, d.to_status) == (status, "callback")
    assert d.changes["answered_on_the_spot"] is True
    assert d.changes["validity"] == "valid"
    assert d.changes["resolved_at"] == NOW
    assert {k: d.changes[k] for k in RESULT} == RESULT
    # Accepting happens with it when the complaint was only registered.
    assert d.changes.get("accepted_at") == (NOW if status == "registered" else None)


def test_resolve_on_the_spot_needs_the_full_result(refusal_sentence):
    """A resolution alone is no longer enough on the spot: the root cause etc. are needed."""
    with pytest.raises(RuleError) as info:
        check("resolve", with_cs("registered", kind="consultation"), INTAKE,
              {"resolution": "Answered."}, NOW)
    assert refusal_sentence(info.value) == "Please fill in the root cause."


@pytest.mark.parametrize("actor", [HEAD, HANDLER])
def test_department_cannot_resolve_before_it_has_the_complaint(actor, refusal_sentence):
    """Only customer service resolves a registered complaint on the spot."""
    with pytest.raises(RuleError) as info:
        check("resolve", facts("registered"), actor, RESULT, NOW)
    refusal_sentence(info.value)


# --- review -----------------------------------------------------------------------------------


@pytest.mark.parametrize("department_id,assignee_id,want", [
    (DEPT, HANDLER_ID, "in_progress"), (DEPT, None, "forwarded"), (None, None, "accepted")])
def test_review_send_back_destination(department_id, assignee_id, want):
    """A result sent back goes to its handler, else its department, else customer service."""
    f = facts("resolved", department_id=department_id, assignee_id=assignee_id)
    d = check("review_send_back", f, INTAKE, {"reason": "Redo."}, NOW)
    assert (d.to_status, d.changes["review_due"], d.reopened) == (want, None, False)


def test_review_approve_goes_to_callback():
    """Approving a result moves the complaint to awaiting callback."""
    d = check("review_approve", facts("resolved"), INTAKE, {}, NOW)
    assert (d.to_status, d.changes["reviewed_at"]) == ("callback", NOW)


# --- callbacks and closing --------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes,want_status,want_level,reopened",
    [
        ({}, "callback", 0, False),
        ({"satisfaction": "very_satisfied"}, "callback", 0, False),
        ({"satisfaction": "average"}, "callback", 0, False),
        ({"reached": False, "satisfaction": None, "solved": None}, "callback", 0, False),
        ({"satisfaction": "unsatisfied", "solved": False}, "in_progress", 1, True),
        ({"satisfaction": "unsatisfied", "solved": True}, "in_progress", 1, True),
        ({"satisfaction": "satisfied", "solved": False}, "in_progress", 1, True),
    ],
    ids=["satisfied", "very-satisfied", "average", "not-reached", "unsatisfied",
         "unsatisfied-solved", "not-solved"],
)
def test_callback_destination(changes, want_status, want_level, reopened):
    """A callback keeps the status, except a reached one finding the customer unsatisfied or the
    problem not solved: back in progress, one level up, reopened."""
    d = check("callback", facts("callback"), INTAKE, {**CALLBACK_OK, **changes}, NOW)
    assert (d.to_status, d.escalation_level, d.reopened) == (want_status, want_level, reopened)
    assert d.callback == d.inputs  # every callback is recorded


def test_not_solved_callback_reopens_one_level_up():
    """Reached and satisfied but not solved: reopened like unsatisfied, level and count +1."""
    f = facts("callback", escalation_level=1, reopen_count=2, callbacks_reached=1,
              last_satisfaction="satisfied")
    d = check("callback", f, INTAKE, {**CALLBACK_OK, "solved": False}, NOW)
    assert (d.to_status, d.reopened) == ("in_progress", True)
    assert d.changes["escalation_level"] == d.escalation_level == 2
    assert d.changes["reopen_count"] == 3
    assert (d.changes["callbacks_reached"], d.changes["last_satisfaction"]) == (0, None)


def test_not_reached_callback_changes_nothing_but_is_recorded():
    """A callback that did not reach the customer counts for nothing, but is written down."""
    f = facts("callback", callbacks_reached=1, last_satisfaction="satisfied")
    d = check("callback", f, INTAKE, {"method": "phone", "reached": False}, NOW)
    assert d.to_status == "callback"
    assert "callbacks_reached" not in d.changes
    assert d.callback["reached"] is False


def test_unhappy_callback_level_capped_at_three():
    """An unsatisfied callback at level 3 reopens the complaint but keeps the level at 3."""
    d = check("callback", facts("callback", escalation_level=3), INTAKE,
              {**CALLBACK_OK, "satisfaction": "unsatisfied"}, NOW)
    assert (d.to_status, d.escalation_level, d.reopened) == ("in_progress", 3, True)


def test_unhappy_callback_without_department_goes_to_accepted():
    """An unhappy callback on a complaint answered on the spot goes back to accepted."""
    d = check("callback", with_cs("callback"), INTAKE,
              {**CALLBACK_OK, "satisfaction": "unsatisfied"}, NOW)
    assert d.to_status == "accepted"


def test_close_refused_without_enough_callbacks(refusal_sentence):
    """Closing with fewer reached callbacks than required says how many are needed and recorded."""
    f = facts("callback", callbacks_required=2, callbacks_reached=1, last_satisfaction="satisfied")
    with pytest.raises(TransitionNotAllowed) as info:
        check("close", f, INTAKE, {}, NOW)
    text = refusal_sentence(info.value)
    assert "needs 2 callback(s)" in text
    assert "1 is recorded" in text


@pytest.mark.parametrize("last", ["unsatisfied", None])
def test_close_refused_unless_last_callback_satisfied(last, refusal_sentence):
    """Closing is refused when the last callback did not find the customer at least satisfied."""
    f = facts("callback", callbacks_required=1, callbacks_reached=1, last_satisfaction=last)
    with pytest.raises(TransitionNotAllowed) as info:
        check("close", f, INTAKE, {}, NOW)
    assert "at least satisfied" in refusal_sentence(info.value)


def test_average_callback_counts_but_close_is_refused(refusal_sentence):
    """An "average" callback counts as reached, but closing is then refused: force-close or
    reopen instead."""
    before = facts("callback", callbacks_required=1)
    d = check("callback", before, INTAKE, {**CALLBACK_OK, "satisfaction": "average"}, NOW)
    assert (d.to_status, d.reopened) == ("callback", False)
    assert (d.changes["callbacks_reached"], d.changes["last_satisfaction"]) == (1, "average")
    after = applied(before, d)
    with pytest.raises(TransitionNotAllowed) as info:
        check("close", after, INTAKE, {}, NOW)
    text = refusal_sentence(info.value)
    assert "force-close" in text and "reopen" in text
    assert check("force_close", after, MANAGER, {"reason": "Accepted."}, NOW).to_status == "closed"
    assert check("reopen", after, MANAGER, {"reason": "Redo."}, NOW).reopened


@pytest.mark.parametrize("last", ["satisfied", "very_satisfied"])
def test_close_allowed_with_enough_good_callbacks(last):
    """Closing succeeds once the required callbacks are reached and the last is satisfied or
    better; the final satisfaction is the last one."""
    f = facts("callback", callbacks_required=2, callbacks_reached=2, last_satisfaction=last)
    d = check("close", f, INTAKE, {}, NOW)
    assert d.to_status == "closed"
    assert (d.changes["closed_at"], d.changes["final_satisfaction"]) == (NOW, last)


# --- reopen / return / force-close ------------------------------------------------------------


@pytest.mark.parametrize("actor", [MANAGER, ADMIN, EXECUTIVE])
@pytest.mark.parametrize(
    "status,department_id,assignee_id,want",
    [
        ("closed", None, None, "accepted"),
        ("closed", DEPT, None, "forwarded"),
        ("closed", DEPT, HANDLER_ID, "in_progress"),
        ("rejected", None, None, "accepted"),
        ("rejected", DEPT, None, "forwarded"),
        ("callback", None, None, "accepted"),
        ("callback", DEPT, HANDLER_ID, "in_progress"),
    ],
)
def test_reopen_destination(status, department_id, assignee_id, want, actor):
    """Reopening (from rejected, closed or callback) goes to accepted without a department,
    forwarded without an assignee, else in progress; reopen_count goes up by one."""
    f = facts(status, department_id=department_id, assignee_id=assignee_id, reopen_count=1)
    d = check("reopen", f, actor, {"reason": "Customer called again."}, NOW)
    assert (d.to_status, d.reopened, d.changes["reopen_count"]) == (want, True, 2)
    assert (d.changes["closed_at"], d.changes["final_satisfaction"]) == (None, None)


def test_reopen_of_a_rejected_complaint_makes_it_valid():
    """Reopening a complaint rejected as invalid makes it valid again."""
    f = with_cs("rejected", validity="invalid")
    assert check("reopen", f, MANAGER, REASON, NOW).changes["validity"] == "valid"


@pytest.mark.parametrize("actor", [INTAKE, SUPERVISOR, HEAD])
def test_reopen_is_for_managers_and_executives(actor, refusal_sentence):
    """A clerk, a supervisor or a department head cannot reopen."""
    with pytest.raises(PermissionDenied) as info:
        check("reopen", facts("closed"), actor, REASON, NOW)
    refusal_sentence(info.value)


@pytest.mark.parametrize("status", ["forwarded", "in_progress"])
def test_return_goes_to_accepted(status):
    """A department returning a complaint (退单) sends it back to customer service."""
    d = check("return", facts(status), HEAD, {"reason": "Not ours."}, NOW)
    assert d.to_status == "accepted"
    assert (d.changes["department_id"], d.changes["assignee_id"]) == (None, None)


@pytest.mark.parametrize("status", ["registered", "accepted", "rejected", "forwarded",
                                    "in_progress", "resolved", "callback"])
def test_force_close_from_any_open_status(status):
    """A manager force-closes from any open status (rejected too), with a reason."""
    d = check("force_close", facts(status), MANAGER, {"reason": "Duplicate."}, NOW)
    assert (d.to_status, d.note) == ("closed", "Duplicate.")


# --- levels -----------------------------------------------------------------------------------


def test_escalate_at_level_three_is_refused(refusal_sentence):
    """Escalating a complaint already at level 3 (senior management) is refused."""
    with pytest.raises(TransitionNotAllowed) as info:
        check("escalate", facts("in_progress", escalation_level=3), MANAGER, REASON, NOW)
    assert "highest level" in refusal_sentence(info.value)


@pytest.mark.parametrize("level", [0, 1, 2])
def test_escalate_raises_level_by_one(level):
    """Escalating below level 3 raises the level by exactly one and keeps the status."""
    d = check("escalate", facts("forwarded", escalation_level=level), HEAD, REASON, NOW)
    assert (d.escalation_level, d.to_status) == (level + 1, "forwarded")
    assert d.changes["escalation_level"] == level + 1


def test_initial_and_escalated_levels():
    """A critical complaint starts at level 2, others at 0; escalated() never passes 3."""
    assert escalated is escalation_module.escalated
    assert initial_escalation_level is escalation_module.initial_escalation_level
    assert initial_escalation_level("critical") == 2
    assert initial_escalation_level("major") == 0
    assert initial_escalation_level("normal") == 0
    assert [escalated(n) for n in range(4)] == [1, 2, 3, 3]


# --- notes: urge, note, instruct ----------------------------------------------------------------


@pytest.mark.parametrize(
    "action,actor,statuses",
    [
        ("urge", SUPERVISOR, ["registered", "forwarded", "in_progress", "callback"]),
        ("note", HANDLER, ["forwarded", "in_progress"]),
        ("note", HEAD, ["forwarded", "in_progress"]),
        ("instruct", EXECUTIVE, ["registered", "rejected", "in_progress", "resolved", "closed"]),
    ],
)
def test_notes_keep_status_and_level(action, actor, statuses):
    """Urging, a progress note and an executive's instruction record the note and change
    nothing else: status, level and deadline stay."""
    for status in statuses:
        f = facts(status, escalation_level=1)
        d = check(action, f, actor, {"note": "  Hurry up.  "}, NOW)
        assert (d.to_status, d.escalation_level, d.note) == (status, 1, "Hurry up.")
        assert set(d.changes) == {"status", "escalation_level"}


@pytest.mark.parametrize("action,actor", [("note", HANDLER), ("instruct", EXECUTIVE)])
def test_notes_need_a_note(action, actor, refusal_sentence):
    """A progress note or an instruction without text is refused."""
    with pytest.raises(RuleError) as info:
        check(action, facts("in_progress"), actor, {"note": " "}, NOW)
    assert refusal_sentence(info.value) == "Please fill in the note."


@pytest.mark.parametrize("actor", [MANAGER, INTAKE, HEAD])
def test_only_executives_instruct(actor, refusal_sentence):
    """An instruction (批示) is senior management's."""
    with pytest.raises(PermissionDenied) as info:
        check("instruct", facts("in_progress"), actor, {"note": "Do it."}, NOW)
    refusal_sentence(info.value)


# --- now ----------------------------------------------------------------------------------------


def test_allowed_action_needs_now():
    """An allowed action without ``now`` is a programming error (ValueError), not a refusal."""
    with pytest.raises(ValueError, match="needs now"):
        check("escalate", facts("in_progress"), INTAKE, REASON)


def test_refused_action_without_now_gives_the_refusal(refusal_sentence):
    """A refused action says why even without ``now`` (the screens' dry run)."""
    with pytest.raises(TransitionNotAllowed) as info:
        check("close", facts("in_progress"), INTAKE)
    refusal_sentence(info.value)
