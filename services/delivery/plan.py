"""Planning: notifications fanned out into deliveries (e-mail, robot posts), and digests.

:func:`plan` takes the notifications not yet planned (``planned_at IS NULL``), oldest
first, a batch per write transaction, and writes for each the deliveries its recipient
chose (``NotificationPreference``; the defaults of ``rules.delivery`` without a row):

- an e-mail to ``Staff.email`` in the person's language (``Staff.locale``, else the
  server's default), key ``n:<notification id>:email``;
- a post to the group robot of the person's department, one per department and event
  (two heads told of one urging make one post), key
  ``r:<department id>:<event id or notification key>:<kind>``.

Each batch loads its notifications with their recipients, preferences and departments in
one query and their complaints in one more; deliveries are rendered when written
(``services.delivery.render``) and inserted with ``ON CONFLICT (key) DO NOTHING``, then the
batch is marked planned. Two planners at once: on PostgreSQL each locks its batch
``FOR UPDATE SKIP LOCKED`` (the other takes the next rows); on SQLite the write transaction
begins IMMEDIATE (they take turns); the unique keys make a repeat harmless anyway.

:func:`plan_digests`: once a day, from ``NOTIFY_DIGEST_HOUR``, each person with the digest
on gets one e-mail with the notifications of the kinds they take by e-mail since their last
digest (``rules.delivery.digest_window``) that went out by no e-mail of their own; key
``d:<staff id>:<date>``, then ``digest_sent_on`` is set to the day.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import selectinload

from models import Complaint, Delivery, Department, Notification, NotificationPreference, Staff, db
from models.engine import write_transaction
from rules import delivery as R

from .. import clock
from . import render


@dataclass
class Planned:
    notifications: int = 0  # notifications planned
    deliveries: int = 0  # delivery rows written (repeats of an existing key not counted)


def mail_on() -> bool:
    """E-mail goes out only while a mail server is configured."""
    return bool(current_app.config.get("MAIL_SERVER"))


def default_locale() -> str:
    return current_app.config.get("BABEL_DEFAULT_LOCALE") or "en"


def batch_size() -> int:
    return int(current_app.config.get("NOTIFY_BATCH") or 100)


def insert_deliveries(rows: list[dict]) -> int:
    """Insert delivery rows, skipping any whose key exists already; how many were new."""
    if not rows:
        return 0
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = Delivery.__table__  # Core: one multi-row statement (the ORM splits by columns)
    stmt = insert(table).on_conflict_do_nothing(index_elements=["key"]).returning(table.c.id)
    return len(db.session.execute(stmt, rows).all())


def delivery_row(now: datetime, *, channel: str, purpose: str, key: str, rendered,
                 **fields) -> dict:
    """The column values of a new pending delivery, due at once."""
    return {"created_at": now, "channel": channel, "purpose": purpose, "key": key,
            "subject": rendered.subject, "body": rendered.body, "html": rendered.html,
            "status": R.PENDING, "attempts": 0, "next_attempt_at": now,
            "notification_id": None, "recipient_id": None, "department_id": None,
            "complaint_id": None, "event_id": None, "address": None, "locale": None,
            "lease_until": None, "leased_by": None, "last_error": None, "sent_at": None,
            **fields}


def _complaints(ids) -> dict[int, Complaint]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    # The messages name the complaint's department: loaded with it (no query per row).
    found = db.session.scalars(select(Complaint).where(Complaint.id.in_(ids))
                               .options(selectinload(Complaint.department)))
    return {c.id: c for c in found}


def _choices(pref: NotificationPreference | None):
    if pref is None:
        return R.DEFAULT_EMAIL_KINDS, R.DEFAULT_ROBOT_KINDS, False
    return R.parse_kinds(pref.email_kinds), R.parse_kinds(pref.robot_kinds), bool(pref.digest)


def _plan_batch(now: datetime, size: int, mail: bool) -> tuple[int, int]:
    ids = list(db.session.scalars(
        select(Notification.id).where(Notification.planned_at.is_(None))
        .order_by(Notification.id).limit(size).with_for_update(skip_locked=True)))
    if not ids:
        return 0, 0
    rows = db.session.execute(
        select(Notification, Staff, NotificationPreference, Department)
        .join(Staff, Staff.id == Notification.recipient_id)
        .outerjoin(NotificationPreference, NotificationPreference.staff_id == Staff.id)
        .outerjoin(Department, Department.id == Staff.department_id)
        .where(Notification.id.in_(ids)).order_by(Notification.id)).all()
    complaints = _complaints(n.complaint_id for n, *_ in rows)
    fallback = default_locale()
    out: dict[str, dict] = {}
    for note, staff, pref, dept in rows:
        if not staff.active:
            continue
        email_kinds, robot_kinds, digest = _choices(pref)
        robot = R.robot_channel(dept.robot_kind, dept.robot_url) if dept is not None else None
        address = (staff.email or "").strip()
        wanted = R.channels_for(note.kind, email_kinds=email_kinds, robot_kinds=robot_kinds,
                                digest=digest, has_address=bool(address), mail_on=mail,
                                robot_on=robot is not None)
        complaint = complaints.get(note.complaint_id)
        common = {"notification_id": note.id, "complaint_id": note.complaint_id,
                  "event_id": note.event_id}
        if R.EMAIL in wanted:
            locale = staff.locale or fallback
            out[R.email_key(note.id)] = delivery_row(
                now, channel=R.EMAIL, purpose=note.kind, key=R.email_key(note.id),
                rendered=render.notification_message(note.kind, complaint, staff,
                                                     locale=locale),
                recipient_id=staff.id, address=address, locale=locale, **common)
        if R.ROBOT in wanted:
            key = R.robot_key(dept.id, note.event_id or note.key or f"n{note.id}", note.kind)
            if key not in out:
                out[key] = delivery_row(
                    now, channel=robot, purpose=note.kind, key=key,
                    rendered=render.robot_message(note.kind, complaint, dept, locale=fallback),
                    department_id=dept.id, locale=fallback, **common)
    written = insert_deliveries(list(out.values()))
    db.session.execute(update(Notification).where(Notification.id.in_(ids))
                       .values(planned_at=now).execution_options(synchronize_session=False))
    return len(ids), written


def plan(now: datetime | None = None, *, batch: int | None = None,
         limit: int | None = None) -> Planned:
    """Fan out every unplanned notification (at most ``limit``) into deliveries."""
    size = batch or batch_size()
    mail = mail_on()
    done = Planned()
    while limit is None or done.notifications < limit:
        step = size if limit is None else min(size, limit - done.notifications)
        with write_transaction(db.session):
            notes, written = _plan_batch(now or clock.now(), step, mail)
        done.notifications += notes
        done.deliveries += written
        if notes < step:
            break
    return done


# --- the daily digest -------------------------------------------------------------------


def _digest_batch(now: datetime, day: date, hour: int, size: int) -> tuple[int, int]:
    users = db.session.execute(
        select(NotificationPreference, Staff)
        .join(Staff, Staff.id == NotificationPreference.staff_id)
        .where(NotificationPreference.digest.is_(True),
               or_(NotificationPreference.digest_sent_on.is_(None),
                   NotificationPreference.digest_sent_on < day),
               Staff.active.is_(True), Staff.email.is_not(None),
               func.trim(Staff.email) != "")
        .order_by(NotificationPreference.staff_id).limit(size)
        .with_for_update(of=NotificationPreference, skip_locked=True)).all()
    if not users:
        return 0, 0
    windows = {pref.staff_id: R.digest_window(day, pref.digest_sent_on, hour)
               for pref, _ in users}
    start = min(w[0] for w in windows.values())
    end = max(w[1] for w in windows.values())
    own_mail = select(Delivery.id).where(Delivery.notification_id == Notification.id,
                                         Delivery.channel == R.EMAIL).exists()
    notes = db.session.scalars(
        select(Notification)
        .where(Notification.recipient_id.in_(list(windows)),
               and_(Notification.created_at >= start, Notification.created_at < end),
               ~own_mail)
        .order_by(Notification.created_at, Notification.id)).all()
    by_person: dict[int, list[Notification]] = defaultdict(list)
    for note in notes:
        by_person[note.recipient_id].append(note)
    complaints = _complaints(n.complaint_id for n in notes)
    fallback = default_locale()
    rows = []
    for pref, staff in users:
        first, last = windows[staff.id]
        kinds = R.parse_kinds(pref.email_kinds)
        items = [(n, complaints.get(n.complaint_id)) for n in by_person[staff.id]
                 if first <= n.created_at < last and n.kind in kinds]
        if not items:
            continue
        locale = staff.locale or fallback
        rows.append(delivery_row(
            now, channel=R.EMAIL, purpose=R.DIGEST, key=R.digest_key(staff.id, day),
            rendered=render.digest_message(staff, items, locale=locale, day=day),
            recipient_id=staff.id, address=staff.email.strip(), locale=locale))
    written = insert_deliveries(rows)
    db.session.execute(
        update(NotificationPreference)
        .where(NotificationPreference.staff_id.in_(list(windows)))
        .values(digest_sent_on=day).execution_options(synchronize_session=False))
    return len(users), written


def plan_digests(now: datetime | None = None, *, batch: int | None = None) -> int:
    """Write today's digests, if they are due (mail on, the digest hour reached); how many."""
    now = now or clock.now()
    hour = int(current_app.config.get("NOTIFY_DIGEST_HOUR", 8))
    if not mail_on() or now.hour < hour:
        return 0
    size = batch or batch_size()
    written = 0
    while True:
        with write_transaction(db.session):
            people, new = _digest_batch(now, now.date(), hour, size)
        written += new
        if people < size:
            return written
