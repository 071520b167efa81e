"""perform_many reports per complaint; services.edits.edit changes only what was changed."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from models import ComplaintEvent, db
from rules.errors import InvalidInput, MissingInput, PermissionDenied, TransitionNotAllowed
from services import edits
from services.complaints import NotFound, perform_many
from tests.factories import T1


def test_perform_many_reports_done_and_refused_per_complaint(desk):
    """Each id is checked and written on its own; the refused ones say why, the rest go through."""
    first = desk.bring_to("in_progress")
    second = desk.bring_to("forwarded")
    closed = desk.bring_to("closed")
    numbers = {cid: desk.row(cid)["number"] for cid in (first, second, closed)}
    events_before = desk.count(ComplaintEvent)

    result = perform_many([first, closed, 999_999, "abc", second], "escalate",
                          desk.staff("manager"), {"reason": "weekly review"}, now=T1)

    assert result.done == [numbers[first], numbers[second]]
    refused = dict(result.refused)
    assert list(refused) == [numbers[closed], "999999", "abc"]
    assert isinstance(refused[numbers[closed]], TransitionNotAllowed)
    assert isinstance(refused["999999"], NotFound) and isinstance(refused["abc"], NotFound)
    db.session.expire_all()
    assert desk.count(ComplaintEvent) == events_before + 2
    assert [desk.row(c)["escalation_level"] for c in (first, second, closed)] == [1, 1, 0]


def test_perform_many_does_not_reveal_numbers_outside_scope(desk):
    """A department head's bulk action names an out-of-scope complaint by the id it sent only."""
    mine = desk.bring_to("forwarded")
    theirs = desk.bring_to("accepted")
    desk.act(theirs, "forward", "intake", T1, department_id="@log")
    result = perform_many([mine, theirs], "escalate", desk.staff("head_qa"),
                          {"reason": "customer calls daily"}, now=T1)
    assert result.done == [desk.row(mine)["number"]]
    assert [(ref, type(err)) for ref, err in result.refused] == [(str(theirs), NotFound)]
    assert desk.row(theirs)["escalation_level"] == 0


def test_perform_many_with_nothing_to_do(desk):
    """An empty selection does nothing and reports nothing."""
    result = perform_many([], "escalate", desk.staff("manager"), {"reason": "x"}, now=T1)
    assert (result.done, result.refused) == ([], [])


# --- services.edits.edit: what the edit screen calls ------------------------------------


def edit(desk, cid, username, reason=None, **values):
    """The edit screen's save: the form's values, the version it was opened with."""
    version = desk.row(cid)["version"]
    return edits.edit(cid, values, desk.staff(username), expected_version=version,
                      reason=reason, now=T1)


def test_edit_writes_one_edit_event(desk):
    """A generic edit writes one 'edit' event naming the changed fields, old and new."""
    cid = desk.bring_to("in_progress")
    before = desk.row(cid)
    edit(desk, cid, "intake", title="冰箱噪音大", customer_class="A")
    row, events = desk.row(cid), desk.events(cid)
    event = events[-1]
    assert (event["action"], event["actor_id"], event["at"]) == ("edit", desk.staff("intake").id,
                                                                  T1)
    assert (event["from_status"], event["to_status"]) == ("in_progress", "in_progress")
    assert event["from_department_id"] == event["to_department_id"] == before["department_id"]
    assert event["note"] == "customer_class: C → A; title: 冰箱不制冷 → 冰箱噪音大"
    assert row["title"] == "冰箱噪音大" and row["updated_at"] == T1
    assert row["version"] == before["version"] + 1
    assert [e["action"] for e in events[len(desk.events(cid)) - 2:]][-2] != "edit"


def test_edit_keeps_phone_search_key_in_step(desk):
    """Editing the phone updates the normalised phone used by the exact phone search."""
    cid = desk.bring_to("registered")
    edit(desk, cid, "intake", customer_phone="+86 139-0000-1111")
    assert desk.row(cid)["customer_phone_norm"] == "13900001111"


def test_no_op_edit_writes_nothing(desk):
    """Saving the form as it was loaded (times at the form's minute precision) writes nothing."""
    received = datetime(2026, 11, 23, 8, 17, 42)  # seconds the form does not show
    cid = desk.register(received_at=received)
    before = desk.state(cid)
    row = desk.row(cid)
    values = {name: row[name] for name in edits.EDITABLE_FIELDS}
    values["received_at"] = received.replace(second=0)  # what the form sends back
    edit(desk, cid, "intake", **values)
    assert desk.state(cid) == before
    assert desk.row(cid)["received_at"] == received  # the seconds are kept


def test_edit_of_received_minute_is_a_change(desk):
    """Changing the minute of the receipt time is a real change, audited."""
    received = datetime(2026, 11, 23, 8, 17, 42)
    cid = desk.register(received_at=received)
    edit(desk, cid, "intake", received_at=datetime(2026, 11, 23, 8, 5))
    assert desk.row(cid)["received_at"] == datetime(2026, 11, 23, 8, 5)
    assert "received_at" in desk.events(cid)[-1]["note"]


def test_edit_out_of_scope_refused(desk):
    """A handler may not edit a complaint assigned to someone else; nothing is saved."""
    cid = desk.bring_to("in_progress")
    before = desk.state(cid)
    with pytest.raises(NotFound):
        edit(desk, cid, "handler_qa2", title="changed")
    assert desk.state(cid) == before


def test_edit_by_handler_refused(desk):
    """Only customer service edits complaints: the handler's own is refused, nothing saved."""
    cid = desk.bring_to("in_progress")
    before = desk.state(cid)
    with pytest.raises(PermissionDenied):
        edit(desk, cid, "handler_qa", title="changed")
    assert desk.state(cid) == before


def test_closed_complaint_edit_refused_for_a_clerk(desk):
    """A closed complaint is part of past figures: a clerk may not change it, even with a reason."""
    cid = desk.bring_to("closed")
    before = desk.state(cid)
    with pytest.raises(PermissionDenied, match="only a manager"):
        edit(desk, cid, "intake", reason="typo", title="changed")
    assert desk.state(cid) == before


def test_closed_complaint_edit_needs_the_managers_reason(desk):
    """A manager may correct a closed complaint, giving a reason that the event keeps."""
    cid = desk.bring_to("closed")
    before = desk.state(cid)
    with pytest.raises(MissingInput):
        edit(desk, cid, "manager", title="changed")
    assert desk.state(cid) == before
    edit(desk, cid, "manager", reason="customer's name misspelt", customer_name="张叁")
    event = desk.events(cid)[-1]
    assert event["action"] == "edit"
    assert event["note"] == "customer's name misspelt — customer_name: 张三 → 张叁"


def test_category_cannot_be_cleared_once_accepted(desk):
    """After acceptance the category stays: clearing it is refused."""
    cid = desk.bring_to("accepted")
    before = desk.state(cid)
    with pytest.raises(MissingInput):
        edit(desk, cid, "intake", category_id=None)
    assert desk.state(cid) == before


def test_edit_refuses_a_receipt_time_in_the_future(desk):
    """The receipt time cannot be moved after now."""
    cid = desk.bring_to("registered")
    before = desk.state(cid)
    with pytest.raises(InvalidInput):
        edit(desk, cid, "intake", received_at=T1 + timedelta(hours=1))
    assert desk.state(cid) == before
