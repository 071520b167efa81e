"""My notification settings: every user their own; the kinds of rules.delivery; e-mail address
checked by the rules; CSRF; says whether e-mail is set up and whether the department has a
robot; reached from "My notifications" and the navbar."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from models import Department, NotificationPreference, Staff, db
from rules import delivery as R
from tests.views.complaint_helpers import flashes, login, token

PAGE = "/admin/notification_settings/"
ROLES = ("admin", "intake", "manager", "supervisor", "head_qa", "handler_qa", "executive")


def checked(html, name) -> set[str]:
    """The kinds whose checkbox ``name`` is ticked on the page."""
    return {m for m in re.findall(
        r'<input type="checkbox" name="' + name + r'" value="([a-z_]+)"[^>]*\bchecked\b', html)}


def pref(app, username):
    with app.app_context():
        staff = db.session.scalar(select(Staff).filter_by(username=username))
        row = db.session.get(NotificationPreference, staff.id)
        return staff.email, (None if row is None else
                             (row.email_kinds, row.robot_kinds, row.digest))


def post(client, **data):
    data.setdefault("csrf_token", token(client, PAGE))
    return client.post(PAGE, data=data, follow_redirects=True)


@pytest.mark.parametrize("username", ROLES)
def test_every_role_opens_its_settings_with_the_defaults(app, wide_org, username):
    client = login(app, username)
    response = client.get(PAGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    rows = re.findall(r'<tr class="kind" data-kind="([a-z_]+)">', html)
    assert rows == list(R.STAFF_KINDS)  # every kind a person can receive, no other
    assert checked(html, "email_kinds") == set(R.DEFAULT_EMAIL_KINDS)
    assert checked(html, "robot_kinds") == set(R.DEFAULT_ROBOT_KINDS)
    assert 'id="digest" name="digest" value="y">' in html  # not ticked
    assert "Deadline missed" in html and "Due within one working day" in html
    assert pref(app, username)[1] is None  # opening the page writes nothing


def test_anonymous_is_sent_to_the_login_page(app, org, client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post(PAGE, data={"email": "x@example.com"}).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(NotificationPreference)) == 0


def test_saving_stores_the_choices_and_shows_them_back(app, org):
    handler = login(app, "handler_qa")
    response = post(handler, email=" li.na@example.com ", email_kinds=["assign", "overdue"],
                    robot_kinds=["urge", "bogus"], digest="y")
    assert "Your notification settings were saved." in flashes(response.get_data(as_text=True))
    email, row = pref(app, "handler_qa")
    assert email == "li.na@example.com"
    assert row == ("assign,overdue", "urge", True)  # unknown "bogus" dropped
    html = handler.get(PAGE).get_data(as_text=True)
    assert checked(html, "email_kinds") == {"assign", "overdue"}
    assert checked(html, "robot_kinds") == {"urge"}
    assert 'name="digest" value="y" checked' in html
    assert 'value="li.na@example.com"' in html
    # Saved again (the row exists: an update), everything off and no address.
    post(handler, email="")
    assert pref(app, "handler_qa") == (None, ("", "", False))
    html = handler.get(PAGE).get_data(as_text=True)
    assert checked(html, "email_kinds") == set() and "no-address" in html
    # Nobody else's settings changed.
    assert pref(app, "handler_qa2")[1] is None and pref(app, "head_qa")[1] is None


@pytest.mark.parametrize("bad", [
    "not-an-address", "a@b", "li@example.com\r\nBcc: x@evil.example",
    "a@example.com, b@example.com", "Li Na <li@example.com>", "x" * 195 + "@example.com",
])
def test_a_bad_address_is_refused_and_nothing_saved(app, org, bad):
    handler = login(app, "handler_qa")
    response = post(handler, email=bad, email_kinds=["assign"])
    assert response.status_code == 200
    assert "The e-mail address does not look valid." in flashes(response.get_data(as_text=True))
    assert pref(app, "handler_qa") == (None, None)


def test_without_the_csrf_token_nothing_is_saved(app, org):
    handler = login(app, "handler_qa")
    response = handler.post(PAGE, data={"email": "x@example.com", "email_kinds": "assign"},
                            follow_redirects=True)
    assert "Your session form expired" in flashes(response.get_data(as_text=True))
    assert pref(app, "handler_qa") == (None, None)
    # A token of another session is no good either.
    other = login(app, "handler_qa2")
    response = handler.post(PAGE, data={"email": "x@example.com", "csrf_token": token(other)})
    assert pref(app, "handler_qa") == (None, None)


def test_says_whether_mail_and_the_department_robot_are_on(app, org):
    handler = login(app, "handler_qa")
    html = handler.get(PAGE).get_data(as_text=True)
    assert "mail-off" in html and "robot-off" in html
    app.config["MAIL_SERVER"] = "127.0.0.1"
    with app.app_context():
        qa = db.session.get(Department, org.qa)
        qa.robot_kind, qa.robot_url = "wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"
        db.session.commit()
    html = handler.get(PAGE).get_data(as_text=True)
    assert "mail-on" in html and "mail-off" not in html
    assert "robot-on" in html and "质量管理部" in html
    assert "key=k" not in html  # the robot's address is not the user's business
    # Another department's staff: no robot there.
    assert "robot-off" in login(app, "handler_log").get(PAGE).get_data(as_text=True)


def test_reached_from_my_notifications_and_the_navbar(app, org):
    handler = login(app, "handler_qa")
    for url in ("/admin/notifications/", "/admin/complaint/"):
        html = handler.get(url).get_data(as_text=True)
        assert f'href="{PAGE}"' in html, url


def test_page_in_chinese(app, org):
    handler = login(app, "handler_qa")
    handler.post("/language", data={"lang": "zh_Hans_CN", "csrf_token": token(handler),
                                    "next": PAGE})
    html = handler.get(PAGE).get_data(as_text=True)
    assert "我的通知设置" in html and "邮件" in html
    response = post(handler, email="bad")
    assert "邮箱地址格式不正确。" in flashes(response.get_data(as_text=True))


def test_a_deactivated_user_cannot_save(app, org):
    handler = login(app, "handler_qa")
    csrf = token(handler, PAGE)
    with app.app_context():
        db.session.get(Staff, org.users["handler_qa"]).active = False
        db.session.commit()
    response = handler.post(PAGE, data={"email": "x@example.com", "csrf_token": csrf})
    assert response.status_code in (302, 403)
    assert pref(app, "handler_qa") == (None, None)
