"""A department head or handler who registered a complaint follows it but does not work on it.

Anyone may register what they received (the phone rang in quality); the complaint then
goes to the department customer service forwards it to. Its author still sees it, to
follow it, but assigning, resolving, returning or noting it is that department's work:
the screen offers none of it and a forged POST changes nothing.
"""

from __future__ import annotations

from tests.views.complaint_helpers import (
    LIST,
    act_url,
    login,
    make_complaint,
    snapshot,
    staff,
    text,
    token,
)


def _registered_by(app, org, username, **fields):
    with app.app_context():
        return make_complaint(registered_by_id=staff(username).id, **fields)


def test_head_sees_own_registration_in_another_department_but_cannot_assign(app, org):
    cid = _registered_by(app, org, "head_qa", status="forwarded", department_id=org.log)
    client = login(app, "head_qa")
    page = client.get(f"{LIST}details/?id={cid}")
    assert page.status_code == 200  # still followed by its author
    html = text(page)
    assert act_url(cid, "assign").replace("&", "&amp;") not in html
    assert f"act/assign/?id={cid}" not in html

    with app.app_context():
        before = snapshot()
        handler = staff("handler_log").id
    response = client.post(act_url(cid, "assign"), data={
        "csrf_token": token(client), "version": "1", "assignee_id": str(handler)},
        follow_redirects=True)
    assert "only the department it is with can work on it" in text(response)
    with app.app_context():
        assert snapshot() == before


def test_handler_registrant_cannot_resolve_what_another_handler_holds(app, org):
    with app.app_context():
        other = staff("handler_log").id
    cid = _registered_by(app, org, "handler_qa", status="in_progress", department_id=org.log,
                         assignee_id=other)
    client = login(app, "handler_qa")
    with app.app_context():
        before = snapshot()
    response = client.post(act_url(cid, "resolve"), data={
        "csrf_token": token(client), "version": "1", "resolution": "已处理",
        "root_cause": "x", "responsibility": "company"}, follow_redirects=True)
    assert "only the department it is with can work on it" in text(response)
    with app.app_context():
        assert snapshot() == before


def test_the_refusal_reads_in_chinese(app, org):
    cid = _registered_by(app, org, "head_qa", status="forwarded", department_id=org.log)
    client = login(app, "head_qa")
    client.post("/language", data={"csrf_token": token(client), "lang": "zh_Hans_CN"})
    response = client.post(act_url(cid, "assign"), data={
        "csrf_token": token(client), "version": "1", "assignee_id": "1"},
        follow_redirects=True)
    assert "办理只能由它所在的部门进行" in text(response)
