"""services.queries: the SQL twins of the rules (scope, deadlines), search and dashboard sums."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from models import CallbackRecord, Complaint, Staff, db
from rules import Actor, Role, Status, can_see, escalated_to
from rules.calendar import BusinessCalendar
from rules.deadlines import is_due_soon, is_overdue
from services import queries

NOW = datetime(2026, 11, 24, 10, 0)  # a Tuesday
_n = itertools.count(1)


def add(**fields):
    """Insert a complaint row with defaults; returns its id."""
    n = next(_n)
    values = dict(number=f"TS-20261120-{n:04d}", kind="complaint", channel="phone",
                  received_at=NOW - timedelta(days=3), customer_name="张三",
                  customer_phone="13800138000", customer_phone_norm="13800138000",
                  customer_class="C", severity="normal", title="t", description="",
                  status="registered", validity="pending", escalation_level=0,
                  created_at=NOW, updated_at=NOW, callbacks_required=1)
    values.update(fields)
    c = Complaint(**values)
    db.session.add(c)
    db.session.flush()
    return c.id


def ids(stmt):
    return set(db.session.scalars(stmt))


@pytest.fixture
def ctx(app, org):
    with app.app_context():
        yield org
        db.session.rollback()


def test_scope_clause_equals_rules_can_see_for_every_combination(ctx):
    """For every role, department and person, the SQL scope selects exactly what can_see allows."""
    org = ctx
    depts = [None, org.qa, org.log, org.cs]
    people = [None, org.users["handler_qa"], org.users["handler_qa2"], org.users["handler_log"],
              org.users["head_qa"]]
    authors = [None, org.users["handler_qa"], org.users["head_log"]]
    expected_rows = {}
    for dept, person, author in itertools.product(depts, people, authors):
        expected_rows[add(department_id=dept, assignee_id=person, registered_by_id=author)] = (
            dept, person, author)
    actor_ids = [*org.users.values(), 9999]
    for role, dept, actor_id in itertools.product(Role.ALL, depts, actor_ids):
        actor = Actor(id=actor_id, role=role, department_id=dept)
        want = {cid for cid, (d, p, a) in expected_rows.items() if can_see(actor, d, p, a)}
        got = ids(queries.complaint_scope(select(Complaint.id), actor))
        assert got == want, (role, dept, actor_id)
    unknown = Actor(id=1, role="visitor", department_id=org.qa)
    assert ids(queries.complaint_scope(select(Complaint.id), unknown)) == set()


def test_escalated_clause_equals_rules_escalated_to_for_every_combination(ctx):
    """"Escalated to me" in SQL selects exactly what rules.escalated_to says, for every role,
    department, level, severity and status."""
    org = ctx
    rows = {}
    for status, level, dept, severity in itertools.product(
            Status.ALL, range(4), [None, org.qa, org.log], ("normal", "critical")):
        cid = add(status=status, escalation_level=level, department_id=dept, severity=severity)
        rows[cid] = (status, level, dept, severity)
    for role, dept in itertools.product(Role.ALL, [None, org.qa, org.log]):
        actor = Actor(id=1, role=role, department_id=dept)
        want = {cid for cid, (st, lv, d, sev) in rows.items()
                if escalated_to(actor, st, lv, d, sev)}
        got = ids(select(Complaint.id).where(queries.escalated_clause(actor)))
        assert got == want, (role, dept)


def test_escalation_owners_per_level(ctx):
    """Level 1 → the department's head, 2 → the managers, 3 → senior management; critical
    complaints are with the managers and senior management from the start."""
    org = ctx
    head = Actor(id=1, role=Role.DEPT_HEAD, department_id=org.qa)
    manager = Actor(id=2, role=Role.MANAGER, department_id=org.cs)
    boss = Actor(id=3, role=Role.EXECUTIVE)
    level1 = add(status="in_progress", escalation_level=1, department_id=org.qa)
    level1_cs = add(status="accepted", escalation_level=1)
    # Resolved by QA, waiting on customer service's review: the manager's, not QA's head's.
    level1_review = add(status="resolved", escalation_level=1, department_id=org.qa)
    level2 = add(status="in_progress", escalation_level=2, department_id=org.qa)
    level3 = add(status="in_progress", escalation_level=3, department_id=org.qa)
    critical = add(status="registered", escalation_level=2, severity="critical")
    add(status="closed", escalation_level=3, department_id=org.qa)

    def mine(actor):
        return ids(select(Complaint.id).where(queries.escalated_clause(actor)))

    assert mine(head) == {level1}
    assert mine(manager) == {level1_cs, level1_review, level2, critical}
    assert mine(boss) == {level3, critical}


def test_scope_applies_to_a_legacy_query_too(ctx):
    """complaint_scope narrows a session.query() as it narrows a select()."""
    org = ctx
    mine = add(department_id=org.qa)
    add(department_id=org.log)
    head = Actor(id=org.users["head_qa"], role=Role.DEPT_HEAD, department_id=org.qa)
    rows = queries.complaint_scope(db.session.query(Complaint.id), head).all()
    assert [r.id for r in rows] == [mine]


def test_queue_of_customer_service_is_the_front_and_back_of_the_loop(ctx):
    """The clerk's queue: registered, accepted, rejected (tell the customer), resolved and
    callback complaints; a head's: what is with their department; a handler's: what is in
    progress with them; a supervisor takes no step of their own (from rules.procedure)."""
    org = ctx
    by_status = {status: add(status=status, department_id=org.qa,
                             assignee_id=org.users["handler_qa"]) for status in Status.ALL}
    elsewhere = add(status="forwarded", department_id=org.log)
    clerk = Actor(id=1, role=Role.INTAKE)
    got = ids(select(Complaint.id).where(queries.queue_clause(clerk)))
    assert got == {by_status[s] for s in ("registered", "accepted", "rejected", "resolved",
                                           "callback")}
    head = Actor(id=org.users["head_qa"], role=Role.DEPT_HEAD, department_id=org.qa)
    got = ids(select(Complaint.id).where(queries.queue_clause(head)))
    assert got == {by_status[s] for s in ("forwarded", "in_progress")}
    handler = Actor(id=org.users["handler_qa"], role=Role.HANDLER, department_id=org.qa)
    got = ids(select(Complaint.id).where(queries.queue_clause(handler)))
    assert got == {by_status["in_progress"]}
    manager = Actor(id=1, role=Role.MANAGER)
    got = ids(select(Complaint.id).where(queries.queue_clause(manager)))
    assert got == {*(by_status[s] for s in Status.OPEN), elsewhere}
    supervisor = Actor(id=1, role=Role.SUPERVISOR)
    assert ids(select(Complaint.id).where(queries.queue_clause(supervisor))) == set()


def _calendar():
    # Saturday 2026-11-28 and Sunday 29 are days off; the company also closes Wednesday 25.
    from datetime import date

    return BusinessCalendar(overrides={date(2026, 11, 25): False})


@pytest.mark.parametrize(
    "now", [NOW, datetime(2026, 11, 27, 18, 30), datetime(2026, 11, 24, 23, 59)])
def test_deadline_clauses_equal_the_rules(ctx, now):
    """overdue / due-soon in SQL select exactly what rules.deadlines says, row by row."""
    cal = _calendar()
    cutoff = cal.due_soon_cutoff(now)
    offsets = [-48, -1, 0, 1, 5, 12, 23, 24, 25, 30, 47, 48, 49, 70, 100, 200]
    rows = {}
    for hours in offsets:
        due = now + timedelta(hours=hours)
        for status in ("forwarded", "closed"):
            rows[add(status=status, due_at=due)] = (status, due)
    rows[add(status="accepted", due_at=None)] = ("accepted", None)
    want_over = {cid for cid, (s, due) in rows.items() if s in Status.OPEN and is_overdue(due, now)}
    want_soon = {cid for cid, (s, due) in rows.items()
                 if s in Status.OPEN and is_due_soon(due, now, cal)}
    assert ids(select(Complaint.id).where(queries.overdue_clause(now))) == want_over
    assert ids(select(Complaint.id).where(queries.due_soon_clause(now, cutoff))) == want_soon
    assert want_over and want_soon  # the cases cover both answers


def test_search_by_phone_is_an_exact_match_on_the_normalised_column(ctx):
    """+86, spaces and dashes are ignored; a partial number finds nothing; no LIKE is used."""
    wanted = add(customer_phone="+86 138-0013-8000", customer_phone_norm="13800138000")
    add(customer_phone="13800138001", customer_phone_norm="13800138001")
    for typed in ("13800138000", "+86 138 0013 8000", "0086-138-0013-8000"):
        assert ids(select(Complaint.id).where(queries.search_clause(typed))) == {wanted}
    assert ids(select(Complaint.id).where(queries.search_clause("3800138"))) == set()
    clause = queries.search_clause("13800138000")
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        sql = str(clause.compile(dialect=dialect))
        assert "LIKE" not in sql.upper() and "customer_phone_norm =" in sql


def test_search_by_number_prefix_and_customer_name_prefix(ctx):
    """A number finds that complaint (and its day's by prefix); a name finds names starting so."""
    a = add(number="TS-20261120-0007", customer_name="王小明")
    b = add(number="TS-20261121-0001", customer_name="王伟")
    c = add(number="TS-20261121-0002", customer_name="李王")
    assert ids(select(Complaint.id).where(queries.search_clause("ts-20261120-0007"))) == {a}
    assert ids(select(Complaint.id).where(queries.search_clause("TS-20261121"))) == {b, c}
    assert ids(select(Complaint.id).where(queries.search_clause("王"))) == {a, b}
    assert ids(select(Complaint.id).where(queries.search_clause("王小"))) == {a}
    assert queries.search_clause("   ") is None
    sql = str(queries.search_clause("王").compile(dialect=sqlite.dialect())).upper()
    assert "LIKE" not in sql


def test_open_counts_by_status_are_sql_sums_inside_the_scope(ctx):
    """Per status: total, overdue, due today and due soon, only for complaints in scope."""
    org = ctx
    cutoff = NOW + timedelta(hours=24)
    add(status="forwarded", department_id=org.qa, due_at=NOW - timedelta(hours=1))   # overdue
    add(status="forwarded", department_id=org.qa, due_at=NOW + timedelta(hours=3))   # today+soon
    add(status="forwarded", department_id=org.qa, due_at=NOW + timedelta(hours=20))  # soon
    add(status="in_progress", department_id=org.qa, due_at=NOW + timedelta(days=5))
    add(status="closed", department_id=org.qa)
    add(status="forwarded", department_id=org.log, due_at=NOW - timedelta(hours=1))
    head = Actor(id=org.users["head_qa"], role=Role.DEPT_HEAD, department_id=org.qa)
    counts = queries.open_counts_by_status(head, NOW, cutoff)
    assert set(counts) == {"forwarded", "in_progress"}
    f = counts["forwarded"]
    assert (f.total, f.overdue, f.due_today, f.due_soon) == (3, 1, 1, 2)
    assert counts["in_progress"].total == 1
    manager = Actor(id=org.users["manager"], role=Role.MANAGER)
    assert queries.open_counts_by_status(manager, NOW, cutoff)["forwarded"].total == 4


def test_department_load_counts_open_and_overdue_per_department(ctx):
    """One row per responsible department (and one for not yet forwarded), most overdue first."""
    org = ctx
    add(status="in_progress", department_id=org.log, due_at=NOW - timedelta(days=1))
    add(status="in_progress", department_id=org.log, due_at=NOW + timedelta(days=1))
    add(status="in_progress", department_id=org.qa, due_at=NOW + timedelta(days=1))
    add(status="closed", department_id=org.qa)
    add(status="registered", due_at=NOW + timedelta(hours=5))
    manager = Actor(id=org.users["manager"], role=Role.MANAGER)
    load = [(d.department_id, d.open, d.overdue) for d in queries.department_load(manager, NOW)]
    assert load[0] == (org.log, 2, 1)
    assert sorted(load[1:], key=str) == sorted([(org.qa, 1, 0), (None, 1, 0)], key=str)
    head = Actor(id=org.users["head_qa"], role=Role.DEPT_HEAD, department_id=org.qa)
    assert [(d.department_id, d.open) for d in queries.department_load(head, NOW)] == [(org.qa, 1)]


def test_satisfaction_rate_counts_reached_callbacks_of_the_month_in_scope(ctx):
    """Very satisfied + satisfied over reached callbacks, this month, inside the scope."""
    org = ctx
    qa = add(status="callback", department_id=org.qa)
    log = add(status="callback", department_id=org.log)
    start, end = queries.month_bounds(NOW)
    assert (start, end) == (datetime(2026, 11, 1), datetime(2026, 12, 1))
    for cid, at, reached, sat in [
        (qa, NOW, True, "very_satisfied"), (qa, NOW, True, "satisfied"),
        (qa, NOW, True, "average"), (qa, NOW, False, None),
        (qa, datetime(2026, 10, 31, 23), True, "unsatisfied"),
        (log, NOW, True, "unsatisfied"),
    ]:
        db.session.add(CallbackRecord(complaint_id=cid, at=at, method="phone", reached=reached,
                                      satisfaction=sat))
    db.session.flush()
    manager = Actor(id=org.users["manager"], role=Role.MANAGER)
    rate = queries.satisfaction(manager, start, end)
    assert (rate.good, rate.reached) == (2, 4) and rate.rate == 0.5
    head = Actor(id=org.users["head_qa"], role=Role.DEPT_HEAD, department_id=org.qa)
    assert queries.satisfaction(head, start, end).rate == pytest.approx(2 / 3)
    assert queries.satisfaction(head, datetime(2026, 1, 1), datetime(2026, 2, 1)).rate is None


def test_missing_calendar_years_names_this_and_next_year_without_data(ctx):
    """The dashboard warns for the current or next year when the statutory data lacks it."""
    assert queries.missing_calendar_years(NOW, {2025, 2026}) == [2027]
    assert queries.missing_calendar_years(NOW, {2026, 2027}) == []
    assert queries.missing_calendar_years(NOW, set()) == [2026, 2027]


def test_timeline_merges_events_and_callbacks_in_time_order(ctx):
    """Events and callback records come back in time order with the actors' names; a
    callback record and the event it wrote are one entry (one line on the timeline)."""
    from services.complaints import perform, register

    org = ctx
    intake = db.session.get(Staff, org.users["intake"])
    db.session.commit()
    c = register({"customer_name": "张三", "customer_phone": "13800138000", "title": "x",
                  "description": "d",
                  "category": "service"}, intake, now=NOW)
    t = NOW
    for action, inputs in [("accept", {}), ("forward", {"department_id": org.qa})]:
        t += timedelta(hours=1)
        perform(c.id, action, intake, inputs, now=t)
    head = db.session.get(Staff, org.users["head_qa"])
    handler = db.session.get(Staff, org.users["handler_qa"])
    perform(c.id, "assign", head, {"assignee_id": handler.id}, now=t + timedelta(hours=1))
    perform(c.id, "resolve", handler, {"root_cause": "r", "responsibility": "company",
                                       "remedy": "explanation", "resolution": "done"},
            now=t + timedelta(hours=2))
    perform(c.id, "review_approve", intake, now=t + timedelta(hours=3))
    perform(c.id, "callback", intake, {"method": "phone", "reached": True,
                                       "satisfaction": "satisfied", "solved": True},
            now=t + timedelta(hours=4))
    entries = queries.timeline(c.id)
    assert [e.action or e.kind for e in entries] == [
        "register", "accept", "forward", "assign", "resolve", "review_approve", "callback"]
    assert entries[-1].satisfaction == "satisfied"
    assert entries[0].actor == intake.full_name
    assert entries[2].to_department == "质量管理部"
    assert [e.at for e in entries] == sorted(e.at for e in entries)


def test_queue_holds_what_the_rules_let_the_user_move_on(ctx):
    """Cross-check with rules.allowed_actions: a complaint in someone's queue has an action
    they may take that moves it on; one in their scope but outside it has none, only the
    ways out any open complaint has (merge, force-close, reopen) or steps that do not move
    it (notes, escalation, extension requests)."""
    from rules import Facts, allowed_actions, spec_of

    org = ctx
    ways_out = {"merge", "force_close", "reopen"}
    people = {
        "intake": Actor(id=org.users["intake"], role=Role.INTAKE, department_id=org.cs),
        "head_qa": Actor(id=org.users["head_qa"], role=Role.DEPT_HEAD, department_id=org.qa),
        "handler_qa": Actor(id=org.users["handler_qa"], role=Role.HANDLER,
                            department_id=org.qa),
    }
    for status in Status.OPEN:
        for assignee in (None, org.users["handler_qa"]):
            cid = add(status=status, department_id=org.qa, assignee_id=assignee)
            facts = Facts(status=status, department_id=org.qa, assignee_id=assignee,
                          category="product_quality", callbacks_reached=1,
                          last_satisfaction="satisfied")
            for name, actor in people.items():
                if not can_see(actor, org.qa, assignee):
                    continue
                in_queue = cid in ids(select(Complaint.id).where(queries.queue_clause(actor)))
                moving = {a for a in allowed_actions(facts, actor)
                          if spec_of(a).lands is not None and a not in ways_out}
                assert in_queue == bool(moving), (name, status, assignee, moving)
