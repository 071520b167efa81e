"""The generated screens: departments, staff, callbacks, SLA policies, calendar, categories and
the audit trail — what they show, what they accept, their menus, scopes and query counts."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from models import (
    CalendarDay,
    Category,
    Complaint,
    ComplaintEvent,
    Department,
    SlaPolicy,
    Staff,
    db,
)
from rules import Actor, Role, can_see
from services.complaints import perform, register
from services.queries import scope_clause
from tests.conftest import PASSWORD, AuthActions, csrf_token
from tests.factories import export_file, recorded_statements


def seed_complaint(app, org, dept="qa", handler="handler_qa", text="Kettle", phone="13800138000"):
    """A complaint carried to a recorded callback and an urge: ids of it and its rows."""
    with app.app_context():
        def user(name):
            return db.session.get(Staff, org.users[name])

        intake, head = user("intake"), user(f"head_{dept}")
        c = register({"customer_name": f"Customer {text}", "customer_phone": phone,
                      "title": f"Title {text}", "description": f"Description {text}",
                      "category": "service"}, intake)
        perform(c.id, "accept", intake)
        perform(c.id, "forward", intake, {"department_id": getattr(org, dept)})
        perform(c.id, "assign", head, {"assignee_id": org.users[handler]})
        perform(c.id, "resolve", user(handler), {"root_cause": "x", "responsibility": "company",
                                                 "remedy": "exchange", "resolution": "done"})
        perform(c.id, "review_approve", intake)
        out = perform(c.id, "callback", intake, {"method": "phone", "reached": True,
                                                 "satisfaction": "satisfied", "solved": True,
                                                 "notes": f"Callback {text}"})
        perform(c.id, "urge", user("supervisor"), {"note": f"Urge {text}"})
        return c.id, out.callback.id


def _html(client, url, **kw):
    r = client.get(url, **kw)
    assert r.status_code == 200, (url, r.status_code, r.headers.get("Location"))
    return r.get_data(as_text=True)


def _post_form(client, url, data):
    data = dict(data, csrf_token=csrf_token(client, url))
    return client.post(url, data=data)


# --- menus ---------------------------------------------------------------------------------


def _menu(html):
    nav = html.split('id="admin-navbar-collapse"', 1)[1].split("</nav>", 1)[0]
    return [re.sub(r"\s+", " ", m).strip()
            for m in re.findall(r'<a class="(?:nav-link|dropdown-item)[^"]*"[^>]*>(.*?)</a>', nav,
                                re.S)]


def test_menu_order_for_the_administrator(app, org, client, auth):
    """Complaint screens first, then callbacks, audit trail, then Settings with the config."""
    auth.login("admin")
    menu = _menu(_html(client, "/admin/category/"))
    mine = ["Callback records", "Audit trail", "Departments", "Staff", "SLA policies",
            "Calendar", "Categories"]
    assert [m for m in menu if m in mine] == mine
    assert "Settings" in _html(client, "/admin/category/")
    complaints = [i for i, m in enumerate(menu) if m.startswith("Complaint")]
    assert all(i < menu.index("Callback records") for i in complaints)


@pytest.mark.parametrize("username, visible, hidden", [
    ("handler_qa", ["Callback records", "Audit trail", "Calendar"],
     ["Staff", "Departments", "SLA policies", "Categories"]),
    ("head_qa", ["Callback records", "Audit trail", "Calendar"],
     ["Staff", "Departments", "SLA policies", "Categories"]),
    ("intake", ["Departments", "Categories", "Calendar"], ["Staff", "SLA policies"]),
    ("supervisor", ["Departments", "SLA policies", "Categories"], ["Staff"]),
    ("manager", ["Departments", "SLA policies", "Categories"], ["Staff"]),
])
def test_menus_per_role(app, org, client, auth, username, visible, hidden):
    """Each role sees the screens it may open and no others (a handler has no Staff entry)."""
    auth.login(username)
    menu = _menu(_html(client, "/admin/calendar_day/"))
    assert all(v in menu for v in visible), menu
    assert not any(h in menu for h in hidden), menu


def test_handler_gets_403_on_staff_by_url(app, org, client, auth):
    """The Staff screen is refused by URL to a handler, not merely hidden."""
    auth.login("handler_qa")
    assert client.get("/admin/staff/").status_code == 403
    assert client.get(f"/admin/staff/details/?id={org.users['admin']}").status_code == 403


# --- staff ---------------------------------------------------------------------------------


def _secrets(app, username):
    with app.app_context():
        s = db.session.scalar(select(Staff).filter_by(username=username))
        return s.password_hash, s.session_token


def test_staff_screens_never_show_hash_or_token(app, org, client, auth):
    """List, details and edit form hold neither the password hash nor the session token."""
    auth.login("admin")
    pw_hash, token = _secrets(app, "intake")
    uid = org.users["intake"]
    for url in ("/admin/staff/", f"/admin/staff/details/?id={uid}",
                f"/admin/staff/edit/?id={uid}", "/admin/staff/new/",
                f"/admin/staff/password/?id={uid}"):
        html = _html(client, url)
        assert pw_hash not in html and token not in html, url
        assert "password_hash" not in html and "session_token" not in html, url
        assert pw_hash.split("$")[-1] not in html


def test_staff_edit_ignores_posted_hash_and_token(app, org, client, auth):
    """Posting password_hash or session_token with an edit changes neither of them."""
    auth.login("admin")
    before = _secrets(app, "intake")
    uid = org.users["intake"]
    r = _post_form(client, f"/admin/staff/edit/?id={uid}", {
        "username": "intake", "full_name": "New Name", "role": "intake", "active": "y",
        "department": str(org.cs), "locale": "", "password_hash": "plain:evil",
        "session_token": "attacker-chosen-token"})
    assert r.status_code == 302
    with app.app_context():
        staff = db.session.get(Staff, uid)
        assert staff.full_name == "New Name"
        assert (staff.password_hash, staff.session_token) == before


def test_staff_edit_of_a_plain_field_keeps_the_session(app, org, client, auth):
    """Editing a phone number does not log the user out (only role/active changes do)."""
    victim = app.test_client()
    AuthActions(victim).login("intake")
    auth.login("admin")
    _post_form(client, f"/admin/staff/edit/?id={org.users['intake']}", {
        "username": "intake", "full_name": "Intake", "role": "intake", "active": "y",
        "department": str(org.cs), "phone": "021-555", "locale": ""})
    with app.app_context():
        assert db.session.get(Staff, org.users["intake"]).phone == "021-555"
    assert victim.get("/admin/category/").status_code == 200


def test_new_staff_cannot_log_in_until_a_password_is_set(app, org, client, auth):
    """A user created on the screen has no usable password; "Set password" gives them one."""
    auth.login("admin")
    r = _post_form(client, "/admin/staff/new/", {
        "username": "newbie", "full_name": "New Bie", "role": "handler",
        "department": str(org.qa), "active": "y", "locale": "zh_Hans_CN"})
    assert r.status_code == 302
    with app.app_context():
        s = db.session.scalar(select(Staff).filter_by(username="newbie"))
        uid, token = s.id, s.session_token
        assert s.locale == "zh_Hans_CN" and s.role == "handler" and len(token) >= 32
    assert AuthActions(app.test_client()).login("newbie", "").status_code == 401
    assert AuthActions(app.test_client()).login("newbie", "!").status_code == 401
    url = f"/admin/staff/password/?id={uid}"
    r = _post_form(client, url, {"password": "fresh-pass-1", "confirm": "fresh-pass-1"})
    assert r.status_code == 302
    assert AuthActions(app.test_client()).login("newbie", "fresh-pass-1").status_code == 302


def test_staff_list_links_to_set_password(app, org, client, auth):
    """Each staff row offers the "Set password" action, linking to its own form."""
    auth.login("admin")
    html = _html(client, "/admin/staff/")
    assert f"/admin/staff/password/?id={org.users['intake']}" in html


@pytest.mark.parametrize("password, confirm, message", [
    ("short", "short", "A password needs at least 10 characters."),
    ("long-enough-1", "different-2", "The passwords differ."),
])
def test_set_password_refusals_change_nothing(app, org, client, auth, password, confirm,
                                              message):
    """A too-short or mismatched password is refused with a clear message; nothing changes."""
    auth.login("admin")
    before = _secrets(app, "intake")
    url = f"/admin/staff/password/?id={org.users['intake']}"
    r = _post_form(client, url, {"password": password, "confirm": confirm})
    assert message in r.get_data(as_text=True) or message in _html(client, url)
    assert _secrets(app, "intake") == before


def test_admin_setting_own_password_stays_logged_in(app, org, client, auth):
    """An administrator changing their own password keeps their session (with the new token)."""
    auth.login("admin")
    r = _post_form(client, f"/admin/staff/password/?id={org.users['admin']}",
                   {"password": "mine-new-123", "confirm": "mine-new-123"})
    assert r.status_code == 302
    assert client.get("/admin/staff/").status_code == 200


def test_password_form_for_unknown_id_is_not_found(app, org, client, auth):
    """The password form of a missing or malformed id redirects with "Record does not exist."."""
    auth.login("admin")
    for bad in ("999", "1,2", "abc", ""):
        r = client.get(f"/admin/staff/password/?id={bad}", follow_redirects=True)
        assert r.status_code == 200 and "Record does not exist." in r.get_data(as_text=True)


def test_role_labels_translated_in_staff_list(app, org, client, auth):
    """The role column shows labels (Department head), not stored codes (dept_head)."""
    auth.login("admin")
    html = _html(client, "/admin/staff/")
    assert "Department head" in html and "Customer-service clerk" in html
    assert ">dept_head<" not in html


def test_staff_role_must_be_a_known_role(app, org, client, auth):
    """A forged role value is refused by the form; the account keeps its role."""
    auth.login("admin")
    _post_form(client, f"/admin/staff/edit/?id={org.users['intake']}", {
        "username": "intake", "full_name": "Intake", "role": "superuser", "active": "y",
        "department": str(org.cs), "locale": ""})
    with app.app_context():
        assert db.session.get(Staff, org.users["intake"]).role == "intake"


# --- departments ---------------------------------------------------------------------------


def test_department_head_choices_are_active_staff(app, org, client, auth):
    """The head select lists active staff only; posting an inactive one is refused."""
    with app.app_context():
        db.session.get(Staff, org.users["handler_qa2"]).active = False
        db.session.commit()
    auth.login("admin")
    html = _html(client, f"/admin/department/edit/?id={org.qa}")
    assert f'value="{org.users["handler_qa"]}"' in html
    assert f'value="{org.users["handler_qa2"]}"' not in html
    r = _post_form(client, f"/admin/department/edit/?id={org.qa}", {
        "code": "QA", "name": "质量管理部", "active": "y", "head": str(org.users["handler_qa2"])})
    assert r.status_code == 200 and "Not a valid choice" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Department, org.qa).head_id is None


def test_department_create_and_deactivate(app, org, client, auth):
    """An administrator creates a department with a head, then retires it by deactivating."""
    auth.login("admin")
    r = _post_form(client, "/admin/department/new/", {
        "code": "FIN", "name": "财务部", "active": "y", "parent": str(org.cs),
        "head": str(org.users["head_qa"])})
    assert r.status_code == 302
    with app.app_context():
        d = db.session.scalar(select(Department).filter_by(code="FIN"))
        assert (d.name, d.parent_id, d.head_id, d.active) == (
            "财务部", org.cs, org.users["head_qa"], True)
        fin = d.id
    _post_form(client, f"/admin/department/edit/?id={fin}", {"code": "FIN", "name": "财务部"})
    with app.app_context():
        assert db.session.get(Department, fin).active is False


def test_department_code_must_be_unique(app, org, client, auth):
    """A second department with an existing code is refused by the form, not by a DB error."""
    auth.login("admin")
    r = _post_form(client, "/admin/department/new/", {"code": "QA", "name": "Dup", "active": "y"})
    assert r.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Department)
                                 .where(Department.code == "QA")) == 1


def test_departments_cannot_be_deleted(app, org, client, auth):
    """Even the administrator has no delete for departments (retire by deactivating)."""
    auth.login("admin")
    token = csrf_token(client, "/admin/department/")
    assert client.post("/admin/department/delete/",
                       data={"id": org.log, "csrf_token": token}).status_code == 403
    with app.app_context():
        assert db.session.get(Department, org.log) is not None


# --- SLA policies, calendar, categories ----------------------------------------------------


def test_sla_policy_create_with_any_stores_null_and_delete(app, org, client, auth):
    """Empty "Any" choices are stored as NULL (as the matcher expects); admin may delete."""
    auth.login("admin")
    r = _post_form(client, "/admin/sla_policy/new/", {
        "name": "Critical billing", "kind": "", "category_code": "billing",
        "severity": "critical", "accept_hours": "4", "resolve_days": "2", "callback_days": "1",
        "callbacks_required": "2", "active": "y"})
    assert r.status_code == 302
    with app.app_context():
        p = db.session.scalar(select(SlaPolicy).filter_by(name="Critical billing"))
        assert (p.kind, p.category_code, p.severity, p.accept_hours) == (
            None, "billing", "critical", 4)
        pid = p.id
    token = csrf_token(client, "/admin/sla_policy/")
    assert client.post("/admin/sla_policy/delete/",
                       data={"id": pid, "csrf_token": token}).status_code == 302
    with app.app_context():
        assert db.session.get(SlaPolicy, pid) is None


def test_sla_policy_numbers_are_validated(app, org, client, auth):
    """Zero or negative deadlines are refused by the form; nothing is stored."""
    auth.login("admin")
    with app.app_context():
        n = db.session.scalar(select(func.count()).select_from(SlaPolicy))
    r = _post_form(client, "/admin/sla_policy/new/", {
        "name": "Broken", "accept_hours": "0", "resolve_days": "-1", "callback_days": "1",
        "callbacks_required": "1"})
    assert r.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SlaPolicy)) == n


def test_sla_policy_labels_translated(app, org, client, auth):
    """Kind labels are translated and the category shows by name, not by code."""
    with app.app_context():
        name = db.session.scalar(select(Category.name).filter_by(code="product_quality"))
    auth.login("supervisor")
    html = _html(client, "/admin/sla_policy/", headers={"Accept-Language": "zh-CN"})
    assert "时限规则" in html and "受理时限（小时）" in html
    assert ">投诉<" in html.replace(" ", "").replace("\n", "")
    assert name in html and ">product_quality<" not in html.replace(" ", "").replace("\n", "")


def test_calendar_override_create_and_delete(app, org, client, auth):
    """The administrator adds a company day off and removes it again."""
    auth.login("admin")
    r = _post_form(client, "/admin/calendar_day/new/",
                   {"day": "2027-03-08", "note": "Company day", "is_working_day": ""})
    assert r.status_code == 302
    with app.app_context():
        day = db.session.scalar(select(CalendarDay).filter_by(day=date(2027, 3, 8)))
        assert day.is_working_day is False and day.note == "Company day"
        did = day.id
    token = csrf_token(client, "/admin/calendar_day/")
    client.post("/admin/calendar_day/delete/", data={"id": did, "csrf_token": token})
    with app.app_context():
        assert db.session.get(CalendarDay, did) is None


def test_category_inline_edit_by_admin(app, org, client, auth):
    """The administrator changes a category's order from the list (ajax update with CSRF)."""
    auth.login("admin")
    with app.app_context():
        cat = db.session.scalar(select(Category).filter_by(code="service"))
        cid = cat.id
    token = csrf_token(client, "/admin/category/")
    r = client.post("/admin/category/ajax/update/",
                    data={"list_form_pk": cid, "sort_order": "42", "csrf_token": token})
    assert r.status_code == 200
    with app.app_context():
        assert db.session.get(Category, cid).sort_order == 42


def test_category_deactivate_not_delete(app, org, client, auth):
    """Categories have no delete; deactivating hides them from the SLA category choices."""
    auth.login("admin")
    with app.app_context():
        cid = db.session.scalar(select(Category.id).filter_by(code="billing"))
    token = csrf_token(client, "/admin/category/")
    assert client.post("/admin/category/delete/",
                       data={"id": cid, "csrf_token": token}).status_code == 403
    assert 'value="billing"' in _html(client, "/admin/sla_policy/new/")
    with app.app_context():
        db.session.get(Category, cid).active = False
        db.session.commit()
    assert 'value="billing"' not in _html(client, "/admin/sla_policy/new/")


# --- callbacks and the audit trail ----------------------------------------------------------


def test_audit_trail_newest_first_with_labels(app, org, client, auth):
    """The audit trail lists a complaint's events newest first, with translated labels."""
    seed_complaint(app, org)
    auth.login("supervisor")
    html = _html(client, "/admin/complaint_event/")
    assert html.index("Urge Kettle") < html.index("Callback Kettle")
    for text in ("Forwarded", "Awaiting callback", "Record callback", "Urge"):
        assert text in html
    assert ">in_progress<" not in html and ">review_approve<" not in html


def test_audit_trail_filters(app, org, client, auth):
    """Filters by complaint number, action, actor and time narrow the audit trail."""
    first, _ = seed_complaint(app, org, text="Alpha")
    seed_complaint(app, org, text="Beta", phone="13900139000")
    with app.app_context():
        number = db.session.get(Complaint, first).number
    auth.login("admin")
    html = _html(client, "/admin/complaint_event/",
                 query_string={"flt0_complaint_number_equals": number})
    assert "Urge Alpha" in html and "Urge Beta" not in html
    html = _html(client, "/admin/complaint_event/", query_string={"flt0_action_equals": "urge"})
    assert "Urge Alpha" in html and "Callback Alpha" not in html
    html = _html(client, "/admin/complaint_event/",
                 query_string={"flt0_actor_equals": org.users["supervisor"]})
    assert "Urge Alpha" in html and "Callback Alpha" not in html
    html = _html(client, "/admin/complaint_event/",
                 query_string={"flt0_time_between": "2000-01-01 00:00:00 to 2000-01-02 00:00:00"})
    assert "Urge Alpha" not in html


def test_audit_trail_has_no_create_edit_or_delete(app, org, client, auth):
    """Nobody, not even the administrator, may create, edit or delete an audit event."""
    seed_complaint(app, org)
    auth.login("admin")
    token = csrf_token(client, "/admin/complaint_event/")
    assert client.get("/admin/complaint_event/new/").status_code == 403
    assert client.get("/admin/complaint_event/edit/?id=1").status_code == 403
    assert client.post("/admin/complaint_event/delete/",
                       data={"id": 1, "csrf_token": token}).status_code == 403
    assert client.post("/admin/complaint_event/action/", data={
        "action": "delete", "rowid": [1], "csrf_token": token}).status_code == 403


def test_callback_list_and_filters(app, org, client, auth):
    """Callbacks show number, method and satisfaction labels; filter by satisfaction works."""
    cid, _ = seed_complaint(app, org, text="Gamma")
    with app.app_context():
        number = db.session.get(Complaint, cid).number
    auth.login("intake")
    html = _html(client, "/admin/callback_record/")
    assert number in html and "Callback Gamma" in html and "Satisfied" in html
    html = _html(client, "/admin/callback_record/",
                 query_string={"flt0_satisfaction_equals": "unsatisfied"})
    assert "Callback Gamma" not in html


def test_scoped_lists_for_head_and_handler(app, org, client, auth):
    """A department head and a handler see callbacks and events of their own complaints only."""
    seed_complaint(app, org, dept="qa", handler="handler_qa", text="Mine")
    seed_complaint(app, org, dept="log", handler="handler_log", text="Theirs",
                   phone="13700137000")
    for user in ("head_qa", "handler_qa"):
        c = app.test_client()
        AuthActions(c).login(user)
        for url in ("/admin/callback_record/", "/admin/complaint_event/"):
            html = _html(c, url)
            assert "Mine" in html and "Theirs" not in html, (user, url)
    other = app.test_client()
    AuthActions(other).login("handler_qa2")
    html = _html(other, "/admin/complaint_event/")
    assert "Mine" not in html and "Theirs" not in html


@pytest.mark.parametrize("role", Role.ALL)
def test_complaint_scope_matches_rules_can_see(app, org, role):
    """The SQL scope of callbacks and events is exactly rules.can_see for every role."""
    with app.app_context():
        staff = {name: db.session.get(Staff, uid) for name, uid in org.users.items()}
        intake = staff["intake"]
        for i, (dept, assignee) in enumerate([
            (None, None), (org.qa, None), (org.qa, "handler_qa"), (org.qa, "handler_qa2"),
            (org.log, "handler_log"), (org.log, "handler_qa"),
        ]):
            c = register({"customer_name": f"C{i}", "customer_phone": f"1380013800{i}",
                          "title": "t", "description": "d"}, intake)
            c.department_id = dept
            c.assignee_id = staff[assignee].id if assignee else None
            db.session.commit()  # before the next register's own write transaction
        actors = [Actor(id=s.id, role=role, department_id=s.department_id)
                  for s in staff.values()] + [Actor(id=999, role=role, department_id=None)]
        rows = db.session.execute(select(Complaint.id, Complaint.department_id,
                                         Complaint.assignee_id,
                                         Complaint.registered_by_id)).all()
        for actor in actors:
            expected = {r.id for r in rows if can_see(actor, r.department_id, r.assignee_id,
                                                      r.registered_by_id)}
            got = set(db.session.scalars(select(Complaint.id).where(scope_clause(actor))))
            assert got == expected, actor


# --- no N+1 --------------------------------------------------------------------------------


def _count_queries(app, client, url):
    with recorded_statements(app) as statements:
        assert client.get(url).status_code == 200
    return sum(1 for s in statements if s.lstrip().upper().startswith("SELECT"))


@pytest.mark.parametrize("url", ["/admin/complaint_event/", "/admin/callback_record/",
                                 "/admin/staff/", "/admin/department/"])
def test_list_query_count_does_not_grow_with_rows(app, org, client, auth, url):
    """A list page runs the same number of SELECTs for 1 complaint's rows as for 4 (no N+1)."""
    seed_complaint(app, org, text="One")
    auth.login("admin")
    client.get(url)  # warm up: login-time queries are not the page's
    few = _count_queries(app, client, url)
    with app.app_context():
        for i in range(3):
            db.session.add(Department(code=f"D{i}", name=f"Dept {i}", active=True,
                                      head_id=org.users[["head_qa", "head_log", "admin"][i]],
                                      parent_id=org.cs))
        db.session.commit()
    for i, (dept, handler) in enumerate([("qa", "handler_qa2"), ("log", "handler_log"),
                                         ("qa", "handler_qa")]):
        seed_complaint(app, org, dept=dept, handler=handler, text=f"More{i}",
                       phone=f"1390013900{i}")
    many = _count_queries(app, client, url)
    assert many == few


def test_event_times_are_shown(app, org, client, auth):
    """An event's time appears in the list as stored (to the minute)."""
    cid, _ = seed_complaint(app, org)
    with app.app_context():
        at = db.session.scalar(select(func.max(ComplaintEvent.at))
                               .where(ComplaintEvent.complaint_id == cid))
    auth.login("manager")
    assert at.strftime("%Y-%m-%d %H:%M") in _html(client, "/admin/complaint_event/")
    assert isinstance(at, datetime)


def test_password_is_never_a_filter_or_search_key(app, org, client, auth):
    """Filtering or searching the staff list by password hash or token finds nothing extra."""
    auth.login("admin")
    pw_hash, token = _secrets(app, "intake")
    html = _html(client, "/admin/staff/", query_string={"search": token[:10]})
    assert ">intake<" not in html
    html = _html(client, "/admin/staff/", query_string={"search": pw_hash[:12]})
    assert ">intake<" not in html
    assert PASSWORD not in html


def _xlsx_cells(response):
    import io

    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(response.get_data()), read_only=True)
    try:
        return [str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True)
                for v in row if v is not None]
    finally:
        book.close()


def test_staff_export_has_no_hash_or_token(app, org, client, auth):
    """The staff list's Excel export holds the accounts but no password hash or token."""
    auth.login("admin")
    pw_hash, token = _secrets(app, "intake")
    with export_file(client, "/admin/staff/export/xlsx/") as r:
        assert r.status_code == 200
        cells = _xlsx_cells(r)
    assert "intake" in cells
    assert not any(pw_hash in c or token in c or "pbkdf2" in c or "scrypt" in c for c in cells)


def test_scoped_exports_of_callbacks_and_events(app, org, client, auth):
    """A department head's export of callbacks and events holds their department's rows only."""
    seed_complaint(app, org, dept="qa", handler="handler_qa", text="Mine")
    seed_complaint(app, org, dept="log", handler="handler_log", text="Theirs",
                   phone="13700137000")
    auth.login("head_qa")
    for url in ("/admin/callback_record/export/xlsx/", "/admin/complaint_event/export/xlsx/"):
        with export_file(client, url) as r:
            assert r.status_code == 200, url
            cells = " ".join(_xlsx_cells(r))
        assert "Mine" in cells and "Theirs" not in cells, url
