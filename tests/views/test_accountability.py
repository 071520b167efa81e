"""Accountability (问责记录): the missed-deadline records, who reads them, a manager's findings,
and the administrator's choice of the accountability department.

Readers: managers, administrators, supervisors, senior management and the staff of the
accountability department (HR by default); everyone else gets 403 on every URL of the
screen. Only a manager (or an administrator) records a finding; the newest one counts.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from complaint_helpers import NOW, flashes, login, make_complaint, text, token
from sqlalchemy import func, select

from models import AccountabilityFinding, AccountabilityRecord, Setting, db
from models.settings import ACCOUNTABILITY_DEPARTMENT
from rules import Clock, Finding, Status
from services import clock
from tests.factories import export_file

URL = "/admin/accountability/"
NUMBER = "TS-20261120-0777"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


@pytest.fixture
def record(app, wide_org):
    """One missed resolve deadline of a QA complaint, handler_qa responsible; its id."""
    org = wide_org
    with app.app_context():
        cid = make_complaint(status=Status.IN_PROGRESS, department_id=org.qa,
                             assignee_id=org.users["handler_qa"], number=NUMBER,
                             escalation_level=1, due_at=NOW - timedelta(hours=3))
        row = AccountabilityRecord(complaint_id=cid, at=NOW - timedelta(hours=2),
                                   clock=Clock.RESOLVE, due_at=NOW - timedelta(hours=3),
                                   status=Status.IN_PROGRESS, department_id=org.qa,
                                   person_id=org.users["handler_qa"], escalation_level=1)
        db.session.add(row)
        db.session.commit()
        return row.id


def _findings(app):
    with app.app_context():
        return db.session.scalars(select(AccountabilityFinding)
                                  .order_by(AccountabilityFinding.id)).all()


READERS = ["manager", "admin", "supervisor", "executive", "head_hr"]
OTHERS = ["head_qa", "handler_qa", "intake", "head_log"]


@pytest.mark.parametrize("user", READERS)
def test_readers_see_the_list_and_the_record(app, wide_org, record, user):
    """Managers, supervisors, senior management and HR (the default accountability
    department) list the record with its clock, department, person and no finding yet."""
    client = login(app, user)
    page = client.get(URL)
    assert page.status_code == 200
    html = text(page)
    for shown in (NUMBER, "Resolve by", "质量管理部", "Handler Qa", "Department head",
                  "Not yet decided"):
        assert shown in html, shown
    details = client.get(f"{URL}details/?id={record}")
    assert details.status_code == 200 and NUMBER in text(details)


@pytest.mark.parametrize("user", OTHERS)
def test_everyone_else_gets_403_on_every_url(app, wide_org, record, user):
    """A QA head or handler (even the person responsible), a clerk: 403 on the list, the
    record, its export, and the finding form; the menu does not offer the screen."""
    client = login(app, user)
    for url in (URL, f"{URL}details/?id={record}", f"{URL}export/xlsx/",
                f"{URL}finding/?id={record}"):
        assert client.get(url).status_code == 403, url
    assert 'href="/admin/accountability/"' not in text(client.get("/admin/"))


def test_the_menu_offers_the_screen_to_its_readers(app, wide_org, record):
    """The manager's and HR's menu link to the screen."""
    for user in ("manager", "head_hr"):
        assert 'href="/admin/accountability/"' in text(login(app, user).get("/admin/")), user


def test_no_create_edit_or_delete(app, wide_org, record):
    """The records are append-only: no create, edit or delete, even for the administrator."""
    client = login(app, "admin")
    csrf = token(client, URL)
    assert client.get(f"{URL}new/").status_code == 403
    assert client.get(f"{URL}edit/?id={record}").status_code == 403
    assert client.post(f"{URL}delete/", data={"id": record, "csrf_token": csrf}).status_code == 403
    assert client.post(f"{URL}action/", data={"action": "delete", "rowid": record,
                                              "csrf_token": csrf}).status_code == 403
    with app.app_context():
        assert db.session.get(AccountabilityRecord, record) is not None


def _post_finding(client, record, **data):
    url = f"{URL}finding/?id={record}"
    form = {"csrf_token": token(client, url), **data}
    return client.post(url, data=form, follow_redirects=True)


def test_manager_records_a_finding_and_the_newest_counts(app, wide_org, record):
    """A manager's finding is saved with who and when; a second one supersedes it in the
    list while both are kept."""
    client = login(app, "manager")
    page = _post_finding(client, record, finding=Finding.RESPONSIBLE, note="未在期限内跟进")
    assert f"Finding recorded for {NUMBER}." in flashes(text(page))
    rows = _findings(app)
    assert [(r.finding, r.note, r.staff_id, r.at) for r in rows] == [
        (Finding.RESPONSIBLE, "未在期限内跟进", wide_org.users["manager"], NOW)]
    assert "Responsible" in text(client.get(URL))

    _post_finding(client, record, finding=Finding.EXCUSED, note="等待客户提供资料")
    assert [r.finding for r in _findings(app)] == [Finding.RESPONSIBLE, Finding.EXCUSED]
    listing = text(client.get(URL))
    assert "等待客户提供资料" in listing and "未在期限内跟进" not in listing
    details = text(client.get(f"{URL}details/?id={record}"))
    assert "等待客户提供资料" in details and "未在期限内跟进" in details


def test_finding_needs_a_note(app, wide_org, record):
    """Without a note the rules' reason is shown and nothing is written."""
    page = _post_finding(login(app, "manager"), record, finding=Finding.EXCUSED, note="  ")
    assert "Please fill in the note." in flashes(text(page))
    assert _findings(app) == []


def test_finding_needs_the_csrf_token(app, wide_org, record):
    """A finding posted without its CSRF token writes nothing."""
    client = login(app, "manager")
    page = client.post(f"{URL}finding/?id={record}",
                       data={"finding": Finding.EXCUSED, "note": "x"})
    assert "CSRF" in flashes(text(page))
    assert _findings(app) == []


@pytest.mark.parametrize("user", ["supervisor", "executive", "head_hr"])
def test_readers_who_are_not_managers_cannot_record_a_finding(app, wide_org, record, user):
    """The supervisor (and the other readers) get 403 on the form and on a post; no button."""
    client = login(app, user)
    url = f"{URL}finding/?id={record}"
    assert client.get(url).status_code == 403
    csrf = token(client, URL)
    response = client.post(url, data={"csrf_token": csrf, "finding": Finding.EXCUSED,
                                      "note": "x"})
    assert response.status_code == 403
    assert _findings(app) == []
    assert "record-finding" not in text(client.get(f"{URL}details/?id={record}"))


def test_finding_on_an_unknown_record_is_not_found(app, wide_org, record):
    """The form of a record that does not exist: 404."""
    assert login(app, "manager").get(f"{URL}finding/?id=99999").status_code == 404


def test_finding_service_refuses_a_supervisor(app, wide_org, record):
    """services.accountability.record_finding asks the rules: a supervisor is refused."""
    from rules import PermissionDenied
    from services.accountability import record_finding

    with app.app_context():
        from models import Staff

        supervisor = db.session.get(Staff, wide_org.users["supervisor"])
        with pytest.raises(PermissionDenied):
            record_finding(record, Finding.EXCUSED, "note", supervisor, now=NOW)
        assert db.session.scalar(select(func.count()).select_from(AccountabilityFinding)) == 0


# --- the accountability department (company settings) -----------------------------------

SETTINGS = "/admin/company_settings/"


def test_admin_moves_the_accountability_department(app, wide_org, record):
    """Choosing QA in the settings: QA's head now reads the records, HR's head no longer."""
    client = login(app, "admin")
    page = client.get(SETTINGS)
    assert page.status_code == 200 and '<option selected value="HR">' in text(page)
    response = client.post(SETTINGS, data={"csrf_token": token(client, SETTINGS),
                                           "accountability_department": "QA"},
                           follow_redirects=True)
    assert "The settings were saved." in flashes(text(response))
    with app.app_context():
        assert db.session.get(Setting, ACCOUNTABILITY_DEPARTMENT).value == "QA"
    assert login(app, "head_qa").get(URL).status_code == 200
    assert login(app, "head_hr").get(URL).status_code == 403


def test_settings_refuse_an_unknown_department_code(app, wide_org):
    """A code that is no active department is refused by the rules; nothing saved."""
    client = login(app, "admin")
    response = client.post(SETTINGS, data={"csrf_token": token(client, SETTINGS),
                                           "accountability_department": "OLD"},
                           follow_redirects=True)
    assert "not one of the allowed values" in flashes(text(response))
    with app.app_context():
        assert db.session.get(Setting, ACCOUNTABILITY_DEPARTMENT) is None


@pytest.mark.parametrize("user", ["manager", "supervisor", "executive", "head_hr", "intake"])
def test_settings_are_the_administrators_only(app, wide_org, user):
    """Everyone but the administrator gets 403 on the settings page, GET and POST."""
    client = login(app, user)
    assert client.get(SETTINGS).status_code == 403
    csrf = token(client, "/admin/complaint/")
    assert client.post(SETTINGS, data={"csrf_token": csrf,
                                       "accountability_department": "QA"}).status_code == 403
    with app.app_context():
        assert db.session.get(Setting, ACCOUNTABILITY_DEPARTMENT) is None


def test_accountability_screen_in_chinese(app, wide_org, record):
    """A zh-CN browser reads the screen's labels in Chinese."""
    html = text(login(app, "manager").get(URL, headers={"Accept-Language": "zh-CN"}))
    for shown in ("问责记录", "办结期限", "尚未认定"):
        assert shown in html, shown


def test_export_of_the_records(app, wide_org, record):
    """The list exports to Excel with the complaint number, the clock and the finding."""
    import io

    from openpyxl import load_workbook

    client = login(app, "manager")
    _post_finding(client, record, finding=Finding.RESPONSIBLE, note="未跟进")
    response = export_file(client, f"{URL}export/xlsx/")
    assert response.status_code == 200
    data = response.data
    response.close()  # the streamed temporary file
    sheet = load_workbook(io.BytesIO(data)).active
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    for shown in (NUMBER, "Resolve by", "质量管理部", "Handler Qa", "Responsible: 未跟进"):
        assert shown in cells, shown


def test_settings_need_the_csrf_token(app, wide_org):
    """A settings post without its CSRF token is refused with the reason; nothing saved."""
    client = login(app, "admin")
    page = client.post(SETTINGS, data={"accountability_department": "QA"})
    assert "CSRF" in flashes(text(page))
    with app.app_context():
        assert db.session.get(Setting, ACCOUNTABILITY_DEPARTMENT) is None
