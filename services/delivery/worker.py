"""The delivery worker: one pass plans, writes the digests, then sends what is due.

The guarantee
-------------
**Nothing is lost**: a notification is fanned out into Delivery rows in the transaction
that marks it planned, and a delivery stays ``pending`` until a send succeeded (``sent``)
or it failed for good (``failed``, kept with its last error for the administrator, who
may queue it again). A mail server, gateway or robot that cannot be reached at all
(connection refused, no such host, the channel switched off) costs no try: the message and
the rest of the batch for that server wait ``UNREACHABLE_WAIT`` and are tried again, for as
long as the outage lasts. A server that answers but refuses for now (SMTP 4xx, HTTP
429/5xx) costs one try each time, with the backoff (``rules.delivery.backoff``), until
``NOTIFY_MAX_ATTEMPTS``.

**At most one repeat, and it is recognisable**: a message is sent by one worker at a
time and marked sent right after; only a worker that dies (or stalls past its lease)
between sending and marking causes a second send, after ``NOTIFY_LEASE_SECONDS``, with the
same idempotency key — the e-mail's ``Message-ID`` and the webhook's ``X-Request-Id`` /
``request_id`` — so mail clients and gateways can drop the copy. That is at-least-once
delivery with idempotency keys; exactly-once is impossible without the receiver's help.

How
---
1. **Claim** (a short write transaction): the due rows (``pending``, ``next_attempt_at``
   reached, no running lease) get ``lease_until = now + NOTIFY_LEASE_SECONDS``,
   ``leased_by = <this worker>`` and ``attempts + 1``, then commit. PostgreSQL picks them
   ``FOR UPDATE SKIP LOCKED`` (two workers take different rows); SQLite's write transaction
   begins IMMEDIATE (one claimer at a time). A row leased by one worker is not due for any
   other until the lease runs out.
2. **Send** each claimed message outside any transaction (``senders.send``): no database
   lock is held while a slow server answers. A worker that sees its lease about to run
   out before it reaches a message gives the rest back untried.
3. **Mark** each message at once, one commit per message, and only if this worker still
   holds it (``leased_by``): ``sent``; or after a failure, by ``rules.delivery.after_failure``,
   another try later or ``failed``. A failing sender — of any exception — never stops the
   pass. :func:`_mark_sent` is the seam the crash test replaces with ``os._exit``.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from models import Delivery, Department, db
from models.engine import write_transaction
from rules import delivery as R

from .. import clock
from . import senders
from .errors import Permanent, Transient, Unreachable
from .plan import batch_size, plan, plan_digests

log = logging.getLogger(__name__)
ERROR_MAX = 500  # Delivery.last_error


@dataclass
class PassResult:
    """What one pass did."""

    worker: str
    planned: int = 0  # notifications fanned out
    deliveries: int = 0  # delivery rows written by the planning
    digests: int = 0  # digest e-mails written
    claimed: int = 0
    sent: int = 0
    retrying: int = 0  # failed this time, tried again later
    failed: int = 0  # failed for good
    released: int = 0  # given back untried (the lease was running out)
    waiting: int = 0  # their server could not be reached: tried again later, not counted
    lost: int = 0  # sent, but another worker had taken the message over meanwhile
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (f"planned {self.planned} notification(s) into {self.deliveries} "
                f"delivery(ies), {self.digests} digest(s); claimed {self.claimed}: sent "
                f"{self.sent}, to retry {self.retrying}, failed {self.failed}, waiting for an "
                f"unreachable server {self.waiting}, given back {self.released}, taken over "
                f"{self.lost}")


def worker_name() -> str:
    """This process's name in ``leased_by``: host, process id and a random part."""
    host = socket.gethostname()[:40]
    return f"{host}:{os.getpid()}:{secrets.token_hex(4)}"


def _config_int(name: str, default: int) -> int:
    return int(current_app.config.get(name) or default)


def _lease_seconds() -> int:
    return _config_int("NOTIFY_LEASE_SECONDS", 300)


def _claim(now: datetime, worker: str, size: int) -> list[tuple[Delivery, Department | None]]:
    """Lease up to ``size`` due deliveries to ``worker``; detached copies to send."""
    until = now + timedelta(seconds=_lease_seconds())
    with write_transaction(db.session):
        ids = list(db.session.scalars(
            select(Delivery.id)
            .where(Delivery.status == R.PENDING, Delivery.next_attempt_at <= now,
                   or_(Delivery.lease_until.is_(None), Delivery.lease_until <= now))
            .order_by(Delivery.next_attempt_at, Delivery.id).limit(size)
            .with_for_update(skip_locked=True)))
        if not ids:
            return []
        db.session.execute(
            update(Delivery).where(Delivery.id.in_(ids))
            .values(lease_until=until, leased_by=worker, attempts=Delivery.attempts + 1)
            .execution_options(synchronize_session=False))
        order = {pk: n for n, pk in enumerate(ids)}  # the claim's order: oldest due first
        rows = sorted(db.session.scalars(
            select(Delivery).where(Delivery.id.in_(ids))
            .execution_options(populate_existing=True)), key=lambda d: order[d.id])
        robots = {d.department_id for d in rows if d.channel in R.ROBOTS}
        departments = {dept.id: dept for dept in db.session.scalars(
            select(Department).where(Department.id.in_(robots)))} if robots else {}
        # Sent outside the transaction: detached, so that reading them starts none.
        for obj in (*rows, *departments.values()):
            db.session.expunge(obj)
    return [(d, departments.get(d.department_id)) for d in rows]


def _mark_sent(delivery_id: int, worker: str, now: datetime) -> bool:
    """Mark one message sent, if ``worker`` still holds it; whether it did."""
    with write_transaction(db.session):
        done = db.session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.status == R.PENDING,
                   Delivery.leased_by == worker)
            .values(status=R.SENT, sent_at=now, lease_until=None, leased_by=None,
                    last_error=None)
            .execution_options(synchronize_session=False))
    return done.rowcount == 1


def _mark_failure(delivery: Delivery, worker: str, now: datetime, error: str,
                  permanent: bool) -> str | None:
    """Schedule the next try, or fail the message for good; the verdict (None when
    ``worker`` no longer held the message)."""
    verdict, wait = R.after_failure(delivery.attempts,
                                    _config_int("NOTIFY_MAX_ATTEMPTS", R.MAX_ATTEMPTS),
                                    permanent)
    values = {"lease_until": None, "leased_by": None, "last_error": error[:ERROR_MAX]}
    if verdict == R.FAILED:
        values["status"] = R.FAILED
    else:
        values["next_attempt_at"] = now + wait
    with write_transaction(db.session):
        done = db.session.execute(
            update(Delivery)
            .where(Delivery.id == delivery.id, Delivery.status == R.PENDING,
                   Delivery.leased_by == worker)
            .values(**values).execution_options(synchronize_session=False))
    return verdict if done.rowcount == 1 else None


def _release(ids: list[int], worker: str) -> int:
    """Give claimed messages back untried: their try is not counted."""
    if not ids:
        return 0
    with write_transaction(db.session):
        done = db.session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.status == R.PENDING,
                   Delivery.leased_by == worker)
            .values(lease_until=None, leased_by=None, attempts=Delivery.attempts - 1)
            .execution_options(synchronize_session=False))
    return done.rowcount or 0


def _postpone(ids: list[int], worker: str, now: datetime, error: str) -> int:
    """The server could not be reached: these wait ``UNREACHABLE_WAIT``, their try not
    counted, the error kept for the administrator's queue."""
    if not ids:
        return 0
    with write_transaction(db.session):
        done = db.session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.status == R.PENDING,
                   Delivery.leased_by == worker)
            .values(lease_until=None, leased_by=None, attempts=Delivery.attempts - 1,
                    next_attempt_at=now + R.UNREACHABLE_WAIT, last_error=error[:ERROR_MAX])
            .execution_options(synchronize_session=False))
    return done.rowcount or 0


def _describe(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


class _MailConnection:
    """One SMTP connection for the e-mails of a batch (opened at the first, dropped after
    a transient error: the next e-mail opens a new one)."""

    def __init__(self):
        self.connection = None

    def get(self):
        if self.connection is None:
            try:
                connection = senders.mail.get_connection()
                connection.open()
            except Exception:  # the send opens its own and says what failed
                return None
            self.connection = connection
        return self.connection

    def drop(self) -> None:
        if self.connection is not None:
            try:
                self.connection.close()
            except Exception:  # a broken connection is being thrown away
                log.debug("closing the SMTP connection failed", exc_info=True)
            self.connection = None


def _send(delivery: Delivery, department: Department | None, mailer: _MailConnection):
    if delivery.channel != R.EMAIL:
        return senders.send(delivery, department)
    try:
        return senders.send(delivery, department, mail_connection=mailer.get())
    except Transient:
        mailer.drop()
        raise


def _send_one(delivery: Delivery, department: Department | None, worker: str,
              now: datetime, result: PassResult, mailer: _MailConnection) -> None:
    try:
        _send(delivery, department, mailer)
    except Unreachable:
        raise  # the batch decides (send_due): this and the rest for that server wait
    except (Transient, Permanent) as err:
        verdict = _mark_failure(delivery, worker, now, _describe(err),
                                isinstance(err, Permanent))
    except Exception as err:  # a sender's bug must not stop the pass: try again later
        log.exception("delivery %s: unexpected error while sending", delivery.key)
        result.errors.append(f"{delivery.key}: {_describe(err)}")
        verdict = _mark_failure(delivery, worker, now, _describe(err), False)
    else:
        if _mark_sent(delivery.id, worker, now):
            result.sent += 1
        else:
            result.lost += 1
        return
    if verdict == R.FAILED:
        result.failed += 1
    elif verdict == R.RETRY:
        result.retrying += 1
    else:
        result.lost += 1


def _safety_margin(lease: int) -> float:
    """Time kept in hand before the lease ends: one slow send must not outlive it."""
    slowest = max(_config_int("MAIL_TIMEOUT", 10), _config_int("WEBHOOK_TIMEOUT", 10))
    return min(lease / 2, 2 * slowest + 5)


def send_due(now: datetime | None = None, worker: str | None = None,
             limit: int | None = None, result: PassResult | None = None) -> PassResult:
    """Claim and send what is due, batch after batch, until nothing is (or ``limit``)."""
    worker = worker or worker_name()
    result = result or PassResult(worker=worker)
    size = batch_size()
    lease = _lease_seconds()
    while limit is None or result.claimed < limit:
        at = now or clock.now()
        step = size if limit is None else min(size, limit - result.claimed)
        started = time.monotonic()
        claimed = _claim(at, worker, step)
        result.claimed += len(claimed)
        deadline = started + lease - _safety_margin(lease)
        mailer = _MailConnection()
        down: set[tuple[str, int | None]] = set()  # servers found unreachable in this batch
        try:
            for i, (delivery, department) in enumerate(claimed):
                if time.monotonic() >= deadline:
                    result.released += _release([d.id for d, _ in claimed[i:]], worker)
                    return result
                route = R.route(delivery.channel, delivery.department_id)
                if route in down:
                    continue  # postponed with the first of its server (below)
                try:
                    _send_one(delivery, department, worker, now or clock.now(), result,
                              mailer)
                except Unreachable as err:
                    down.add(route)
                    same = [d.id for d, _ in claimed[i:]
                            if R.route(d.channel, d.department_id) == route]
                    result.waiting += _postpone(same, worker, now or clock.now(),
                                                _describe(err))
        finally:
            mailer.drop()
        if len(claimed) < step:
            break
    return result


def run_pass(now: datetime | None = None, worker: str | None = None,
             limit: int | None = None) -> PassResult:
    """One pass of the worker: plan the new notifications, write the digests that are due,
    then send the due deliveries (at most ``limit``). ``now``: company time for every
    timestamp of the pass (tests); default the clock at each step."""
    worker = worker or worker_name()
    result = PassResult(worker=worker)
    planned = plan(now)
    result.planned, result.deliveries = planned.notifications, planned.deliveries
    result.digests = plan_digests(now)
    return send_due(now, worker, limit, result)
