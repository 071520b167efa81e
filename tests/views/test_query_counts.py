"""SQL statements per complaint list page (issue 13): a fixed, small number for every role and
queue, whatever the number of rows — the user with their settings in one lookup, the page
with its capped total in one SELECT, the bell's count; departments, categories, staff names
and the calendar from services.reference, re-read only after a write or when the copy
expires (a minute: other hosts)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from complaint_helpers import LIST, NOW, login, make_complaint, text
from sqlalchemy import create_engine, select, update

from models import Category, Department, Setting, db
from models.settings import SUPERVISOR_CALLBACKS, YES
from rules import Role
from services import clock, reference
from services.auth import create_user
from tests.factories import recorded_statements

# Every list page of every role: at most this many statements (BEGIN included on SQLite).
MAX_STATEMENTS = 5
USERS = ("admin", "intake", "manager", "supervisor", "head_qa", "handler_qa", "head_hr",
         "executive")
QUEUES = ("", "?queue=mine", "?queue=all", "?queue=escalated", "?queue=extensions",
          "?queue=plans", "?queue=upstream", "?queue=assisting",
          "?queue=all&flt0_status_equals=in_progress&sort=10", "?queue=all&page_size=20")


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


def _kind(statement: str) -> str:
    """What a statement is for: the page's own SELECT, the user, the bell, BEGIN …"""
    s = " ".join(statement.split())
    if s.upper().startswith("BEGIN"):
        return "begin"
    if "desk_list_total" in s:
        return "page"
    if re.match(r"SELECT staff\.id, .* WHERE staff\.session_token = ", s):
        return "user"
    if re.match(r"SELECT count\(\*\) .*FROM notification\b", s):
        return "bell"
    return s[:120]


def _page(app, client, url):
    client.get(url)  # warm: after a write the first page re-reads the reference tables
    with recorded_statements(app) as seen:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return [_kind(s) for s in seen if _kind(s) != "begin"], len(seen)


def _fill(app, org, n, start=0):
    """2n open complaints: n over n new departments, handlers and the categories, n in QA."""
    with app.app_context():
        categories = db.session.scalars(select(Category.code)).all()
        for i in range(start, start + n):
            dept = Department(code=f"Q{i}", name=f"Dept {i}", active=True)
            db.session.add(dept)
            db.session.commit()
            person = create_user(f"q{i}", f"Handler {i}", Role.HANDLER, "test-pass-123",
                                 department_id=dept.id)
            make_complaint(status="in_progress", department_id=dept.id, assignee_id=person.id,
                           due_at=NOW + timedelta(hours=i + 1), category=categories[i % 6],
                           escalation_level=i % 3)
            make_complaint(status="forwarded", department_id=org.qa,
                           assignee_id=org.users["handler_qa"], due_at=NOW - timedelta(hours=i))


@pytest.mark.parametrize("user", USERS)
def test_every_queue_of_every_role_sends_the_same_three_statements(app, wide_org, user):
    """The user lookup, the page's SELECT (with its capped total) and the bell: nothing per
    row, no filter choices, no settings, no calendar — few rows or a full page alike."""
    org = wide_org
    _fill(app, org, 3)
    client = login(app, user)
    few = {url: _page(app, client, f"{LIST}{url}") for url in QUEUES}
    _fill(app, org, 30, start=3)
    many = {url: _page(app, client, f"{LIST}{url}") for url in QUEUES}
    for url in QUEUES:
        assert few[url][0] == ["user", "page", "bell"], (url, few[url])
        assert many[url] == few[url], url
        assert few[url][1] <= MAX_STATEMENTS, (url, few[url])


def test_a_supervisor_who_calls_back_gets_the_setting_with_the_login_lookup(app, org):
    """The company setting that gives supervisors the callbacks shapes their queue: read in
    the user's own lookup, fresh on every page (no statement of its own)."""
    with app.app_context():
        db.session.merge(Setting(key=SUPERVISOR_CALLBACKS, value=YES))
        db.session.commit()
        make_complaint(status="callback", number="TS-20261120-0777")
    client = login(app, "supervisor")
    kinds, _count = _page(app, client, LIST)
    assert kinds == ["user", "page", "bell"]
    assert "TS-20261120-0777" in text(client.get(LIST))


def test_a_search_or_a_page_past_the_end_adds_one_statement(app, org):
    """A search asks the index once (services.search); a page past the last one counts on
    its own (nothing carried the total, list_total.py): four statements, five with BEGIN."""
    _fill(app, org, 3)
    client = login(app, "manager")
    for url in ("?search=Dept", "?search=13800138000", "?queue=all&page=3"):
        kinds, count = _page(app, client, f"{LIST}{url}")
        assert kinds[0] == "user" and kinds[-1] == "bell", (url, kinds)
        assert len(kinds) == 4 and count <= MAX_STATEMENTS, (url, kinds)


def _choices(html):
    """The filters' choices as the page hands them to Flask-Admin's script."""
    return re.search(r'<div id="filter-groups-data"[^>]*>(.*?)</div>', html, re.S).group(1)


def test_an_edit_in_this_process_shows_on_the_next_page(app, org):
    """Renaming a department or a category (as the administrator's screen does, through
    the ORM) drops the copies at once: the filter's choices and the rows show the new name."""
    _fill(app, org, 2)
    client = login(app, "manager")
    assert "Dept 0" in text(client.get(f"{LIST}?queue=all"))
    with app.app_context():
        db.session.scalar(select(Department).where(Department.code == "Q0")).name = "Renamed 0"
        db.session.commit()
    html = text(client.get(f"{LIST}?queue=all"))
    assert "Renamed 0" in html and "Dept 0" not in html
    assert "Renamed 0" in _choices(html)


def test_a_write_from_another_host_shows_when_the_copy_expires(app, org, monkeypatch):
    """A change this process did not make (another web host) is seen within the copy's
    lifetime (REFERENCE_CACHE_SECONDS, 60 s): not before, and not later."""
    _fill(app, org, 2)
    client = login(app, "manager")
    started = 1000.0
    monkeypatch.setattr(reference, "monotonic", lambda: started)
    assert "Dept 1" in text(client.get(f"{LIST}?queue=all"))
    other_host = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    with other_host.begin() as conn:
        conn.execute(update(Department).where(Department.code == "Q1").values(name="Elsewhere"))
    other_host.dispose()
    monkeypatch.setattr(reference, "monotonic", lambda: started + 59)
    assert "Dept 1" in text(client.get(f"{LIST}?queue=all"))
    monkeypatch.setattr(reference, "monotonic", lambda: started + 61)
    html = text(client.get(f"{LIST}?queue=all"))
    assert "Elsewhere" in html and "Dept 1" not in html


def test_a_name_missing_from_the_copy_is_read_once(app, org, monkeypatch):
    """A staff member added on another host since the copy was made: the page re-reads the
    staff names once rather than show an empty assignee."""
    _fill(app, org, 1)
    client = login(app, "manager")
    client.get(f"{LIST}?queue=all")
    with app.app_context():
        dept = db.session.scalar(select(Department.id).where(Department.code == "Q0"))
    monkeypatch.setattr(reference, "invalidate", lambda *a, **k: None)  # unseen writes
    with app.app_context():
        person = create_user("late", "Late Arrival", Role.HANDLER, "test-pass-123",
                             department_id=dept)
        make_complaint(status="in_progress", department_id=dept, assignee_id=person.id,
                       number="TS-20261120-0888")
    with recorded_statements(app) as seen:
        html = text(client.get(f"{LIST}?queue=all"))
    assert "Late Arrival" in html
    assert sum(1 for s in seen if s.lstrip().startswith("SELECT staff.id, staff.full_name")) == 1
