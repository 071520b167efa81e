"""Registration by any staff member, late registration, and editing a closed complaint.

Outside customer service a complaint is "relayed by a department": the channel is not
asked (the rules set it), the author's department is recorded, and the author can open
it afterwards. A closed complaint may be changed only by a manager who says why.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from complaint_helpers import (
    LIST,
    NOW,
    events_of,
    flashes,
    form_data,
    login,
    make_complaint,
    register_form,
    snapshot,
    text,
)
from sqlalchemy import select

from models import Complaint, db
from rules import Channel, Status
from services import clock


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)




@pytest.mark.parametrize("user", ["handler_qa", "head_qa", "supervisor", "executive"])
def test_staff_outside_customer_service_register_a_relayed_complaint(app, wide_org, user):
    """The form has no channel; the complaint lands in registered, relayed by their
    department, registered by them, and they open its page afterwards."""
    org = wide_org
    client = login(app, user)
    form = text(client.get(f"{LIST}new/"))
    assert 'name="channel"' not in form and "relayed-note" in form
    page = register_form(app, client, channel="hotline")  # a forged channel is ignored
    with app.app_context():
        c = db.session.scalar(select(Complaint))
        assert (c.status, c.channel, c.registered_by_id) == (
            Status.REGISTERED, Channel.TRANSFERRED, org.users[user])
        expected_department = db.session.get(type(c.registered_by), org.users[user]).department_id
        assert c.source_department_id == expected_department
        number, cid = c.number, c.id
    assert f"Complaint {number} registered." in flashes(text(page))
    details = client.get(f"{LIST}details/?id={cid}")
    assert details.status_code == 200
    html = text(details)
    assert number in html and "Relayed by a department" in html


def test_customer_service_still_chooses_the_channel(app, org):
    """A clerk's form offers the channel and keeps what they chose; no department recorded."""
    client = login(app, "intake")
    assert 'name="channel"' in text(client.get(f"{LIST}new/"))
    register_form(app, client, channel="hotline")
    with app.app_context():
        c = db.session.scalar(select(Complaint))
        assert (c.channel, c.source_department_id) == ("hotline", None)


def test_late_registration_needs_a_reason(app, org):
    """Received 40 days ago: refused without a reason (nothing saved); with one, registered
    and the reason kept on the registration event."""
    client = login(app, "intake")
    received = (NOW - timedelta(days=40)).strftime("%Y-%m-%dT%H:%M")
    form = text(client.get(f"{LIST}new/"))
    assert 'name="late_reason"' in form and "more than 30 days ago" in form
    page = register_form(app, client, received_at=received, late_reason="")
    assert "more than 30 days ago" in flashes(text(page))
    with app.app_context():
        assert db.session.scalar(select(Complaint)) is None
    register_form(app, client, received_at=received, late_reason="客户来信在分公司积压")
    with app.app_context():
        c = db.session.scalar(select(Complaint))
        assert events_of(c.id)[0].note == "客户来信在分公司积压"


def test_receipt_in_the_future_is_refused(app, org):
    """A receipt time after now: the rules' reason, nothing saved."""
    client = login(app, "intake")
    tomorrow = (NOW + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    page = register_form(app, client, received_at=tomorrow)
    assert "cannot be in the future" in flashes(text(page))
    with app.app_context():
        assert db.session.scalar(select(Complaint)) is None


# --- a closed complaint's edit ------------------------------------------------------------


@pytest.fixture
def closed(app, org):
    with app.app_context():
        return make_complaint(status=Status.CLOSED, department_id=org.qa,
                              assignee_id=org.users["handler_qa"], title="Closed title",
                              description="已办结", closed_at=NOW - timedelta(days=3))


def test_clerk_cannot_edit_a_closed_complaint(app, org, closed):
    """A clerk's save is refused with the rules' reason; nothing changes."""
    client = login(app, "intake")
    data = form_data(text(client.get(f"{LIST}edit/?id={closed}")))
    data.update(title="Changed by clerk", reason="typo")
    with app.app_context():
        before = snapshot()
    page = client.post(f"{LIST}edit/?id={closed}", data=data)
    assert "only a manager may change it" in flashes(text(page))
    with app.app_context():
        assert snapshot() == before


def test_manager_edits_a_closed_complaint_with_a_reason(app, org, closed):
    """Without a reason the manager is asked for one; with it the change is saved and the
    reason is on the audit event."""
    client = login(app, "manager")
    data = form_data(text(client.get(f"{LIST}edit/?id={closed}")))
    assert "reason" in data
    data.update(title="Corrected title", reason="")
    with app.app_context():
        before = snapshot()
    page = client.post(f"{LIST}edit/?id={closed}", data=data)
    assert "please give the reason for the change" in flashes(text(page))
    with app.app_context():
        assert snapshot() == before
    data.update(reason="客户姓名登记错误")
    page = client.post(f"{LIST}edit/?id={closed}", data=data, follow_redirects=True)
    assert "Record was successfully saved." in flashes(text(page))
    with app.app_context():
        c = db.session.get(Complaint, closed)
        assert (c.title, c.status) == ("Corrected title", Status.CLOSED)
        event = events_of(closed)[-1]
        assert event.action == "edit" and event.note.startswith("客户姓名登记错误")


def test_manager_saving_a_closed_complaint_unchanged_writes_no_event(app, org, closed):
    """A no-op save with a reason changes nothing and writes no audit event."""
    client = login(app, "manager")
    data = form_data(text(client.get(f"{LIST}edit/?id={closed}")))
    data.update(reason="只是查看")
    with app.app_context():
        before = snapshot()
    client.post(f"{LIST}edit/?id={closed}", data=data)
    with app.app_context():
        assert snapshot() == before


def test_detail_page_shows_the_clock_waited_on(app, org):
    """The detail page names the deadline waited on and lists the clocks that are set."""
    with app.app_context():
        cid = make_complaint(status=Status.IN_PROGRESS, department_id=org.qa,
                             assignee_id=org.users["handler_qa"], due_kind="resolve",
                             due_at=NOW + timedelta(days=2), resolve_due=NOW + timedelta(days=2),
                             accept_due=NOW - timedelta(days=1))
    html = text(login(app, "intake").get(f"{LIST}details/?id={cid}"))
    due = re.search(r'<tr class="field-due_at">(.*?)</tr>', html, re.S).group(1)
    assert "Resolve by" in due
    assert 'class="field-resolve_due"' in html and 'class="field-accept_due"' in html
    assert 'class="field-review_due"' not in html  # not set: not shown


@pytest.mark.parametrize("big", ["999999", "3000000000"])
def test_a_category_id_past_a_32_bit_integer_is_an_unknown_one_not_an_error(app, org, big):
    """A forged category id beyond PostgreSQL's INTEGER (found by the fuzz tests: a 500 on
    PostgreSQL) is taken like any unknown category id: registered without a category
    (customer service classifies it before accepting)."""
    client = login(app, "intake")
    data = form_data(text(client.get(f"{LIST}new/")))
    data.update(customer_name="赵六", customer_phone="13911112222", title="门店服务差",
                description="店员态度不好", category_id=big)
    response = client.post(f"{LIST}new/", data=data)
    assert response.status_code == 302
    with app.app_context():
        latest = db.session.scalars(select(Complaint).order_by(Complaint.id.desc())).first()
        assert (latest.title, latest.category_id) == ("门店服务差", None)
