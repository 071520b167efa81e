"""A department's group robot on the department form: kind, webhook address (http/https only),
a write-only signing secret; each change recorded without the key or the secret; only the
administrator changes it, with the CSRF token."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from models import AdminEvent, Department, db
from rules import admin_events as E
from tests.views.complaint_helpers import flashes, login, token

WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=wecom-KEY-123"
DING = "https://oapi.dingtalk.com/robot/send?access_token=ding-TOKEN-456"
SECRET = "SECabc123secret"


def edit_url(pk):
    return f"/admin/department/edit/?id={pk}"


def save(client, pk, **fields):
    """Post the QA department's edit form with these robot fields (the rest unchanged)."""
    data = {"code": "QA", "name": "质量管理部", "active": "y", "robot_kind": "",
            "robot_url": "", "new_robot_secret": "", "csrf_token": token(client, edit_url(pk))}
    data.update(fields)
    return client.post(edit_url(pk), data=data, follow_redirects=True)


def robot(app, pk):
    with app.app_context():
        d = db.session.get(Department, pk)
        return d.robot_kind, d.robot_url, d.robot_secret


def details(app):
    with app.app_context():
        return db.session.scalars(select(AdminEvent.detail).where(
            AdminEvent.action == E.DEPARTMENT_CHANGED).order_by(AdminEvent.id)).all()


def test_admin_sets_a_wecom_robot_and_the_record_hides_its_key(app, org):
    admin = login(app, "admin")
    response = save(admin, org.qa, robot_kind="wecom", robot_url=f"  {WECOM} ")
    assert "Record was successfully saved." in flashes(response.get_data(as_text=True))
    assert robot(app, org.qa) == ("wecom", WECOM, None)
    [detail] = details(app)
    assert "robot_kind: ∅ → wecom" in detail
    assert "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?…" in detail
    assert "wecom-KEY-123" not in detail
    listing = admin.get("/admin/department/").get_data(as_text=True)
    assert "WeCom (企业微信)" in listing and "wecom-KEY-123" not in listing


def test_the_secret_is_write_only(app, org):
    admin = login(app, "admin")
    form = admin.get(edit_url(org.qa)).get_data(as_text=True)
    # The browser must not fill in the admin's own saved password; nothing to remove yet.
    assert re.search(r'<input[^>]*autocomplete="new-password"[^>]*name="new_robot_secret"|'
                     r'<input[^>]*name="new_robot_secret"[^>]*autocomplete="new-password"', form)
    assert "clear_robot_secret" not in form
    save(admin, org.qa, robot_kind="dingtalk", robot_url=DING, new_robot_secret=SECRET)
    assert robot(app, org.qa) == ("dingtalk", DING, SECRET)
    form = admin.get(edit_url(org.qa)).get_data(as_text=True)
    assert SECRET not in form and "A secret is set (not shown)" in form
    assert 'name="clear_robot_secret"' in form
    # Blank keeps it; a new one replaces it; the tick removes it.
    save(admin, org.qa, robot_kind="dingtalk", robot_url=DING)
    assert robot(app, org.qa)[2] == SECRET
    save(admin, org.qa, robot_kind="dingtalk", robot_url=DING, new_robot_secret="SECnew")
    assert robot(app, org.qa)[2] == "SECnew"
    save(admin, org.qa, robot_kind="dingtalk", robot_url=DING, clear_robot_secret="y")
    assert robot(app, org.qa) == ("dingtalk", DING, None)
    # Every change recorded; the secret only as "changed", never its value.
    recorded = " ".join(details(app))
    assert "robot_secret: changed" in recorded
    assert SECRET not in recorded and "SECnew" not in recorded and "ding-TOKEN" not in recorded
    with app.app_context():
        everything = " ".join(d or "" for d in db.session.scalars(select(AdminEvent.detail)))
    assert SECRET not in everything and "new_robot_secret" not in everything


def test_no_robot_drops_the_address_and_the_secret(app, org):
    admin = login(app, "admin")
    save(admin, org.qa, robot_kind="dingtalk", robot_url=DING, new_robot_secret=SECRET)
    save(admin, org.qa, robot_kind="", robot_url=DING)
    assert robot(app, org.qa) == (None, None, None)


def test_created_with_a_robot_the_record_hides_key_and_secret(app, org):
    admin = login(app, "admin")
    response = admin.post("/admin/department/new/", data={
        "code": "FIN", "name": "财务部", "active": "y", "robot_kind": "dingtalk",
        "robot_url": DING, "new_robot_secret": SECRET,
        "csrf_token": token(admin, "/admin/department/new/")})
    assert response.status_code == 302
    with app.app_context():
        d = db.session.scalar(select(Department).filter_by(code="FIN"))
        assert (d.robot_kind, d.robot_url, d.robot_secret) == ("dingtalk", DING, SECRET)
        detail = db.session.scalar(select(AdminEvent.detail).where(
            AdminEvent.action == E.DEPARTMENT_CREATED))
    assert "robot_kind: dingtalk" in detail and "oapi.dingtalk.com/robot/send?…" in detail
    assert SECRET not in detail and "ding-TOKEN" not in detail


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "ftp://files.example/hook", "file:///etc/passwd", "http://",
    "https://user:pw@hooks.example/x", "qyapi.weixin.qq.com/cgi-bin/webhook/send",
    "https://hooks.example/a b", "https://hooks.example/\r\nX: y", "https://x.example/" + "a" * 500,
])
def test_only_http_and_https_addresses(app, org, url):
    admin = login(app, "admin")
    response = save(admin, org.qa, robot_kind="wecom", robot_url=url)
    assert response.status_code == 200
    assert "http:// or https://" in response.get_data(as_text=True) or \
        "longer than 500" in response.get_data(as_text=True)
    assert robot(app, org.qa) == (None, None, None) and details(app) == []


def test_a_kind_needs_an_address_and_must_be_known(app, org):
    admin = login(app, "admin")
    response = save(admin, org.qa, robot_kind="wecom", robot_url="")
    assert "A group robot needs its webhook address." in response.get_data(as_text=True)
    response = save(admin, org.qa, robot_kind="slack", robot_url=WECOM)
    assert response.status_code == 200
    assert robot(app, org.qa) == (None, None, None) and details(app) == []


def test_without_the_csrf_token_nothing_changes(app, org):
    admin = login(app, "admin")
    for bad in ("", "20261124100000##forged"):
        response = save(admin, org.qa, robot_kind="wecom", robot_url=WECOM, csrf_token=bad)
        assert response.status_code == 200  # the form again, not saved
        assert "successfully saved" not in response.get_data(as_text=True)
    assert robot(app, org.qa) == (None, None, None) and details(app) == []


@pytest.mark.parametrize("username, reads", [
    ("intake", True), ("manager", True), ("supervisor", True), ("executive", True),
    ("head_qa", False), ("handler_qa", False),
])
def test_other_roles_never_change_it_nor_see_the_address(app, wide_org, username, reads):
    org = wide_org
    admin = login(app, "admin")
    save(admin, org.qa, robot_kind="dingtalk", robot_url=DING, new_robot_secret=SECRET)
    client = login(app, username)
    listing = client.get("/admin/department/")
    assert listing.status_code == (200 if reads else 403)
    if reads:
        html = listing.get_data(as_text=True)
        assert "DingTalk (钉钉)" in html
        page = client.get(f"/admin/department/details/?id={org.qa}").get_data(as_text=True)
        for secret in (DING, "ding-TOKEN", SECRET):
            assert secret not in html and secret not in page
    assert client.get(edit_url(org.qa)).status_code == 403
    csrf = token(client, "/admin/notifications/")
    response = client.post(edit_url(org.qa), data={
        "code": "QA", "name": "质量管理部", "active": "y", "robot_kind": "wecom",
        "robot_url": "https://evil.example/hook", "csrf_token": csrf})
    assert response.status_code == 403
    assert robot(app, org.qa) == ("dingtalk", DING, SECRET)
