"""The Reports page and the figures' definitions page, per role: who may see them (the
report roles, as before), the month the page opens on and its stated rule, the link to the
definitions, the Chinese wording (one "报表" heading, full-width colons)."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest

from admin_views import reports
from rules.calendar import BusinessCalendar
from tests.views.login_helpers import freeze

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
REPORT_USERS = ["admin", "intake", "manager", "supervisor", "head_qa"]


def _page(client, url="/admin/reports/", headers=None):
    response = client.get(url, headers=headers or {})
    return response.status_code, response.get_data(as_text=True)


@pytest.mark.parametrize("username", REPORT_USERS)
def test_report_roles_see_the_page_and_the_definitions(client, auth, org, username):
    auth.login(username)
    status, html = _page(client)
    assert status == 200
    assert 'href="/admin/reports/metrics/"' in html
    assert "How every figure is computed" in html
    status, html = _page(client, "/admin/reports/metrics/")
    assert status == 200
    assert "The figures of the exports and of the monthly meeting workbook" in html
    assert "<h3>Summary sheet</h3>" in html  # the document's headings, one level down
    assert '<table class="table table-sm table-bordered">' in html
    assert 'href="/admin/reports/"' in html
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)  # nothing from another host


@pytest.mark.parametrize("username", ["handler_qa", "handler_log"])
def test_handlers_may_not_open_reports_or_definitions(client, auth, org, username):
    auth.login(username)
    assert _page(client)[0] == 403
    assert _page(client, "/admin/reports/metrics/")[0] == 403


def test_anonymous_goes_to_login(client, org):
    for url in ("/admin/reports/", "/admin/reports/metrics/"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_definitions_page_shows_raw_html_as_text(client, auth, org, monkeypatch, tmp_path):
    """Markup typed into the document is shown, never run."""
    doc = tmp_path / "metrics.md"
    doc.write_text("# Figures\n\n<script>alert(1)</script>\n\nA <b>bold</b> claim & more.\n",
                   encoding="utf-8")
    monkeypatch.setattr(reports, "METRICS_FILE", doc)
    auth.login("manager")
    status, html = _page(client, "/admin/reports/metrics/")
    assert status == 200
    article = html.split('<article class="desk-metrics"', 1)[1].split("</article>", 1)[0]
    assert "<script>alert" not in article and "&lt;script&gt;alert(1)&lt;/script&gt;" in article
    assert "<b>" not in article and "&amp; more" in article


@pytest.mark.parametrize("today,expected", [
    (datetime(2026, 12, 1, 9), "2026-11"),  # Tue: 1st working day of December
    (datetime(2026, 12, 7, 17), "2026-11"),  # Mon: 5th working day (1 2 3 4 7)
    (datetime(2026, 12, 8, 8), "2026-12"),  # Tue: 6th working day
    (datetime(2026, 12, 31, 12), "2026-12"),
    (datetime(2026, 10, 9, 12), "2026-09"),  # National Day: 1–7 Oct off, 8 and 9 worked
    (datetime(2026, 10, 15, 12), "2026-10"),  # 8 9 10(make-up Sat) 12 13: 5th was the 13th
])
def test_page_opens_on_previous_month_for_five_working_days(client, auth, org, monkeypatch,
                                                            today, expected):
    freeze(monkeypatch, today)
    auth.login("manager")
    _status, html = _page(client)
    assert re.search(r'name="month"\s+value="(\d{4}-\d{2})"', html)[1] == expected


def test_default_month_rule_counts_working_days():
    plain = BusinessCalendar()  # no statutory data: Monday–Friday
    assert reports.default_month(datetime(2027, 3, 5, 9), plain) == "2027-02"  # Fri, 5th
    assert reports.default_month(datetime(2027, 3, 8, 9), plain) == "2027-03"  # Mon, 6th
    assert reports.settling_end(date(2027, 3, 20), plain) == date(2027, 3, 5)


def test_page_states_the_rule_in_chinese(client, auth, org, monkeypatch):
    freeze(monkeypatch, datetime(2026, 12, 3, 9))
    auth.login("manager")
    _status, html = _page(client, headers=ZH)
    assert "每月前 5 个工作日（本月至 2026-12-07）本页默认显示上月" in html
    assert "各项指标的计算方法" in html


def test_reports_heading_is_shown_once(client, auth, org):
    """The layout names the page; the page itself adds no second "报表" heading."""
    auth.login("manager")
    _status, html = _page(client, headers=ZH)
    body = html.split("</nav>", 1)[1]
    headings = re.findall(r"<h[1-6][^>]*>\s*([^<]*?)\s*</h[1-6]>", body)
    assert headings.count("报表") == 1, headings
    assert "月度例会报表" in headings


def test_department_head_sees_their_department_with_a_chinese_colon(client, auth, org):
    auth.login("head_qa")
    _status, html = _page(client, headers=ZH)
    assert "部门：质量管理部" in html
    assert "部门:" not in html
    assert 'name="department"' not in html  # no choice: always their own department
