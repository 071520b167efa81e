"""Two-step sign-in (TOTP): enrolment with a QR code served by the app, login with a code,
single-use recovery codes, turning it off, and administrators of a production desk."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import select
from werkzeug.security import check_password_hash

from app import create_app
from models import Staff, db
from models.org import StaffRecoveryCode
from rules import admin_events as ev
from services import totp
from tests.factories import PASSWORD, AuthActions, csrf_token
from tests.views.login_helpers import (
    OFFICE,
    TRY_LATER,
    WRONG_CODE,
    client_at,
    code_for,
    enrol,
    events,
    flashes,
    freeze,
    login,
    second_step,
    secret_of,
    staff,
)

EXTERNAL = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


def _recovery_rows(app, username):
    with app.app_context():
        uid = db.session.scalar(select(Staff.id).filter_by(username=username))
        return [(r.code_hash, r.used_at) for r in db.session.scalars(
            select(StaffRecoveryCode).filter_by(staff_id=uid).order_by(StaffRecoveryCode.id))]


def _signed_in(client) -> bool:
    return client.get("/admin/category/").status_code == 200


def _enrolled(app, monkeypatch, username="intake"):
    frozen = freeze(monkeypatch)
    client = client_at(app, OFFICE)
    assert login(client, username).status_code == 302
    codes = enrol(app, client, username, frozen)
    AuthActions(client).logout()
    frozen.advance(seconds=30)  # the enrolment's code is used up: the next one is new
    return frozen, client, codes


# --- enrolment ---------------------------------------------------------------------------------


def test_the_page_is_reachable_from_the_user_menu(app, org, client, auth):
    auth.login("intake")
    nav = client.get("/admin/").get_data(as_text=True).split("</nav>", 1)[0]
    assert 'href="/account/two-step"' in nav and "Two-step sign-in" in nav


def test_enrolment_shows_an_inline_qr_code_and_the_key(app, org, client, auth, monkeypatch):
    """The page draws the QR code itself (inline SVG, no image host, no script) and shows
    the key for typing; the pending secret is stored, two-step sign-in is still off."""
    freeze(monkeypatch)
    auth.login("intake")
    r = client.get("/account/two-step")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "<svg" in html and "<img" not in html and "<script" not in html
    assert not EXTERNAL.search(html)
    secret = secret_of(app, "intake")
    assert secret and len(secret) == 32
    assert totp.grouped_secret(secret) in html
    assert staff(app, "intake").totp_enabled is False
    # Reloading keeps the same secret (a scanned code stays valid).
    client.get("/account/two-step")
    assert secret_of(app, "intake") == secret


def test_wrong_code_does_not_turn_it_on(app, org, client, auth, monkeypatch):
    frozen = freeze(monkeypatch)
    auth.login("intake")
    client.get("/account/two-step")
    good = code_for(app, "intake", frozen)
    token = csrf_token(client, "/account/two-step")
    r = client.post("/account/two-step/confirm",
                    data={"csrf_token": token, "code": f"{(int(good) + 1) % 10**6:06d}"})
    assert r.status_code == 400 and "That code is not right" in r.get_data(as_text=True)
    assert staff(app, "intake").totp_enabled is False and _recovery_rows(app, "intake") == []


def test_confirm_turns_it_on_and_shows_ten_hashed_recovery_codes(app, org, client, auth,
                                                                  monkeypatch):
    """A right code turns it on and shows 10 recovery codes once; only their hashes are
    stored; the change is in the administrative record."""
    frozen = freeze(monkeypatch)
    auth.login("intake")
    codes = enrol(app, client, "intake", frozen)
    assert len(set(codes)) == 10
    row = staff(app, "intake")
    assert row.totp_enabled is True and row.totp_last_step == totp.step_of(frozen())
    rows = _recovery_rows(app, "intake")
    assert len(rows) == 10 and all(used is None for _, used in rows)
    for code, (code_hash, _) in zip(codes, rows, strict=True):
        assert code not in code_hash
        assert check_password_hash(code_hash, totp.normalize_recovery_code(code))
    # Not shown again: the page now says it is on, without codes.
    html = client.get("/account/two-step").get_data(as_text=True)
    assert "Two-step sign-in is on" in html and not any(c in html for c in codes)
    changed = events(app, ev.STAFF_CHANGED)
    assert changed[-1]["actor_id"] == org.users["intake"]
    assert "totp_enabled: no → yes" in changed[-1]["detail"]


# --- login with a second step ------------------------------------------------------------


def test_password_alone_no_longer_signs_in(app, org, monkeypatch):
    """After the password the user is asked for a code and is not signed in yet."""
    _, client, _ = _enrolled(app, monkeypatch)
    r = login(client, "intake")
    assert r.status_code == 302 and r.headers["Location"].endswith("/login/code")
    assert not _signed_in(client)
    assert client.get("/login/code").status_code == 200
    assert staff(app, "intake").last_login_at is not None  # from the enrolment's login only
    assert len(events(app, ev.LOGIN_SUCCEEDED)) == 1


def test_the_code_signs_in_once(app, org, monkeypatch):
    """The app's current code completes the login; the same code cannot be used again."""
    frozen, client, _ = _enrolled(app, monkeypatch)
    login(client, "intake")
    code = code_for(app, "intake", frozen)
    r = second_step(client, code)
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/")
    assert _signed_in(client)
    assert events(app, ev.LOGIN_SUCCEEDED)[-1]["detail"] == "password and code"
    other = client_at(app, "192.0.2.40")
    login(other, "intake")
    r = second_step(other, code)  # replayed within its 30 seconds
    assert r.status_code == 401 and flashes(r) == [WRONG_CODE]
    assert not _signed_in(other)


def test_codes_of_the_neighbouring_steps_are_accepted(app, org, monkeypatch):
    """A phone clock 30 s off still works (one step either side), two steps off does not."""
    frozen, client, _ = _enrolled(app, monkeypatch)
    secret, step = secret_of(app, "intake"), totp.step_of(frozen())
    login(client, "intake")
    assert second_step(client, totp.code_at(secret, step + 2)).status_code == 401
    assert second_step(client, totp.code_at(secret, step + 1)).status_code == 302


def test_wrong_codes_are_throttled(app, org, monkeypatch):
    """Wrong codes count like wrong passwords: after three, the account's second step waits,
    and then even the right code is refused with the "wait" sentence."""
    frozen, client, _ = _enrolled(app, monkeypatch)
    login(client, "intake")
    for _ in range(3):
        assert flashes(second_step(client, "000000")) == [WRONG_CODE]
    assert flashes(second_step(client, "000001")) == [f"{WRONG_CODE} {TRY_LATER}"]
    r = second_step(client, code_for(app, "intake", frozen))
    assert r.status_code == 401 and flashes(r) == [f"{WRONG_CODE} {TRY_LATER}"]
    assert len(events(app, ev.LOGIN_FAILED)) == 4
    assert events(app, ev.LOGIN_LOCKED)[-1]["detail"].startswith("second step")
    frozen.advance(seconds=2)
    assert second_step(client, code_for(app, "intake", frozen)).status_code == 302


def test_a_recovery_code_works_once(app, org, monkeypatch):
    """A recovery code (any case, with or without its dash) signs in once; then it is spent."""
    _, client, codes = _enrolled(app, monkeypatch)
    login(client, "intake")
    r = second_step(client, " " + codes[3].upper().replace("-", " ") + " ")
    assert r.status_code == 302 and _signed_in(client)
    assert events(app, ev.LOGIN_SUCCEEDED)[-1]["detail"] == "password and recovery code"
    assert sum(used is not None for _, used in _recovery_rows(app, "intake")) == 1
    assert "Unused recovery codes: 9" in client.get("/account/two-step").get_data(as_text=True)
    AuthActions(client).logout()
    login(client, "intake")
    r = second_step(client, codes[3])
    assert r.status_code == 401 and flashes(r) == [WRONG_CODE]
    assert second_step(client, codes[4]).status_code == 302


def test_the_second_step_expires(app, org, monkeypatch):
    """Five minutes after the password the half-done login is void: back to the password."""
    frozen, client, _ = _enrolled(app, monkeypatch)
    login(client, "intake")
    frozen.advance(minutes=5, seconds=1)
    r = client.get("/login/code")
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    r = client.post("/login/code", data={"code": code_for(app, "intake", frozen)})
    assert r.status_code == 302 and not _signed_in(client)


def test_a_password_change_voids_a_half_done_login(app, org, monkeypatch):
    """Between password and code an administrator resets the password: the code is refused."""
    frozen, client, _ = _enrolled(app, monkeypatch)
    login(client, "intake")
    admin = client_at(app, "192.0.2.9")
    login(admin, "admin")
    url = f"/admin/staff/password/?id={org.users['intake']}"
    r = admin.post(url, data={"csrf_token": csrf_token(admin, url), "password": "garden-hose-42",
                              "confirm": "garden-hose-42"})
    assert r.status_code == 302
    r = second_step(client, code_for(app, "intake", frozen))
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert not _signed_in(client)


def test_the_code_page_without_a_password_step_goes_to_login(app, org, client):
    r = client.get("/login/code")
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")


# --- turning it off ------------------------------------------------------------------------------


def _disable(client, password, code):
    token = csrf_token(client, "/account/two-step")
    return client.post("/account/two-step/disable",
                       data={"csrf_token": token, "password": password, "code": code},
                       follow_redirects=True)


def test_turning_it_off_needs_the_password_and_a_code(app, org, monkeypatch):
    frozen, client, codes = _enrolled(app, monkeypatch)
    old_secret = secret_of(app, "intake")
    login(client, "intake")
    second_step(client, code_for(app, "intake", frozen))
    frozen.advance(seconds=30)
    code = code_for(app, "intake", frozen)
    r = _disable(client, "wrong-password", code)
    assert "Wrong password or code. Two-step sign-in stays on." in r.get_data(as_text=True)
    r = _disable(client, PASSWORD, "123456" if code != "123456" else "654321")
    assert "stays on" in r.get_data(as_text=True)
    assert staff(app, "intake").totp_enabled is True
    r = _disable(client, PASSWORD, code)
    assert "Two-step sign-in is off." in r.get_data(as_text=True)
    row = staff(app, "intake")
    assert (row.totp_enabled, row.totp_last_step) == (False, None)
    assert row.totp_secret != old_secret  # the page offers a fresh secret to enrol again
    assert _recovery_rows(app, "intake") == []
    assert "totp_enabled: yes → no" in events(app, ev.STAFF_CHANGED)[-1]["detail"]
    AuthActions(client).logout()
    assert login(client, "intake").headers["Location"].endswith("/admin/")  # password only


def test_turning_it_off_with_a_recovery_code(app, org, monkeypatch):
    """Phone lost: signed in with a recovery code, another one turns two-step sign-in off."""
    _, client, codes = _enrolled(app, monkeypatch)
    login(client, "intake")
    second_step(client, codes[0])
    r = _disable(client, PASSWORD, codes[1])
    assert "Two-step sign-in is off." in r.get_data(as_text=True)


def test_operator_command_turns_it_off(app, org, monkeypatch):
    """flask two-step-off --username: off, sessions ended, recorded."""
    _enrolled(app, monkeypatch)
    result = app.test_cli_runner().invoke(args=["two-step-off", "--username", "intake"])
    assert result.exit_code == 0, result.output
    assert staff(app, "intake").totp_enabled is False
    assert events(app, ev.STAFF_CHANGED)[-1]["actor_id"] is None
    result = app.test_cli_runner().invoke(args=["two-step-off", "--username", "nobody"])
    assert result.exit_code == 1 and "No user named" in result.output


# --- production: administrators must use it ----------------------------------------------


def _production(app):
    return create_app({**app.config, "PRODUCTION": True, "SECRET_KEY": secrets.token_hex(32)})


def _dispose(other):
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def test_production_admin_without_it_is_sent_to_enrol(app, org, monkeypatch):
    """In production an administrator without a second factor lands on the enrolment page
    and every other page sends them back there; once enrolled the desk opens, and the next
    login asks for a code."""
    frozen = freeze(monkeypatch)
    prod = _production(app)
    try:
        client = prod.test_client()
        r = login(client, "admin")
        assert r.status_code == 302 and r.headers["Location"].endswith("/account/two-step")
        for url in ("/admin/", "/admin/staff/", "/admin/complaint/"):
            r = client.get(url)
            assert r.status_code == 302 and r.headers["Location"].endswith("/account/two-step")
        page = client.get("/account/two-step").get_data(as_text=True)
        assert "Administrators must use two-step sign-in" in page
        enrol(prod, client, "admin", frozen)
        assert client.get("/admin/").status_code == 200
        AuthActions(client).logout()
        frozen.advance(seconds=30)
        assert login(client, "admin").headers["Location"].endswith("/login/code")
        assert second_step(client, code_for(prod, "admin", frozen)).status_code == 302
        assert client.get("/admin/staff/").status_code == 200
    finally:
        _dispose(prod)


def test_production_other_roles_may_go_without(app, org):
    """Only administrators must enrol; outside production nobody must."""
    prod = _production(app)
    try:
        client = prod.test_client()
        login(client, "manager")
        assert client.get("/admin/").status_code == 200
    finally:
        _dispose(prod)
    client = app.test_client()
    login(client, "admin")
    assert client.get("/admin/").status_code == 200
