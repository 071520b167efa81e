"""Role × endpoint matrix of the configuration and audit screens.

Every principal (each role, anonymous, a deactivated administrator) tries every operation
of every screen: list, details, create (GET and POST), edit (GET and POST), delete, the
built-in bulk delete action, ajax/update and, for staff, the password form. Allowed
operations succeed and do what they say; denied ones get 403 or the login redirect, and the
screen's table (and the staff table) is byte-for-byte unchanged afterwards. The expected
permissions below are written from the specification, not read from the view classes.

Cross-scope: a department head or handler asking another department's callback or audit
event by id gets "not found", and the page holds none of that row's data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from models import (
    CalendarDay,
    CallbackRecord,
    Category,
    ComplaintEvent,
    Department,
    SlaPolicy,
    Staff,
    db,
)
from services.auth import create_user
from services.complaints import perform, register
from tests.conftest import PASSWORD, AuthActions, csrf_token

ALL = ("admin", "intake", "dept_head", "handler", "supervisor", "manager", "executive")
# Senior management reads everything (DESIGN.md "Who uses it"), the configuration included.
CONFIG_READERS = ("admin", "intake", "manager", "supervisor", "executive")
PRINCIPALS = {  # name → (username to log in as, role); None: anonymous
    "admin": ("admin", "admin"), "intake": ("intake", "intake"),
    "dept_head": ("head_qa", "dept_head"), "handler": ("handler_qa", "handler"),
    "supervisor": ("supervisor", "supervisor"), "manager": ("manager", "manager"),
    "executive": ("executive", "executive"),
    "anonymous": (None, None), "deactivated": ("gone_admin", "admin"),
}


@dataclass
class Screen:
    endpoint: str
    model: type
    read: tuple
    write: tuple = ()
    delete: tuple = ()
    create: dict | None = None  # form data of a valid new row; None: no create screen
    edit: dict | None = None  # form data for row A; None: no edit screen
    editable: dict | None = None  # ajax/update field and value; None: no inline editing
    marker: str = ""  # text of row A that its details page shows
    extra_ops: tuple = field(default=())


def _screens(rows):
    a = rows
    return {
        "department": Screen(
            "department", Department, CONFIG_READERS, ("admin",),
            create={"code": "NEWD", "name": "New department", "active": "y"},
            edit={"code": "LOG", "name": "Logistics edited", "active": "y"}, marker="物流部"),
        "staff": Screen(
            "staff", Staff, ("admin",), ("admin",),
            create={"username": "newbie", "full_name": "New Bie", "role": "handler",
                    "department": str(a["qa"]), "active": "y", "locale": ""},
            edit={"username": "handler_log", "full_name": "Edited Name", "role": "handler",
                  "department": str(a["log"]), "active": "y", "locale": ""},
            marker="Handler Log", extra_ops=("password_get", "password_post")),
        "sla_policy": Screen(
            "sla_policy", SlaPolicy, ("admin", "manager", "supervisor", "executive"), ("admin",),
            ("admin",),
            create={"name": "New policy", "kind": "", "category_code": "", "severity": "major",
                    "accept_hours": "8", "resolve_days": "3", "callback_days": "2",
                    "callbacks_required": "1", "active": "y"},
            edit={"name": "Policy A edited", "kind": "", "category_code": "", "severity": "",
                  "accept_hours": "12", "resolve_days": "5", "callback_days": "3",
                  "callbacks_required": "1", "active": "y"},
            marker="Matrix policy A"),
        "calendar_day": Screen(
            "calendar_day", CalendarDay, ALL, ("admin",), ("admin",),
            create={"day": "2031-02-03", "is_working_day": "y", "note": "New day"},
            edit={"day": "2030-05-06", "is_working_day": "", "note": "Day A edited"},
            marker="Matrix day A"),
        "category": Screen(
            "category", Category, CONFIG_READERS, ("admin",),
            create={"code": "newc", "name": "新类别", "name_en": "New", "sort_order": "9",
                    "active": "y"},
            edit={"code": "mx_a", "name": "Category A edited", "name_en": "A", "sort_order": "1",
                  "active": "y"},
            editable={"sort_order": "55"}, marker="Matrix category A"),
        "callback_record": Screen("callback_record", CallbackRecord, ALL,
                                  marker="Matrix callback"),
        "complaint_event": Screen("complaint_event", ComplaintEvent, ALL, marker="Matrix urge"),
    }


OPS = ("list", "details", "create_get", "create_post", "edit_get", "edit_post", "ajax",
       "action_delete", "delete")


def _seed(app, org):
    """Three rows (A: read/edit, B: delete, C: bulk delete) on every screen, a complaint of
    QA assigned to handler_qa with a callback and an urge, and a deactivated administrator."""
    with app.app_context():
        rows = {"qa": org.qa, "log": org.log}
        polices = [SlaPolicy(name=f"Matrix policy {x}", accept_hours=24, resolve_days=7,
                             callback_days=5, callbacks_required=1, active=True,
                             severity="critical") for x in "ABC"]
        days = [CalendarDay(day=date(2030, 5, 6 + i), is_working_day=True,
                            note=f"Matrix day {x}") for i, x in enumerate("ABC")]
        cats = [Category(code=f"mx_{x.lower()}", name=f"Matrix category {x}", active=True,
                         sort_order=50 + i) for i, x in enumerate("ABC")]
        db.session.add_all(polices + days + cats)
        db.session.commit()
        rows["sla_policy"] = [p.id for p in polices]
        rows["calendar_day"] = [d.id for d in days]
        rows["category"] = [c.id for c in cats]
        rows["department"] = [org.log, org.closed_dept, org.cs]
        rows["staff"] = [org.users["handler_log"], org.users["handler_qa2"],
                         org.users["head_log"]]
        staff = {n: db.session.get(Staff, i) for n, i in org.users.items()}
        intake = staff["intake"]
        c = register({"customer_name": "Matrix customer", "customer_phone": "13800138000",
                      "title": "Matrix title", "description": "Matrix description",
                      "category": "service"}, intake)
        perform(c.id, "accept", intake)
        perform(c.id, "forward", intake, {"department_id": org.qa,
                                          "assignee_id": org.users["handler_qa"]})
        perform(c.id, "resolve", staff["handler_qa"], {
            "root_cause": "x", "responsibility": "company", "remedy": "repair",
            "resolution": "ok"})
        perform(c.id, "review_approve", intake)
        cb = perform(c.id, "callback", intake, {"method": "phone", "reached": True,
                                                "satisfaction": "satisfied", "solved": True,
                                                "notes": "Matrix callback"}).callback
        ev = perform(c.id, "urge", staff["supervisor"], {"note": "Matrix urge"}).event
        rows["callback_record"] = [cb.id, cb.id, cb.id]
        rows["complaint_event"] = [ev.id, ev.id - 1, ev.id - 2]
        rows["complaint"] = c.id
        gone = create_user("gone_admin", "Gone Admin", "admin", PASSWORD,
                           department_id=org.cs)
        rows["gone_admin"] = gone.id
    return rows


def _snapshot(app, model):
    with app.app_context():
        db.session.expire_all()
        out = {}
        for m in {model, Staff}:
            cols = [c.key for c in m.__table__.columns]
            out[m.__tablename__] = sorted(
                tuple(getattr(r, c) for c in cols) for r in db.session.scalars(select(m)))
        return out


def _expected(screen, op, principal):
    """'login', 403, 404 or 'ok' — from the specification's table of permissions."""
    if principal in ("anonymous", "deactivated"):
        return "login"
    role = PRINCIPALS[principal][1]
    if role not in screen.read:
        return 403
    if op in ("list", "details"):
        return "ok"
    if op in ("create_get", "create_post"):
        return "ok" if screen.create and role in screen.write else 403
    if op in ("edit_get", "edit_post", "password_get", "password_post"):
        return "ok" if screen.edit and role in screen.write else 403
    if op in ("delete", "action_delete"):
        return "ok" if role in screen.delete else 403
    if op == "ajax":
        if role not in screen.write:
            return 403
        return "ok" if screen.editable else 404
    raise AssertionError(op)


def _login(app, client, principal, rows):
    username = PRINCIPALS[principal][0]
    if username is None:
        return csrf_token(client, "/login")
    assert AuthActions(client).login(username).status_code == 302
    token = csrf_token(client, "/admin/calendar_day/")
    if principal == "deactivated":
        with app.app_context():
            db.session.get(Staff, rows["gone_admin"]).active = False
            db.session.commit()
    return token


def _request(client, screen, op, ids, token):
    base = f"/admin/{screen.endpoint}"
    a, b, c = ids
    if op == "list":
        return client.get(f"{base}/")
    if op == "details":
        return client.get(f"{base}/details/?id={a}")
    if op == "create_get":
        return client.get(f"{base}/new/")
    if op == "create_post":
        return client.post(f"{base}/new/", data=dict(screen.create or {"name": "x"},
                                                     csrf_token=token))
    if op == "edit_get":
        return client.get(f"{base}/edit/?id={a}")
    if op == "edit_post":
        return client.post(f"{base}/edit/?id={a}", data=dict(screen.edit or {"note": "x"},
                                                             csrf_token=token))
    if op == "ajax":
        data = dict(screen.editable or {"note": "x"}, list_form_pk=a, csrf_token=token)
        return client.post(f"{base}/ajax/update/", data=data)
    if op == "action_delete":
        return client.post(f"{base}/action/", data={"action": "delete", "rowid": [c],
                                                    "csrf_token": token, "url": f"{base}/"})
    if op == "delete":
        return client.post(f"{base}/delete/", data={"id": b, "csrf_token": token})
    if op == "password_get":
        return client.get(f"{base}/password/?id={a}")
    if op == "password_post":
        return client.post(f"{base}/password/?id={a}", data={
            "password": "matrix-pass-1", "confirm": "matrix-pass-1", "csrf_token": token})
    raise AssertionError(op)


def _check_success(app, screen, op, r, ids, before, after):
    """What an allowed operation must have done."""
    a, b, c = ids
    table = screen.model.__tablename__
    body = r.get_data(as_text=True)
    if op in ("list", "details", "create_get", "edit_get", "password_get"):
        assert r.status_code == 200, (op, r.status_code, r.headers.get("Location"))
        if op in ("list", "details"):
            assert screen.marker in body, op
        if op != "list" and op != "details":
            assert 'name="csrf_token"' in body
        assert after == before, op
        return
    with app.app_context():
        db.session.expire_all()
        if op == "create_post":
            assert r.status_code == 302, (op, body[-500:])
            assert len(after[table]) == len(before[table]) + 1, op
        elif op == "edit_post":
            assert r.status_code == 302, (op, body[-500:])
            row = db.session.get(screen.model, a)
            shown = {k: v for k, v in screen.edit.items() if k in ("name", "full_name", "note")}
            for key, value in shown.items():
                assert getattr(row, key) == value, (op, key)
        elif op == "ajax":
            assert r.status_code == 200, (op, body)
            row = db.session.get(screen.model, a)
            for key, value in screen.editable.items():
                assert str(getattr(row, key)) == value
        elif op == "delete":
            assert r.status_code == 302
            assert db.session.get(screen.model, b) is None
            assert len(after[table]) == len(before[table]) - 1
        elif op == "action_delete":
            assert r.status_code == 302
            assert db.session.get(screen.model, c) is None
            assert len(after[table]) == len(before[table]) - 1
        elif op == "password_post":
            assert r.status_code == 302
            assert before["staff"] != after["staff"]
        else:
            raise AssertionError(op)


@pytest.mark.parametrize("principal", list(PRINCIPALS))
@pytest.mark.parametrize("endpoint", ["department", "staff", "callback_record", "sla_policy",
                                      "calendar_day", "category", "complaint_event"])
def test_access_matrix(app, wide_org, client, endpoint, principal):
    """Each operation of this screen, for this principal: allowed ones succeed and do their
    work; denied ones answer 403 / login redirect / 404 and change no row."""
    rows = _seed(app, wide_org)
    screens = _screens(rows)
    screen = screens[endpoint]
    ids = rows[endpoint]
    token = _login(app, client, principal, rows)
    outcomes = {}
    for op in OPS + screen.extra_ops:
        expected = _expected(screen, op, principal)
        before = _snapshot(app, screen.model)
        r = _request(client, screen, op, ids, token)
        after = _snapshot(app, screen.model)
        outcomes[op] = r.status_code
        if expected == "ok":
            _check_success(app, screen, op, r, ids, before, after)
            continue
        if expected == "login":
            assert r.status_code == 302, (op, r.status_code)
            assert urlsplit(r.headers["Location"]).path == "/login", op
        else:
            assert r.status_code == expected, (op, r.status_code, expected)
        assert after == before, f"{op} changed the database although refused"
    assert outcomes  # every operation of the table was tried


def test_matrix_covers_every_screen_of_the_module(app):
    """The matrix lists every view that crud.add_views registers (none forgotten)."""
    admin = app.extensions["admin"][0]
    from admin_views import crud

    mine = {v.endpoint for v in admin._views if type(v).__module__ == crud.__name__}
    assert mine == set(_screens({"qa": 0, "log": 0}))


# --- cross-scope by id --------------------------------------------------------------------


@pytest.mark.parametrize("username", ["head_log", "handler_log", "handler_qa2"])
@pytest.mark.parametrize("endpoint", ["callback_record", "complaint_event"])
def test_other_scope_rows_are_not_found_by_id(app, org, client, endpoint, username):
    """Another department's (or another handler's) callback or event asked by id: not found,
    and neither the page nor the followed redirect shows any of its data."""
    rows = _seed(app, org)
    row_id = rows[endpoint][0]
    AuthActions(client).login(username)
    secrets = ("Matrix callback", "Matrix urge", "Matrix customer", "Matrix title")
    for url in (f"/admin/{endpoint}/details/?id={row_id}",
                f"/admin/{endpoint}/edit/?id={row_id}"):
        r = client.get(url)
        assert r.status_code in (302, 403), url
        body = r.get_data(as_text=True)
        followed = client.get(url, follow_redirects=True).get_data(as_text=True)
        assert not any(s in body or s in followed for s in secrets), url
    listing = client.get(f"/admin/{endpoint}/").get_data(as_text=True)
    assert not any(s in listing for s in secrets)
    before = _snapshot(app, CallbackRecord if endpoint == "callback_record" else ComplaintEvent)
    token = csrf_token(client, f"/admin/{endpoint}/")
    client.post(f"/admin/{endpoint}/delete/", data={"id": row_id, "csrf_token": token})
    client.post(f"/admin/{endpoint}/action/", data={"action": "delete", "rowid": [row_id],
                                                    "csrf_token": token})
    assert _snapshot(app, CallbackRecord if endpoint == "callback_record"
                     else ComplaintEvent) == before


@pytest.mark.parametrize("username", ["head_qa", "handler_qa"])
@pytest.mark.parametrize("endpoint", ["callback_record", "complaint_event"])
def test_own_scope_rows_are_found_by_id(app, org, client, endpoint, username):
    """The complaint's own department head and assigned handler do open its rows."""
    rows = _seed(app, org)
    AuthActions(client).login(username)
    r = client.get(f"/admin/{endpoint}/details/?id={rows[endpoint][0]}")
    assert r.status_code == 200
    assert ("Matrix callback" if endpoint == "callback_record" else "Matrix urge") in r.get_data(
        as_text=True)


def test_scope_follows_the_complaint_when_it_moves(app, org, client):
    """Events are scoped by the complaint's current department: after a return to customer
    service, the former department head no longer sees them."""
    rows = _seed(app, org)
    AuthActions(client).login("head_qa")
    url = f"/admin/complaint_event/details/?id={rows['complaint_event'][0]}"
    assert client.get(url).status_code == 200
    with app.app_context():
        from models import Complaint

        db.session.get(Complaint, rows["complaint"]).department_id = org.log
        db.session.commit()
    assert client.get(url).status_code == 302
