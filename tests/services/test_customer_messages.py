"""Messages to the customer (R8): the acknowledgement on registration and the result on the
normal close, each recorded on the timeline (addresses masked) and queued as deliveries in
the action's transaction, by the media rules.delivery.customer_media allows; sent by the
worker through the real SMTP server and SMS webhook; shown on the detail page with their
states."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

import services.complaints as complaints_service
from models import Complaint, ComplaintEvent, Delivery, Setting, db
from models.settings import CUSTOMER_MESSAGE_CHANNELS
from rules import Action, Channel
from rules.customer_messages import DEFAULT_CHANNELS, answer_deadline
from rules.delivery import customer_media
from services import customer_messages
from services.calendar_source import business_calendar
from services.complaints import policy_for
from services.delivery import run_pass
from tests.conftest import make_app
from tests.factories import PASSWORD, T0, T1, UNSATISFIED, recorded_statements

EMAIL = "li.na@example.com"
PHONE = "+86 138 1234 5678"
DIGITS = "13812345678"


@pytest.fixture
def app(db_url, smtp_server, webhook_server):
    """E-mail through the test's SMTP server, SMS through its webhook (tests switch either
    off in app.config)."""
    yield from make_app(db_url, **{**smtp_server.config,
                      "SMS_WEBHOOK_URL": webhook_server.url("/sms"),
                      "SMS_WEBHOOK_TOKEN": "sms-token"})


def messages(cid=None) -> list[ComplaintEvent]:
    stmt = select(ComplaintEvent).where(ComplaintEvent.action == Action.MESSAGE)
    if cid is not None:
        stmt = stmt.where(ComplaintEvent.complaint_id == cid)
    return db.session.scalars(stmt.order_by(ComplaintEvent.id)).all()


def deliveries(cid=None) -> list[Delivery]:
    db.session.expire_all()
    stmt = select(Delivery)
    if cid is not None:
        stmt = stmt.where(Delivery.complaint_id == cid)
    return db.session.scalars(stmt.order_by(Delivery.id)).all()


def no_contact_in(text: str):
    assert EMAIL not in text and DIGITS not in text and "1234 5678" not in text, text


def test_registration_by_email_acknowledges_by_email(desk):
    cid = desk.register(channel="email", customer_email=EMAIL, customer_phone=PHONE)
    complaint = db.session.get(Complaint, cid)
    (event,) = messages(cid)
    (register_event,) = [e for e in desk.events(cid) if e["action"] == Action.REGISTER]
    assert (event.at, event.actor_id, event.from_status, event.to_status) == (
        T0, None, "registered", "registered")
    assert event.id > register_event["id"]
    assert event.note == "Acknowledgement to the customer: e-mail to l***@example.com"
    (d,) = deliveries(cid)
    assert (d.channel, d.purpose, d.key, d.address, d.locale, d.status, d.attempts) == (
        "email", "customer_ack", f"c:{cid}:customer_ack:email", EMAIL, "zh_Hans_CN",
        "pending", 0)
    assert (d.event_id, d.created_at, d.next_attempt_at, d.recipient_id) == (
        event.id, T0, T0, None)
    assert complaint.number in d.subject and complaint.number in d.body and d.html
    policy = policy_for("complaint", "service", "normal")
    promised = answer_deadline(T0, T0, policy, business_calendar())
    assert promised == datetime(2026, 12, 3, 23, 59, 59)  # 24 h, then 7 working days
    assert "2026-12-03" in d.body


def test_registration_by_phone_acknowledges_by_sms(desk):
    cid = desk.register(channel="phone", customer_email=EMAIL, customer_phone=PHONE)
    (d,) = deliveries(cid)
    assert (d.channel, d.address, d.key, d.html) == (
        "sms", DIGITS, f"c:{cid}:customer_ack:sms", None)
    (event,) = messages(cid)
    assert event.note == "Acknowledgement to the customer: SMS to 138****5678"


def test_sms_off_the_phone_caller_gets_an_email(app, desk):
    app.config["SMS_WEBHOOK_URL"] = None
    cid = desk.register(channel="phone", customer_email=EMAIL, customer_phone=PHONE)
    assert [d.channel for d in deliveries(cid)] == ["email"]


def test_both_off_nothing_and_not_one_query(app, desk):
    app.config.update(MAIL_SERVER=None, SMS_WEBHOOK_URL=None)
    cid = desk.register(channel="email", customer_email=EMAIL, customer_phone=PHONE)
    complaint = db.session.get(Complaint, cid)
    policy = policy_for("complaint", "service", "normal")
    with recorded_statements(app) as statements:
        assert customer_messages.on_registration(complaint, policy, T0) is None
        assert customer_messages.on_action(Action.CLOSE, complaint, T0) is None
    assert statements == []
    assert messages() == [] and deliveries() == []


@pytest.mark.parametrize("channel", Channel.ALL)
def test_every_channel_email_phone_and_service_as_the_rule_says(app, desk, channel):
    """Registration writes exactly the media rules.delivery.customer_media names, for
    every combination of contacts and services, and an event exactly when it does."""
    for email, phone, mail_on, sms_on in itertools.product((EMAIL, None), (PHONE, None),
                                                          (True, False), (True, False)):
        if email is None and phone is None:
            continue  # refused at registration
        app.config["MAIL_SERVER"] = "127.0.0.1" if mail_on else None
        app.config["SMS_WEBHOOK_URL"] = "http://127.0.0.1:9/sms" if sms_on else None
        by = "intake" if channel != Channel.TRANSFERRED else "handler_qa"
        cid = desk.register(channel=channel, customer_email=email, customer_phone=phone, by=by)
        want = customer_media("customer_ack", channel, DEFAULT_CHANNELS, email,
                              DIGITS if phone else None, sms_on=sms_on, mail_on=mail_on)
        got = deliveries(cid)
        assert tuple(d.channel for d in got) == want, (email, phone, mail_on, sms_on)
        assert len(messages(cid)) == (1 if want else 0)
        for event in messages(cid):
            no_contact_in(event.note)
    if channel in (Channel.TRANSFERRED, "walk_in"):
        assert deliveries() == []  # not in the default setting


def test_the_setting_chooses_the_channels(desk):
    db.session.add(Setting(key=CUSTOMER_MESSAGE_CHANNELS, value="walk_in, letter"))
    db.session.commit()
    walk_in = desk.register(channel="walk_in", customer_email=EMAIL, customer_phone=None)
    phone = desk.register(channel="phone", customer_email=EMAIL, customer_phone=None)
    assert [d.channel for d in deliveries(walk_in)] == ["email"]
    assert deliveries(phone) == []
    db.session.get(Setting, CUSTOMER_MESSAGE_CHANNELS).value = "none"  # nobody
    db.session.commit()
    assert deliveries(desk.register(channel="letter", customer_email=EMAIL)) == []


def test_written_in_the_registration_transaction(desk, monkeypatch):
    """A failure after the message was written leaves no complaint, event or delivery."""
    real = customer_messages.on_registration

    def failing(*args, **kwargs):
        assert real(*args, **kwargs) is not None
        raise RuntimeError("boom")

    monkeypatch.setattr(complaints_service.customer_messages, "on_registration", failing)
    with pytest.raises(RuntimeError):
        desk.register(channel="email", customer_email=EMAIL)
    db.session.rollback()
    assert (desk.count(Complaint), desk.count(ComplaintEvent), desk.count(Delivery)) == (0, 0, 0)


def test_close_sends_the_result_by_every_medium(desk):
    cid = desk.bring_to("closed", channel="email", customer_email=EMAIL, customer_phone=PHONE)
    ack, result = messages(cid)
    close = [e for e in desk.events(cid) if e["action"] == Action.CLOSE][0]
    assert result.id > close["id"] and (result.from_status, result.to_status) == (
        "closed", "closed")
    assert result.note == ("Result to the customer: e-mail to l***@example.com, "
                           "SMS to 138****5678")
    got = {(d.purpose, d.channel): d for d in deliveries(cid)}
    assert set(got) == {("customer_ack", "email"), ("customer_result", "email"),
                        ("customer_result", "sms")}
    assert got["customer_result", "email"].key == f"c:{cid}:customer_result:email"
    assert got["customer_result", "sms"].event_id == result.id
    assert "replaced the unit" in got["customer_result", "email"].body  # the resolution


def test_force_close_and_other_actions_send_nothing(desk):
    cid = desk.bring_to("callback", channel="email", customer_email=EMAIL)
    desk.act(cid, "force_close", "manager", T1, reason="customer unreachable")
    invalid = desk.bring_to("closed_invalid", channel="email", customer_email=EMAIL)
    assert {d.purpose for d in deliveries(cid)} == {"customer_ack"}
    assert {d.purpose for d in deliveries(invalid)} == {"customer_ack"}


def test_closed_again_after_reopening_sends_the_new_result(desk):
    cid = desk.bring_to("closed", channel="email", customer_email=EMAIL, customer_phone=None)
    later = T0 + timedelta(days=2)
    desk.act(cid, "reopen", "manager", later, reason="customer called again")
    desk.act(cid, "resolve", "handler_qa", later, root_cause="b", responsibility="company",
             remedy="repair", resolution="repaired on site")
    desk.act(cid, "review_approve", "intake", later)
    desk.act(cid, "callback", "intake", later, method="phone", reached=True,
             satisfaction="satisfied", solved=True)
    desk.act(cid, "close", "intake", later)
    first, second = [d for d in deliveries(cid) if d.purpose == "customer_result"]
    assert first.key == f"c:{cid}:customer_result:email"
    assert second.key == f"{first.key}:{second.event_id}"
    assert "repaired on site" in second.body


def test_the_worker_sends_them_and_the_detail_page_shows_their_state(
        app, org, client, smtp_server, webhook_server):
    with app.app_context():
        from models import Staff

        intake = db.session.get(Staff, org.users["intake"])
        by_mail = complaints_service.register(
            {"customer_name": "李娜", "customer_email": EMAIL, "customer_phone": PHONE,
             "channel": "email", "title": "冰箱不制冷", "description": "d"}, intake, now=T0)
        by_sms = complaints_service.register(
            {"customer_name": "王五", "customer_phone": PHONE, "channel": "hotline",
             "title": "t", "description": "d"}, intake, now=T0)
        numbers = by_mail.number, by_sms.number
        ids = by_mail.id, by_sms.id
        result = run_pass(now=T0 + timedelta(minutes=1))
        assert (result.claimed, result.sent) == (2, 2), result
    (mail,) = smtp_server.messages
    assert mail.rcpt_tos == [EMAIL] and numbers[0] in mail.message["Subject"]
    (sms,) = webhook_server.requests
    assert sms.path == "/sms" and sms.json()["to"] == DIGITS and numbers[1] in sms.json()["text"]
    assert sms.headers["Authorization"] == "Bearer sms-token"

    from tests.factories import AuthActions

    AuthActions(client).login("supervisor", PASSWORD)  # sees contacts masked
    html = client.get(f"/admin/complaint/details/?id={ids[0]}").get_data(as_text=True)
    assert "timeline-delivery delivery-sent" in html and "l***@example.com" in html
    assert EMAIL not in html
    with app.app_context():
        db.session.execute(Delivery.__table__.update().where(Delivery.complaint_id == ids[1])
                           .values(status="failed", last_error="550"))
        db.session.commit()
    html = client.get(f"/admin/complaint/details/?id={ids[1]}").get_data(as_text=True)
    assert "delivery-failed" in html and "138****5678" in html
    no_contact_in(html.split("complaint-timeline", 1)[1])


def test_the_timeline_labels_the_message_and_its_states(app, org, client):
    """The detail page in Chinese: the label and the states are translated."""
    with app.app_context():
        from models import Staff

        intake = db.session.get(Staff, org.users["intake"])
        cid = complaints_service.register(
            {"customer_name": "李娜", "customer_email": EMAIL, "channel": "web", "title": "t",
             "description": "d"}, intake, now=T0).id
    from tests.factories import AuthActions

    AuthActions(client).login("intake", PASSWORD)
    html = client.get(f"/admin/complaint/details/?id={cid}",
                      headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    timeline = html.split("complaint-timeline", 1)[1]
    assert "delivery-pending" in timeline and "l***@example.com" in timeline
    assert "发给客户的消息" in timeline  # Message to the customer
    from flask_babel import force_locale

    from admin_views.deliveries import PURPOSE, STATUS

    with app.test_request_context(), force_locale("zh_Hans_CN"):
        shown = str(PURPOSE["customer_ack"]), str(STATUS["pending"])
    assert all(text in timeline for text in shown), shown


def test_unsatisfied_callbacks_and_reopening_tell_the_customer_nothing(desk):
    cid = desk.bring_to("callback", channel="email", customer_email=EMAIL)
    desk.act(cid, "callback", "intake", T1, **UNSATISFIED)
    assert [d.purpose for d in deliveries(cid)] == ["customer_ack"]
