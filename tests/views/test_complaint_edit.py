"""Registering and editing through the generic forms: rules-checked, audited, never stale."""

from __future__ import annotations

from datetime import timedelta

import pytest
from complaint_helpers import (
    LIST,
    NOW,
    events_of,
    flashes,
    login,
    make_complaint,
    snapshot,
    text,
)
from complaint_helpers import form_data as _form
from sqlalchemy import select

from models import Category, Complaint, db
from services import clock


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


def test_registration_form_creates_a_numbered_complaint_with_its_deadline(app, org):
    """The new complaint gets a number, the accept deadline, a 'register' event; flash says so."""
    client = login(app, "intake")
    data = _form(text(client.get(f"{LIST}new/")))
    with app.app_context():
        category = db.session.scalar(select(Category.id).filter_by(code="delivery"))
    data.update(customer_name="李四", customer_phone="139 0013 9000", title="快递延误",
                description="五天未送达", category_id=str(category), severity="critical")
    page = client.post(f"{LIST}new/", data=data, follow_redirects=True)
    with app.app_context():
        c = db.session.scalar(select(Complaint))
        assert c.number.startswith("TS-20261124-") and c.status == "registered"
        assert c.accept_due == NOW + timedelta(hours=24) and c.escalation_level == 2
        assert c.customer_phone_norm == "13900139000" and c.registered_by_id == org.users["intake"]
        assert [e.action for e in events_of(c.id)] == ["register"]
        assert f"Complaint {c.number} registered." in flashes(text(page))
        assert page.request.path == f"{LIST}details/"


def test_registration_refused_by_the_rules_says_why_and_saves_nothing(app, org):
    """No phone and no e-mail: the rules' message, the form again, no complaint."""
    client = login(app, "intake")
    data = _form(text(client.get(f"{LIST}new/")))
    data.update(customer_name="李四", customer_phone="", customer_email="", title="x",
                description="y")
    page = client.post(f"{LIST}new/", data=data)
    assert page.status_code == 200
    assert "phone or e-mail" in flashes(text(page))
    with app.app_context():
        assert db.session.scalar(select(Complaint)) is None


def _complaint(app, org):
    with app.app_context():
        return make_complaint(status="in_progress", department_id=org.qa,
                              assignee_id=org.users["handler_qa"], due_at=NOW + timedelta(days=2),
                              title="Old title", customer_name="王五",
                              description="冷藏室不制冷")


def test_edit_writes_the_change_and_one_audit_event(app, org):
    """Changing title and phone saves them, renormalises the phone, records an 'edit' event."""
    cid = _complaint(app, org)
    client = login(app, "intake")
    data = _form(text(client.get(f"{LIST}edit/?id={cid}")))
    assert data["expected_version"] == "1"
    data.update(title="New title", customer_phone="+86 137 0000 1111")
    page = client.post(f"{LIST}edit/?id={cid}", data=data, follow_redirects=True)
    assert "Record was successfully saved." in flashes(text(page))
    with app.app_context():
        c = db.session.get(Complaint, cid)
        assert (c.title, c.customer_phone_norm, c.version) == ("New title", "13700001111", 2)
        event = events_of(cid)[-1]
        assert event.action == "edit" and event.actor_id == org.users["intake"]
        assert "title: Old title → New title" in event.note
        assert c.status == "in_progress"


def test_edit_cannot_touch_status_level_deadlines_or_results(app, org):
    """Workflow fields posted with the edit form are ignored: only the editable fields change."""
    cid = _complaint(app, org)
    client = login(app, "manager")
    data = _form(text(client.get(f"{LIST}edit/?id={cid}")))
    assert not {"status", "escalation_level", "due_at", "resolve_due", "resolution",
                "department_id", "assignee_id", "version"} & set(data)
    data.update(status="closed", escalation_level="3", due_at="2030-01-01T00:00",
                resolution="hacked", department_id=str(org.log), title="Only this")
    client.post(f"{LIST}edit/?id={cid}", data=data)
    with app.app_context():
        c = db.session.get(Complaint, cid)
        assert (c.title, c.status, c.escalation_level, c.department_id, c.resolution) == (
            "Only this", "in_progress", 0, org.qa, None)
        assert c.due_at == NOW + timedelta(days=2)


def test_two_clerks_editing_the_same_complaint_the_second_is_refused(app, org):
    """The second save of a form opened before the first save: 'changed by someone else'."""
    cid = _complaint(app, org)
    first, second = login(app, "intake"), login(app, "manager")
    form_a = _form(text(first.get(f"{LIST}edit/?id={cid}")))
    form_b = _form(text(second.get(f"{LIST}edit/?id={cid}")))
    form_a.update(title="Clerk A")
    first.post(f"{LIST}edit/?id={cid}", data=form_a)
    with app.app_context():
        before = snapshot()
    form_b.update(customer_name="Clerk B's name")
    page = second.post(f"{LIST}edit/?id={cid}", data=form_b)
    assert page.status_code == 200
    assert "changed by someone else" in flashes(text(page))
    with app.app_context():
        assert snapshot() == before
        c = db.session.get(Complaint, cid)
        assert (c.title, c.customer_name) == ("Clerk A", "王五")
    # Re-shown after the refusal, the form still carries the old version: resubmitting it
    # is refused again until the user reloads.
    again = _form(text(page))
    assert again["expected_version"] == "1"
    page = second.post(f"{LIST}edit/?id={cid}", data=again)
    assert "changed by someone else" in flashes(text(page))


def test_edit_without_version_field_is_refused(app, org):
    """A hand-made POST without expected_version does not skip the check."""
    cid = _complaint(app, org)
    client = login(app, "admin")
    data = _form(text(client.get(f"{LIST}edit/?id={cid}")))
    del data["expected_version"]
    data["title"] = "sneaky"
    page = client.post(f"{LIST}edit/?id={cid}", data=data)
    assert "changed by someone else" in flashes(text(page))
    with app.app_context():
        assert db.session.get(Complaint, cid).title == "Old title"


def test_edit_without_changes_writes_no_event(app, org):
    """Saving the form unchanged changes nothing and writes no audit event."""
    cid = _complaint(app, org)
    client = login(app, "intake")
    data = _form(text(client.get(f"{LIST}edit/?id={cid}")))
    with app.app_context():
        before = snapshot()
    client.post(f"{LIST}edit/?id={cid}", data=data)
    with app.app_context():
        assert snapshot() == before


def test_edit_page_shows_workflow_fields_read_only(app, org):
    """Status, level and due time are shown on the edit page but are not form inputs."""
    cid = _complaint(app, org)
    html = text(login(app, "intake").get(f"{LIST}edit/?id={cid}"))
    box = html[html.index("complaint-readonly"):]
    assert "In progress" in box and "Status" in box
    assert 'name="status"' not in html and 'name="due_at"' not in html
