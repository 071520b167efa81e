"""Session limits enforced on the server: an idle timeout, an absolute lifetime, a fresh
session at every login, no remember-me cookie."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.factories import AuthActions, csrf_token
from tests.views.login_helpers import client_at, flashes, freeze, login, staff

IDLE_MESSAGE = "You were logged out after a while without activity. Please log in again."
MAX_MESSAGE = "Your session reached its maximum length. Please log in again."


def _signed_in(client) -> bool:
    return client.get("/admin/category/").status_code == 200


def test_defaults(app):
    assert app.config["SESSION_IDLE_MINUTES"] == 30
    assert app.config["SESSION_MAX_HOURS"] == 12


def test_activity_keeps_the_session_and_idleness_ends_it(app, org, monkeypatch):
    """Requests 29 minutes apart keep the session alive; 30 minutes without one end it, with
    a message, and back on the login page the old page is offered again."""
    frozen = freeze(monkeypatch)
    client = client_at(app, "192.0.2.1")
    login(client, "intake")
    for _ in range(4):
        frozen.advance(minutes=29)
        assert _signed_in(client)
    frozen.advance(minutes=30)
    r = client.get("/admin/callback_record/?page=1")
    assert r.status_code == 302
    target = urlsplit(r.headers["Location"])
    assert target.path == "/login"
    assert parse_qs(target.query)["next"] == ["/admin/callback_record/?page=1"]
    assert flashes(client.get(r.headers["Location"])) == [IDLE_MESSAGE]
    assert not _signed_in(client)
    frozen.advance(minutes=1)
    assert not _signed_in(client)  # it stays ended


def test_a_replayed_old_cookie_is_idle_too(app, org, monkeypatch):
    """A session cookie copied 31 minutes ago carries its old "last seen" time: refused,
    even though its owner is still active in their own browser."""
    frozen = freeze(monkeypatch)
    client = client_at(app, "192.0.2.1")
    login(client, "intake")
    stolen = client.get_cookie("session").value
    for _ in range(3):
        frozen.advance(minutes=20)
        assert _signed_in(client)
    thief = app.test_client()
    thief.set_cookie("session", stolen, domain="localhost")
    assert not _signed_in(thief)
    assert _signed_in(client)


def test_the_session_ends_twelve_hours_after_login_whatever_the_activity(app, org, monkeypatch):
    frozen = freeze(monkeypatch)
    client = client_at(app, "192.0.2.1")
    login(client, "intake")
    for _ in range(11 * 3 + 2):  # every 20 minutes for 11 h 40 min
        frozen.advance(minutes=20)
        assert _signed_in(client)
    frozen.advance(minutes=20)  # 12 h after the login
    r = client.get("/admin/")
    assert r.status_code == 302 and urlsplit(r.headers["Location"]).path == "/login"
    assert flashes(client.get("/login")) == [MAX_MESSAGE]
    assert login(client, "intake").status_code == 302  # logging in again starts a new one
    assert _signed_in(client)


def test_limits_come_from_the_config(app, org, monkeypatch):
    app.config.update(SESSION_IDLE_MINUTES=5, SESSION_MAX_HOURS=1)
    frozen = freeze(monkeypatch)
    client = client_at(app, "192.0.2.1")
    login(client, "intake")
    frozen.advance(minutes=4, seconds=59)
    assert _signed_in(client)
    frozen.advance(minutes=5)
    assert not _signed_in(client)


def test_a_post_after_the_timeout_is_not_carried_out(app, org, monkeypatch):
    """A form sent after the idle timeout logs out instead of acting (no next= for a POST)."""
    frozen = freeze(monkeypatch)
    client = client_at(app, "192.0.2.1")
    auth = AuthActions(client)
    login(client, "intake")
    token = csrf_token(client, "/admin/")
    frozen.advance(minutes=31)
    r = client.post("/language", data={"csrf_token": token, "lang": "zh_Hans_CN"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert staff(app, "intake").locale is None
    assert auth.login("intake").status_code == 302


def test_login_starts_a_fresh_session(app, org, client):
    """Whatever the session held before the login (planted by someone, or left over) is
    gone after it — except the language chosen on the login page."""
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
        sess["lang"] = "zh_Hans_CN"
        sess["pending_login"] = {"uid": 1, "token": "x", "at": "2026-01-01T00:00:00"}
    login(client, "intake")
    with client.session_transaction() as sess:
        assert "planted" not in sess and "pending_login" not in sess
        assert sess["lang"] == "zh_Hans_CN"
        assert sess["login_at"] == sess["seen_at"]
        assert sess["_user_id"]


def test_no_remember_me_cookie(app, org, client):
    r = login(client, "intake")
    assert not any(c.startswith("remember_token=") for c in r.headers.getlist("Set-Cookie"))
    assert client.get_cookie("remember_token") is None


def test_logout_clears_the_session(app, org, client):
    login(client, "intake")
    AuthActions(client).logout()
    with client.session_transaction() as sess:
        assert "_user_id" not in sess and "login_at" not in sess
