"""services.complaints.perform: an accepted action writes one exact event; a refusal nothing."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from models import Assist, Complaint, db
from rules.errors import (
    InvalidInput,
    MissingInput,
    PermissionDenied,
    RuleError,
    StaleVersion,
    TransitionNotAllowed,
    each_error,
)
from services.complaints import NotFound, perform
from tests.factories import AVERAGE, NOT_SOLVED, RESOLUTION, SATISFIED, T1, UNSATISFIED

NEW_DUE = datetime(2026, 12, 18, 18, 0)

# (case id, action, start status, start fields, actor, inputs,
#  expected: to_status, from/to department, from/to assignee, level, extra column values)
ACCEPTED = [
    ("accept", "accept", "registered", {}, "intake", {},
     ("accepted", None, None, None, None, 0, {"validity": "valid", "accepted_at": T1})),
    ("reject", "reject", "registered", {}, "intake", {"reason": "duplicate of TS-1"},
     ("rejected", None, None, None, None, 0,
      {"validity": "invalid", "validity_reason": "duplicate of TS-1", "due_kind": "reply"})),
    ("reply", "reply", "rejected", {}, "intake", {"method": "phone", "note": "told by phone"},
     ("closed", None, None, None, None, 0,
      {"validity": "invalid", "closed_at": T1, "due_at": None, "due_kind": None})),
    ("forward", "forward", "accepted", {}, "intake", {"department_id": "@qa"},
     ("forwarded", None, "@qa", None, None, 0, {"forwarded_at": T1})),
    ("forward_to_person", "forward", "accepted", {}, "manager",
     {"department_id": "@qa", "assignee_id": "@handler_qa"},
     ("in_progress", None, "@qa", None, "@handler_qa", 0, {"assigned_at": T1})),
    ("return", "return", "forwarded", {}, "head_qa", {"reason": "not ours: logistics"},
     ("accepted", "@qa", None, None, None, 0, {"resolve_due": None, "due_kind": "forward"})),
    ("assign", "assign", "forwarded", {}, "head_qa", {"assignee_id": "@handler_qa"},
     ("in_progress", "@qa", "@qa", None, "@handler_qa", 0, {"assigned_at": T1})),
    ("resolve", "resolve", "in_progress", {}, "handler_qa", RESOLUTION,
     ("resolved", "@qa", "@qa", "@handler_qa", "@handler_qa", 0,
      {"root_cause": "batch defect", "remedy": "exchange", "resolved_at": T1})),
    ("resolve_on_the_spot", "resolve", "registered", {}, "intake",
     {**RESOLUTION, "remedy": "explanation", "resolution": "explained the warranty terms"},
     ("callback", None, None, None, None, 0,
      {"answered_on_the_spot": True, "validity": "valid", "due_kind": "callback"})),
    ("review_approve", "review_approve", "resolved", {}, "intake", {},
     ("callback", "@qa", "@qa", "@handler_qa", "@handler_qa", 0, {"reviewed_at": T1})),
    ("review_send_back", "review_send_back", "resolved", {}, "intake",
     {"reason": "root cause not explained"},
     ("in_progress", "@qa", "@qa", "@handler_qa", "@handler_qa", 0, {})),
    ("callback", "callback", "callback", {}, "intake", SATISFIED,
     ("callback", "@qa", "@qa", "@handler_qa", "@handler_qa", 0,
      {"callbacks_reached": 1, "last_satisfaction": "satisfied"})),
    ("callback_unsatisfied", "callback", "callback", {}, "intake", UNSATISFIED,
     ("in_progress", "@qa", "@qa", "@handler_qa", "@handler_qa", 1,
      {"reopen_count": 1, "callbacks_reached": 0, "due_kind": "resolve"})),
    ("callback_not_solved", "callback", "callback", {}, "intake", NOT_SOLVED,
     ("in_progress", "@qa", "@qa", "@handler_qa", "@handler_qa", 1,
      {"reopen_count": 1, "callbacks_reached": 0, "due_kind": "resolve"})),
    ("callback_average", "callback", "callback", {}, "intake", AVERAGE,
     ("callback", "@qa", "@qa", "@handler_qa", "@handler_qa", 0,
      {"callbacks_reached": 1, "last_satisfaction": "average", "due_kind": "callback"})),
    ("close", "close", "callback_done", {}, "intake", {},
     ("closed", "@qa", "@qa", "@handler_qa", "@handler_qa", 0,
      {"closed_at": T1, "final_satisfaction": "satisfied", "due_at": None})),
    ("force_close", "force_close", "in_progress", {}, "manager", {"reason": "customer withdrew"},
     ("closed", "@qa", "@qa", "@handler_qa", "@handler_qa", 0, {"closed_at": T1})),
    ("reopen_closed", "reopen", "closed", {}, "manager", {"reason": "fault came back"},
     ("in_progress", "@qa", "@qa", "@handler_qa", "@handler_qa", 0,
      {"reopen_count": 1, "closed_at": None})),
    ("reopen_rejected", "reopen", "rejected", {}, "manager", {"reason": "wrongly rejected"},
     ("accepted", None, None, None, None, 0,
      {"reopen_count": 1, "validity": "valid", "due_kind": "forward"})),
    ("reopen_average_callback", "reopen", "callback", {}, "executive",
     {"reason": "customer still unhappy"},
     ("in_progress", "@qa", "@qa", "@handler_qa", "@handler_qa", 0,
      {"reopen_count": 1, "due_kind": "resolve"})),
    ("escalate", "escalate", "forwarded", {}, "head_qa", {"reason": "customer keeps calling"},
     ("forwarded", "@qa", "@qa", None, None, 1, {})),
    ("extend_request", "extend_request", "in_progress", {}, "handler_qa",
     {"reason": "waiting for the supplier", "new_due": NEW_DUE},
     ("in_progress", "@qa", "@qa", "@handler_qa", "@handler_qa", 0,
      {"extension_requested_until": NEW_DUE, "extension_requested_by_id": "@handler_qa"})),
    ("extend_decide", "extend_decide", "extension_pending", {}, "head_qa", {"approve": True},
     ("in_progress", "@qa", "@qa", "@handler_qa", "@handler_qa", 0,
      {"resolve_due": NEW_DUE, "due_at": NEW_DUE, "extension_count": 1,
       "extension_requested_until": None})),
    ("urge", "urge", "in_progress", {}, "supervisor", {"note": "please hurry"},
     ("in_progress", "@qa", "@qa", "@handler_qa", "@handler_qa", 0, {})),
    ("note", "note", "in_progress", {}, "handler_qa", {"note": "visit arranged for Friday"},
     ("in_progress", "@qa", "@qa", "@handler_qa", "@handler_qa", 0, {"due_kind": "resolve"})),
    ("instruct", "instruct", "in_progress", {}, "executive", {"note": "refund at once"},
     ("in_progress", "@qa", "@qa", "@handler_qa", "@handler_qa", 0, {})),
    # (the master is registered first: tests/services/test_merge.py)
    ("merge", "merge", "in_progress_with_master", {}, "intake",
     {"master_number": "#master"},
     ("closed", "@qa", "@qa", "@handler_qa", "@handler_qa", 0,
      {"closed_at": T1, "due_at": None, "merged_into_id": "#master_id"})),
    # 反馈上级 (its own tests: tests/rules/test_upstream_rules.py, test_record_fields.py)
    ("report_upstream", "report_upstream", "in_progress",
     {"upstream_source": "provincial", "upstream_ref": "SJ-2026-1"}, "intake",
     {"method": "phone", "note": "told the provincial centre"},
     ("in_progress", "@qa", "@qa", "@handler_qa", "@handler_qa", 0,
      {"upstream_reported_at": T1, "upstream_ref": "SJ-2026-1"})),
    # 处理方案 (rules.plan; its own tests: tests/rules/test_plan_rules.py)
    ("plan_submit", "plan_submit", "in_progress", {}, "handler_qa", {"plan": "exchange it"},
     ("in_progress", "@qa", "@qa", "@handler_qa", "@handler_qa", 0,
      {"plan_state": "submitted", "plan_submitted_by_id": "@handler_qa", "due_kind": "plan"})),
    ("plan_approve", "plan_approve", "plan_submitted", {}, "head_qa", {},
     ("in_progress", "@qa", "@qa", "@handler_qa", "@handler_qa", 0,
      {"plan_state": "approved", "plan_due": None, "due_kind": "plan_answer"})),
    ("plan_return", "plan_return", "plan_submitted", {}, "head_qa", {"reason": "say when"},
     ("in_progress", "@qa", "@qa", "@handler_qa", "@handler_qa", 0,
      {"plan_state": "returned", "plan_due": None, "due_kind": "resolve"})),
    ("plan_answer", "plan_answer", "plan_approved", {}, "intake", {"agreed": True},
     ("in_progress", "@qa", "@qa", "@handler_qa", "@handler_qa", 0,
      {"plan_state": "agreed", "plan_answer_due": None, "due_kind": "resolve"})),
    # 协办 (rules.assist; its own tests: tests/rules/test_assist_rules.py)
    ("assist_add", "assist_add", "in_progress", {}, "head_qa",
     {"department_id": "@log", "task": "check the delivery"},
     ("in_progress", "@qa", "@qa", "@handler_qa", "@handler_qa", 0, {"assists_open": 1})),
    ("assist_withdraw", "assist_withdraw", "assist_open", {}, "intake",
     {"part": "#part", "reason": "not needed"},
     ("in_progress", "@qa", "@qa", "@handler_qa", "@handler_qa", 0, {"assists_open": 0})),
]


def start(desk, status, fields):
    if status == "registered_no_category":
        return desk.register(category=None)
    if status in ("callback_average", "callback_not_solved"):
        cid = desk.bring_to("callback", **fields)
        desk.act(cid, "callback", "intake", **(AVERAGE if status == "callback_average"
                                                else NOT_SOLVED))
        return cid
    if status == "in_progress_with_master":
        desk.master_id = desk.register()
        return desk.bring_to("in_progress", **fields)
    if status in ("plan_submitted", "plan_approved"):
        cid = desk.bring_to("in_progress", **fields)
        desk.act(cid, "plan_submit", "handler_qa", plan="exchange it")
        if status == "plan_approved":
            desk.act(cid, "plan_approve", "head_qa")
        return cid
    if status == "assist_open":
        cid = desk.bring_to("in_progress", **fields)
        desk.act(cid, "assist_add", "head_qa", department_id="@log", task="check the delivery")
        desk.part_id = db.session.scalar(select(func.max(Assist.id)))
        return cid
    if status == "extension_pending":
        cid = desk.bring_to("in_progress", **fields)
        desk.act(cid, "extend_request", "handler_qa", reason="waiting for parts", new_due=NEW_DUE)
        return cid
    return desk.bring_to(status, **fields)


@pytest.mark.parametrize("case", ACCEPTED, ids=[c[0] for c in ACCEPTED])
def test_accepted_action_writes_one_exact_event(desk, executive, case):
    """An allowed action changes the complaint and writes exactly one event describing it."""
    _, action, status, fields, username, inputs, expected = case
    to_status, from_dept, to_dept, from_assignee, to_assignee, level, extra = expected
    cid = start(desk, status, fields)
    before_row, before_events = desk.row(cid), desk.events(cid)
    if "master_number" in inputs:  # merge: into the master start() registered
        master = desk.row(desk.master_id)
        inputs = {**inputs, "master_number": master["number"]}
        extra = {**extra, "merged_into_id": master["id"]}
    if inputs.get("part") == "#part":  # assist_withdraw: the part start() added
        inputs = {**inputs, "part": desk.part_id}

    out = desk.act(cid, action, username, T1, **inputs)

    db.session.expire_all()
    row, events = desk.row(cid), desk.events(cid)
    assert len(events) == len(before_events) + 1
    event = events[-1]
    assert event["id"] == out.event.id
    assert event["actor_id"] == desk.staff(username).id
    assert event["at"] == T1
    assert event["from_status"] == before_row["status"]
    assert event["to_status"] == to_status == row["status"]
    assert event["from_department_id"] == desk.resolve(from_dept) == before_row["department_id"]
    assert event["to_department_id"] == desk.resolve(to_dept) == row["department_id"]
    assert event["from_assignee_id"] == desk.resolve(from_assignee) == before_row["assignee_id"]
    assert event["to_assignee_id"] == desk.resolve(to_assignee) == row["assignee_id"]
    assert event["escalation_level"] == level == row["escalation_level"]
    assert row["version"] == before_row["version"] + 1
    assert row["updated_at"] == T1
    for column, value in extra.items():
        assert row[column] == desk.resolve(value), column


def test_action_names_in_table_cover_every_workflow_action():
    """The accepted-action table above exercises every action of the transition table."""
    from rules import ACTIONS

    assert {c[1] for c in ACCEPTED} == set(ACTIONS)


def test_event_notes_carry_the_reason(desk):
    """The reason, note or resolution given with an action is kept in its event's note."""
    cid = desk.bring_to("forwarded")
    desk.act(cid, "escalate", "head_qa", T1, reason="客户多次来电")
    desk.act(cid, "urge", "supervisor", T1, note="today please")
    notes = [e["note"] for e in desk.events(cid)[-2:]]
    assert notes == ["客户多次来电", "today please"]


def test_callback_writes_a_callback_record(desk):
    """A callback action stores one CallbackRecord with the caller, method and satisfaction."""
    cid = desk.bring_to("callback")
    out = desk.act(cid, "callback", "intake", T1, **SATISFIED, notes="happy now")
    record = out.callback
    assert (record.complaint_id, record.staff_id, record.method, record.reached,
            record.satisfaction, record.solved, record.notes, record.at) == (
        cid, desk.staff("intake").id, "phone", True, "satisfied", True, "happy now", T1)


def test_register_writes_one_register_event(desk):
    """Registration creates the complaint with a TS number and one 'register' event."""
    cid = desk.register(now=T1)
    row, events = desk.row(cid), desk.events(cid)
    assert row["number"] == "TS-20261123-0001"
    assert row["status"] == "registered" and row["version"] == 1
    assert row["registered_by_id"] == desk.staff("intake").id
    assert [(e["action"], e["actor_id"], e["from_status"], e["to_status"], e["at"])
            for e in events] == [("register", desk.staff("intake").id, None, "registered", T1)]


def test_register_refused_writes_nothing(desk):
    """A refused registration consumes no complaint, event or number."""
    from models import ComplaintEvent, NumberCounter
    from services.complaints import register

    with pytest.raises(MissingInput):
        register({"customer_name": "x", "customer_phone": "13800138000", "title": "t"},
                 desk.staff("intake"), now=T1)  # no description
    assert desk.count(Complaint) == desk.count(ComplaintEvent) == desk.count(NumberCounter) == 0
    assert desk.register(now=T1) and desk.row(1)["number"] == "TS-20261123-0001"


# --- refusals ---------------------------------------------------------------------------

# (case id, start status, actor, action, inputs, expected error)
REFUSED = [
    # wrong status
    ("accept_forwarded", "forwarded", "intake", "accept", {}, TransitionNotAllowed),
    ("reject_closed", "closed", "intake", "reject", {"reason": "x"}, TransitionNotAllowed),
    ("forward_registered", "registered", "intake", "forward", {"department_id": "@qa"},
     TransitionNotAllowed),
    ("return_resolved", "resolved", "head_qa", "return", {"reason": "x"}, TransitionNotAllowed),
    ("assign_accepted", "accepted", "manager", "assign", {"assignee_id": "@handler_qa"},
     TransitionNotAllowed),
    ("resolve_forwarded", "forwarded", "head_qa", "resolve", RESOLUTION, TransitionNotAllowed),
    ("review_approve_in_progress", "in_progress", "intake", "review_approve", {},
     TransitionNotAllowed),
    ("review_send_back_callback", "callback", "intake", "review_send_back", {"reason": "x"},
     TransitionNotAllowed),
    ("callback_resolved", "resolved", "intake", "callback", SATISFIED, TransitionNotAllowed),
    ("close_in_progress", "in_progress", "intake", "close", {}, TransitionNotAllowed),
    ("force_close_closed", "closed", "manager", "force_close", {"reason": "x"},
     TransitionNotAllowed),
    ("reopen_in_progress", "in_progress", "manager", "reopen", {"reason": "x"},
     TransitionNotAllowed),
    ("escalate_closed", "closed", "manager", "escalate", {"reason": "x"}, TransitionNotAllowed),
    ("extend_request_resolved", "resolved", "handler_qa", "extend_request",
     {"reason": "x", "new_due": NEW_DUE}, TransitionNotAllowed),
    ("extend_decide_resolved", "resolved", "head_qa", "extend_decide", {"approve": True},
     TransitionNotAllowed),
    ("urge_closed", "closed", "supervisor", "urge", {"note": "x"}, TransitionNotAllowed),
    ("reply_registered", "registered", "intake", "reply", {"method": "phone", "note": "x"},
     TransitionNotAllowed),
    ("note_resolved", "resolved", "handler_qa", "note", {"note": "x"}, TransitionNotAllowed),
    ("reopen_in_department", "forwarded", "manager", "reopen", {"reason": "x"},
     TransitionNotAllowed),
    ("reply_by_head", "rejected", "supervisor", "reply", {"method": "phone", "note": "x"},
     PermissionDenied),
    ("note_by_supervisor", "in_progress", "supervisor", "note", {"note": "x"},
     PermissionDenied),
    ("instruct_by_manager", "in_progress", "manager", "instruct", {"note": "x"},
     PermissionDenied),
    # wrong role
    ("accept_by_supervisor", "registered", "supervisor", "accept", {}, PermissionDenied),
    ("reject_by_supervisor", "registered", "supervisor", "reject", {"reason": "x"},
     PermissionDenied),
    ("forward_by_supervisor", "accepted", "supervisor", "forward", {"department_id": "@qa"},
     PermissionDenied),
    ("return_by_intake", "forwarded", "intake", "return", {"reason": "x"}, PermissionDenied),
    ("assign_by_handler", "in_progress", "handler_qa", "assign", {"assignee_id": "@handler_qa"},
     PermissionDenied),
    ("resolve_by_intake", "in_progress", "intake", "resolve", RESOLUTION, PermissionDenied),
    ("review_by_head", "resolved", "head_qa", "review_approve", {}, PermissionDenied),
    ("send_back_by_supervisor", "resolved", "supervisor", "review_send_back", {"reason": "x"},
     PermissionDenied),
    ("callback_by_handler", "callback", "handler_qa", "callback", SATISFIED, PermissionDenied),
    ("close_by_supervisor", "callback_done", "supervisor", "close", {}, PermissionDenied),
    ("force_close_by_intake", "in_progress", "intake", "force_close", {"reason": "x"},
     PermissionDenied),
    ("reopen_by_intake", "closed", "intake", "reopen", {"reason": "x"}, PermissionDenied),
    ("escalate_by_supervisor", "in_progress", "supervisor", "escalate", {"reason": "x"},
     PermissionDenied),
    ("extend_request_by_intake", "in_progress", "intake", "extend_request",
     {"reason": "x", "new_due": NEW_DUE}, PermissionDenied),
    ("extend_decide_by_handler", "extension_pending", "handler_qa", "extend_decide",
     {"approve": True}, PermissionDenied),
    ("urge_by_intake", "in_progress", "intake", "urge", {"note": "x"}, PermissionDenied),
    # out of scope: the complaint does not exist for this user
    ("return_other_dept", "forwarded", "head_log", "return", {"reason": "x"}, NotFound),
    ("assign_other_dept", "forwarded", "head_log", "assign", {"assignee_id": "@handler_log"},
     NotFound),
    ("escalate_other_dept", "in_progress", "head_log", "escalate", {"reason": "x"}, NotFound),
    ("resolve_not_assignee", "in_progress", "handler_qa2", "resolve", RESOLUTION, NotFound),
    ("resolve_unassigned", "forwarded", "handler_qa", "resolve", RESOLUTION, NotFound),
    ("extend_request_not_assignee", "in_progress", "handler_qa2", "extend_request",
     {"reason": "x", "new_due": NEW_DUE}, NotFound),
    ("extend_decide_other_dept", "extension_pending", "head_log", "extend_decide",
     {"approve": True}, NotFound),
    ("head_sees_no_unforwarded", "accepted", "head_qa", "escalate", {"reason": "x"}, NotFound),
    # missing input
    ("reject_no_reason", "registered", "intake", "reject", {}, MissingInput),
    ("reject_blank_reason", "registered", "intake", "reject", {"reason": "   "}, MissingInput),
    ("forward_no_department", "accepted", "intake", "forward", {}, MissingInput),
    ("return_no_reason", "forwarded", "head_qa", "return", {"reason": ""}, MissingInput),
    ("assign_no_assignee", "forwarded", "head_qa", "assign", {}, MissingInput),
    ("resolve_no_root_cause", "in_progress", "handler_qa", "resolve",
     {**RESOLUTION, "root_cause": ""}, MissingInput),
    ("send_back_no_reason", "resolved", "intake", "review_send_back", {}, MissingInput),
    ("callback_no_method", "callback", "intake", "callback",
     {**SATISFIED, "method": ""}, MissingInput),
    ("callback_reached_missing", "callback", "intake", "callback", {"method": "phone"},
     MissingInput),
    ("force_close_no_reason", "in_progress", "manager", "force_close", {}, MissingInput),
    ("reopen_no_reason", "closed", "manager", "reopen", {}, MissingInput),
    ("escalate_no_reason", "in_progress", "head_qa", "escalate", {"reason": " "}, MissingInput),
    ("extend_request_no_due", "in_progress", "handler_qa", "extend_request", {"reason": "x"},
     MissingInput),
    ("extend_decide_no_decision", "extension_pending", "head_qa", "extend_decide", {},
     MissingInput),
    ("urge_no_note", "in_progress", "supervisor", "urge", {}, MissingInput),
    ("compensation_without_amount", "in_progress", "handler_qa", "resolve",
     {**RESOLUTION, "remedy": "compensation"}, MissingInput),
    # invalid input
    ("forward_inactive_department", "accepted", "intake", "forward",
     {"department_id": "@closed_dept"}, InvalidInput),
    ("forward_to_customer_service", "accepted", "intake", "forward", {"department_id": "@cs"},
     InvalidInput),
    ("forward_no_such_department", "accepted", "intake", "forward", {"department_id": 9999},
     InvalidInput),
    ("forward_person_of_other_dept", "accepted", "intake", "forward",
     {"department_id": "@qa", "assignee_id": "@handler_log"}, InvalidInput),
    ("assign_person_of_other_dept", "forwarded", "head_qa", "assign",
     {"assignee_id": "@handler_log"}, InvalidInput),
    ("assign_a_clerk", "forwarded", "manager", "assign", {"assignee_id": "@intake"},
     InvalidInput),
    ("resolve_bad_responsibility", "in_progress", "handler_qa", "resolve",
     {**RESOLUTION, "responsibility": "nobody"}, InvalidInput),
    ("resolve_nan_compensation", "in_progress", "handler_qa", "resolve",
     {**RESOLUTION, "remedy": "compensation", "compensation_amount": "NaN"}, InvalidInput),
    ("callback_bad_satisfaction", "callback", "intake", "callback",
     {**SATISFIED, "satisfaction": "ecstatic"}, InvalidInput),
    ("extend_request_earlier_due", "in_progress", "handler_qa", "extend_request",
     {"reason": "x", "new_due": datetime(2026, 11, 24, 12, 0)}, InvalidInput),
    # guards
    ("close_without_callbacks", "callback", "intake", "close", {}, TransitionNotAllowed),
    ("extend_request_twice", "extension_pending", "handler_qa", "extend_request",
     {"reason": "x", "new_due": datetime(2026, 12, 24, 18, 0)}, TransitionNotAllowed),
    ("extend_decide_none_pending", "in_progress", "head_qa", "extend_decide", {"approve": True},
     TransitionNotAllowed),
    ("resolve_on_the_spot_without_result", "registered", "intake", "resolve",
     {"resolution": "x"}, MissingInput),
    ("accept_without_category", "registered_no_category", "intake", "accept", {},
     TransitionNotAllowed),
    ("close_after_average_callback", "callback_average", "intake", "close", {},
     TransitionNotAllowed),
    ("close_after_not_solved_is_impossible", "callback_not_solved", "intake", "close", {},
     TransitionNotAllowed),
    ("forward_to_unstaffed_department", "accepted", "intake", "forward",
     {"department_id": "@empty_dept"}, InvalidInput),
    ("unknown_action", "in_progress", "admin", "delete", {}, InvalidInput),
]


@pytest.fixture
def empty_dept(desk):
    """An active department with nobody in it who could take a complaint."""
    from models import Department

    dept = Department(code="EMPTY", name="空部门", active=True)
    db.session.add(dept)
    db.session.commit()
    desk.org.empty_dept = dept.id
    return dept.id


@pytest.mark.parametrize("case", REFUSED, ids=[c[0] for c in REFUSED])
def test_refused_action_changes_nothing(desk, empty_dept, case):
    """A refused action raises its RuleError; complaint, events and callbacks stay as they were."""
    _, status, username, action, inputs, error = case
    cid = start(desk, status, {})
    before = desk.state(cid)
    with pytest.raises(RuleError) as info:
        desk.act(cid, action, username, T1, **inputs)
    # Several inputs missing or wrong are refused together (InputErrors), each of its kind.
    assert all(isinstance(err, error) for err in each_error(info.value)), info.value
    assert str(info.value)
    assert desk.state(cid) == before


def test_escalation_above_top_level_refused(desk):
    """A critical complaint starts at level 2, escalates once to 3, and no further."""
    cid = desk.bring_to("in_progress", severity="critical")
    assert desk.row(cid)["escalation_level"] == 2
    desk.act(cid, "escalate", "manager", T1, reason="board member's complaint")
    assert desk.row(cid)["escalation_level"] == 3
    before = desk.state(cid)
    with pytest.raises(TransitionNotAllowed):
        desk.act(cid, "escalate", "manager", T1, reason="again")
    assert desk.state(cid) == before


def test_head_cannot_decide_own_extension(desk):
    """A department head's own extension request is refused to them and decided by a manager."""
    cid = desk.bring_to("in_progress")
    desk.act(cid, "extend_request", "head_qa", T1, reason="supplier late", new_due=NEW_DUE)
    before = desk.state(cid)
    with pytest.raises(TransitionNotAllowed):
        desk.act(cid, "extend_decide", "head_qa", T1, approve=True)
    assert desk.state(cid) == before
    desk.act(cid, "extend_decide", "manager", T1, approve=False)
    row = desk.row(cid)
    assert row["extension_requested_until"] is None and row["extension_count"] == 0


@pytest.mark.parametrize("complaint_id", [999_999, "abc", None, "1; DROP TABLE complaint"])
def test_unknown_complaint_is_not_found(desk, complaint_id):
    """An id that names no complaint (or is not a number) is refused as 'not found'."""
    desk.bring_to("registered")
    before = desk.state(1)
    with pytest.raises(NotFound):
        perform(complaint_id, "accept", desk.staff("intake"), now=T1)
    assert desk.state(1) == before


# --- optimistic locking -----------------------------------------------------------------


def test_current_version_is_accepted(desk):
    """An action carrying the complaint's current version goes through."""
    cid = desk.bring_to("registered")
    version = desk.row(cid)["version"]
    perform(cid, "accept", desk.staff("intake"), expected_version=version, now=T1)
    assert desk.row(cid)["version"] == version + 1


@pytest.mark.parametrize("offset", [-1, 1, "garbage"])
def test_stale_version_is_refused(desk, offset):
    """An action prepared on another version is refused with StaleVersion and changes nothing."""
    cid = desk.bring_to("forwarded")
    version = desk.row(cid)["version"]
    expected = "garbage" if offset == "garbage" else version + offset
    before = desk.state(cid)
    with pytest.raises(StaleVersion):
        perform(cid, "escalate", desk.staff("head_qa"), {"reason": "x"},
                expected_version=expected, now=T1)
    assert desk.state(cid) == before


def test_version_from_before_a_change_is_stale(desk):
    """Two users open the same complaint; the second to act on the old version is refused."""
    cid = desk.bring_to("forwarded")
    opened = desk.row(cid)["version"]
    perform(cid, "urge", desk.staff("supervisor"), {"note": "first"}, expected_version=opened,
            now=T1)
    before = desk.state(cid)
    with pytest.raises(StaleVersion):
        perform(cid, "escalate", desk.staff("head_qa"), {"reason": "second"},
                expected_version=opened, now=T1)
    assert desk.state(cid) == before
