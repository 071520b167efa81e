"""The administrative record (AdminEvent): every change made through the configuration
screens leaves exactly one event with the right action, target and detail, in the same
transaction as the change, never with a password or a hash; only the administrator reads it."""

from __future__ import annotations

import io
from datetime import date, datetime

import openpyxl
import pytest
from sqlalchemy import func, select

from models import AdminEvent, CalendarDay, Category, Department, SlaPolicy, Staff, db
from rules import admin_events as E
from services import admin_events as recorder
from services.auth import create_user
from tests.factories import PASSWORD, AuthActions, csrf_token, export_file

NEW_PASSWORD = "Brand-new-secret-42"


# --- helpers ---------------------------------------------------------------------------------


def _events(app):
    with app.app_context():
        rows = db.session.scalars(select(AdminEvent).order_by(AdminEvent.id)).all()
        out = [{"action": e.action, "actor_id": e.actor_id, "target": (e.target_type,
                e.target_id, e.target_label), "detail": e.detail, "ip": e.ip, "at": e.at}
               for e in rows]
        db.session.remove()
    return out


def _post(client, url, data):
    return client.post(url, data=dict(data, csrf_token=csrf_token(client, url)))


def _only_new_event(app, before, action=None):
    """The one event written since ``before`` (a list from _events)."""
    events = _events(app)[len(before):]
    assert len(events) == 1, events
    if action is not None:
        assert events[0]["action"] == action, events[0]
    return events[0]


def _no_secret_anywhere(app, *secrets):
    with app.app_context():
        hashes = [h for (h,) in db.session.execute(select(Staff.password_hash))]
        tokens = [t for (t,) in db.session.execute(select(Staff.session_token))]
    for event in _events(app):
        text = " ".join(str(v) for v in event.values())
        for secret in (*secrets, PASSWORD, *hashes, *tokens, "pbkdf2", "scrypt"):
            assert secret not in text, (secret, event)


def _staff_form(app, uid, **changes):
    with app.app_context():
        s = db.session.get(Staff, uid)
        data = {"username": s.username, "full_name": s.full_name, "email": s.email or "",
                "phone": s.phone or "", "department": str(s.department_id or "__None"),
                "role": s.role, "locale": s.locale or ""}
        if s.active:
            data["active"] = "y"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def admin(app, org, client, auth):
    auth.login("admin")
    return org.users["admin"]


# --- staff -----------------------------------------------------------------------------------


def test_staff_created(app, org, client, admin):
    before = _events(app)
    r = _post(client, "/admin/staff/new/", {
        "username": "newbie", "full_name": "New Bie", "role": "handler",
        "department": str(org.qa), "active": "y", "locale": ""})
    assert r.status_code == 302
    event = _only_new_event(app, before, E.STAFF_CREATED)
    with app.app_context():
        uid = db.session.scalar(select(Staff.id).filter_by(username="newbie"))
    assert event["actor_id"] == admin
    assert event["target"] == ("staff", uid, "newbie (New Bie)")
    for part in ("username: newbie", "full_name: New Bie", "role: handler",
                 "department: 质量管理部", "active: yes"):
        assert part in event["detail"], event["detail"]
    assert event["ip"] == "127.0.0.1"
    _no_secret_anywhere(app)


@pytest.mark.parametrize("changes, action, detail", [
    ({"full_name": "Edited Name"}, E.STAFF_CHANGED, "full_name: Handler Log → Edited Name"),
    ({"email": "hl@example.com"}, E.STAFF_CHANGED, "email: ∅ → hl@example.com"),
    ({"department": "QA"}, E.STAFF_CHANGED, "department: 物流部 → 质量管理部"),
    ({"role": "dept_head"}, E.ROLE_CHANGED, "role: handler → dept_head"),
    ({"active": None}, E.STAFF_DEACTIVATED, "active: yes → no"),
])
def test_staff_changed(app, org, client, admin, changes, action, detail):
    """One kind of change, one event with its own action and the field's old and new value."""
    uid = org.users["handler_log"]
    if changes.get("department") == "QA":
        changes = {"department": str(org.qa)}
    data = _staff_form(app, uid)
    data.update(changes)
    data = {k: v for k, v in data.items() if v is not None}
    before = _events(app)
    assert _post(client, f"/admin/staff/edit/?id={uid}", data).status_code == 302
    event = _only_new_event(app, before, action)
    assert event["target"] == ("staff", uid, f"handler_log ({data['full_name']})")
    assert event["detail"] == detail
    assert event["actor_id"] == admin
    _no_secret_anywhere(app)


def test_staff_activated_again(app, org, client, admin):
    uid = org.users["handler_log"]
    with app.app_context():
        db.session.get(Staff, uid).active = False
        db.session.commit()
    before = _events(app)
    data = _staff_form(app, uid, active="y")
    assert _post(client, f"/admin/staff/edit/?id={uid}", data).status_code == 302
    event = _only_new_event(app, before, E.STAFF_ACTIVATED)
    assert event["detail"] == "active: no → yes"


def test_staff_edit_of_several_kinds_writes_one_event_per_kind(app, org, client, admin):
    """Role, activation and a plain field changed at once: three events, each its own part."""
    uid = org.users["handler_log"]
    data = _staff_form(app, uid, role="dept_head", active=None, full_name="Renamed")
    data = {k: v for k, v in data.items() if v is not None}
    before = _events(app)
    assert _post(client, f"/admin/staff/edit/?id={uid}", data).status_code == 302
    events = _events(app)[len(before):]
    assert [(e["action"], e["detail"]) for e in events] == [
        (E.STAFF_DEACTIVATED, "active: yes → no"),
        (E.ROLE_CHANGED, "role: handler → dept_head"),
        (E.STAFF_CHANGED, "full_name: Handler Log → Renamed"),
    ]


def test_saving_an_unchanged_account_writes_nothing(app, org, client, admin):
    uid = org.users["handler_log"]
    before = _events(app)
    assert _post(client, f"/admin/staff/edit/?id={uid}", _staff_form(app, uid)).status_code \
        == 302
    assert _events(app) == before


def test_refused_staff_edit_writes_nothing(app, org, client, admin):
    """A form the validation refuses changes nothing and records nothing."""
    uid = org.users["handler_log"]
    before = _events(app)
    r = _post(client, f"/admin/staff/edit/?id={uid}", _staff_form(app, uid, role="overlord"))
    assert r.status_code == 200
    assert _events(app) == before


def test_password_reset_is_recorded_without_the_password(app, org, client, admin):
    uid = org.users["handler_log"]
    before = _events(app)
    url = f"/admin/staff/password/?id={uid}"
    r = _post(client, url, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert r.status_code == 302
    event = _only_new_event(app, before, E.PASSWORD_RESET)
    assert event["target"] == ("staff", uid, "handler_log (Handler Log)")
    assert event["detail"] == "password: changed"
    assert event["actor_id"] == admin
    _no_secret_anywhere(app, NEW_PASSWORD)
    # the password really is the new one
    other = app.test_client()
    AuthActions(other).login("handler_log", NEW_PASSWORD)
    assert other.get("/admin/").status_code == 200


def test_refused_password_reset_writes_nothing(app, org, client, admin):
    uid = org.users["handler_log"]
    before = _events(app)
    r = _post(client, f"/admin/staff/password/?id={uid}", {"password": "short",
                                                          "confirm": "short"})
    assert r.status_code == 200
    assert _events(app) == before
    _no_secret_anywhere(app, "short")


# --- departments, SLA policies, calendar, categories -----------------------------------------


def test_department_created_and_changed(app, org, client, admin):
    before = _events(app)
    r = _post(client, "/admin/department/new/", {"code": "FIN", "name": "财务部", "active": "y",
                                                  "head": str(org.users["head_qa"])})
    assert r.status_code == 302
    event = _only_new_event(app, before, E.DEPARTMENT_CREATED)
    with app.app_context():
        fin = db.session.scalar(select(Department.id).filter_by(code="FIN"))
    assert event["target"] == ("department", fin, "FIN 财务部")
    assert "code: FIN" in event["detail"] and "head: Head Qa" in event["detail"]

    before = _events(app)
    r = _post(client, f"/admin/department/edit/?id={fin}", {
        "code": "FIN", "name": "财务部", "head": str(org.users["head_log"]),
        "parent": str(org.cs)})  # active unticked: retired
    assert r.status_code == 302
    event = _only_new_event(app, before, E.DEPARTMENT_CHANGED)
    assert event["detail"] == ("parent: ∅ → 客户服务部; head: Head Qa → Head Log; "
                               "active: yes → no")


SLA_FORM = {"name": "Critical billing", "kind": "", "category_code": "billing",
            "severity": "critical", "accept_hours": "4", "resolve_days": "2",
            "callback_days": "1", "callbacks_required": "2", "active": "y"}


def test_sla_policy_created_changed_and_deleted(app, org, client, admin):
    before = _events(app)
    assert _post(client, "/admin/sla_policy/new/", SLA_FORM).status_code == 302
    event = _only_new_event(app, before, E.SLA_POLICY_CREATED)
    with app.app_context():
        pid = db.session.scalar(select(SlaPolicy.id).filter_by(name="Critical billing"))
    assert event["target"] == ("sla_policy", pid, "Critical billing")
    assert "accept_hours: 4" in event["detail"] and "kind: ∅" in event["detail"]

    before = _events(app)
    changed = dict(SLA_FORM, accept_hours="6", kind="complaint")
    assert _post(client, f"/admin/sla_policy/edit/?id={pid}", changed).status_code == 302
    event = _only_new_event(app, before, E.SLA_POLICY_CHANGED)
    assert event["detail"] == "kind: ∅ → complaint; accept_hours: 4 → 6"

    # "Any" saved again (an empty choice, stored as NULL) is no change
    before = _events(app)
    assert _post(client, f"/admin/sla_policy/edit/?id={pid}", changed).status_code == 302
    assert _events(app) == before

    before = _events(app)
    r = client.post("/admin/sla_policy/delete/",
                    data={"id": pid, "csrf_token": csrf_token(client, "/admin/sla_policy/")})
    assert r.status_code == 302
    event = _only_new_event(app, before, E.SLA_POLICY_DELETED)
    assert event["target"] == ("sla_policy", pid, "Critical billing")
    assert "accept_hours: 6" in event["detail"]
    with app.app_context():
        assert db.session.get(SlaPolicy, pid) is None


def test_calendar_day_created_changed_and_deleted(app, org, client, admin):
    before = _events(app)
    r = _post(client, "/admin/calendar_day/new/",
              {"day": "2027-03-08", "note": "Company day", "is_working_day": ""})
    assert r.status_code == 302
    event = _only_new_event(app, before, E.CALENDAR_DAY_CREATED)
    with app.app_context():
        did = db.session.scalar(select(CalendarDay.id).filter_by(day=date(2027, 3, 8)))
    assert event["target"] == ("calendar_day", did, "2027-03-08")
    assert event["detail"] == "day: 2027-03-08; is_working_day: no; note: Company day"

    before = _events(app)
    r = _post(client, f"/admin/calendar_day/edit/?id={did}",
              {"day": "2027-03-08", "note": "Make-up day", "is_working_day": "y"})
    assert r.status_code == 302
    event = _only_new_event(app, before, E.CALENDAR_DAY_CHANGED)
    assert event["detail"] == "is_working_day: no → yes; note: Company day → Make-up day"

    before = _events(app)
    r = client.post("/admin/calendar_day/delete/",
                    data={"id": did, "csrf_token": csrf_token(client, "/admin/calendar_day/")})
    assert r.status_code == 302
    event = _only_new_event(app, before, E.CALENDAR_DAY_DELETED)
    assert event["target"] == ("calendar_day", did, "2027-03-08")
    with app.app_context():
        assert db.session.get(CalendarDay, did) is None


def test_calendar_days_deleted_in_bulk_each_leave_an_event(app, org, client, admin):
    with app.app_context():
        days = [CalendarDay(day=date(2030, 5, 6 + i), is_working_day=True) for i in range(2)]
        db.session.add_all(days)
        db.session.commit()
        ids = [d.id for d in days]
    before = _events(app)
    r = client.post("/admin/calendar_day/action/", data={
        "action": "delete", "rowid": [str(i) for i in ids],
        "csrf_token": csrf_token(client, "/admin/calendar_day/")})
    assert r.status_code == 302
    events = _events(app)[len(before):]
    assert sorted((e["action"], e["target"][1]) for e in events) == [
        (E.CALENDAR_DAY_DELETED, i) for i in ids]


def test_category_created_changed_and_edited_inline(app, org, client, admin):
    before = _events(app)
    r = _post(client, "/admin/category/new/", {"code": "newc", "name": "新类别",
                                                "name_en": "New", "sort_order": "9",
                                                "active": "y"})
    assert r.status_code == 302
    event = _only_new_event(app, before, E.CATEGORY_CREATED)
    with app.app_context():
        cid = db.session.scalar(select(Category.id).filter_by(code="newc"))
    assert event["target"] == ("category", cid, "newc 新类别")

    before = _events(app)
    r = _post(client, f"/admin/category/edit/?id={cid}", {
        "code": "newc", "name": "新类别", "name_en": "Newer", "sort_order": "9"})
    assert r.status_code == 302
    event = _only_new_event(app, before, E.CATEGORY_CHANGED)
    assert event["detail"] == "name_en: New → Newer; active: yes → no"

    before = _events(app)
    r = client.post("/admin/category/ajax/update/", data={
        "list_form_pk": cid, "sort_order": "42",
        "csrf_token": csrf_token(client, "/admin/category/")})
    assert r.status_code == 200
    event = _only_new_event(app, before, E.CATEGORY_CHANGED)
    assert event["detail"] == "sort_order: 9 → 42"


# --- settings and exports ----------------------------------------------------------------------


def test_setting_changed(app, org, client, admin):
    before = _events(app)
    url = "/admin/company_settings/"
    assert _post(client, url, {"accountability_department": "QA"}).status_code == 302
    event = _only_new_event(app, before, E.SETTING_CHANGED)
    assert event["target"] == ("setting", None, "accountability_department")
    assert event["detail"] == "accountability_department: HR → QA"
    assert event["actor_id"] == admin
    # saved again unchanged: nothing new
    before = _events(app)
    assert _post(client, url, {"accountability_department": "QA"}).status_code == 302
    assert _events(app) == before


def test_refused_setting_writes_nothing(app, org, client, admin):
    """An unknown (or inactive) department is refused: no change, no event."""
    before = _events(app)
    r = _post(client, "/admin/company_settings/", {"accountability_department": "OLD"})
    assert r.status_code == 200
    assert _events(app) == before


def test_export_is_recorded(app, org, client, admin):
    from models import ExportLog

    before = _events(app)
    with export_file(client, "/admin/staff/export/xlsx/") as r:
        assert r.status_code == 200
    event = _only_new_event(app, before, E.EXPORT)
    with app.app_context():
        log = db.session.scalars(select(ExportLog)).one()
        assert event["target"] == ("export_log", log.id, "staff")
        assert event["at"] == log.at
    assert f"rows: {len(org.users)}" in event["detail"] and "screen: staff" in event["detail"]
    assert event["actor_id"] == admin


# --- the service -------------------------------------------------------------------------------


def test_record_is_committed_or_rolled_back_with_the_callers_transaction(app, org):
    from models.engine import write_transaction

    with app.app_context():
        with pytest.raises(RuntimeError), write_transaction(db.session):
            recorder.record(E.SETTING_CHANGED, actor_id=org.users["admin"], detail="lost")
            raise RuntimeError("the change failed")
        assert db.session.scalar(select(func.count()).select_from(AdminEvent)) == 0
        with write_transaction(db.session):
            recorder.record(E.SETTING_CHANGED, actor_id=org.users["admin"], detail="kept",
                            now=datetime(2026, 11, 23, 9, 0))
        row = db.session.scalars(select(AdminEvent)).one()
        assert (row.detail, row.at, row.ip) == ("kept", datetime(2026, 11, 23, 9, 0), None)


def test_record_now_writes_a_security_event_on_its_own(app, org):
    """record_now commits at once (a failed login has no other transaction to join); the
    visitor is anonymous, the address given."""
    with app.test_request_context("/login", method="POST",
                                  environ_base={"REMOTE_ADDR": "203.0.113.9"}):
        event = recorder.record_now(E.LOGIN_FAILED, target=("staff", None, "nobody"),
                                    detail="unknown user name")
        db.session.rollback()  # nothing pending: the event was already committed
        row = db.session.get(AdminEvent, event.id)
        assert (row.action, row.actor_id, row.target_label, row.ip) == (
            E.LOGIN_FAILED, None, "nobody", "203.0.113.9")
        recorder.record_now(E.LOGIN_LOCKED, actor_id=org.users["intake"], ip="198.51.100.7")
        assert db.session.scalars(select(AdminEvent.ip).order_by(AdminEvent.id)).all() == [
            "203.0.113.9", "198.51.100.7"]


def test_describe_changes_never_shows_a_secret():
    assert E.describe_changes({"password_hash": ("old", "new"), "role": ("a", "b")}) == \
        "password_hash: changed; role: a → b"
    assert E.describe_values({"password": "x", "username": "u"}) == "username: u"
    assert E.describe_changes({"note": ("a\nb", "a\nb")}) == ""


# --- the screen --------------------------------------------------------------------------------


@pytest.fixture
def some_events(app, org):
    with app.app_context():
        recorder.record_now(E.ROLE_CHANGED, actor_id=org.users["admin"],
                            target=("staff", org.users["intake"], "intake (Intake)"),
                            detail="role: intake → manager", now=datetime(2026, 11, 20, 9, 0))
        recorder.record_now(E.LOGIN_FAILED, target=("staff", None, "mallory"),
                            detail="unknown user name", ip="203.0.113.9",
                            now=datetime(2026, 11, 23, 9, 0))


@pytest.mark.parametrize("username", ["intake", "manager", "supervisor", "head_qa",
                                      "handler_qa", "executive"])
def test_other_roles_are_refused(app, org, client, some_events, username):
    if username == "executive":
        with app.app_context():
            create_user("executive", "Executive", "executive", PASSWORD, department_id=org.cs)
    AuthActions(client).login(username)
    with app.app_context():
        eid = db.session.scalar(select(func.min(AdminEvent.id)))
    for url in ("/admin/admin_event/", f"/admin/admin_event/details/?id={eid}",
                "/admin/admin_event/export/xlsx/"):
        assert client.get(url).status_code == 403, url
    assert "/admin/admin_event/" not in client.get("/admin/").get_data(as_text=True)


def test_anonymous_is_sent_to_login(app, org, client, some_events):
    r = client.get("/admin/admin_event/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_admin_reads_lists_filters_and_exports(app, org, client, admin, some_events):
    html = client.get("/admin/admin_event/").get_data(as_text=True)
    assert "/admin/admin_event/" in client.get("/admin/").get_data(as_text=True)
    assert "Role changed" in html and "Login failed" in html
    assert "role: intake → manager" in html and "203.0.113.9" in html
    assert html.index("mallory") < html.index("intake (Intake)")  # newest first
    html = client.get("/admin/admin_event/",
                      query_string={"flt0_action_equals": E.ROLE_CHANGED}).get_data(as_text=True)
    assert "intake (Intake)" in html and "mallory" not in html
    html = client.get("/admin/admin_event/", query_string={
        "flt0_time_between": "2026-11-22 00:00:00 to 2026-11-24 00:00:00"}).get_data(as_text=True)
    assert "mallory" in html and "intake (Intake)" not in html
    html = client.get("/admin/admin_event/", query_string={
        "flt0_security_events_show": "1"}).get_data(as_text=True)
    assert "mallory" in html and "intake (Intake)" not in html
    with app.app_context():
        eid = db.session.scalar(select(AdminEvent.id).filter_by(action=E.ROLE_CHANGED))
    html = client.get(f"/admin/admin_event/details/?id={eid}").get_data(as_text=True)
    assert "role: intake → manager" in html
    with export_file(client, "/admin/admin_event/export/xlsx/") as r:
        assert r.status_code == 200
        book = openpyxl.load_workbook(io.BytesIO(r.get_data()), read_only=True)
        cells = [str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True)
                 for v in row if v is not None]
        book.close()
    assert "Role changed" in cells and "mallory" in cells and "role_changed" not in cells


def test_labels_are_translated(app, org, client, admin, some_events):
    html = client.get("/admin/admin_event/", headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True)
    assert "Role changed" not in html and "Login failed" not in html
    assert "角色已变更" in html and "登录失败" in html and "管理操作记录" in html


def test_the_screen_has_no_create_edit_or_delete(app, org, client, admin, some_events):
    with app.app_context():
        eid = db.session.scalar(select(func.min(AdminEvent.id)))
        n = db.session.scalar(select(func.count()).select_from(AdminEvent))
    assert client.get("/admin/admin_event/new/").status_code == 403
    assert client.get(f"/admin/admin_event/edit/?id={eid}").status_code == 403
    token = csrf_token(client, "/admin/admin_event/")
    assert client.post("/admin/admin_event/delete/",
                       data={"id": eid, "csrf_token": token}).status_code == 403
    assert client.post("/admin/admin_event/action/", data={
        "action": "delete", "rowid": [str(eid)], "csrf_token": token}).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AdminEvent)) == n


def test_every_action_has_a_label():
    from admin_views.admin_events import ACTION, TARGET

    assert set(ACTION) == set(E.ALL)
    assert set(E.SECURITY) <= set(E.ALL)
    assert set(TARGET) == {v for k, v in vars(E).items() if k.startswith("TARGET_")}
