"""Merging duplicates through the services: the declared ``merge`` carried out by perform.

An event on both, the duplicate's history kept, the master's new version, every refusal
leaving both untouched, reopening undoing it, the links of the pages (scoped), and the
figures counting the master only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

import rules
from models import Complaint, db
from rules import Action, Status
from rules.errors import InvalidInput, PermissionDenied, StaleVersion, TransitionNotAllowed
from services import merge as merge_service
from services.complaints import perform
from tests.factories import SATISFIED, T0, T1

T2 = T1 + timedelta(hours=1)


def number(desk, cid):
    return desk.row(cid)["number"]


def test_merge_closes_the_duplicate_and_writes_an_event_on_both(desk):
    master = desk.bring_to("forwarded")
    dup = desk.bring_to("in_progress")
    before_dup, before_master = desk.events(dup), desk.events(master)
    master_version = desk.row(master)["version"]

    out = desk.act(dup, Action.MERGE, "intake", T2, master_number=number(desk, master),
                   note="同一客户同一问题")

    db.session.expire_all()
    row = desk.row(dup)
    assert row["status"] == Status.CLOSED and row["merged_into_id"] == master
    assert row["closed_at"] == T2 and row["due_at"] is None and row["due_kind"] is None
    # The duplicate keeps every event it had, plus the merge.
    events = desk.events(dup)
    assert events[:-1] == before_dup
    assert events[-1]["id"] == out.event.id
    assert (events[-1]["action"], events[-1]["from_status"], events[-1]["to_status"]) == (
        Action.MERGE, Status.IN_PROGRESS, Status.CLOSED)
    assert events[-1]["note"] == f"→ {number(desk, master)} · 同一客户同一问题"
    # The master: one "merged in" event, status unchanged, a new version.
    m_events = desk.events(master)
    assert m_events[:-1] == before_master
    merged_in = m_events[-1]
    assert merged_in["action"] == Action.MERGED_IN
    assert merged_in["actor_id"] == desk.staff("intake").id and merged_in["at"] == T2
    assert merged_in["from_status"] == merged_in["to_status"] == Status.FORWARDED
    assert merged_in["note"] == f"← {number(desk, dup)} · 同一客户同一问题"
    m_row = desk.row(master)
    assert m_row["status"] == Status.FORWARDED and m_row["version"] == master_version + 1
    assert m_row["merged_into_id"] is None


def test_the_master_number_may_be_typed_loosely(desk):
    master = desk.register()
    dup = desk.register()
    typed = "  " + number(desk, master).lower().removeprefix("ts-") + " "  # " 20261123-0001 "
    desk.act(dup, Action.MERGE, "manager", T1, master_number=typed)
    assert desk.row(dup)["merged_into_id"] == master


def test_callbacks_of_the_duplicate_stay_with_it(desk):
    master = desk.register()
    dup = desk.bring_to("callback")
    desk.act(dup, "callback", "intake", T1, **SATISFIED)
    desk.act(dup, Action.MERGE, "intake", T2, master_number=number(desk, master))
    db.session.expire_all()
    row = db.session.get(Complaint, dup)
    assert len(row.callbacks) == 1 and row.callbacks[0].satisfaction == "satisfied"
    assert row.final_satisfaction == "satisfied"


@pytest.mark.parametrize("how, error, words", [
    ("closed", InvalidInput, "closed or rejected"),
    ("rejected", InvalidInput, "closed or rejected"),
    ("merged", InvalidInput, "itself merged"),
    ("missing", InvalidInput, "No complaint you may see"),
    ("itself", InvalidInput, "itself"),
    ("blank", rules.MissingInput, "Please fill in"),
    ("too_long", InvalidInput, "too long"),
])
def test_refusals_leave_both_untouched(desk, how, error, words):
    dup = desk.bring_to("accepted")
    if how == "closed":
        master = desk.bring_to("closed_invalid")
        desk.act(master, "reopen", "manager", T0, reason="x")
        desk.act(master, "force_close", "manager", T0, reason="done")
    elif how == "rejected":
        master = desk.bring_to("rejected")
    elif how == "merged":
        master = desk.register()
        desk.act(master, Action.MERGE, "intake", T0, master_number=number(desk, desk.register()))
    else:
        master = desk.register()
    typed = {"missing": "TS-19990101-0001", "itself": number(desk, dup), "blank": "  ",
             "too_long": "TS-" + "9" * 60}.get(how) or number(desk, master)
    before = desk.state(dup), desk.state(master)
    with pytest.raises(error, match=words):
        desk.act(dup, Action.MERGE, "intake", T1, master_number=typed)
    assert (desk.state(dup), desk.state(master)) == before


@pytest.mark.parametrize("user", ["head_qa", "handler_qa", "supervisor", "executive"])
def test_only_customer_service_merges(desk, executive, user):
    master = desk.register()
    dup = desk.bring_to("in_progress")
    with pytest.raises(PermissionDenied):
        desk.act(dup, Action.MERGE, user, T1, master_number=number(desk, master))
    assert desk.row(dup)["merged_into_id"] is None


def test_a_closed_duplicate_is_not_merged(desk):
    master = desk.register()
    dup = desk.bring_to("closed_invalid")
    with pytest.raises(TransitionNotAllowed):
        desk.act(dup, Action.MERGE, "manager", T1, master_number=number(desk, master))


def test_a_stale_form_is_refused(desk):
    master = desk.register()
    dup = desk.register()
    version = desk.row(dup)["version"]
    desk.act(dup, "accept", "intake", T1)
    with pytest.raises(StaleVersion):
        perform(dup, Action.MERGE, desk.staff("intake"),
                {"master_number": number(desk, master)}, expected_version=version, now=T2)


def test_reopening_the_duplicate_undoes_the_merge(desk):
    master = desk.register()
    dup = desk.register()
    desk.act(dup, Action.MERGE, "intake", T1, master_number=number(desk, master))
    desk.act(dup, "reopen", "manager", T2, reason="a different fault after all")
    db.session.expire_all()
    row = desk.row(dup)
    assert row["merged_into_id"] is None and row["status"] in Status.OPEN
    manager = desk.staff("manager").actor
    assert merge_service.links(db.session.get(Complaint, master), manager).merged == []
    # … and it may be merged again, into the same master or another one.
    desk.act(dup, Action.MERGE, "intake", T2, master_number=number(desk, master))
    assert desk.row(dup)["merged_into_id"] == master


def test_links_of_both_pages_are_scoped(desk):
    master = desk.bring_to("in_progress")  # with QA, handler_qa
    in_qa = desk.bring_to("in_progress")
    not_forwarded = desk.register()
    for dup in (in_qa, not_forwarded):
        desk.act(dup, Action.MERGE, "intake", T1, master_number=number(desk, master))
    db.session.expire_all()
    get = lambda cid: db.session.get(Complaint, cid)  # noqa: E731

    intake = desk.staff("intake").actor
    seen = merge_service.links(get(master), intake)
    assert seen.master is None
    assert [(i, n) for i, n, _ in seen.merged] == [
        (in_qa, number(desk, in_qa)), (not_forwarded, number(desk, not_forwarded))]
    # A head of QA sees the master and the duplicate of QA, not the one never forwarded.
    head = desk.staff("head_qa").actor
    assert [i for i, _, _ in merge_service.links(get(master), head).merged] == [in_qa]
    # The duplicate's page names its master (linked when the reader may see it).
    dup_links = merge_service.links(get(in_qa), head)
    assert dup_links.master == (master, number(desk, master)) and dup_links.master_visible
    log_head = desk.staff("head_log").actor
    assert merge_service.links(get(in_qa), log_head).master_visible is False


def test_monthly_report_counts_the_master_only(desk):
    from services.reports import month, monthly_report

    master = desk.bring_to("callback")
    desk.act(master, "callback", "intake", T1, **SATISFIED)
    dup = desk.bring_to("callback")
    desk.act(dup, "callback", "intake", T1, **SATISFIED)
    other = desk.register()
    before = monthly_report(month("2026-11"), now=T2)
    assert before.total.received == 3 and before.total.callbacks_rated == 2

    desk.act(dup, Action.MERGE, "intake", T2, master_number=number(desk, master))
    after = monthly_report(month("2026-11"), now=T2)
    assert after.total.received == 2 and after.total.resolved == 1
    assert after.total.callbacks_rated == 1 and after.total.closed == 0
    assert after.total.open_at_end == 2  # the master and the other one
    assert sum(after.channels.values()) == 2
    assert other  # (the third complaint, never merged, still counts)


def test_dashboard_satisfaction_counts_the_master_only(desk):
    from services import queries

    master = desk.bring_to("callback")
    desk.act(master, "callback", "intake", T1, **SATISFIED)
    dup = desk.bring_to("callback")
    desk.act(dup, "callback", "intake", T1, **SATISFIED)
    start, end = datetime(2026, 11, 1), datetime(2026, 12, 1)
    manager = desk.staff("manager").actor
    assert queries.satisfaction(manager, start, end).reached == 2
    desk.act(dup, Action.MERGE, "intake", T2, master_number=number(desk, master))
    assert queries.satisfaction(manager, start, end).reached == 1
    # The open counts: a merged duplicate is closed, so it is in none of them.
    figures = queries.open_figures(manager, T2, T2 + timedelta(days=1))
    assert sum(f.counts.total for f in figures) == 1
