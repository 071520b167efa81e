"""services.due_soon: one ``due_soon`` notification per person and deadline falling within
one working day (the deadlines' working calendar), to whoever answers for it; run by the
sweep; set-based, batched, never twice, safe when sweeps run together."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Integer, func, literal, select

from models import CalendarDay, Complaint, Department, Notification, Staff, db
from rules.deadlines import is_due_soon
from rules.notify import DUE_SOON, due_soon_key
from services.calendar_source import business_calendar
from services.due_soon import notify_due_soon
from services.sweep import sweep
from services.sweep_sql import due_soon_key_clause
from tests.factories import T0, insert_complaint, run_concurrently

FRIDAY = datetime(2026, 11, 27, 10, 0)  # one working day from it: Monday 11-30 10:00
RESOLVE_DUE = datetime(2026, 12, 2, 23, 59, 59)  # forwarded at T0: 7 working days


def rows(after: int = 0, cid: int | None = None) -> list[Notification]:
    stmt = select(Notification).where(Notification.id > after, Notification.kind == DUE_SOON)
    if cid is not None:
        stmt = stmt.where(Notification.complaint_id == cid)
    return db.session.scalars(stmt.order_by(Notification.id)).all()


def told(after: int = 0, cid: int | None = None) -> set[str]:
    names = dict(db.session.execute(select(Staff.id, Staff.username)).all())
    return {names[n.recipient_id] for n in rows(after, cid)}


def last_id() -> int:
    return db.session.scalar(select(func.max(Notification.id))) or 0


def add(due_at, *, status="in_progress", due_kind="resolve", **fields) -> int:
    """A complaint row waiting on ``due_at`` (committed: the service writes in its own
    transactions)."""
    cid = insert_complaint(status=status, due_at=due_at, due_kind=due_kind, **fields).id
    db.session.commit()
    return cid


def test_a_deadline_within_one_working_day_tells_the_responsible_person_once(desk):
    cid = desk.bring_to("in_progress")
    now = RESOLVE_DUE - timedelta(hours=20)
    assert notify_due_soon(now) == 1
    (note,) = rows(cid=cid)
    assert told() == {"handler_qa"}
    assert (note.created_at, note.event_id, note.read_at, note.planned_at) == (now, None,
                                                                               None, None)
    assert note.key == due_soon_key(cid, "resolve", RESOLVE_DUE, desk.org.users["handler_qa"])
    assert note.key == f"due_soon:{cid}:resolve:2026-12-02T23:59:59:{note.recipient_id}"
    # Never twice for the same deadline, however often (and however late) it runs.
    assert notify_due_soon(now) == 0
    assert notify_due_soon(RESOLVE_DUE) == 0
    assert len(rows()) == 1


def test_nothing_before_the_last_working_day(desk):
    desk.bring_to("in_progress")
    assert notify_due_soon(RESOLVE_DUE - timedelta(hours=25)) == 0
    assert rows() == []


def test_the_weekend_does_not_use_up_the_working_day(desk):
    """On Friday 10:00 one working day runs until Monday 10:00."""
    monday_9, monday_11 = datetime(2026, 11, 30, 9, 0), datetime(2026, 11, 30, 11, 0)
    soon, later = add(monday_9, department_id=desk.org.qa), add(monday_11,
                                                                department_id=desk.org.qa)
    assert notify_due_soon(FRIDAY) == 1
    assert {n.complaint_id for n in rows()} == {soon}
    assert notify_due_soon(monday_9) == 1  # Monday 9:00: Monday 11:00 is due soon now
    assert {n.complaint_id for n in rows()} == {soon, later}


def test_statutory_holidays_and_company_overrides_count_as_the_deadlines_count_them(desk):
    """National Day 2026: on 30 September one working day runs until 8 October (statutory
    data); a company override making 1 October a working day brings it back to 1 October."""
    now = datetime(2026, 9, 30, 10, 0)
    cid = add(datetime(2026, 10, 7, 12, 0), department_id=desk.org.qa)
    assert notify_due_soon(now) == 1
    db.session.execute(Notification.__table__.delete())
    db.session.add(CalendarDay(day=datetime(2026, 10, 1).date(), is_working_day=True))
    db.session.commit()
    assert business_calendar().due_soon_cutoff(now) == datetime(2026, 10, 1, 10, 0)
    assert notify_due_soon(now) == 0
    assert rows(cid=cid) == []


def test_the_sql_condition_equals_rules_is_due_soon(desk):
    """For due times all around now and the cutoff (a Friday: across the weekend), open
    and closed, marked missed or not: told exactly for what rules.is_due_soon says."""
    calendar = business_calendar()
    cutoff = calendar.due_soon_cutoff(FRIDAY)
    moments = sorted({FRIDAY + timedelta(minutes=m) for m in (-60, -1, 0, 1, 60)}
                     | {cutoff + timedelta(seconds=s) for s in (-61, -1, 0, 1, 3600)}
                     | {FRIDAY + timedelta(days=d) for d in (1, 2, 5)})
    expected = set()
    for due, status, missed in itertools.product(moments, ("in_progress", "closed"),
                                                 (False, True)):
        cid = add(due, status=status, department_id=desk.org.qa,
                  overdue_since=due if missed else None)
        if status != "closed" and not missed and is_due_soon(due, FRIDAY, calendar):
            expected.add(cid)
    assert expected  # the grid holds both sides
    notify_due_soon(FRIDAY)
    assert {n.complaint_id for n in rows()} == expected


@pytest.mark.parametrize("status", ["registered", "accepted", "rejected", "forwarded",
                                    "in_progress", "resolved", "callback"])
def test_the_same_people_are_told_as_when_the_deadline_is_missed(desk, status):
    """Due soon tells exactly whom the sweep tells ``overdue`` for the same clock."""
    db.session.get(Department, desk.org.cs).head_id = None
    db.session.commit()
    cid = desk.bring_to(status)
    due = desk.row(cid)["due_at"]
    notify_due_soon(due - timedelta(minutes=30))
    soon = told(cid=cid)
    mark = last_id()
    sweep(due + timedelta(seconds=1))
    overdue = {db.session.get(Staff, n.recipient_id).username for n in db.session.scalars(
        select(Notification).where(Notification.id > mark, Notification.kind == "overdue"))}
    assert soon == overdue and soon


def test_customer_service_clocks_go_to_its_head_else_its_managers(desk):
    cid = desk.bring_to("registered")  # accept within 24 h: T0 + 24 h
    assert notify_due_soon(T0 + timedelta(hours=1)) == 1
    assert told(cid=cid) == {"manager"}
    db.session.get(Department, desk.org.cs).head_id = desk.org.users["admin"]
    db.session.commit()
    other = desk.bring_to("registered")
    notify_due_soon(T0 + timedelta(hours=2))
    assert told(cid=other) == {"admin"}


def test_a_moved_deadline_is_announced_again_and_a_new_person_is_told(desk):
    cid = desk.bring_to("in_progress")
    first = RESOLVE_DUE - timedelta(hours=2)
    assert notify_due_soon(first) == 1
    # Reassigned: the new assignee answers for the same deadline now.
    desk.act(cid, "assign", "head_qa", first, assignee_id="@handler_qa2")
    assert notify_due_soon(first) == 1
    assert told(cid=cid) == {"handler_qa", "handler_qa2"}
    # An approved extension: a new deadline, announced again when it comes near.
    new_due = datetime(2026, 12, 9, 18, 0)
    desk.act(cid, "extend_request", "handler_qa2", first, reason="parts", new_due=new_due)
    desk.act(cid, "extend_decide", "head_qa", first, approve=True)
    mark = last_id()
    assert notify_due_soon(new_due - timedelta(hours=3)) == 1
    (note,) = rows(mark)
    assert note.key == due_soon_key(cid, "resolve", new_due, desk.org.users["handler_qa2"])


def test_inactive_staff_are_not_told(desk):
    cid = desk.bring_to("forwarded")  # no assignee: the department's active heads
    db.session.get(Staff, desk.org.users["head_qa"]).active = False
    db.session.commit()
    notify_due_soon(RESOLVE_DUE - timedelta(hours=1))
    assert told(cid=cid) == {"manager"}  # QA has no active head: the managers


def test_the_sweep_runs_it_after_marking_and_reports_it(desk):
    missed = desk.bring_to("registered")  # accept due T0 + 24 h: missed at the moment below
    soon = desk.bring_to("in_progress")
    result = sweep(RESOLVE_DUE - timedelta(hours=1))
    assert (result.marked, result.due_soon) == (1, 1)
    assert {n.complaint_id for n in rows()} == {soon}
    assert rows(cid=missed) == []
    assert sweep(RESOLVE_DUE - timedelta(hours=1)).due_soon == 0


def test_in_batches_everything_once(desk):
    due = datetime(2026, 11, 24, 8, 0)  # within one working day of T0
    ids = [add(due, department_id=desk.org.qa, assignee_id=desk.org.users["handler_qa"])
           for _ in range(10)]
    assert notify_due_soon(T0, batch=3) == 10
    assert sorted(n.complaint_id for n in rows()) == ids
    assert notify_due_soon(T0, batch=3) == 0


def test_the_key_in_sql_equals_the_rule(desk):
    """rules.notify.due_soon_key and its SQL twin give the same text on this database."""
    c = Complaint.__table__
    for cid, kind, due, person in ((1, "resolve", datetime(2026, 12, 2, 23, 59, 59), 7),
                                   (123456789, None, datetime(2027, 1, 4, 0, 0, 5), 99999),
                                   (5, "accept", datetime(2026, 11, 24, 9, 30), 1)):
        fields = dict(due_at=due, due_kind=kind)
        complaint = insert_complaint(id=cid, status="registered", **fields)
        got = db.session.scalar(select(due_soon_key_clause(c, literal(person, Integer)))
                                .where(c.c.id == complaint.id))
        assert got == due_soon_key(cid, kind, due, person)
    db.session.rollback()


@pytest.mark.parametrize("batch", [50_000, 4])
def test_concurrent_runs_write_each_notification_once(app, desk, batch):
    """Four sweeps' due-soon passes started together write every notification once: the
    key and ON CONFLICT DO NOTHING, and on PostgreSQL the sweep's advisory lock."""
    due = datetime(2026, 11, 24, 8, 0)  # within one working day of T0
    ids = [add(due, department_id=desk.org.qa, assignee_id=desk.org.users["handler_qa"])
           for _ in range(20)]
    results = run_concurrently(app, lambda: notify_due_soon(T0, batch=batch))
    assert sum(results) == 20
    db.session.expire_all()
    assert sorted(n.complaint_id for n in rows()) == ids


def test_flask_sweep_says_how_many_it_wrote(app, desk):
    from services import clock

    desk.register(now=clock.now() - timedelta(hours=23))  # accept due in an hour
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "Marked 0 overdue complaint(s) (none).",
        "Wrote 1 due-soon notification(s) (deadlines within one working day)."]
    assert told() == {"manager"}
