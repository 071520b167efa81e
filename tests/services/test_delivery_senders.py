"""Sending one delivery (services/delivery/senders.py) to a real SMTP server and a real
local HTTP server standing in for WeCom, DingTalk and the SMS gateway: what arrives, and
how each failure is classified (Transient: try again; Permanent: give up)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import urllib.parse
from datetime import datetime

import pytest

from models import Complaint, Delivery, Department, db
from rules import Action, Status
from rules.delivery import DINGTALK, EMAIL, SMS, WECOM
from services.delivery import render, senders
from services.delivery.errors import Permanent, Transient, Unreachable
from tests.conftest import make_app

DOMAIN = "desk.example.test"
TO = "li.na@example.com"


@pytest.fixture
def app(db_url, smtp_server, webhook_server):
    """The test app sending e-mail to the test's SMTP server and SMS to its webhook."""
    yield from make_app(db_url, **{**smtp_server.config,
                      "MAIL_MESSAGE_ID_DOMAIN": DOMAIN,
                      "NOTIFY_BASE_URL": "https://desk.example.com",
                      "SMS_WEBHOOK_URL": webhook_server.url("/sms"),
                      "SMS_WEBHOOK_TOKEN": "sms-token", "WEBHOOK_TIMEOUT": 5})


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


def delivery(channel=EMAIL, key="n:1:email", address=TO, subject="Hello", body="Body",
             html=None, locale="en") -> Delivery:
    return Delivery(channel=channel, purpose=Action.URGE, key=key, address=address,
                    subject=subject, body=body, html=html, locale=locale,
                    next_attempt_at=datetime(2026, 11, 23, 9, 0))


def header_lines(raw: bytes) -> list[str]:
    """The header block of a raw message, one entry per physical line."""
    head = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    return head.decode("ascii").splitlines()


def parts(message) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.walk()
            if not part.is_multipart()}


# --- e-mail ---------------------------------------------------------------------------------


def test_staff_mail_arrives_with_headers_message_id_and_both_parts(desk, smtp_server):
    """A rendered staff e-mail reaches the SMTP server: From, To, Subject, the
    idempotency key as Message-ID, automatic-message headers, text and HTML parts."""
    cid = desk.bring_to(Status.IN_PROGRESS)
    complaint = db.session.get(Complaint, cid)
    out = render.notification_message(Action.ASSIGN, complaint, desk.staff("handler_qa"),
                                      locale="en")
    senders.send(delivery(subject=out.subject, body=out.body, html=out.html, key="n:42:email"))
    [got] = smtp_server.messages
    assert got.mail_from == "desk@example.test" and got.rcpt_tos == [TO]
    message = got.message
    assert message["From"] == "desk@example.test" and message["To"] == TO
    assert message["Subject"] == out.subject
    assert message["Message-ID"] == f"<n.42.email@{DOMAIN}>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Content-Language"] == "en"
    assert message.get_content_type() == "multipart/alternative"
    body = parts(message)
    assert complaint.number in body["text/plain"] and "Assigned to you" in body["text/plain"]
    assert f"?id={cid}" in body["text/html"]


def test_chinese_mail_arrives_in_chinese(desk, smtp_server):
    """A zh_Hans_CN recipient's e-mail: Chinese subject (RFC 2047) and body, UTF-8."""
    cid = desk.bring_to(Status.IN_PROGRESS)
    complaint = db.session.get(Complaint, cid)
    out = render.notification_message(Action.URGE, complaint, desk.staff("handler_qa"),
                                      locale="zh_Hans_CN")
    senders.send(delivery(subject=out.subject, body=out.body, html=out.html,
                          locale="zh_Hans_CN"))
    message = smtp_server.messages[0].message
    assert message["Subject"] == f"[{complaint.number}] 督办：冰箱不制冷"
    assert all(line.isascii() for line in header_lines(smtp_server.messages[0].raw))
    assert message["Content-Language"] == "zh-CN"
    body = parts(message)
    assert "状态：处理中" in body["text/plain"] and "处理中" in body["text/html"]


def test_title_cannot_inject_a_header_or_html(desk, smtp_server):
    """A title with CRLF + "Bcc:" and <script>: the received message has one Subject, no
    Bcc, one recipient, and the HTML part shows the script as text."""
    cid = desk.bring_to(Status.IN_PROGRESS, title="<script>alert(1)</script>\r\nBcc: x@evil")
    complaint = db.session.get(Complaint, cid)
    out = render.notification_message(Action.ASSIGN, complaint, desk.staff("handler_qa"),
                                      locale="en")
    senders.send(delivery(subject=out.subject, body=out.body, html=out.html))
    [got] = smtp_server.messages
    lines = [line.lower() for line in header_lines(got.raw)]
    assert sum(line.startswith("subject:") for line in lines) == 1
    assert not any(line.startswith("bcc:") for line in lines)
    assert got.message["Bcc"] is None and got.rcpt_tos == [TO]
    html = parts(got.message)["text/html"]
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_sender_cleans_a_subject_that_did_not_come_through_render(ctx, smtp_server):
    """Defence in depth: a stored subject with CR/LF is sent on one line, no Bcc."""
    senders.send(delivery(subject="Hi\r\nBcc: x@evil.test\r\nX-Evil: 1"))
    [got] = smtp_server.messages
    assert got.message["Subject"] == "Hi Bcc: x@evil.test X-Evil: 1"
    assert got.message["Bcc"] is None and got.message["X-Evil"] is None
    assert got.rcpt_tos == [TO]


@pytest.mark.parametrize("address", ["not-an-address", "a@b.test\r\nBcc: c@evil.test",
                                     "a@b.test, c@evil.test", "", None])
def test_a_bad_address_is_permanent_and_nothing_is_sent(ctx, smtp_server, address):
    """An address that is not one mailbox is refused before the server is asked."""
    with pytest.raises(Permanent):
        senders.send(delivery(address=address))
    assert smtp_server.messages == []


def test_refused_recipient_is_permanent(ctx, smtp_server):
    """SMTP 550 for the recipient: Permanent, with the code and the address masked."""
    smtp_server.refuse.add(TO)
    with pytest.raises(Permanent) as err:
        senders.send(delivery())
    assert "550" in str(err.value) and TO not in str(err.value)
    assert smtp_server.messages == []


def test_server_down_is_transient_and_back_up_delivers(ctx, smtp_server):
    """SMTP server stopped: Unreachable (a Transient whose try is not counted); started
    again: the same delivery goes through."""
    smtp_server.stop()
    with pytest.raises(Unreachable):
        senders.send(delivery())
    smtp_server.start()
    senders.send(delivery())
    assert len(smtp_server.messages) == 1


def test_mail_off_is_transient(app, smtp_server):
    """MAIL_SERVER unset (e-mail off): Unreachable, nothing tried."""
    app.config["MAIL_SERVER"] = None
    with app.app_context():
        with pytest.raises(Unreachable):
            senders.send(delivery())
    assert smtp_server.messages == []


def test_one_connection_carries_many_mails(ctx, smtp_server):
    """With a connection passed in, several e-mails share it, each with its own id."""
    connection = senders.mail.get_connection()
    connection.open()
    try:
        for n in range(3):
            senders.send(delivery(key=f"n:{n}:email"), mail_connection=connection)
    finally:
        connection.close()
    assert smtp_server.message_ids() == [f"<n.{n}.email@{DOMAIN}>" for n in range(3)]


@pytest.mark.parametrize("key, expected", [
    ("n:12:email", "n.12.email"),
    ("d:7:2026-11-24", "d.7.2026-11-24"),
    ("r:3:due_soon:9:resolve:2026-11-30T18:00:00:4:due_soon",
     "r.3.due_soon.9.resolve.2026-11-30T18.00.00.4.due_soon"),
    ("c::x", "c=3A=3Ax"),          # an empty part: no ".." in an id
    ("a.b", "a=2Eb"),              # a dot of the key is not a colon of another key
    ("键 <x>", "=E9=94=AE=20=3Cx=3E"),
])
def test_message_id_is_valid_and_one_to_one(ctx, key, expected):
    """Keys become valid Message-IDs; different keys never share one."""
    assert senders.message_id(key) == f"<{expected}@{DOMAIN}>"


# --- robots ---------------------------------------------------------------------------------


def robot(kind, url, secret=None) -> Department:
    return Department(code="QA", name="质量管理部", robot_kind=kind, robot_url=url,
                      robot_secret=secret)


def test_wecom_post_has_the_documented_shape(ctx, webhook_server):
    """WeCom: POST to the robot URL, {"msgtype": "text", "text": {"content": …}}, the key
    as X-Request-Id, UTF-8 JSON."""
    url = webhook_server.url("/cgi-bin/webhook/send?key=abc")
    senders.send(delivery(channel=WECOM, key="r:1:5:urge", body="【客户投诉处理平台】督办"),
                 robot(WECOM, url))
    [req] = webhook_server.requests
    assert req.path == "/cgi-bin/webhook/send?key=abc"
    assert req.json() == {"msgtype": "text", "text": {"content": "【客户投诉处理平台】督办"}}
    assert req.headers["X-Request-Id"] == "r:1:5:urge"
    assert req.headers["Content-Type"].startswith("application/json")


def test_dingtalk_signature_is_the_documented_one(ctx, webhook_server):
    """DingTalk with a secret: &timestamp=<ms>&sign=<urlencoded base64 HMAC-SHA256 of
    "timestamp\\nsecret">, recomputed here from the received timestamp."""
    secret = "SEC0123456789abcdef+/="
    url = webhook_server.url("/robot/send?access_token=tok")
    senders.send(delivery(channel=DINGTALK, key="r:1:5:urge", body="督办"),
                 robot(DINGTALK, url, secret))
    [req] = webhook_server.requests
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(req.path).query)
    assert query["access_token"] == ["tok"]
    timestamp = query["timestamp"][0]
    assert abs(int(timestamp) - time.time() * 1000) < 60_000  # epoch ms, not wall time
    expected = base64.b64encode(hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(),
                                         hashlib.sha256).digest()).decode()
    assert query["sign"] == [expected]  # parse_qs undid the URL encoding
    raw_sign = req.path.split("sign=")[1]
    assert raw_sign == urllib.parse.quote_plus(expected)
    assert req.json() == {"msgtype": "text", "text": {"content": "督办"}}


def test_dingtalk_without_secret_posts_to_the_plain_url(ctx, webhook_server):
    """No secret (keyword security instead): no timestamp or sign added."""
    url = webhook_server.url("/robot/send?access_token=tok")
    senders.send(delivery(channel=DINGTALK, body="x"), robot(DINGTALK, url))
    assert webhook_server.requests[0].path == "/robot/send?access_token=tok"


@pytest.mark.parametrize("kind, status, reply, error", [
    (WECOM, 500, {}, Transient),
    (DINGTALK, 503, {}, Transient),
    (WECOM, 429, {}, Transient),
    (DINGTALK, 400, {}, Permanent),
    (WECOM, 404, {}, Permanent),
    (WECOM, 302, {}, Permanent),  # a webhook that redirects is never followed
    (WECOM, 200, {"errcode": 45009, "errmsg": "api freq out of limit"}, Transient),
    (DINGTALK, 200, {"errcode": 130101, "errmsg": "send too fast"}, Transient),
    (WECOM, 200, {"errcode": -1, "errmsg": "system busy"}, Transient),
    (DINGTALK, 200, {"errcode": 310000, "errmsg": "keywords not in content"}, Permanent),
    (WECOM, 200, {"errcode": 93000, "errmsg": "invalid webhook url"}, Permanent),
    (DINGTALK, 200, ["not", "the", "robot"], Permanent),
])
def test_robot_failures_are_classified(ctx, webhook_server, kind, status, reply, error):
    """HTTP 429/5xx and rate limits: Transient; other 4xx, redirects, refusals by
    errcode and answers that are not the robot's: Permanent."""
    webhook_server.status, webhook_server.reply = status, reply
    with pytest.raises(error):
        senders.send(delivery(channel=kind, body="x"), robot(kind, webhook_server.url()))
    assert len(webhook_server.requests) == 1


def test_robot_unreachable_is_transient(ctx, webhook_server):
    """The robot's server does not answer: Transient."""
    url = webhook_server.url()
    webhook_server.stop()
    with pytest.raises(Unreachable):
        senders.send(delivery(channel=WECOM, body="x"), robot(WECOM, url))


@pytest.mark.parametrize("department", [None, robot(WECOM, None),
                                        robot(WECOM, "file:///etc/passwd"),
                                        robot(WECOM, "ftp://example.com/x")])
def test_robot_without_a_usable_address_is_permanent(ctx, webhook_server, department):
    """No department, no URL, or not http(s): Permanent, nothing posted."""
    with pytest.raises(Permanent):
        senders.send(delivery(channel=WECOM, body="x"), department)
    assert webhook_server.requests == []


# --- SMS and the rest -----------------------------------------------------------------------


def test_sms_goes_to_the_gateway_with_token_and_request_id(ctx, webhook_server):
    """SMS: POST {"to", "text", "request_id"} with the bearer token and X-Request-Id."""
    senders.send(delivery(channel=SMS, key="c:9:customer_ack:sms", address=" 13912345678 ",
                          body="您的投诉已收到"))
    [req] = webhook_server.requests
    assert req.path == "/sms"
    assert req.json() == {"to": "13912345678", "text": "您的投诉已收到",
                          "request_id": "c:9:customer_ack:sms"}
    assert req.headers["Authorization"] == "Bearer sms-token"
    assert req.headers["X-Request-Id"] == "c:9:customer_ack:sms"


def test_sms_failures_are_classified(app, webhook_server):
    """Gateway 502: Transient; 401: Permanent; gateway unset: Transient; no phone:
    Permanent."""
    with app.app_context():
        webhook_server.status = 502
        with pytest.raises(Transient):
            senders.send(delivery(channel=SMS, address="13912345678"))
        webhook_server.status = 401
        with pytest.raises(Permanent):
            senders.send(delivery(channel=SMS, address="13912345678"))
        webhook_server.status = 200
        with pytest.raises(Permanent):
            senders.send(delivery(channel=SMS, address=""))
        app.config["SMS_WEBHOOK_URL"] = None
        with pytest.raises(Unreachable):
            senders.send(delivery(channel=SMS, address="13912345678"))
    assert len(webhook_server.requests) == 2


def test_unknown_channel_is_permanent(ctx):
    """A channel the desk does not know cannot succeed later."""
    with pytest.raises(Permanent):
        senders.send(delivery(channel="fax"))
