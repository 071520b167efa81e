"""The Reports screen's period workbook (issue 12): a quarter, a half-year or a free range
through HTTP, the per-person sheet only for those who read accountability (the
per-person-only download refused to heads and handlers), the form, a bad period."""

from __future__ import annotations

import io

import openpyxl
import pytest
from sqlalchemy import select

from models import ExportLog, db
from tests.exports.conftest import download
from tests.services.test_period_reports import rows, seed, table

QUARTER = "/admin/reports/period/?kind=quarter&value=2026Q4"
RANGE = "/admin/reports/period/?kind=range&from=2026-10-01&to=2026-11-15"
PEOPLE = "/admin/reports/people/?kind=quarter&value=2026Q4"


@pytest.fixture
def seeded(app, org):
    with app.app_context():
        seed(org)
    return org


def _get(client, auth, username, url):
    auth.login(username)
    status, body, headers = download(client, url)
    assert status == 200, (status, headers.get("Location"))
    return openpyxl.load_workbook(io.BytesIO(body)), headers


def test_manager_downloads_the_quarter_with_every_sheet(client, auth, seeded, app):
    wb, headers = _get(client, auth, "manager", QUARTER)
    assert "period-report-2026Q4.xlsx" in headers["Content-Disposition"]
    assert table(wb["Summary"])["Received in the period"] == [5, 2, 3]
    assert table(wb["Per person"])["Handler Qa"][1:4] == [3, 1, pytest.approx(1 / 3)]
    assert len(rows(wb["Assisting parts"])) == 3
    assert len(rows(wb["Corrective actions"])) == 2
    with app.app_context():
        log = db.session.scalars(select(ExportLog)).one()
        assert log.screen == "period_report" and '"period": "2026Q4"' in log.filters


def test_manager_downloads_a_free_range_for_one_department(client, auth, seeded):
    wb, headers = _get(client, auth, "manager", RANGE + "&department=QA")
    assert "period-report-2026-10-01_2026-11-15-QA.xlsx" in headers["Content-Disposition"]
    # QA received C1 C2 C7 in the range, C6 in the 46 days before
    assert table(wb["Summary"])["Received in the period"] == [3, 1, 2]
    assert list(table(wb["Per person"])) == ["Handler Qa", "Handler Qa2", "Total"]


def test_half_year_through_the_screen(client, auth, seeded):
    wb, _ = _get(client, auth, "supervisor", "/admin/reports/period/?kind=half&value=2026H2")
    assert table(wb["Summary"])["Received in the period"] == [7, 0, 7]
    assert "Per person" in wb.sheetnames


def test_head_gets_their_department_without_the_per_person_sheet(client, auth, seeded):
    wb, _ = _get(client, auth, "head_qa", QUARTER + "&department=LOG")
    assert "Per person" not in wb.sheetnames
    assert table(wb["Summary"])["Received in the period"][0] == 4  # QA's, not LOG's
    assert [r[0] for r in rows(wb["Corrective actions"])] == ["CA-2026-0001"]
    assert download(client, PEOPLE)[0] == 403


@pytest.mark.parametrize("username", ["handler_qa", "handler_log"])
def test_handlers_get_no_workbook_and_no_per_person_figures(client, auth, seeded, username):
    auth.login(username)
    for url in (QUARTER, RANGE, PEOPLE):
        assert download(client, url)[0] == 403, url


def test_clerk_gets_no_per_person_figures(client, auth, seeded):
    wb, _ = _get(client, auth, "intake", QUARTER)
    assert "Per person" not in wb.sheetnames and "Corrective actions" not in wb.sheetnames
    assert download(client, PEOPLE)[0] == 403


def test_per_person_only_download(client, auth, seeded, app):
    wb, headers = _get(client, auth, "manager", PEOPLE)
    assert wb.sheetnames == ["Per person"]
    assert "per-person-2026Q4.xlsx" in headers["Content-Disposition"]
    with app.app_context():
        assert db.session.scalars(select(ExportLog.screen)).one() == "per_person_report"


def test_anonymous_goes_to_login(client, org):
    for url in (QUARTER, PEOPLE):
        status, _body, headers = download(client, url)
        assert status == 302 and "/login" in headers["Location"]


@pytest.mark.parametrize("query", ["kind=quarter&value=2026Q5", "kind=half&value=H2",
                                   "kind=range&from=2026-11-15&to=2026-10-01",
                                   "kind=range&from=2020-01-01&to=2026-01-01",
                                   "kind=year&value=2026", "kind=quarter&value=9999Q1", ""])
def test_a_wrong_period_is_refused_in_words(client, auth, org, query):
    auth.login("manager")
    status, _body, headers = download(client, f"/admin/reports/period/?{query}")
    assert status == 302
    page = client.get(headers["Location"]).get_data(as_text=True)
    assert "Please choose a period between 2000 and 2100" in page


def test_the_form_offers_the_periods_and_the_per_person_button(client, auth, org):
    auth.login("manager")
    html = client.get("/admin/reports/").get_data(as_text=True)
    assert 'action="/admin/reports/period/"' in html
    for value in ("month", "quarter", "half", "range"):
        assert f'<option value="{value}"' in html
    assert 'name="from"' in html and 'name="to"' in html
    assert 'formaction="/admin/reports/people/"' in html
    auth.logout()
    auth.login("head_qa")
    html = client.get("/admin/reports/").get_data(as_text=True)
    assert 'action="/admin/reports/period/"' in html
    assert "/admin/reports/people/" not in html


def test_the_form_in_chinese(client, auth, org):
    auth.login("manager")
    html = client.get("/admin/reports/", headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True)
    assert "季度" in html and "半年" in html and "仅个人指标" in html


def test_workbook_and_list_export_share_their_formats(client, auth, seeded):
    """One set of cell formats (services.xlsx_formats): the list export's header and
    date-time cells look exactly like the period workbook's."""
    from services import xlsx_formats as xf

    wb, _ = _get(client, auth, "manager", QUARTER)
    status, body, _ = download(client, "/admin/complaint/export/xlsx/?queue=all")
    assert status == 200
    listed = openpyxl.load_workbook(io.BytesIO(body)).worksheets[0]
    parts = wb["Assisting parts"]
    header_list, header_book = listed["A3"], parts["A4"]
    for cell in (header_list, header_book):
        assert cell.font.b and cell.alignment.wrap_text and cell.border.bottom.style == "thin"
        assert cell.fill.fgColor.rgb.endswith(xf.HEADER_FILL.lstrip("#"))
    received = [c for c in listed[4] if c.is_date][0]
    added = parts["F5"]
    assert added.is_date and received.number_format == added.number_format == xf.DATETIME_FORMAT
    assert listed["A1"].font.sz == parts["A1"].font.sz == xf.TITLE["font_size"]
