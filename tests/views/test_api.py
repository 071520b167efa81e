"""The REST API (/api/v1, issue 14): the main path through a real HTTP server on loopback
(werkzeug in a thread, called with http.client), the error matrix through the Flask client,
the tokens and their screen."""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import threading
from datetime import datetime, timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from models import AdminEvent, ApiRequest, ApiToken, Complaint, ComplaintEvent, Staff, db
from rules import Action, Role, Status
from rules.admin_events import API_TOKEN_CREATED, API_TOKEN_REVOKED
from tests.browser.live import free_port
from tests.factories import PASSWORD, csrf_token

REGISTRATION = {
    "customer_name": "李娜", "customer_phone": "13812345678", "title": "冰箱不制冷",
    "description": "买了三天就坏了", "channel": "hotline", "location": "上海徐汇店",
    "upstream_source": "hotline_12345", "upstream_ref": "12345-2026-0001",
}


# --- fixtures ------------------------------------------------------------------------------


def _account(app, username, role, department_id):
    from services.auth import create_user

    with app.app_context():
        return create_user(username, f"{username} integration", role, PASSWORD,
                           department_id=department_id).id


def _token(app, staff_id, name="CRM", actor_id=None):
    from services import api_tokens

    with app.app_context():
        _row, token = api_tokens.create(name, staff_id, actor_id)
    return token


@pytest.fixture
def integration(app, org):
    """An active intake account for the integration, and its token."""
    staff_id = _account(app, "crm_api", Role.INTAKE, org.cs)
    return staff_id, _token(app, staff_id, actor_id=org.users["admin"])


@pytest.fixture
def token(integration):
    return integration[1]


class Live:
    """The app served by werkzeug in a thread on a free loopback port."""

    def __init__(self, app):
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def call(self, method, path, body=None, token=None, headers=None, raw=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            payload = response.read()
            return response.status, dict(response.getheaders()), (
                json.loads(payload) if payload else None)
        finally:
            conn.close()


@pytest.fixture
def live(app):
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = Live(app)
    server.thread.start()
    yield server
    server.server.shutdown()
    server.thread.join(timeout=10)


def _count(app, model=Complaint):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _post(client, path, body, token, **headers):
    return client.post(path, data=json.dumps(body), content_type="application/json",
                       headers={"Authorization": f"Bearer {token}", **headers})


# --- the main path through a real server --------------------------------------------------------


def test_register_read_list_and_upstream_through_a_real_server(app, live, token):
    """An integration registers a complaint, reads it, finds it in the list of changes and
    records its upstream reference — over HTTP on loopback, as another system would."""
    status, headers, body = live.call("POST", "/api/v1/complaints", REGISTRATION, token)
    assert status == 201, body
    number = body["number"]
    assert body["status"] == Status.REGISTERED
    assert headers["Location"] == f"/api/v1/complaints/{number}"
    assert datetime.fromisoformat(body["answer_due"]) > datetime.fromisoformat(
        body["received_at"])
    assert "customer_phone" not in body and "customer_name" not in body

    status, _, read = live.call("GET", f"/api/v1/complaints/{number}", token=token)
    assert status == 200
    assert (read["number"], read["status"], read["channel"]) == (number, Status.REGISTERED,
                                                                 "hotline")
    assert read["answer_due"] == body["answer_due"] and "resolution" not in read

    since = quote("2000-01-01T00:00:00+08:00")
    status, _, page = live.call("GET", f"/api/v1/complaints?changed_since={since}&limit=5",
                                token=token)
    assert status == 200
    assert [c["number"] for c in page["items"]] == [number]
    assert page["next_cursor"] is None

    status, _, changed = live.call("POST", f"/api/v1/complaints/{number}/upstream",
                                   {"upstream_source": "regulator", "upstream_ref": "SC-77",
                                    "version": read["version"]}, token)
    assert status == 200, changed
    assert (changed["upstream_source"], changed["upstream_ref"]) == ("regulator", "SC-77")
    with app.app_context():
        c = db.session.scalar(select(Complaint).filter_by(number=number))
        staff = db.session.scalar(select(Staff).filter_by(username="crm_api"))
        events = db.session.scalars(select(ComplaintEvent).filter_by(complaint_id=c.id)
                                    .order_by(ComplaintEvent.id)).all()
        assert c.registered_by_id == staff.id and c.upstream_ref == "SC-77"
        assert [e.action for e in events if e.action in (Action.REGISTER, Action.EDIT)] == [
            Action.REGISTER, Action.EDIT]
        edit = [e for e in events if e.action == Action.EDIT][0]
        assert edit.actor_id == staff.id and "SC-77" in edit.note


def test_replay_with_the_same_key_registers_once(app, live, token):
    """The same Idempotency-Key and body: the stored answer again, one complaint; the same
    key with another body: 409, nothing registered."""
    key = {"Idempotency-Key": "crm-order-1"}
    first = live.call("POST", "/api/v1/complaints", REGISTRATION, token, headers=key)
    again = live.call("POST", "/api/v1/complaints", REGISTRATION, token, headers=key)
    assert first[0] == again[0] == 201
    assert first[2] == again[2]
    assert again[1].get("Idempotent-Replayed") == "true"
    other = live.call("POST", "/api/v1/complaints", {**REGISTRATION, "title": "另一件"},
                      token, headers=key)
    assert other[0] == 409 and other[2]["error"]["code"] == "idempotency_key_reused"
    assert _count(app) == 1 and _count(app, ApiRequest) == 1


def test_concurrent_replays_register_once(app, live, token):
    """Four requests with one key at the same moment: one complaint, four equal answers."""
    key = {"Idempotency-Key": "burst-1"}
    start = threading.Barrier(4)
    answers = []

    def send():
        start.wait(timeout=10)
        answers.append(live.call("POST", "/api/v1/complaints", REGISTRATION, token,
                                 headers=key))

    pool = [threading.Thread(target=send) for _ in range(4)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
    assert [a[0] for a in answers] == [201] * 4, answers
    assert len({a[2]["number"] for a in answers}) == 1
    assert _count(app) == 1


# --- the error matrix (Flask client) -------------------------------------------------------------


def test_missing_unknown_revoked_token_and_inactive_account_same_401(app, client, org,
                                                                    integration):
    """No token, another scheme, an unknown token, a revoked one and one whose account was
    deactivated: the same 401 body, nothing read."""
    staff_id, token = integration
    revoked = _token(app, staff_id, "old")
    from services import api_tokens

    with app.app_context():
        row = db.session.scalar(select(ApiToken).filter_by(name="old"))
        api_tokens.revoke(row.id, org.users["admin"])
    gone_id = _account(app, "gone_api", Role.INTAKE, org.cs)
    gone = _token(app, gone_id, "gone")
    with app.app_context():
        db.session.get(Staff, gone_id).active = False
        db.session.commit()
    bodies = []
    for headers in ({}, {"Authorization": f"Basic {token}"}, {"Authorization": "Bearer "},
                    {"Authorization": "Bearer cd_unknownXYZ"},
                    {"Authorization": f"Bearer {token}x"},
                    {"Authorization": f"Bearer {revoked}"},
                    {"Authorization": f"Bearer {gone}"}):
        r = client.get("/api/v1/complaints", headers=headers)
        assert r.status_code == 401, headers
        assert r.headers["WWW-Authenticate"] == "Bearer"
        bodies.append(r.get_json())
    assert all(b == bodies[0] for b in bodies)
    assert bodies[0]["error"]["code"] == "unauthorized"
    r = client.get("/api/v1/complaints", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200


def test_a_flood_of_refused_tokens_waits_and_is_recorded(app, client, token):
    """Past API_FREE_FAILURES refused tokens, the address gets 429 with Retry-After and the
    administrative record shows it once; a valid token is still answered meanwhile."""
    from rules.admin_events import API_TOKEN_REFUSED

    bad = {"Authorization": "Bearer cd_guessing-0000000000000000"}
    codes = [client.get("/api/v1/complaints", headers=bad).status_code for _ in range(14)]
    assert codes[:10] == [401] * 10 and set(codes[10:]) == {429}
    r = client.get("/api/v1/complaints", headers=bad)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert r.get_json()["error"]["code"] == "too_many_requests"
    assert client.get("/api/v1/complaints",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with app.app_context():
        events = db.session.scalars(select(AdminEvent).where(
            AdminEvent.action == API_TOKEN_REFUSED)).all()
        assert len(events) == 1 and events[0].ip == "127.0.0.1"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", None])
def test_wrong_content_type_415(app, client, token, content_type):
    r = client.post("/api/v1/complaints", data=json.dumps(REGISTRATION),
                    headers={"Authorization": f"Bearer {token}",
                             **({"Content-Type": content_type} if content_type else {})})
    assert r.status_code == 415
    assert r.get_json()["error"]["code"] == "unsupported_media_type"
    assert _count(app) == 0


@pytest.mark.parametrize("raw", [b"{", b"{'a': 1}", b"\xff\xfe", b"", b"[" * 100_000])
def test_malformed_json_400(app, client, token, raw):
    r = client.post("/api/v1/complaints", data=raw, content_type="application/json",
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == "malformed_json"
    assert _count(app) == 0


def test_unknown_field_400_names_it(app, client, token):
    r = _post(client, "/api/v1/complaints", {**REGISTRATION, "titel": "x", "vip": True}, token)
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert error["code"] == "unknown_field"
    assert set(error["fields"]) == {"titel", "vip"}
    assert "titel" in error["fields"]["titel"]
    assert _count(app) == 0


def test_refused_values_400_with_their_fields(app, client, token):
    """The registration rules of the screens: every refusal with its field, nothing stored."""
    r = _post(client, "/api/v1/complaints",
              {"title": "", "customer_email": "not-an-address", "severity": "urgent",
               "upstream_source": "regulator"}, token)
    assert r.status_code == 400
    fields = r.get_json()["error"]["fields"]
    assert {"customer_name", "title", "description", "customer_email", "severity",
            "upstream_ref"} <= set(fields)
    r = _post(client, "/api/v1/complaints", {**REGISTRATION, "category": "no_such"}, token)
    assert r.status_code == 400 and "category" in r.get_json()["error"]["fields"]
    r = _post(client, "/api/v1/complaints", {**REGISTRATION, "title": 5}, token)
    assert r.status_code == 400 and set(r.get_json()["error"]["fields"]) == {"title"}
    assert _count(app) == 0


def test_refusals_in_chinese_for_a_chinese_client(client, token):
    r = _post(client, "/api/v1/complaints", {**REGISTRATION, "title": ""}, token,
              **{"Accept-Language": "zh-CN"})
    assert r.status_code == 400
    assert "请" in r.get_json()["error"]["fields"]["title"]


def test_oversized_body_413(app, client, token):
    body = {**REGISTRATION, "description": "x" * 300_000}
    r = _post(client, "/api/v1/complaints", body, token)
    assert r.status_code == 413
    assert r.get_json()["error"]["code"] == "too_large"
    assert _count(app) == 0


def test_oversized_body_413_over_http_without_length(app, live, token):
    """A chunked body (no Content-Length) past the limit is refused too."""
    conn = http.client.HTTPConnection("127.0.0.1", live.port, timeout=30)
    try:
        conn.putrequest("POST", "/api/v1/complaints")
        conn.putheader("Authorization", f"Bearer {token}")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        chunk = b'{"description": "' + b"x" * 400_000 + b'"}'
        conn.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk))
        response = conn.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["error"]["code"] == "too_large"
    finally:
        conn.close()
    assert _count(app) == 0


def test_bad_idempotency_key_400(app, client, token):
    r = _post(client, "/api/v1/complaints", REGISTRATION, token,
              **{"Idempotency-Key": "k" * 101})
    assert r.status_code == 400 and "Idempotency-Key" in r.get_json()["error"]["fields"]
    assert _count(app) == 0


def test_unknown_path_and_method_answer_json(client, token):
    auth = {"Authorization": f"Bearer {token}"}
    r = client.get("/api/v1/nothing-here", headers=auth)
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    r = client.delete("/api/v1/complaints", headers=auth)
    assert r.status_code == 405 and r.get_json()["error"]["code"] == "method_not_allowed"
    r = client.get("/api/v1/complaints?limit=%00", headers=auth)
    assert r.status_code == 400 and r.is_json
    # The screens keep their own error pages.
    assert client.get("/admin/nothing-here").mimetype == "text/html"


def test_list_refuses_unknown_parameters_and_bad_cursor(client, token):
    auth = {"Authorization": f"Bearer {token}"}
    r = client.get("/api/v1/complaints?since=2026-01-01", headers=auth)
    assert r.status_code == 400 and "since" in r.get_json()["error"]["fields"]
    import base64

    huge = base64.urlsafe_b64encode(b"2026-01-01T00:00:00|" + b"9" * 30).decode()
    for cursor in ("@@@", huge, "bm90IGEgY3Vyc29y"):
        r = client.get(f"/api/v1/complaints?cursor={cursor}", headers=auth)
        assert r.status_code == 400 and "cursor" in r.get_json()["error"]["fields"], cursor
    r = client.get("/api/v1/complaints?limit=1000", headers=auth)
    assert r.status_code == 400 and "limit" in r.get_json()["error"]["fields"]


def test_list_pages_by_cursor(app, client, token):
    """Three changes read two at a time: every complaint once, in the order of change."""
    numbers = [_post(client, "/api/v1/complaints", {**REGISTRATION, "title": f"t{i}"},
                     token).get_json()["number"] for i in range(3)]
    auth = {"Authorization": f"Bearer {token}"}
    page = client.get("/api/v1/complaints?limit=2", headers=auth).get_json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get(f"/api/v1/complaints?limit=2&cursor={page['next_cursor']}",
                      headers=auth).get_json()
    assert [c["number"] for c in page["items"] + rest["items"]] == numbers
    assert rest["next_cursor"] is None
    far = client.get("/api/v1/complaints?changed_since=0001-01-01T00:00:00%2B14:00",
                     headers=auth)
    assert far.status_code == 400 and "changed_since" in far.get_json()["error"]["fields"]
    future = "2099-01-01T00:00:00"
    later = client.get(f"/api/v1/complaints?changed_since={future}", headers=auth)
    assert later.get_json()["items"] == []


def test_scope_outside_is_not_found(app, client, org, token):
    """A handler's token: a complaint it did not register and is not assigned is 404,
    the same answer as a number that does not exist; its own registration it reads."""
    number = _post(client, "/api/v1/complaints", REGISTRATION, token).get_json()["number"]
    handler_token = _token(app, org.users["handler_qa"], "handler")
    auth = {"Authorization": f"Bearer {handler_token}"}
    hidden = client.get(f"/api/v1/complaints/{number}", headers=auth)
    missing = client.get("/api/v1/complaints/TS-20000101-9999", headers=auth)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json() == missing.get_json()
    assert client.get("/api/v1/complaints", headers=auth).get_json()["items"] == []
    r = _post(client, f"/api/v1/complaints/{number}/upstream",
              {"upstream_source": "other", "upstream_ref": "X"}, handler_token)
    assert r.status_code == 404
    own = _post(client, "/api/v1/complaints", REGISTRATION, handler_token).get_json()
    assert own["channel"] == "transferred"  # outside customer service: relayed
    r = _post(client, f"/api/v1/complaints/{own['number']}/upstream",
              {"upstream_source": "other", "upstream_ref": "X"}, handler_token)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"


def test_upstream_rules_and_stale_version(app, client, token):
    number = _post(client, "/api/v1/complaints", REGISTRATION, token).get_json()["number"]
    r = _post(client, f"/api/v1/complaints/{number}/upstream", {"upstream_ref": "A"}, token)
    assert r.status_code == 400 and "upstream_source" in r.get_json()["error"]["fields"]
    r = _post(client, f"/api/v1/complaints/{number}/upstream",
              {"upstream_source": "other", "upstream_ref": "A",
               "upstream_due": "2000-01-01T00:00:00"}, token)
    assert r.status_code == 400 and "upstream_due" in r.get_json()["error"]["fields"]
    r = _post(client, f"/api/v1/complaints/{number}/upstream",
              {"upstream_source": "other", "upstream_ref": "A", "version": 99}, token)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "stale_version"
    with app.app_context():
        c = db.session.scalar(select(Complaint).filter_by(number=number))
        assert c.upstream_ref == REGISTRATION["upstream_ref"]


def test_resolution_shown_once_resolved(app, client, token):
    number = _post(client, "/api/v1/complaints", REGISTRATION, token).get_json()["number"]
    with app.app_context():
        c = db.session.scalar(select(Complaint).filter_by(number=number))
        c.status, c.resolution = Status.CLOSED, "换新机"
        db.session.commit()
    body = client.get(f"/api/v1/complaints/{number}",
                      headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["resolution"] == "换新机"


def test_no_session_cookie_and_no_csrf(client, token):
    """The API sets no cookie and needs no CSRF token: the bearer token is the credential."""
    r = _post(client, "/api/v1/complaints", REGISTRATION, token)
    assert r.status_code == 201
    assert "Set-Cookie" not in r.headers


# --- tokens -------------------------------------------------------------------------------------


def test_token_kept_as_hash_and_last_use_at_most_once_a_minute(app, integration):
    from services import api_tokens

    staff_id, token = integration
    assert token.startswith("cd_") and len(token) >= 40
    with app.app_context():
        row = db.session.scalar(select(ApiToken).filter_by(staff_id=staff_id))
        assert row.prefix == token[:11]
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        t0 = datetime(2026, 11, 30, 9, 0, 0)
        assert api_tokens.authenticate(token, t0).last_used_at == t0
        assert api_tokens.authenticate(token, t0 + timedelta(seconds=59)).last_used_at == t0
        later = t0 + timedelta(seconds=60)
        assert api_tokens.authenticate(token, later).last_used_at == later


def test_token_screen_admin_only(client, auth, org):
    auth.login("intake")
    assert client.get("/admin/api_tokens/").status_code == 403
    assert client.post("/admin/api_tokens/new", data={"name": "x"}).status_code == 403


def test_token_screen_makes_shows_once_and_revokes(app, client, auth, org):
    """The administrator makes a token (shown once, recorded), it works, and once revoked it
    no longer does (recorded too)."""
    auth.login("admin")
    staff_id = _account(app, "crm_api", Role.INTAKE, org.cs)
    page = client.get("/admin/api_tokens/")
    assert page.status_code == 200
    token_csrf = csrf_token(client, "/admin/api_tokens/")
    r = client.post("/admin/api_tokens/new", data={"name": "12345 platform",
                                                   "staff_id": str(staff_id),
                                                   "csrf_token": token_csrf})
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    start = html.index('id="new-token"')
    token = html[start:].split('value="', 1)[1].split('"', 1)[0]
    assert token.startswith("cd_")
    assert token not in client.get("/admin/api_tokens/").get_data(as_text=True)
    assert client.get("/api/v1/complaints",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 200
    with app.app_context():
        row = db.session.scalar(select(ApiToken).filter_by(name="12345 platform"))
        pk = row.id
    r = client.post("/admin/api_tokens/revoke",
                    data={"token_id": str(pk), "csrf_token": token_csrf})
    assert r.status_code == 302
    assert client.get("/api/v1/complaints",
                      headers={"Authorization": f"Bearer {token}"}).status_code == 401
    with app.app_context():
        actions = db.session.scalars(select(AdminEvent.action).where(
            AdminEvent.target_type == "api_token", AdminEvent.target_id == pk)
            .order_by(AdminEvent.id)).all()
        assert actions == [API_TOKEN_CREATED, API_TOKEN_REVOKED]
        assert all(token not in (e.detail or "") for e in db.session.scalars(
            select(AdminEvent)))


def test_token_screen_refuses_without_csrf_and_inactive_account(app, client, auth, org):
    auth.login("admin")
    r = client.post("/admin/api_tokens/new", data={"name": "x",
                                                   "staff_id": str(org.users["intake"])})
    assert r.status_code == 400
    with app.app_context():
        db.session.get(Staff, org.users["handler_log"]).active = False
        db.session.commit()
    r = client.post("/admin/api_tokens/new",
                    data={"name": "x", "staff_id": str(org.users["handler_log"]),
                          "csrf_token": csrf_token(client, "/admin/api_tokens/")})
    assert r.status_code == 400
    assert _count(app, ApiToken) == 0


# --- the description ------------------------------------------------------------------------------


def test_openapi_describes_every_route(app, client):
    """/api/v1/openapi.json is valid JSON, OpenAPI 3, with every route of the blueprint."""
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    doc = json.loads(r.get_data())
    assert doc["openapi"].startswith("3.")
    from openapi_spec_validator import validate

    validate(doc)  # a valid OpenAPI 3.0 document
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api."):
            path = rule.rule.removeprefix("/api/v1").replace("<number>", "{number}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((path, method.lower()))
    described = {(path, method) for path, ops in doc["paths"].items() for method in ops}
    assert routes == described
    from rules import api as R

    schemas = doc["components"]["schemas"]
    assert set(schemas["Registration"]["properties"]) == set(R.REGISTER_FIELDS)
    assert set(schemas["Upstream"]["properties"]) == set(R.UPSTREAM_FIELDS)


def test_server_error_answers_json_without_detail(app, client, token, monkeypatch):
    """An unexpected error: a JSON 500 that says nothing of the cause."""
    from services import api as service

    def broken(number, staff):
        raise RuntimeError("secret detail")

    monkeypatch.setattr(service, "find", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    r = client.get("/api/v1/complaints/TS-1", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 500
    assert r.get_json()["error"]["code"] == "server_error"
    assert "secret" not in r.get_data(as_text=True)
