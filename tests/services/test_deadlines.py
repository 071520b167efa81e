"""Deadlines and levels as the services set them, with policies and calendar from the database."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from service_helpers import RESOLUTION, SATISFIED, T0, UNSATISFIED

from models import CalendarDay, SlaPolicy, db
from rules.errors import TransitionNotAllowed

# T0 is Monday 2026-11-23 09:00. Seven working days after it end on Wednesday 2026-12-02,
# five on Monday 2026-11-30 (the weekend 11-28/29 is not a working day).
SEVEN_WD = datetime(2026, 12, 2, 23, 59, 59)
FIVE_WD = datetime(2026, 11, 30, 23, 59, 59)


def test_accept_deadline_set_at_registration(desk):
    """Registration sets accept due = received + 24 h, and that is the current deadline."""
    received = T0 - timedelta(hours=5)
    cid = desk.register(now=T0, received_at=received)
    row = desk.row(cid)
    assert row["received_at"] == received
    assert row["accept_due"] == row["due_at"] == received + timedelta(hours=24)
    assert row["resolve_due"] is None and row["callback_due"] is None


def test_accept_clears_the_current_deadline(desk):
    """Once accepted, nothing is due until the complaint is forwarded."""
    cid = desk.bring_to("accepted")
    assert desk.row(cid)["due_at"] is None


def test_resolve_deadline_set_by_forward(desk):
    """Forwarding sets resolve due = end of the 7th working day after the forward."""
    cid = desk.bring_to("accepted")
    desk.act(cid, "forward", "intake", T0, department_id="@qa")
    row = desk.row(cid)
    assert row["resolve_due"] == row["due_at"] == SEVEN_WD


def test_resolve_deadline_crosses_national_day(desk):
    """Forwarded the day before the 2026 National Day holiday: 7 working days end 2026-10-15."""
    forwarded = datetime(2026, 9, 30, 10, 0)
    cid = desk.bring_to("accepted", now=forwarded)
    desk.act(cid, "forward", "intake", forwarded, department_id="@qa")
    assert desk.row(cid)["resolve_due"] == datetime(2026, 10, 15, 23, 59, 59)


def test_resolve_deadline_into_a_year_without_statutory_data(desk):
    """Forwarded 2026-12-28: the count runs into 2027 on the Mon–Fri fallback without failing."""
    forwarded = datetime(2026, 12, 28, 10, 0)
    cid = desk.bring_to("accepted", now=forwarded)
    desk.act(cid, "forward", "intake", forwarded, department_id="@qa")
    # 12-29, 12-30, 12-31 (2026 data), then 2027-01-01 (Fri, fallback: working), 01-04,
    # 01-05, 01-06.
    assert desk.row(cid)["resolve_due"] == datetime(2027, 1, 6, 23, 59, 59)


def test_callback_deadline_set_by_resolve(desk):
    """Resolving sets callback due = end of the 5th working day after the resolution."""
    cid = desk.bring_to("in_progress")
    desk.act(cid, "resolve", "handler_qa", T0, **RESOLUTION)
    row = desk.row(cid)
    assert row["callback_due"] == row["due_at"] == FIVE_WD


def test_company_override_moves_the_deadline(desk):
    """A company holiday on Wednesday 2026-11-25 pushes the resolve deadline one day later."""
    db.session.add(CalendarDay(day=date(2026, 11, 25), is_working_day=False, note="company day"))
    db.session.commit()
    cid = desk.bring_to("forwarded")
    assert desk.row(cid)["resolve_due"] == datetime(2026, 12, 3, 23, 59, 59)


def test_most_specific_policy_from_the_database_applies(desk):
    """A critical-severity policy (4 h to accept, 3 days to resolve) beats the default."""
    db.session.add(SlaPolicy(name="Critical", severity="critical", accept_hours=4,
                             resolve_days=3, callback_days=2, callbacks_required=1, active=True))
    db.session.commit()
    cid = desk.bring_to("forwarded", severity="critical")
    normal = desk.bring_to("forwarded")
    row = desk.row(cid)
    assert row["accept_due"] == T0 + timedelta(hours=4)
    assert row["resolve_due"] == datetime(2026, 11, 26, 23, 59, 59)
    assert desk.row(normal)["resolve_due"] == SEVEN_WD


def test_product_quality_complaint_needs_two_callbacks(desk):
    """The seeded policy makes a product-quality complaint need two callbacks before closing."""
    cid = desk.bring_to("callback", category="product_quality")
    assert desk.row(cid)["callbacks_required"] == 2
    desk.act(cid, "callback", "intake", T0, **SATISFIED)
    before = desk.state(cid)
    with pytest.raises(TransitionNotAllowed, match=r"2 callback\(s\).*1 is recorded"):
        desk.act(cid, "close", "intake", T0)
    assert desk.state(cid) == before
    desk.act(cid, "callback", "intake", T0, **SATISFIED)
    assert desk.act(cid, "close", "intake", T0).complaint.status == "closed"


def test_extension_approval_moves_the_deadline(desk):
    """Approving an extension makes the requested time the resolve deadline; refusing keeps it."""
    cid = desk.bring_to("in_progress")
    wanted = datetime(2026, 12, 9, 18, 0)
    desk.act(cid, "extend_request", "handler_qa", T0, reason="parts", new_due=wanted)
    assert desk.row(cid)["due_at"] == SEVEN_WD  # nothing moves before the decision
    desk.act(cid, "extend_decide", "head_qa", T0, approve=True)
    row = desk.row(cid)
    assert (row["resolve_due"], row["due_at"], row["extension_count"]) == (wanted, wanted, 1)

    desk.act(cid, "extend_request", "handler_qa", T0, reason="more parts",
             new_due=datetime(2026, 12, 16, 18, 0))
    desk.act(cid, "extend_decide", "manager", T0, approve=False)
    row = desk.row(cid)
    assert (row["resolve_due"], row["due_at"], row["extension_count"]) == (wanted, wanted, 1)
    assert row["extension_requested_until"] is None


def test_unsatisfied_callback_reopens_and_escalates(desk):
    """An unsatisfied callback: back to in progress, reopen count +1, level +1, fresh deadline."""
    cid = desk.bring_to("callback")
    before = desk.row(cid)
    at = datetime(2026, 11, 24, 10, 0)
    desk.act(cid, "callback", "intake", at, **UNSATISFIED)
    row = desk.row(cid)
    assert row["status"] == "in_progress"
    assert row["reopen_count"] == before["reopen_count"] + 1 == 1
    assert row["escalation_level"] == before["escalation_level"] + 1 == 1
    assert row["callbacks_reached"] == 0 and row["last_satisfaction"] is None
    assert row["resolve_due"] == row["due_at"] == datetime(2026, 12, 3, 23, 59, 59)


def test_unsatisfied_callback_level_never_above_three(desk):
    """Reopening by callback at level 3 keeps level 3."""
    cid = desk.bring_to("callback", severity="critical")
    desk.act(cid, "escalate", "manager", T0, reason="VIP")
    desk.act(cid, "callback", "intake", T0, **UNSATISFIED)
    row = desk.row(cid)
    assert (row["status"], row["escalation_level"], row["reopen_count"]) == ("in_progress", 3, 1)


def test_critical_complaint_starts_at_level_two(desk):
    """A critical complaint is registered at level 2 (the customer-service manager)."""
    assert desk.row(desk.register(severity="critical"))["escalation_level"] == 2
    assert desk.row(desk.register(severity="major"))["escalation_level"] == 0


def test_reopen_sets_a_new_resolve_deadline(desk):
    """A manager's reopen of a closed complaint gives it a fresh resolve deadline."""
    cid = desk.bring_to("closed")
    desk.act(cid, "reopen", "manager", T0, reason="fault came back")
    row = desk.row(cid)
    assert row["status"] == "in_progress" and row["due_at"] == row["resolve_due"] == SEVEN_WD
    assert row["overdue_since"] is None
