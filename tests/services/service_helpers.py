"""Helpers for the service tests: staff by user name, complaints brought to any status."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from models import CallbackRecord, Complaint, ComplaintEvent, Staff, db
from services.complaints import perform, register

# Monday 2026-11-23: an ordinary working week (no statutory holiday until New Year).
T0 = datetime(2026, 11, 23, 9, 0)
T1 = T0 + timedelta(hours=1)

RESOLUTION = {"root_cause": "batch defect", "responsibility": "company", "remedy": "exchange",
              "resolution": "replaced the unit and apologised"}
SATISFIED = {"method": "phone", "reached": True, "satisfaction": "satisfied", "solved": True}
UNSATISFIED = {"method": "phone", "reached": True, "satisfaction": "unsatisfied", "solved": False}


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

    def register(self, now: datetime = T0, **fields) -> int:
        data = {"customer_name": "张三", "customer_phone": "13800138000",
                "title": "冰箱不制冷", "category": "service"}
        data.update(fields)
        return register(data, self.staff("intake"), now=now).id

    def act(self, cid: int, action: str, username: str, now: datetime = T0, **inputs):
        return perform(cid, action, self.staff(username), self.inputs(inputs), now=now)

    def bring_to(self, status: str, now: datetime = T0, **fields) -> int:
        """A new complaint walked through the workflow to ``status`` (QA, handler_qa)."""
        cid = self.register(now=now, **fields)
        if status == "registered":
            return cid
        if status == "rejected":
            self.act(cid, "reject", "intake", now, reason="duplicate")
            return cid
        self.act(cid, "accept", "intake", now)
        if status == "accepted":
            return cid
        self.act(cid, "forward", "intake", now, department_id="@qa")
        if status == "forwarded":
            return cid
        self.act(cid, "assign", "head_qa", now, assignee_id="@handler_qa")
        if status == "in_progress":
            return cid
        self.act(cid, "resolve", "handler_qa", now, **RESOLUTION)
        if status == "resolved":
            return cid
        self.act(cid, "review_approve", "intake", now)
        if status == "callback":
            return cid
        needed = db.session.get(Complaint, cid).callbacks_required
        for _ in range(needed):
            self.act(cid, "callback", "intake", now, **SATISFIED)
        if status == "callback_done":
            return cid
        self.act(cid, "close", "intake", now)
        assert status == "closed", status
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

