"""The notification outbox: each action tells exactly its declared recipients, in the same
transaction as its event; a refusal tells nobody; nobody is told of their own action; the
sweep tells the responsible person once per missed deadline."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

import services.complaints as complaints_service
from models import ComplaintEvent, Department, Notification, Staff, db
from rules import Actor, Facts, Role
from rules.errors import PermissionDenied, TransitionNotAllowed
from rules.notify import Recipient, recipients
from services.sweep import sweep
from tests.factories import AVERAGE, NOT_REACHED, NOT_SOLVED, SATISFIED, T1, UNSATISFIED

NEW_DUE = datetime(2026, 12, 18, 18, 0)
LATE = datetime(2026, 12, 10, 8, 0)


def last_id() -> int:
    return db.session.scalar(select(func.max(Notification.id))) or 0


def told(after: int, cid: int | None = None) -> set[tuple[str, str]]:
    """(username, kind) of the notifications written after the id ``after``."""
    stmt = (select(Staff.username, Notification.kind, Notification.complaint_id)
            .join(Staff, Staff.id == Notification.recipient_id)
            .where(Notification.id > after))
    if cid is not None:
        stmt = stmt.where(Notification.complaint_id == cid)
    rows = db.session.execute(stmt).all()
    assert len(rows) == len(set(rows)), rows  # nobody told twice of one complaint
    return {(name, kind) for name, kind, _ in rows}


def act(desk, cid, action, user, **inputs):
    mark = last_id()
    outcome = desk.act(cid, action, user, T1, **inputs)
    rows = db.session.scalars(select(Notification).where(Notification.id > mark)).all()
    # Written with the event, in its transaction: they name it and its time.
    assert {(n.event_id, n.created_at, n.complaint_id) for n in rows} <= {
        (outcome.event.id, T1, cid)}
    return told(mark)


def test_forward_tells_the_department_head(desk):
    cid = desk.bring_to("accepted")
    assert act(desk, cid, "forward", "intake", department_id="@qa") == {("head_qa", "forward")}


def test_forward_to_a_person_tells_the_head_and_the_assignee(desk):
    cid = desk.bring_to("accepted")
    assert act(desk, cid, "forward", "manager", department_id="@qa",
               assignee_id="@handler_qa") == {("head_qa", "forward"), ("handler_qa", "forward")}


def test_assign_tells_the_assignee_only(desk):
    cid = desk.bring_to("forwarded")
    assert act(desk, cid, "assign", "head_qa", assignee_id="@handler_qa") == {
        ("handler_qa", "assign")}


def test_the_actor_is_never_told_of_their_own_action(desk):
    cid = desk.bring_to("forwarded")
    assert act(desk, cid, "assign", "head_qa", assignee_id="@head_qa") == set()


def test_urge_tells_the_assignee_and_the_head(desk):
    cid = desk.bring_to("in_progress")
    assert act(desk, cid, "urge", "supervisor", note="客户第三次来电") == {
        ("handler_qa", "urge"), ("head_qa", "urge")}


def test_unsatisfied_callback_tells_assignee_head_and_the_new_escalation_owner(desk):
    cid = desk.bring_to("callback")
    # Escalated once while calling back (level 1: customer service's manager owns it).
    assert act(desk, cid, "escalate", "intake", reason="angry") == {("manager", "escalate")}
    # Unsatisfied: back to QA, escalated again to level 2 (the customer-service manager).
    assert act(desk, cid, "callback", "intake", **UNSATISFIED) == {
        ("handler_qa", "reopened"), ("head_qa", "reopened"), ("manager", "reopened")}
    assert desk.row(cid)["escalation_level"] == 2


def test_unsatisfied_callback_at_level_one_tells_the_head_once(desk):
    cid = desk.bring_to("callback")
    assert act(desk, cid, "callback", "intake", **UNSATISFIED) == {
        ("handler_qa", "reopened"), ("head_qa", "reopened")}


def test_a_callback_that_does_not_send_it_back_tells_nobody(desk):
    """Satisfied, average or unreached callbacks are customer service's own business."""
    cid = desk.bring_to("callback", category="product_quality")
    for outcome in (SATISFIED, AVERAGE, NOT_REACHED):
        assert act(desk, cid, "callback", "intake", **outcome) == set()
    assert act(desk, cid, "callback", "intake", **NOT_SOLVED) == {
        ("handler_qa", "reopened"), ("head_qa", "reopened")}


def test_extension_request_tells_the_head_and_the_decision_the_requester(desk):
    cid = desk.bring_to("in_progress")
    assert act(desk, cid, "extend_request", "handler_qa", reason="parts",
               new_due=NEW_DUE) == {("head_qa", "extend_request")}
    assert act(desk, cid, "extend_decide", "head_qa", approve=True) == {
        ("handler_qa", "extend_decide")}


def test_extension_asked_by_the_head_tells_the_managers(desk):
    cid = desk.bring_to("in_progress")
    assert act(desk, cid, "extend_request", "head_qa", reason="parts", new_due=NEW_DUE) == {
        ("manager", "extend_request")}


def test_the_department_head_of_record_is_preferred(desk):
    """Department.head_id names the head; other department heads there are not told."""
    cid = desk.bring_to("accepted")
    dept = db.session.get(Department, desk.org.qa)
    dept.head_id = desk.org.users["handler_qa2"]
    db.session.commit()
    assert act(desk, cid, "forward", "intake", department_id="@qa") == {
        ("handler_qa2", "forward")}


def test_critical_registration_tells_managers_executives_and_supervisors(desk, executive):
    mark = last_id()
    cid = desk.register(severity="critical")
    assert told(mark, cid) == {("manager", "critical_registered"),
                               ("executive", "critical_registered"),
                               ("supervisor", "critical_registered")}
    (event,) = [e for e in desk.events(cid) if e["action"] == "register"]
    assert {n.event_id for n in db.session.scalars(
        select(Notification).where(Notification.complaint_id == cid))} == {event["id"]}


def test_normal_registration_tells_nobody(desk, executive):
    mark = last_id()
    desk.register()
    assert told(mark) == set()


@pytest.mark.parametrize("action, user, inputs, error", [
    ("assign", "handler_qa", {"assignee_id": "@handler_qa"}, PermissionDenied),
    ("forward", "intake", {"department_id": "@qa"}, TransitionNotAllowed),
])
def test_a_refused_action_tells_nobody(desk, action, user, inputs, error):
    cid = desk.bring_to("in_progress")
    mark = last_id()
    with pytest.raises(error):
        desk.act(cid, action, user, T1, **inputs)
    assert told(mark) == set()


def test_notifications_roll_back_with_the_event(desk, monkeypatch):
    """One transaction: a failure after the notifications are written leaves neither."""
    cid = desk.bring_to("in_progress")
    events = len(desk.events(cid))
    mark = last_id()
    real = complaints_service.notifications.write_for_action

    def failing(*args, **kwargs):
        real(*args, **kwargs)
        assert db.session.scalar(select(func.count()).select_from(Notification)
                                 .where(Notification.id > mark)) == 2
        raise RuntimeError("boom")

    monkeypatch.setattr(complaints_service.notifications, "write_for_action", failing)
    with pytest.raises(RuntimeError):
        desk.act(cid, "urge", "supervisor", T1, note="hurry")
    db.session.rollback()
    assert told(mark) == set() and len(desk.events(cid)) == events


def test_sweep_tells_the_responsible_person_once_per_missed_deadline(desk):
    registered = desk.bring_to("registered")  # customer service's clock: the managers
    forwarded = desk.bring_to("forwarded")  # no assignee yet: the department head
    in_progress = desk.bring_to("in_progress")  # the assignee
    mark = last_id()
    sweep(LATE)
    # Each rose to level 1: its new owner is told "escalated" unless already told
    # "overdue" of the same event (the manager, the head of a forwarded complaint).
    assert told(mark) == {("manager", "overdue"), ("head_qa", "overdue"),
                          ("handler_qa", "overdue"), ("head_qa", "escalated")}
    assert told(mark, registered) == {("manager", "overdue")}
    assert told(mark, forwarded) == {("head_qa", "overdue")}
    assert told(mark, in_progress) == {("handler_qa", "overdue"), ("head_qa", "escalated")}
    overdue = db.session.scalars(select(ComplaintEvent.id).where(
        ComplaintEvent.action == "overdue")).all()
    assert set(db.session.scalars(select(Notification.event_id).where(
        Notification.id > mark))) == set(overdue)
    second = last_id()
    assert sweep(LATE).marked == 0
    assert told(second) == set()


def test_sweep_tells_no_one_who_left(desk):
    """A departed assignee is not told of the missed deadline: the department's active
    head is (once: the head owns the escalation too, so no second "escalated")."""
    cid = desk.bring_to("in_progress")
    db.session.get(Staff, desk.org.users["handler_qa"]).active = False
    db.session.commit()
    mark = last_id()
    sweep(LATE)
    assert told(mark, cid) == {("head_qa", "overdue")}


def test_recipients_rule_maps_every_symbol():
    """rules.notify: each RECIPIENTS symbol → a description, read after the action."""
    before = Facts(status="in_progress", department_id=7, assignee_id=3,
                   extension_requested_by_id=3)
    after = Facts(status="in_progress", department_id=7, assignee_id=3, registered_by_id=9,
                  escalation_level=3)
    actor = Actor(id=1, role=Role.MANAGER)
    got = recipients(("assignee", "department_head", "customer_service", "managers",
                      "executives", "escalation_owner", "extension_approver",
                      "extension_requester", "registered_by"), before, after, actor)
    assert got == (Recipient(person_id=3), Recipient(head_of=7), Recipient(role=Role.INTAKE),
                   Recipient(role=Role.MANAGER), Recipient(role=Role.EXECUTIVE),
                   Recipient(person_id=9))
    level1 = Facts(status="in_progress", department_id=7, escalation_level=1)
    assert recipients(("escalation_owner",), level1, level1, actor) == (Recipient(head_of=7),)
    with pytest.raises(ValueError):
        recipients(("nobody",), level1, level1, actor)


def test_reopening_tells_as_reopened(desk):
    """A reopen always sends the work back: its notifications are "reopened" (so the
    settings page offers no separate "reopen" kind: rules.delivery.ALWAYS_REOPENED)."""
    cid = desk.bring_to("callback_done")
    desk.act(cid, "close", "intake", T1)
    assert act(desk, cid, "reopen", "manager", reason="客户再次投诉") == {
        ("handler_qa", "reopened"), ("head_qa", "reopened")}
