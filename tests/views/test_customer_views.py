"""The customer file's screens as every role: the page (scoped, contacts masked per role),
finding a customer, the registration form's lookup (scoped, rate-limited, no-store JSON),
the link from a complaint, and the registration form's script."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import func, select

from models import CallbackRecord, Complaint, Customer, db
from models.org import LoginAttempt
from rules import Action, Status
from rules import customers as rule
from services import clock
from tests.factories import T0, Desk, csrf_token, recorded_statements

NOW = T0 + timedelta(days=2)
PHONE = "13800138000"
ROLES = ("admin", "intake", "manager", "supervisor", "executive", "head_qa", "handler_qa",
         "head_log", "handler_log", "head_hr")


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


@pytest.fixture
def history(app, wide_org):
    """One customer (李娜, PHONE, li.na@example.com): an open complaint in QA with
    handler_qa, an open one forwarded to LOG, one closed as invalid (registered by intake);
    a callback on the QA one whose notes hold a phone number."""
    with app.app_context():
        desk = Desk(wide_org)
        fields = dict(customer_name="李娜", customer_phone=PHONE,
                      customer_email="li.na@example.com", title="电水壶漏电 13912345678")
        in_qa = desk.bring_to(Status.IN_PROGRESS, **fields)
        in_log = desk.register(**fields)
        desk.act(in_log, Action.ACCEPT, "intake", category="service")
        desk.act(in_log, Action.FORWARD, "intake", department_id="@log")
        closed = desk.bring_to("closed_invalid", now=T0 - timedelta(days=1), **fields)
        db.session.add(CallbackRecord(complaint_id=in_qa, staff_id=wide_org.users["intake"],
                                      at=T0, method="phone", reached=True,
                                      satisfaction="satisfied", notes="回电 13912345678"))
        db.session.commit()
        customer_id = db.session.get(Complaint, in_qa).customer_id
        numbers = {cid: db.session.get(Complaint, cid).number for cid in (in_qa, in_log, closed)}
    return {"customer": customer_id, "qa": in_qa, "log": in_log, "closed": closed,
            "numbers": numbers, "intake": wide_org.users["intake"],
            "manager": wide_org.users["manager"]}


# Which of the customer's complaints each role sees (none: "not found").
SEES = {"admin": {"qa", "log", "closed"}, "intake": {"qa", "log", "closed"},
        "manager": {"qa", "log", "closed"}, "supervisor": {"qa", "log", "closed"},
        "executive": {"qa", "log", "closed"}, "head_qa": {"qa"}, "handler_qa": {"qa"},
        "head_log": {"log"}, "handler_log": set(), "head_hr": set()}
CONTACTS = {"admin", "intake", "manager", "head_qa", "handler_qa", "head_log"}


def _page(client, auth, user, url):
    auth.login(user)
    return client.get(url)


LOOKUP = "/admin/customer/lookup.json"


def _lookup(client, query: str):
    """The registration form's lookup as its script sends it: a POST with the form's CSRF
    token and the phone / e-mail in the body (``query`` written as a query string)."""
    data = dict(parse_qsl(query, keep_blank_values=True))
    data["csrf_token"] = csrf_token(client, "/admin/complaint/new/")
    return client.post(LOOKUP, data=data)


@pytest.mark.parametrize("user", ROLES)
def test_customer_page_per_role(client, auth, history, user):
    response = _page(client, auth, user, f"/admin/customer/{history['customer']}/")
    seen = SEES[user]
    if not seen:
        assert response.status_code == 404
        assert "李娜" not in response.get_data(as_text=True)
        return
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for name in ("qa", "log", "closed"):
        assert (history["numbers"][history[name]] in html) == (name in seen), name
    assert "李娜" in html
    if user in CONTACTS:
        assert PHONE in html and "li.na@example.com" in html
        assert "13912345678" in html
    else:  # the supervisor and senior management: masked contacts and free text
        assert "138****8000" in html and "l***@example.com" in html
        assert PHONE not in html and "li.na@example.com" not in html
        assert "13912345678" not in html and "139****5678" in html
    if "qa" in seen:
        assert "回电" in html  # the callback


def test_customer_page_not_found(client, auth, history):
    auth.login("intake")
    for bad in ("999999", "abc", str(2**70), "-1", "0"):
        assert client.get(f"/admin/customer/{bad}/").status_code == 404


def test_anonymous_is_sent_to_login(client, history):
    for url in (f"/admin/customer/{history['customer']}/", "/admin/customer/"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    response = client.post(LOOKUP, data={"phone": PHONE})
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_customer_page_runs_a_fixed_number_of_queries(app, client, auth, history):
    auth.login("intake")
    url = f"/admin/customer/{history['customer']}/"
    with recorded_statements(app) as few:
        client.get(url)
    with app.app_context():
        for n in range(5):  # five more complaints of the customer, one with a callback
            db.session.add(Complaint(
                number=f"TS-20261120-{n + 900}", received_at=T0, customer_name="李娜",
                customer_phone=PHONE, customer_phone_norm=PHONE, title="t",
                customer_id=history["customer"], created_at=T0, updated_at=T0))
        db.session.flush()
        extra = db.session.scalar(select(func.max(Complaint.id)))
        db.session.add(CallbackRecord(complaint_id=extra, at=T0, method="sms", reached=False))
        db.session.commit()
    with recorded_statements(app) as more:
        assert client.get(url).status_code == 200
    assert len(more) == len(few)


@pytest.mark.parametrize("user", ROLES)
def test_find_by_phone_per_role(client, auth, history, user):
    response = _page(client, auth, user, "/admin/customer/?phone=+86%20138-0013-8000")
    if SEES[user]:
        assert response.status_code == 302
        assert response.headers["Location"].endswith(f"/admin/customer/{history['customer']}/")
    else:
        assert response.status_code == 200
        assert f"/admin/customer/{history['customer']}/" not in response.get_data(as_text=True)
    assert client.get("/admin/customer/").status_code == 200


@pytest.mark.parametrize("user", ROLES)
def test_lookup_per_role(client, auth, history, user):
    auth.login(user)
    response = _lookup(client, f"phone={PHONE}")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    data = response.get_json()
    seen = SEES[user]
    numbers = {r["number"] for r in data["open"] + data["recent"]}
    assert numbers == {history["numbers"][history[name]] for name in seen}
    body = response.get_data(as_text=True)
    assert PHONE not in body and "li.na@example.com" not in body
    if not seen:
        assert data == {"customer_url": None, "level": None, "message": None, "open": [],
                        "recent": []}
        return
    assert data["customer_url"].endswith(f"/admin/customer/{history['customer']}/")
    if {"qa", "log"} & seen:
        assert data["level"] == "warning" and "still open" in data["message"]
    if user not in CONTACTS:
        assert "13912345678" not in body


def test_lookup_recent_only_is_a_note(client, auth, history):
    auth.login("intake")
    data = _lookup(client, f"phone={PHONE}").get_json()
    assert [r["number"] for r in data["recent"]] == [history["numbers"][history["closed"]]]
    other = _lookup(client, "phone=13700000000").get_json()
    assert other["open"] == [] and other["level"] is None
    by_email = _lookup(client, "email=Li.Na@example.com").get_json()
    assert by_email["open"] == []  # a phone customer is found by phone, not by e-mail


@pytest.mark.parametrize("query", ["phone=", "phone=1", "phone=%25", "phone=_", "phone='",
                                   "phone=" + "9" * 1500, "email=@", "x=1", ""])
def test_lookup_bad_input(client, auth, history, query):
    auth.login("intake")
    response = _lookup(client, f"{query}")
    assert response.status_code == 200
    assert response.get_json()["open"] == []


def test_lookup_is_rate_limited_per_user(app, client, auth, history):
    auth.login("intake")
    query = f"phone={PHONE}"
    codes = [_lookup(client, query).status_code for _ in range(rule.LOOKUP_LIMIT)]
    assert set(codes) == {200}
    refused = _lookup(client, query)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert refused.headers["Cache-Control"] == "no-store"
    assert "wait" in refused.get_json()["error"]
    auth.logout()
    auth.login("manager")  # another user is not held back
    assert _lookup(client, query).status_code == 200
    with app.app_context():
        keys = set(db.session.scalars(select(LoginAttempt.key)))
        assert {f"lookup:{auth_id}" for auth_id in (history["intake"], history["manager"])} \
            <= keys


def test_lookup_takes_no_phone_in_a_url_and_needs_the_forms_token(app, client, auth, history):
    """A GET (the phone in the address) is refused; a POST without the form's CSRF token
    is refused in JSON, and nothing is searched or recorded."""
    auth.login("supervisor")
    by_get = client.get(f"{LOOKUP}?phone={PHONE}", follow_redirects=True)
    assert by_get.status_code == 404 and by_get.mimetype == "text/html"  # no such page
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(LoginAttempt))
    refused = client.post(LOOKUP, data={"phone": PHONE})
    assert refused.status_code == 400 and "reload" in refused.get_json()["error"]
    assert PHONE not in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == before


def test_complaint_page_links_the_customer_file(client, auth, history):
    auth.login("head_qa")
    html = client.get(f"/admin/complaint/details/?id={history['qa']}").get_data(as_text=True)
    assert f"/admin/customer/{history['customer']}/" in html


def test_registration_form_loads_the_lookup_script(client, auth, history):
    auth.login("intake")
    html = client.get("/admin/complaint/new/").get_data(as_text=True)
    assert 'id="customer-lookup"' in html and "/admin/customer/lookup.json" in html
    assert "customer_lookup.js" in html
    with client.get("/static/desk/customer_lookup.js") as script:
        assert script.status_code == 200 and b"textContent" in script.data
        assert b"innerHTML" not in script.data


def test_registration_through_the_form_links_the_customer(client, auth, history):
    from tests.factories import csrf_token

    auth.login("intake")
    token = csrf_token(client, "/admin/complaint/new/")
    with client.application.app_context():
        category_id = db.session.scalar(select(func.min(Complaint.category_id)))
    data = {"csrf_token": token, "kind": "complaint", "channel": "phone",
            "customer_name": "李娜", "customer_phone": "+86 138 0013 8000",
            "customer_email": "", "customer_class": "B", "category_id": str(category_id),
            "severity": "normal", "title": "又坏了", "description": "第二次", "demand": "",
            "received_at": ""}
    response = client.post("/admin/complaint/new/", data=data)
    assert response.status_code == 302
    with client.application.app_context():
        row = db.session.scalar(select(Complaint).where(Complaint.title == "又坏了"))
        assert row.customer_id == history["customer"]
        assert db.session.get(Customer, history["customer"]).customer_class == "B"


@pytest.mark.parametrize("user", ["supervisor", "executive", "intake", "head_qa"])
def test_masked_roles_contact_searches_are_logged(app, client, auth, history, user):
    """A role that sees contacts masked leaves an AdminEvent (the number masked in it) when
    it looks a customer up by phone; the others do not."""
    from models import AdminEvent
    from rules.admin_events import CONTACT_SEARCHED

    auth.login(user)
    client.get(f"/admin/customer/?phone={PHONE}")
    _lookup(client, f"phone={PHONE}")
    _lookup(client, "phone=138")  # too short: no search, no event
    with app.app_context():
        details = list(db.session.scalars(select(AdminEvent.detail).where(
            AdminEvent.action == CONTACT_SEARCHED)))
    if user in CONTACTS:
        assert details == []
    else:
        assert sorted(details) == ["customer file: 138****8000",
                                   "registration lookup: 138****8000"]


def test_customer_page_escapes_what_was_typed(app, client, auth, wide_org):
    with app.app_context():
        desk = Desk(wide_org)
        cid = desk.register(customer_name="<script>alert(1)</script>",
                            title="<img src=x onerror=alert(2)>")
        customer_id = db.session.get(Complaint, cid).customer_id
    auth.login("intake")
    html = client.get(f"/admin/customer/{customer_id}/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)" in html
    assert "<img src=x" not in html
    data = _lookup(client, f"phone={PHONE}").get_json()
    assert data["open"][0]["title"] == "<img src=x onerror=alert(2)>"  # JSON; shown as text
