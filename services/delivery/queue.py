"""The administrator's side of the delivery queue: send failed (or waiting) messages again,
and the number of failed ones.

:func:`retry` puts the chosen messages back to ``pending`` with their tries reset, due now
and without a lease, and writes one AdminEvent per message, all in one write transaction.
Which messages may go again is for ``rules.delivery_settings.retryable`` to say: failed
ones, and waiting ones that failed before; never a sent one, nor one a worker holds right
now (it could go out twice). On PostgreSQL the rows
are locked while they are checked (a worker's ``SKIP LOCKED`` claim passes them by).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update

from models import Delivery, db
from models.engine import write_transaction
from rules import admin_events as E
from rules.bounds import parse_id
from rules.delivery import FAILED, PENDING
from rules.delivery_settings import retryable
from services import admin_events as recorder


def _label(row) -> str:
    return f"#{row.id} {row.channel} {row.purpose}"


def retry(ids: Iterable, actor_id: int | None, now: datetime) -> int:
    """Queue the messages ``ids`` (raw values from a form) again; how many were."""
    clean = sorted({pk for pk in map(parse_id, ids) if pk is not None})
    if not clean:
        return 0
    with write_transaction(db.session):
        rows = db.session.execute(
            select(Delivery.id, Delivery.channel, Delivery.purpose, Delivery.status,
                   Delivery.attempts, Delivery.lease_until)
            .where(Delivery.id.in_(clean)).order_by(Delivery.id).with_for_update()).all()
        chosen = [r for r in rows if retryable(r.status, r.attempts, r.lease_until, now)]
        if not chosen:
            return 0
        db.session.execute(
            update(Delivery).where(Delivery.id.in_([r.id for r in chosen]))
            .values(status=PENDING, attempts=0, next_attempt_at=now, lease_until=None,
                    leased_by=None),
            execution_options={"synchronize_session": False})
        for r in chosen:
            recorder.record(
                E.DELIVERY_RETRIED, actor_id=actor_id, now=now,
                target=(E.TARGET_DELIVERY, r.id, _label(r)),
                detail=E.describe_changes({"status": (r.status, PENDING),
                                           "attempts": (r.attempts, 0)}))
    return len(chosen)


def failed_count() -> int:
    """How many messages failed for good (the administrator's to look at)."""
    return db.session.scalar(
        select(func.count()).select_from(Delivery).where(Delivery.status == FAILED)) or 0
