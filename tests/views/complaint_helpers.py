"""Helpers of the complaint screen tests: rows, logins, CSRF tokens and database snapshots."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta

from sqlalchemy import func, select

from models import CallbackRecord, Complaint, ComplaintEvent, Staff, db
from tests.factories import CSRF, PASSWORD, AuthActions, csrf_token, insert_complaint

LIST = "/admin/complaint/"
NOW = datetime(2026, 11, 24, 10, 0)  # a Tuesday; tests pin services.clock.now to it
_numbers = itertools.count(1)


def make_complaint(*, status="registered", department_id=None, assignee_id=None, due_at=None,
                   title="Fridge not cooling", customer_name="张三", phone="13800138000",
                   received_at=None, number=None, category="product_quality", **fields) -> int:
    """Insert one complaint row directly (tests.factories.insert_complaint, committed) with
    the screen tests' defaults; the caller holds an app context. Returns its id."""
    n = next(_numbers)
    received = received_at or NOW - timedelta(days=2, minutes=n)
    values = dict(number=number or f"TS-20261120-{n:04d}", received_at=received,
                  customer_name=customer_name, customer_phone=phone, customer_phone_norm=phone,
                  category=category, title=title, status=status, due_at=due_at,
                  validity="pending" if status == "registered" else "valid",
                  department_id=department_id, assignee_id=assignee_id, callbacks_required=1)
    values.update(fields)
    complaint = insert_complaint(**values)
    db.session.commit()
    return complaint.id


def staff(username) -> Staff:
    return db.session.scalar(select(Staff).filter_by(username=username))


_CSRF = CSRF


def token(client, url=LIST) -> str:
    """A CSRF token of the client's session (any of our forms accepts it)."""
    return csrf_token(client, url)


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


def login(app, username, password=PASSWORD):
    """A new test client logged in as ``username`` (its own cookie jar)."""
    client = app.test_client()
    response = AuthActions(client).login(username, password)
    assert response.status_code == 302, f"login of {username} failed"
    return client


_VERSION = re.compile(r'name="version" type="hidden" value="(\d+)"|'
                      r'type="hidden" name="version" value="(\d+)"')


def act_url(cid, action):
    return f"{LIST}act/{action}/?id={cid}"


_CONFIRMED_MASTER = re.compile(r'name="confirmed_master" value="([^"]*)"')


def act(client, cid, action, *, confirm=True, **data):
    """Open the action's form as a user would, fill it in, submit; returns the final page.

    An action that ends the handling asks "I confirm" (shown on its page, or for a merge
    once the master is shown): with ``confirm`` the user ticks it as asked."""
    page = client.get(act_url(cid, action))
    assert page.status_code == 200, (action, page.status_code)
    html = page.get_data(as_text=True)
    version = next(g for g in _VERSION.search(html).groups() if g)
    form = {"csrf_token": next(g for g in _CSRF.search(html).groups() if g), "version": version}
    form.update(data)
    if confirm and 'name="confirm"' in html:
        form.setdefault("confirm", "y")
    response = client.post(act_url(cid, action), data=form, follow_redirects=True)
    master = _CONFIRMED_MASTER.search(text(response))
    if confirm and master and "confirm" not in data:  # a merge: confirmed for the master shown
        form.update(confirm="y", confirmed_master=master.group(1).replace("&amp;", "&"))
        response = client.post(act_url(cid, action), data=form, follow_redirects=True)
    return response


def click(client, cid, action):
    """Press a one-click action button (accept, approve; close with its "I confirm" box)
    on the complaint page."""
    html = client.get(f"{LIST}details/?id={cid}").get_data(as_text=True)
    if re.search(r'<a class="[^"]*action-' + action + r'"', html):
        return act(client, cid, action)  # it ends the handling: its page asks to confirm
    match = re.search(r'<form method="post" action="(/admin/complaint/act/' + action
                      + r'/\?id=\d+)"[^>]*>(.*?)</form>', html, re.S)
    assert match, f"no {action} button"
    url = match.group(1).replace("&amp;", "&")
    inner = match.group(2)
    data = {"csrf_token": next(g for g in _CSRF.search(inner).groups() if g),
            "version": next(g for g in _VERSION.search(inner).groups() if g)}
    if 'name="confirm"' in inner:  # it ends the handling: "I confirm" ticked, as asked
        data["confirm"] = "y"
    return client.post(url, data=data, follow_redirects=True)


def text(response) -> str:
    return response.get_data(as_text=True)


def register_form(app, client, **fields):
    """Register a service complaint through the form as a clerk would (赵六, 门店服务差),
    ``fields`` changed or added; returns the final page."""
    from models import Category

    data = form_data(text(client.get(f"{LIST}new/")))
    with app.app_context():
        category = db.session.scalar(select(Category.id).filter_by(code="service"))
    data.update(customer_name="赵六", customer_phone="13911112222", title="门店服务差",
                description="店员态度不好", category_id=str(category))
    data.update(fields)
    return client.post(f"{LIST}new/", data=data, follow_redirects=True)


def form_data(html):
    """The fields of the first admin form on the page, as a browser would post them back."""
    form = re.search(r'<form[^>]*class="admin-form[^"]*"[^>]*>(.*?)</form>', html,
                     re.S).group(1)
    data = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="submit"' not in tag:
            data[name.group(1)] = value.group(1) if value else ""
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        data[name] = body.strip()
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected',
                           body)
        data[name] = next((g for g in chosen.groups() if g is not None), "") if chosen else ""
    return {k: v.replace("&amp;", "&") for k, v in data.items()}
