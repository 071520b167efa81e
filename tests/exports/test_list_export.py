"""List exports of the generic screens (departments, staff, callbacks, audit trail):
access, the secrets never exported, injection, audit record, the row limit, the title line."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import select

from models import Department, ExportLog, Staff, db
from tests.exports.conftest import (
    add_callback,
    add_event,
    column,
    download,
    make_complaint,
    read_xlsx,
    sheet_xml,
    table,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LIST_SCREENS = ["complaint", "callback_record", "complaint_event", "department", "staff",
                "sla_policy", "calendar_day", "category"]


@pytest.mark.parametrize("endpoint", LIST_SCREENS)
def test_anonymous_export_goes_to_login(client, org, endpoint):
    """An anonymous request for any list export is redirected to the login page."""
    status, _body, headers = download(client, f"/admin/{endpoint}/export/xlsx/")
    assert status == 302
    assert "/login" in headers["Location"]


@pytest.mark.parametrize("username,endpoint", [
    ("handler_qa", "staff"), ("supervisor", "staff"), ("head_qa", "department"),
    ("handler_qa", "sla_policy"), ("intake", "sla_policy"),
])
def test_export_refused_to_roles_without_read_access(client, auth, org, username, endpoint):
    """A role that may not open a list may not export it either (403), and nothing is logged."""
    auth.login(username)
    status, _body, _headers = download(client, f"/admin/{endpoint}/export/xlsx/")
    assert status == 403
    with client.application.app_context():
        assert db.session.scalar(select(ExportLog.id)) is None


@pytest.mark.parametrize("endpoint", LIST_SCREENS)
def test_every_list_screen_exports_xlsx(client, auth, org, endpoint):
    """Every list screen has the "Export to Excel" button; its export is an .xlsx file."""
    auth.login("admin")
    page = client.get(f"/admin/{endpoint}/?search=x").get_data(as_text=True)
    assert "Export to Excel" in page
    assert f"/admin/{endpoint}/export/xlsx/?search=x" in page
    status, body, headers = download(client, f"/admin/{endpoint}/export/xlsx/")
    assert status == 200
    assert headers["Content-Type"] == XLSX
    assert "attachment" in headers["Content-Disposition"]
    title = read_xlsx(body)["A1"].value
    assert "exported by Admin (admin)" in title


def test_staff_export_never_holds_password_hash_or_session_token(client, auth, org, app):
    """The staff export leaves out the password hash and the session token, values included."""
    with app.app_context():
        secrets = [v for row in db.session.execute(
            select(Staff.password_hash, Staff.session_token)) for v in row]
    auth.login("admin")
    status, body, _headers = download(client, "/admin/staff/export/xlsx/")
    assert status == 200
    headers, rows = table(read_xlsx(body))
    assert len(rows) == len(org.users)
    text = " ".join(str(h) for h in headers).lower()
    assert "password" not in text and "token" not in text
    xml = sheet_xml(body)
    assert all(secret not in xml for secret in secrets)


def test_department_export_follows_filter_search_and_sort(client, auth, org, app):
    """The file holds exactly the list's rows for the URL's filter, search and sort, in order."""
    with app.app_context():
        for code, name, active in (("QA2", "质量二部", True), ("QA3", "质量三部", False),
                                   ("QB", "采购部", True)):
            db.session.add(Department(code=code, name=name, active=active))
        db.session.commit()
    auth.login("admin")
    # search "QA": codes QA, QA2, QA3; filter active = yes drops QA3; sort by code descending.
    url = "/admin/department/export/xlsx/?search=QA&flt0_active_equals=1&sort=0&desc=1"
    status, body, _ = download(client, url)
    assert status == 200
    sheet = read_xlsx(body)
    assert column(sheet, "Code") == ["QA2", "QA"]
    assert column(sheet, "Active") == ["Yes", "Yes"]
    title = sheet["A1"].value
    assert "search: QA" in title
    assert "Active equals" in title
    assert "sorted by Code descending" in title


def test_formula_and_link_text_is_stored_as_text(client, auth, org, app):
    """Text starting with = + - @ http:// mailto: external: stays text: no <f>, no hyperlink."""
    payloads = ['=HYPERLINK("http://evil.example/x","click")', "+1+2", "-3+4", "@SUM(A1:A2)",
                "http://evil.example/", "mailto:boss@example.com", "external:foo"]
    with app.app_context():
        for i, text in enumerate(payloads):
            db.session.add(Department(code=f"X{i}", name=text, active=True))
        db.session.commit()
    auth.login("admin")
    status, body, _ = download(client, "/admin/department/export/xlsx/?search=X&sort=0")
    assert status == 200
    assert column(read_xlsx(body), "Name") == payloads
    xml = sheet_xml(body)
    assert re.search(r"<f[ >]", xml) is None
    assert "<hyperlink" not in xml


def test_export_writes_an_audit_record(client, auth, org, app):
    """Each export leaves an ExportLog row: who, which screen, which filters, how many rows."""
    auth.login("admin")
    status, _body, _ = download(client, "/admin/department/export/xlsx/?flt0_active_equals=1")
    assert status == 200
    with app.app_context():
        log = db.session.scalars(select(ExportLog)).one()
        assert log.staff_id == org.users["admin"]
        assert log.screen == "department"
        assert log.row_count == 3  # CS, QA, LOG (OLD is inactive)
        assert log.truncated is False
        assert '"flt0_active_equals": "1"' in log.filters


def test_too_many_rows_are_refused_not_cut(client, auth, org, app):
    """Above EXPORT_MAX_ROWS the export is refused with the row count; no file, no log."""
    app.config["EXPORT_MAX_ROWS"] = 3
    auth.login("admin")
    status, _body, headers = download(client, "/admin/staff/export/xlsx/?sort=0")
    assert status == 302
    assert "/admin/staff/" in headers["Location"]
    page = client.get(headers["Location"]).get_data(as_text=True)
    assert "9 rows match this list, more than the 3 one export may hold" in page
    with app.app_context():
        assert db.session.scalar(select(ExportLog.id)) is None
    app.config["EXPORT_MAX_ROWS"] = 9  # exactly the limit: exported in full
    status, body, _ = download(client, "/admin/staff/export/xlsx/")
    assert status == 200
    assert len(table(read_xlsx(body))[1]) == 9


def test_callback_export_types_and_translated_values(client, auth, org, app):
    """Callback times are real datetimes, methods and satisfaction translated labels."""
    with app.app_context():
        c = make_complaint(1, department_id=org.qa)
        add_callback(c, datetime(2026, 11, 5, 10, 30), "very_satisfied")
        db.session.commit()
    auth.login("supervisor")
    status, body, _ = download(client, "/admin/callback_record/export/xlsx/")
    assert status == 200
    sheet = read_xlsx(body)
    assert column(sheet, "Time") == [datetime(2026, 11, 5, 10, 30)]
    assert column(sheet, "Method") == ["Phone"]
    assert column(sheet, "Satisfaction") == ["Very satisfied"]
    assert column(sheet, "Complaint") == ["TS-20261102-0001"]


def test_audit_trail_export_is_scoped_for_a_department_head(client, auth, org, app):
    """A department head's audit-trail export holds only events of their department."""
    with app.app_context():
        qa = make_complaint(1, department_id=org.qa)
        log = make_complaint(2, department_id=org.log)
        add_event(qa, "urge", datetime(2026, 11, 3, 9), note="qa")
        add_event(log, "urge", datetime(2026, 11, 3, 10), note="log")
        db.session.commit()
    auth.login("head_qa")
    status, body, _ = download(client, "/admin/complaint_event/export/xlsx/")
    assert status == 200
    assert column(read_xlsx(body), "Note") == ["qa"]


def test_export_header_is_frozen_with_autofilter(client, auth, org):
    """The header row is frozen under the title line and carries an autofilter."""
    auth.login("admin")
    status, body, _ = download(client, "/admin/department/export/xlsx/")
    assert status == 200
    sheet = read_xlsx(body)
    assert sheet.freeze_panes == "A4"
    assert sheet.auto_filter.ref == "A3:G7"  # 7 columns; header + CS, QA, LOG, OLD
    assert all(sheet.column_dimensions[c].width >= 6 for c in "ABCDEF")
