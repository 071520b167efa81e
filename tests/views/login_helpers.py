"""Helpers of the sign-in tests: a frozen company clock, clients at given addresses, codes,
and reading the administrative record."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select

from models import AdminEvent, Staff, db
from services import clock, totp
from tests.factories import PASSWORD, AuthActions, csrf_token

T0 = datetime(2026, 11, 23, 9, 0)
GENERIC = "Unknown user name or wrong password."
TRY_LATER = "Too many failed attempts: please wait a few minutes, then try again."
WRONG_CODE = "Wrong or expired code."
ATTACKER = "203.0.113.66"
OFFICE = "198.51.100.7"


class FrozenClock:
    """Replaces services.clock.now: the company's time stands still until moved."""

    def __init__(self, start: datetime = T0):
        self.t = start

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **delta) -> datetime:
        self.t += timedelta(**delta)
        return self.t


def freeze(monkeypatch, start: datetime = T0) -> FrozenClock:
    frozen = FrozenClock(start)
    monkeypatch.setattr(clock, "now", frozen)
    return frozen


def client_at(app, address: str):
    """A new browser whose requests come from ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def login(client, username, password=PASSWORD):
    return AuthActions(client).login(username, password)


def flashes(response) -> list[str]:
    """The alert texts of a page."""
    html = response.get_data(as_text=True)
    return [re.sub(r"\s+", " ", m).strip()
            for m in re.findall(r'<div class="alert[^"]*" role="alert">(.*?)</div>', html, re.S)]


def staff(app, username) -> Staff:
    with app.app_context():
        return db.session.scalar(select(Staff).filter_by(username=username))


def events(app, action=None) -> list[dict]:
    """The AdminEvent rows (as dicts), oldest first, of one action or all."""
    table = AdminEvent.__table__
    with app.app_context():
        query = select(table).order_by(table.c.id)
        if action:
            query = query.where(table.c.action == action)
        return [dict(r) for r in db.session.execute(query).mappings()]


def secret_of(app, username) -> str:
    return staff(app, username).totp_secret


def code_for(app, username, frozen: FrozenClock) -> str:
    """The app's current code for this user at the frozen time."""
    return totp.current_code(secret_of(app, username), frozen())


def enrol(app, client, username, frozen: FrozenClock) -> list[str]:
    """Turn two-step sign-in on for the logged-in ``client``; its recovery codes."""
    assert client.get("/account/two-step").status_code == 200
    token = csrf_token(client, "/account/two-step")
    r = client.post("/account/two-step/confirm",
                    data={"csrf_token": token, "code": code_for(app, username, frozen)})
    assert r.status_code == 200, r.get_data(as_text=True)
    codes = re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>",
                       r.get_data(as_text=True))
    assert len(codes) == 10
    return codes


def second_step(client, code):
    token = csrf_token(client, "/login/code")
    return client.post("/login/code", data={"csrf_token": token, "code": code})
