"""The one module of test factories and login helpers.

- :func:`insert_complaint` — one complaint row inserted directly, every column chosen by
  the test (screens and exports tests that need exact figures);
- :class:`Desk` — service-level shortcuts: register and walk a complaint through the
  real services (``services.complaints.perform``) to any status;
- :func:`csrf_token` and :class:`AuthActions` — CSRF tokens and logging in through the
  real login form;
- :func:`export_file` — an export or workbook URL followed through its job to the file.
"""

from __future__ import annotations

import itertools
import re
import threading
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import event, func, select

from models import CallbackRecord, Category, Complaint, ComplaintEvent, Staff, db
from rules import Action, Status
from services.complaints import perform, register

PASSWORD = "test-pass-123"

# Monday 2026-11-23: an ordinary working week (no statutory holiday until New Year).
T0 = datetime(2026, 11, 23, 9, 0)
T1 = T0 + timedelta(hours=1)

RESOLUTION = {"root_cause": "batch defect", "responsibility": "company", "remedy": "exchange",
              "resolution": "replaced the unit and apologised"}
SATISFIED = {"method": "phone", "reached": True, "satisfaction": "satisfied", "solved": True}
UNSATISFIED = {"method": "phone", "reached": True, "satisfaction": "unsatisfied",
               "solved": False}
AVERAGE = {"method": "phone", "reached": True, "satisfaction": "average", "solved": True}
NOT_SOLVED = {"method": "phone", "reached": True, "satisfaction": "satisfied", "solved": False}
NOT_REACHED = {"method": "phone", "reached": False}

_numbers = itertools.count(1)


def insert_complaint(**fields) -> Complaint:
    """One complaint row with plain defaults, inserted (flushed) as it is; fields override."""
    n = next(_numbers)
    received = fields.pop("received_at", datetime(2026, 11, 2, 9, 0))
    category = fields.pop("category", None)
    if category is not None and "category_id" not in fields:  # an explicit id wins
        fields["category_id"] = db.session.scalar(select(Category.id).filter_by(code=category))
    values = dict(
        number=f"TS-{received:%Y%m%d}-{n:04d}", kind="complaint", channel="phone",
        received_at=received, customer_name=f"客户{n}", customer_phone="13800138000",
        customer_phone_norm="13800138000", customer_class="C", severity="normal",
        title=f"Complaint {n}", description="", validity="valid", status=Status.IN_PROGRESS,
        escalation_level=0, created_at=received, updated_at=received,
    )
    values.update(fields)
    complaint = Complaint(**values)
    if "customer_id" not in fields:  # linked to its customer as the services link it
        from services.customers import link

        link(complaint, received)
    db.session.add(complaint)
    db.session.flush()
    return complaint


class Desk:
    """Service-level shortcuts for one test, inside its app context."""

    def __init__(self, org):
        self.org = org

    def staff(self, username: str) -> Staff:
        return db.session.get(Staff, self.org.users[username])

    def resolve(self, value):
        """'@qa' -> the QA department id, '@handler_qa' -> that user's id; other values as is."""
        if isinstance(value, str) and value.startswith("@"):
            name = value[1:]
            return getattr(self.org, name) if hasattr(self.org, name) else self.org.users[name]
        return value

    def inputs(self, raw: dict) -> dict:
        return {k: self.resolve(v) for k, v in raw.items()}

    def register(self, now: datetime = T0, by: str = "intake", **fields) -> int:
        data = {"customer_name": "张三", "customer_phone": "13800138000",
                "title": "冰箱不制冷", "description": "冷藏室不制冷", "category": "service"}
        data.update(fields)
        return register(data, self.staff(by), now=now).id

    def act(self, cid: int, action: str, username: str, now: datetime = T0, **inputs):
        return perform(cid, action, self.staff(username), self.inputs(inputs), now=now)

    def bring_to(self, status: str, now: datetime = T0, **fields) -> int:
        """A new complaint walked through the workflow to ``status`` (QA, handler_qa).

        ``callback_done``: in callback with every required satisfied callback recorded;
        ``closed_invalid``: rejected, then the customer told (closed as invalid).
        """
        cid = self.register(now=now, **fields)
        if status == Status.REGISTERED:
            return cid
        if status in (Status.REJECTED, "closed_invalid"):
            self.act(cid, Action.REJECT, "intake", now, reason="duplicate")
            if status == "closed_invalid":
                self.act(cid, Action.REPLY, "intake", now, method="phone", note="told")
            return cid
        self.act(cid, Action.ACCEPT, "intake", now)
        if status == Status.ACCEPTED:
            return cid
        self.act(cid, Action.FORWARD, "intake", now, department_id="@qa")
        if status == Status.FORWARDED:
            return cid
        self.act(cid, Action.ASSIGN, "head_qa", now, assignee_id="@handler_qa")
        if status == Status.IN_PROGRESS:
            return cid
        self.act(cid, Action.RESOLVE, "handler_qa", now, **RESOLUTION)
        if status == Status.RESOLVED:
            return cid
        self.act(cid, Action.REVIEW_APPROVE, "intake", now)
        if status == Status.CALLBACK:
            return cid
        needed = db.session.get(Complaint, cid).callbacks_required
        for _ in range(needed):
            self.act(cid, Action.CALLBACK, "intake", now, **SATISFIED)
        if status == "callback_done":
            return cid
        self.act(cid, Action.CLOSE, "intake", now)
        assert status == Status.CLOSED, status
        return cid

    # --- reading the database as it is (not the session's identity map) -----------------

    def row(self, cid: int) -> dict:
        table = Complaint.__table__
        return dict(db.session.execute(select(table).where(table.c.id == cid)).mappings().one())

    def events(self, cid: int) -> list[dict]:
        table = ComplaintEvent.__table__
        rows = db.session.execute(
            select(table).where(table.c.complaint_id == cid).order_by(table.c.id)
        ).mappings()
        return [dict(r) for r in rows]

    def count(self, model) -> int:
        return db.session.scalar(select(func.count()).select_from(model))

    def state(self, cid: int) -> tuple:
        """Everything a refused action must leave as it was."""
        db.session.expire_all()
        return (self.row(cid), len(self.events(cid)), self.count(ComplaintEvent),
                self.count(CallbackRecord), self.count(Complaint))


# --- counting SQL statements ----------------------------------------------------------


@contextmanager
def recorded_statements(app):
    """The SQL statements the app's engine runs inside the block (a list, filled as it runs)."""
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def remember(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", remember)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", remember)


# --- HTTP: CSRF tokens and logging in ----------------------------------------------------

# Flask-Admin's SecureForm and our own forms render the token's attributes in either order.
CSRF = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"|'
                  r'<input[^>]*value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(client, url) -> str:
    """The CSRF token of the first form on the page at ``url``."""
    html = client.get(url).get_data(as_text=True)
    match = CSRF.search(html)
    assert match, f"no csrf_token on {url}"
    return next(g for g in match.groups() if g)


JOB_PAGE = re.compile(r"/admin/jobs/(\d+)/$")


def export_file(client, url, **kwargs):
    """GET ``url`` (an export or a workbook). When it answers with the redirect to a job's
    page (issue 13: the file is made by a job; the tests run jobs eagerly), check that the
    job is done and return the response of its download; otherwise (refused, 403…) return
    the first response."""
    response = client.get(url, **kwargs)
    job = job_of(response)
    if job is None:
        return response
    response.close()
    headers = {"headers": kwargs["headers"]} if "headers" in kwargs else {}
    status = client.get(f"/admin/jobs/{job}/status.json", **headers).get_json()
    assert status["status"] == "done", status
    return client.get(f"/admin/jobs/{job}/download", **headers)


def job_of(response) -> int | None:
    """The id of the job a response redirects to, or None."""
    match = JOB_PAGE.search(response.headers.get("Location", "")) if (
        response.status_code == 302) else None
    return int(match.group(1)) if match else None


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, username, password=PASSWORD, follow=False):
        token = csrf_token(self.client, "/login")
        return self.client.post("/login", data={"username": username, "password": password,
                                                "csrf_token": token},
                                follow_redirects=follow)

    def logout(self):
        token = csrf_token(self.client, "/admin/")
        return self.client.post("/logout", data={"csrf_token": token})


def run_concurrently(app, work, threads: int = 4) -> list:
    """``work()`` in ``threads`` threads at once (each in its own app context, released
    together); their results. Fails if one hangs or raises."""
    start = threading.Barrier(threads)
    results, errors = [], []

    def run():
        try:
            with app.app_context():
                start.wait(timeout=10)
                results.append(work())
        except Exception as exc:  # collected and reported by the assertions below
            errors.append(repr(exc))

    pool = [threading.Thread(target=run, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in pool), "a run hung"
    assert errors == []
    return results
