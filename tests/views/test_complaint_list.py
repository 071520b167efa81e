"""The complaint list: each role's queue, filters, indexed search, flags, bulk actions, queries."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta

import pytest
from complaint_helpers import LIST, NOW, flashes, login, make_complaint, snapshot, text, token
from sqlalchemy import select

from models import Complaint, Department, db
from services import clock
from services.auth import create_user
from tests.factories import recorded_statements


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


def numbers(response):
    """The complaint numbers of the list rows, in display order."""
    return re.findall(r'<td class="col-number"><a href="[^"]+">([^<]+)</a>', text(response))


@pytest.fixture
def rows(app, org):
    """One complaint per situation; returns number -> id."""
    h = timedelta(hours=1)
    specs = {
        "TS-20261120-0001": dict(status="registered", due_at=NOW + 5 * h),
        "TS-20261120-0002": dict(status="accepted"),
        "TS-20261120-0003": dict(status="forwarded", department_id=org.qa, due_at=NOW - 2 * h),
        "TS-20261120-0004": dict(status="in_progress", department_id=org.qa,
                                 assignee_id=org.users["handler_qa"], due_at=NOW + 30 * h),
        "TS-20261120-0005": dict(status="in_progress", department_id=org.qa,
                                 assignee_id=org.users["handler_qa2"],
                                 due_at=NOW + timedelta(days=6), severity="critical"),
        "TS-20261120-0006": dict(status="in_progress", department_id=org.log,
                                 assignee_id=org.users["handler_log"], due_at=NOW + 3 * h),
        "TS-20261120-0007": dict(status="resolved", department_id=org.log,
                                 assignee_id=org.users["handler_log"],
                                 due_at=NOW + timedelta(days=4), category="delivery"),
        "TS-20261120-0008": dict(status="closed", department_id=org.qa,
                                 assignee_id=org.users["handler_qa"]),
        "TS-20261120-0009": dict(status="rejected"),
    }
    out = {}
    with app.app_context():
        for n, (number, spec) in enumerate(specs.items()):
            out[number] = make_complaint(number=number, phone=f"1380013800{n}",
                                         customer_name=f"客户{n}",
                                         received_at=datetime(2026, 11, 10 + n, 9), **spec)
    return out


def short(nums):
    return [n[-1] for n in nums]


QUEUES = {
    # due order: 3 (−2 h), 6 (+3 h), 1 (+5 h), 4 (+30 h), 7 (+4 d), 5 (+6 d), then no deadline
    # (2, 9 by id). A rejected complaint (9) is open: customer service tells the customer.
    "intake": "1729",
    "manager": "36147529",
    "supervisor": "987654321",  # no queue of their own (they take no step): all, newest first
    "admin": "36147529",
    "head_qa": "345",  # in the department (forwarded, in progress) only
    "handler_qa": "4",
    "head_log": "6",
}


@pytest.mark.parametrize("user", sorted(QUEUES))
def test_default_list_is_the_users_queue_by_due_time(app, org, rows, user):
    """Without parameters the list is the role's queue, most urgent first, no deadline last
    (a supervisor, who has none, sees everything in scope)."""
    page = login(app, user).get(LIST)
    assert "".join(short(numbers(page))) == QUEUES[user]


ALL = {"intake": "987654321", "head_qa": "8543", "handler_qa": "84", "supervisor": "987654321"}


@pytest.mark.parametrize("user", sorted(ALL))
def test_all_tab_shows_everything_in_scope_newest_first(app, org, rows, user):
    """?queue=all lists every complaint the user may see, closed ones included."""
    page = login(app, user).get(f"{LIST}?queue=all")
    assert "".join(short(numbers(page))) == ALL[user]
    assert "All complaints I can see" in text(page)


FILTERS = [
    ("flt0_status_equals=in_progress", "654"),
    ("flt0_status_equals=open", "97654321"),
    ("flt0_department_equals={qa}", "8543"),
    ("flt0_assignee_equals={handler_qa}", "84"),
    ("flt0_category_equals={delivery}", "7"),
    ("flt0_severity_equals=critical", "5"),
    ("flt0_customer_class_equals=C", "987654321"),
    ("flt0_deadline_is=overdue", "3"),
    ("flt0_deadline_is=due_today", "61"),
    ("flt0_deadline_is=due_soon", "61"),
    ("flt0_received_between=2026-11-12+to+2026-11-13", "43"),
    ("flt0_status_equals=in_progress&flt1_department_equals={qa}", "54"),
]


@pytest.mark.parametrize("query, expected", FILTERS, ids=[f[0] for f in FILTERS])
def test_filters_with_stable_names(app, org, rows, query, expected):
    """Each named filter selects its complaints (all in scope, newest first)."""
    with app.app_context():
        from models import Category

        delivery = db.session.scalar(select(Category.id).filter_by(code="delivery"))
    query = query.format(qa=org.qa, handler_qa=org.users["handler_qa"], delivery=delivery)
    page = login(app, "manager").get(f"{LIST}?{query}")
    assert "".join(short(numbers(page))) == expected


def test_queue_and_filter_combine_when_asked(app, org, rows):
    """queue=mine with a filter keeps the queue: a clerk's overdue items are theirs only."""
    client = login(app, "intake")
    assert short(numbers(client.get(f"{LIST}?queue=mine&flt0_deadline_is=due_soon"))) == ["1"]
    assert short(numbers(client.get(f"{LIST}?flt0_deadline_is=due_soon"))) == ["6", "1"]


def test_due_soon_follows_the_working_calendar(app, org):
    """On Friday evening a Monday-morning deadline is due soon; on Tuesday a Thursday one isn't."""
    friday = datetime(2026, 11, 27, 18, 0)
    with app.app_context():
        monday = make_complaint(status="forwarded", department_id=org.qa,
                                due_at=datetime(2026, 11, 30, 10, 0))
        number = db.session.get(Complaint, monday).number
    client = login(app, "manager")
    assert number not in numbers(client.get(f"{LIST}?flt0_deadline_is=due_soon"))
    clock_now = clock.now
    try:
        clock.now = lambda: friday
        # Three days later the first session has long timed out: log in again.
        client = login(app, "manager")
        assert numbers(client.get(f"{LIST}?flt0_deadline_is=due_soon")) == [number]
    finally:
        clock.now = clock_now


@pytest.mark.parametrize("term, expected", [
    ("13800138003", "4"),   # the 4th row has phone …003
    ("+86 138-0013-8003", "4"),
    ("138001380", ""),          # a part of a number finds nothing: exact match only
    ("TS-20261120-0005", "5"),
    ("ts-20261120-000", "987654321"),
    ("客户4", "5"),
    ("客户", "987654321"),
    ("户4", "5"),  # a part of a name (issue 10: full-text index, tests/views/test_search_views.py)
    ("户9", ""),
])
def test_search_by_number_name_and_exact_phone(app, org, rows, term, expected):
    """The search box: number (prefix), customer name (prefix or part), phone (normalised).
    (A manager: the supervisor's contact search posts, tests/views/test_search_views.py.)"""
    page = login(app, "manager").get(LIST, query_string={"search": term})
    assert "".join(short(numbers(page))) == expected


def test_search_stays_inside_the_scope(app, org, rows):
    """A head searching another department's customer's phone finds nothing."""
    client = login(app, "head_qa")
    assert numbers(client.get(LIST, query_string={"search": "13800138005"})) == []  # LOG
    assert short(numbers(client.get(LIST, query_string={"search": "13800138002"}))) == ["3"]


def test_overdue_and_due_soon_rows_are_flagged(app, org, rows):
    """Overdue rows carry a red badge, due-soon ones an amber badge, others none."""
    html = text(login(app, "manager").get(LIST))
    row_of = {m.group(1): m.group(0) for m in re.finditer(
        r'<tr>\s*(?:<td><input[^>]*/></td>\s*)?<td class="col-number"><a[^>]*>(TS-[^<]+)</a>'
        r'.*?</tr>', html, re.S)}
    assert "deadline-overdue" in row_of["TS-20261120-0003"]
    assert "deadline-due-soon" in row_of["TS-20261120-0006"]
    assert "deadline-due-soon" in row_of["TS-20261120-0001"]
    assert "badge" not in row_of["TS-20261120-0005"]
    assert "badge" not in row_of["TS-20261120-0002"]


def test_filter_options_are_scoped_to_the_user(app, org, rows):
    """A department head's department and assignee filters offer their own department only."""
    html = text(login(app, "head_qa").get(LIST))
    groups = json.loads(re.search(r'id="filter-groups-data"[^>]*>(.*?)</div>', html,
                                  re.S).group(1).replace("&#34;", '"'))
    departments = [label for _, label in groups["Department"][0]["options"]]
    people = {label for _, label in groups["Assignee"][0]["options"]}
    assert departments == ["质量管理部"]
    assert people == {"Head Qa", "Handler Qa", "Handler Qa2"}


# --- a fixed number of queries per page -------------------------------------------------


def _fill(app, org, n):
    """n complaints spread over n departments, assignees and the categories."""
    from models import Category

    with app.app_context():
        categories = db.session.scalars(select(Category.code)).all()
        for i in range(n):
            dept = Department(code=f"D{i}", name=f"Dept {i}", active=True)
            db.session.add(dept)
            db.session.commit()  # create_user writes in its own transaction
            person = create_user(f"h{i}", f"Handler {i}", "handler", "test-pass-123",
                                 department_id=dept.id)
            make_complaint(status="in_progress", department_id=dept.id, assignee_id=person.id,
                           due_at=NOW + timedelta(hours=i + 1), category=categories[i % 6])


def _queries(app, client, url):
    client.get(url)  # after a write, the first page re-reads the reference tables once
    with recorded_statements(app) as seen:
        response = client.get(url)
    assert response.status_code == 200
    return len(seen), len(numbers(response))


@pytest.mark.parametrize("user", ["manager", "admin"])
def test_queries_per_list_page_do_not_grow_with_the_rows(app, org, user):
    """5 rows or 60 (50 or 60 shown): the same number of SQL statements, no N+1."""
    _fill(app, org, 5)
    client = login(app, user)
    small, shown_small = _queries(app, client, LIST)
    with app.app_context():
        for i in range(5, 60):
            dept = Department(code=f"E{i}", name=f"Extra {i}", active=True)
            db.session.add(dept)
            db.session.commit()  # create_user writes in its own transaction
            person = create_user(f"e{i}", f"Extra {i}", "handler", "test-pass-123",
                                 department_id=dept.id)
            make_complaint(status="in_progress", department_id=dept.id, assignee_id=person.id,
                           due_at=NOW + timedelta(days=1, hours=i))
    large, shown_large = _queries(app, client, LIST)
    larger, shown_larger = _queries(app, client, f"{LIST}?page_size=100")
    assert (shown_small, shown_large, shown_larger) == (5, 50, 60)
    assert small == large == larger, (small, large, larger)


# --- bulk actions -------------------------------------------------------------------------


def test_bulk_close_reports_done_and_refused_with_reasons(app, org):
    """Close three: the one ready is closed, the others refused with the rules' reasons."""
    with app.app_context():
        ready = make_complaint(status="callback", department_id=org.qa, callbacks_reached=1,
                               last_satisfaction="satisfied", number="TS-20261120-0101")
        waiting = make_complaint(status="callback", department_id=org.qa,
                                 number="TS-20261120-0102")
        working = make_complaint(status="in_progress", department_id=org.qa,
                                 assignee_id=org.users["handler_qa"], number="TS-20261120-0103",
                                 due_at=NOW + timedelta(days=1))
    client = login(app, "intake")
    rowids = [str(ready), str(waiting), str(working)]
    page = client.post(f"{LIST}action/", data={
        "action": "close", "rowid": rowids, "csrf_token": token(client), "url": LIST},
        follow_redirects=True)
    # Closing ends the handling: the selection is listed and "I confirm" asked first.
    assert 'name="confirm"' in text(page) and "TS-20261120-0103" in text(page)
    page = client.post(f"{LIST}bulk/close/", data={"rowid": rowids,
                                                    "csrf_token": token(client)})
    assert "Tick “I confirm” to go on." in text(page)
    with app.app_context():
        assert db.session.get(Complaint, ready).status == "callback"
    page = client.post(f"{LIST}bulk/close/", data={
        "rowid": rowids, "csrf_token": token(client), "confirm": "y"}, follow_redirects=True)
    messages = flashes(text(page))
    assert "1 complaint done: TS-20261120-0101." in messages
    assert "2 complaints refused" in messages
    assert "TS-20261120-0102: This complaint needs 1 callback(s)" in messages
    assert "TS-20261120-0103: You cannot close a complaint that is in progress." in messages
    with app.app_context():
        states = [db.session.get(Complaint, i).status for i in (ready, waiting, working)]
        assert states == ["closed", "callback", "in_progress"]


def test_bulk_forward_asks_for_the_department_then_forwards_each(app, org):
    """Forward opens a form listing the selection; submitting forwards those the rules allow."""
    with app.app_context():
        a = make_complaint(status="accepted", number="TS-20261120-0201")
        b = make_complaint(status="accepted", number="TS-20261120-0202")
        c = make_complaint(status="registered", number="TS-20261120-0203",
                           due_at=NOW + timedelta(hours=3))
    client = login(app, "intake")
    csrf = token(client)
    form = client.post(f"{LIST}action/", data={"action": "forward",
                                               "rowid": [str(a), str(b), str(c)],
                                               "csrf_token": csrf, "url": LIST})
    html = text(form)
    assert form.status_code == 200
    assert all(n in html for n in ("TS-20261120-0201", "TS-20261120-0202", "TS-20261120-0203"))
    assert f'<option value="{org.qa}">' in html
    assert f'<option value="{org.closed_dept}">' not in html  # inactive: not offered
    assert f'<option value="{org.cs}">' not in html  # customer service: not a target
    page = client.post(f"{LIST}bulk/forward/", data={
        "rowid": [str(a), str(b), str(c)], "department_id": str(org.log), "csrf_token": csrf},
        follow_redirects=True)
    messages = flashes(text(page))
    assert "2 complaints done: TS-20261120-0201, TS-20261120-0202." in messages
    assert "TS-20261120-0203: You cannot forward a complaint that is registered." in messages
    with app.app_context():
        assert [db.session.get(Complaint, i).department_id for i in (a, b, c)] == [
            org.log, org.log, None]


def test_bulk_forward_to_an_inactive_department_is_refused_for_each(app, org):
    """A crafted inactive department id: every complaint refused with the reason, none moved."""
    with app.app_context():
        a = make_complaint(status="accepted", number="TS-20261120-0301")
        before = snapshot()
    client = login(app, "manager")
    page = client.post(f"{LIST}bulk/forward/", data={
        "rowid": [str(a)], "department_id": str(org.closed_dept), "csrf_token": token(client)},
        follow_redirects=True)
    assert "That department is not active" in flashes(text(page))
    with app.app_context():
        assert snapshot() == before


def test_bulk_escalate_needs_a_reason(app, org):
    """Escalate without a reason refuses each complaint; with one, each goes up a level."""
    with app.app_context():
        a = make_complaint(status="in_progress", department_id=org.qa,
                           assignee_id=org.users["handler_qa"], due_at=NOW + timedelta(days=1))
        before = snapshot()
    client = login(app, "head_qa")
    csrf = token(client)
    page = client.post(f"{LIST}bulk/escalate/", data={"rowid": [str(a)], "reason": " ",
                                                      "csrf_token": csrf}, follow_redirects=True)
    assert "Please fill in the reason." in flashes(text(page))
    with app.app_context():
        assert snapshot() == before
    page = client.post(f"{LIST}bulk/escalate/", data={"rowid": [str(a)], "reason": "客户投诉升级",
                                                      "csrf_token": csrf}, follow_redirects=True)
    assert "1 complaint done" in flashes(text(page))
    with app.app_context():
        assert db.session.get(Complaint, a).escalation_level == 1


def test_bulk_action_without_csrf_changes_nothing(app, org):
    """A bulk close or forward posted without the CSRF token does nothing."""
    with app.app_context():
        a = make_complaint(status="callback", callbacks_reached=1, last_satisfaction="satisfied")
        b = make_complaint(status="accepted")
        before = snapshot()
    client = login(app, "intake")
    client.post(f"{LIST}action/", data={"action": "close", "rowid": [str(a)]})
    client.post(f"{LIST}bulk/forward/", data={"rowid": [str(b)], "department_id": str(org.qa)})
    with app.app_context():
        assert snapshot() == before


def test_list_offers_only_the_users_bulk_actions(app, org, rows):
    """The action menu lists what the role may do in bulk; none for supervisor and handler."""
    def offered(user):
        html = text(login(app, user).get(LIST))
        return set(re.findall(r'data-desk-action="(\w+)"', html))  # templates/admin/actions.html

    assert offered("intake") == {"forward", "escalate", "close"}
    assert offered("manager") == {"forward", "escalate", "close"}
    assert offered("head_qa") == {"escalate"}
    assert offered("supervisor") == set()
    assert offered("handler_qa") == set()
