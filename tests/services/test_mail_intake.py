"""services/mail_intake.py through a real IMAP server on loopback (tests/imap_server.py):
new mail becomes one complaint, once, however often or by how many fetchers it is read;
a reply naming a complaint becomes a note on it; HTML made text; attachments kept or
refused with the complaint registered; processed mail moved; `flask fetch-mail`."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from models import Attachment, Complaint, InboundMessage, Staff, db
from rules import Channel, Status
from rules import mail_intake as rm
from services import clock
from services import mail_intake as svc
from tests.attachment_samples import image
from tests.factories import run_concurrently
from tests.imap_server import ImapServer, imap_server  # noqa: F401 (the fixture)

NOW = datetime(2026, 11, 24, 10, 0)  # company time (Asia/Shanghai)
ARRIVED = datetime(2026, 11, 24, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai


@pytest.fixture
def mailbox(app, imap_server, tmp_path, monkeypatch):  # noqa: F811 (the fixture above)
    app.config.update(imap_server.config, STORAGE_LOCAL_DIR=str(tmp_path / "files"))
    app.extensions.pop("desk_storage", None)
    monkeypatch.setattr(clock, "now", lambda: NOW)
    return imap_server


def mail(subject="冰箱不制冷", body="冷藏室不制冷，已经三天了。",
         sender="王芳 <wang.fang@example.cn>", message_id="<m1@example.cn>", html=None, files=(),
         headers=None) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "complaints@desk.example"
    if subject is not None:
        msg["Subject"] = subject
    if message_id:
        msg["Message-ID"] = message_id
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    for name, data, maintype, subtype in files:
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return bytes(msg)


def complaints():
    return db.session.scalars(select(Complaint).order_by(Complaint.id)).all()


def inbound():
    return db.session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()


def test_new_mail_becomes_one_registered_complaint_and_is_moved(desk, mailbox):
    """A new message: one complaint (channel e-mail, sender as contact, subject as title,
    body as description, received when the mailbox got it), registered by the inactive
    channel account; recorded in InboundMessage; moved from INBOX to Processed."""
    mailbox.deliver(mail(), internal=ARRIVED)
    summary = svc.fetch()
    assert summary[rm.REGISTERED] == 1 and summary.summary().startswith("Mail: 1 registered")
    [c] = complaints()
    assert (c.channel, c.customer_name, c.customer_email, c.title, c.description) == (
        Channel.EMAIL, "王芳", "wang.fang@example.cn", "冰箱不制冷", "冷藏室不制冷，已经三天了。")
    assert c.status == Status.REGISTERED and c.received_at == datetime(2026, 11, 24, 9, 30)
    account = db.session.get(Staff, c.registered_by_id)
    assert account.username == "channel-email" and not account.active
    [row] = inbound()
    assert (row.message_id, row.outcome, row.complaint_id, row.mailbox) == (
        "<m1@example.cn>", rm.REGISTERED, c.id, "INBOX")
    assert row.sender == "王芳 <wang.fang@example.cn>" and summary.numbers == [c.number]
    assert mailbox.folder("INBOX") == [] and len(mailbox.folder("Processed")) == 1
    assert "UID MOVE" in mailbox.commands


def test_reading_twice_registers_once(desk, mailbox):
    """Run twice, and the same message delivered again: still one complaint."""
    mailbox.deliver(mail())
    svc.fetch()
    assert svc.fetch()[rm.REGISTERED] == 0
    mailbox.deliver(mail())  # the same Message-ID again (a resend, a second copy)
    again = svc.fetch()
    assert (again[rm.REGISTERED], again[svc.SKIPPED]) == (0, 1)
    assert len(complaints()) == 1 and len(inbound()) == 1
    assert mailbox.folder("INBOX") == [] and len(mailbox.folder("Processed")) == 2


def test_a_message_without_message_id_is_keyed_by_its_hash(desk, mailbox):
    """No Message-ID: the SHA-256 of the raw message stands in; a second copy is skipped."""
    raw = mail(message_id=None)
    mailbox.deliver(raw)
    mailbox.deliver(raw)
    summary = svc.fetch()
    assert (summary[rm.REGISTERED], summary[svc.SKIPPED]) == (1, 1)
    [row] = inbound()
    assert row.message_id.startswith("sha256:") and len(complaints()) == 1


def test_reply_naming_a_complaint_becomes_a_note_not_a_new_complaint(desk, mailbox):
    """"Re: … TS-…" adds an "E-mail received" event to that complaint (by the channel
    account, status unchanged, a new version), and registers nothing."""
    cid = desk.register(customer_email="wang.fang@example.cn")
    number, version = db.session.get(Complaint, cid).number, db.session.get(Complaint, cid).version
    mailbox.deliver(mail(subject=f"Re: 您的投诉 {number.lower()} 已登记", body="还没有人联系我。",
                         message_id="<reply@example.cn>"))
    summary = svc.fetch()
    assert summary[rm.THREADED] == 1 and summary.numbers == [number]
    db.session.expire_all()
    assert len(complaints()) == 1
    event = desk.events(cid)[-1]
    assert event["action"] == rm.MAIL_IN and event["from_status"] == event["to_status"]
    assert "还没有人联系我。" in event["note"] and "wang.fang@example.cn" in event["note"]
    assert "⚠" not in event["note"]  # the address on file
    assert db.session.get(Staff, event["actor_id"]).username == "channel-email"
    assert db.session.get(Complaint, cid).version == version + 1
    [row] = inbound()
    assert (row.outcome, row.complaint_id) == (rm.THREADED, cid)


def test_reply_from_another_address_is_threaded_and_flagged(desk, mailbox):
    """A reply from an address that is not the customer's on file is noted with a flag."""
    cid = desk.register(customer_email="wang.fang@example.cn")
    number = db.session.get(Complaint, cid).number
    mailbox.deliver(mail(subject=f"Fwd: {number}", sender="x@other.example"))
    svc.fetch()
    note = desk.events(cid)[-1]["note"]
    assert "⚠" in note and "x@other.example" in note and "wang.fang@example.cn" in note


def test_a_subject_naming_no_complaint_registers_a_new_one(desk, mailbox):
    """A TS-number that does not exist is just words in a new complaint's title."""
    mailbox.deliver(mail(subject="Re: TS-20260101-9999"))
    assert svc.fetch()[rm.REGISTERED] == 1
    assert complaints()[0].title == "TS-20260101-9999"


def test_html_mail_is_made_clean_text(desk, mailbox):
    """HTML only: tags, scripts and styles gone, entities decoded, blocks on their lines."""
    msg = EmailMessage()
    msg["From"], msg["Subject"], msg["Message-ID"] = "li@example.cn", "HTML", "<h@x>"
    msg.set_content("<html><head><style>p{color:red}</style><title>t</title></head><body>"
                    "<p>快递&amp;包装<b>破损</b></p><script>alert('x')</script>"
                    "<div>第二段 &lt;b&gt;</div><img src=x onerror=alert(1)></body></html>",
                    subtype="html")
    mailbox.deliver(bytes(msg))
    svc.fetch()
    [c] = complaints()
    assert c.description == "快递&包装破损\n第二段 <b>"
    assert c.customer_name == "li"  # no display name: the address's local part


def test_plain_text_is_preferred_to_html(desk, mailbox):
    """multipart/alternative: the text/plain part is the description."""
    mailbox.deliver(mail(body="纯文本", html="<p>HTML <script>x</script></p>"))
    svc.fetch()
    assert complaints()[0].description == "纯文本"


def test_attachment_kept_through_the_attachment_checks(desk, mailbox, tmp_path):
    """A photo is checked and stored like an upload, on the new complaint, by the channel
    account."""
    png = image("PNG")
    mailbox.deliver(mail(files=[("照片.png", png, "image", "png")]))
    svc.fetch()
    [c] = complaints()
    [att] = db.session.scalars(select(Attachment)).all()
    assert (att.complaint_id, att.name, att.kind, att.size) == (c.id, "照片.png", "png", len(png))
    assert db.session.get(Staff, att.uploaded_by_id).username == "channel-email"
    assert (tmp_path / "files" / att.storage_key).read_bytes() == png
    assert inbound()[0].detail is None


def test_bad_attachment_refused_but_the_complaint_registered(desk, mailbox):
    """An HTML file (and a file that lies about its type) is refused and noted on the
    timeline and the InboundMessage; the complaint and the good file are kept."""
    mailbox.deliver(mail(files=[("page.html", b"<html><script>x</script></html>", "text", "html"),
                                ("photo.jpg", b"MZ\x90\x00 not a photo", "image", "jpeg"),
                                ("ok.png", image("PNG"), "image", "png")]))
    summary = svc.fetch()
    assert summary[rm.REGISTERED] == 1
    [c] = complaints()
    assert [a.name for a in db.session.scalars(select(Attachment))] == ["ok.png"]
    notes = [e["note"] for e in desk.events(c.id) if e["action"] == rm.MAIL_IN]
    assert len(notes) == 1 and "page.html" in notes[0] and "photo.jpg" in notes[0]
    assert "page.html" in inbound()[0].detail and "ok.png" not in inbound()[0].detail


def test_header_injection_and_encoded_words_in_the_subject(desk, mailbox):
    """An encoded subject is decoded; CR/LF smuggled in it (raw or encoded) never reach
    the title or the record as new lines or headers."""
    evil = "=?utf-8?b?" + base64.b64encode("投诉\r\nBcc: all@example.cn".encode()).decode() + "?="
    raw = (b"From: a@example.cn\r\nSubject: " + evil.encode() + b"\r\nMessage-ID: <inj@x>\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n")
    mailbox.deliver(raw)
    svc.fetch()
    [c] = complaints()
    assert c.title == "投诉 Bcc: all@example.cn"
    assert "\n" not in inbound()[0].subject and "\r" not in inbound()[0].subject


def test_a_huge_body_is_truncated_with_a_note(desk, mailbox):
    """A body longer than the description holds is cut, saying how long it was."""
    mailbox.deliver(mail(body="很长" * 20_000))
    svc.fetch()
    [c] = complaints()
    assert len(c.description) <= 10_000 and "40000" in c.description
    assert "truncated" in c.description


def test_an_auto_reply_is_refused_recorded_and_moved(desk, mailbox):
    """An out-of-office answer registers nothing; it is recorded as refused and moved."""
    mailbox.deliver(mail(headers={"Auto-Submitted": "auto-replied"}))
    mailbox.deliver(mail(sender="MAILER-DAEMON@mx.example", message_id="<bounce@x>"))
    summary = svc.fetch()
    assert summary[rm.REFUSED] == 2 and complaints() == []
    assert [r.outcome for r in inbound()] == [rm.REFUSED, rm.REFUSED]
    assert "automatic" in inbound()[0].detail
    assert mailbox.folder("INBOX") == []


def test_no_usable_sender_is_refused(desk, mailbox):
    """A From without an address is kept out, with why."""
    mailbox.deliver(mail(sender="undisclosed-recipients:;"))
    assert svc.fetch()[rm.REFUSED] == 1 and complaints() == []
    assert "sender" in inbound()[0].detail


def test_two_fetchers_at_once_never_register_a_message_twice(app, desk, mailbox):
    """Two fetchers (threads, each its own IMAP session and database session) read the
    same mailbox at once: each message registered exactly once, each moved once."""
    for n in range(6):
        mailbox.deliver(mail(subject=f"投诉 {n}", message_id=f"<c{n}@example.cn>"))
    results = run_concurrently(app, lambda: svc.fetch().counts, threads=2)
    assert sum(r.get(rm.REGISTERED, 0) for r in results) == 6
    db.session.expire_all()
    assert sorted(c.title for c in complaints()) == [f"投诉 {n}" for n in range(6)]
    assert len(inbound()) == 6 and len({c.number for c in complaints()}) == 6
    assert mailbox.folder("INBOX") == [] and len(mailbox.folder("Processed")) == 6


def test_the_unique_message_id_decides_a_race(desk, mailbox, monkeypatch):
    """When both fetchers pass the "read before?" check, the loser's transaction fails on
    the unique index and rolls back whole: no second complaint, no number used."""
    raw = mail()
    assert svc.take(raw, "INBOX")[0] == rm.REGISTERED
    calls = []

    def known(key, real=svc._known):
        calls.append(key)
        return real(key) if len(calls) > 2 else False  # blind until after the failure

    monkeypatch.setattr(svc, "_known", known)
    assert svc.take(raw, "INBOX") == (svc.SKIPPED, None)
    assert len(complaints()) == 1 and len(inbound()) == 1
    cid = desk.register(now=NOW)  # the day's next number is the next one: none lost
    assert db.session.get(Complaint, cid).number == "TS-20261124-0002"


def test_without_move_the_message_is_copied_flagged_and_expunged(app, desk, tmp_path,
                                                                   monkeypatch):
    """A server without MOVE: UID COPY, UID STORE +FLAGS (\\Deleted), EXPUNGE."""
    server = ImapServer(move=False)
    server.start()
    try:
        app.config.update(server.config, STORAGE_LOCAL_DIR=str(tmp_path / "files"))
        monkeypatch.setattr(clock, "now", lambda: NOW)
        server.deliver(mail())
        assert svc.fetch()[rm.REGISTERED] == 1
        assert server.folder("INBOX") == [] and len(server.folder("Processed")) == 1
        assert {"UID COPY", "UID STORE", "EXPUNGE"} <= set(server.commands)
        assert "UID MOVE" not in server.commands
    finally:
        server.stop()


def test_a_failure_leaves_the_message_for_the_next_run(desk, mailbox, monkeypatch):
    """The database (here: registration) failing leaves the message in INBOX, unrecorded."""
    mailbox.deliver(mail())

    def broken(*args, **kwargs):
        raise RuntimeError("database down")

    monkeypatch.setattr(svc, "register", broken)
    assert svc.fetch()[svc.FAILED] == 1
    assert len(mailbox.folder("INBOX")) == 1 and inbound() == [] and complaints() == []
    monkeypatch.undo()
    monkeypatch.setattr(clock, "now", lambda: NOW)
    assert svc.fetch()[rm.REGISTERED] == 1 and mailbox.folder("INBOX") == []


def test_wrong_password_is_a_clear_error_and_moves_nothing(app, desk, mailbox):
    """A refused login raises MailboxError; the mail stays where it is."""
    mailbox.deliver(mail())
    app.config["MAIL_INTAKE_PASSWORD"] = "wrong"
    with pytest.raises(svc.MailboxError, match="cannot open the mailbox"):
        svc.fetch()
    assert len(mailbox.folder("INBOX")) == 1 and complaints() == []


def test_fetch_mail_command(app, desk, mailbox):
    """`flask fetch-mail` prints the pass's summary; unconfigured, it says what is missing."""
    mailbox.deliver(mail())
    mailbox.deliver(mail(message_id="<m2@example.cn>", subject="第二封"))
    result = app.test_cli_runner().invoke(args=["fetch-mail", "--limit", "1"])
    assert result.exit_code == 0, result.output
    assert "1 registered" in result.output and len(mailbox.folder("INBOX")) == 1
    result = app.test_cli_runner().invoke(args=["fetch-mail"])
    assert "1 registered" in result.output and mailbox.folder("INBOX") == []
    app.config["MAIL_INTAKE_HOST"] = None
    result = app.test_cli_runner().invoke(args=["fetch-mail"])
    assert result.exit_code != 0 and "MAIL_INTAKE_HOST" in result.output


def test_received_time_from_the_mailbox_not_in_the_future(desk, mailbox):
    """INTERNALDATE in the future (a wrong server clock) or >30 days old: read time."""
    mailbox.deliver(mail(), internal=ARRIVED + timedelta(days=3))
    mailbox.deliver(mail(message_id="<old@x>"), internal=ARRIVED - timedelta(days=60))
    svc.fetch()
    assert [c.received_at for c in complaints()] == [NOW, NOW]


def test_the_timeline_shows_the_mail_escaped(app, org, client, auth, imap_server,  # noqa: F811
                                             tmp_path, monkeypatch):
    """The complaint's page shows the threaded e-mail as "E-mail received", by the mailbox
    account, its text escaped (never run as markup)."""
    app.config.update(imap_server.config, STORAGE_LOCAL_DIR=str(tmp_path / "files"))
    monkeypatch.setattr(clock, "now", lambda: NOW)
    with app.app_context():
        imap_server.deliver(mail(body="<script>alert('x')</script>"))
        svc.fetch()
        complaint = db.session.scalars(select(Complaint)).one()
        cid, number = complaint.id, complaint.number
        imap_server.deliver(mail(subject=f"Re: {number}", message_id="<r@x>",
                                 body="<img src=x onerror=alert(1)> 还没修好"))
        assert svc.fetch()[rm.THREADED] == 1
    auth.login("intake")
    html = client.get(f"/admin/complaint/details/?id={cid}").get_data(as_text=True)
    assert "E-mail received" in html and "投诉邮箱" in html and "还没修好" in html
    assert "<img src=x" not in html and "&lt;img src=x" in html
    assert "<script>alert(" not in html


def test_an_oversized_message_is_refused_unread_and_moved(app, desk, mailbox):
    """Over MAIL_INTAKE_MAX_BYTES only the header is read: refused (with its Message-ID,
    sender and subject recorded), moved; a smaller one next to it is registered."""
    app.config["MAIL_INTAKE_MAX_BYTES"] = 4000
    mailbox.deliver(mail(body="大" * 3000, message_id="<big@x>"))
    mailbox.deliver(mail(message_id="<small@x>"))
    summary = svc.fetch()
    assert (summary[rm.REFUSED], summary[rm.REGISTERED]) == (1, 1)
    big = db.session.scalars(select(InboundMessage).filter_by(message_id="<big@x>")).one()
    assert big.outcome == rm.REFUSED and "larger than the limit" in big.detail
    assert big.sender == "王芳 <wang.fang@example.cn>" and big.complaint_id is None
    assert len(complaints()) == 1 and mailbox.folder("INBOX") == []


def test_a_replys_files_go_to_the_complaint_it_names(desk, mailbox):
    """A reply's photo is kept on the complaint it names; a refused file is in its note."""
    cid = desk.register(customer_email="wang.fang@example.cn")
    number = db.session.get(Complaint, cid).number
    mailbox.deliver(mail(subject=f"Re: {number}", files=[
        ("new.png", image("PNG"), "image", "png"), ("run.exe", b"MZ\x90\x00", "application",
                                                    "octet-stream")]))
    assert svc.fetch()[rm.THREADED] == 1
    assert [(a.complaint_id, a.name) for a in db.session.scalars(select(Attachment))] == [
        (cid, "new.png")]
    note = [e["note"] for e in desk.events(cid) if e["action"] == rm.MAIL_IN]
    assert len(note) == 1 and "✗ run.exe" in note[0] and len(complaints()) == 1


def test_a_file_without_a_name_is_kept_under_one(desk, mailbox):
    """An attachment with no file name is named by its place, with its type's extension."""
    msg = EmailMessage()
    msg["From"], msg["Subject"], msg["Message-ID"] = "li@example.cn", "图", "<noname@x>"
    msg.set_content("见附件")
    msg.add_attachment(image("PNG"), maintype="image", subtype="png")
    mailbox.deliver(bytes(msg))
    svc.fetch()
    assert [a.name for a in db.session.scalars(select(Attachment))] == ["attachment-1.png"]


def test_an_email_appears_once_in_the_clerks_queue(app, org, client, auth, imap_server,  # noqa: F811
                                                   tmp_path, monkeypatch):
    """Issue 14 "done when": a message to the complaints mailbox appears in customer
    service's queue, once, however often the mailbox is read (and delivered twice)."""
    app.config.update(imap_server.config, STORAGE_LOCAL_DIR=str(tmp_path / "files"))
    monkeypatch.setattr(clock, "now", lambda: NOW)
    with app.app_context():
        imap_server.deliver(mail(subject="空调外机漏水到楼下", message_id="<once@x>"))
        svc.fetch()
        imap_server.deliver(mail(subject="空调外机漏水到楼下", message_id="<once@x>"))
        svc.fetch()
        number = db.session.scalars(select(Complaint.number)).one()
    auth.login("intake")
    html = client.get("/admin/complaint/").get_data(as_text=True)
    assert html.count(f">{number}</a>") == 1 and "空调外机漏水到楼下" in html
