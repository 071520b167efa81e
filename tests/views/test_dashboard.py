"""The home page per role: what that role can act on, as SQL figures that link to the same
complaints in the list."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

import pytest
from complaint_helpers import NOW, login, make_complaint, text

from admin_views.dashboard import DashboardView
from models import CallbackRecord, Delivery, Notification, db
from services import calendar_source, clock
from services.auth import create_user
from tests.conftest import PASSWORD
from tests.factories import recorded_statements

H = timedelta(hours=1)
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    monkeypatch.setattr(calendar_source, "statutory_data_years", lambda: frozenset({2026, 2027}))


@pytest.fixture
def board(app, org):
    """Open complaints at every stage; NOW is Tuesday 10:00, "due soon" ends Wednesday 10:00."""
    with app.app_context():
        hq, head = org.users["handler_qa"], org.users["head_qa"]
        qa = dict(department_id=org.qa, assignee_id=hq)
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
            # QA's result waits for customer service's review (overdue): not QA's step.
            "qa_waiting_cs": make_complaint(status="resolved", due_at=NOW - 2 * H, **qa),
            # The QA head registered it; LOG works on it: in the head's scope, not queue.
            "by_head": make_complaint(status="in_progress", department_id=org.log,
                                      assignee_id=org.users["handler_log"],
                                      due_at=NOW - 3 * H, registered_by_id=head),
            "ext_by_handler": make_complaint(status="in_progress", due_at=NOW + 50 * H,
                                             extension_requested_by_id=hq,
                                             extension_requested_until=NOW + 200 * H, **qa),
            "ext_by_head": make_complaint(status="forwarded", department_id=org.qa,
                                          due_at=NOW + 60 * H, extension_requested_by_id=head,
                                          extension_requested_until=NOW + 200 * H),
            "escalated_qa": make_complaint(status="forwarded", department_id=org.qa,
                                           due_at=NOW + 70 * H, escalation_level=1),
            # An inactive department with nobody to take it (no head).
            "headless": make_complaint(status="forwarded", department_id=org.closed_dept),
            "critical": make_complaint(status="accepted", due_at=NOW + 30 * H,
                                       severity="critical"),
        }
        for sat in ("very_satisfied", "satisfied", "average", "unsatisfied"):
            db.session.add(CallbackRecord(complaint_id=ids["callback"], at=NOW - H,
                                          method="phone", reached=True, satisfaction=sat))
        db.session.commit()
    return ids


@pytest.fixture
def executive(app, org):
    with app.app_context():
        return create_user("boss", "Boss", "executive", PASSWORD, department_id=org.cs).id


def card(html, css):
    """(number, link) of the figure marked ``css``."""
    match = re.search(r'class="[^"]*\b' + css + r'" href="([^"]+)">(\d+)</a>', html)
    assert match, f"no {css} figure"
    return int(match.group(2)), html_lib.unescape(match.group(1))


def has_card(html, css):
    return re.search(r'class="[^"]*\b' + css + r'" href=', html) is not None


def listed(client, url):
    return re.findall(r'<td class="col-number"><a href="[^"]+">([^<]+)</a>', text(client.get(url)))


def numbers(app, board, *names):
    from models import Complaint

    with app.app_context():
        return sorted(db.session.get(Complaint, board[n]).number for n in names)


TILES = {
    # user: {figure: (count, the complaints it counts)}
    "head_qa": {
        "dash-queue-total": ("qa_overdue", "qa_today", "qa_soon", "qa_later", "ext_by_handler",
                             "ext_by_head", "escalated_qa"),
        "dash-overdue": ("qa_overdue",),  # not the review waiting for customer service
        "dash-due-soon": ("qa_today", "qa_soon"),
        "dash-extensions": ("ext_by_handler",),  # not their own request
        "dash-escalated": ("escalated_qa",),
    },
    "handler_qa": {
        "dash-queue-total": ("qa_overdue", "qa_today", "qa_later", "ext_by_handler"),
        "dash-overdue": ("qa_overdue",),
        "dash-due-soon": ("qa_today",),
    },
    "intake": {
        "dash-queue-total": ("new", "callback", "qa_waiting_cs", "critical"),
        "dash-overdue": ("qa_waiting_cs",),
        "dash-due-soon": ("new",),
        "dash-intake": ("new",),
        "dash-forwarding": ("critical",),
        "dash-callbacks": ("callback",),
    },
    "manager": {
        "dash-escalated": ("critical",),
        "dash-extensions": ("ext_by_head",),  # the head asked: a manager decides
    },
    "boss": {
        "dash-escalated": ("critical",),
        "dash-extensions": (),
    },
    "supervisor": {
        "dash-open": ("qa_overdue", "qa_today", "qa_soon", "qa_later", "log_overdue", "new",
                      "callback", "qa_waiting_cs", "by_head", "ext_by_handler", "ext_by_head",
                      "escalated_qa", "headless", "critical"),
        "dash-all-overdue": ("qa_overdue", "log_overdue", "qa_waiting_cs", "by_head"),
        "dash-all-due-soon": ("qa_today", "qa_soon", "new"),
    },
}
ALL_TILES = {css for tiles in TILES.values() for css in tiles} | {"dash-all-overdue"}


@pytest.mark.parametrize("user", list(TILES))
def test_each_figure_counts_what_the_role_acts_on_and_links_to_those_rows(
        app, org, board, executive, user):
    """Per role: the figures it sees, each the number of complaints its link lists (the
    same ones), and no figure of another role's."""
    client = login(app, user)
    html = text(client.get("/admin/"))
    for css, names in TILES[user].items():
        n, url = card(html, css)
        assert n == len(names), (css, n)
        assert sorted(listed(client, url)) == numbers(app, board, *names), css
    for css in ALL_TILES - set(TILES[user]):
        assert not has_card(html, css), css


def test_queue_link_is_the_lists_own_queue(app, org, board):
    """The list's "My queue" (the bare list) holds exactly the dashboard's queue."""
    client = login(app, "head_qa")
    n, _ = card(text(client.get("/admin/")), "dash-queue-total")
    assert len(listed(client, "/admin/complaint/")) == n == 7


def test_clerk_sees_the_overdue_callbacks_under_the_callback_figure(app, org, board):
    with app.app_context():
        make_complaint(status="callback", due_at=NOW - 30 * H)
    html = text(login(app, "intake").get("/admin/"))
    assert card(html, "dash-callbacks")[0] == 2
    late = re.search(r'class="text-danger dash-callbacks-overdue" href="([^"]+)">([^<]+)</a>',
                     html)
    assert late and late.group(2) == "1 overdue"
    assert len(listed(login(app, "intake"), html_lib.unescape(late.group(1)))) == 1


def test_supervisor_and_executive_have_no_queue_and_their_list_shows_everything(
        app, org, board, executive):
    """A read-only supervisor sees no "my queue"; the bare list shows what they oversee."""
    for user in ("supervisor", "boss"):
        client = login(app, user)
        assert "In my queue" not in text(client.get("/admin/"))
        page = text(client.get("/admin/complaint/"))
        assert "My queue" not in page
        assert len(listed(client, "/admin/complaint/")) == 15  # every complaint


def test_departments_at_risk_for_managers(app, org, board):
    """Managers see the departments with overdue complaints, linked to them."""
    client = login(app, "manager")
    html = text(client.get("/admin/"))
    table = html[html.index("dash-departments"):]
    table = table[:table.index("</table>")]
    rows = re.findall(r"<tr>\s*<td>([^<]+)</td>\s*<td[^>]*><a href=\"[^\"]+\">(\d+)</a></td>"
                      r"\s*<td[^>]*><a class=\"text-danger\" href=\"([^\"]+)\">(\d+)", table)
    figures = {name.strip(): int(late) for name, _, _, late in rows}
    assert figures == {"质量管理部": 2, "物流部": 2}
    qa_late = html_lib.unescape(next(url for name, _, url, _ in rows if name == "质量管理部"))
    assert sorted(listed(client, qa_late)) == numbers(app, board, "qa_overdue", "qa_waiting_cs")


def test_departments_without_an_active_head_are_shown(app, org, board):
    """A department holding open complaints with no active head: to admin, manager, clerk."""
    for user in ("admin", "manager", "intake"):
        client = login(app, user)
        html = text(client.get("/admin/"))
        assert "Departments without an active head" in html, user
        item = re.search(r'class="dash-headless-department"><strong>旧部门</strong> '
                         r'<a href="([^"]+)">Open complaints: 1</a>', html)
        assert item, user
        assert listed(client, html_lib.unescape(item.group(1))) == numbers(app, board,
                                                                           "headless")
    for user in ("head_qa", "handler_qa", "supervisor"):
        assert "dash-headless" not in text(login(app, user).get("/admin/")), user


def test_a_department_whose_head_left_is_headless(app, org, board):
    """QA's only head deactivated: QA shows as headless; its head's requests go to managers."""
    from models import Staff

    with app.app_context():
        db.session.get(Staff, org.users["head_qa"]).active = False
        db.session.commit()
    html = text(login(app, "manager").get("/admin/"))
    assert "<strong>质量管理部</strong>" in html
    # Nobody else decides the handler's request in a department with no head.
    assert card(html, "dash-extensions")[0] == 2


def test_a_named_head_elsewhere_does_not_make_a_department_headed(app, org, board):
    """The head named on one department (Department.head_id) heads that one only: the old
    department, with nobody, still shows as headless."""
    from models import Department

    with app.app_context():
        db.session.get(Department, org.qa).head_id = org.users["head_qa"]
        db.session.get(Department, org.log).head_id = org.users["head_log"]
        db.session.commit()
    html = text(login(app, "manager").get("/admin/"))
    assert "<strong>旧部门</strong>" in html
    assert "<strong>质量管理部</strong>" not in html


def test_admin_sees_calendar_and_delivery_health(app, org, board, monkeypatch):
    with app.app_context():
        for status, n in (("failed", 2), ("pending", 1), ("sent", 5)):
            for i in range(n):
                db.session.add(Delivery(created_at=NOW, channel="email", purpose="assign",
                                        key=f"{status}-{i}", status=status,
                                        next_attempt_at=NOW))
        db.session.commit()
    client = login(app, "admin")
    html = text(client.get("/admin/"))
    assert "Delivery health" in html and 'href="/admin/delivery/"' in html
    failed, url = card(html, "dash-delivery-failed text-danger")
    assert failed == 2
    page = text(client.get(url))
    assert len(re.findall(r'class="badge [^"]*delivery-failed"', page)) == 2
    assert "delivery-pending" not in page
    assert card(html, "dash-delivery-pending")[0] == 1
    assert "calendar-warning" not in html and "dash-calendar-ok" in html
    monkeypatch.setattr(calendar_source, "statutory_data_years", lambda: frozenset({2026}))
    html = text(client.get("/admin/"))
    assert "calendar-warning" in html and "2027" in html


@pytest.mark.parametrize("user, shown", [("admin", True), ("manager", True),
                                         ("intake", False), ("head_qa", False),
                                         ("handler_qa", False), ("supervisor", False),
                                         ("boss", False)])
def test_calendar_warning_goes_to_admin_and_manager_only(app, org, executive, monkeypatch,
                                                         user, shown):
    monkeypatch.setattr(calendar_source, "statutory_data_years", lambda: frozenset({2026}))
    assert ("calendar-warning" in text(login(app, user).get("/admin/"))) == shown


def test_unread_notifications_are_listed_with_their_number(app, org, board):
    with app.app_context():
        for i in range(7):
            db.session.add(Notification(created_at=NOW - i * H, kind="assign",
                                        recipient_id=org.users["handler_qa"],
                                        complaint_id=board["qa_today"]))
        db.session.commit()
    html = text(login(app, "handler_qa").get("/admin/"))
    assert re.search(r'dash-unread-total">7<', html)
    assert html.count('class="dash-notification"') == 5  # the newest five
    assert "dash-notifications" not in text(login(app, "head_qa").get("/admin/"))


def test_satisfaction_rate_of_the_month(app, org, board):
    """Two of four reached callbacks satisfied or better: 50.0% (no space)."""
    html = text(login(app, "manager").get("/admin/"))
    assert "50.0%" in html and "2 of 4 callbacks" in html


def _more_data(app, org, n=12):
    with app.app_context():
        for i in range(n):
            make_complaint(status=("in_progress", "forwarded", "callback", "resolved")[i % 4],
                           department_id=org.qa if i % 2 else org.log,
                           assignee_id=org.users["handler_qa"] if i % 2 else None,
                           due_at=NOW + (i - 6) * H, extension_requested_by_id=(
                               org.users["head_qa"] if i % 3 == 0 else None))
            db.session.add(Notification(created_at=NOW, kind="assign",
                                        recipient_id=org.users["handler_qa"]))
        db.session.add(Delivery(created_at=NOW, channel="email", purpose="assign",
                                key=f"more-{n}", status="failed", next_attempt_at=NOW))
        db.session.commit()


def _statements(app, user):
    client = login(app, user)
    with recorded_statements(app) as statements:
        assert client.get("/admin/").status_code == 200
    return list(statements)


@pytest.mark.parametrize("user", ["admin", "intake", "manager", "supervisor", "head_qa",
                                  "handler_qa", "boss"])
def test_number_of_statements_does_not_grow_with_the_data(app, org, board, executive, user):
    """Per role, the page's SQL is a fixed set of aggregates whatever the data size."""
    before = _statements(app, user)
    _more_data(app, org)
    after = _statements(app, user)
    assert len(after) == len(before)
    on_complaints = [s for s in after if ("FROM complaint" in s or "JOIN complaint" in s)
                     and "FROM notification" not in s]
    assert len(on_complaints) <= 4
    for s in on_complaints:
        assert "count(" in s.lower() or "sum(" in s.lower()
        assert "complaint.title" not in s and "complaint.customer_name" not in s


@pytest.mark.parametrize("user, expected", [
    ("head_qa", ["我的待办", "已超期", "待我审批的延期申请", "升级给我的", "我的待办（按状态）"]),
    ("handler_qa", ["我的待办", "已超期", "即将到期"]),
    ("intake", ["待受理", "待转办", "待回访", "无在岗负责人的部门", "本月满意度"]),
    ("manager", ["升级给我的", "待我审批的延期申请", "有超期投诉的部门", "无在岗负责人的部门"]),
    ("supervisor", ["未结投诉", "已超期", "各部门未结投诉"]),
    ("admin", ["消息发送状况", "发送失败", "无在岗负责人的部门", "工作日历"]),
])
def test_dashboard_reads_in_chinese(app, org, board, user, expected):
    """Each role's home page in Chinese: its figures named in Chinese, full-width colons."""
    html = text(login(app, user).get("/admin/", headers=ZH))
    for words in expected:
        assert words in html, words
    body = html[html.index("<body"):]
    body = re.sub(r"<script.*?</script>|<[^>]+>", " ", body, flags=re.S)
    for english in ("In my queue", "Overdue", "Escalated to me", "Departments", "Delivery",
                    "open complaints", "Callbacks due", "To forward"):
        assert english not in body, english
    assert "旧部门:" not in html


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


def test_registering_is_one_click_from_the_home_page(app, org):
    """The phone rings: "Register a complaint" on the dashboard opens the form (for anyone:
    every role may register what it received, rules.intake.REGISTER_ROLES)."""
    html = text(login(app, "intake").get("/admin/", headers={"Accept-Language": "zh-CN"}))
    link = re.search(r'<div class="mb-2 dash-register">\s*<a class="btn btn-primary" '
                     r'href="([^"]+)">.*?登记投诉</a>', html, re.S)
    assert link and link.group(1) == "/admin/complaint/new/"
    assert login(app, "intake").get(link.group(1)).status_code == 200
    assert "dash-register" in text(login(app, "handler_qa").get("/admin/"))
