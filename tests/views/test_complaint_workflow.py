"""Every workflow action through the browser's forms, as the right role: status, event, flash.

A refused action shows the rules' reason and changes nothing; so does a form without its
CSRF token or with a stale version.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from complaint_helpers import (
    LIST,
    NOW,
    act,
    act_url,
    click,
    events_of,
    flashes,
    login,
    make_complaint,
    snapshot,
    text,
    token,
)
from sqlalchemy import select

from models import CallbackRecord, Complaint, db
from services import clock


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


def status_of(app, cid):
    with app.app_context():
        return db.session.get(Complaint, cid).status


def register_by_form(app, client, **overrides):
    """Fill in the registration form as a clerk; returns the new complaint's id."""
    data = {"kind": "complaint", "channel": "hotline", "customer_name": "张三",
            "customer_phone": "+86 138 0013 8000", "customer_email": "", "customer_class": "B",
            "severity": "normal", "title": "冰箱不制冷", "description": "一周后不制冷",
            "demand": "换新", "received_at": ""}
    with app.app_context():
        from models import Category

        data["category_id"] = str(db.session.scalar(
            select(Category.id).filter_by(code="product_quality")))
    data.update(overrides)
    data["csrf_token"] = token(client, f"{LIST}new/")
    response = client.post(f"{LIST}new/", data=data, follow_redirects=True)
    assert response.status_code == 200
    with app.app_context():
        return db.session.scalar(select(Complaint.id).order_by(Complaint.id.desc()).limit(1))


def test_registration_to_closed_entirely_in_the_browser(app, org):
    """Register, accept, forward, assign, resolve, approve, two callbacks, close — by form."""
    intake = login(app, "intake")
    cid = register_by_form(app, intake)
    with app.app_context():
        c = db.session.get(Complaint, cid)
        assert (c.status, c.customer_phone_norm, c.callbacks_required) == (
            "registered", "13800138000", 2)
        number = c.number

    page = click(intake, cid, "accept")
    assert "Accept: done for " + number in flashes(text(page))
    assert status_of(app, cid) == "accepted"

    page = act(intake, cid, "forward", department_id=str(org.qa), assignee_id="")
    assert "Status: Forwarded" in flashes(text(page))

    head = login(app, "head_qa")
    page = act(head, cid, "assign", assignee_id=str(org.users["handler_qa"]))
    assert "Status: In progress" in flashes(text(page))

    handler = login(app, "handler_qa")
    page = act(handler, cid, "resolve", root_cause="压缩机批次缺陷", responsibility="company",
               remedy="exchange", compensation_amount="", resolution="已换新机")
    assert "Status: Resolved" in flashes(text(page))

    page = click(intake, cid, "review_approve")
    assert "Status: Awaiting callback" in flashes(text(page))
    for _ in range(2):
        page = act(intake, cid, "callback", method="phone", reached="yes",
                   satisfaction="satisfied", solved="yes", notes="满意")
        assert "Record callback: done" in flashes(text(page))
    page = click(intake, cid, "close")
    assert "Status: Closed" in flashes(text(page))

    with app.app_context():
        c = db.session.get(Complaint, cid)
        assert (c.status, c.department_id, c.assignee_id) == (
            "closed", org.qa, org.users["handler_qa"])
        assert c.final_satisfaction == "satisfied"
        actions = [e.action for e in events_of(cid)]
        assert actions == ["register", "accept", "forward", "assign", "resolve", "review_approve",
                           "callback", "callback", "close"]
        assert db.session.scalar(select(db.func.count()).select_from(CallbackRecord)) == 2
    timeline = text(intake.get(f"{LIST}details/?id={cid}"))
    timeline = timeline[timeline.index("complaint-timeline"):]
    for label in ("Accept", "Forward", "Assign", "Resolve", "Approve result", "Callback (",
                  "Close", "已换新机", "Handler Qa", "Head Qa", "Intake", "Satisfied"):
        assert label in timeline
    # one line per callback (its record and its event shown together)
    assert timeline.count('<tr class="timeline-callback">') == 2
    assert "Record callback" not in timeline


def _started(app, org, status="in_progress", **fields):
    with app.app_context():
        values = {"department_id": org.qa, "assignee_id": org.users["handler_qa"],
                  "due_at": NOW + timedelta(days=3)}
        if status in ("registered", "accepted", "rejected"):
            values = {"department_id": None, "assignee_id": None,
                      "due_at": NOW + timedelta(hours=5) if status == "registered" else None}
        values.update(fields)
        return make_complaint(status=status, **values)


# (start status, user, action, form data, expected status, expected flash piece)
ACTIONS = [
    ("registered", "intake", "reject", {"reason": "重复投诉"}, "rejected", "Reject: done"),
    ("forwarded", "head_qa", "return", {"reason": "不属于本部门"}, "accepted", "Status: Accepted"),
    ("resolved", "intake", "review_send_back", {"reason": "结果不完整"}, "in_progress",
     "Send back: done"),
    ("in_progress", "manager", "force_close", {"reason": "客户撤诉"}, "closed", "Force-close"),
    ("closed", "manager", "reopen", {"reason": "客户再次投诉"}, "in_progress", "Reopen: done"),
    ("in_progress", "head_qa", "escalate", {"reason": "客户多次催促"}, "in_progress",
     "Escalate: done"),
    ("in_progress", "handler_qa", "extend_request",
     {"new_due": "2026-12-10T18:00", "reason": "等待配件"}, "in_progress", "Request extension"),
    ("in_progress", "supervisor", "urge", {"note": "请尽快处理"}, "in_progress", "Urge: done"),
    ("callback", "intake", "callback",
     {"method": "phone", "reached": "yes", "satisfaction": "unsatisfied", "solved": "no"},
     "in_progress", "Record callback: done"),
    ("accepted", "intake", "forward",
     {"department_id": "{qa}", "assignee_id": "{handler_qa}"}, "in_progress", "Forward: done"),
    # Issue 7: the customer told why the complaint is invalid; a progress note; answered on
    # the spot; a rejected complaint reopened; an instruction from senior management.
    ("rejected", "intake", "reply", {"method": "phone", "note": "已告知重复投诉"}, "closed",
     "Reply to customer (invalid): done"),
    ("in_progress", "handler_qa", "note", {"note": "已联系厂家"}, "in_progress",
     "Progress note: done"),
    ("registered", "intake", "resolve",
     {"root_cause": "使用不当", "responsibility": "customer", "remedy": "explanation",
      "resolution": "电话中已说明使用方法"}, "callback", "Status: Awaiting callback"),
    ("rejected", "manager", "reopen", {"reason": "复核为有效投诉"}, "accepted", "Reopen: done"),
    ("in_progress", "executive", "instruct", {"note": "三日内给客户答复"}, "in_progress",
     "Instruction: done"),
]


@pytest.mark.parametrize("start, user, action, data, expected, message", ACTIONS,
                         ids=[f"{a[2]}-{a[1]}" for a in ACTIONS])
def test_each_action_through_its_form(app, wide_org, start, user, action, data, expected,
                                      message):
    """The action's form changes the status as the rules say, writes its event, flashes."""
    org = wide_org
    cid = _started(app, org, start)
    fill = {k: v.format(qa=org.qa, handler_qa=org.users["handler_qa"]) for k, v in data.items()}
    page = act(login(app, user), cid, action, **fill)
    assert page.status_code == 200
    assert message in flashes(text(page))
    with app.app_context():
        c = db.session.get(Complaint, cid)
        assert c.status == expected
        last = events_of(cid)[-1]
        assert (last.action, last.actor_id, last.to_status) == (action, org.users[user], expected)


def test_extension_decided_by_the_department_head(app, org):
    """A handler's extension request, then the head approves it: the deadline moves."""
    cid = _started(app, org)
    act(login(app, "handler_qa"), cid, "extend_request", new_due="2026-12-10T18:00",
        reason="等待配件")
    page = act(login(app, "head_qa"), cid, "extend_decide", approve="approve", note="同意")
    assert "Decide extension: done" in flashes(text(page))
    with app.app_context():
        c = db.session.get(Complaint, cid)
        assert c.resolve_due.isoformat() == "2026-12-10T18:00:00"
        assert c.extension_requested_by_id is None and c.extension_count == 1


def test_accept_without_a_category_is_refused_with_the_reason(app, org):
    """A complaint without a category cannot be accepted: no button, and the rules' reason."""
    cid = _started(app, org, "registered", category_id=None)
    client = login(app, "intake")
    html = text(client.get(f"{LIST}details/?id={cid}"))
    assert "/act/accept/" not in html
    with app.app_context():
        before = snapshot()
    data = {"csrf_token": token(client), "version": "1"}
    page = client.post(act_url(cid, "accept"), data=data, follow_redirects=True)
    assert "Choose the complaint&#39;s category before accepting it." in flashes(text(page))
    with app.app_context():
        assert snapshot() == before


def test_answered_on_the_spot_uses_the_result_form(app, org):
    """Customer service resolving a registered complaint sees the department's result form."""
    cid = _started(app, org, "registered")
    html = text(login(app, "intake").get(act_url(cid, "resolve")))
    for name in ("root_cause", "responsibility", "remedy", "compensation_amount", "resolution"):
        assert f'name="{name}"' in html, name


def test_refused_action_shows_the_rules_reason_and_changes_nothing(app, org):
    """Rejecting without a reason: the form comes back with the rule's message, nothing saved."""
    cid = _started(app, org, "registered")
    with app.app_context():
        before = snapshot()
    page = act(login(app, "intake"), cid, "reject", reason="   ")
    assert page.status_code == 200
    assert "Please fill in the reason." in flashes(text(page))
    with app.app_context():
        assert snapshot() == before


def test_close_refused_until_callbacks_are_done(app, org):
    """Closing a complaint awaiting callback without one: the rules' reason, nothing changed."""
    cid = _started(app, org, "callback")
    client = login(app, "intake")
    with app.app_context():
        before = snapshot()
    data = {"csrf_token": token(client), "version": "1"}
    page = client.post(act_url(cid, "close"), data=data, follow_redirects=True)
    assert "callback(s) that reached the customer before it can be closed" in flashes(text(page))
    with app.app_context():
        assert snapshot() == before


def test_action_form_of_an_action_not_allowed_now_redirects_with_the_reason(app, org):
    """Opening 'close' on a registered complaint explains why and stays on the complaint."""
    cid = _started(app, org, "registered")
    client = login(app, "intake")
    with app.app_context():
        before = snapshot()
    page = client.get(act_url(cid, "close"), follow_redirects=True)
    assert "You cannot close a complaint that is registered." in flashes(text(page))
    assert page.history[0].status_code == 302
    assert page.request.path == f"{LIST}details/" and page.request.args["id"] == str(cid)
    with app.app_context():
        assert snapshot() == before


def test_missing_csrf_token_changes_nothing(app, org):
    """An action posted without its CSRF token is refused and writes nothing."""
    cid = _started(app, org, "registered")
    client = login(app, "intake")
    with app.app_context():
        before = snapshot()
    page = client.post(act_url(cid, "accept"), data={"version": "1"}, follow_redirects=True)
    assert "nothing was saved" in flashes(text(page))  # (issue 11: in words, not "CSRF")
    page = client.post(act_url(cid, "reject"), data={"version": "1", "reason": "x",
                                                     "csrf_token": "forged##token"},
                       follow_redirects=True)
    assert "nothing was saved" in flashes(text(page))
    with app.app_context():
        assert snapshot() == before


def test_stale_version_gets_the_changed_by_someone_else_message(app, org):
    """Two clerks open the same form; the second submit is refused and nothing is overwritten."""
    cid = _started(app, org, "registered")
    first, second = login(app, "intake"), login(app, "manager")
    old_form = text(second.get(act_url(cid, "reject")))
    assert 'name="version"' in old_form
    click(first, cid, "accept")
    with app.app_context():
        before = snapshot()
    data = {"csrf_token": token(second), "version": "1", "reason": "duplicate", "confirm": "y"}
    page = second.post(act_url(cid, "reject"), data=data, follow_redirects=True)
    assert "changed by someone else" in flashes(text(page))
    with app.app_context():
        assert snapshot() == before
        assert db.session.get(Complaint, cid).status == "accepted"


def test_a_form_without_version_counts_as_stale(app, org):
    """Leaving out the hidden version never skips the check."""
    cid = _started(app, org, "registered")
    client = login(app, "intake")
    with app.app_context():
        before = snapshot()
    page = client.post(act_url(cid, "accept"), data={"csrf_token": token(client)},
                       follow_redirects=True)
    assert "changed by someone else" in flashes(text(page))
    with app.app_context():
        assert snapshot() == before


def test_detail_page_offers_exactly_the_allowed_actions(app, wide_org):
    """The buttons are those rules.allowed_actions returns for this user now."""
    cid = _started(app, wide_org, "in_progress")
    expected = {
        # (a handling plan may be submitted for approval whether or not the policy asks)
        "handler_qa": {"resolve", "extend_request", "note", "plan_submit"},
        "head_qa": {"return", "assign", "resolve", "escalate", "extend_request", "note",
                    "plan_submit", "assist_add"},
        "supervisor": {"urge"},
        "intake": {"escalate", "merge", "assist_add"},
        "manager": {"assign", "force_close", "escalate", "urge", "merge", "assist_add"},
        "executive": {"urge", "instruct"},
    }
    import re

    for user, actions in expected.items():
        html = text(login(app, user).get(f"{LIST}details/?id={cid}"))
        shown = set(re.findall(r'/admin/complaint/act/(\w+)/\?id=', html))
        assert shown == actions, user


def test_detail_and_timeline_in_chinese(app, org):
    """A zh-CN browser reads the status, the actions and the timeline's labels in Chinese."""
    cid = _started(app, org, "registered")
    client = login(app, "intake")
    click(client, cid, "accept")
    html = text(client.get(f"{LIST}details/?id={cid}",
                           headers={"Accept-Language": "zh-CN,zh;q=0.9"}))
    timeline = html[html.index("complaint-timeline"):]
    assert "已登记" in timeline and "受理" in timeline  # Registered → Accepted, the action
    assert "action-forward" in html and "Forward" not in html[html.index("complaint-actions"):
                                                                html.index("complaint-fields")]


def test_forward_form_lists_only_departments_that_can_take_the_complaint(app, wide_org):
    """Active, not customer service, with an active head or handler: QA, LOG and HR — not
    customer service, not the inactive OLD; GMO (senior management only) is shown disabled
    with the reason (issue 11)."""
    import re

    cid = _started(app, wide_org, "accepted")
    html = text(login(app, "intake").get(act_url(cid, "forward")))
    select_html = re.search(r'<select[^>]*name="department_id"[^>]*>(.*?)</select>', html,
                            re.S).group(1)
    offered = set(re.findall(r'<option(?![^>]*disabled)[^>]*value="(\d+)"', select_html))
    org = wide_org
    assert offered == {str(org.qa), str(org.log), str(org.hr)}
    disabled = re.findall(r'<option[^>]*disabled[^>]*value="(\d+)"|<option[^>]*value="(\d+)"'
                          r'[^>]*disabled', select_html)
    assert {a or b for a, b in disabled} == {str(org.gmo)}
    assert "Nobody in that department could take the complaint" in select_html
