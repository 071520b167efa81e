"""The home page: scoped SQL figures that link to the same complaints in the list."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

import pytest
from complaint_helpers import NOW, login, make_complaint, text

from admin_views.dashboard import DashboardView
from models import CallbackRecord, db
from services import calendar_source, clock
from tests.factories import recorded_statements

H = timedelta(hours=1)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    monkeypatch.setattr(calendar_source, "statutory_data_years", lambda: frozenset({2026, 2027}))


@pytest.fixture
def board(app, org):
    with app.app_context():
        qa = dict(department_id=org.qa, assignee_id=org.users["handler_qa"])
        ids = {
            "qa_overdue": make_complaint(status="in_progress", due_at=NOW - H, **qa),
            "qa_today": make_complaint(status="in_progress", due_at=NOW + 3 * H, **qa),
            "qa_soon": make_complaint(status="forwarded", department_id=org.qa,
                                      due_at=NOW + 20 * H),
            "qa_later": make_complaint(status="in_progress", due_at=NOW + 100 * H, **qa),
            "qa_closed": make_complaint(status="closed", **qa),
            "log_overdue": make_complaint(status="in_progress", department_id=org.log,
                                          due_at=NOW - 5 * H),
            "new": make_complaint(status="registered", due_at=NOW + 2 * H),
            "callback": make_complaint(status="callback", department_id=org.log),
        }
        for sat in ("very_satisfied", "satisfied", "average", "unsatisfied"):
            db.session.add(CallbackRecord(complaint_id=ids["callback"], at=NOW - H,
                                          method="phone", reached=True, satisfaction=sat))
        db.session.commit()
    return ids


def card(html, css):
    match = re.search(r'class="[^"]*' + css + r'[^"]*" href="([^"]+)">(\d+)</a>', html)
    return int(match.group(2)), html_lib.unescape(match.group(1))


def listed(client, url):
    return re.findall(r'<td class="col-number"><a href="[^"]+">([^<]+)</a>', text(client.get(url)))


@pytest.mark.parametrize("user, total, overdue, today, soon", [
    ("manager", 7, 2, 2, 3),   # every open complaint
    ("intake", 2, 0, 1, 1),    # registered + callback only
    ("head_qa", 4, 1, 1, 2),   # QA's open complaints
    ("handler_qa", 3, 1, 1, 1),  # assigned to them
    ("head_log", 1, 1, 0, 0),  # in the department (forwarded, in progress) only
])
def test_cards_count_the_users_queue_and_link_to_the_same_rows(app, org, board, user, total,
                                                                overdue, today, soon):
    """Queue, overdue, due today, due soon: the numbers, and each link lists that many rows."""
    client = login(app, user)
    html = text(client.get("/admin/"))
    figures = {css: card(html, css) for css in ("dash-queue-total", "dash-overdue",
                                                 "dash-due-today", "dash-due-soon")}
    assert [n for n, _ in figures.values()] == [total, overdue, today, soon]
    for n, url in figures.values():
        assert len(listed(client, url)) == n, url


def test_department_table_is_scoped_and_links_to_the_department(app, org, board):
    """Per department: open and overdue; a head sees only their own department's row."""
    manager = login(app, "manager")
    html = text(manager.get("/admin/"))
    table = html[html.index("dash-departments"):html.index("dash-satisfaction")]
    rows = re.findall(r"<tr>\s*<td>([^<]+)</td>\s*<td[^>]*>(?:<a href=\"([^\"]+)\">)?(\d+)", table)
    figures = {name.strip(): int(n) for name, _, n in rows}
    assert figures == {"质量管理部": 4, "物流部": 2, "Customer service (not forwarded)": 1}
    qa_link = html_lib.unescape(next(link for name, link, _ in rows if name == "质量管理部"))
    assert len(listed(manager, qa_link)) == 4
    head = text(login(app, "head_qa").get("/admin/"))
    head_table = head[head.index("dash-departments"):head.index("dash-satisfaction")]
    assert "质量管理部" in head_table and "物流部" not in head_table


def test_satisfaction_rate_of_the_month(app, org, board):
    """Two of four reached callbacks satisfied or better: 50.0 %."""
    html = text(login(app, "manager").get("/admin/"))
    assert "50.0 %" in html and "2 of 4 callbacks" in html
    head = text(login(app, "head_qa").get("/admin/"))  # those callbacks are LOG's
    assert "No callback has reached a customer this month yet." in head


def test_calendar_warning_when_next_year_has_no_statutory_data(app, org, monkeypatch):
    """Without statutory data for 2027 the home page says so; with it, no warning."""
    client = login(app, "intake")
    assert "calendar-warning" not in text(client.get("/admin/"))
    monkeypatch.setattr(calendar_source, "statutory_data_years", lambda: frozenset({2026}))
    html = text(client.get("/admin/"))
    assert "calendar-warning" in html and "2027" in html


def test_figures_come_from_aggregates_not_rows(app, org, board):
    """The dashboard's SQL never selects complaint rows, only sums (three statements)."""
    client = login(app, "manager")
    with recorded_statements(app) as statements:
        assert client.get("/admin/").status_code == 200
    # (The unread notifications, bell and list, join complaint only to re-check the scope.)
    on_complaints = [s for s in statements if ("FROM complaint" in s or "JOIN complaint" in s)
                     and "FROM notification" not in s]
    # the open figures in one pass, the satisfaction rate, the "escalated to me" count
    assert len(on_complaints) == 3
    for s in on_complaints:
        assert "count(" in s.lower()
        assert "complaint.title" not in s and "complaint.customer_name" not in s


def test_extra_links_are_shown_to_their_roles(app, org, monkeypatch):
    """A link added to DashboardView.extra_links appears for its roles only."""
    monkeypatch.setattr(DashboardView, "extra_links",
                        [("Test report", "complaint.index_view", ("intake",))])
    assert "Test report" in text(login(app, "intake").get("/admin/"))
    assert "Test report" not in text(login(app, "handler_qa").get("/admin/"))


def test_anonymous_visitor_is_sent_to_login(app, org):
    """The home page is not public."""
    response = app.test_client().get("/admin/")
    assert response.status_code == 302 and response.location.startswith("/login")
