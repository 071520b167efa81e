"""services.sweep: overdue marked once per missed deadline, escalated, audited, idempotent, safe."""

from __future__ import annotations

import itertools
import os
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, select, text

from models import AccountabilityRecord, Complaint, ComplaintEvent, db
from services.sweep import NOTES, SWEEP_BATCH, sweep
from tests.factories import T0, T1, run_concurrently

KIND = "postgresql" if os.environ.get("TEST_DATABASE_URL") else "sqlite"

# After every deadline of a complaint walked at T0 (accept and forward T0+24 h, reply and
# review 11-24, callback 2026-11-30, resolve 2026-12-02, end of day; follow-up 12-23).
LATE = datetime(2026, 12, 10, 8, 0)
DEADLINE_BOUND = ("registered", "accepted", "rejected", "forwarded", "in_progress", "resolved",
                  "callback")
NO_DEADLINE = ("closed", "closed_invalid")
CLOCKS = {"registered": "accept", "accepted": "forward", "rejected": "reply",
          "forwarded": "resolve", "in_progress": "resolve", "resolved": "review",
          "callback": "callback"}


def all_rows():
    table = Complaint.__table__
    return [dict(r) for r in db.session.execute(select(table).order_by(table.c.id)).mappings()]


def overdue_events(cid=None):
    stmt = select(ComplaintEvent).where(ComplaintEvent.action == "overdue")
    if cid is not None:
        stmt = stmt.where(ComplaintEvent.complaint_id == cid)
    return db.session.scalars(stmt.order_by(ComplaintEvent.id)).all()


def test_marks_each_missed_deadline_once_and_escalates(desk):
    """Every complaint waiting on a passed deadline is marked, escalated +1 and audited once."""
    ids = {status: desk.bring_to(status) for status in DEADLINE_BOUND + NO_DEADLINE}
    before = {status: desk.row(cid) for status, cid in ids.items()}

    result = sweep(LATE)

    assert result.marked == len(DEADLINE_BOUND)
    assert result.by_status == dict.fromkeys(DEADLINE_BOUND, 1)
    db.session.expire_all()
    for status in DEADLINE_BOUND:
        row, old = desk.row(ids[status]), before[status]
        assert row["overdue_since"] == LATE and row["was_overdue"] is True
        assert row["escalation_level"] == old["escalation_level"] + 1
        assert row["version"] == old["version"] + 1
        assert row["updated_at"] == LATE
        assert row["status"] == old["status"] and row["due_at"] == old["due_at"]
        (event,) = overdue_events(ids[status])
        assert (event.at, event.actor_id, event.from_status, event.to_status) == (
            LATE, None, status, status)
        assert (event.from_department_id, event.to_department_id) == (old["department_id"],) * 2
        assert (event.from_assignee_id, event.to_assignee_id) == (old["assignee_id"],) * 2
        assert event.escalation_level == row["escalation_level"]
        assert event.note == NOTES[CLOCKS[status]]
        (record,) = records(ids[status])
        assert (record.clock, record.due_at, record.at, record.status) == (
            CLOCKS[status], old["due_at"], LATE, status)
        assert record.escalation_level == row["escalation_level"]
    for status in NO_DEADLINE:
        assert desk.row(ids[status]) == before[status]
    assert len(overdue_events()) == len(DEADLINE_BOUND)


def records(cid):
    return db.session.scalars(select(AccountabilityRecord).where(
        AccountabilityRecord.complaint_id == cid).order_by(AccountabilityRecord.id)).all()


def test_accountability_names_who_was_responsible_then(desk):
    """Customer service's clocks → the CS department; the resolve clock → the department and
    its assignee (its head while nobody is assigned); the extension decision → the head."""
    from models import Department

    db.session.get(Department, desk.org.qa).head_id = desk.org.users["head_qa"]
    db.session.commit()
    registered = desk.bring_to("registered")
    forwarded = desk.bring_to("forwarded")
    assigned = desk.bring_to("in_progress")
    asked = desk.bring_to("in_progress")
    desk.act(asked, "extend_request", "handler_qa", T1, reason="parts",
             new_due=datetime(2026, 12, 20, 18, 0))
    sweep(LATE)
    got = {cid: [(r.clock, r.department_id, r.person_id) for r in records(cid)]
           for cid in (registered, forwarded, assigned, asked)}
    users, org = desk.org.users, desk.org
    assert got == {
        registered: [("accept", org.cs, None)],
        forwarded: [("resolve", org.qa, users["head_qa"])],
        assigned: [("resolve", org.qa, users["handler_qa"])],
        asked: [("extension", org.qa, users["head_qa"])],
    }


def test_accountability_records_are_append_only(desk):
    """The database refuses to change or delete an accountability record."""
    from sqlalchemy.exc import DatabaseError

    cid = desk.bring_to("registered")
    sweep(LATE)
    (record,) = records(cid)
    for statement in ("UPDATE accountability_record SET person_id = NULL",
                      "DELETE FROM accountability_record"):
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert len(records(cid)) == 1


def test_nothing_marked_before_the_deadline(desk):
    """A sweep before any deadline passed changes nothing."""
    for status in DEADLINE_BOUND:
        desk.bring_to(status)
    rows, events = all_rows(), desk.count(ComplaintEvent)
    result = sweep(T1)
    assert (result.marked, result.by_status) == (0, {})
    db.session.expire_all()
    assert all_rows() == rows and desk.count(ComplaintEvent) == events


def test_only_passed_deadlines_are_marked(desk):
    """On 2026-11-25 only the accept deadline (24 h) has passed, not resolve or callback."""
    registered = desk.bring_to("registered")
    desk.bring_to("in_progress")
    desk.bring_to("callback")
    result = sweep(datetime(2026, 11, 25, 8, 0))
    assert result.by_status == {"registered": 1}
    assert [e.complaint_id for e in overdue_events()] == [registered]


def test_deadline_equal_to_now_is_not_yet_missed(desk):
    """A deadline is missed only once it lies strictly in the past."""
    cid = desk.bring_to("registered")
    due = desk.row(cid)["due_at"]
    assert sweep(due).marked == 0
    assert sweep(due.replace(second=1)).marked == 1


def test_escalation_capped_at_three(desk):
    """A critical complaint (level 2) goes to 3; one already at 3 stays there but is marked."""
    critical = desk.bring_to("in_progress", severity="critical")
    top = desk.bring_to("in_progress", severity="critical")
    desk.act(top, "escalate", "manager", T1, reason="board member")
    assert desk.row(top)["escalation_level"] == 3
    assert sweep(LATE).marked == 2
    db.session.expire_all()
    assert desk.row(critical)["escalation_level"] == 3
    assert desk.row(top)["escalation_level"] == 3
    assert [e.escalation_level for e in overdue_events()] == [3, 3]


def test_second_run_changes_nothing(desk):
    """Idempotent: a second sweep at the same or a later time changes no row and writes no event."""
    for status in DEADLINE_BOUND + NO_DEADLINE:
        desk.bring_to(status)
    assert sweep(LATE).marked == len(DEADLINE_BOUND)
    db.session.expire_all()
    rows, events = all_rows(), desk.count(ComplaintEvent)
    assert (sweep(LATE).marked, sweep(datetime(2027, 3, 1)).marked) == (0, 0)
    db.session.expire_all()
    assert all_rows() == rows
    assert desk.count(ComplaintEvent) == events


def test_new_deadline_can_be_missed_again(desk):
    """After an approved extension the new deadline counts afresh: missed again, escalated again."""
    cid = desk.bring_to("in_progress")
    first_miss = datetime(2026, 12, 3, 8, 0)
    assert sweep(first_miss).marked == 1
    new_due = datetime(2026, 12, 11, 18, 0)
    desk.act(cid, "extend_request", "handler_qa", first_miss, reason="parts", new_due=new_due)
    desk.act(cid, "extend_decide", "head_qa", first_miss, approve=True)
    row = desk.row(cid)
    assert (row["due_at"], row["overdue_since"], row["escalation_level"]) == (new_due, None, 1)
    assert row["was_overdue"] is True  # the first miss stays on record

    assert sweep(datetime(2026, 12, 11, 17, 0)).marked == 0
    assert sweep(datetime(2026, 12, 11, 19, 0)).marked == 1
    db.session.expire_all()
    assert desk.row(cid)["escalation_level"] == 2
    assert [e.escalation_level for e in overdue_events(cid)] == [1, 2]


def test_unsatisfied_callback_sets_a_fresh_deadline_that_sweep_watches(desk):
    """A reopened complaint gets a new resolve deadline, which the sweep marks once missed."""
    cid = desk.bring_to("callback")
    reopened_at = datetime(2026, 11, 24, 10, 0)
    desk.act(cid, "callback", "intake", reopened_at, method="phone", reached=True,
             satisfaction="unsatisfied", solved=False)
    row = desk.row(cid)
    assert row["status"] == "in_progress" and row["due_at"] == datetime(2026, 12, 3, 23, 59, 59)
    assert sweep(datetime(2026, 12, 3, 12, 0)).marked == 0
    assert sweep(datetime(2026, 12, 4, 0, 0)).marked == 1


def test_deadline_already_past_when_set_is_recorded_without_second_escalation(desk):
    """Accepted after its accept deadline was escalated, with the forward window of receipt
    already gone too: recorded as late at once, not escalated a second time."""
    cid = desk.register(now=T0)
    assert sweep(datetime(2026, 11, 24, 10, 0)).marked == 1  # accept missed: level 1
    later = datetime(2026, 11, 24, 11, 0)
    desk.act(cid, "accept", "intake", later)
    row = desk.row(cid)
    assert (row["due_kind"], row["due_at"]) == ("forward", T0 + timedelta(hours=24))
    assert (row["overdue_since"], row["was_overdue"]) == (later, True)
    assert sweep(LATE).marked == 0
    assert desk.row(cid)["escalation_level"] == 1
    assert len(records(cid)) == 1


def test_extension_approved_after_its_date_counts_as_missed(desk):
    """An extension approved only after the requested date passed is recorded as late at once."""
    cid = desk.bring_to("in_progress")
    asked = datetime(2026, 12, 1, 9, 0)
    desk.act(cid, "extend_request", "handler_qa", asked, reason="parts",
             new_due=datetime(2026, 12, 4, 18, 0))
    decided = datetime(2026, 12, 7, 9, 0)
    desk.act(cid, "extend_decide", "head_qa", decided, approve=True)
    row = desk.row(cid)
    assert (row["overdue_since"], row["was_overdue"], row["escalation_level"]) == (
        decided, True, 0)
    assert sweep(LATE).marked == 0


def test_sweep_in_batches_marks_everything_once(desk):
    """A backlog larger than one batch is swept batch after batch, each complaint once."""
    ids = [desk.register(now=T0) for _ in range(10)]
    result = sweep(LATE, batch=3)
    assert (result.marked, result.by_status) == (10, {"registered": 10})
    assert sorted(e.complaint_id for e in overdue_events()) == ids
    assert sweep(LATE, batch=3).marked == 0


@pytest.mark.parametrize("batch", [SWEEP_BATCH, 7])
def test_concurrent_sweeps_mark_each_complaint_once(app, desk, batch):
    """Four sweeps started together (own app context and session each) mark every complaint once.

    On PostgreSQL each batch takes the advisory lock and locks its rows; on SQLite each
    batch's IMMEDIATE transaction admits one writer. With small batches the sweeps take
    turns batch by batch; without the locks two sweeps would both write events for the
    same complaints before either marked them.
    """
    ids = [desk.register(now=T0) for _ in range(40)]
    db.session.commit()  # end this thread's (SQLite: write-locking) read transaction
    results = run_concurrently(app, lambda: sweep(LATE, batch=batch).marked)
    assert sum(results) == 40
    if batch == SWEEP_BATCH:
        assert sorted(results) == [0, 0, 0, 40]
    db.session.expire_all()
    assert sorted(e.complaint_id for e in overdue_events()) == ids
    assert {r["escalation_level"] for r in all_rows()} == {1}


if KIND == "postgresql":

    def test_sweep_skips_a_complaint_being_changed_and_marks_it_next_time(app, desk):
        """PostgreSQL: a row a user holds locked is not waited for; the next run marks it."""
        busy, free = desk.register(now=T0), desk.register(now=T0)
        db.session.commit()
        holder = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
        result = {}

        def run():
            with app.app_context():
                result["first"] = sweep(LATE).by_status

        try:
            with holder.connect() as conn:
                conn.execute(text("SELECT id FROM complaint WHERE id = :id FOR UPDATE"),
                             {"id": busy})
                thread = threading.Thread(target=run, daemon=True)
                thread.start()
                thread.join(timeout=10)
                waited = thread.is_alive()
                conn.rollback()  # lets a waiting sweep finish, if it waited
                thread.join(timeout=30)
        finally:
            holder.dispose()
        assert not waited, "the sweep waited for the user's row lock"
        assert result["first"] == {"registered": 1}
        assert [e.complaint_id for e in overdue_events()] == [free]
        assert sweep(LATE).marked == 1
        assert sorted(e.complaint_id for e in overdue_events()) == [busy, free]


# --- escalated: the new escalation owner is told ---------------------------------------


def notified(kind, cid=None):
    """{complaint id: {recipient id}} of the ``kind`` notifications (with their event ids
    checked against the overdue events)."""
    from models import Notification

    stmt = select(Notification).where(Notification.kind == kind)
    if cid is not None:
        stmt = stmt.where(Notification.complaint_id == cid)
    got: dict[int, set[int]] = {}
    for n in db.session.scalars(stmt):
        (event,) = [e for e in overdue_events(n.complaint_id) if e.id == n.event_id]
        assert (n.created_at, event.at) == (LATE, LATE)
        got.setdefault(n.complaint_id, set()).add(n.recipient_id)
    return got


def missed(desk, status, level, department, **fields):
    from rules.deadlines import PENDING_DEADLINE
    from tests.factories import insert_complaint

    return insert_complaint(status=status, escalation_level=level, department_id=department,
                            due_at=T0, due_kind=PENDING_DEADLINE[status], **fields).id


def test_owner_clause_equals_rules_owner_role_for_every_combination(desk):
    """services.sweep_sql.owner_role_clause is rules.escalation.owner_role in SQL."""
    from sqlalchemy import Integer, String, literal

    from rules import Status, owner_role
    from services.sweep_sql import owner_role_clause

    for level, department, status in itertools.product(range(-1, 6), (None, 7),
                                                       (*Status.ALL, None)):
        got = db.session.scalar(select(owner_role_clause(
            literal(level, Integer), literal(department, Integer), literal(status, String))))
        assert got == owner_role(level, department, status), (level, department, status)


@pytest.mark.parametrize(("cs_head", "batch"), [(False, SWEEP_BATCH), (True, SWEEP_BATCH),
                                               (True, 5)])
def test_escalated_tells_the_owner_at_the_new_level_as_the_outbox_would(desk, executive,
                                                                        cs_head, batch):
    """For every open status, level and department, the sweep's ``escalated`` rows go to
    exactly whom services.notifications resolves ``escalation_owner`` to at the new level,
    less whoever was told ``overdue`` of the same event; nobody at the top level. (With and
    without a head of record for customer service, who is told of its missed clocks.)"""
    from models import Department
    from rules import MAX_ESCALATION, Actor, Facts, Status
    from rules.notify import recipients
    from services.notifications import resolve

    org = desk.org
    db.session.get(Department, org.qa).head_id = org.users["handler_qa2"]  # head of record
    if cs_head:
        db.session.get(Department, org.cs).head_id = org.users["admin"]
    rows = {}
    for status, level, department in itertools.product(Status.OPEN, range(4),
                                                       (None, org.qa, org.log)):
        assignee = {org.qa: org.users["handler_qa"],
                    org.log: org.users["handler_log"]}.get(department)
        rows[missed(desk, status, level, department, assignee_id=assignee)] = (
            status, level, department)
    db.session.commit()
    sweep(LATE, batch=batch)  # (batch 5: many batches, each with its own events)
    overdue, escalated = notified("overdue"), notified("escalated")
    for cid, (status, level, department) in rows.items():
        if level == MAX_ESCALATION:
            want = set()
        else:
            after = Facts(status=status, department_id=department, escalation_level=level + 1)
            owners = recipients(("escalation_owner",), after, after, Actor(0, "system"))
            want = resolve(owners) - overdue.get(cid, set())
        assert escalated.get(cid, set()) == want, (status, level, department)
    assert escalated  # the grid holds every kind of owner
    told = set().union(*escalated.values())
    assert {org.users["handler_qa2"], org.users["head_log"], org.users["manager"],
            executive} <= told


def test_escalated_skips_inactive_owners_and_a_head_of_record_who_left(desk, executive):
    from models import Department, Staff

    org = desk.org
    db.session.get(Department, org.qa).head_id = org.users["handler_qa2"]
    db.session.get(Staff, org.users["handler_qa2"]).active = False  # left: QA's heads then
    db.session.get(Staff, executive).active = False
    in_qa = missed(desk, "in_progress", 0, org.qa, assignee_id=org.users["handler_qa"])
    to_top = missed(desk, "in_progress", 2, org.qa, assignee_id=org.users["handler_qa"])
    db.session.commit()
    sweep(LATE)
    assert notified("escalated") == {in_qa: {org.users["head_qa"]}}
    assert to_top not in notified("escalated")


def test_escalated_once_per_missed_deadline(desk):
    cid = desk.bring_to("in_progress")
    first = sweep(LATE)
    assert (first.marked, first.escalated) == (1, 1)
    assert notified("escalated") == {cid: {desk.org.users["head_qa"]}}
    assert sweep(LATE).escalated == 0
    assert len(notified("escalated")[cid]) == 1


def test_batched_sweep_writes_exactly_one_of_each_per_complaint(desk, executive):
    """A backlog of many batches: per complaint one overdue event, one accountability
    record, its ``overdue`` and ``escalated`` notifications naming that event, as in one
    batch; a second run writes nothing at all."""
    from sqlalchemy import func

    from models import Notification
    from rules import Status

    org = desk.org
    rows = [missed(desk, status, level, department,
                   assignee_id={org.qa: org.users["handler_qa"]}.get(department))
            for status, level, department in itertools.product(
                Status.OPEN, range(4), (None, org.qa, org.log))]
    db.session.commit()
    result = sweep(LATE, batch=4)
    assert result.marked == len(rows)
    events = {e.complaint_id: e for e in overdue_events()}
    assert sorted(events) == sorted(rows) and len(overdue_events()) == len(rows)
    records = db.session.scalars(select(AccountabilityRecord)).all()
    assert sorted(r.complaint_id for r in records) == sorted(rows)
    for r in records:
        assert r.escalation_level == events[r.complaint_id].escalation_level
    notes = db.session.scalars(select(Notification).where(
        Notification.kind.in_(("overdue", "escalated")))).all()
    assert {n.complaint_id for n in notes if n.kind == "overdue"} == set(rows)
    assert result.escalated == sum(n.kind == "escalated" for n in notes)
    for n in notes:
        assert n.event_id == events[n.complaint_id].id, (n.kind, n.complaint_id)
    pairs = [(n.recipient_id, n.event_id) for n in notes]
    assert len(pairs) == len(set(pairs))  # nobody told twice of one event

    def counts():
        return [db.session.scalar(select(func.count()).select_from(t)) for t in (
            ComplaintEvent.__table__, AccountabilityRecord.__table__,
            Notification.__table__)]

    before = counts()
    again = sweep(LATE, batch=4)
    assert (again.marked, again.escalated, counts()) == (0, 0, before)
