"""Escalation moves the work: "Escalated to me" and the escalation filter, per level and role.

Level 1 is the department head's (their own department only), level 2 the customer-service
manager's (and an administrator's), level 3 senior management's; a critical complaint is in
the manager's and the executive's queue from registration. Closed complaints never are.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from complaint_helpers import LIST, NOW, login, make_complaint, text

from models import Complaint, db
from rules import Role, Severity, Status
from services import clock
from tests.factories import Desk


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


def numbers(response):
    return set(re.findall(r'<td class="col-number"><a href="[^"]+">([^<]+)</a>', text(response)))


@pytest.fixture
def ladder(app, wide_org):
    """One complaint per escalation situation; returns name -> number."""
    org = wide_org
    qa = dict(department_id=org.qa, assignee_id=org.users["handler_qa"],
              due_at=NOW + timedelta(days=2))
    specs = {
        "qa_head": dict(status=Status.IN_PROGRESS, escalation_level=1, **qa),
        "log_head": dict(status=Status.IN_PROGRESS, escalation_level=1,
                         department_id=org.log, assignee_id=org.users["handler_log"]),
        "unforwarded_l1": dict(status=Status.ACCEPTED, escalation_level=1),
        "manager_l2": dict(status=Status.IN_PROGRESS, escalation_level=2, **qa),
        "top_l3": dict(status=Status.FORWARDED, escalation_level=3, department_id=org.qa),
        "closed_l3": dict(status=Status.CLOSED, escalation_level=3, **qa),
        "closed_l1": dict(status=Status.CLOSED, escalation_level=1, **qa),
        "normal_l0": dict(status=Status.IN_PROGRESS, escalation_level=0, **qa),
    }
    out = {}
    with app.app_context():
        for n, (name, spec) in enumerate(specs.items()):
            cid = make_complaint(number=f"TS-20261120-{n + 1:04d}", **spec)
            out[name] = db.session.get(Complaint, cid).number
        # A critical complaint as registered by customer service: level 2 from the start.
        cid = Desk(org).register(now=NOW, severity=Severity.CRITICAL, title="Critical one")
        critical = db.session.get(Complaint, cid)
        assert critical.escalation_level == 2
        out["critical"] = critical.number
    return out


ESCALATED = {
    "head_qa": {"qa_head"},
    "head_log": {"log_head"},
    "manager": {"unforwarded_l1", "manager_l2", "critical"},
    "admin": {"unforwarded_l1", "manager_l2", "critical"},
    "executive": {"top_l3", "critical"},
    "handler_qa": set(),
    "intake": set(),
    "supervisor": set(),
}


@pytest.mark.parametrize("user", sorted(ESCALATED))
def test_escalated_to_me_lists_what_this_level_owns(app, wide_org, ladder, user):
    """?queue=escalated: exactly the open complaints escalated to this user's level."""
    page = login(app, user).get(f"{LIST}?queue=escalated")
    assert page.status_code == 200
    assert numbers(page) == {ladder[name] for name in ESCALATED[user]}


@pytest.mark.parametrize("user, shown", [("head_qa", True), ("manager", True),
                                         ("executive", True), ("admin", True),
                                         ("handler_qa", False), ("intake", False),
                                         ("supervisor", False)])
def test_escalated_tab_only_for_those_who_receive_escalations(app, wide_org, user, shown):
    """The "Escalated to me" tab is offered to heads, managers and senior management."""
    html = text(login(app, user).get(LIST))
    assert ("queue-escalated" in html) is shown


@pytest.mark.parametrize("user, level, expected", [
    ("manager", 1, {"qa_head", "log_head", "unforwarded_l1", "closed_l1"}),
    ("manager", 2, {"manager_l2", "critical"}),
    ("manager", 3, {"top_l3", "closed_l3"}),
    ("executive", 3, {"top_l3", "closed_l3"}),
    ("head_qa", 1, {"qa_head", "closed_l1"}),  # their own department only (scope)
    ("head_log", 1, {"log_head"}),
    ("handler_qa", 1, {"qa_head", "closed_l1"}),  # assigned to them
    ("handler_qa", 3, {"closed_l3"}),
])
def test_escalation_filter_by_level_within_scope(app, wide_org, ladder, user, level, expected):
    """?flt0_escalation_level_equals=N: the complaints at that level that the user may see."""
    page = login(app, user).get(f"{LIST}?flt0_escalation_level_equals={level}")
    assert numbers(page) == {ladder[name] for name in expected}


def test_escalation_filter_combines_with_the_escalated_queue(app, wide_org, ladder):
    """The manager's escalated queue filtered to level 2 keeps level-2 complaints only."""
    page = login(app, "manager").get(f"{LIST}?queue=escalated&flt0_escalation_level_equals=2")
    assert numbers(page) == {ladder["manager_l2"], ladder["critical"]}


def test_escalation_filter_rejects_an_unknown_level(app, wide_org, ladder):
    """A level outside 0–3 is not applied: Flask-Admin says the value is invalid."""
    page = login(app, "manager").get(f"{LIST}?flt0_escalation_level_equals=9")
    assert "Invalid Filter Value" in text(page)


def test_escalation_filter_options_are_the_level_owners(app, wide_org):
    """The filter offers the four levels by who owns them, in English here."""
    html = text(login(app, "manager").get(LIST))
    for owner in ("Handler", "Department head", "Customer-service manager", "Senior management"):
        assert owner in html, owner


def _tile(html):
    match = re.search(r'class="dash-escalated" href="([^"]+)">(\d+)</a>', html)
    return (int(match.group(2)), match.group(1).replace("&amp;", "&")) if match else None


@pytest.mark.parametrize("user", sorted(ESCALATED))
def test_dashboard_tile_counts_and_links_to_the_queue(app, wide_org, ladder, user):
    """Heads, managers and executives get an "Escalated to me" tile whose count is the
    number of rows its link lists; the others get no tile."""
    client = login(app, user)
    home = client.get("/admin/")
    assert home.status_code == 200
    tile = _tile(text(home))
    # (The administrator's home page is the system's health, calendar and deliveries; their
    # escalated queue stays in the list.)
    if user in ("handler_qa", "intake", "supervisor", "admin"):
        assert tile is None
        return
    count, url = tile
    assert count == len(ESCALATED[user])
    assert numbers(client.get(url)) == {ladder[name] for name in ESCALATED[user]}


def test_executive_has_a_dashboard_in_chinese(app, wide_org, ladder):
    """Senior management's home page, with its tile, for a zh-CN browser."""
    html = text(login(app, "executive").get("/admin/",
                                            headers={"Accept-Language": "zh-CN"}))
    assert "升级给我" in html
    assert _tile(html)[0] == 2


def test_role_constants_cover_the_escalation_owners():
    """The roles offered the queue are those rules.escalated_to can ever pick."""
    from services.queues import has_escalation_queue

    owners = {role for role in Role.ALL if has_escalation_queue(role)}
    assert owners == {Role.DEPT_HEAD, Role.MANAGER, Role.ADMIN, Role.EXECUTIVE}
