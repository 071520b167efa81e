"""The delivery queue: the administrator's only (list, action and every URL by id refused to
the others), customers' addresses masked, "send again" with CSRF and an AdminEvent, never
for a sent message or one a worker holds, a fixed number of queries per page."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import AdminEvent, Delivery, Department, Staff, db
from rules import admin_events as E
from services import clock
from tests.factories import recorded_statements
from tests.views.complaint_helpers import NOW, flashes, login, make_complaint, token

PAGE = "/admin/delivery/"
OTHERS = ("intake", "manager", "supervisor", "head_qa", "handler_qa", "executive")
_keys = itertools.count(1)


@pytest.fixture(autouse=True)
def frozen(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


def add(**fields) -> int:
    values = dict(created_at=NOW - timedelta(hours=1), channel="email", purpose="assign",
                  key=f"test:{next(_keys)}", status="pending", attempts=0,
                  next_attempt_at=NOW, subject="s", body="b")
    values.update(fields)
    row = Delivery(**values)
    db.session.add(row)
    db.session.flush()
    return row.id


@pytest.fixture
def queue(app, wide_org):
    """One of each: a staff e-mail, a robot post, a customer e-mail and SMS, failed ones."""
    org = wide_org
    with app.app_context():
        cid = make_complaint(number="TS-20261124-0042")
        ids = {
            "staff": add(recipient_id=org.users["handler_qa"], address="hq@corp.example",
                         complaint_id=cid, status="sent", attempts=1, sent_at=NOW),
            "robot": add(channel="wecom", purpose="urge", department_id=org.qa,
                         complaint_id=cid),
            "ack": add(purpose="customer_ack", address="li.na@example.com", complaint_id=cid,
                       status="failed", attempts=6,
                       last_error="550 5.1.1 <li.na@example.com>: Recipient address rejected"),
            "sms": add(channel="sms", purpose="customer_result", address="13812345678",
                       complaint_id=cid, status="failed", attempts=3,
                       last_error="<script>alert(1)</script> gateway said no to 13812345678"),
            "leased": add(recipient_id=org.users["head_qa"], address="hd@corp.example",
                          attempts=1, lease_until=NOW + timedelta(minutes=4),
                          leased_by="worker-1"),
            "waiting": add(recipient_id=org.users["manager"], address="mg@corp.example",
                           attempts=2, next_attempt_at=NOW + timedelta(hours=1),
                           last_error="421 try later"),
        }
        db.session.commit()
    return ids


def state(app, pk):
    with app.app_context():
        d = db.session.get(Delivery, pk)
        return d.status, d.attempts, d.next_attempt_at, d.lease_until, d.leased_by


def retry_events(app):
    with app.app_context():
        return db.session.execute(
            select(AdminEvent.actor_id, AdminEvent.target_type, AdminEvent.target_id)
            .where(AdminEvent.action == E.DELIVERY_RETRIED).order_by(AdminEvent.id)).all()


def test_admin_sees_the_queue_newest_first_customers_masked(app, queue):
    admin = login(app, "admin")
    response = admin.get(PAGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "l***@example.com" in html and "138****5678" in html
    assert "li.na@example.com" not in html and "13812345678" not in html  # errors too
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html
    assert "Handler Qa" in html and "hq@corp.example" in html  # staff: name and address
    assert "质量管理部" in html  # the robot's department
    assert html.count('href="/admin/complaint/details/?id=') == 4  # rows with a complaint
    # Newest first (by id): the last row added comes first.
    assert html.index("mg@corp.example") < html.index("hq@corp.example")
    # Two failed messages, linked to the failed filter.
    badge = re.search(r'<a class="badge badge-danger delivery-failed-count[^"]*" href="([^"]+)">'
                      r"(\d+) failed</a>", html)
    assert badge and badge.group(2) == "2"
    failed_only = admin.get(badge.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "l***@example.com" in failed_only and "hq@corp.example" not in failed_only
    # No create, edit, delete, details or export offered.
    for absent in ("/admin/delivery/new/", "/admin/delivery/edit/", "/admin/delivery/details/",
                   "/admin/delivery/export/", "/admin/delivery/delete/"):
        assert absent not in html


def test_filters_by_status_channel_and_purpose(app, queue):
    admin = login(app, "admin")
    sms = admin.get(f"{PAGE}?flt0_channel_equals=sms").get_data(as_text=True)
    assert "138****5678" in sms and "l***@example.com" not in sms
    ack = admin.get(f"{PAGE}?flt0_purpose_equals=customer_ack").get_data(as_text=True)
    assert "l***@example.com" in ack and "138****5678" not in ack
    sent = admin.get(f"{PAGE}?flt0_status_equals=sent").get_data(as_text=True)
    assert "hq@corp.example" in sent and "mg@corp.example" not in sent


def test_send_again_resets_failed_and_idle_waiting_messages(app, queue):
    admin = login(app, "admin")
    page = admin.get(PAGE).get_data(as_text=True)
    # The row button: on failed rows and those waiting after a failed try; not on sent,
    # leased (being sent) or never tried ones.
    buttons = set(re.findall(r'name="rowid" value="(\d+)">\s*<input type="hidden" name="url"',
                             page))
    assert buttons == {str(queue[k]) for k in ("ack", "sms", "waiting")}
    rowids = [queue[k] for k in ("ack", "sms", "staff", "leased", "waiting", "robot")] + [
        "x", "99999"]
    response = admin.post(f"{PAGE}action/", data={
        "action": "retry", "rowid": rowids, "csrf_token": token(admin, PAGE), "url": PAGE},
        follow_redirects=True)
    assert response.status_code == 200
    assert "3 messages will be sent again." in flashes(response.get_data(as_text=True))
    for key in ("ack", "sms", "waiting"):
        assert state(app, queue[key]) == ("pending", 0, NOW, None, None), key
    assert state(app, queue["staff"])[:2] == ("sent", 1)  # a sent message never goes twice
    assert state(app, queue["leased"])[3:] == (NOW + timedelta(minutes=4), "worker-1")
    assert state(app, queue["robot"])[:2] == ("pending", 0)
    with app.app_context():
        admin_id = db.session.scalar(select(Staff.id).filter_by(username="admin"))
    assert retry_events(app) == [(admin_id, E.TARGET_DELIVERY, queue[k])
                                 for k in ("ack", "sms", "waiting")]


def test_send_again_of_nothing_retryable_says_so(app, queue):
    admin = login(app, "admin")
    response = admin.post(f"{PAGE}action/", data={
        "action": "retry", "rowid": [queue["staff"]], "csrf_token": token(admin, PAGE),
        "url": PAGE}, follow_redirects=True)
    assert "None of the selected messages can be sent again" in flashes(
        response.get_data(as_text=True))
    assert retry_events(app) == []


def test_send_again_without_the_csrf_token_changes_nothing(app, queue):
    admin = login(app, "admin")
    before = state(app, queue["ack"])
    response = admin.post(f"{PAGE}action/", data={"action": "retry", "rowid": [queue["ack"]],
                                                  "url": PAGE}, follow_redirects=True)
    assert "CSRF" in flashes(response.get_data(as_text=True))
    assert state(app, queue["ack"]) == before and retry_events(app) == []


@pytest.mark.parametrize("username", OTHERS)
def test_everyone_else_is_refused_everywhere(app, queue, username):
    client = login(app, username)
    pk = queue["ack"]
    for url in (PAGE, f"{PAGE}?flt0_status_equals=failed", f"{PAGE}details/?id={pk}",
                f"{PAGE}edit/?id={pk}", f"{PAGE}new/", f"{PAGE}export/xlsx/",
                f"{PAGE}export/csv/"):
        assert client.get(url).status_code == 403, url
    csrf = token(client, "/admin/notifications/")  # a valid token of their own session
    for url, data in ((f"{PAGE}action/", {"action": "retry", "rowid": [pk]}),
                      (f"{PAGE}delete/", {"id": pk}), (f"{PAGE}edit/?id={pk}", {}),
                      (f"{PAGE}new/", {"channel": "email"}),
                      (f"{PAGE}ajax/update/", {"list_form_pk": pk, "status": "pending"})):
        assert client.post(url, data={**data, "csrf_token": csrf}).status_code == 403, url
    assert state(app, pk)[0] == "failed" and retry_events(app) == []
    assert 'href="/admin/delivery/"' not in client.get("/admin/").get_data(as_text=True)


def test_anonymous_goes_to_the_login_page(app, queue, client):
    for response in (client.get(PAGE), client.post(f"{PAGE}action/", data={
            "action": "retry", "rowid": [queue["ack"]]})):
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert state(app, queue["ack"])[0] == "failed"


def test_admin_cannot_open_change_or_delete_a_row_by_url(app, queue):
    admin = login(app, "admin")
    pk = queue["ack"]
    assert admin.get(f"{PAGE}details/?id={pk}").status_code == 302  # details are off
    assert admin.get(f"{PAGE}edit/?id={pk}").status_code == 403
    assert admin.get(f"{PAGE}new/").status_code == 403
    csrf = token(admin, PAGE)
    assert admin.post(f"{PAGE}delete/", data={"id": pk, "csrf_token": csrf}).status_code == 403
    assert admin.post(f"{PAGE}action/", data={"action": "delete", "rowid": [pk],
                                               "csrf_token": csrf}).status_code == 403
    response = admin.get(f"{PAGE}export/xlsx/", follow_redirects=True)
    assert "cannot be exported" in flashes(response.get_data(as_text=True))
    with app.app_context():
        assert db.session.get(Delivery, pk) is not None


def test_menu_entry_for_the_admin_only(app, queue):
    assert 'href="/admin/delivery/"' in login(app, "admin").get("/admin/").get_data(as_text=True)


def _statements(app, client):
    with recorded_statements(app) as seen:
        response = client.get(PAGE)
    assert response.status_code == 200
    return len(seen), response.get_data(as_text=True).count('name="rowid"')


def test_page_queries_do_not_grow_with_the_rows(app, queue, wide_org):
    admin = login(app, "admin")
    few = _statements(app, admin)
    with app.app_context():
        heads = [db.session.get(Department, d) for d in (wide_org.log, wide_org.hr)]
        for n in range(40):  # other complaints, people and departments on every row
            cid = make_complaint(number=f"TS-20261124-{100 + n:04d}")
            add(recipient_id=wide_org.users[("intake", "manager", "head_log")[n % 3]],
                address=f"p{n}@corp.example", complaint_id=cid, status="failed")
            add(channel="dingtalk", department_id=heads[n % 2].id, complaint_id=cid)
        db.session.commit()
    many = _statements(app, admin)
    assert many[1] > few[1] + 40
    assert few[0] == many[0]
