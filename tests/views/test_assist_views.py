"""协办 through the screens: the lead adds a part, the assisting department reads the
complaint and reports its part (and nothing else), the lead resolves once every part is
in; the sweep of a missed part; the list, queue and export scope of an assisting head."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

import rules
from models import AccountabilityRecord, Assist, Complaint, ComplaintEvent, Notification, db
from rules import Action, Status
from rules.constants import AssistStatus
from services import assist as assist_service
from tests.factories import T1, Desk, export_file, recorded_statements
from tests.views.complaint_helpers import (
    LIST,
    act,
    act_url,
    login,
    snapshot,
    staff,
    text,
    token,
)
from tests.views.login_helpers import freeze

NOW = T1  # Monday 2026-11-23 10:00, company time


@pytest.fixture
def clock(monkeypatch):
    return freeze(monkeypatch, NOW)


@pytest.fixture
def lead(app, org, clock):
    """A complaint in progress with QA (handler_qa); no part yet."""
    with app.app_context():
        return Desk(org).bring_to(Status.IN_PROGRESS)


def _with_part(app, org, cid, dept="@log", by="head_qa", **inputs):
    with app.app_context():
        desk = Desk(org)
        desk.act(cid, Action.ASSIST_ADD, by, NOW, department_id=dept, task="核查物流记录",
                 **inputs)
        return db.session.scalar(select(func.max(Assist.id)).where(Assist.complaint_id == cid))


def _part(app, part_id) -> Assist:
    with app.app_context():
        part = db.session.get(Assist, part_id)
        db.session.expunge(part)
        return part


def _complaint(app, cid) -> dict:
    with app.app_context():
        row = db.session.get(Complaint, cid)
        return {"status": row.status, "assists_open": row.assists_open, "version": row.version}


def _panel_form(html, kind, part_id):
    """(url, csrf, version) of a part's report / assign form on the complaint page."""
    match = re.search(r'<form method="post" action="(/admin/complaint/parts/' + str(part_id)
                      + "/" + kind + r'/\?id=\d+)"[^>]*>(.*?)</form>', html, re.S)
    assert match, f"no {kind} form for part {part_id}"
    inner = match.group(2)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', inner).group(1)
    version = re.search(r'name="version" value="(\d+)"', inner).group(1)
    return match.group(1).replace("&amp;", "&"), csrf, version


def _notified(app, username, kind) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.recipient_id == staff(username).id, Notification.kind == kind))


# --- the whole path through HTTP ------------------------------------------------------------


def test_add_then_report_then_resolve(app, org, lead):
    """The lead's head adds logistics as assisting; resolving waits for its part; the
    logistics head names a handler, who reports; then the lead resolves."""
    cid = lead
    head_qa = login(app, "head_qa")
    page = text(head_qa.get(f"{LIST}details/?id={cid}"))
    assert "action-assist_add" in page and "action-assist_withdraw" not in page
    done = act(head_qa, cid, Action.ASSIST_ADD, department_id=str(org.log),
               task="核查物流记录")
    assert "done for" in text(done)
    with app.app_context():
        part = db.session.scalars(select(Assist).where(Assist.complaint_id == cid)).one()
        resolve_due = db.session.get(Complaint, cid).resolve_due
        assert (part.department_id, part.status, part.due_at) == (
            org.log, AssistStatus.OPEN, resolve_due)  # the complaint's deadline by default
        part_id = part.id
    assert _complaint(app, cid)["assists_open"] == 1
    assert _notified(app, "head_log", Action.ASSIST_ADD) == 1

    handler_qa = login(app, "handler_qa")
    refused = handler_qa.get(act_url(cid, Action.RESOLVE), follow_redirects=True)
    assert "1 assisting part(s) are still open" in text(refused)
    forged = handler_qa.post(act_url(cid, Action.RESOLVE), data={
        "csrf_token": token(handler_qa), "version": str(_complaint(app, cid)["version"]),
        "root_cause": "x", "responsibility": "company", "remedy": "exchange",
        "resolution": "done"}, follow_redirects=True)
    assert "1 assisting part(s) are still open" in text(forged)
    assert _complaint(app, cid)["status"] == Status.IN_PROGRESS

    head_log = login(app, "head_log")
    page = text(head_log.get(f"{LIST}details/?id={cid}"))
    assert "assist-only-note" in page and "核查物流记录" in page
    assert "There is nothing for you to do on this complaint now." in page
    url, csrf, version = _panel_form(page, "assign", part_id)
    response = head_log.post(url, data={"csrf_token": csrf, "version": version,
                                        "assignee_id": str(org.users["handler_log"])},
                             follow_redirects=True)
    assert "The part is assigned." in text(response)
    assert _part(app, part_id).assignee_id == org.users["handler_log"]
    assert _notified(app, "handler_log", Action.ASSIST_ASSIGN) == 1

    handler_log = login(app, "handler_log")
    page = text(handler_log.get(f"{LIST}details/?id={cid}"))
    url, csrf, version = _panel_form(page, "report", part_id)
    assert "/assign/" not in page.split("assist-panel", 1)[1]  # a handler names nobody
    response = handler_log.post(url, data={"csrf_token": csrf, "version": version,
                                           "report": "物流记录显示已签收"},
                                follow_redirects=True)
    assert "Your part is reported." in text(response)
    part = _part(app, part_id)
    assert (part.status, part.report, part.reported_by_id) == (
        AssistStatus.REPORTED, "物流记录显示已签收", org.users["handler_log"])
    assert _complaint(app, cid)["assists_open"] == 0
    assert _notified(app, "handler_qa", Action.ASSIST_REPORT) == 1
    with app.app_context():
        actions = [e.action for e in db.session.scalars(
            select(ComplaintEvent).where(ComplaintEvent.complaint_id == cid))]
    assert actions[-3:] == [Action.ASSIST_ADD, Action.ASSIST_ASSIGN, Action.ASSIST_REPORT]
    # the handler still reads it (the part was theirs), but reports nothing twice
    again = handler_log.post(url, data={"csrf_token": csrf, "version": str(part.version),
                                        "report": "again"}, follow_redirects=True)
    assert "no longer open" in text(again)

    resolved = act(handler_qa, cid, Action.RESOLVE, root_cause="x", responsibility="company",
                   remedy="exchange", resolution="done")
    assert "done for" in text(resolved)
    assert _complaint(app, cid)["status"] == Status.RESOLVED


def test_withdraw_gives_back_the_lead_its_resolve_and_takes_sight_away(app, org, lead):
    """Customer service adds a part; the lead's head withdraws it with a reason: the count
    falls, the assisting head is told and no longer sees the complaint."""
    part_id = _with_part(app, org, lead, by="intake")
    head_log = login(app, "head_log")
    assert head_log.get(f"{LIST}details/?id={lead}").status_code == 200
    head_qa = login(app, "head_qa")
    response = act(head_qa, lead, Action.ASSIST_WITHDRAW, part=str(part_id),
                   reason="已查明，不需要物流")
    assert "done for" in text(response)
    part = _part(app, part_id)
    assert (part.status, part.withdraw_reason) == (AssistStatus.WITHDRAWN, "已查明，不需要物流")
    assert _complaint(app, lead)["assists_open"] == 0
    assert _notified(app, "head_log", Action.ASSIST_WITHDRAW) == 1
    gone = head_log.get(f"{LIST}details/?id={lead}", follow_redirects=True)
    assert "Record does not exist." in text(gone)


def test_add_refusals_are_shown_next_to_their_fields(app, org, lead):
    head_qa = login(app, "head_qa")
    own = act(head_qa, lead, Action.ASSIST_ADD, department_id=str(org.qa), task="x")
    assert "already with that department" in text(own)
    late = act(head_qa, lead, Action.ASSIST_ADD, department_id=str(org.log), task="x",
               due="2027-01-05T10:00")
    assert "cannot be later than the complaint" in text(late)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Assist)) == 0


# --- the assisting side may touch nothing but its part ----------------------------------


@pytest.fixture
def shared(app, org, lead):
    """The QA complaint with an open LOG part (handler_log named) and another QA complaint
    the assisting department has nothing to do with."""
    part_id = _with_part(app, org, lead)
    with app.app_context():
        desk = Desk(org)
        assist_service.assign_part(lead, part_id, desk.staff("head_log"),
                                   org.users["handler_log"], now=NOW)
        other = desk.bring_to(Status.IN_PROGRESS)
    return {"cid": lead, "part": part_id, "other": other}


def _every_action_inputs(org):
    return {"department_id": str(org.log), "assignee_id": str(org.users["handler_log"]),
            "reason": "x", "note": "x", "resolution": "x", "root_cause": "x",
            "responsibility": "company", "remedy": "exchange", "method": "phone",
            "reached": "yes", "satisfaction": "satisfied", "solved": "yes", "approve": "approve",
            "new_due": "2026-11-30T10:00", "task": "x", "part": "1", "plan": "x",
            "agreed": "yes", "master_number": "TS-1", "confirm": "y"}


@pytest.mark.parametrize("user", ["head_log", "handler_log"])
def test_assisting_side_reads_but_every_action_and_edit_is_refused(app, org, shared, user):
    """Detail page and timeline: yes. Every declared action (GET and a forged POST), the
    edit form, another complaint, an export of the department's list: refused or empty."""
    cid = shared["cid"]
    client = login(app, user)
    page = client.get(f"{LIST}details/?id={cid}")
    assert page.status_code == 200 and "complaint-timeline" in text(page)
    csrf = token(client)
    with app.app_context():
        before = snapshot()
        version = db.session.get(Complaint, cid).version
    for action in rules.ACTIONS:
        form = {"csrf_token": csrf, "version": str(version), **_every_action_inputs(org)}
        response = client.post(act_url(cid, action), data=form)
        assert response.status_code in (200, 302, 403, 404), action
        if response.status_code == 200:  # the form again, with the refusal on it
            assert "Complaint not found." in text(response), action
        opened = client.get(act_url(cid, action))
        assert opened.status_code in (302, 403, 404), action
    for bulk in ("escalate", "close", "forward"):  # the list's bulk actions, ids forged
        client.post(f"{LIST}bulk/{bulk}/", data={"rowid": str(cid), "reason": "x",
                                                 "department_id": str(org.log),
                                                 "confirm": "y", "csrf_token": csrf})
    with app.app_context():
        assert snapshot() == before  # nothing changed, no event written
    assert client.get(f"{LIST}edit/?id={cid}").status_code == 403
    other = client.get(f"{LIST}details/?id={shared['other']}", follow_redirects=True)
    assert "Record does not exist." in text(other)
    assert client.post(act_url(shared["other"], Action.NOTE),
                       data={"csrf_token": csrf, "note": "x"}).status_code in (403, 404)
    with export_file(client, f"{LIST}export/xlsx/?queue=all") as export:
        assert export.status_code == 200
        sheet = load_workbook(io.BytesIO(export.get_data())).active
    with app.app_context():
        number = db.session.get(Complaint, cid).number
    assert number not in {c.value for row in sheet.iter_rows() for c in row}


def test_a_part_of_another_department_or_complaint_is_refused(app, org, wide_org, shared):
    """head_log reports neither HR's part of the same complaint nor its own part through
    another complaint's page; a stale form is refused; nothing changes."""
    cid = shared["cid"]
    hr_part = _with_part(app, org, cid, dept="@hr", by="intake")
    client = login(app, "head_log")
    csrf = token(client)
    with app.app_context():
        before = snapshot()
    response = client.post(f"{LIST}parts/{hr_part}/report/?id={cid}",
                           data={"csrf_token": csrf, "version": "1", "report": "x"},
                           follow_redirects=True)
    assert "Only the head of the assisting department" in text(response)
    response = client.post(f"{LIST}parts/{shared['part']}/report/?id={shared['other']}",
                           data={"csrf_token": csrf, "version": "1", "report": "x"})
    assert response.status_code == 404  # the other complaint is not theirs to see
    stale = client.post(f"{LIST}parts/{shared['part']}/report/?id={cid}",
                        data={"csrf_token": csrf, "version": "1", "report": "x"},
                        follow_redirects=True)
    assert "changed by someone else" in text(stale)  # assigned since: version 2
    no_csrf = client.post(f"{LIST}parts/{shared['part']}/report/?id={cid}",
                          data={"version": "2", "report": "x"}, follow_redirects=True)
    assert "Your part is reported." not in text(no_csrf)
    handler = login(app, "handler_log")
    response = handler.post(f"{LIST}parts/{shared['part']}/assign/?id={cid}",
                            data={"csrf_token": token(handler), "version": "2",
                                  "assignee_id": str(org.users["handler_log"])},
                            follow_redirects=True)
    assert "Only the head of the assisting department names" in text(response)
    for outsider in ("head_hr", "intake", "manager"):
        c = login(app, outsider)
        r = c.post(f"{LIST}parts/{shared['part']}/report/?id={cid}",
                   data={"csrf_token": token(c), "version": "2", "report": "x"},
                   follow_redirects=True)
        assert r.status_code in (200, 403), outsider
        assert "Your part is reported." not in text(r), outsider
    with app.app_context():
        assert snapshot() == before
        assert db.session.get(Assist, shared["part"]).status == AssistStatus.OPEN


def test_the_lead_cannot_report_the_assisting_part(app, org, shared):
    client = login(app, "head_qa")
    page = text(client.get(f"{LIST}details/?id={shared['cid']}"))
    assert f"/parts/{shared['part']}/report/" not in page
    response = client.post(f"{LIST}parts/{shared['part']}/report/?id={shared['cid']}",
                           data={"csrf_token": token(client), "version": "2",
                                 "report": "x"}, follow_redirects=True)
    assert "Only the head of the assisting department" in text(response)


# --- list, queue, dashboard, statements -----------------------------------------------------


def _total(html) -> str:
    return re.search(r'<span class="desk-list-total[^"]*">(.*?)</span>', html,
                     re.S).group(1).strip()


def _numbers(html):
    return set(re.findall(r"TS-\d{8}-\d{4}", html))


def test_assisting_head_lists_and_counts_the_complaint(app, org, shared):
    with app.app_context():
        number = db.session.get(Complaint, shared["cid"]).number
        other = db.session.get(Complaint, shared["other"]).number
    for user in ("head_log", "handler_log"):
        client = login(app, user)
        page = text(client.get(f"{LIST}?queue=all"))
        listed = _numbers(page)
        assert number in listed and other not in listed
        assert _total(page) == f"{len(listed)} record" + ("s" if len(listed) != 1 else "")
        page = text(client.get(f"{LIST}?queue=assisting"))
        assert _numbers(page) == {number} and _total(page) == "1 record"
        assert "queue-assisting" in page  # the list's tab
        assert number not in _numbers(text(client.get(f"{LIST}?queue=mine")))
        board = text(client.get("/admin/"))
        tile = re.search(r'dash-assisting.*?(\d+)', board, re.S)
        assert tile and tile.group(1) == "1", user
    # the lead department's own list is unchanged
    head_qa = login(app, "head_qa")
    assert {number, other} <= _numbers(text(head_qa.get(f"{LIST}?queue=all")))
    assert _numbers(text(head_qa.get(f"{LIST}?queue=assisting"))) == set()


def test_list_statements_do_not_grow_with_assisting_parts(app, org, lead):
    client = login(app, "head_log")
    client.get(f"{LIST}?queue=all")

    def count():
        client.get(f"{LIST}?queue=all")  # after a write: the reference tables read once
        with recorded_statements(app) as seen:
            assert client.get(f"{LIST}?queue=all").status_code == 200
        return len(seen)

    _with_part(app, org, lead)
    one = count()
    for _ in range(3):
        with app.app_context():
            cid = Desk(org).bring_to(Status.IN_PROGRESS)
        _with_part(app, org, cid)
    assert count() == one


# --- the sweep ------------------------------------------------------------------------------


def test_sweep_marks_a_missed_part_once(app, org, lead):
    part_id = _with_part(app, org, lead, due=NOW + timedelta(hours=2))
    later = NOW + timedelta(hours=3)
    with app.app_context():
        assert assist_service.sweep(NOW) == 0
        from services.sweep import sweep

        assert sweep(later).parts == 1  # `flask sweep` marks it (services.sweep's hook)
        assert assist_service.sweep(later + timedelta(hours=1)) == 0  # marked once
        part = db.session.get(Assist, part_id)
        assert part.overdue_since == later and part.status == AssistStatus.OPEN
        event = db.session.scalars(select(ComplaintEvent).where(
            ComplaintEvent.complaint_id == lead,
            ComplaintEvent.action == Action.PART_OVERDUE)).one()
        assert "物流部" in event.note and event.actor_id is None
        record = db.session.scalars(select(AccountabilityRecord).where(
            AccountabilityRecord.complaint_id == lead)).one()
        assert (record.clock, record.department_id, record.due_at) == (
            "assist", org.log, NOW + timedelta(hours=2))
        assert record.person_id is not None  # the part's person, else its head
        assert db.session.get(Complaint, lead).overdue_since is None  # the lead's own clock
    assert _notified(app, "head_log", "part_overdue") == 1
    # still reportable after the mark (the part's version did not move)
    client = login(app, "head_log")
    url, csrf, version = _panel_form(text(client.get(f"{LIST}details/?id={lead}")), "report",
                                     part_id)
    response = client.post(url, data={"csrf_token": csrf, "version": version,
                                      "report": "late but done"}, follow_redirects=True)
    assert "Your part is reported." in text(response)
    page = text(client.get(f"{LIST}details/?id={lead}"))
    assert "part-overdue" not in page  # reported: no longer shown as overdue
    assert "Assisting part of 物流部 missed its deadline (2026-11-23 12:00)" in page


def test_the_panel_and_timeline_read_in_chinese(app, org, shared):
    client = login(app, "head_log")
    client.post("/language", data={"csrf_token": token(client), "lang": "zh_Hans_CN"})
    page = text(client.get(f"{LIST}details/?id={shared['cid']}"))
    for words in ("协办部门", "报告协办情况", "添加协办部门", "协办已指派"):
        assert words in page, words


def test_sql_scope_agrees_with_the_rules_for_every_user(app, org, wide_org, lead):
    """services.queries.scope_clause (list, count, detail) is rules.can_see with the parts:
    for every user and complaint, open / reported / withdrawn parts alike."""
    from models import Staff
    from services.queries import scope_clause

    reported = _with_part(app, org, lead)  # LOG: reported below
    with app.app_context():
        desk = Desk(org)
        desk.act(lead, Action.ASSIST_ADD, "intake", NOW, department_id="@hr", task="hr")
        assist_service.report(lead, reported, desk.staff("head_log"), "done", now=NOW)
        withdrawn_on = desk.bring_to(Status.IN_PROGRESS)
    part = _with_part(app, org, withdrawn_on)
    with app.app_context():
        Desk(org).act(withdrawn_on, Action.ASSIST_WITHDRAW, "head_qa", NOW, part=part,
                      reason="no")
        plain = Desk(org).bring_to(Status.FORWARDED)
        for person in db.session.scalars(select(Staff)):
            actor = person.actor
            in_sql = set(db.session.scalars(select(Complaint.id).where(scope_clause(actor))))
            for cid in (lead, withdrawn_on, plain):
                c = db.session.get(Complaint, cid)
                assert (cid in in_sql) is assist_service.can_see(actor, c), (person.username,
                                                                             cid)
        heads = {p.username: p.actor for p in db.session.scalars(select(Staff))}
        assert assist_service.can_see(heads["head_log"], db.session.get(Complaint, lead))
        assert not assist_service.can_see(heads["head_log"],
                                          db.session.get(Complaint, withdrawn_on))


def test_assisting_head_downloads_the_files_but_adds_none(app, org, shared, tmp_path):
    """The complaint's files are part of reading it; adding one is the lead's work."""
    from models import Attachment
    from tests.attachment_samples import image

    app.config["STORAGE_LOCAL_DIR"] = str(tmp_path / "files")
    app.extensions.pop("desk_storage", None)
    cid = shared["cid"]
    lead_head = login(app, "head_qa")
    html = text(lead_head.get(f"{LIST}details/?id={cid}"))
    csrf = re.search(r'attachment-upload">\s*<input[^>]*name="csrf_token"[^>]*value="([^"]+)"',
                     html).group(1)
    lead_head.post(f"{LIST}attachments/add/?id={cid}",
                   data={"csrf_token": csrf, "file": (io.BytesIO(image()), "photo.png")})
    with app.app_context():
        attachment_id = db.session.scalar(select(Attachment.id))
    assert attachment_id is not None
    head_log = login(app, "head_log")
    page = text(head_log.get(f"{LIST}details/?id={cid}"))
    assert "attachment-upload" not in page  # no upload form for the assisting side
    with head_log.get(f"{LIST}attachments/{attachment_id}/") as response:
        assert response.status_code == 200
    refused = head_log.post(f"{LIST}attachments/add/?id={cid}",
                            data={"csrf_token": token(head_log),
                                  "file": (io.BytesIO(image()), "x.png")},
                            follow_redirects=True)
    assert "File x.png added." not in text(refused)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Attachment)) == 1
    outsider = login(app, "handler_qa2")  # neither the lead's person nor assisting
    assert outsider.get(f"{LIST}attachments/{attachment_id}/").status_code == 404


def test_a_department_with_an_open_part_is_not_made_the_lead(app, org, lead):
    """Returned to customer service and forwarded again: not to the department that assists
    with an open part (it would assist itself); once its part is in, it may take the lead."""
    part_id = _with_part(app, org, lead)
    with app.app_context():
        desk = Desk(org)
        desk.act(lead, Action.RETURN, "head_qa", NOW, reason="不属于本部门")
        with pytest.raises(rules.RuleError) as refused:
            desk.act(lead, Action.FORWARD, "intake", NOW, department_id="@log")
        assert refused.value.field == "department_id"
        assert "assists on this complaint" in str(refused.value)
        assert db.session.get(Complaint, lead).status == Status.ACCEPTED
        assist_service.report(lead, part_id, desk.staff("head_log"), "物流记录无异常", now=NOW)
        desk.act(lead, Action.FORWARD, "intake", NOW, department_id="@log")
        assert db.session.get(Complaint, lead).department_id == org.log


def test_force_closing_withdraws_the_open_parts(app, org, lead):
    """A complaint force-closed with a part still open: the part is withdrawn with it (the
    manager's reason kept), so no department goes on working on a closed complaint."""
    part_id = _with_part(app, org, lead)
    with app.app_context():
        Desk(org).act(lead, Action.FORCE_CLOSE, "manager", NOW, reason="客户撤诉")
    part = _part(app, part_id)
    assert (part.status, part.withdraw_reason, part.withdrawn_at) == (
        AssistStatus.WITHDRAWN, "客户撤诉", NOW)
    assert _complaint(app, lead)["assists_open"] == 0
