"""Random sequences through the real services and database (not a model of them).

Each example registers a complaint, then draws steps: an actor and an action that the
rules offer them now (with valid inputs, sometimes corrupted), or a deadline sweep at a
later time. ``services.complaints.perform`` and ``services.sweep.sweep`` do the work; the
row in the database is then checked:

- an open complaint waits on a deadline of one of its status's clocks (``due_at``,
  ``due_kind``); a closed one on none;
- some role may still act on it (no dead end);
- a refused action changed nothing (same version, same events);
- every accepted action wrote one event and one new version.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rules
from models import Complaint, Staff, db
from rules import RuleError, Satisfaction, Status
from rules.deadlines import STATUS_CLOCKS
from services.complaints import perform
from services.sweep import sweep
from tests.factories import T0

USERS = ("intake", "manager", "admin", "supervisor", "head_qa", "handler_qa", "handler_qa2",
         "head_log", "handler_log", "executive")
TEXT = "客户来电 again."


def inputs_for(draw, action, row, org, now):
    if action in ("reject", "return", "review_send_back", "force_close", "reopen", "escalate"):
        inputs = {"reason": TEXT}
    elif action in ("urge", "note", "instruct"):
        inputs = {"note": TEXT}
    elif action == "reply":
        inputs = {"method": "phone", "note": TEXT}
    elif action == "forward":
        dept = draw(st.sampled_from([d for d in (org.qa, org.log) if d != row.department_id]))
        inputs = {"department_id": dept}
        if draw(st.booleans()):
            people = ("handler_qa", "head_qa") if dept == org.qa else ("handler_log",)
            inputs["assignee_id"] = org.users[draw(st.sampled_from(people))]
    elif action == "assign":
        people = ("handler_qa", "handler_qa2") if row.department_id == org.qa else (
            "handler_log", "head_log")
        inputs = {"assignee_id": org.users[draw(st.sampled_from(people))]}
    elif action == "resolve":
        inputs = {"root_cause": TEXT, "responsibility": "company", "remedy": "exchange",
                  "resolution": TEXT}
    elif action == "callback":
        reached = draw(st.booleans())
        inputs = {"method": "phone", "reached": reached}
        if reached:
            inputs["satisfaction"] = draw(st.sampled_from(Satisfaction.ALL))
            inputs["solved"] = draw(st.booleans())
    elif action == "extend_request":
        inputs = {"reason": TEXT, "new_due": max(now, row.resolve_due or now) + timedelta(days=3)}
    elif action == "extend_decide":
        inputs = {"approve": draw(st.booleans())}
    elif action == "merge":  # into the walk's open master (or a number of no complaint)
        inputs = {"master_number": draw(st.sampled_from([org.master_number, "TS-19990101-0001"]))}
    else:
        inputs = {}
    if inputs and draw(st.integers(0, 7)) == 0:
        inputs[draw(st.sampled_from(sorted(inputs)))] = ""
    return inputs


def check_row(cid, staff):
    db.session.expire_all()
    row = db.session.get(Complaint, cid)
    assert 0 <= row.escalation_level <= rules.MAX_ESCALATION
    if row.status in Status.OPEN:
        assert row.due_at is not None, (row.status, row.due_kind)
        assert row.due_kind in STATUS_CLOCKS[row.status], (row.status, row.due_kind)
    else:
        assert row.due_at is None and row.due_kind is None
    facts = row.facts()
    assert any(rules.allowed_actions(facts, s.actor) for s in staff.values()
               if s.role != rules.Role.SUPERVISOR), row.status
    return row


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_random_sequences_through_the_services(desk, executive, data):
    org = desk.org
    staff = {name: db.session.get(Staff, org.users[name]) for name in USERS}
    now = T0
    cid = desk.register(now=now, severity=data.draw(st.sampled_from(["normal", "critical"])),
                        category=data.draw(st.sampled_from(["service", "product_quality"])))
    events = len(desk.events(cid))
    org.master_number = desk.row(desk.register(now=now))["number"]  # what merge merges into
    row = check_row(cid, staff)
    for _ in range(data.draw(st.integers(1, 14))):
        now += timedelta(hours=data.draw(st.integers(0, 96)))
        if data.draw(st.integers(0, 5)) == 0:
            was_marked = row.overdue_since is not None
            sweep(now)  # (other examples' complaints are swept too)
            row = check_row(cid, staff)
            added = len(desk.events(cid)) - events
            # Marked (and escalated) once per missed deadline, never before it is missed.
            assert added == (0 if was_marked or row.overdue_since is None else 1)
            assert row.overdue_since is None or row.due_at < row.overdue_since
            events += added
            continue
        name = data.draw(st.sampled_from(USERS))
        offered = rules.allowed_actions(row.facts(), staff[name].actor)
        if not offered:
            continue
        action = data.draw(st.sampled_from(offered))
        inputs = inputs_for(data.draw, action, row, org, now)
        version = row.version
        try:
            perform(cid, action, staff[name], inputs, expected_version=version, now=now)
        except RuleError:
            row = check_row(cid, staff)
            assert row.version == version and len(desk.events(cid)) == events
            continue
        events += 1
        row = check_row(cid, staff)
        assert row.version == version + 1 and len(desk.events(cid)) == events
