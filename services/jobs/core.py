"""Jobs: long work off the request (issue 13).

The request writes a :class:`~models.Job` row (:func:`submit`) and answers at once with the
job's page; a worker claims the row (an atomic ``UPDATE … WHERE status = 'queued'``, so a
job runs once however many workers see it), runs its kind with a :class:`JobContext`, and
stores the result file in the storage backend (services.storage: a local folder or S3), from
which any web host hands it out. Meanwhile the worker writes progress and a heartbeat on its
own connection; :func:`housekeeping` puts a job whose heartbeat stopped (the worker was
killed) back in the queue, or fails it after ``JOB_MAX_ATTEMPTS``, so no job stays "running"
forever, and deletes result files after ``JOB_RESULT_HOURS``.

The job runs as its owner: the owner is loaded again when it starts (an account deactivated
meanwhile gets nothing), inside a request context with the owner signed in and in the
owner's language, so the scope, the masking and the words are those of that moment.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, session
from flask_babel import gettext, lazy_gettext
from flask_login import login_user
from sqlalchemy import and_, delete, func, insert, or_, select, update

from models import Job, Notification, Staff, db
from models.engine import write_transaction
from rules.errors import N_
from services import clock

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED = (DONE, FAILED, CANCELLED)
JOB_DONE, JOB_FAILED = "job_done", "job_failed"  # notification kinds

NOT_ACTIVE = N_("Your account is no longer active, so the file was not made.")
GONE_WRONG = N_("Something went wrong while making this file, so it was not made. Please ask "
                "again; if it happens again, tell your administrator.")
WORKER_LOST = N_("The worker making this file stopped and it was not made. Please ask again.")
UNKNOWN_KIND = N_("This kind of job is no longer known to the desk.")

PROGRESS_EVERY = 1.0  # seconds between two progress writes


class JobCancelled(Exception):
    """The owner cancelled the job: the kind stops, nothing is kept."""


class JobRefused(Exception):
    """The job may not be done for its owner (any more): it fails with this message, which
    is in the owner's words and language."""

    def __init__(self, message: str):
        super().__init__(str(message))
        self.message = str(message)


@dataclass(frozen=True)
class JobKind:
    name: str
    run: Callable
    label: object  # lazy text: the kind's name on the screens
    system: bool = False  # needs no owner (notification delivery)


KINDS: dict[str, JobKind] = {}


def kind(name: str, *, label, system: bool = False):
    """Register the decorated function as the job kind ``name``."""
    def register(run):
        KINDS[name] = JobKind(name, run, label, system)
        return run
    return register


def kind_label(name: str) -> str:
    found = KINDS.get(name)
    return str(found.label) if found else name


def config_int(name: str, default: int) -> int:
    try:
        return int(current_app.config.get(name, default))
    except (TypeError, ValueError):
        return default


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident() % 100000}"


# --- submitting ---------------------------------------------------------------------------


def submit(kind_name: str, owner: Staff | None, params: dict, title: str = "",
           locale: str | None = None) -> Job:
    """Write the job (queued) in its own transaction and hand it to the executor."""
    if kind_name not in KINDS:
        raise KeyError(kind_name)
    if locale is None:
        locale = _current_locale()
    job = Job(kind=kind_name, owner_id=owner.id if owner is not None else None,
              title=(title or kind_label(kind_name))[:300],
              params=json.dumps(params, ensure_ascii=False, default=str), locale=locale,
              status=QUEUED, progress=0, rows_done=0, attempts=0, cancel_requested=False,
              created_at=clock.now())
    with write_transaction(db.session):
        db.session.add(job)
        db.session.flush()
        job_id = job.id
    from .executors import executor

    executor().enqueue(job_id)
    return db.session.get(Job, job_id)


def _current_locale() -> str | None:
    try:
        from flask_babel import get_locale

        loc = get_locale()
        return str(loc) if loc is not None else None
    except Exception:  # noqa: BLE001 - outside a request: the default language
        return None


def cancel(job_id: int, staff_id: int) -> str | None:
    """The owner cancels: a queued job at once, a running one at its next progress report.
    Returns the job's status afterwards, or None when it is not the owner's."""
    now = clock.now()
    mine = and_(Job.id == job_id, Job.owner_id == staff_id)
    with write_transaction(db.session):
        db.session.execute(update(Job).where(mine, Job.status == QUEUED)
                           .values(status=CANCELLED, finished_at=now)
                           .execution_options(synchronize_session=False))
        db.session.execute(update(Job).where(mine, Job.status == RUNNING)
                           .values(cancel_requested=True)
                           .execution_options(synchronize_session=False))
    return db.session.scalar(select(Job.status).where(mine))


# --- running ------------------------------------------------------------------------------


class JobContext:
    """What a job kind gets: its owner, parameters, progress and output."""

    def __init__(self, job: Job, owner: Staff | None, tmpdir: str):
        self.job_id = job.id
        self.kind = job.kind
        self.owner = owner
        self.params = json.loads(job.params or "{}")
        self.locale = job.locale
        self.created_at = job.created_at
        self._tmpdir = tmpdir
        self._last = 0.0
        self.output_path: str | None = None
        self.output_name: str | None = None
        self.output_mimetype: str | None = None
        self.rows_total: int | None = None
        self.rows_done = 0

    def progress(self, done: int, total: int | None = None, force: bool = False) -> None:
        """Report ``done`` of ``total`` (rows, steps…); at most once a second. Raises
        :class:`JobCancelled` when the owner cancelled."""
        self.rows_done = done
        if total is not None:
            self.rows_total = total
        moment = time.monotonic()
        if not force and moment - self._last < PROGRESS_EVERY:
            return
        self._last = moment
        total = self.rows_total
        percent = min(99, int(done * 100 / total)) if total else 0
        engine = db.engine
        with engine.begin() as conn:
            conn.execute(update(Job).where(Job.id == self.job_id, Job.status == RUNNING)
                         .values(rows_done=done, rows_total=total, progress=percent,
                                 heartbeat_at=clock.now()))
            cancelled = conn.scalar(select(Job.cancel_requested).where(Job.id == self.job_id))
        if cancelled:
            raise JobCancelled()

    def output(self, filename: str, mimetype: str) -> str:
        """A local file to write the result to; stored when the kind returns."""
        self.output_name = filename
        self.output_mimetype = mimetype
        self.output_path = os.path.join(self._tmpdir, "result")
        return self.output_path

    @contextmanager
    def owner_request(self, url: str = "/"):
        """A request context for ``url`` with the owner signed in, in the owner's language:
        the views' own code (scoped queries, filters, labels) runs as in their request."""
        with current_app.test_request_context(url, base_url=_base_url()):
            if self.locale:
                session["lang"] = self.locale
            if self.owner is not None:
                login_user(self.owner)
            yield


def _base_url() -> str:
    server = current_app.config.get("SERVER_NAME")
    return f"http://{server}/" if server else "http://localhost/"


class _Heartbeat(threading.Thread):
    """Writes the job's heartbeat every ``JOB_HEARTBEAT_SECONDS`` on its own connection,
    whatever the job is doing (a long query reports no progress)."""

    def __init__(self, app, job_id: int, every: float):
        super().__init__(name=f"job-{job_id}-heartbeat", daemon=True)
        self.app, self.job_id, self.every = app, job_id, every
        self.stopped = threading.Event()

    def run(self):
        with self.app.app_context():
            while not self.stopped.wait(self.every):
                try:
                    with db.engine.begin() as conn:
                        conn.execute(update(Job).where(Job.id == self.job_id,
                                                       Job.status == RUNNING)
                                     .values(heartbeat_at=clock.now()))
                except Exception:  # noqa: BLE001 - the next beat tries again
                    log.warning("job %s: heartbeat failed", self.job_id, exc_info=True)


def run_job(job_id: int) -> str:
    """Claim and run the job if it is still queued (else do nothing); returns its status.
    Runs in a fresh app context (its own database session), whatever the caller holds."""
    app = current_app._get_current_object()
    with app.app_context():
        try:
            return _run(app, job_id)
        finally:
            db.session.remove()


def _claim(job_id: int) -> bool:
    now = clock.now()
    with write_transaction(db.session):
        done = db.session.execute(
            update(Job).where(Job.id == job_id, Job.status == QUEUED)
            .values(status=RUNNING, worker=worker_id()[:120], started_at=now,
                    heartbeat_at=now, attempts=Job.attempts + 1, progress=0, rows_done=0)
            .execution_options(synchronize_session=False))
    return bool(done.rowcount)


def _run(app, job_id: int) -> str:
    if not _claim(job_id):
        return db.session.scalar(select(Job.status).where(Job.id == job_id)) or "missing"
    job = db.session.get(Job, job_id)
    spec = KINDS.get(job.kind)
    owner = db.session.get(Staff, job.owner_id) if job.owner_id is not None else None
    tmpdir = tempfile.mkdtemp(prefix=f"job-{job_id}-")
    heartbeat = _Heartbeat(app, job_id, config_int("JOB_HEARTBEAT_SECONDS", 10))
    heartbeat.start()
    try:
        ctx = JobContext(job, owner, tmpdir)
        db.session.rollback()  # the kind starts with no transaction open
        with ctx.owner_request():
            if spec is None:
                return _fail(job_id, gettext(UNKNOWN_KIND))
            if not spec.system and (owner is None or not owner.active):
                return _fail(job_id, gettext(NOT_ACTIVE))
            try:
                spec.run(ctx)
            except JobCancelled:
                db.session.rollback()
                return _finish(job_id, CANCELLED)
            except JobRefused as refused:
                db.session.rollback()
                return _fail(job_id, refused.message)
            except Exception:
                db.session.rollback()
                log.exception("job %s (%s) failed", job_id, job.kind)
                return _fail(job_id, gettext(GONE_WRONG))
            return _store_and_finish(ctx)
    finally:
        heartbeat.stopped.set()
        heartbeat.join(timeout=5)
        shutil.rmtree(tmpdir, ignore_errors=True)


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _store_and_finish(ctx: JobContext) -> str:
    values = {"progress": 100, "rows_done": ctx.rows_done, "rows_total": ctx.rows_total}
    if ctx.output_path is not None and os.path.exists(ctx.output_path):
        from services.storage import storage

        safe = _UNSAFE.sub("-", ctx.output_name or "result").strip("-")[:80] or "result"
        key = f"jobs/{ctx.job_id}/{secrets.token_hex(8)}/{safe}"
        storage().put_file(key, ctx.output_path, ctx.output_mimetype or "application/octet-stream")
        hours = config_int("JOB_RESULT_HOURS", 24)
        values.update(result_key=key, result_name=ctx.output_name,
                      result_size=os.path.getsize(ctx.output_path),
                      result_mimetype=ctx.output_mimetype,
                      expires_at=clock.now() + timedelta(hours=hours))
    return _finish(ctx.job_id, DONE, **values)


def _fail(job_id: int, message: str) -> str:
    return _finish(job_id, FAILED, error=str(message)[:2000])


def _finish(job_id: int, status: str, **values) -> str:
    """End a running job; the owner is told (in the app) that it is done or failed."""
    now = clock.now()
    with write_transaction(db.session):
        done = db.session.execute(
            update(Job).where(Job.id == job_id, Job.status == RUNNING)
            .values(status=status, finished_at=now, **values)
            .execution_options(synchronize_session=False))
        if done.rowcount and status in (DONE, FAILED):
            _tell_owner(job_id, status, now)
    return db.session.scalar(select(Job.status).where(Job.id == job_id))


def _tell_owner(job_id: int, status: str, now: datetime) -> None:
    owner_id = db.session.scalar(select(Job.owner_id).where(Job.id == job_id))
    if owner_id is None:
        return
    kind_name = JOB_DONE if status == DONE else JOB_FAILED
    db.session.execute(insert(Notification).values(
        created_at=now, recipient_id=owner_id, kind=kind_name, job_id=job_id,
        key=f"job:{job_id}:{status}"))


# --- housekeeping -------------------------------------------------------------------------


@dataclass
class Housekeeping:
    requeued: int = 0
    failed: int = 0
    expired: int = 0
    pruned: int = 0
    resent: int = 0

    def summary(self) -> str:
        return (f"jobs: {self.requeued} requeued, {self.failed} failed (worker lost), "
                f"{self.expired} result files deleted, {self.pruned} old system jobs removed")


def housekeeping(now: datetime | None = None) -> Housekeeping:
    """Run by ``flask sweep`` and by the in-process worker every minute (several hosts at
    once are safe: every change is a conditional UPDATE).

    - A running job whose heartbeat is older than ``JOB_STALE_SECONDS`` lost its worker:
      queued again (and handed to the executor) while it has attempts left
      (``JOB_MAX_ATTEMPTS``), else failed with a message; its owner is told.
    - A queued job nobody claimed for ``JOB_STALE_SECONDS`` is handed to the executor again
      (Redis was down when it was submitted; a duplicate finds it claimed and does nothing).
    - A result file past ``expires_at`` is deleted from the storage (the job keeps its row).
    - System jobs (delivery passes) finished more than a week ago are removed.
    """
    now = now or clock.now()
    out = Housekeeping()
    stale = now - timedelta(seconds=config_int("JOB_STALE_SECONDS", 60))
    attempts = config_int("JOB_MAX_ATTEMPTS", 2)
    lost = and_(Job.status == RUNNING, or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < stale))
    with write_transaction(db.session):
        failing = list(db.session.scalars(select(Job.id).where(lost, Job.attempts >= attempts)))
        for job_id in failing:
            done = db.session.execute(
                update(Job).where(Job.id == job_id, lost)
                .values(status=FAILED, finished_at=now, error=_owner_words(job_id, WORKER_LOST))
                .execution_options(synchronize_session=False))
            if done.rowcount:
                out.failed += 1
                _tell_owner(job_id, FAILED, now)
        out.requeued = db.session.execute(
            update(Job).where(lost, Job.attempts < attempts)
            .values(status=QUEUED, worker=None, heartbeat_at=None)
            .execution_options(synchronize_session=False)).rowcount or 0
    waiting = list(db.session.scalars(
        select(Job.id).where(Job.status == QUEUED, Job.created_at < stale).order_by(Job.id)
        .limit(1000)))
    db.session.rollback()
    if waiting:
        from .executors import executor

        runner = executor()
        if not runner.polls:
            for job_id in waiting:
                runner.enqueue(job_id)
                out.resent += 1
    out.expired = expire_results(now)
    with write_transaction(db.session):
        out.pruned = db.session.execute(
            delete(Job).where(Job.owner_id.is_(None), Job.status.in_(FINISHED),
                              Job.finished_at < now - timedelta(days=7))
            .execution_options(synchronize_session=False)).rowcount or 0
    return out


def _owner_words(job_id: int, message: str) -> str:
    """``message`` in the job's owner's language (stored as shown)."""
    from flask_babel import force_locale

    locale = db.session.scalar(select(Job.locale).where(Job.id == job_id))
    try:
        with force_locale(locale or current_app.config.get("BABEL_DEFAULT_LOCALE", "en")):
            return gettext(message)
    except Exception:  # noqa: BLE001 - outside any context: the English text
        return message


def expire_results(now: datetime) -> int:
    """Delete the result files past their time; the job rows stay (marked deleted)."""
    from services.storage import StorageError, storage

    rows = db.session.execute(
        select(Job.id, Job.result_key).where(Job.result_key.is_not(None), Job.expires_at < now)
        .limit(1000)).all()
    db.session.rollback()
    count = 0
    for job_id, key in rows:
        try:
            storage().delete(key)
        except StorageError:
            log.warning("job %s: cannot delete %s yet", job_id, key, exc_info=True)
            continue
        with write_transaction(db.session):
            db.session.execute(update(Job).where(Job.id == job_id, Job.result_key == key)
                               .values(result_key=None, result_deleted_at=now)
                               .execution_options(synchronize_session=False))
        count += 1
    return count


# --- reading ------------------------------------------------------------------------------


def recent_for(staff_id: int, limit: int = 50) -> list[Job]:
    return list(db.session.scalars(select(Job).where(Job.owner_id == staff_id)
                                   .order_by(Job.id.desc()).limit(limit)))


def job_for(staff_id: int, job_id: int) -> Job | None:
    """The job if it is the reader's own (anyone else's is "not found")."""
    return db.session.scalar(select(Job).where(Job.id == job_id, Job.owner_id == staff_id))


def status_of(job: Job) -> dict:
    """What the progress page shows, as JSON."""
    return {"id": job.id, "status": job.status, "progress": job.progress,
            "rows_done": job.rows_done, "rows_total": job.rows_total,
            "error": job.error, "has_file": bool(job.result_key),
            "expired": job.result_deleted_at is not None,
            "cancel_requested": bool(job.cancel_requested)}


def queued_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Job)
                             .where(Job.status == QUEUED)) or 0


STATUS_LABELS = {QUEUED: lazy_gettext("Waiting"), RUNNING: lazy_gettext("Running"),
                 DONE: lazy_gettext("Done"), FAILED: lazy_gettext("Failed"),
                 CANCELLED: lazy_gettext("Cancelled")}


def next_queued() -> int | None:
    """The oldest queued job's id (the in-process worker's next claim), or None."""
    found = db.session.scalar(select(Job.id).where(Job.status == QUEUED)
                              .order_by(Job.id).limit(1))
    db.session.rollback()
    return found
