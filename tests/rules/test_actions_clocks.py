"""The deadlines a decision sets: each action's clock in decision.changes (due_at, due_kind,
overdue_since), and the extension request and decision.

NOW is Thursday 2026-03-05 10:00 (no holiday in March 2026): one working day later is the
end of Fri 03-06, five is Thu 03-12, seven is Mon 03-16. Expected values are written by hand.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from rules import (
    Actor,
    DepartmentFacts,
    Facts,
    Policy,
    RuleError,
    Target,
    TransitionNotAllowed,
    check,
)

DEPT, OTHER_DEPT, HANDLER_ID, HEAD_ID = 10, 20, 12, 11
NOW = datetime(2026, 3, 5, 10, 0)
END_FRI = datetime(2026, 3, 6, 23, 59, 59)  # 1 working day after NOW
END_5 = datetime(2026, 3, 12, 23, 59, 59)  # 5 working days after NOW
END_7 = datetime(2026, 3, 16, 23, 59, 59)  # 7 working days after NOW
RESOLVE_DUE = datetime(2026, 3, 10, 23, 59, 59)

INTAKE = Actor(1, "intake", 1)
MANAGER = Actor(2, "manager", 1)
HEAD = Actor(HEAD_ID, "dept_head", DEPT)
HANDLER = Actor(HANDLER_ID, "handler", DEPT)
EXECUTIVE = Actor(5, "executive", None)

RESULT = {"root_cause": "Faulty batch.", "responsibility": "company", "remedy": "repair",
          "resolution": "Repaired under warranty."}
CALLBACK_OK = {"method": "phone", "reached": True, "satisfaction": "satisfied", "solved": True}
REASON = {"reason": "Because."}
TO_OTHER = Target(OTHER_DEPT, DepartmentFacts(OTHER_DEPT))


def facts(status, **kw) -> Facts:
    base = dict(status=status, category="service", department_id=DEPT, assignee_id=HANDLER_ID)
    base.update(kw)
    return Facts(**base)


def with_cs(status, **kw) -> Facts:
    return facts(status, **{"department_id": None, "assignee_id": None, **kw})


def due(d) -> tuple:
    return d.changes["due_at"], d.changes["due_kind"], d.changes["overdue_since"]


@pytest.fixture
def decide(cal):
    def run(action, f, actor, inputs=None, target=None, now=NOW, policy=None):
        return check(action, f, actor, inputs or {}, now, target=target, policy=policy,
                     calendar=cal)
    return run


# --- one clock per stage --------------------------------------------------------------------


def test_accept_starts_forward_clock_from_receipt(decide):
    """Accepting waits on forwarding within 24 h of receipt (not of acceptance)."""
    received = datetime(2026, 3, 5, 8, 0)
    f = with_cs("registered", received_at=received, accept_due=received + timedelta(hours=24),
                due_at=received + timedelta(hours=24), due_kind="accept")
    d = decide("accept", f, INTAKE)
    assert d.changes["forward_due"] == datetime(2026, 3, 6, 8, 0)
    assert due(d) == (datetime(2026, 3, 6, 8, 0), "forward", None)


@pytest.mark.parametrize("hours_ago,missed", [(25, True), (24, False), (23, False)])
def test_accept_late_is_overdue_at_once_but_not_at_the_deadline(decide, hours_ago, missed):
    """A forward deadline already past when accepting is missed at once; one equal to now is
    not (the sweep's ``due_at < now``)."""
    f = with_cs("registered", received_at=NOW - timedelta(hours=hours_ago))
    d = decide("accept", f, INTAKE)
    assert d.changes["due_at"] == NOW + timedelta(hours=24 - hours_ago)
    assert d.changes["overdue_since"] == (NOW if missed else None)
    assert d.changes.get("was_overdue", False) is missed


def test_reject_starts_reply_clock(decide):
    """A rejected complaint waits on telling the customer why: one working day."""
    d = decide("reject", with_cs("registered"), INTAKE, {"reason": "Spam."})
    assert d.changes["reply_due"] == END_FRI
    assert due(d) == (END_FRI, "reply", None)


def test_reply_stops_every_clock(decide):
    """The reply closes the complaint: no deadline, not overdue any more."""
    f = with_cs("rejected", reply_due=END_FRI, due_at=END_FRI, due_kind="reply",
                overdue_since=NOW)
    d = decide("reply", f, INTAKE, {"method": "phone", "note": "Told why."})
    assert due(d) == (None, None, None)


def test_forward_starts_resolve_clock(decide):
    """Forwarding waits on the department's result: seven working days from now."""
    f = with_cs("accepted", forward_due=NOW + timedelta(hours=2),
                due_at=NOW + timedelta(hours=2), due_kind="forward")
    d = decide("forward", f, INTAKE, {"department_id": OTHER_DEPT}, target=TO_OTHER)
    assert d.changes["resolve_due"] == END_7
    assert due(d) == (END_7, "resolve", None)


def test_forward_before_national_day_skips_the_golden_week(decide):
    """Forwarded on 2026-09-30: Oct 1-7 do not count, the make-up Saturday Oct 10 does."""
    d = decide("forward", with_cs("accepted"), INTAKE, {"department_id": OTHER_DEPT},
               target=TO_OTHER, now=datetime(2026, 9, 30, 10, 0))
    assert due(d)[:2] == (datetime(2026, 10, 15, 23, 59, 59), "resolve")


def test_forward_follows_the_policy(decide):
    """The policy passed in sets the clock (three resolve days here)."""
    d = decide("forward", with_cs("accepted"), INTAKE, {"department_id": OTHER_DEPT},
               target=TO_OTHER, policy=Policy(resolve_days=3))
    assert due(d)[:2] == (datetime(2026, 3, 10, 23, 59, 59), "resolve")


def test_return_restarts_forward_clock_from_now(decide):
    """A returned complaint waits on forwarding again: 24 h from now, not from receipt."""
    f = facts("forwarded", received_at=NOW - timedelta(days=3), resolve_due=RESOLVE_DUE,
              due_at=RESOLVE_DUE, due_kind="resolve")
    d = decide("return", f, HEAD, {"reason": "Not ours."})
    assert d.changes["resolve_due"] is None
    assert due(d) == (NOW + timedelta(hours=24), "forward", None)


def test_resolve_starts_review_clock(decide):
    """A department's result waits on customer service's review: one working day."""
    f = facts("in_progress", resolve_due=RESOLVE_DUE, due_at=RESOLVE_DUE, due_kind="resolve")
    d = decide("resolve", f, HANDLER, RESULT)
    assert d.changes["review_due"] == END_FRI
    assert due(d) == (END_FRI, "review", None)


def test_resolve_on_the_spot_starts_callback_clocks(decide):
    """An answer on the spot waits on the first callback (5 working days), within 30 days."""
    d = decide("resolve", with_cs("registered"), INTAKE, RESULT)
    assert d.changes["callback_due"] == END_5
    assert d.changes["followup_until"] == datetime(2026, 4, 4, 10, 0)
    assert due(d) == (END_5, "callback", None)


def test_review_approve_starts_callback_clocks_from_resolution(decide):
    """The first callback is due 5 working days after the resolution, all follow-up within
    30 days of it."""
    resolved = datetime(2026, 3, 3, 15, 0)  # Tuesday
    f = facts("resolved", resolved_at=resolved, review_due=datetime(2026, 3, 4, 23, 59, 59),
              due_at=datetime(2026, 3, 4, 23, 59, 59), due_kind="review", overdue_since=NOW)
    d = decide("review_approve", f, INTAKE)
    assert d.changes["review_due"] is None
    assert d.changes["callback_due"] == datetime(2026, 3, 10, 23, 59, 59)
    assert d.changes["followup_until"] == resolved + timedelta(days=30)
    assert due(d) == (datetime(2026, 3, 10, 23, 59, 59), "callback", None)


@pytest.mark.parametrize("department_id,assignee_id,field,want,kind", [
    (DEPT, HANDLER_ID, "resolve_due", END_7, "resolve"),
    (None, None, "forward_due", NOW + timedelta(hours=24), "forward"),
])
def test_review_send_back_restarts_the_work_clock(decide, department_id, assignee_id, field,
                                                  want, kind):
    """A result sent back gets a fresh resolve clock, or a forward clock without a department."""
    f = facts("resolved", department_id=department_id, assignee_id=assignee_id,
              resolve_due=datetime(2026, 3, 1, 23, 59, 59), review_due=END_FRI,
              due_at=END_FRI, due_kind="review")
    d = decide("review_send_back", f, INTAKE, {"reason": "Redo."})
    assert (d.changes[field], d.changes["review_due"]) == (want, None)
    assert due(d) == (want, kind, None)


@pytest.mark.parametrize("department_id,field,want,kind", [
    (DEPT, "resolve_due", END_7, "resolve"),
    (None, "forward_due", NOW + timedelta(hours=24), "forward"),
])
@pytest.mark.parametrize("status", ["closed", "rejected", "callback"])
def test_reopen_restarts_the_work_clock(decide, status, department_id, field, want, kind):
    """Reopening restarts the resolve clock (the forward clock without a department) and
    clears the follow-up clocks."""
    f = facts(status, department_id=department_id, callback_due=END_FRI, followup_until=END_5,
              reply_due=END_FRI)
    d = decide("reopen", f, MANAGER, REASON)
    assert d.changes[field] == want
    assert (d.changes["callback_due"], d.changes["followup_until"]) == (None, None)
    assert d.changes["reply_due"] is None
    assert due(d) == (want, kind, None)


# --- callbacks --------------------------------------------------------------------------------

FOLLOWUP_END = datetime(2026, 4, 2, 15, 0)


@pytest.mark.parametrize("required,reached_before,want", [
    (1, 0, END_FRI),  # enough: close within the review days
    (2, 0, END_5),  # one more callback within the callback days
    (2, 1, END_FRI),
])
def test_good_callback_sets_the_next_callback_clock(decide, required, reached_before, want):
    """After a good callback the next is due in 5 working days, or, once enough are in,
    closing within one."""
    f = facts("callback", callbacks_required=required, callbacks_reached=reached_before,
              callback_due=RESOLVE_DUE, followup_until=FOLLOWUP_END, due_at=RESOLVE_DUE,
              due_kind="callback")
    d = decide("callback", f, INTAKE, CALLBACK_OK)
    assert d.changes["callback_due"] == want
    assert due(d) == (want, "callback", None)


def test_followup_month_wins_when_it_ends_first(decide):
    """When the follow-up month ends before the next callback would be due, it is the due."""
    month_end = datetime(2026, 3, 7, 9, 0)
    f = facts("callback", callbacks_required=2, callback_due=RESOLVE_DUE,
              followup_until=month_end, due_at=RESOLVE_DUE, due_kind="callback")
    d = decide("callback", f, INTAKE, CALLBACK_OK)
    assert d.changes["callback_due"] == END_5
    assert due(d) == (month_end, "followup", None)


def test_not_reached_callback_keeps_the_deadline(decide):
    """A callback that did not reach the customer changes no deadline."""
    f = facts("callback", callback_due=RESOLVE_DUE, followup_until=FOLLOWUP_END,
              due_at=RESOLVE_DUE, due_kind="callback")
    d = decide("callback", f, INTAKE, {"method": "sms", "reached": False})
    assert not {"due_at", "due_kind", "overdue_since", "callback_due"} & set(d.changes)


def test_unhappy_callback_restarts_the_resolve_clock(decide):
    """Back to the department: a fresh resolve clock, the follow-up clocks cleared."""
    f = facts("callback", callback_due=RESOLVE_DUE, followup_until=FOLLOWUP_END,
              resolve_due=datetime(2026, 2, 1, 23, 59, 59), due_at=RESOLVE_DUE,
              due_kind="callback")
    d = decide("callback", f, INTAKE, {**CALLBACK_OK, "solved": False})
    assert (d.changes["callback_due"], d.changes["followup_until"]) == (None, None)
    assert due(d) == (END_7, "resolve", None)


@pytest.mark.parametrize("action,actor,inputs", [
    ("close", INTAKE, {}), ("force_close", MANAGER, REASON)])
def test_closing_stops_every_clock(decide, action, actor, inputs):
    """A closed complaint waits on nothing: no deadline, not overdue."""
    f = facts("callback", callbacks_reached=1, last_satisfaction="satisfied",
              callback_due=END_FRI, followup_until=FOLLOWUP_END, due_at=END_FRI,
              due_kind="callback", overdue_since=NOW)
    assert due(decide(action, f, actor, inputs)) == (None, None, None)


@pytest.mark.parametrize("action,actor,inputs", [
    ("escalate", INTAKE, REASON), ("urge", MANAGER, {"note": "Hurry."}),
    ("note", HANDLER, {"note": "Parts ordered."}), ("instruct", EXECUTIVE, {"note": "Now."})])
def test_notes_and_escalation_keep_the_deadline(decide, action, actor, inputs):
    """Escalating, urging, notes and instructions leave the deadline and its overdue mark."""
    f = facts("in_progress", resolve_due=RESOLVE_DUE, due_at=RESOLVE_DUE, due_kind="resolve",
              overdue_since=RESOLVE_DUE)
    d = decide(action, f, actor, inputs, now=RESOLVE_DUE + timedelta(days=1))
    assert not {"due_at", "due_kind", "overdue_since"} & set(d.changes)


# --- extensions -------------------------------------------------------------------------------

ASKED_UNTIL = datetime(2026, 3, 20, 23, 59, 59)


def in_progress(resolve_due, **kw) -> Facts:
    return facts("in_progress", resolve_due=resolve_due, due_at=resolve_due,
                 due_kind="resolve", **kw)


def test_extension_request_waits_on_the_decision_when_it_comes_first(decide):
    """The approver's decision (one working day) is due before the resolve deadline: the
    complaint waits on it (due_kind "extension")."""
    d = decide("extend_request", in_progress(RESOLVE_DUE), HANDLER,
               {"reason": "Lab test.", "new_due": ASKED_UNTIL})
    assert d.changes["extension_due"] == END_FRI
    assert (d.changes["extension_requested_until"], d.changes["extension_requested_by_id"]) == (
        ASKED_UNTIL, HANDLER_ID)
    assert d.changes.get("resolve_due", RESOLVE_DUE) == RESOLVE_DUE
    assert due(d) == (END_FRI, "extension", None)
    assert d.note == "Lab test. → 2026-03-20 23:59"


@pytest.mark.parametrize("resolve_due", [END_FRI, datetime(2026, 3, 6, 12, 0)],
                         ids=["same-time", "earlier"])
def test_extension_request_keeps_an_earlier_resolve_deadline(decide, resolve_due):
    """When the resolve deadline comes no later than the decision day, it stays the due."""
    d = decide("extend_request", in_progress(resolve_due), HANDLER,
               {"reason": "Lab test.", "new_due": ASKED_UNTIL})
    assert d.changes["extension_due"] == END_FRI
    assert d.changes.get("due_kind", "resolve") == "resolve"
    assert d.changes.get("due_at", resolve_due) == resolve_due


def pending(**kw) -> Facts:
    """In progress with an extension request waiting; the decision is due first."""
    return facts("in_progress", **{
        "resolve_due": RESOLVE_DUE, "extension_requested_by_id": HANDLER_ID,
        "extension_requested_until": ASKED_UNTIL, "extension_due": END_FRI,
        "due_at": END_FRI, "due_kind": "extension", **kw})


def test_approved_extension_moves_the_resolve_deadline(decide):
    """Approving sets the resolve deadline to the date asked for and counts the extension."""
    d = decide("extend_decide", pending(extension_count=1), HEAD, {"approve": True})
    assert (d.changes["resolve_due"], d.changes["extension_count"]) == (ASKED_UNTIL, 2)
    assert (d.changes["extension_due"], d.changes["extension_requested_by_id"]) == (None, None)
    assert due(d) == (ASKED_UNTIL, "resolve", None)


def test_refused_extension_keeps_the_resolve_deadline(decide):
    """Refusing clears the request; the complaint waits on the old resolve deadline again."""
    d = decide("extend_decide", pending(), MANAGER, {"approve": False, "note": "No."})
    assert "resolve_due" not in d.changes and "extension_count" not in d.changes
    assert (d.changes["extension_due"], d.changes["extension_requested_until"]) == (None, None)
    assert due(d) == (RESOLVE_DUE, "resolve", None)
    assert d.note == "No."


def test_late_decision_lands_on_a_missed_resolve_deadline(decide):
    """Decided after the resolve deadline and refused: overdue at once."""
    later = RESOLVE_DUE + timedelta(hours=1)
    d = decide("extend_decide", pending(), MANAGER, {"approve": False}, now=later)
    assert due(d) == (RESOLVE_DUE, "resolve", later)
    assert d.changes["was_overdue"] is True


def test_extension_request_refused_while_one_is_pending(decide, refusal_sentence):
    """A second extension request while one waits for a decision is refused."""
    with pytest.raises(TransitionNotAllowed) as info:
        decide("extend_request", pending(), HANDLER, {"reason": "More.", "new_due": ASKED_UNTIL})
    assert "already waiting" in refusal_sentence(info.value)


def test_extension_decision_needs_a_pending_request(decide, refusal_sentence):
    """Deciding an extension when none is pending is refused."""
    with pytest.raises(TransitionNotAllowed) as info:
        decide("extend_decide", in_progress(RESOLVE_DUE), MANAGER, {"approve": True})
    assert "no extension request" in refusal_sentence(info.value)


def test_dept_head_cannot_decide_own_extension(decide, refusal_sentence):
    """A department head may not decide their own extension request; a manager or an
    executive may."""
    f = pending(extension_requested_by_id=HEAD_ID)
    with pytest.raises(RuleError) as info:
        decide("extend_decide", f, HEAD, {"approve": True})
    assert "own extension" in refusal_sentence(info.value)
    for actor in (MANAGER, EXECUTIVE):
        assert decide("extend_decide", f, actor, {"approve": True}).to_status == "in_progress"
