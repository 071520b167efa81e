"""Merging duplicates on the screens: the action form, both pages' links, roles and scope."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from complaint_helpers import (
    LIST,
    NOW,
    act,
    act_url,
    events_of,
    flashes,
    login,
    make_complaint,
    snapshot,
    text,
    token,
)

from models import Complaint, db
from services import clock


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


def _pair(app, org, master_status="in_progress", dup_fields=None):
    """(master id, master number, duplicate id, duplicate number): both with QA/handler_qa."""
    with app.app_context():
        at_qa = {"department_id": org.qa, "assignee_id": org.users["handler_qa"],
                 "due_at": NOW + timedelta(days=3)}
        master = make_complaint(status=master_status, title="电水壶漏电",
                                **(at_qa if master_status != "closed" else
                                   {"department_id": org.qa, "closed_at": NOW}))
        dup = make_complaint(status="in_progress", title="电水壶又漏电",
                             **(dup_fields if dup_fields is not None else at_qa))
        return (master, db.session.get(Complaint, master).number, dup,
                db.session.get(Complaint, dup).number)


def details(client, cid):
    return client.get(f"{LIST}details/?id={cid}")


def test_clerk_merges_through_the_form_and_both_pages_link(app, org):
    master, master_no, dup, dup_no = _pair(app, org)
    intake = login(app, "intake")
    assert f'href="{act_url(dup, "merge")}"'.replace("&", "&amp;") in text(details(intake, dup))

    page = act(intake, dup, "merge", master_number=master_no, note="同一客户重复来电")
    assert f"Merge as duplicate: done for {dup_no}. Status: Closed." in flashes(text(page))
    with app.app_context():
        row = db.session.get(Complaint, dup)
        assert (row.status, row.merged_into_id) == ("closed", master)
        assert [e.action for e in events_of(master)][-1] == "merged_in"
        assert [e.action for e in events_of(dup)][-1] == "merge"

    # The duplicate's page: "merged into" its master, linked; no more merge button.
    html = text(details(intake, dup))
    block = re.search(r'class="[^"]*merged-into">(.*?)</div>', html, re.S).group(1)
    assert f'href="{LIST}details/?id={master}"' in block and master_no in block
    assert "/act/merge/" not in html
    # The master's page lists its merged duplicates (links) and the "merged in" event.
    html = text(details(intake, master))
    listed = re.search(r'class="[^"]*merged-duplicates">(.*?)</ul>', html, re.S).group(1)
    assert f'href="{LIST}details/?id={dup}"' in listed and dup_no in listed
    assert "电水壶又漏电" in listed
    timeline = html[html.index("complaint-timeline"):]
    assert "Duplicate merged in" in timeline and f"← {dup_no} · 同一客户重复来电" in timeline


def test_a_closed_master_is_refused_with_the_reason_and_nothing_changes(app, org):
    _master, master_no, dup, _ = _pair(app, org, master_status="closed")
    intake = login(app, "intake")
    with app.app_context():
        before = snapshot()
    page = act(intake, dup, "merge", master_number=master_no)
    assert page.status_code == 200
    assert "That complaint is closed or rejected" in flashes(text(page))
    with app.app_context():
        assert snapshot() == before


def test_an_unknown_number_is_refused_without_saying_whether_it_exists(app, org):
    _, _, dup, _ = _pair(app, org)
    page = act(login(app, "intake"), dup, "merge", master_number="TS-19990101-0001")
    assert "No complaint you may see has that number" in flashes(text(page))


@pytest.mark.parametrize("user", ["head_qa", "handler_qa", "supervisor", "executive"])
def test_no_merge_for_other_roles(app, wide_org, user):
    master, master_no, dup, _ = _pair(app, wide_org)
    client = login(app, user)
    assert "/act/merge/" not in text(details(client, dup))
    assert client.get(act_url(dup, "merge")).status_code == 403
    with app.app_context():
        before = snapshot()
    response = client.post(act_url(dup, "merge"), data={
        "csrf_token": token(client), "version": "1", "master_number": master_no})
    assert response.status_code == 403
    with app.app_context():
        assert snapshot() == before


def test_a_post_without_csrf_changes_nothing(app, org):
    _, master_no, dup, _ = _pair(app, org)
    client = login(app, "intake")
    with app.app_context():
        before = snapshot()
    client.post(act_url(dup, "merge"), data={"version": "1", "master_number": master_no})
    with app.app_context():
        assert snapshot() == before


def test_the_pages_links_are_scoped(app, org):
    """A head of QA sees the master and its QA duplicate, not one registered elsewhere; a
    head of logistics, who may not see the master, gets no page for it at all."""
    master, master_no, dup_qa, dup_qa_no = _pair(app, org)
    with app.app_context():
        unforwarded = make_complaint(status="accepted", title="同一水壶")
        unforwarded_no = db.session.get(Complaint, unforwarded).number
        dup_log = make_complaint(status="in_progress", department_id=org.log,
                                 due_at=NOW + timedelta(days=3))
    intake = login(app, "intake")
    for cid in (dup_qa, unforwarded):
        act(intake, cid, "merge", master_number=master_no)
    manager = login(app, "manager")
    html = text(details(manager, master))
    assert dup_qa_no in html and unforwarded_no in html

    head_qa = text(details(login(app, "head_qa"), master))
    listed = re.search(r'class="[^"]*merged-duplicates">(.*?)</ul>', head_qa, re.S).group(1)
    assert dup_qa_no in listed and unforwarded_no not in listed

    head_log = login(app, "head_log")
    assert details(head_log, master).status_code in (302, 404)
    # (the log head's own complaint: not merged, no merge block at all)
    html = text(details(head_log, dup_log))
    assert "merged-into" not in html and "merged-duplicates" not in html


def test_merged_master_link_is_plain_text_for_who_may_not_see_the_master(app, org):
    """A handler sees the duplicate assigned to them; the master, with someone else, is named
    (its number is in the event note anyway) but not linked."""
    master, master_no, dup, _ = _pair(app, org, dup_fields={
        "department_id": org.qa, "assignee_id": org.users["handler_qa2"],
        "due_at": NOW + timedelta(days=3)})
    act(login(app, "intake"), dup, "merge", master_number=master_no)
    html = text(details(login(app, "handler_qa2"), dup))
    block = re.search(r'class="[^"]*merged-into">(.*?)</div>', html, re.S).group(1)
    assert master_no in block and "href" not in block
    assert master  # (the master is handler_qa's)
