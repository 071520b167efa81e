"""Markup in any complaint field, name or note is shown as text on every complaint screen."""

from __future__ import annotations

from datetime import timedelta

import pytest
from complaint_helpers import LIST, NOW, act, login, make_complaint, text, token

from models import CallbackRecord, ComplaintEvent, Department, Staff, db
from services import clock

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
RAW = (SCRIPT, "<img src=x onerror", "<b>bold</b>")


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


@pytest.fixture
def poisoned(app, org):
    """A complaint whose every text is markup, in a department and with people named so too."""
    with app.app_context():
        db.session.get(Department, org.qa).name = f"QA {SCRIPT}"
        db.session.get(Staff, org.users["handler_qa"]).full_name = f"Liu {IMG}"
        db.session.get(Staff, org.users["intake"]).full_name = "<b>bold</b> clerk"
        db.session.commit()
        cid = make_complaint(
            status="callback", department_id=org.qa, assignee_id=org.users["handler_qa"],
            number="<b>bold</b>-1", title=f"T {SCRIPT}", customer_name=f"N {IMG}",
            phone=f"138{IMG}"[:32], customer_phone_norm="1380000", customer_email=f"{SCRIPT}@x.cn",
            description=SCRIPT,
            demand=IMG, validity_reason=SCRIPT, root_cause=SCRIPT, resolution=IMG,
            extension_reason=SCRIPT, due_at=NOW - timedelta(hours=1),
        )
        db.session.add(ComplaintEvent(complaint_id=cid, at=NOW, actor_id=org.users["intake"],
                                      action="urge", to_status="callback", note=SCRIPT))
        db.session.add(CallbackRecord(complaint_id=cid, at=NOW, staff_id=org.users["intake"],
                                      method="phone", reached=True, satisfaction="satisfied",
                                      solved=True, notes=IMG))
        db.session.commit()
    return cid


def assert_escaped(body, where):
    for raw in RAW:
        assert raw not in body, (where, raw)


def test_markup_is_escaped_on_list_detail_timeline_edit_and_forms(app, org, poisoned):
    """List, detail (fields and timeline), edit page, action form and bulk form escape it all."""
    client = login(app, "intake")
    pages = {
        "list": client.get(LIST),
        "list all": client.get(f"{LIST}?queue=all"),
        "search": client.get(LIST, query_string={"search": f"N {IMG}"}),
        "detail": client.get(f"{LIST}details/?id={poisoned}"),
        "edit": client.get(f"{LIST}edit/?id={poisoned}"),
        "callback form": client.get(f"{LIST}act/callback/?id={poisoned}"),
        "bulk escalate": client.post(f"{LIST}action/", data={
            "action": "escalate", "rowid": str(poisoned), "csrf_token": token(client)}),
        "dashboard": client.get("/admin/"),
    }
    for where, response in pages.items():
        assert response.status_code == 200, where
        assert_escaped(text(response), where)
    detail = text(pages["detail"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in detail
    assert "&lt;b&gt;bold&lt;/b&gt; clerk" in detail  # the actor's name in the timeline
    # The clerk's dashboard names no department; the manager's "departments at risk" does.
    manager_dashboard = login(app, "manager").get("/admin/")
    assert_escaped(text(manager_dashboard), "manager dashboard")
    assert "QA &lt;script&gt;" in text(manager_dashboard)


def test_markup_is_escaped_in_flash_messages(app, org, poisoned):
    """The flash after an action and the bulk report quote the number as text."""
    client = login(app, "intake")
    page = act(client, poisoned, "callback", method="phone", reached="yes",
               satisfaction="satisfied", solved="yes", notes=SCRIPT)
    body = text(page)
    assert "&lt;b&gt;bold&lt;/b&gt;-1" in body
    assert_escaped(body, "action flash and timeline")
    page = client.post(f"{LIST}bulk/close/", data={"rowid": str(poisoned), "confirm": "y",
                                                   "csrf_token": token(client)},
                       follow_redirects=True)
    assert_escaped(text(page), "bulk flash")
    assert "&lt;b&gt;bold&lt;/b&gt;-1" in text(page)
    page = client.get(f"{LIST}act/reject/?id={poisoned}", follow_redirects=True)
    assert "You cannot reject" in text(page)
    assert_escaped(text(page), "refusal flash")


def test_markup_typed_into_the_registration_form_is_stored_as_text(app, org):
    """A clerk typing markup registers it verbatim; the complaint page shows it escaped."""
    client = login(app, "intake")
    data = {"kind": "complaint", "channel": "phone", "customer_name": IMG,
            "customer_phone": "13800138000", "customer_email": "", "customer_class": "C",
            "category_id": "", "severity": "normal", "title": SCRIPT, "description": SCRIPT,
            "demand": "", "received_at": "", "csrf_token": token(client, f"{LIST}new/")}
    page = client.post(f"{LIST}new/", data=data, follow_redirects=True)
    body = text(page)
    assert_escaped(body, "new complaint page")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
