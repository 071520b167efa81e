"""The REST API's work: register, read, list and record the upstream reference through the
same services as the screens, and answer a replayed request (its Idempotency-Key) with
the stored answer — in the same transaction as the change it answers.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError

from models import ApiRequest, ApiToken, Category, Complaint, Staff, db
from models.engine import write_transaction
from rules import Status
from rules.bounds import parse_id
from rules.customer_messages import answer_deadline
from rules.errors import N_, InvalidInput, about

from . import clock, complaints, edits
from .calendar_source import business_calendar
from .queries import scope_clause

# Statuses in which the complaint's result (resolution) is told.
WITH_RESULT = (Status.RESOLVED, Status.CALLBACK, Status.CLOSED)


def company_time(value: datetime | None) -> datetime | None:
    """A time from the request as company time (naive); one with an offset is converted."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(clock.zone()).replace(tzinfo=None)


def _iso(value: datetime | None) -> str | None:
    """Company time with the company's offset: 2026-11-30T09:30:00+08:00."""
    if value is None:
        return None
    return value.replace(tzinfo=clock.zone()).isoformat()


def answer_due(c: Complaint) -> datetime | None:
    """The answer deadline: the department's resolve deadline once forwarded, before that
    the one the acknowledgement promised (rules.customer_messages.answer_deadline)."""
    if c.resolve_due is not None:
        return c.resolve_due
    policy = complaints.policy_for(c.kind, c.category.code if c.category else None, c.severity)
    return answer_deadline(c.received_at, c.created_at, policy, business_calendar())


def summary(c: Complaint) -> dict:
    """What the API tells about a complaint: never staff names, notes or contact data."""
    body = {
        "number": c.number, "status": c.status, "kind": c.kind, "channel": c.channel,
        "received_at": _iso(c.received_at), "registered_at": _iso(c.created_at),
        "updated_at": _iso(c.updated_at), "due_at": _iso(c.due_at), "due_kind": c.due_kind,
        "answer_due": _iso(answer_due(c)), "upstream_source": c.upstream_source,
        "upstream_ref": c.upstream_ref, "upstream_due": _iso(c.upstream_due),
        "version": c.version,
    }
    if c.status in WITH_RESULT:
        body["resolution"] = c.resolution
        body["resolved_at"] = _iso(c.resolved_at)
        body["closed_at"] = _iso(c.closed_at)
    return body


def find(number: str, staff: Staff) -> Complaint | None:
    """The complaint of this number inside the account's scope (else None: "not found")."""
    if not number or len(number) > 20:
        return None
    return db.session.scalar(select(Complaint).where(Complaint.number == number,
                                                     scope_clause(staff.actor)))


# --- the list: changed since a time, by a cursor ----------------------------------------------


def _cursor(c: Complaint) -> str:
    raw = f"{c.updated_at.isoformat()}|{c.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _parse_cursor(text: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        when, _, pk = raw.partition("|")
        at, pk = datetime.fromisoformat(when), parse_id(pk)
    except (ValueError, UnicodeDecodeError):
        at = pk = None
    if pk is None:
        raise about("cursor", InvalidInput(N_("The cursor is not valid.")))
    return at, pk


def changed(staff: Staff, since: datetime | None, limit: int,
            cursor: str | None) -> tuple[list[Complaint], str | None]:
    """The account's complaints changed at or after ``since``, oldest change first, at most
    ``limit``; and the cursor of the next page (None at the end)."""
    stmt = select(Complaint).where(scope_clause(staff.actor))
    if since is not None:
        stmt = stmt.where(Complaint.updated_at >= company_time(since))
    if cursor:
        at, pk = _parse_cursor(cursor)
        stmt = stmt.where(or_(Complaint.updated_at > at,
                              and_(Complaint.updated_at == at, Complaint.id > pk)))
    rows = list(db.session.scalars(
        stmt.order_by(Complaint.updated_at, Complaint.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (_cursor(rows[-1]) if more and rows else None)


# --- writes -----------------------------------------------------------------------------------


def register(clean: Mapping, staff: Staff) -> Complaint:
    """Register through services.complaints.register (the intake rules, audit, notices)."""
    data = dict(clean)
    for name in ("received_at", "upstream_due"):
        data[name] = company_time(data.get(name))
    if data.get("received_at") is None:
        data.pop("received_at", None)
    code = data.get("category")
    if code and db.session.scalar(select(Category.id).where(Category.code == code,
                                                            Category.active.is_(True))) is None:
        raise about("category", InvalidInput(
            N_("The %(field_name)s is not one of the allowed values."),
            field_name=N_("category")))
    return complaints.register(data, staff)


def record_upstream(number: str, clean: Mapping, staff: Staff) -> Complaint:
    """The upstream source and reference through the edit form's service (audited as an
    edit, the same rules): outside the account's scope it is "not found"."""
    complaint = find(number, staff)
    if complaint is None:
        raise complaints.NotFound()
    values = {name: clean.get(name) for name in ("upstream_source", "upstream_ref")}
    if "upstream_due" in clean:
        values["upstream_due"] = company_time(clean["upstream_due"])
    return edits.edit(complaint.id, values, staff, expected_version=clean.get("version"))


# --- replays ----------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    body: dict
    replayed: bool = False


class KeyReused(Exception):
    """The Idempotency-Key was used before with another request."""


def body_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def _stored(token_id: int, key: str) -> ApiRequest | None:
    return db.session.scalar(select(ApiRequest).where(ApiRequest.token_id == token_id,
                                                      ApiRequest.idempotency_key == key))


def _replay(row: ApiRequest, method: str, path: str, digest: str) -> Answer:
    if (row.method, row.path, row.body_sha256) != (method, path, digest):
        raise KeyReused()
    return Answer(row.status_code, json.loads(row.response), replayed=True)


def once(token: ApiToken, key: str | None, method: str, path: str, raw: bytes,
         work: Callable[[], Answer]) -> Answer:
    """Do ``work`` (its writes and the stored answer in one transaction), or, for a key
    already answered, return that answer again and do nothing. Two requests with one key
    at once: the unique (token, key) decides; the loser's work is rolled back."""
    token_id = token.id
    if key is None:
        with write_transaction(db.session):
            return work()
    digest = body_hash(raw)
    try:
        with write_transaction(db.session):
            row = _stored(token_id, key)
            if row is not None:
                return _replay(row, method, path, digest)
            answer = work()
            db.session.add(ApiRequest(
                token_id=token_id, idempotency_key=key, method=method, path=path[:300],
                body_sha256=digest, status_code=answer.status,
                response=json.dumps(answer.body, ensure_ascii=False),
                created_at=clock.now()))
            db.session.flush()
        return answer
    except IntegrityError:
        db.session.rollback()
        row = _stored(token_id, key)
        if row is None:
            raise
        try:
            return _replay(row, method, path, digest)
        finally:
            db.session.rollback()
