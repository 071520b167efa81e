"""Login and logout: CSRF, one message for every failure, safe next=, sessions that really
end, account changes that apply at once, production settings (SECRET_KEY, cookies).

Throttling: test_login_throttle.py; two-step sign-in: test_two_step.py; session limits:
test_session_limits.py; the password policy: test_password_policy.py."""

from __future__ import annotations

import os
import secrets
from urllib.parse import urlsplit

import pytest

import config
from app import create_app
from models import Staff, db
from services.auth import end_sessions
from tests.conftest import PASSWORD, AuthActions, csrf_token


def _staff(app, username):
    with app.app_context():
        return db.session.scalar(db.select(Staff).filter_by(username=username))


def _location(response):
    return urlsplit(response.headers.get("Location", ""))


def _dispose(other_app):
    """Close the connection pool of an extra app made by a test."""
    with other_app.app_context():
        db.session.remove()
        db.engine.dispose()


def _replay(app, cookie_value):
    """A fresh client carrying an old session cookie."""
    other = app.test_client()
    other.set_cookie("session", cookie_value, domain="localhost")
    return other


def test_login_page_has_a_csrf_token(client):
    """The login form carries a CSRF token and is sent with no-store caching."""
    r = client.get("/login")
    assert r.status_code == 200
    assert 'name="csrf_token"' in r.get_data(as_text=True)
    assert r.headers["Cache-Control"] == "no-store"


def test_login_without_csrf_token_is_refused(app, org, client):
    """A login POST without its CSRF token logs nobody in, even with the right password."""
    r = client.post("/login", data={"username": "intake", "password": PASSWORD})
    assert r.status_code == 401
    assert "expired or was incomplete" in r.get_data(as_text=True)
    assert client.get("/admin/category/").status_code == 302


def test_login_success_goes_to_the_panel_and_records_it(app, org, client, auth):
    """A good login redirects to the admin home and stores the login time."""
    r = auth.login("intake")
    assert r.status_code == 302 and _location(r).path == "/admin/"
    assert client.get("/admin/category/").status_code == 200
    assert _staff(app, "intake").last_login_at is not None


def test_unknown_user_and_wrong_password_get_the_same_answer(app, org, client, auth):
    """Unknown user name and wrong password: the same status and the same message."""
    a = auth.login("nobody-here", "whatever-123")
    b = auth.login("intake", "wrong-password")
    assert a.status_code == b.status_code == 401
    msg = "Unknown user name or wrong password."
    assert msg in a.get_data(as_text=True) and msg in b.get_data(as_text=True)


def test_inactive_user_cannot_log_in(app, org, client, auth):
    """A deactivated account gets the generic failure message, even with its password."""
    with app.app_context():
        db.session.get(Staff, org.users["intake"]).active = False
        db.session.commit()
    r = auth.login("intake")
    assert r.status_code == 401
    assert "Unknown user name or wrong password." in r.get_data(as_text=True)


def test_failures_below_the_delay_cost_nothing(app, org, client, auth):
    """Three wrong passwords, then the right one: logged in at once, counts reset."""
    for _ in range(3):
        auth.login("intake", "wrong-password")
    assert _staff(app, "intake").failed_logins == 3
    assert auth.login("intake").status_code == 302
    assert _staff(app, "intake").failed_logins == 0


EVIL_NEXT = ["//evil.example/", "https://evil.example/", "/\\evil.example", "%2F%2Fevil.example",
             "javascript:alert(1)", "///evil.example", "\t//evil.example", "http:/evil.example",
             "\\\\evil.example", "/%5Cevil.example"]


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_next_after_login_stays_on_our_host(app, org, client, target):
    """next= pointing off the host (or to javascript:) is replaced by the admin home."""
    token = csrf_token(client, "/login")
    r = client.post("/login", data={"username": "intake", "password": PASSWORD,
                                    "csrf_token": token, "next": target})
    assert r.status_code == 302
    loc = _location(r)
    assert loc.netloc in ("", "localhost") and loc.scheme in ("", "http")
    assert "evil" not in r.headers["Location"] and "javascript" not in r.headers["Location"]


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_next_in_the_query_stays_on_our_host(app, org, client, auth, target):
    """GET /login?next=… for a logged-in user never redirects off the host (a control
    character in a parameter is refused with 400 before any view runs)."""
    auth.login("intake")
    r = client.get("/login", query_string={"next": target})
    if any(ord(ch) < 32 for ch in target):
        assert r.status_code == 400 and "Location" not in r.headers
        return
    assert r.status_code == 302 and "evil" not in r.headers["Location"]
    assert _location(r).netloc in ("", "localhost")


def test_local_next_is_followed(app, org, client):
    """A local path in next= (with its query string) is where the user lands after login."""
    r = client.get("/admin/category/?sort=1")
    assert r.status_code == 302 and _location(r).path == "/login"
    login_page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "/admin/category/?sort=1" in login_page.replace("&amp;", "&")
    token = csrf_token(client, "/login")
    r = client.post("/login", data={"username": "intake", "password": PASSWORD,
                                    "csrf_token": token, "next": "/admin/category/?sort=1"})
    assert r.headers["Location"].endswith("/admin/category/?sort=1")


def test_logout_needs_post_with_csrf(app, org, client, auth):
    """GET /logout does nothing (405); a POST without a token leaves the user logged in."""
    auth.login("intake")
    assert client.get("/logout").status_code == 405
    client.post("/logout", data={})
    assert client.get("/admin/category/").status_code == 200


def test_logout_replay_of_the_old_cookie_is_refused(app, org, client, auth):
    """After logout the old session cookie, replayed, is sent to the login page."""
    auth.login("intake")
    old = client.get_cookie("session").value
    assert _replay(app, old).get("/admin/category/").status_code == 200
    r = auth.logout()
    assert r.status_code == 302 and _location(r).path == "/login"
    r = _replay(app, old).get("/admin/category/")
    assert r.status_code == 302 and _location(r).path == "/login"


def test_logout_ends_every_session_of_the_user(app, org, auth):
    """Logging out in one browser also ends the same user's session in another browser."""
    first, second = app.test_client(), app.test_client()
    AuthActions(first).login("intake")
    AuthActions(second).login("intake")
    AuthActions(first).logout()
    assert second.get("/admin/category/").status_code == 302


def test_password_change_ends_old_sessions(app, org, client, auth):
    """An administrator setting a user's password ends that user's open session."""
    victim = app.test_client()
    AuthActions(victim).login("intake")
    auth.login("admin")
    url = f"/admin/staff/password/?id={org.users['intake']}"
    token = csrf_token(client, url)
    r = client.post(url, data={"csrf_token": token, "password": "new-pass-456",
                               "confirm": "new-pass-456"})
    assert r.status_code == 302
    assert victim.get("/admin/category/").status_code == 302
    assert AuthActions(app.test_client()).login("intake", "new-pass-456").status_code == 302
    assert AuthActions(app.test_client()).login("intake").status_code == 401


def test_deactivation_through_the_staff_screen_is_immediate(app, org, client, auth):
    """Unticking "active" on the staff screen logs the user out on their next request."""
    victim = app.test_client()
    AuthActions(victim).login("intake")
    auth.login("admin")
    uid = org.users["intake"]
    url = f"/admin/staff/edit/?id={uid}"
    token = csrf_token(client, url)
    r = client.post(url, data={"csrf_token": token, "username": "intake", "full_name": "Intake",
                               "role": "intake", "department": str(org.cs), "locale": ""})
    assert r.status_code == 302
    assert _staff(app, "intake").active is False
    r = victim.get("/admin/category/")
    assert r.status_code == 302 and _location(r).path == "/login"


def test_inactive_user_with_a_valid_token_is_refused(app, org, client, auth):
    """Even with its token unchanged, an inactive account's cookie no longer logs in."""
    auth.login("intake")
    with app.app_context():
        db.session.get(Staff, org.users["intake"]).active = False
        db.session.commit()
    r = client.get("/admin/category/")
    assert r.status_code == 302 and _location(r).path == "/login"


def test_role_change_through_the_staff_screen_ends_the_session(app, org, client, auth):
    """Changing a user's role on the staff screen sends them to the login page."""
    victim = app.test_client()
    AuthActions(victim).login("intake")
    auth.login("admin")
    url = f"/admin/staff/edit/?id={org.users['intake']}"
    token = csrf_token(client, url)
    client.post(url, data={"csrf_token": token, "username": "intake", "full_name": "Intake",
                           "role": "handler", "department": str(org.qa), "active": "y",
                           "locale": ""})
    assert _staff(app, "intake").role == "handler"
    assert victim.get("/admin/category/").status_code == 302


def test_role_is_read_from_the_database_on_every_request(app, org, client, auth):
    """A role changed in the database applies on the very next request of a logged-in user."""
    auth.login("intake")
    assert client.get("/admin/category/").status_code == 200
    with app.app_context():
        db.session.get(Staff, org.users["intake"]).role = "handler"
        db.session.commit()
    assert client.get("/admin/category/").status_code == 403


def test_login_does_not_reuse_a_rotated_token(app, org, client, auth):
    """A session cookie whose token was rotated by end_sessions() is anonymous."""
    auth.login("intake")
    old = client.get_cookie("session").value
    with app.app_context():
        end_sessions(db.session.get(Staff, org.users["intake"]))
    assert _replay(app, old).get("/admin/").status_code == 302


def test_session_id_is_the_token_not_the_primary_key(app, org):
    """Flask-Login stores the rotating session token, never the guessable row id."""
    with app.app_context():
        staff = db.session.get(Staff, org.users["intake"])
        assert staff.get_id() == staff.session_token
        assert len(staff.get_id()) >= 32 and staff.get_id() != str(staff.id)


STRONG_KEY = secrets.token_hex(32)


def _production(tmp_path, **extra):
    return {"TESTING": True, "PRODUCTION": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite'}", **extra}


@pytest.mark.parametrize("key", [None, "", config.DEV_SECRET_KEY])
def test_production_refuses_to_start_without_a_secret_key(tmp_path, key):
    """In production create_app raises when SECRET_KEY is missing, empty or the dev default."""
    settings = _production(tmp_path)
    if key is not None:
        settings["SECRET_KEY"] = key
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(settings)


WEAK_KEYS = ["x", "changeme", "s3cret-for-test", "a-real-random-secret-value",
             "x" * 64, "changeme" * 8, "abcdefghij" * 7, "0123456789abcdef" * 4,
             secrets.token_hex(16),  # 128 bits: half of what is required
             "Tr0ub4dor&3-horse-battery-st", b"short-bytes"]
GOOD_KEYS = [STRONG_KEY, secrets.token_urlsafe(32), secrets.token_urlsafe(48),
             os.urandom(32), "pL9#vQ2!mX7$kR4&zT8*wN3@bH6^cF1%yJ5+dG0="]


@pytest.mark.parametrize("key", WEAK_KEYS, ids=range(len(WEAK_KEYS)))
def test_production_refuses_a_weak_secret_key(tmp_path, key):
    """Under 32 bytes of entropy (short, few distinct characters, a repeated piece, a
    128-bit hex string) production refuses to start."""
    assert config.secret_key_problem(key)
    with pytest.raises(RuntimeError, match="SECRET_KEY is too weak"):
        create_app(_production(tmp_path, SECRET_KEY=key))


@pytest.mark.parametrize("key", GOOD_KEYS, ids=range(len(GOOD_KEYS)))
def test_production_accepts_a_random_secret_key(tmp_path, key):
    """secrets.token_hex(32), token_urlsafe(32), 32 random bytes: accepted."""
    assert config.secret_key_problem(key) is None
    assert config.secret_key_bits(key) >= 256
    _dispose(create_app(_production(tmp_path, SECRET_KEY=key)))


def test_secret_keys_from_token_hex_32_are_always_accepted():
    """A random 64-digit hex key may use few of the 16 digits: still never refused."""
    assert all(config.secret_key_problem(secrets.token_hex(32)) is None for _ in range(500))


def test_development_accepts_any_secret_key(tmp_path):
    """Outside production the key is not judged (tests and demos use short ones)."""
    dev = create_app({"TESTING": True, "SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'd.sqlite'}"})
    assert dev.config["SECRET_KEY"] == "x" and not dev.config["PRODUCTION"]
    assert dev.test_client().get("/login").status_code == 200  # it starts and serves
    _dispose(dev)


def test_production_from_the_environment(tmp_path, monkeypatch):
    """COMPLAINTDESK_PRODUCTION=1 without SECRET_KEY in the environment, or with a weak one,
    refuses to start; a random one starts with Secure cookies."""
    monkeypatch.setenv("COMPLAINTDESK_PRODUCTION", "1")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()
    monkeypatch.setenv("SECRET_KEY", "x")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()
    monkeypatch.setenv("SECRET_KEY", STRONG_KEY)
    prod = create_app()
    assert prod.config["SESSION_COOKIE_SECURE"] is True
    _dispose(prod)


def test_production_cookies_are_secure_httponly_lax(app, org, tmp_path):
    """In production every cookie of a login (the session, the known browser) is sent
    Secure, HttpOnly and SameSite=Lax; no remember-me cookie is set."""
    prod = create_app({**app.config, "PRODUCTION": True, "SECRET_KEY": STRONG_KEY})
    assert prod.config["SESSION_COOKIE_SECURE"] is True
    assert prod.config["REMEMBER_COOKIE_SECURE"] is True
    client = prod.test_client()
    token = csrf_token(client, "https://localhost/login")
    r = client.post("https://localhost/login", data={"username": "intake", "password": PASSWORD,
                                                      "csrf_token": token})
    _dispose(prod)
    assert r.status_code == 302
    cookies = r.headers.getlist("Set-Cookie")
    assert {c.split("=", 1)[0] for c in cookies} == {"session", "desk_device"}
    for cookie in cookies:
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_development_cookies_are_httponly_lax(client):
    """Outside production the session cookie is still HttpOnly and SameSite=Lax."""
    r = client.get("/login")
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("url", ["/admin/", "/admin/category/", "/admin/calendar_day/new/",
                                 "/admin/complaint_event/"])
def test_every_admin_page_shows_user_language_and_logout(app, org, client, auth, url):
    """The navbar of every admin page names the user and holds the language switch and a
    logout POST form carrying a CSRF token."""
    auth.login("admin")
    html = client.get(url).get_data(as_text=True)
    nav = html.split("</nav>", 1)[0]
    assert "Admin" in nav and "Administrator" in nav
    logout = nav.split('action="/logout"', 1)[1].split("</form>", 1)[0]
    assert 'name="csrf_token" value="' in logout
    assert 'action="/language"' in nav and 'value="zh_Hans_CN"' in nav


def test_sign_in_works_in_a_process_without_a_locale(app, org, client, monkeypatch):
    """cron, `env -i` and small containers set no LANG: the sign-in forms must not look for
    a translation of WTForms' own messages in the environment's language (was a 500)."""
    for name in ("LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    assert client.get("/login").status_code == 200
    token = csrf_token(client, "/login")
    refused = client.post("/login", data={"username": "", "password": "", "csrf_token": token})
    assert refused.status_code == 401  # refused, with its page: not a 500
    signed_in = client.post("/login", data={"username": "manager", "password": PASSWORD,
                                             "csrf_token": csrf_token(client, "/login")})
    assert signed_in.status_code == 302 and "/login" not in signed_in.headers["Location"]
