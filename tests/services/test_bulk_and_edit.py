"""perform_many reports per complaint; record_edit audits a generic edit."""

from __future__ import annotations

import pytest
from service_helpers import T1

from models import Complaint, ComplaintEvent, db
from models.engine import write_transaction
from rules.errors import PermissionDenied, TransitionNotAllowed
from services.complaints import NotFound, perform_many, record_edit


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


def edit(desk, cid, username, **values):
    """What the edit screen does: change fields and audit them in one transaction."""
    with write_transaction(db.session):
        actor = desk.staff(username)  # as current_user: loaded before the form is applied
        complaint = db.session.get(Complaint, cid)
        changes = {k: (getattr(complaint, k), v) for k, v in values.items()
                   if getattr(complaint, k) != v}
        for name, (_, new) in changes.items():
            setattr(complaint, name, new)
        return record_edit(complaint, changes, actor, now=T1)


def test_record_edit_writes_one_edit_event(desk):
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
    assert len(events) == len(desk.events(cid)) and events[-2]["action"] != "edit"


def test_record_edit_keeps_phone_search_key_in_step(desk):
    """Editing the phone updates the normalised phone used by the exact phone search."""
    cid = desk.bring_to("registered")
    edit(desk, cid, "intake", customer_phone="+86 139-0000-1111")
    assert desk.row(cid)["customer_phone_norm"] == "13900001111"


def test_record_edit_without_changes_writes_nothing(desk):
    """Saving an unchanged form writes no event."""
    cid = desk.bring_to("registered")
    before = desk.state(cid)
    assert edit(desk, cid, "intake", title="冰箱不制冷") is None
    assert desk.state(cid) == before


def test_record_edit_out_of_scope_refused(desk):
    """A handler may not edit a complaint assigned to someone else; nothing is saved."""
    cid = desk.bring_to("in_progress")
    before = desk.state(cid)
    with pytest.raises(PermissionDenied):
        edit(desk, cid, "handler_qa2", title="changed")
    assert desk.state(cid) == before
