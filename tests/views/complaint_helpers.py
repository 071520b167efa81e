"""Helpers of the complaint screen tests: rows, logins, CSRF tokens and database snapshots."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta

from sqlalchemy import func, select

from models import CallbackRecord, Category, Complaint, ComplaintEvent, Staff, db

LIST = "/admin/complaint/"
NOW = datetime(2026, 11, 24, 10, 0)  # a Tuesday; tests pin services.clock.now to it
_numbers = itertools.count(1)


def make_complaint(*, status="registered", department_id=None, assignee_id=None, due_at=None,
                   title="Fridge not cooling", customer_name="张三", phone="13800138000",
                   received_at=None, number=None, kind="complaint", severity="normal",
                   category="product_quality", **fields) -> int:
    """Insert one complaint row directly (the caller holds an app context); returns its id."""
    n = next(_numbers)
    received = received_at or NOW - timedelta(days=2, minutes=n)
    category_id = db.session.scalar(select(Category.id).filter_by(code=category))
    values = dict(
        number=number or f"TS-20261120-{n:04d}", kind=kind, channel="phone",
        received_at=received, customer_name=customer_name, customer_phone=phone,
        customer_phone_norm=phone, customer_class="C", category_id=category_id,
        severity=severity, title=title, description="", status=status,
        validity="pending" if status == "registered" else "valid",
        department_id=department_id, assignee_id=assignee_id, escalation_level=0,
        due_at=due_at, created_at=received, updated_at=received, callbacks_required=1,
    )
    values.update(fields)
    c = Complaint(**values)
    db.session.add(c)
    db.session.commit()
    return c.id


def staff(username) -> Staff:
    return db.session.scalar(select(Staff).filter_by(username=username))


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                   r'name="csrf_token" value="([^"]+)"')


def token(client, url=LIST) -> str:
    """A CSRF token of the client's session (any of our forms accepts it)."""
    html = client.get(url).get_data(as_text=True)
    match = _CSRF.search(html)
    assert match, f"no csrf_token on {url}"
    return next(g for g in match.groups() if g)


def snapshot():
    """Everything a complaint request could change, to compare before and after."""
    complaints = db.session.execute(
        select(Complaint.id, Complaint.version, Complaint.status, Complaint.department_id,
               Complaint.assignee_id, Complaint.escalation_level, Complaint.title,
               Complaint.customer_name).order_by(Complaint.id)
    ).all()
    return {
        "complaints": [tuple(row) for row in complaints],
        "events": db.session.scalar(select(func.count()).select_from(ComplaintEvent)),
        "callbacks": db.session.scalar(select(func.count()).select_from(CallbackRecord)),
    }


def events_of(complaint_id):
    return db.session.scalars(
        select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint_id)
        .order_by(ComplaintEvent.id)
    ).all()


def flashes(html) -> str:
    """The text of the flashed messages on a page (alerts), for assertions."""
    return " ".join(re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', html, re.S))


def login(app, username, password="test-pass-123"):
    """A new test client logged in as ``username`` (its own cookie jar)."""
    client = app.test_client()
    html = client.get("/login").get_data(as_text=True)
    csrf = _CSRF.search(html)
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": next(g for g in csrf.groups() if g)})
    assert response.status_code == 302, f"login of {username} failed"
    return client


_VERSION = re.compile(r'name="version" type="hidden" value="(\d+)"|'
                      r'type="hidden" name="version" value="(\d+)"')


def act_url(cid, action):
    return f"{LIST}act/{action}/?id={cid}"


def act(client, cid, action, **data):
    """Open the action's form as a user would, fill it in, submit; returns the final page."""
    page = client.get(act_url(cid, action))
    assert page.status_code == 200, (action, page.status_code)
    html = page.get_data(as_text=True)
    version = next(g for g in _VERSION.search(html).groups() if g)
    form = {"csrf_token": next(g for g in _CSRF.search(html).groups() if g), "version": version}
    form.update(data)
    return client.post(act_url(cid, action), data=form, follow_redirects=True)


def click(client, cid, action):
    """Press a one-click action button (accept, approve, close) on the complaint page."""
    html = client.get(f"{LIST}details/?id={cid}").get_data(as_text=True)
    match = re.search(r'<form method="post" action="(/admin/complaint/act/' + action
                      + r'/\?id=\d+)"[^>]*>(.*?)</form>', html, re.S)
    assert match, f"no {action} button"
    url = match.group(1).replace("&amp;", "&")
    inner = match.group(2)
    data = {"csrf_token": next(g for g in _CSRF.search(inner).groups() if g),
            "version": next(g for g in _VERSION.search(inner).groups() if g)}
    return client.post(url, data=data, follow_redirects=True)


def text(response) -> str:
    return response.get_data(as_text=True)
