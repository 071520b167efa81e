"""The search box through the screens, as each role: fragments of every kind, scope,
ranking, the supervisor's contact search (logged, never echoed), bad input, navbar box."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from complaint_helpers import LIST, NOW, login, make_complaint, text
from sqlalchemy import select

from admin_views.params import MAX_ARG_LENGTH
from models import AdminEvent, Staff, db
from models.engine import write_transaction
from rules.admin_events import CONTACT_SEARCHED
from services import clock, queries
from services.search_index import refresh_ids
from tests.factories import recorded_statements

ROLES = ["admin", "intake", "manager", "supervisor", "head_qa", "handler_qa", "handler_qa2",
         "head_log", "handler_log"]


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


def numbers(response):
    assert response.status_code == 200, response.status_code
    return re.findall(r'<td class="col-number"><a href="[^"]+">([^<]+)</a>', text(response))


@pytest.fixture
def kettle(app, org):
    """A QA complaint assigned to handler_qa, and one of logistics' (same phone tail)."""
    with app.app_context():
        qa = make_complaint(number="TS-20261130-0010", status="in_progress",
                            department_id=org.qa, assignee_id=org.users["handler_qa"],
                            customer_name="张三丰", phone="13812345678",
                            title="电水壶漏电", description="底座漏电，外壳发烫",
                            received_at=NOW - timedelta(days=3))
        log = make_complaint(number="TS-20261130-0011", status="forwarded",
                             department_id=org.log, customer_name="李四",
                             phone="013812345678", title="快递破损",
                             received_at=NOW - timedelta(days=1))
    return {"qa": qa, "log": log}


FRAGMENTS = ["0010", "20261130-0010", "TS-20261130-0010", "5678", "13812345678",
             "+86 138-1234-5678", "三丰", "张三丰", "漏电", "电水壶", "发烫"]


@pytest.mark.parametrize("role", ROLES)
def test_every_fragment_finds_the_complaint_only_inside_the_scope(app, org, kettle, role):
    with app.app_context():
        actor = db.session.scalar(select(Staff).filter_by(username=role)).actor
        sees = queries.in_scope(actor, kettle["qa"])
    client = login(app, role)
    for term in FRAGMENTS:
        got = numbers(client.get(LIST, query_string={"search": term}))
        assert ("TS-20261130-0010" in got) == sees, (role, term, got)
    assert numbers(client.get(LIST, query_string={"search": "冰箱"})) == []


def test_exact_phone_and_number_hits_come_first(app, org, kettle):
    client = login(app, "manager")
    # Both phones end in 13812345678; the newer one would come first by date.
    assert numbers(client.get(LIST, query_string={"search": "13812345678"})) == [
        "TS-20261130-0010", "TS-20261130-0011"]
    assert numbers(client.get(LIST, query_string={"search": "5678"})) == [
        "TS-20261130-0011", "TS-20261130-0010"]  # no exact hit: newest first
    with app.app_context():
        make_complaint(number="TS-20261201-0010", received_at=NOW)  # a later …-0010
    assert numbers(client.get(LIST, query_string={"search": "20261130-0010"})) == [
        "TS-20261130-0010"]
    assert numbers(client.get(LIST, query_string={"search": "0010"}))[0] == "TS-20261201-0010"


def _contact_events(app):
    with app.app_context():
        return db.session.scalars(select(AdminEvent).where(
            AdminEvent.action == CONTACT_SEARCHED).order_by(AdminEvent.id)).all()


@pytest.mark.parametrize("term, digits", [("13812345678", "13812345678"),
                                          ("+86 138-1234-5678", "1234"),
                                          ("wang.fang@example.com", "wang.fang")])
def test_supervisor_contact_search_is_logged_and_never_echoed(app, org, kettle, term, digits):
    with app.app_context():
        db.session.execute(db.text("UPDATE complaint SET customer_email = "
                                   "'wang.fang@example.com' WHERE id = :i"), {"i": kettle["qa"]})
        db.session.commit()
        with write_transaction(db.session):
            refresh_ids(db.session.connection(), [kettle["qa"]])
    client = login(app, "supervisor")
    response = client.get(LIST, query_string={"search": term, "page_size": 20})
    body = text(response)
    assert "TS-20261130-0010" in numbers(response)  # found …
    assert digits not in body and term not in body  # … but the box, links, title are clean
    # Said to be a search (not taken for the supervisor's own queue).
    assert "the number is not shown" in body and "Showing your queue" not in body
    (event,) = _contact_events(app)
    assert event.actor_id == org.users["supervisor"]
    assert digits not in (event.detail or "") and "search" in event.detail


def test_contact_roles_are_not_logged_and_see_their_term(app, org, kettle):
    client = login(app, "intake")
    body = text(client.get(LIST, query_string={"search": "13812345678"}))
    assert 'value="13812345678"' in body
    assert _contact_events(app) == []
    supervisor = login(app, "supervisor")
    body = text(supervisor.get(LIST, query_string={"search": "5678"}))  # a tail: no contact
    assert _contact_events(app) == [] and 'value="5678"' in body


BAD = ["%", "_", "%_%", "'", '"', "''; DROP TABLE complaint; --", "\x00", "a\x00b", "漏\x00电",
       "x" * 10_000, "电" * 10_000, "1" * 10_000, "!!!", "？？。。", "*", '"漏电"*', "NEAR(a b)",
       "a OR b", "a AND", "(", ")", "-1", "+", "+86", "@", "a@", "@b.c", "\\", "::*", "'n_':*",
       "\u202e", "\ufeff漏电", "TS-", "ts-%", " ", "\t\n"]


@pytest.mark.parametrize("role", ["supervisor", "head_qa"])
def test_bad_input_is_empty_or_sensible_never_500(app, org, kettle, role):
    client = login(app, role)
    for term in BAD:
        response = client.get(LIST, query_string={"search": term})
        # a control character (NUL, LF…) or a value longer than MAX_ARG_LENGTH in the query
        # string is refused whole (400, admin_views/params.py) before any view runs
        refused = len(term) > MAX_ARG_LENGTH or any(ord(c) < 32 for c in term)
        expected = 400 if refused else 200
        assert response.status_code == expected, (term[:20], response.status_code)
    assert "TS-20261130-0010" in numbers(client.get(LIST, query_string={"search": "\ufeff漏电"}))
    assert numbers(client.get(LIST, query_string={"search": "%_'\""})) == []
    short = client.get(LIST, query_string={"search": "12"})
    assert numbers(short) == [] and "at least 3 digits" in text(short)
    long_words = "漏电 " * (MAX_ARG_LENGTH // 3)  # as long as a query string may be
    assert client.get(LIST, query_string={"search": long_words}).status_code == 200


def test_the_navbar_box_goes_to_the_searched_list(app, org, kettle):
    client = login(app, "manager")
    body = text(client.get("/admin/"))
    form = re.search(r'<form method="get" action="([^"]+)" class="form-inline desk-search'
                     r'[^>]*>(.*?)</form>', body, re.S)
    assert form and form.group(1) == LIST and 'name="search"' in form.group(2)
    assert numbers(client.get(form.group(1), query_string={"search": "三丰"})) == [
        "TS-20261130-0010"]


def test_a_search_page_runs_a_fixed_number_of_statements(app, org, kettle):
    client = login(app, "manager")

    def count(url):
        with recorded_statements(app) as seen:
            assert client.get(url).status_code == 200
        return len(seen)

    plain = count(f"{LIST}?queue=all")
    few = count(f"{LIST}?search=0010")
    with app.app_context():
        for n in range(30):
            make_complaint(number=f"TS-2026112{n % 10}-{n:02d}10", department_id=org.qa,
                           status="forwarded")
    many = count(f"{LIST}?search=0010")
    # the same statements whatever the hits; SQLite asks its index once more how dense the
    # hits are (services.search._dense)
    assert few == many == plain + (1 if app.config["SQLALCHEMY_DATABASE_URI"]
                                   .startswith("sqlite") else 0)


def test_many_hits_are_listed_in_the_same_order(app, org, kettle, monkeypatch):
    """SQLite's plan for many hits (order index probed) lists what the other plan lists."""
    from services import search as search_service

    with app.app_context():
        for n in range(12):
            make_complaint(number=f"TS-20261125-{n:04d}", title="电水壶又漏电",
                           received_at=NOW - timedelta(hours=n * 7 % 12))
    client = login(app, "manager")
    sparse = numbers(client.get(LIST, query_string={"search": "漏电", "page_size": 20}))
    monkeypatch.setattr(search_service, "DENSE", 3)
    dense = numbers(client.get(LIST, query_string={"search": "漏电", "page_size": 20}))
    assert len(sparse) == 13 and dense == sparse
