"""Who may do what on the complaint screens: every role × every endpoint, and scope by id.

Allowed requests succeed; denied ones get 403 (logged in) or the login page (anonymous or
deactivated), and the database is the same after every denied request. A complaint
outside a user's scope is "not found" by whatever URL, and no page shows its data.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from complaint_helpers import LIST, NOW, login, make_complaint, snapshot, text, token
from sqlalchemy import func, select

from models import Category, Complaint, Staff, db
from rules import ACTION_ROLES
from services import clock
from services.auth import create_user

ROLE_OF = {"admin": "admin", "intake": "intake", "manager": "manager",
           "supervisor": "supervisor", "head_qa": "dept_head", "handler_qa": "handler",
           "executive": "executive"}
EDITORS = {"admin", "intake", "manager"}
EVERYONE = set(ROLE_OF.values())  # every staff member also registers (issue 7)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


def _registration(ctx):
    return {"kind": "complaint", "channel": "phone", "customer_name": "新客户",
            "customer_phone": "13900139000", "customer_email": "", "customer_class": "C",
            "category_id": str(ctx["category_id"]), "severity": "normal", "title": "新投诉",
            "description": "新描述", "demand": "", "received_at": ""}


def _edit(ctx):
    data = _registration(ctx)
    data.update(title="Edited title", expected_version=str(ctx["version"]))
    return data


# (name, method, url, form data (None: no form), roles allowed, status codes of success)
def operations(ctx):
    cid = ctx["cid"]
    ops = [
        ("list", "GET", LIST, None, EVERYONE, {200}),
        ("list all", "GET", f"{LIST}?queue=all", None, EVERYONE, {200}),
        ("details", "GET", f"{LIST}details/?id={cid}", None, EVERYONE, {200}),
        ("create form", "GET", f"{LIST}new/", None, EVERYONE, {200}),
        ("edit form", "GET", f"{LIST}edit/?id={cid}", None, EDITORS, {200}),
        ("delete", "POST", f"{LIST}delete/", {"id": str(cid)}, set(), set()),
        ("ajax update", "POST", f"{LIST}ajax/update/",
         {"list_form_pk": str(cid), "title": "x"}, EDITORS, {404}),
        ("bulk forward", "POST", f"{LIST}action/", {"action": "forward", "rowid": str(cid)},
         ACTION_ROLES["forward"], {200}),
        ("bulk escalate", "POST", f"{LIST}action/", {"action": "escalate", "rowid": str(cid)},
         ACTION_ROLES["escalate"], {200}),
        # closing ends the handling: the selection and "I confirm" first (a page)
        ("bulk close", "POST", f"{LIST}action/", {"action": "close", "rowid": str(cid)},
         ACTION_ROLES["close"], {200}),
        ("bulk delete", "POST", f"{LIST}action/", {"action": "delete", "rowid": str(cid)},
         set(), set()),
        ("bulk forward form", "POST", f"{LIST}bulk/forward/",
         {"rowid": str(cid), "department_id": ""}, ACTION_ROLES["forward"], {302}),
        # the missing reason is shown next to its field on the form again (nothing done)
        ("bulk escalate form", "POST", f"{LIST}bulk/escalate/",
         {"rowid": str(cid), "reason": ""}, ACTION_ROLES["escalate"], {200}),
    ]
    for action, roles in sorted(ACTION_ROLES.items()):
        url = f"{LIST}act/{action}/?id={cid}"
        ops.append((f"act {action} form", "GET", url, None, roles, {200, 302}))
        # Allowed roles post a form without its CSRF token: the form comes back, refused.
        ops.append((f"act {action} post", "POST", url, {"version": "1"}, roles, {200}))
    # Writes last: their success changes the rows the other operations look at.
    ops += [
        ("create", "POST", f"{LIST}new/", _registration(ctx), EVERYONE, {302}),
        ("edit", "POST", f"{LIST}edit/?id={cid}", _edit(ctx), EDITORS, {302}),
    ]
    return ops


USERS = ["anonymous", "deactivated", *ROLE_OF]


def _client(app, user):
    if user == "anonymous":
        return app.test_client()
    if user == "deactivated":
        with app.app_context():
            create_user("retired", "Retired Clerk", "intake", "test-pass-123")
        client = login(app, "retired")
        with app.app_context():
            db.session.scalar(select(Staff).filter_by(username="retired")).active = False
            db.session.commit()
        return client
    return login(app, user)


@pytest.mark.parametrize("user", USERS)
def test_role_endpoint_matrix(app, wide_org, user):
    """Each endpoint: allowed roles succeed, others 403 or login, nothing changed if denied."""
    org = wide_org
    with app.app_context():
        cid = make_complaint(status="in_progress", department_id=org.qa,
                             assignee_id=org.users["handler_qa"], due_at=NOW + timedelta(days=2))
        ctx = {"cid": cid, "version": db.session.get(Complaint, cid).version,
               "category_id": db.session.scalar(select(Category.id).limit(1))}
    client = _client(app, user)
    csrf = token(login(app, "admin"))  # a real-looking token for the logged-out users
    if user not in ("anonymous", "deactivated"):
        csrf = token(client)
    role = ROLE_OF.get(user)
    for name, method, url, data, roles, ok in operations(ctx):
        with app.app_context():
            before = snapshot()
        if data is not None and not name.startswith("act "):
            data = {**data, "csrf_token": csrf}
        response = client.open(url, method=method, data=data)
        where = f"{user}: {name} → {response.status_code}"
        if role is None:
            assert response.status_code == 302, where
            assert response.location.startswith("/login"), where
        elif role in roles:
            assert response.status_code in ok, where
            if response.status_code == 302:
                assert "/login" not in response.location, where
        else:
            assert response.status_code == 403, where
        if role not in roles:
            with app.app_context():
                assert snapshot() == before, where
        elif name == "create":
            with app.app_context():
                assert db.session.scalar(select(func.count()).select_from(Complaint)) == 2, where
        elif name == "edit":
            with app.app_context():
                assert db.session.get(Complaint, cid).title == "Edited title", where


# --- scope by id -------------------------------------------------------------------------

SECRET = {"title": "QA-ONLY-TITLE", "customer_name": "机密客户", "phone": "13712345678"}


@pytest.fixture
def qa_complaint(app, org):
    with app.app_context():
        return make_complaint(status="in_progress", department_id=org.qa,
                              assignee_id=org.users["handler_qa"], number="TS-20261120-9999",
                              due_at=NOW + timedelta(days=2), **SECRET)


def _leaks(body):
    return [v for v in (*SECRET.values(), "TS-20261120-9999") if v in body]


@pytest.mark.parametrize("user", ["head_log", "handler_log", "handler_qa2"])
def test_another_scope_by_id_is_not_found_and_shows_nothing(app, org, qa_complaint, user):
    """details / edit / delete / actions of a complaint outside the scope: not found, no data."""
    cid = qa_complaint
    client = login(app, user)
    csrf = token(client)
    with app.app_context():
        before = snapshot()
    details = client.get(f"{LIST}details/?id={cid}", follow_redirects=True)
    assert details.request.path == LIST and "Record does not exist." in text(details)
    requests = [
        ("GET", f"{LIST}edit/?id={cid}", None),
        ("POST", f"{LIST}edit/?id={cid}", {"title": "hacked", "csrf_token": csrf}),
        ("POST", f"{LIST}delete/", {"id": str(cid), "csrf_token": csrf}),
        ("POST", f"{LIST}ajax/update/", {"list_form_pk": str(cid), "title": "x",
                                         "csrf_token": csrf}),
        ("POST", f"{LIST}action/", {"action": "escalate", "rowid": str(cid), "csrf_token": csrf}),
        ("POST", f"{LIST}bulk/escalate/", {"rowid": str(cid), "reason": "x", "csrf_token": csrf}),
    ]
    for action in ("resolve", "escalate", "extend_request", "return"):
        requests.append(("GET", f"{LIST}act/{action}/?id={cid}", None))
        requests.append(("POST", f"{LIST}act/{action}/?id={cid}",
                         {"csrf_token": csrf, "version": "1", "reason": "x"}))
    for method, url, data in requests:
        response = client.open(url, method=method, data=data, follow_redirects=True)
        body = text(response)
        assert response.status_code in (403, 404) or "not found" in body.lower() or (
            "can be found" in body), (method, url, response.status_code)
        assert not _leaks(body), (method, url, _leaks(body))
    for url in (LIST, f"{LIST}?queue=all", "/admin/"):
        assert not _leaks(text(client.get(url))), url
    for term in ("13712345678", "机密", "TS-20261120-9999"):  # the box echoes the term itself
        body = text(client.get(f"{LIST}?search={term}"))
        assert not [v for v in _leaks(body) if v != term], term
    with app.app_context():
        assert snapshot() == before


def test_act_on_another_department_complaint_is_404(app, org, qa_complaint):
    """The action endpoints answer 404 for an id outside the scope, as for a missing one."""
    client = login(app, "head_log")
    assert client.get(f"{LIST}act/escalate/?id={qa_complaint}").status_code == 404
    assert client.get(f"{LIST}act/escalate/?id=999999").status_code == 404
    assert client.get(f"{LIST}act/escalate/?id=1,2").status_code == 404
    assert client.get(f"{LIST}act/no_such_action/?id={qa_complaint}").status_code == 404


def test_malformed_id_is_not_found_not_a_server_error(app, org, qa_complaint):
    """?id=1,2 or ?id=abc on the detail and edit pages: "Record does not exist.", never 500."""
    client = login(app, "intake")
    for url in (f"{LIST}details/?id=1,2", f"{LIST}details/?id=abc", f"{LIST}edit/?id=1,2"):
        response = client.get(url, follow_redirects=True)
        assert response.status_code == 200 and "Record does not exist." in text(response), url


def test_bulk_action_ids_are_rescoped(app, org, qa_complaint):
    """A head posting another department's id with their own: only their own is escalated."""
    with app.app_context():
        own = make_complaint(status="in_progress", department_id=org.log,
                             assignee_id=org.users["handler_log"], due_at=NOW + timedelta(days=2))
    client = login(app, "head_log")
    page = client.post(f"{LIST}bulk/escalate/", data={
        "rowid": [str(own), str(qa_complaint)], "reason": "催办", "csrf_token": token(client)},
        follow_redirects=True)
    body = text(page)
    assert "1 complaint done" in body and "1 complaint not found" in body
    assert not _leaks(body)
    with app.app_context():
        assert db.session.get(Complaint, own).escalation_level == 1
        assert db.session.get(Complaint, qa_complaint).escalation_level == 0


def test_customer_contact_masked_for_the_supervisor_only(app, org):
    """rules.privacy: the supervisor sees 138****8000 and a masked e-mail; the others in full."""
    with app.app_context():
        cid = make_complaint(status="in_progress", department_id=org.qa,
                             assignee_id=org.users["handler_qa"], due_at=NOW + timedelta(days=1),
                             phone="13800138000", customer_email="zhang.san@example.com")
    masked = text(login(app, "supervisor").get(f"{LIST}details/?id={cid}"))
    assert "138****8000" in masked and "z***@example.com" in masked
    assert "13800138000" not in masked and "zhang.san@" not in masked
    for user in ("intake", "manager", "admin", "head_qa", "handler_qa"):
        shown = text(login(app, user).get(f"{LIST}details/?id={cid}"))
        assert "13800138000" in shown and "zhang.san@example.com" in shown, user
