"""处理方案 through the screens: the plan's approval (normal, and critical with senior
management), the customer's answer (agreed, declined), a returned plan, resolving refused
without an agreed plan when the SLA policy asks for one, the queues and tiles, the SLA
policy form, and the sweep of a missed plan clock."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

import pytest
from complaint_helpers import (
    LIST,
    NOW,
    act,
    events_of,
    flashes,
    login,
    make_complaint,
    text,
    token,
)
from sqlalchemy import select, update

from models import (
    AccountabilityRecord,
    Complaint,
    Department,
    HandlingPlan,
    Notification,
    SlaPolicy,
    db,
)
from rules.constants import Clock, PlanState
from services import clock

PLAN = "换新机，并退还运费；三日内上门。"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


def require_plans(app):
    with app.app_context():
        db.session.execute(update(SlaPolicy).values(plan_required=True))
        db.session.commit()


def started(app, org, **fields):
    """A complaint with QA, assigned to handler_qa, its resolve clock running."""
    with app.app_context():
        due = NOW + timedelta(days=5)
        values = dict(status="in_progress", department_id=org.qa,
                      assignee_id=org.users["handler_qa"], resolve_due=due, due_at=due,
                      due_kind=Clock.RESOLVE)
        return make_complaint(**{**values, **fields})


def row(app, cid) -> Complaint:
    with app.app_context():
        c = db.session.get(Complaint, cid)
        db.session.expunge(c)
        return c


def details(client, cid) -> str:
    return html_lib.unescape(text(client.get(f"{LIST}details/?id={cid}")))


def tile(html, css="dash-plans"):
    match = re.search(r'class="[^"]*\b' + css + r'" href="([^"]+)">(\d+)</a>', html)
    return (int(match.group(2)), match.group(1).replace("&amp;", "&")) if match else None


def listed(client, url):
    return re.findall(r'<td class="col-number"><a href="[^"]+">([^<]+)</a>',
                      text(client.get(url)))


def resolve(client, cid, **extra):
    return act(client, cid, "resolve", root_cause="批次缺陷", responsibility="company",
               remedy="exchange", compensation_amount="", resolution="已换新机", **extra)


def test_plan_approved_agreed_then_resolved(app, org):
    """Handler submits, head approves (from their queue), the clerk records the customer's
    agreement (from theirs), and only then the handler resolves."""
    require_plans(app)
    cid = started(app, org)
    number = row(app, cid).number
    handler = login(app, "handler_qa")

    # No plan yet: the page shows resolving as not yet possible, with why; the form is
    # not even opened (and a forged post is refused the same way); nothing changes.
    html = details(handler, cid)
    assert "action-blocked-resolve" in html
    assert "needs a handling plan" in html and "no plan has been submitted" in html
    opened = handler.get(f"{LIST}act/resolve/?id={cid}", follow_redirects=True)
    assert "needs a handling plan" in text(opened)
    assert row(app, cid).status == "in_progress"

    page = act(handler, cid, "plan_submit", plan=PLAN)
    assert "Submit handling plan: done for " + number in flashes(text(page))
    c = row(app, cid)
    assert (c.plan_state, c.plan_submitted_by_id, c.due_kind) == (
        PlanState.SUBMITTED, org.users["handler_qa"], Clock.PLAN)
    html = details(handler, cid)
    assert "plan-panel" in html and PLAN in html
    assert "Waiting for the department's approval" in html
    assert "Approve the plan by" in html  # its clock and countdown
    assert "action-plan_submit" not in html  # one plan at a time

    head = login(app, "head_qa")
    n, url = tile(text(head.get("/admin/")))
    assert n == 1 and listed(head, url) == [number]
    assert "action-plan_approve" in details(head, cid)
    assert PLAN in text(head.get(f"{LIST}act/plan_approve/?id={cid}"))  # what is approved
    page = act(head, cid, "plan_approve", note="同意")
    assert "Approve handling plan: done" in flashes(text(page))
    assert row(app, cid).plan_state == PlanState.APPROVED
    assert tile(text(head.get("/admin/")))[0] == 0

    intake = login(app, "intake")
    n, url = tile(text(intake.get("/admin/")))
    assert n == 1 and listed(intake, url) == [number]
    form = text(intake.get(f"{LIST}act/plan_answer/?id={cid}"))
    assert "signed form" in form  # the signed plan goes to the complaint's files
    assert PLAN in form and 'name="file"' in form  # the plan answered; the signed form
    page = act(intake, cid, "plan_answer", agreed="yes", note="客户电话确认同意")
    assert "done for" in flashes(text(page))
    c = row(app, cid)
    assert (c.plan_state, c.plan_answer_due, c.due_kind) == (PlanState.AGREED, None,
                                                             Clock.RESOLVE)

    page = resolve(handler, cid)
    assert "Status: Resolved" in flashes(text(page))
    with app.app_context():
        actions = [e.action for e in events_of(cid)]
        assert actions == ["plan_submit", "plan_approve", "plan_answer", "resolve"]
        plan = db.session.scalar(select(HandlingPlan).where(HandlingPlan.complaint_id == cid))
        submit = events_of(cid)[0]
        assert (plan.text, plan.submitted_by_id, plan.event_id) == (
            PLAN, org.users["handler_qa"], submit.id)
        told = set(db.session.execute(select(Notification.kind, Notification.recipient_id)
                                      .where(Notification.complaint_id == cid)).all())
        assert ("plan_submit", org.users["head_qa"]) in told
        assert ("plan_approve", org.users["intake"]) in told
        assert ("plan_approve", org.users["handler_qa"]) in told
    # The panel shows who decided and the customer's answer, in Chinese too.
    html = text(head.get(f"{LIST}details/?id={cid}", headers={"Accept-Language": "zh-CN"}))
    assert "处理方案" in html and "客户已同意" in html and "客户同意：客户电话确认同意" in html


def test_critical_plan_goes_to_senior_management(app, wide_org):
    org = wide_org
    cid = started(app, org, severity="critical")
    act(login(app, "handler_qa"), cid, "plan_submit", plan=PLAN)
    head = login(app, "head_qa")
    act(head, cid, "plan_approve")
    c = row(app, cid)
    assert (c.plan_state, c.due_kind) == (PlanState.HEAD_APPROVED, Clock.PLAN)
    assert "action-plan_approve" not in details(head, cid)  # senior management's turn

    executive = login(app, "executive")
    n, url = tile(text(executive.get("/admin/")))
    assert n == 1 and listed(executive, url) == [c.number]
    page = act(executive, cid, "plan_approve", note="同意，尽快落实")
    assert "Approve handling plan: done" in flashes(text(page))
    c = row(app, cid)
    assert (c.plan_state, c.plan_due, c.due_kind) == (PlanState.APPROVED, None,
                                                      Clock.PLAN_ANSWER)
    with app.app_context():
        told = {r for r, in db.session.execute(
            select(Notification.recipient_id).where(Notification.complaint_id == cid,
                                                    Notification.kind == "plan_approve"))}
        assert org.users["executive"] in told  # told by the head's approval


def test_declined_plan_goes_back_to_planning(app, org):
    cid = started(app, org)
    handler, head, intake = (login(app, u) for u in ("handler_qa", "head_qa", "intake"))
    act(handler, cid, "plan_submit", plan="第一版方案")
    act(head, cid, "plan_approve")

    page = act(intake, cid, "plan_answer", agreed="no", note="")
    assert "Write down why the customer declined" in text(page)
    assert row(app, cid).plan_state == PlanState.APPROVED
    act(intake, cid, "plan_answer", agreed="no", note="客户要求退款")
    c = row(app, cid)
    assert (c.plan_state, c.plan_answer_due) == (PlanState.DECLINED, None)
    with app.app_context():
        kinds = {(k, r) for k, r in db.session.execute(
            select(Notification.kind, Notification.recipient_id)
            .where(Notification.complaint_id == cid, Notification.kind == "plan_answer"))}
        assert kinds == {("plan_answer", org.users["handler_qa"]),
                         ("plan_answer", org.users["head_qa"])}

    page = act(handler, cid, "plan_submit", plan="第二版：退款")
    assert row(app, cid).plan_state == PlanState.SUBMITTED
    html = details(handler, cid)
    assert "第二版：退款" in html and "plan-earlier" in html and "第一版方案" in html
    assert "The customer declined: 客户要求退款" in html


def test_returned_plan_with_reason(app, org):
    cid = started(app, org)
    act(login(app, "handler_qa"), cid, "plan_submit", plan=PLAN)
    head = login(app, "head_qa")
    page = act(head, cid, "plan_return", reason="")
    assert row(app, cid).plan_state == PlanState.SUBMITTED  # a reason is needed
    page = act(head, cid, "plan_return", reason="写明上门时间")
    assert "Return handling plan: done" in flashes(text(page))
    c = row(app, cid)
    assert (c.plan_state, c.plan_due, c.due_kind) == (PlanState.RETURNED, None, Clock.RESOLVE)
    with app.app_context():
        assert db.session.scalar(select(Notification.recipient_id).where(
            Notification.complaint_id == cid, Notification.kind == "plan_return")) == (
            org.users["handler_qa"])
        assert events_of(cid)[-1].note == "写明上门时间"
    assert "action-plan_submit" in details(login(app, "handler_qa"), cid)


def test_head_does_not_approve_their_own_plan_a_manager_does(app, org):
    cid = started(app, org, assignee_id=org.users["head_qa"])
    head = login(app, "head_qa")
    act(head, cid, "plan_submit", plan=PLAN)
    html = details(head, cid)
    assert "action-plan_approve" not in html.split("complaint-actions", 1)[1].split(
        "action-unavailable", 1)[0]
    assert "submitted yourself" in html
    assert tile(text(head.get("/admin/")))[0] == 0
    # A forged post is refused by the rules all the same.
    page = head.post(f"{LIST}act/plan_approve/?id={cid}",
                     data={"csrf_token": token(head), "version": str(row(app, cid).version)},
                     follow_redirects=True)
    assert "submitted yourself" in text(page)
    assert row(app, cid).plan_state == PlanState.SUBMITTED

    manager = login(app, "manager")
    n, url = tile(text(manager.get("/admin/")))
    assert n == 1
    act(manager, cid, "plan_approve")
    assert row(app, cid).plan_state == PlanState.APPROVED


def test_compensation_above_the_policy_amount_needs_a_plan(app, org):
    with app.app_context():
        db.session.execute(update(SlaPolicy).values(plan_over_amount=1000))
        db.session.commit()
    cid = started(app, org)
    handler = login(app, "handler_qa")
    page = act(handler, cid, "resolve", root_cause="批次缺陷", responsibility="company",
               remedy="compensation", compensation_amount="2000", resolution="赔偿")
    assert "A compensation above 1,000.00 yuan needs a handling plan" in text(page)
    assert row(app, cid).status == "in_progress"
    page = act(handler, cid, "resolve", root_cause="批次缺陷", responsibility="company",
               remedy="compensation", compensation_amount="800", resolution="赔偿")
    assert "Status: Resolved" in flashes(text(page))


def test_refusal_in_chinese(app, org):
    require_plans(app)
    cid = started(app, org)
    handler = login(app, "handler_qa")
    handler.get("/admin/", headers={"Accept-Language": "zh-CN"})
    zh = {"Accept-Language": "zh-CN"}
    said = "此投诉办结前需要经部门批准并经客户同意的处理方案：尚未提交处理方案。"
    assert said in html_lib.unescape(text(handler.get(f"{LIST}details/?id={cid}", headers=zh)))
    data = {"csrf_token": token(handler), "version": str(row(app, cid).version),
            "root_cause": "x", "responsibility": "company", "remedy": "exchange",
            "resolution": "y"}  # a forged post: refused the same way
    page = handler.post(f"{LIST}act/resolve/?id={cid}", data=data, headers=zh,
                        follow_redirects=True)
    assert said in html_lib.unescape(text(page))
    assert row(app, cid).status == "in_progress"


def test_sla_policy_form_has_the_plan_fields(app, org):
    admin = login(app, "admin")
    url = "/admin/sla_policy/new/"
    html = text(admin.get(url))
    for name in ("plan_required", "plan_over_amount", "plan_days"):
        assert f'name="{name}"' in html
    page = admin.post(url, data={
        "csrf_token": token(admin, url), "name": "大额赔偿", "kind": "", "category_code": "",
        "severity": "", "accept_hours": "24", "resolve_days": "7", "callback_days": "5",
        "callbacks_required": "1", "active": "y", "plan_required": "y",
        "plan_over_amount": "5000", "plan_days": "2"})
    assert page.status_code == 302
    with app.app_context():
        p = db.session.scalar(select(SlaPolicy).filter_by(name="大额赔偿"))
        assert (p.plan_required, int(p.plan_over_amount), p.plan_days) == (True, 5000, 2)
        assert p.policy().plan_required and p.policy().plan_days == 2
    page = admin.post(url, data={
        "csrf_token": token(admin, url), "name": "坏的", "accept_hours": "24",
        "resolve_days": "7", "callback_days": "5", "callbacks_required": "1",
        "plan_days": "0"})
    assert page.status_code == 200  # refused: at least one working day


@pytest.mark.parametrize("answer_step", [False, True])
def test_sweep_marks_a_missed_plan_clock(app, org, answer_step):
    """A plan not decided in time (the head answers for it), or an approved plan whose
    customer answer was not recorded in time (customer service answers), is swept like any
    other deadline: event, accountability record, notification."""
    from services.sweep import sweep

    with app.app_context():
        db.session.get(Department, org.qa).head_id = org.users["head_qa"]
        db.session.commit()
    cid = started(app, org)
    act(login(app, "handler_qa"), cid, "plan_submit", plan=PLAN)
    if answer_step:
        act(login(app, "head_qa"), cid, "plan_approve")
    c = row(app, cid)
    missed = Clock.PLAN_ANSWER if answer_step else Clock.PLAN
    assert c.due_kind == missed and c.due_at < c.resolve_due
    with app.app_context():
        result = sweep(now=c.due_at + timedelta(minutes=1))
        assert result.marked == 1
        event = events_of(cid)[-1]
        assert event.action == "overdue"
        assert event.note == ("customer's answer to the handling plan deadline missed"
                              if answer_step else "handling plan approval deadline missed")
        record = db.session.scalar(select(AccountabilityRecord)
                                   .where(AccountabilityRecord.complaint_id == cid))
        if answer_step:
            assert (record.clock, record.department_id, record.person_id) == (
                missed, org.cs, None)
        else:
            assert (record.clock, record.department_id, record.person_id) == (
                missed, org.qa, org.users["head_qa"])
        told = {r for r, in db.session.execute(select(Notification.recipient_id).where(
            Notification.complaint_id == cid, Notification.kind == "overdue"))}
        # No head in customer service: its managers are told.
        assert told == ({org.users["manager"]} if answer_step else {org.users["head_qa"]})
        assert sweep(now=c.due_at + timedelta(minutes=2)).marked == 0  # once
    # The timeline names the missed clock in the reader's words.
    html = details(login(app, "head_qa"), cid)
    label = "Customer's answer to the plan by" if answer_step else "Approve the plan by"
    assert f"Deadline missed: {label}" in html


def test_signed_answer_form_is_kept_with_the_answer(app, org, tmp_path):
    """The customer's signed plan, sent with the answer form, is a file of the complaint
    tied to the answer's event."""
    import io

    from models import Attachment
    from tests.attachment_samples import image

    app.config["STORAGE_LOCAL_DIR"] = str(tmp_path / "files")
    app.extensions.pop("desk_storage", None)
    cid = started(app, org)
    act(login(app, "handler_qa"), cid, "plan_submit", plan=PLAN)
    act(login(app, "head_qa"), cid, "plan_approve")
    intake = login(app, "intake")
    page = act(intake, cid, "plan_answer", agreed="yes", note="已签字",
               file=(io.BytesIO(image("JPEG")), "signed.jpg"))
    assert "done for" in flashes(text(page))
    with app.app_context():
        attachment = db.session.scalar(select(Attachment).where(Attachment.complaint_id == cid))
        answer = next(e for e in events_of(cid) if e.action == "plan_answer")
        assert attachment is not None and attachment.event_id == answer.id


def test_plans_queue_is_scoped(app, org):
    """Another department's head, a handler and a supervisor have no plan to decide; the
    queue lists nothing outside the user's scope."""
    cid = started(app, org)
    act(login(app, "handler_qa"), cid, "plan_submit", plan=PLAN)
    for user in ("head_log", "handler_qa", "supervisor"):
        client = login(app, user)
        assert listed(client, f"{LIST}?queue=plans") == [], user
        assert tile(text(client.get("/admin/"))) in (None, (0, f"{LIST}?queue=plans")), user
    assert listed(login(app, "head_qa"), f"{LIST}?queue=plans") == [row(app, cid).number]
    # Another department's head cannot open the decision on it either.
    assert login(app, "head_log").get(f"{LIST}act/plan_approve/?id={cid}").status_code == 404
