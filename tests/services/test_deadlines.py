"""Deadlines and levels as the services set them, with policies and calendar from the database."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from models import CalendarDay, SlaPolicy, db
from rules.errors import TransitionNotAllowed
from tests.factories import NOT_REACHED, RESOLUTION, SATISFIED, T0, UNSATISFIED

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


def test_accept_starts_the_forward_window_of_receipt(desk):
    """Accepted: forward within the same 24 h window of receipt (not 24 h from accepting)."""
    received = T0 - timedelta(hours=5)
    cid = desk.register(now=T0, received_at=received)
    desk.act(cid, "accept", "intake", T0 + timedelta(hours=2))
    row = desk.row(cid)
    assert (row["due_kind"], row["due_at"]) == ("forward", received + timedelta(hours=24))
    assert row["forward_due"] == row["due_at"] and row["overdue_since"] is None


def test_accepted_after_the_window_counts_as_missed_at_once(desk):
    """Accepted 30 h after receipt: the forward window is already missed (no new chance)."""
    cid = desk.register(now=T0)
    at = T0 + timedelta(hours=30)
    desk.act(cid, "accept", "intake", at)
    row = desk.row(cid)
    assert row["due_at"] == T0 + timedelta(hours=24)
    assert row["overdue_since"] == at and row["was_overdue"] is True


def test_return_restarts_the_forward_window_from_now(desk):
    """Returned by the department: customer service has 24 h from the return to forward."""
    cid = desk.bring_to("forwarded")
    at = T0 + timedelta(days=3)
    desk.act(cid, "return", "head_qa", at, reason="not ours")
    row = desk.row(cid)
    assert (row["status"], row["due_kind"], row["due_at"]) == (
        "accepted", "forward", at + timedelta(hours=24))


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


def test_resolve_starts_the_review_clock(desk):
    """Resolved: customer service reviews the result within one working day."""
    cid = desk.bring_to("in_progress")
    friday = datetime(2026, 11, 27, 16, 0)
    desk.act(cid, "resolve", "handler_qa", friday, **RESOLUTION)
    row = desk.row(cid)
    # The weekend does not count: Monday 11-30 is the next working day.
    assert (row["due_kind"], row["due_at"]) == ("review", datetime(2026, 11, 30, 23, 59, 59))


def test_review_approval_starts_first_callback_and_follow_up_month(desk):
    """Approved: first callback within 5 working days of the resolution, all within a month."""
    cid = desk.bring_to("resolved")
    desk.act(cid, "review_approve", "intake", T0 + timedelta(hours=3))
    row = desk.row(cid)
    assert row["callback_due"] == row["due_at"] == FIVE_WD
    assert row["due_kind"] == "callback"
    assert row["followup_until"] == T0 + timedelta(days=30)


def test_second_callback_is_due_five_working_days_after_the_first(desk):
    """Product quality needs two callbacks: the second is due 5 working days after the first."""
    cid = desk.bring_to("callback", category="product_quality")
    first = datetime(2026, 11, 25, 10, 0)  # Wednesday
    desk.act(cid, "callback", "intake", first, **SATISFIED)
    row = desk.row(cid)
    # Thu, Fri, Mon, Tue, Wed → Wednesday 12-02.
    assert (row["due_kind"], row["due_at"]) == ("callback", datetime(2026, 12, 2, 23, 59, 59))
    assert row["callbacks_reached"] == 1


def test_follow_up_month_caps_the_callback_deadline(desk):
    """A callback due after the one-month limit: the limit is what is due."""
    cid = desk.bring_to("callback", category="product_quality")
    late = T0 + timedelta(days=28)
    desk.act(cid, "callback", "intake", late, **SATISFIED)
    row = desk.row(cid)
    assert (row["due_kind"], row["due_at"]) == ("followup", T0 + timedelta(days=30))


def test_enough_callbacks_leave_one_working_day_to_close(desk):
    """All required callbacks satisfied: closing is due by the end of the next working day."""
    cid = desk.bring_to("callback")
    friday = datetime(2026, 11, 27, 10, 0)
    desk.act(cid, "callback", "intake", friday, **SATISFIED)
    assert desk.row(cid)["due_at"] == datetime(2026, 11, 30, 23, 59, 59)


def test_unreached_callback_keeps_the_deadline(desk):
    """A call that did not reach the customer changes no deadline and counts nothing."""
    cid = desk.bring_to("callback")
    before = desk.row(cid)
    desk.act(cid, "callback", "intake", T0 + timedelta(hours=5), **NOT_REACHED)
    row = desk.row(cid)
    assert (row["due_at"], row["due_kind"], row["callbacks_reached"]) == (
        before["due_at"], "callback", 0)


def test_rejection_gives_one_working_day_to_tell_the_customer(desk):
    """Rejected on the eve of National Day: tell the customer by 10-08 (the next working day)."""
    eve = datetime(2026, 9, 30, 10, 0)
    cid = desk.register(now=eve, received_at=eve)
    desk.act(cid, "reject", "intake", eve, reason="not our product")
    row = desk.row(cid)
    assert (row["status"], row["due_kind"], row["due_at"]) == (
        "rejected", "reply", datetime(2026, 10, 8, 23, 59, 59))
    desk.act(cid, "reply", "intake", eve + timedelta(days=8), method="phone", note="told")
    row = desk.row(cid)
    assert (row["status"], row["validity"], row["due_at"], row["due_kind"]) == (
        "closed", "invalid", None, None)


def test_review_and_callback_clocks_cross_national_day(desk):
    """Resolved 09-30: review due 10-08; approved then, first callback due 10-13."""
    eve = datetime(2026, 9, 30, 10, 0)
    cid = desk.bring_to("in_progress", now=eve, received_at=eve)
    desk.act(cid, "resolve", "handler_qa", eve, **RESOLUTION)
    assert desk.row(cid)["due_at"] == datetime(2026, 10, 8, 23, 59, 59)
    desk.act(cid, "review_approve", "intake", datetime(2026, 10, 8, 9, 0))
    # 10-08, 10-09, 10-10 (a make-up Saturday), 10-12, 10-13.
    assert desk.row(cid)["due_at"] == datetime(2026, 10, 13, 23, 59, 59)


def test_extension_request_waits_one_working_day_for_the_approver(desk):
    """Asked for on Friday: the head decides by Monday's end; then the resolve clock again."""
    cid = desk.bring_to("in_progress")
    friday = datetime(2026, 11, 27, 11, 0)
    desk.act(cid, "extend_request", "handler_qa", friday, reason="parts",
             new_due=datetime(2026, 12, 9, 18, 0))
    row = desk.row(cid)
    assert (row["due_kind"], row["due_at"]) == ("extension", datetime(2026, 11, 30, 23, 59, 59))
    desk.act(cid, "extend_decide", "head_qa", friday, approve=False)
    row = desk.row(cid)
    assert (row["due_kind"], row["due_at"], row["extension_due"]) == ("resolve", SEVEN_WD, None)


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
    row = desk.row(cid)
    assert row["resolve_due"] == SEVEN_WD  # the resolve deadline moves only on approval
    assert row["due_kind"] == "extension"  # meanwhile the approver's day is what is due
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
