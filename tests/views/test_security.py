"""Security of the configuration and audit screens: headers, escaping, CSRF, malformed ids,
read-only roles, database errors, local assets."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from admin_views.crud import CalendarDayView, SlaPolicyView
from models import CalendarDay, Category, Department, SlaPolicy, Staff, db
from services.complaints import perform, register
from tests.conftest import AuthActions, csrf_token

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'


def _rows(app, model):
    """A snapshot of a table: every row as a tuple of its column values."""
    with app.app_context():
        cols = [c.key for c in model.__table__.columns]
        return sorted(tuple(getattr(r, c) for c in cols)
                      for r in db.session.scalars(select(model)))


# --- headers -------------------------------------------------------------------------------


def _check_headers(r):
    h = r.headers
    assert h["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] in ("same-origin", "strict-origin-when-cross-origin", "no-referrer")


@pytest.mark.parametrize("url", ["/login", "/", "/no-such-page", "/admin/category/",
                                 "/admin/static/admin/css/bootstrap4/admin.css"])
def test_security_headers_for_anonymous_requests(client, url):
    """Pages, redirects, 404s and static files all carry the framing/sniffing/referrer headers."""
    with client.get(url) as r:
        _check_headers(r)


@pytest.mark.parametrize("url, status", [("/admin/category/", 200), ("/admin/staff/", 403),
                                         ("/admin/department/details/?id=999", 302),
                                         ("/admin/callback_record/", 200)])
def test_authenticated_pages_are_not_cached(app, org, client, auth, url, status):
    """Every response to a logged-in user says Cache-Control: no-store, besides the headers."""
    auth.login("intake")
    r = client.get(url)
    assert r.status_code == status
    _check_headers(r)
    assert "no-store" in r.headers["Cache-Control"]


def test_hsts_only_in_production(app, org):
    """Production sends Strict-Transport-Security on every answer (pages, redirects, static
    files); development, served over plain HTTP, does not."""
    import secrets

    from app import create_app

    prod = create_app({**app.config, "PRODUCTION": True, "SECRET_KEY": secrets.token_hex(32)})
    try:
        client = prod.test_client()
        for url in ("/login", "/", "/admin/category/",
                    "/admin/static/admin/css/bootstrap4/admin.css"):
            with client.get(url) as r:
                assert r.headers["Strict-Transport-Security"] == (
                    "max-age=31536000; includeSubDomains"), url
    finally:
        with prod.app_context():
            db.session.remove()
            db.engine.dispose()
    for url in ("/login", "/"):
        assert "Strict-Transport-Security" not in app.test_client().get(url).headers


def test_root_goes_to_the_panel(client):
    """The site root redirects to the admin panel (which asks an anonymous user to log in)."""
    r = client.get("/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/")
    r = client.get("/", follow_redirects=True)
    assert r.request.path == "/login"


# --- assets --------------------------------------------------------------------------------

EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


@pytest.mark.parametrize("url", ["/admin/department/", "/admin/department/new/",
                                 "/admin/department/edit/?id=1", "/admin/staff/password/?id=1",
                                 "/admin/complaint_event/", "/admin/calendar_day/",
                                 "/admin/category/", "/admin/"])
def test_every_asset_is_served_locally(app, org, client, auth, url):
    """Rendered pages reference no http(s):// or protocol-relative asset: no internet needed."""
    assert not EXTERNAL.search(client.get("/login").get_data(as_text=True))
    auth.login("admin")
    r = client.get(url)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert not EXTERNAL.search(html), EXTERNAL.search(html)
    for asset in re.findall(r"""(?:src|href)="(/[^"]+\.(?:css|js))""", html)[:40]:
        with client.get(asset) as r:
            assert r.status_code == 200, asset


# --- XSS -----------------------------------------------------------------------------------


def _seed_hostile(app, org):
    """Names and notes holding markup, in every table these screens show."""
    with app.app_context():
        qa = db.session.get(Department, org.qa)
        qa.name = f"QA {SCRIPT}"
        handler = db.session.get(Staff, org.users["handler_qa"])
        handler.full_name = f"Handler {IMG}"
        cat = db.session.scalar(select(Category).filter_by(code="service"))
        cat.name = f"Service {SCRIPT}"
        db.session.commit()
        intake = db.session.get(Staff, org.users["intake"])
        c = register({"customer_name": "X", "customer_phone": "13800138000", "title": "t",
                      "description": "d", "category": "service"}, intake)
        perform(c.id, "accept", intake)
        perform(c.id, "forward", intake, {"department_id": org.qa,
                                          "assignee_id": org.users["handler_qa"]})
        perform(c.id, "resolve", handler, {"root_cause": "x", "responsibility": "company",
                                           "remedy": "repair", "resolution": "ok"})
        perform(c.id, "review_approve", intake)
        out = perform(c.id, "callback", intake, {"method": "phone", "reached": True,
                                                 "satisfaction": "satisfied", "solved": True,
                                                 "notes": f"Note {IMG} {SCRIPT}"})
        ev = perform(c.id, "urge", db.session.get(Staff, org.users["supervisor"]),
                     {"note": f"Urge {SCRIPT} {IMG}"})
        return out.callback.id, ev.event.id


def _assert_escaped(html, where):
    assert SCRIPT not in html, where
    assert "<img src=x" not in html, where
    assert "&lt;script&gt;" in html or "&lt;img" in html, where


def test_hostile_values_are_escaped_in_lists_and_details(app, org, client, auth):
    """Markup in department, staff and category names, callback and event notes is escaped."""
    callback_id, event_id = _seed_hostile(app, org)
    auth.login("admin")
    for url in ("/admin/department/", f"/admin/department/details/?id={org.qa}",
                f"/admin/department/edit/?id={org.qa}",
                "/admin/staff/", f"/admin/staff/details/?id={org.users['handler_qa']}",
                "/admin/category/", "/admin/sla_policy/new/",
                "/admin/callback_record/", f"/admin/callback_record/details/?id={callback_id}",
                "/admin/complaint_event/", f"/admin/complaint_event/details/?id={event_id}",
                f"/admin/staff/password/?id={org.users['handler_qa']}"):
        r = client.get(url)
        assert r.status_code == 200, url
        _assert_escaped(r.get_data(as_text=True), url)


def test_hostile_name_is_escaped_in_the_navbar_and_flash(app, org, client, auth):
    """A user's own hostile name in the navbar, and in the password flash, is escaped."""
    with app.app_context():
        db.session.get(Staff, org.users["admin"]).full_name = f"Admin {SCRIPT}"
        db.session.get(Staff, org.users["intake"]).full_name = f"Intake {IMG}"
        db.session.commit()
    auth.login("admin")
    _assert_escaped(client.get("/admin/category/").get_data(as_text=True), "navbar")
    url = f"/admin/staff/password/?id={org.users['intake']}"
    r = client.post(url, data={"csrf_token": csrf_token(client, url), "password": "long-pass-1",
                               "confirm": "long-pass-1"}, follow_redirects=True)
    html = r.get_data(as_text=True)
    assert "The password of Intake" in html
    assert "<img src=x" not in html and "&#34;&gt;&lt;img" in html


# --- CSRF ----------------------------------------------------------------------------------


def test_posts_without_csrf_change_nothing(app, org, client, auth):
    """Create, edit, delete, bulk delete, inline edit and password posts without a token are
    refused by an administrator's session, and no table changes."""
    auth.login("admin")
    with app.app_context():
        pid = db.session.scalar(select(SlaPolicy.id).limit(1))
        cid = db.session.scalar(select(Category.id).limit(1))
    tables = (SlaPolicy, Category, Department, Staff, CalendarDay)
    before = {m: _rows(app, m) for m in tables}
    posts = [
        ("/admin/sla_policy/new/", {"name": "X", "accept_hours": "1", "resolve_days": "1",
                                    "callback_days": "1", "callbacks_required": "1"}),
        (f"/admin/sla_policy/edit/?id={pid}", {"name": "Changed", "accept_hours": "1",
                                               "resolve_days": "1", "callback_days": "1",
                                               "callbacks_required": "1"}),
        ("/admin/sla_policy/delete/", {"id": pid}),
        ("/admin/sla_policy/action/", {"action": "delete", "rowid": [pid]}),
        ("/admin/category/ajax/update/", {"list_form_pk": cid, "sort_order": "99"}),
        ("/admin/department/new/", {"code": "NEW", "name": "New"}),
        (f"/admin/staff/password/?id={org.users['intake']}",
         {"password": "hijacked-123", "confirm": "hijacked-123"}),
        (f"/admin/staff/edit/?id={org.users['intake']}",
         {"username": "intake", "full_name": "X", "role": "admin", "active": "y"}),
        ("/admin/calendar_day/new/", {"day": "2027-01-04", "is_working_day": ""}),
    ]
    for url, data in posts:
        r = client.post(url, data=data)
        assert r.status_code in (200, 302, 400), url
        for bad_token in ("", "1##forged"):
            client.post(url, data=dict(data, csrf_token=bad_token))
    assert {m: _rows(app, m) for m in tables} == before


def test_csrf_failure_is_told_to_the_user(app, org, client, auth):
    """A delete without a token flashes a CSRF message rather than failing silently."""
    auth.login("admin")
    with app.app_context():
        pid = db.session.scalar(select(SlaPolicy.id).limit(1))
    r = client.post("/admin/sla_policy/delete/", data={"id": pid}, follow_redirects=True)
    assert "CSRF" in r.get_data(as_text=True)


# --- malformed ids, read-only roles --------------------------------------------------------

BAD_IDS = ["1,2", "abc", "99999", "1 OR 1=1", "-1", "1.5", ""]


@pytest.mark.parametrize("endpoint", ["department", "staff", "sla_policy", "calendar_day",
                                      "category", "callback_record", "complaint_event"])
@pytest.mark.parametrize("bad", BAD_IDS)
def test_malformed_ids_are_not_found(app, org, client, auth, endpoint, bad):
    """?id=1,2 and other malformed or unknown ids redirect as "not found", never a 500."""
    auth.login("admin")
    for op in ("details", "edit"):
        r = client.get(f"/admin/{endpoint}/{op}/", query_string={"id": bad})
        assert r.status_code in (302, 403), (op, r.status_code)
    token = csrf_token(client, f"/admin/{endpoint}/")
    r = client.post(f"/admin/{endpoint}/delete/", data={"id": bad, "csrf_token": token})
    assert r.status_code in (302, 403)
    r = client.post(f"/admin/{endpoint}/ajax/update/", data={"list_form_pk": bad,
                                                             "csrf_token": token})
    assert r.status_code in (403, 404)


def test_malformed_action_ids_change_nothing(app, org, client, auth):
    """A bulk delete with garbage ids deletes nothing and does not crash."""
    auth.login("admin")
    before = _rows(app, SlaPolicy)
    token = csrf_token(client, "/admin/sla_policy/")
    r = client.post("/admin/sla_policy/action/", data={
        "action": "delete", "rowid": ["1,2", "abc", "99999"], "csrf_token": token})
    assert r.status_code == 302
    assert _rows(app, SlaPolicy) == before


@pytest.mark.parametrize("username", ["supervisor", "manager", "intake"])
def test_inline_edit_by_a_read_only_role_is_403(app, org, client, auth, username):
    """ajax/update from a role that may only read categories is refused with 403."""
    auth.login(username)
    with app.app_context():
        cid = db.session.scalar(select(Category.id).limit(1))
    before = _rows(app, Category)
    token = csrf_token(client, "/admin/category/")
    r = client.post("/admin/category/ajax/update/",
                    data={"list_form_pk": cid, "sort_order": "77", "csrf_token": token})
    assert r.status_code == 403
    assert _rows(app, Category) == before


def test_read_only_list_offers_no_edit_or_delete_controls(app, org, client, auth):
    """A supervisor's SLA list shows no create, edit or delete controls."""
    auth.login("supervisor")
    html = client.get("/admin/sla_policy/").get_data(as_text=True)
    assert "/admin/sla_policy/new/" not in html
    assert "/admin/sla_policy/edit/" not in html
    assert "/admin/sla_policy/delete/" not in html


# --- database errors -----------------------------------------------------------------------


def test_database_error_text_is_never_shown(app, org, client, auth, monkeypatch):
    """A database failure while saving flashes a plain message, without the SQL or table names,
    and leaves the table as it was."""
    def failing(self, form, model, is_created):
        raise IntegrityError("INSERT INTO calendar_day (day) VALUES (?)", {"day": "x"},
                             Exception("UNIQUE constraint failed: calendar_day.day"))

    monkeypatch.setattr(CalendarDayView, "on_model_change", failing)
    auth.login("admin")
    before = _rows(app, CalendarDay)
    url = "/admin/calendar_day/new/"
    r = client.post(url, data={"csrf_token": csrf_token(client, url), "day": "2027-05-06",
                               "note": "x"}, follow_redirects=True)
    html = r.get_data(as_text=True)
    assert "The change could not be saved" in html
    assert "UNIQUE" not in html and "INSERT" not in html and "calendar_day." not in html
    assert _rows(app, CalendarDay) == before
    assert client.get("/admin/calendar_day/").status_code == 200  # the session recovered


def test_a_second_browser_cannot_use_anothers_csrf_token(app, org, client, auth):
    """A token taken from one user's session does not validate in another user's session."""
    auth.login("admin")
    stolen = csrf_token(client, "/admin/sla_policy/")
    other = app.test_client()
    AuthActions(other).login("admin")
    with app.app_context():
        pid = db.session.scalar(select(SlaPolicy.id).limit(1))
    other.post("/admin/sla_policy/delete/", data={"id": pid, "csrf_token": stolen})
    with app.app_context():
        assert db.session.get(SlaPolicy, pid) is not None


def test_bulk_delete_database_error_is_not_shown(app, org, client, auth, monkeypatch):
    """A database failure in the bulk delete action flashes a plain message, deletes nothing
    (all or nothing) and shows no SQL."""
    def failing(self, model):
        raise IntegrityError("DELETE FROM sla_policy WHERE id = ?", {"id": 1},
                             Exception("FOREIGN KEY constraint failed"))

    monkeypatch.setattr(SlaPolicyView, "on_model_delete", failing)
    auth.login("admin")
    before = _rows(app, SlaPolicy)
    ids = [str(row[0]) for row in before]
    token = csrf_token(client, "/admin/sla_policy/")
    r = client.post("/admin/sla_policy/action/", data={"action": "delete", "rowid": ids,
                                                       "csrf_token": token},
                    follow_redirects=True)
    html = r.get_data(as_text=True)
    assert "The change could not be saved" in html
    assert "DELETE FROM" not in html and "FOREIGN KEY" not in html
    assert _rows(app, SlaPolicy) == before


def test_bulk_delete_removes_all_selected_rows(app, org, client, auth):
    """The administrator's bulk delete of SLA policies removes exactly the selected rows."""
    auth.login("admin")
    with app.app_context():
        ids = list(db.session.scalars(select(SlaPolicy.id)))
    token = csrf_token(client, "/admin/sla_policy/")
    r = client.post("/admin/sla_policy/action/", data={"action": "delete", "rowid": ids,
                                                       "csrf_token": token},
                    follow_redirects=True)
    assert f"{len(ids)} records were successfully deleted." in r.get_data(as_text=True)
    assert _rows(app, SlaPolicy) == []


def test_static_assets_stay_cacheable_for_logged_in_users(app, org, client, auth):
    """Bootstrap and Flask-Admin's own files are not marked no-store (only pages are)."""
    auth.login("intake")
    with client.get("/admin/static/admin/css/bootstrap4/admin.css") as r:
        assert r.status_code == 200
        assert "no-store" not in r.headers.get("Cache-Control", "")
        _check_headers(r)


def test_no_template_of_ours_loads_from_another_host():
    """Every template we ship (overrides of Flask-Admin's included) loads nothing from another
    host, whichever configuration switches a block on (users may have no internet)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "templates"
    found = []
    for path in sorted(root.rglob("*.html")):
        text = re.sub(r"{#.*?#}", "", path.read_text(), flags=re.S)  # comments say why
        found += [f"{path.relative_to(root)}: {m.group(0)}" for m in EXTERNAL.finditer(text)]
    assert found == []
