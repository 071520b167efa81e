"""The public complaint form and status lookup (issue 14): through the Flask client, no login."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from rules import Channel, Status

NUMBER = re.compile(r'id="complaint-number">([A-Z]+-\d{8}-\d+)<')
SUM = re.compile(r"(\d+) \+ (\d+)")
TOKEN = re.compile(r'name="challenge_token" value="([^"]+)"')
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def _form(client, url="/complaint/new", **changes):
    """A complete, valid submission read off a fresh GET of the form, with ``changes``."""
    page = client.get(url).get_data(as_text=True)
    data = {"csrf_token": CSRF.search(page).group(1)}
    if url.endswith("/new"):
        a, b = SUM.search(page).groups()
        data.update({
            "challenge_token": TOKEN.search(page).group(1), "challenge": str(int(a) + int(b)),
            "customer_name": "李娜", "customer_phone": "13812345678", "customer_email": "",
            "category": "", "description": "买的电水壶第二天就漏水了。\n底部有裂纹。",
            "location": "北京朝阳门店", "demand": "换一个新的", "consent": "yes", "website": ""})
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _count(app):
    from models import Complaint, db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Complaint))


def submit(client, **changes):
    return client.post("/complaint/new", data=_form(client, **changes), follow_redirects=True)


def test_form_page_is_chinese_first_with_landmarks(client, org):
    """GET /complaint/new: no login, lang=zh-CN, <main>, <h1>, a label for every field."""
    r = client.get("/complaint/new")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html and "<main" in html and "<h1" in html
    assert 'name="viewport" content="width=device-width' in html
    for name in ("customer_name", "customer_phone", "customer_email", "category",
                 "description", "location", "demand", "attachments", "challenge", "consent"):
        assert f'for="{name}"' in html and f'id="{name}"' in html, name
    assert "http://" not in html and "https://" not in html  # served assets only
    assert r.headers["Cache-Control"] == "no-store"
    status = client.get("/complaint/status").get_data(as_text=True)
    assert '<html lang="zh-CN">' in status and "<main" in status and "<h1" in status
    for name in ("number", "contact"):
        assert f'for="{name}"' in status and f'id="{name}"' in status, name


def test_submission_registers_in_intake_queue_with_number_and_deadline(app, org, client):
    """A valid submission lands as registered, channel web, by channel-web; the answer page
    shows the number and the answer deadline, and the lookup finds it."""
    r = submit(client)
    assert r.status_code == 200, r.get_data(as_text=True)
    html = r.get_data(as_text=True)
    number = NUMBER.search(html).group(1)
    from models import Complaint, ComplaintEvent, Staff, db
    from services.public import promised_deadline

    with app.app_context():
        c = db.session.scalar(select(Complaint).where(Complaint.number == number))
        assert c.status == Status.REGISTERED and c.channel == Channel.WEB
        registrar = db.session.get(Staff, c.registered_by_id)
        assert registrar.username == "channel-web" and not registrar.active
        assert c.customer_phone_norm == "13812345678" and c.location == "北京朝阳门店"
        assert c.title == "买的电水壶第二天就漏水了。" and c.demand == "换一个新的"
        event = db.session.scalar(select(ComplaintEvent).where(
            ComplaintEvent.complaint_id == c.id))
        assert event.actor_id == registrar.id
        due = promised_deadline(c)
        assert due > c.received_at
    assert due.strftime("%Y-%m-%d %H:%M") in html  # company time, as stored
    # In the intake queue of a clerk.
    from tests.factories import AuthActions

    clerk = app.test_client()
    AuthActions(clerk).login("intake")
    listing = clerk.get("/admin/complaint/").get_data(as_text=True)  # the default queue
    assert number in listing


def test_lookup_right_and_wrong_give_one_answer(app, org, client):
    """Number + last 4 digits (or the e-mail): the status in customer words and the deadline;
    a wrong number and a wrong phone get the same page and status code."""
    number = NUMBER.search(submit(client, customer_email="li.na@example.com")
                           .get_data(as_text=True)).group(1)
    ok = client.post("/complaint/status", data=_form(client, "/complaint/status", number=number,
                                                     contact="5678"))
    assert ok.status_code == 200
    html = ok.get_data(as_text=True)
    assert 'id="complaint-status"' in html and 'id="complaint-due"' in html
    assert "channel-web" not in html and "网站投诉表单" not in html
    by_mail = client.post("/complaint/status", data=_form(
        client, "/complaint/status", number=number.lower(), contact="LI.NA@example.com"))
    assert 'id="complaint-status"' in by_mail.get_data(as_text=True)
    wrong_phone = client.post("/complaint/status", data=_form(
        client, "/complaint/status", number=number, contact="1234"))
    wrong_number = client.post("/complaint/status", data=_form(
        client, "/complaint/status", number="TS-20000101-0001", contact="5678"))
    junk = client.post("/complaint/status", data=_form(
        client, "/complaint/status", number="<script>", contact="5678"))

    def body(r):
        return re.sub(r'value="[^"]*"', "", r.get_data(as_text=True))

    assert wrong_phone.status_code == wrong_number.status_code == junk.status_code == 404
    assert body(wrong_phone) == body(wrong_number)
    assert 'id="complaint-status"' not in body(wrong_phone)


def test_lookup_shows_result_once_closed_never_staff_or_notes(app, org, client):
    """Closed: the resolution shows; staff names, departments and notes never do."""
    number = NUMBER.search(submit(client).get_data(as_text=True)).group(1)
    from models import Complaint, db

    with app.app_context():
        c = db.session.scalar(select(Complaint).where(Complaint.number == number))
        c.status, c.resolution = Status.CLOSED, "已为您更换新品。"
        c.root_cause = "内部原因：供应商批次问题"
        c.department_id = org.qa
        db.session.commit()
    html = client.post("/complaint/status", data=_form(
        client, "/complaint/status", number=number, contact="5678")).get_data(as_text=True)
    assert "已为您更换新品。" in html
    assert "供应商" not in html and "质量管理部" not in html and 'id="complaint-due"' not in html


def test_next_day_lookup_shows_it_forwarded_with_its_deadline(app, org, client, monkeypatch):
    """The issue's walk: submitted, accepted and forwarded by a clerk the next day; the
    lookup says it is with the department, with the department's deadline, and no name."""
    from models import Complaint, db
    from rules import Action
    from services import clock
    from tests.factories import T0, Desk

    monkeypatch.setattr(clock, "now", lambda: T0)
    number = NUMBER.search(submit(client, category="product_quality")
                           .get_data(as_text=True)).group(1)
    next_day = T0 + timedelta(days=1)
    with app.app_context():
        cid = db.session.scalar(select(Complaint.id).where(Complaint.number == number))
        desk = Desk(org)
        desk.act(cid, Action.ACCEPT, "intake", next_day)
        desk.act(cid, Action.FORWARD, "intake", next_day, department_id="@qa")
        c = db.session.get(Complaint, cid)
        assert c.status == Status.FORWARDED and c.resolve_due is not None
        shown = c.resolve_due.strftime("%Y-%m-%d %H:%M")
    monkeypatch.setattr(clock, "now", lambda: next_day + timedelta(hours=2))
    html = client.post("/complaint/status", data=_form(
        client, "/complaint/status", number=number, contact="5678")).get_data(as_text=True)
    assert f'<dd id="complaint-due">{shown}</dd>' in html
    assert "责任部门正在处理" in html  # "being handled by the department responsible"
    assert "质量管理部" not in html and "Intake" not in html and "Head Qa" not in html


@pytest.mark.parametrize("changes, field", [
    ({"challenge": "99"}, "challenge"),
    ({"consent": None}, "consent"),
    ({"customer_phone": "", "customer_email": ""}, "customer_phone"),
    ({"customer_name": ""}, "customer_name"),
    ({"description": "  "}, "description"),
    ({"customer_email": "not-an-address"}, "customer_email"),
    ({"customer_phone": "12"}, "customer_phone"),
    ({"location": "地" * 201}, "location"),
    ({"category": "no-such"}, "category"),
    ({"description": "x" * 5001}, "description"),
])
def test_refused_input_shown_at_its_field_nothing_stored(app, org, client, changes, field):
    """A wrong challenge, no consent, no contact…: 400, the error next to the field, no row."""
    before = _count(app)
    r = submit(client, **changes)
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert f'id="{field}-error"' in html, html
    assert _count(app) == before


def test_csrf_missing_refused(app, org, client):
    """No CSRF token: 400, the form again, nothing stored."""
    data = _form(client)
    del data["csrf_token"]
    r = client.post("/complaint/new", data=data)
    assert r.status_code == 400 and _count(app) == 0
    data = _form(client, "/complaint/status", number="TS-20261130-0001", contact="1234")
    del data["csrf_token"]
    assert client.post("/complaint/status", data=data).status_code == 400


def test_honeypot_looks_accepted_stores_nothing_and_is_logged(app, org, client):
    """The hidden field filled: an accepted-looking page, no complaint, an AdminEvent."""
    from models import AdminEvent, db
    from rules.admin_events import PUBLIC_HONEYPOT

    r = submit(client, website="http://spam.example/")
    assert r.status_code == 200 and '<h1 class="mb-3">投诉已收到</h1>' in r.get_data(as_text=True)
    assert _count(app) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AdminEvent).where(
            AdminEvent.action == PUBLIC_HONEYPOT)) == 1


def test_oversized_post_gets_a_clear_413(app, org, client):
    """A POST over the limit: 413 with a page that says so, nothing stored."""
    app.config["PUBLIC_MAX_CONTENT_LENGTH"] = 64 * 1024
    r = submit(client, description="漏" * 40_000)
    assert r.status_code == 413
    html = r.get_data(as_text=True)
    assert "<h1" in html and "64 KB" in html
    assert _count(app) == 0


def test_script_in_fields_is_shown_escaped(app, org, client):
    """Markup typed into the form comes back escaped, on the form and in the lookup."""
    script = "<script>alert(1)</script>"
    r = submit(client, customer_name=script, challenge="0")  # refused: shown back
    html = r.get_data(as_text=True)
    assert script not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    ok = submit(client, customer_name=script, description=script + "\nmore")
    number = NUMBER.search(ok.get_data(as_text=True)).group(1)
    from models import Complaint, db

    with app.app_context():
        c = db.session.scalar(select(Complaint).where(Complaint.number == number))
        c.status, c.resolution = Status.CLOSED, script
        db.session.commit()
    html = client.post("/complaint/status", data=_form(
        client, "/complaint/status", number=number, contact="5678")).get_data(as_text=True)
    assert script not in html and "&lt;script&gt;" in html


@pytest.fixture
def frozen(monkeypatch):
    """The company clock stands still: a throttled address's wait never runs out mid-test."""
    from services import clock
    from tests.factories import T0

    monkeypatch.setattr(clock, "now", lambda: T0)
    return T0


def test_flood_from_one_address_is_throttled_and_logged(app, org, client, frozen):
    """After the free submissions (and the one that starts the wait) an address waits
    (429), recorded in AdminEvent; the queue holds only those."""
    from models import AdminEvent, db
    from rules.admin_events import PUBLIC_THROTTLED

    app.config["PUBLIC_FREE_SUBMISSIONS"] = 3
    codes = [submit(client).status_code for _ in range(6)]
    assert codes[:4] == [200, 200, 200, 200] and codes[4:] == [429, 429], codes
    assert _count(app) == 4
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AdminEvent).where(
            AdminEvent.action == PUBLIC_THROTTLED)) >= 1
    # Another address is not held back.
    other = app.test_client()
    data = _form(other)
    assert other.post("/complaint/new", data=data, follow_redirects=True,
                      environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code == 200


def test_failed_lookups_are_throttled(app, org, client, frozen):
    """Guessing numbers: after the free failures the address waits (429)."""
    app.config["PUBLIC_FREE_LOOKUPS"] = 2
    codes = [client.post("/complaint/status", data=_form(
        client, "/complaint/status", number=f"TS-20261130-{i:04d}", contact="1234")).status_code
        for i in range(5)]
    assert codes[:3] == [404, 404, 404] and codes[3:] == [429, 429], codes


def test_attachment_kept_and_bad_one_refused(app, org, client):
    """A picture is kept on the complaint; a file of a refused type is reported, the
    complaint still registered."""
    import io

    from tests.attachment_samples import image

    data = _form(client)
    data["attachments"] = [(io.BytesIO(image()), "photo.png"),
                           (io.BytesIO(b"MZ\x90\x00 not a document"), "tool.exe")]
    r = client.post("/complaint/new", data=data, content_type="multipart/form-data",
                    follow_redirects=True)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    number = NUMBER.search(html).group(1)
    assert "tool.exe" in html
    from models import Attachment, Complaint, db

    with app.app_context():
        c = db.session.scalar(select(Complaint).where(Complaint.number == number))
        names = list(db.session.scalars(select(Attachment.name).where(
            Attachment.complaint_id == c.id)))
    assert names == ["photo.png"]


def test_english_switch(app, org, client):
    """The language switch turns the public pages to English."""
    page = client.get("/complaint/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/language", data={"csrf_token": token, "lang": "en", "next": "/complaint/new"})
    html = client.get("/complaint/new").get_data(as_text=True)
    assert '<html lang="en">' in html and "Make a complaint" in html


def test_phone_sized_markup(client, org):
    """One column for a 390 px phone: the viewport tag, no fixed widths, no inline styles,
    no external host, a served stylesheet."""
    for url in ("/complaint/new", "/complaint/status"):
        html = client.get(url).get_data(as_text=True)
        assert 'content="width=device-width, initial-scale=1.0"' in html
        assert not re.search(r"\sstyle\s*=", html) and "<table" not in html
        assert not re.search(r'width="\d{3,}"', html)
        assert "/static/desk/public.css" in html
    with client.get("/static/desk/public.css") as r:
        assert r.status_code == 200 and "max-width: 40rem" in r.get_data(as_text=True)


def test_public_pages_meet_the_content_security_policy(app, org, client, frozen):
    """The form, the answer page, the lookup, the wait and the 413 pages: the nonce policy,
    no inline handler or style, no external host."""
    from tests.views.test_csp import _check_page

    _check_page("/complaint/new", client.get("/complaint/new"))
    _check_page("/complaint/status", client.get("/complaint/status"))
    _check_page("/complaint/received", submit(client))
    app.config["PUBLIC_MAX_CONTENT_LENGTH"] = 1024
    _check_page("413", submit(client, description="x" * 2000))
    app.config["PUBLIC_FREE_SUBMISSIONS"] = 0
    submit(client)
    r = submit(client)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    _check_page("429", r)


@pytest.fixture
def proxied(db_url, org):
    """The app behind one trusted reverse proxy (TRUSTED_PROXIES=1)."""
    from tests.conftest import make_app

    yield from make_app(db_url, TRUSTED_PROXIES=1)


def test_behind_a_proxy_each_visitor_is_throttled_on_their_own_address(proxied, frozen):
    """Behind a trusted proxy the limiter counts the visitor's address (X-Forwarded-For),
    not the proxy's: one flooding visitor waits, the next one does not."""
    proxied.config["PUBLIC_FREE_SUBMISSIONS"] = 1
    client = proxied.test_client()
    proxy = {"REMOTE_ADDR": "10.0.0.1"}

    def post(visitor):
        data = _form(client)
        return client.post("/complaint/new", data=data, follow_redirects=True,
                           environ_base=proxy,
                           headers={"X-Forwarded-For": visitor}).status_code

    assert [post("203.0.113.5") for _ in range(3)][-1] == 429
    assert post("198.51.100.7") == 200
