"""The password policy at every place a password is set: the service, the administrator's
"Set password" form, the create-user command; and what a changed password ends."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Staff, db
from rules.errors import InvalidInput
from services import auth as auth_service
from services.auth import change_password, check_password_strength, create_user
from services.demo import DEMO_PASSWORD
from tests.factories import PASSWORD, AuthActions, csrf_token
from tests.views.login_helpers import T0, flashes, freeze

SHORT = "A password needs at least 10 characters."
COMMON = ("This password is too common or too easy to guess. "
          "Use a longer phrase of unrelated words.")
NAME = "A password must not contain the user name."

REFUSED = [
    ("password", SHORT), ("12345678", SHORT), ("aaaaaaaa", SHORT),
    ("password123", COMMON), ("qwertyuiop", COMMON), ("P@ssw0rd2026", COMMON),
    ("aaaaaaaaaaaa", COMMON), ("1234567890", COMMON),
    ("michaeljordan23", COMMON),  # no list or pattern of ours: zxcvbn's judgement (score 1)
]


def _secrets(app, username):
    with app.app_context():
        s = db.session.scalar(select(Staff).filter_by(username=username))
        return s.password_hash, s.session_token, s.password_changed_at


def test_the_test_and_demo_passwords_pass_the_policy():
    """The fixtures' and the demo's passwords are strong enough as they are."""
    for password in (PASSWORD, DEMO_PASSWORD):
        check_password_strength(password, "intake", "Intake Clerk")
        assert auth_service.password_score(password) >= 3


def test_zxcvbn_is_used_when_installed():
    assert auth_service.password_score("michaeljordan23") < 3
    assert auth_service.password_score("purple monkey dishwasher") >= 3
    assert auth_service.password_score("x" * 500) is not None  # judged by its start


def test_user_name_and_full_name_count_as_guessable():
    """zxcvbn is told the user's names: a password built on the full name scores low."""
    with pytest.raises(InvalidInput):
        check_password_strength("Xiaoming!2026", "wxm", "Wang Xiaoming")
    check_password_strength("Xiaoming!2026", "lilei", "Li Lei")


@pytest.mark.parametrize("password, message", REFUSED + [("my-intake-garden-7", NAME)])
def test_service_set_password_refuses(app, org, password, message):
    """change_password refuses with the reason and changes nothing."""
    before = _secrets(app, "intake")
    with app.app_context(), pytest.raises(InvalidInput) as err:
        change_password(org.users["intake"], password)
    assert str(err.value) == message
    assert _secrets(app, "intake") == before


@pytest.mark.parametrize("password, message", REFUSED[:5] + [("zhaolei-horse-42", NAME)])
def test_service_create_user_refuses(app, org, password, message):
    with app.app_context():
        with pytest.raises(InvalidInput) as err:
            create_user("zhaolei", "Zhao Lei", "intake", password, department_id=org.cs)
        assert str(err.value) == message
        assert db.session.scalar(select(Staff).filter_by(username="zhaolei")) is None


@pytest.mark.parametrize("password, message", REFUSED + [("INTAKE-horse-battery", NAME)])
def test_admin_form_refuses_with_the_reason(app, org, client, auth, password, message):
    """The administrator's "Set password" form shows the reason; the account keeps its
    password and its sessions."""
    auth.login("admin")
    before = _secrets(app, "intake")
    url = f"/admin/staff/password/?id={org.users['intake']}"
    r = client.post(url, data={"csrf_token": csrf_token(client, url), "password": password,
                               "confirm": password}, follow_redirects=True)
    assert message in r.get_data(as_text=True)
    assert _secrets(app, "intake") == before


def test_admin_form_refusal_is_translated(app, org, client, auth):
    auth.login("admin")
    token = csrf_token(client, "/admin/")
    client.post("/language", data={"csrf_token": token, "lang": "zh_Hans_CN"})
    url = f"/admin/staff/password/?id={org.users['intake']}"
    r = client.post(url, data={"csrf_token": csrf_token(client, url), "password": "password123",
                               "confirm": "password123"}, follow_redirects=True)
    html = r.get_data(as_text=True)
    assert COMMON not in html and "密码" in html


@pytest.mark.parametrize("password, message", [("password123", COMMON), ("short", SHORT),
                                               ("sun-flower-sun-99", NAME)])
def test_cli_create_user_refuses(app, org, password, message):
    result = app.test_cli_runner().invoke(
        args=["create-user", "--username", "sun", "--full-name", "Sun", "--role", "intake"],
        input=f"{password}\n{password}\n")
    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        assert db.session.scalar(select(Staff).filter_by(username="sun")) is None


def test_a_good_password_is_set_and_stamped(app, org, client, auth, monkeypatch):
    """A strong password is stored hashed, with the time it changed."""
    freeze(monkeypatch)
    auth.login("admin")
    url = f"/admin/staff/password/?id={org.users['intake']}"
    r = client.post(url, data={"csrf_token": csrf_token(client, url),
                               "password": "purple monkey dishwasher",
                               "confirm": "purple monkey dishwasher"})
    assert r.status_code == 302
    password_hash, _, changed_at = _secrets(app, "intake")
    assert "purple" not in password_hash and changed_at == T0


def test_a_changed_password_ends_the_users_other_sessions(app, org):
    """Two browsers of the user; a new password set for them: both must log in again, and
    only the new password works."""
    first, second = app.test_client(), app.test_client()
    AuthActions(first).login("intake")
    AuthActions(second).login("intake")
    with app.app_context():
        change_password(org.users["intake"], "purple monkey dishwasher")
    assert first.get("/admin/category/").status_code == 302
    assert second.get("/admin/category/").status_code == 302
    r = AuthActions(app.test_client()).login("intake")
    assert r.status_code == 401 and flashes(r) == ["Unknown user name or wrong password."]
    assert AuthActions(app.test_client()).login(
        "intake", "purple monkey dishwasher").status_code == 302
