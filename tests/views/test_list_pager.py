"""The list's pager (issue 11, part 6 and slips): a total, exact up to a cap and "more than
10,000" past it, counted inside the page's own SELECT (no extra statement); no pager for a
single page; the page-size menu in the user's language ("每页 50 条", not "50 项目")."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from complaint_helpers import LIST, NOW, login, make_complaint, text

from admin_views.complaints import ComplaintView
from models import Staff, db
from services import clock
from tests.factories import recorded_statements


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


def _fill(app, n, **fields):
    with app.app_context():
        for i in range(n):
            make_complaint(received_at=NOW - timedelta(hours=i + 1), **fields)


def _speaks(app, org, username, locale):
    with app.app_context():
        db.session.get(Staff, org.users[username]).locale = locale
        db.session.commit()


def total(html) -> str | None:
    m = re.search(r'<span class="desk-list-total[^"]*">(.*?)</span>', html, re.S)
    return m.group(1).strip() if m else None


def pages(html) -> list[str]:
    """The pager's items, as shown ([] when there is no pager)."""
    m = re.search(r'<ul class="pagination">(.*?)</ul>', html, re.S)
    if not m:
        return []
    return [re.sub(r"\s+", "", t) for t in
            re.findall(r'class="page-link"[^>]*>(.*?)</(?:a|span)>', m.group(1), re.S)]


def rows(html) -> int:
    return len(re.findall(r'<td class="col-number"><a ', html))


def test_one_row_shows_its_total_and_no_pager(app, org):
    _fill(app, 1)
    _speaks(app, org, "intake", "zh_Hans_CN")
    html = text(login(app, "intake").get(f"{LIST}?queue=all"))
    assert rows(html) == 1
    assert total(html) == "共 1 条"
    assert pages(html) == [] and "pagination" not in html


def test_an_empty_list_says_nothing_of_pages(app, org):
    html = text(login(app, "intake").get(f"{LIST}?queue=all"))
    assert rows(html) == 0 and pages(html) == []
    assert total(html) == "0 records"


def test_exact_total_and_numbered_pages_under_the_cap(app, org):
    _fill(app, 60)
    client = login(app, "intake")
    html = text(client.get(f"{LIST}?queue=all"))
    assert rows(html) == 50 and total(html) == "60 records"
    assert pages(html) == ["&laquo;", "&lt;", "1", "2", "&gt;", "&raquo;"]
    html = text(client.get(f"{LIST}?queue=all&page=1"))
    assert rows(html) == 10 and total(html) == "60 records"
    assert 'class="page-item active">\n        <span class="page-link">2</span>' in html
    # 20 per page: 3 pages; a filter narrows the total
    html = text(client.get(f"{LIST}?queue=all&page_size=20"))
    assert total(html) == "60 records" and "3" in pages(html)


def test_the_total_is_of_the_users_scope_and_filters(app, org):
    _fill(app, 3, status="in_progress", department_id=org.qa,
          assignee_id=org.users["handler_qa"], due_at=NOW + timedelta(days=2))
    _fill(app, 4, status="in_progress", department_id=org.log,
          assignee_id=org.users["handler_log"], due_at=NOW + timedelta(days=2))
    _fill(app, 2, status="registered")
    html = text(login(app, "head_qa").get(f"{LIST}?queue=all"))
    assert rows(html) == 3 and total(html) == "3 records"
    client = login(app, "intake")
    assert total(text(client.get(f"{LIST}?queue=all"))) == "9 records"
    html = text(client.get(f"{LIST}?flt0_status_equals=registered"))
    assert rows(html) == 2 and total(html) == "2 records"


def test_past_the_cap_more_than_and_previous_next(app, org, monkeypatch):
    """The cap (10,000 in production) lowered to 10: 25 rows read "more than 10"."""
    monkeypatch.setattr(ComplaintView, "total_cap", 10)
    _fill(app, 25)
    _speaks(app, org, "intake", "zh_Hans_CN")
    client = login(app, "intake")
    html = text(client.get(f"{LIST}?queue=all&page_size=20"))
    assert rows(html) == 20 and total(html) == "超过 10 条"
    assert pages(html) == ["&lt;", "&gt;"] and "page=1" in html
    html = text(client.get(f"{LIST}?queue=all&page_size=20&page=1"))
    assert rows(html) == 5 and total(html) == "超过 10 条"
    html = text(client.get(f"{LIST}?queue=all&page_size=20&page=7"))  # past the end
    assert rows(html) == 0 and total(html) == "超过 10 条"


def test_the_production_cap_is_ten_thousand_in_both_languages(app, org, monkeypatch):
    from admin_views import list_total

    assert list_total.TOTAL_CAP == ComplaintView.total_cap == 10_000
    monkeypatch.setattr(ComplaintView, "total_cap", 2)
    _fill(app, 3)
    client = login(app, "intake")
    assert total(text(client.get(f"{LIST}?queue=all"))) == "More than 2 records"


def test_the_total_rides_in_the_pages_own_select(app, org):
    """No statement of its own: the capped count is a subquery of the page's SELECT, bounded
    by LIMIT cap + 1 (never a count of the whole table)."""
    _fill(app, 3)
    client = login(app, "intake")
    client.get(f"{LIST}?queue=all")  # warm: the session's first page
    with recorded_statements(app) as seen:
        html = text(client.get(f"{LIST}?queue=all"))
    assert total(html) == "3 records"
    with_total = [s for s in seen if "desk_list_total" in s]
    assert len(with_total) == 1, seen
    assert re.search(r"LIMIT (\?|%\(param_\d+\)s|10001)", with_total[0].split("desk_list_total")[0])
    complaint_selects = [s for s in seen if re.search(r"FROM complaint\b", s)
                         and "count(" in s.lower()]
    assert complaint_selects == with_total, complaint_selects


def test_page_size_menu_in_chinese_and_english(app, org):
    _fill(app, 2)
    _speaks(app, org, "intake", "zh_Hans_CN")
    html = text(login(app, "intake").get(f"{LIST}?queue=all"))
    assert "每页 50 条" in html and "每页 20 条" in html and "每页 100 条" in html
    assert "项目" not in html and " items" not in html
    html = text(login(app, "manager").get(f"{LIST}?queue=all&page_size=20"))
    assert "20 per page" in html and "100 per page" in html and " items" not in html


def test_the_record_and_the_trail_show_their_total_and_no_pager_for_one_page(app, org):
    """The administrative record and the audit trail grow forever: capped totals too."""
    client = login(app, "admin")  # the login itself is in the administrative record
    html = text(client.get("/admin/admin_event/"))
    assert 'table-hover model-list"' in html
    assert re.fullmatch(r"[1-9] records?", total(html)), total(html)
    assert "pagination" not in html
    html = text(client.get("/admin/complaint_event/"))
    assert 'table-hover model-list"' in html and total(html) == "0 records"
    assert "pagination" not in html


def test_cells_name_their_column_for_the_phone_layout(app, org):
    """Under 576 px a row is a card (desk.css): each cell but the number and the title
    carries its column's name, in the user's language, to show before the value."""
    _fill(app, 1, status="in_progress", department_id=org.qa,
          assignee_id=org.users["handler_qa"], due_at=NOW + timedelta(days=2))
    _speaks(app, org, "intake", "zh_Hans_CN")
    html = text(login(app, "intake").get(f"{LIST}?queue=all"))
    assert 'class="desk-list-cards"' in html
    labels = dict(re.findall(r'<td class="col-([a-z_]+)" data-label="([^"]+)"', html))
    assert labels["status"] == "状态" and labels["department"] == "部门"
    assert labels["customer_name"] == "客户"
    assert "number" not in labels and "title" not in labels
    with app.test_client().get("/static/desk/desk.css") as r:
        css = r.get_data(as_text=True)
    assert "@media (max-width: 575.98px)" in css and "attr(data-label)" in css
