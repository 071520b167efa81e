"""The callback screen and the complaint page (issue 11 parts 2 and 4): what the clerk sees
before calling back, why an action is not available, one timeline line per callback, the
extension decision's facts, server-side confirmation of final actions, working-time
countdowns, and the audit trail in Chinese."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from complaint_helpers import (
    LIST,
    NOW,
    act,
    act_url,
    flashes,
    login,
    make_complaint,
    snapshot,
    text,
    token,
)
from sqlalchemy import select

from models import Complaint, ComplaintEvent, db
from rules.customer_messages import timeline_note
from services import clock
from services.auth import create_user
from services.complaints import write_event
from tests.factories import PASSWORD

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en-US"}


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)  # Tuesday 2026-11-24 10:00


def details(client, cid, headers=EN):
    page = client.get(f"{LIST}details/?id={cid}", headers=headers)
    assert page.status_code == 200
    return text(page)


def squash(html: str) -> str:
    """The page's text with tags dropped and white space collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def waiting_callback(org, **fields):
    values = dict(status="callback", department_id=org.qa,
                  assignee_id=org.users["handler_qa"], customer_name="王五",
                  phone="13912345678", callbacks_required=2, callbacks_reached=1,
                  last_satisfaction="satisfied", root_cause="压缩机批次缺陷",
                  responsibility="company", remedy="exchange", resolution="已为客户换新机",
                  compensation_amount=Decimal("200.00"), resolved_at=NOW - timedelta(days=3),
                  callback_due=NOW + timedelta(days=2), due_at=NOW + timedelta(days=2),
                  due_kind="callback")
    values.update(fields)
    return make_complaint(**values)


# --- the callback form ----------------------------------------------------------------------


@pytest.mark.parametrize("headers, progress", [
    (EN, "Callbacks: 2 needed, 1 done"), (ZH, "需回访 2 次，已完成 1 次")])
def test_callback_form_shows_customer_result_and_progress(app, org, headers, progress):
    """Before calling, the clerk sees whom to call, what the department did, how many
    callbacks are needed and done, in their language."""
    with app.app_context():
        cid = waiting_callback(org)
    page = squash(text(login(app, "intake").get(act_url(cid, "callback"), headers=headers)))
    assert "王五" in page and "13912345678" in page  # a clerk calls: the full number
    for value in ("压缩机批次缺陷", "已为客户换新机", "200.00"):
        assert value in page
    assert progress in page


def test_a_role_without_contacts_sees_the_phone_masked_on_the_action_form(app, org):
    """Senior management reopening a closed complaint sees the customer, phone masked."""
    with app.app_context():
        create_user("boss", "Boss", "executive", PASSWORD, department_id=org.cs)
        cid = waiting_callback(org, status="closed", due_at=None, due_kind=None,
                               closed_at=NOW - timedelta(days=1))
    page = squash(text(login(app, "boss").get(act_url(cid, "reopen"))))
    assert "王五" in page and "139****5678" in page and "13912345678" not in page


# --- why an action is not available --------------------------------------------------------


@pytest.mark.parametrize("headers, words", [
    (EN, ["Close — not yet:", "needs 2 callback(s)", "1 is recorded"]),
    (ZH, ["结案 — 暂不可用：", "需要 2 次", "已记录 1 次"])])
def test_close_not_yet_says_why(app, org, headers, words):
    """1 of 2 callbacks done: the clerk sees the close button disabled, with the rules'
    reason, instead of no button at all."""
    with app.app_context():
        cid = waiting_callback(org)
    html = details(login(app, "intake"), cid, headers)
    assert re.search(r'<button type="button" class="[^"]*" disabled[^>]*>[^<]+</button>', html)
    assert f"act/close/?id={cid}" not in html
    page = squash(html)
    for word in words:
        assert word in page
    assert ("Callbacks: 2 needed, 1 done" in page) or ("需回访 2 次，已完成 1 次" in page)


def test_other_roles_actions_out_of_stage_are_explained(app, org):
    """A head looking at a complaint waiting for callbacks learns why they cannot assign."""
    with app.app_context():
        cid = waiting_callback(org)
    page = squash(details(login(app, "head_qa"), cid))
    assert "Why other actions are not available now" in page
    assert "You cannot assign a complaint that is awaiting callback." in page


# --- one line per callback; the last outcome stays on the summary ------------------------------


def test_unsatisfied_callback_one_timeline_line_and_outcome_on_the_summary(app, org):
    """The callback shows once on the timeline; after it reopened the complaint, the
    summary still says what the customer said."""
    with app.app_context():
        cid = waiting_callback(org, callbacks_reached=0, last_satisfaction=None)
    clerk = login(app, "intake")
    page = act(clerk, cid, "callback", method="phone", reached="yes",
               satisfaction="unsatisfied", solved="no", notes="冰箱仍有异响")
    assert "Record callback: done" in flashes(text(page))
    html = details(clerk, cid)
    timeline = html[html.index("complaint-timeline"):]
    assert timeline.count('<tr class="timeline-callback">') == 1
    assert timeline.count("冰箱仍有异响") == 1
    assert "Record callback" not in timeline
    assert "Awaiting callback → In progress" in squash(timeline)
    summary = squash(html[html.index("callback-summary"):html.index("complaint-actions")])
    assert "Last callback" in summary
    assert "Unsatisfied" in summary and "Not solved" in summary and "冰箱仍有异响" in summary


# --- the extension decision ------------------------------------------------------------------


def test_extension_decision_form_shows_the_request(app, org):
    """The head deciding sees the date asked, the reason, who asked and the deadline now."""
    with app.app_context():
        cid = make_complaint(status="in_progress", department_id=org.qa,
                             assignee_id=org.users["handler_qa"],
                             resolve_due=datetime(2026, 11, 26, 23, 59, 59),
                             due_at=datetime(2026, 11, 26, 23, 59, 59), due_kind="resolve",
                             extension_requested_by_id=org.users["handler_qa"],
                             extension_requested_until=datetime(2026, 12, 3, 18, 0),
                             extension_reason="等待供应商检测报告",
                             extension_due=NOW + timedelta(days=1))
    page = squash(text(login(app, "head_qa").get(act_url(cid, "extend_decide"))))
    for value in ("2026-12-03 18:00", "等待供应商检测报告", "Handler Qa", "2026-11-26 23:59",
                  "Current deadline", "2 working days left"):
        assert value in page, value


# --- confirmation of final actions, on the server ---------------------------------------------


def test_close_is_done_only_once_confirmed(app, org):
    """Close sits on the detail page with its "I confirm" box (its own page too); posting
    it without the box ticked changes nothing and asks again, on the server."""
    with app.app_context():
        cid = waiting_callback(org, callbacks_reached=2)
    clerk = login(app, "intake")
    html = details(clerk, cid)
    inline = re.search(rf'<form method="post" action="[^"]*act/close/\?id={cid}"[^>]*>(.*?)</form>',
                       html, re.S)
    assert inline and 'name="confirm" value="y"' in inline.group(1)
    assert "I confirm: this ends the handling." in inline.group(1)
    form = text(clerk.get(act_url(cid, "close")))
    assert 'name="confirm"' in form and "Callbacks: 2 needed, 2 done" in squash(form)
    with app.app_context():
        before = snapshot()
        version = db.session.get(Complaint, cid).version
    data = {"csrf_token": token(clerk), "version": str(version)}
    page = text(clerk.post(act_url(cid, "close"), data=data))
    assert "Tick “I confirm” to go on." in page and 'aria-invalid="true"' in page
    with app.app_context():
        assert snapshot() == before
    page = clerk.post(act_url(cid, "close"), data={**data, "confirm": "y"},
                      follow_redirects=True)
    assert "Status: Closed" in flashes(text(page))


@pytest.mark.parametrize("action, user, status, data", [
    ("reject", "intake", "registered", {"reason": "重复登记"}),
    ("force_close", "manager", "in_progress", {"reason": "客户已撤诉"}),
])
def test_other_final_actions_need_the_confirmation(app, org, action, user, status, data):
    """Reject and force-close without "I confirm": nothing written, the form asks."""
    with app.app_context():
        cid = make_complaint(status=status, department_id=org.qa if status != "registered"
                             else None)
        before = snapshot()
    page = act(login(app, user), cid, action, confirm=False, **data)
    assert "Tick “I confirm” to go on." in text(page)
    with app.app_context():
        assert snapshot() == before


def _merge_pair(app, org, master_phone):
    with app.app_context():
        master = make_complaint(status="accepted", number="TS-20261120-0501",
                                title="冰箱噪音大", customer_name="李四", phone=master_phone)
        dup = make_complaint(status="registered", number="TS-20261120-0502",
                             customer_name="张三", phone="13800138000")
    return master, dup


def test_merge_shows_the_master_and_warns_of_another_customer(app, org):
    """The merge's confirmation names the master (number, title, customer) and warns that
    it is another customer's; a confirmation for another number does not merge."""
    master, dup = _merge_pair(app, org, "13700137000")
    clerk = login(app, "intake")
    page = act(clerk, dup, "merge", confirm=False, master_number="20261120-0501")
    html = squash(text(page))
    assert "TS-20261120-0501" in html and "冰箱噪音大" in html and "李四" in html
    assert "belong to different customers" in html
    with app.app_context():
        assert db.session.get(Complaint, dup).status == "registered"
    # Confirmed, but for a number other than the one shown: shown again, not merged.
    with app.app_context():
        other = make_complaint(status="accepted", number="TS-20261120-0503")
        version = db.session.get(Complaint, dup).version
    data = {"csrf_token": token(clerk), "version": str(version), "master_number":
            "TS-20261120-0503", "confirm": "y", "confirmed_master": "TS-20261120-0501"}
    page = clerk.post(act_url(dup, "merge"), data=data)
    assert "Tick “I confirm” to go on." in text(page)
    with app.app_context():
        assert db.session.get(Complaint, dup).merged_into_id is None
        assert db.session.get(Complaint, other).status == "accepted"
    page = act(clerk, dup, "merge", master_number="TS-20261120-0501")
    assert "Status: Closed" in flashes(text(page))
    with app.app_context():
        assert db.session.get(Complaint, dup).merged_into_id == master


def test_merge_of_the_same_customer_has_no_warning(app, org):
    """Same phone, same customer: the master is shown without the warning."""
    _master, dup = _merge_pair(app, org, "13800138000")
    page = squash(text(act(login(app, "intake"), dup, "merge", confirm=False,
                           master_number="TS-20261120-0501")))
    assert "TS-20261120-0501" in page and "belong to different customers" not in page


# --- countdowns -------------------------------------------------------------------------------

# NOW is Tuesday 2026-11-24 10:00.
COUNTDOWNS = {
    "TS-20261120-0601": (datetime(2026, 11, 26, 23, 59, 59),
                         "2 working days left", "剩 2 个工作日"),
    "TS-20261120-0602": (datetime(2026, 11, 24, 18, 0), "due today", "今天到期"),
    "TS-20261120-0603": (datetime(2026, 11, 15, 23, 59, 59), "overdue 9 days", "已超期 9 天"),
}


@pytest.fixture
def counted(app, org):
    with app.app_context():
        return {number: make_complaint(status="in_progress", department_id=org.qa,
                                       assignee_id=org.users["handler_qa"], number=number,
                                       due_at=due, resolve_due=due, due_kind="resolve")
                for number, (due, _en, _zh) in COUNTDOWNS.items()}


@pytest.mark.parametrize("headers, column", [(EN, 1), (ZH, 2)])
def test_countdowns_in_the_list(app, org, counted, headers, column):
    """Each list row's deadline says how long is left, or how long it is overdue."""
    html = text(login(app, "manager").get(LIST, headers=headers))
    for number, spec in COUNTDOWNS.items():
        row = re.search(rf"<tr.*?{number}.*?</tr>", html, re.S).group(0)
        assert spec[column] in squash(row), (number, spec[column])


@pytest.mark.parametrize("headers, column", [(EN, 1), (ZH, 2)])
def test_countdowns_on_the_detail_page(app, org, counted, headers, column):
    """The complaint page's header carries the same countdown."""
    client = login(app, "head_qa")
    for number, spec in COUNTDOWNS.items():
        html = details(client, counted[number], headers)
        header = html[:html.index("complaint-actions")]
        assert re.search(r'class="ml-2 countdown[^"]*">\s*' + re.escape(spec[column]), header)


# --- the audit trail in Chinese ----------------------------------------------------------------


def test_system_notes_and_field_names_are_translated_on_the_chinese_timeline(app, org):
    """The sweep's "accept deadline missed" and an edit's "received_at: …" read in Chinese;
    the stored notes stay as written."""
    note = ("客户来电更正 — received_at: 2026-11-20 09:00:00 → 2026-11-20 10:00:00; "
            "customer_phone: changed; severity: normal → major")
    with app.app_context():
        cid = make_complaint(status="registered", accept_due=NOW - timedelta(hours=1))
        c = db.session.get(Complaint, cid)
        write_event(c, None, "overdue", NOW - timedelta(minutes=30),
                    before=("registered", None, None), note="accept deadline missed")
        write_event(c, org.users["intake"], "edit", NOW - timedelta(minutes=20),
                    before=("registered", None, None), note=note)
        write_event(c, None, "message", NOW - timedelta(minutes=10),
                    before=("registered", None, None),
                    note=timeline_note("customer_ack", [("email", "li.na@example.com")]))
        db.session.commit()
    html = details(login(app, "intake"), cid, ZH)
    timeline = squash(html[html.index("complaint-timeline"):])
    assert "已超期：受理期限" in timeline
    assert "客户来电更正 — 接收时间：2026-11-20 09:00:00 → 2026-11-20 10:00:00" in timeline
    assert "严重程度：一般 → 重大" in timeline
    assert "给客户的受理回执：电子邮件 l***@example.com" in timeline
    for raw in ("accept deadline missed", "received_at:", "customer_phone", "severity:",
                "to the customer"):
        assert raw not in timeline, raw
    english = squash(details(login(app, "intake"), cid, EN))
    assert "Deadline missed: Accept by" in english and "Received at: 2026-11-20" in english
    with app.app_context():
        stored = db.session.scalars(select(ComplaintEvent.note).where(
            ComplaintEvent.complaint_id == cid).order_by(ComplaintEvent.id)).all()
        assert stored[:2] == ["accept deadline missed", note]


def test_countdowns_keep_the_list_at_a_fixed_number_of_queries(app, org):
    """5 rows or 45, overdue, due today and days ahead: the same number of SQL statements
    (the calendar is read once per page, never per row)."""
    from tests.factories import recorded_statements

    def add(n, start):
        with app.app_context():
            for i in range(start, start + n):
                due = NOW + timedelta(hours=6 * i - 100)  # overdue … weeks ahead
                make_complaint(status="in_progress", department_id=org.qa,
                               assignee_id=org.users["handler_qa"], due_at=due,
                               resolve_due=due, due_kind="resolve")

    def statements(client):
        client.get(f"{LIST}?page_size=50")  # the reference tables (services.reference) read
        with recorded_statements(app) as seen:
            page = client.get(f"{LIST}?page_size=50")
        assert page.status_code == 200
        return len(seen), squash(text(page))

    client = login(app, "manager")
    add(5, 0)
    small, page = statements(client)
    assert "overdue 4 days" in page
    add(40, 5)
    large, page = statements(client)
    assert "due today" in page and "working days left" in page
    assert small == large, (small, large)


@pytest.mark.parametrize("action, note", [
    ("edit", "客户要求 — 更正地址"),  # a reason with no change list after it
    ("edit", "title: 冰箱 — 噪音"),  # no arrow: not a change the services wrote
    ("overdue", "manually noted"),
    ("urge", "accept deadline missed"),  # typed by a person, not the sweep's note
    ("message", "Acknowledgement to the customer: fax to 123"),
])
def test_notes_that_are_not_system_notes_stay_as_stored(app, action, note):
    """Only the notes the services wrote are translated; anything else is shown as is."""
    from admin_views.timeline import shown_note

    with app.test_request_context(headers=ZH):
        assert shown_note(action, note) == note


# --- the head assigns from the detail page (one page load fewer) -------------------------------


def test_the_head_assigns_on_the_detail_page(app, org):
    """The handler is picked on the complaint's page: only the department's people are
    offered, and the inline form assigns as the action's own page does."""
    with app.app_context():
        cid = make_complaint(status="forwarded", department_id=org.qa)
    head = login(app, "head_qa")
    html = details(head, cid)
    inline = re.search(
        rf'<form method="post" action="[^"]*act/assign/\?id={cid}"[^>]*>(.*?)</form>', html, re.S)
    assert inline, "no assign form on the detail page"
    options = dict((v, n) for v, n in re.findall(r'<option[^>]*value="(\d+)"[^>]*>([^<]+)<',
                                                 inline.group(1)))
    assert str(org.users["handler_qa"]) in options and str(org.users["handler_log"]) not in options
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', inline.group(1))
    version = re.search(r'name="version" value="(\d+)"', inline.group(1)).group(1)
    page = head.post(act_url(cid, "assign"), data={
        "csrf_token": csrf.group(1), "version": version,
        "assignee_id": str(org.users["handler_qa"])}, follow_redirects=True)
    assert "Status: In progress" in flashes(text(page))
    with app.app_context():
        assert db.session.get(Complaint, cid).assignee_id == org.users["handler_qa"]
