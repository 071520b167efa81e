"""The record's further fields, the report back upstream, who calls back, who caused it
(issue 12, items 7, 6 and the record half of 3), through the screens.

Registration and edit keep where it happened, what it is about and who sent it down (each
bad value refused next to its field, in both languages); the detail page and the list's
export show them; customer service reports back upstream from any stage (HTTP, audited),
the sweep marks a missed report-back deadline once and tells the managers, and the
dashboard and ``?queue=upstream`` list what is owed; a company setting gives callbacks to
the supervisors; who caused a complaint is recorded on resolving and shown only to those
who read accountability.
"""

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
    form_data,
    login,
    make_complaint,
    register_form,
    text,
)
from sqlalchemy import func, select

from models import Category, Complaint, ComplaintEvent, Notification, Setting, db
from models.settings import SUPERVISOR_CALLBACKS
from rules import Action, Status
from rules.notify import UPSTREAM_OVERDUE
from services import clock
from services import upstream as upstream_service
from tests.exports.conftest import column, download, read_xlsx

DUE = NOW + timedelta(days=3)
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)




def _only_complaint():
    return db.session.scalar(select(Complaint))


# --- registration and edit -----------------------------------------------------------------


def test_registration_keeps_the_record_fields_in_their_groups(app, org):
    """The form groups them ("Where and what about", "Sent down by"); saved as typed."""
    client = login(app, "intake")
    form = text(client.get(f"{LIST}new/"))
    assert "Where and what about" in form and "Sent down by an upstream centre" in form
    for name in ("location", "target_kind", "target_text", "upstream_source", "upstream_ref",
                 "upstream_due"):
        assert f'name="{name}"' in form
    page = register_form(app, client, location="中山路店", target_kind="store",
                     target_text="3号柜台", upstream_source="hotline_12345",
                     upstream_ref="GD-2026-001", upstream_due=DUE.strftime("%Y-%m-%dT%H:%M"))
    assert "registered." in flashes(text(page))
    with app.app_context():
        c = _only_complaint()
        assert (c.location, c.target_kind, c.target_text) == ("中山路店", "store", "3号柜台")
        assert (c.upstream_source, c.upstream_ref, c.upstream_due) == (
            "hotline_12345", "GD-2026-001", DUE)
        cid = c.id
    details = text(client.get(f"{LIST}details/?id={cid}"))
    for shown in ("中山路店", "Store", "3号柜台", "12345 hotline", "GD-2026-001",
                  "Report back by"):
        assert shown in details, shown


def test_chinese_form_and_refusals(app, org):
    """In Chinese: the groups and the refusals are translated; nothing is saved."""
    client = login(app, "intake")
    form = text(client.get(f"{LIST}new/", headers=ZH))
    assert "地点与投诉对象" in form and "上级交办" in form and "来件上级" in form
    data = form_data(form)
    with app.app_context():
        category = db.session.scalar(select(Category.id).filter_by(code="service"))
    data.update(customer_name="赵六", customer_phone="13911112222", title="门店服务差",
                description="店员态度不好", category_id=str(category),
                upstream_source="provincial")
    page = text(client.post(f"{LIST}new/", data=data, headers=ZH))
    assert "请填写上级来件编号" in page
    with app.app_context():
        assert _only_complaint() is None


@pytest.mark.parametrize("fields,field,words", [
    ({"location": "x" * 201}, "location", "200"),
    ({"target_kind": "planet"}, "target_kind", "not one of the allowed values"),
    ({"upstream_source": "provincial"}, "upstream_ref", "reference number"),
    ({"upstream_ref": "GD-1"}, "upstream_source", "which upstream centre"),
    ({"upstream_source": "provincial", "upstream_ref": "GD-1",
      "upstream_due": (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")},
     "upstream_due", "must be in the future"),
])
def test_bad_values_are_refused_at_their_fields(app, org, fields, field, words):
    """The refusal sits next to its field (is-invalid + its error); nothing saved."""
    client = login(app, "intake")
    page = text(register_form(app, client, **fields))
    error = re.search(rf'id="{field}-error">(.*?)</div>', page, re.S)
    assert error is not None, field
    assert words in error.group(1)
    with app.app_context():
        assert _only_complaint() is None


def test_edit_changes_the_record_fields_audited(app, org):
    """Customer service edits the location and clears the target; an unchanged past
    report-back deadline is no obstacle; the edit event names the fields."""
    with app.app_context():
        cid = make_complaint(status=Status.ACCEPTED, location="旧店", target_kind="store",
                             description="店员态度不好",
                             upstream_source="regulator", upstream_ref="R-9",
                             upstream_due=NOW - timedelta(days=1))
    client = login(app, "intake")
    data = form_data(text(client.get(f"{LIST}edit/?id={cid}")))
    assert data["location"] == "旧店" and data["upstream_ref"] == "R-9"
    data.update(location="新店", target_kind="")
    page = client.post(f"{LIST}edit/?id={cid}", data=data, follow_redirects=True)
    assert "successfully saved" in flashes(text(page))
    with app.app_context():
        c = db.session.get(Complaint, cid)
        assert (c.location, c.target_kind, c.upstream_ref) == ("新店", None, "R-9")
        note = events_of(cid)[-1].note
        assert "location: 旧店 → 新店" in note and "target_kind" in note


# --- the list's export ---------------------------------------------------------------------


def test_export_has_location_and_reference(app, org):
    """The list export adds where it happened and the upstream reference; what it is about
    and who sent it down stay on the complaint page (the list prints on one page)."""
    with app.app_context():
        make_complaint(status=Status.IN_PROGRESS, department_id=org.qa, location="中山路店",
                       target_kind="product", target_text="冰箱 X1",
                       upstream_source="provincial", upstream_ref="SJ-77")
    client = login(app, "manager")
    status, body, _ = download(client, f"{LIST}export/xlsx/?queue=all")
    assert status == 200
    sheet = read_xlsx(body)
    assert column(sheet, "Location") == ["中山路店"]
    assert column(sheet, "Upstream reference number") == ["SJ-77"]


# --- reporting back upstream -----------------------------------------------------------------


@pytest.fixture
def sent_down(app, org):
    """A closed complaint sent down by the 12345 hotline, due back yesterday; and one of
    our own (no reference)."""
    with app.app_context():
        closed = make_complaint(status=Status.CLOSED, department_id=org.qa,
                                upstream_source="hotline_12345", upstream_ref="GD-2026-001",
                                upstream_due=NOW - timedelta(days=1))
        own = make_complaint(status=Status.IN_PROGRESS, department_id=org.qa,
                             assignee_id=org.users["handler_qa"])
    return closed, own


def test_clerk_reports_back_on_a_closed_complaint(app, org, sent_down):
    """The button is there on a closed complaint; the report is an event, the first
    report's time is kept, a second report is another event."""
    closed, _own = sent_down
    client = login(app, "intake")
    details = text(client.get(f"{LIST}details/?id={closed}"))
    assert f"act/{Action.REPORT_UPSTREAM}/" in details
    page = act(client, closed, Action.REPORT_UPSTREAM, method="phone",
               note="已电话告知12345热线处理结果")
    assert "Report back upstream: done" in flashes(text(page))
    with app.app_context():
        c = db.session.get(Complaint, closed)
        assert c.status == Status.CLOSED and c.upstream_reported_at == NOW
        event = events_of(closed)[-1]
        assert (event.action, event.note) == (Action.REPORT_UPSTREAM, "已电话告知12345热线处理结果")
    act(client, closed, Action.REPORT_UPSTREAM, method="email", note="补充书面材料")
    with app.app_context():
        reports = [e for e in events_of(closed) if e.action == Action.REPORT_UPSTREAM]
        assert len(reports) == 2
        assert db.session.get(Complaint, closed).upstream_reported_at == NOW


def test_report_back_refused_without_a_reference_and_for_other_roles(app, org, sent_down):
    """No reference: no button, the form says why; a head may not report back at all."""
    closed, own = sent_down
    client = login(app, "intake")
    assert f"act/{Action.REPORT_UPSTREAM}/" not in text(client.get(f"{LIST}details/?id={own}"))
    page = client.get(act_url(own, Action.REPORT_UPSTREAM), follow_redirects=True)
    assert "not sent down by an upstream centre" in flashes(text(page))
    head = login(app, "head_qa")
    assert head.get(act_url(closed, Action.REPORT_UPSTREAM)).status_code == 403
    with app.app_context():
        assert not [e for e in events_of(closed) if e.action == Action.REPORT_UPSTREAM]


def test_missing_fields_of_the_report_are_shown_at_their_fields(app, org, sent_down):
    closed, _own = sent_down
    client = login(app, "intake")
    page = text(act(client, closed, Action.REPORT_UPSTREAM, method="", note=""))
    assert 'id="method-error"' in page and 'id="note-error"' in page
    with app.app_context():
        assert db.session.get(Complaint, closed).upstream_reported_at is None


def test_sweep_marks_a_missed_report_back_once_and_tells_the_managers(app, org, sent_down):
    """Past its deadline and not reported: marked, an UPSTREAM_OVERDUE event (status, level as
    they were), an ``overdue`` notification to the manager; a second run marks nothing;
    a report clears the mark and the complaint is not marked again."""
    closed, own = sent_down
    with app.app_context():
        in_time = make_complaint(status=Status.IN_PROGRESS, department_id=org.qa,
                                 upstream_source="provincial", upstream_ref="SJ-1",
                                 upstream_due=NOW + timedelta(days=1))
        level = db.session.get(Complaint, closed).escalation_level
        assert upstream_service.sweep(NOW) == 1
        assert upstream_service.sweep(NOW) == 0
        c = db.session.get(Complaint, closed)
        assert c.upstream_overdue_since == NOW
        assert (c.status, c.escalation_level) == (Status.CLOSED, level)
        event = events_of(closed)[-1]
        assert (event.action, event.note) == (Action.UPSTREAM_OVERDUE, upstream_service.NOTE)
        told = db.session.execute(select(Notification.recipient_id, Notification.kind).where(
            Notification.complaint_id == closed)).all()
        assert [tuple(t) for t in told] == [(org.users["manager"], UPSTREAM_OVERDUE)]
        for other in (own, in_time):
            assert db.session.get(Complaint, other).upstream_overdue_since is None
    client = login(app, "manager")
    timeline = text(client.get(f"{LIST}details/?id={closed}"))
    assert "Deadline missed: Report back upstream" in timeline
    act(client, closed, Action.REPORT_UPSTREAM, method="phone", note="late but done")
    with app.app_context():
        c = db.session.get(Complaint, closed)
        assert c.upstream_overdue_since is None and c.upstream_reported_at == NOW
        assert upstream_service.sweep(NOW + timedelta(days=5)) == 1  # in_time's, now missed
        assert db.session.get(Complaint, closed).upstream_overdue_since is None


def test_the_sweep_command_counts_the_reports(app, org, sent_down):
    from services.sweep import sweep

    with app.app_context():
        assert sweep(NOW).upstream == 1


def test_dashboard_tile_and_queue_of_reports_owed(app, org, sent_down):
    """The clerk's tile counts the reports owed (closed ones too) and links to exactly
    those complaints; once reported, it is gone from both."""
    closed, _own = sent_down
    client = login(app, "intake")
    home = text(client.get("/admin/"))
    tile = re.search(r'class="dash-upstream" href="([^"]+)">(\d+)</a>', home)
    assert tile is not None and tile.group(2) == "1"
    listed = text(client.get(tile.group(1).replace("&amp;", "&")))
    assert "GD-2026-001" in text(client.get(f"{LIST}details/?id={closed}"))
    with app.app_context():
        number = db.session.get(Complaint, closed).number
        others = db.session.scalars(select(Complaint.number).where(Complaint.id != closed)).all()
    assert number in listed and not any(n in listed for n in others)
    act(client, closed, Action.REPORT_UPSTREAM, method="phone", note="done")
    home = text(client.get("/admin/"))
    assert re.search(r'class="dash-upstream" href="[^"]+">0</a>', home)
    assert number not in text(client.get(f"{LIST}?queue=upstream"))


# --- who calls back --------------------------------------------------------------------------


def _set_supervisor_callbacks(app, value):
    client = login(app, "admin")
    page = text(client.get("/admin/company_settings/"))
    data = form_data(page.replace('class="admin-form company-settings',
                                  'class="admin-form" data-x="'))
    data.update(supervisor_callbacks=value, accountability_department="QA")
    response = client.post("/admin/company_settings/", data=data)
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(Setting, SUPERVISOR_CALLBACKS).value == value


@pytest.fixture
def awaiting_callback(app, org):
    with app.app_context():
        return make_complaint(status=Status.CALLBACK, department_id=org.qa,
                              assignee_id=org.users["handler_qa"], resolved_at=NOW,
                              callback_due=NOW + timedelta(days=2))


def test_supervisor_callbacks_off_by_default(app, org, awaiting_callback):
    """Off: no callback button, no "not yet" hint about it, no queue of their own; the
    form refused with the rules' reason (where to turn it on)."""
    client = login(app, "supervisor")
    details = text(client.get(f"{LIST}details/?id={awaiting_callback}"))
    assert f"action-{Action.CALLBACK}" not in details
    assert f"action-unavailable-{Action.CALLBACK}" not in details
    page = client.get(act_url(awaiting_callback, Action.CALLBACK), follow_redirects=True)
    assert "inspection department in Settings" in flashes(text(page))
    assert "dash-queue-total" not in text(client.get("/admin/"))


def test_supervisor_records_a_callback_once_the_setting_is_on(app, org, awaiting_callback):
    """On: the supervisor records a callback (a CallbackRecord by them, the event), has a
    queue on the home page; turned off again, the button is gone."""
    _set_supervisor_callbacks(app, "yes")
    client = login(app, "supervisor")
    assert "dash-queue-total" in text(client.get("/admin/"))
    form = text(client.get(act_url(awaiting_callback, Action.CALLBACK)))
    assert "13800138000" in form  # the number to call, in full on the callback form
    assert "13800138000" not in text(client.get(f"{LIST}details/?id={awaiting_callback}"))
    page = act(client, awaiting_callback, Action.CALLBACK, method="phone", reached="yes",
               satisfaction="satisfied", solved="yes", notes="督察回访")
    assert "Record callback: done" in flashes(text(page))
    with app.app_context():
        event = events_of(awaiting_callback)[-1]
        assert (event.action, event.actor_id) == (Action.CALLBACK, org.users["supervisor"])
        assert db.session.get(Complaint, awaiting_callback).callbacks_reached == 1
    _set_supervisor_callbacks(app, "no")
    details = text(client.get(f"{LIST}details/?id={awaiting_callback}"))
    assert f"act/{Action.CALLBACK}/" not in details


def test_settings_page_keeps_the_setting_when_not_posted(app, org):
    """The accountability department's own form (older clients) leaves it as it is; the
    change itself is in the administrative record."""
    from models import AdminEvent

    _set_supervisor_callbacks(app, "yes")
    with app.app_context():
        details = db.session.scalars(select(AdminEvent.detail).where(
            AdminEvent.target_label == SUPERVISOR_CALLBACKS)).all()
        assert details == ["supervisor_callbacks: no → yes"]
    client = login(app, "admin")
    page = text(client.get("/admin/company_settings/"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/admin/company_settings/",
                data={"csrf_token": token, "accountability_department": "CS"})
    with app.app_context():
        assert db.session.get(Setting, SUPERVISOR_CALLBACKS).value == "yes"


# --- who caused it ---------------------------------------------------------------------------

RESULT = {"root_cause": "店员未按规范接待", "responsibility": "company", "remedy": "explanation",
          "resolution": "已道歉并培训店员"}


@pytest.fixture
def working(app, org):
    with app.app_context():
        return make_complaint(status=Status.IN_PROGRESS, department_id=org.qa,
                              assignee_id=org.users["handler_qa"])


def test_resolve_records_who_caused_it_shown_to_accountability_readers_only(app, wide_org,
                                                                            working):
    """The handler names a staff member and an outside party; the manager and the
    supervisors and senior management read them, the head and the handler do not."""
    org = wide_org
    handler = login(app, "handler_qa")
    form = text(handler.get(act_url(working, Action.RESOLVE)))
    assert 'name="caused_by_id"' in form and 'name="caused_by_text"' in form
    page = act(handler, working, Action.RESOLVE, caused_by_id=str(org.users["handler_qa2"]),
               caused_by_text="顺丰快递", **RESULT)
    assert "Resolve: done" in flashes(text(page))
    with app.app_context():
        c = db.session.get(Complaint, working)
        assert (c.caused_by_id, c.caused_by_text) == (org.users["handler_qa2"], "顺丰快递")
    for reader in ("manager", "supervisor", "executive"):
        details = text(login(app, reader).get(f"{LIST}details/?id={working}"))
        assert "顺丰快递" in details and "Handler Qa2" in details, reader
    for other in ("head_qa", "handler_qa", "intake"):
        details = text(login(app, other).get(f"{LIST}details/?id={working}"))
        assert "顺丰快递" not in details and "Caused by" not in details, other


def test_resolve_refuses_an_inactive_person(app, org, working):
    from models import Staff

    with app.app_context():
        db.session.get(Staff, org.users["handler_log"]).active = False
        db.session.commit()
    handler = login(app, "handler_qa")
    page = text(act(handler, working, Action.RESOLVE,
                    caused_by_id=str(org.users["handler_log"]), **RESULT))
    assert 'id="caused_by_id-error"' in page and "not active" in page
    with app.app_context():
        c = db.session.get(Complaint, working)
        assert c.status == Status.IN_PROGRESS and c.caused_by_id is None
        assert db.session.scalar(select(func.count()).select_from(ComplaintEvent).where(
            ComplaintEvent.complaint_id == working)) == 0


def test_the_accountability_department_reads_who_caused_it(app, wide_org):
    """A head of the accountability department (HR, by setting) reads it on the
    complaints they see; a head of another department does not, on theirs."""
    org = wide_org
    with app.app_context():
        ours = make_complaint(status=Status.RESOLVED, department_id=org.hr,
                              caused_by_text="外包保洁公司")
        theirs = make_complaint(status=Status.RESOLVED, department_id=org.qa,
                                caused_by_text="外包保洁公司")
    assert "外包保洁公司" in text(login(app, "head_hr").get(f"{LIST}details/?id={ours}"))
    assert "外包保洁公司" not in text(login(app, "head_qa").get(f"{LIST}details/?id={theirs}"))


def test_edit_refuses_a_new_report_back_deadline_in_the_past(app, org):
    """Moving the deadline into the past is refused at its field; nothing changes."""
    with app.app_context():
        cid = make_complaint(status=Status.ACCEPTED, description="店员态度不好",
                             upstream_source="regulator", upstream_ref="R-9", upstream_due=DUE)
    client = login(app, "intake")
    data = form_data(text(client.get(f"{LIST}edit/?id={cid}")))
    data["upstream_due"] = (NOW - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    page = text(client.post(f"{LIST}edit/?id={cid}", data=data))
    assert 'id="upstream_due-error"' in page and "must be in the future" in page
    with app.app_context():
        assert db.session.get(Complaint, cid).upstream_due == DUE
