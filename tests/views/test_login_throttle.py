"""Login that resists abuse: one answer for every failure, the same work for every answer,
a growing delay per account name and per address held in the database, nobody locked out,
every failure and refusal in the administrative record."""

from __future__ import annotations

from sqlalchemy import select

from app import create_app
from models import Staff, db
from models.org import LoginAttempt
from rules import admin_events as ev
from services import auth as auth_service
from tests.factories import PASSWORD, AuthActions
from tests.views.login_helpers import (
    ATTACKER,
    GENERIC,
    OFFICE,
    TRY_LATER,
    client_at,
    events,
    flashes,
    freeze,
    login,
    staff,
)


def _dispose(other_app):
    with other_app.app_context():
        db.session.remove()
        db.engine.dispose()


def _attempts(app) -> dict:
    with app.app_context():
        return {r.key: (r.failures, r.blocked_until)
                for r in db.session.scalars(select(LoginAttempt))}


# --- one answer ------------------------------------------------------------------------------


def test_unknown_user_and_wrong_password_get_the_same_answer(app, org):
    """Unknown name, wrong password and inactive account: same status, same page text."""
    with app.app_context():
        db.session.get(Staff, org.users["handler_log"]).active = False
        db.session.commit()
    answers = [login(client_at(app, f"192.0.2.{i}"), name, pw) for i, (name, pw) in enumerate(
        [("nobody-here", "whatever-123"), ("intake", "wrong-password"),
         ("handler_log", PASSWORD)])]
    assert {r.status_code for r in answers} == {401}
    assert [flashes(r) for r in answers] == [[GENERIC]] * 3


def test_every_answer_checks_exactly_one_password_hash(app, org, monkeypatch):
    """Unknown name, inactive account, wrong password, right password and a waiting name:
    each costs one password-hash check, so that the time tells nothing either."""
    real = auth_service.check_password_hash
    calls = []

    def counting(pwhash, password):
        calls.append(pwhash)
        return real(pwhash, password)

    monkeypatch.setattr(auth_service, "check_password_hash", counting)
    with app.app_context():
        db.session.get(Staff, org.users["handler_log"]).active = False
        db.session.commit()
        intake_hash = db.session.get(Staff, org.users["intake"]).password_hash

    def count(name, password, address):
        calls.clear()
        r = login(client_at(app, address), name, password)
        return r.status_code, len(calls)

    assert count("nobody-here", "whatever-123", "192.0.2.1") == (401, 1)
    assert calls[0] != intake_hash  # a dummy hash, of the same method as real ones
    assert calls[0].split("$")[0] == intake_hash.split("$")[0]
    assert count("handler_log", PASSWORD, "192.0.2.2") == (401, 1)
    assert count("intake", "wrong-password", "192.0.2.3") == (401, 1)
    assert calls == [intake_hash]
    assert count("intake", PASSWORD, "192.0.2.4") == (302, 1)
    for i in range(5):  # the name "ghost" now waits
        login(client_at(app, f"192.0.2.{10 + i}"), "ghost", "guess-it-123")
    assert count("ghost", "guess-it-123", "192.0.2.30") == (401, 1)


def test_a_waiting_name_answers_alike_whether_it_exists_or_not(app, org, monkeypatch):
    """Failures on an existing name and on a name nobody has, from many addresses: both get
    the generic sentence plus the same "wait" sentence, with the same status."""
    freeze(monkeypatch)
    answers = {}
    for name in ("manager", "no-such-manager"):
        for i in range(5):
            r = login(client_at(app, f"192.0.2.{i}"), name, f"guess-{i}-abcdef")
        answers[name] = (r.status_code, flashes(r))
    assert answers["manager"] == answers["no-such-manager"] == (401, [f"{GENERIC} {TRY_LATER}"])
    # While it waits, even the right password gets that same answer.
    r = login(client_at(app, "192.0.2.99"), "manager")
    assert (r.status_code, flashes(r)) == (401, [f"{GENERIC} {TRY_LATER}"])


# --- the delay -------------------------------------------------------------------------------


def test_an_account_name_waits_longer_after_each_failure(app, org, monkeypatch):
    """3 failures cost nothing; the 4th makes the name wait 2 s, the 5th 4 s; the right
    password gets in once the wait is over — no lock."""
    frozen = freeze(monkeypatch)
    for i in range(3):
        r = login(client_at(app, f"192.0.2.{i}"), "intake", "wrong-password")
        assert flashes(r) == [GENERIC]
    r = login(client_at(app, "192.0.2.3"), "intake", "wrong-password")
    assert flashes(r) == [f"{GENERIC} {TRY_LATER}"]
    assert _attempts(app)["user:intake"][0] == 4
    r = login(client_at(app, "192.0.2.4"), "intake")
    assert r.status_code == 401  # within the 2 s
    frozen.advance(seconds=2)
    login(client_at(app, "192.0.2.5"), "intake", "wrong-password")  # 5th: 4 s
    frozen.advance(seconds=3)
    assert login(client_at(app, "192.0.2.6"), "intake").status_code == 401
    frozen.advance(seconds=1)
    assert login(client_at(app, "192.0.2.7"), "intake").status_code == 302
    assert "user:intake" not in _attempts(app)  # a good login forgets the name's failures


def test_the_wait_is_capped_at_fifteen_minutes(app, org, monkeypatch):
    """However many failures, 15 minutes after the last one the user may log in."""
    frozen = freeze(monkeypatch)
    for i in range(25):
        login(client_at(app, f"192.0.2.{i}"), "supervisor", "wrong-password")
        frozen.advance(minutes=15)
    frozen.advance(minutes=-15)
    frozen.advance(minutes=14, seconds=59)
    assert login(client_at(app, "192.0.2.200"), "supervisor").status_code == 401
    frozen.advance(seconds=1)
    assert login(client_at(app, "192.0.2.201"), "supervisor").status_code == 302


def test_an_address_that_keeps_failing_waits_whatever_name_it_tries(app, org, monkeypatch):
    """Ten failures from one address on ten different names cost nothing; the eleventh makes
    that address wait — even for a right password — while other addresses are not held."""
    freeze(monkeypatch)
    attacker = client_at(app, ATTACKER)
    for i in range(10):
        assert flashes(login(attacker, f"spray-{i}", "Summer2026!")) == [GENERIC]
    r = login(attacker, "spray-10", "Summer2026!")
    assert (r.status_code, flashes(r)) == (401, [f"{GENERIC} {TRY_LATER}"])
    r = login(attacker, "intake")
    assert (r.status_code, flashes(r)) == (401, [f"{GENERIC} {TRY_LATER}"])
    assert login(client_at(app, OFFICE), "intake").status_code == 302


def test_the_delay_holds_across_processes(app, org, monkeypatch):
    """A second app on the same database (another worker or host) sees the same delay."""
    freeze(monkeypatch)
    for i in range(6):
        login(client_at(app, f"192.0.2.{i}"), "intake", "wrong-password")
    other_app = create_app({**app.config, "TESTING": True})
    try:
        other = other_app.test_client()
        other.environ_base["REMOTE_ADDR"] = "192.0.2.50"
        r = AuthActions(other).login("intake")
        assert r.status_code == 401 and TRY_LATER in flashes(r)[0]
    finally:
        _dispose(other_app)


# --- nobody is locked out by strangers --------------------------------------------------------


def test_strangers_never_lock_the_administrator_out(app, org, monkeypatch):
    """After 20 failures on "admin" from address A, the administrator logs in from their
    browser at address B at once; A stays slowed down, even with the right password."""
    frozen = freeze(monkeypatch)
    own = client_at(app, OFFICE)
    assert login(own, "admin").status_code == 302  # their usual browser
    AuthActions(own).logout()
    attacker = client_at(app, ATTACKER)
    for i in range(20):  # a patient attacker: each guess after the previous wait is over
        if i:
            frozen.advance(minutes=15)
        r = login(attacker, "admin", f"guess-{i}-abcdef")
    assert flashes(r) == [f"{GENERIC} {TRY_LATER}"]
    assert _attempts(app)["user:admin"][0] == 20
    assert len(events(app, ev.LOGIN_FAILED)) == 20
    r = login(own, "admin")
    assert r.status_code == 302 and own.get("/admin/").status_code == 200
    assert login(client_at(app, ATTACKER), "admin").status_code == 401


def test_a_new_browser_waits_at_most_the_capped_delay(app, org, monkeypatch):
    """A browser the account never used, at yet another address, is slowed down by the
    failures on the name (per-account throttling) — for 15 minutes at most, never locked."""
    frozen = freeze(monkeypatch)
    attacker = client_at(app, ATTACKER)
    for i in range(20):  # 4 failures, then 16 attempts refused while the name waits
        login(attacker, "admin", f"guess-{i}-abcdef")
    assert len(events(app, ev.LOGIN_FAILED)) == 4
    assert len(events(app, ev.LOGIN_LOCKED)) == 16
    fresh = client_at(app, OFFICE)
    assert login(fresh, "admin").status_code == 401
    frozen.advance(minutes=15)
    assert login(fresh, "admin").status_code == 302


def test_a_forged_known_device_cookie_does_not_help(app, org, monkeypatch):
    """The "known browser" cookie is signed: a made-up one does not skip the name's delay."""
    freeze(monkeypatch)
    for i in range(20):
        login(client_at(app, f"192.0.2.{i}"), "admin", f"guess-{i}-abcdef")
    forger = client_at(app, OFFICE)
    forger.set_cookie("desk_device", '["admin"]', domain="localhost", path="/login")
    assert login(forger, "admin").status_code == 401


def test_no_hard_lock_is_written(app, org, monkeypatch):
    """Many failures never set the old locked_until; failed_logins only informs."""
    frozen = freeze(monkeypatch)
    for i in range(12):
        login(client_at(app, f"192.0.2.{i}"), "intake", "wrong-password")
        frozen.advance(minutes=15)
    row = staff(app, "intake")
    assert row.locked_until is None and row.failed_logins == 12
    assert login(client_at(app, OFFICE), "intake").status_code == 302
    assert staff(app, "intake").failed_logins == 0


# --- the record --------------------------------------------------------------------------------


def test_failures_refusals_and_successes_are_recorded(app, org, monkeypatch):
    """Each failure is a login_failed event (name, reason, address; never the password),
    each refusal while waiting a login_locked event, each login a login_succeeded event."""
    freeze(monkeypatch)
    attacker = client_at(app, ATTACKER)
    login(attacker, "nobody-here", "Secret-Guess-1")
    for i in range(4):
        login(attacker, "intake", f"Secret-Guess-{i + 2}")
    login(attacker, "intake", "Secret-Guess-9")  # waiting: refused unseen
    login(client_at(app, OFFICE), "manager")
    failed = events(app, ev.LOGIN_FAILED)
    assert len(failed) == 5
    assert failed[0]["target_id"] is None and "nobody-here" in failed[0]["detail"]
    assert "unknown user name" in failed[0]["detail"]
    assert {e["target_id"] for e in failed[1:]} == {org.users["intake"]}
    assert all("wrong password" in e["detail"] for e in failed[1:])
    assert {e["ip"] for e in failed} == {ATTACKER}
    assert "wait 2 s" in failed[-1]["detail"]
    locked = events(app, ev.LOGIN_LOCKED)
    assert len(locked) == 1 and locked[0]["ip"] == ATTACKER
    assert locked[0]["target_id"] == org.users["intake"]
    ok = events(app, ev.LOGIN_SUCCEEDED)
    assert [(e["actor_id"], e["ip"]) for e in ok] == [(org.users["manager"], OFFICE)]
    every = " ".join(str(v) for e in events(app) for v in e.values())
    assert "Secret-Guess" not in every and PASSWORD not in every
