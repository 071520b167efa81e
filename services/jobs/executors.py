"""Who runs the jobs (config ``JOBS_EXECUTOR``; default ``rq`` when ``REDIS_URL`` is set,
else ``thread``):

- ``thread``: an in-process worker thread per web process (started with the first request).
  The queue is the job table itself: the thread claims the oldest queued job (the claim is an
  atomic UPDATE, so several processes and hosts share the table safely), is woken at once
  by a submit in its own process and looks every ``JOB_POLL_SECONDS`` otherwise; once a
  minute it runs the housekeeping (lost workers, expired files). Nothing else to run.
- ``rq``: RQ on Redis (``REDIS_URL``), queue ``complaintdesk``: ``flask worker`` (or
  ``rq worker complaintdesk`` with ``FLASK_APP`` set) on any number of hosts. The RQ job
  carries only the job's id; the row decides.
- ``eager``: the job runs inside :func:`~services.jobs.submit` (tests, one-off scripts).
"""

from __future__ import annotations

import logging
import threading

from flask import current_app

log = logging.getLogger(__name__)

QUEUE_NAME = "complaintdesk"


class EagerExecutor:
    polls = False

    def enqueue(self, job_id: int) -> None:
        from .core import run_job

        run_job(job_id)


class ThreadExecutor:
    """One daemon thread per process and app, claiming queued jobs from the table."""

    polls = True

    def __init__(self, app):
        self.app = app
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def start(self) -> None:
        with self.lock:
            if self.thread is not None and self.thread.is_alive():
                return
            self.thread = threading.Thread(target=self._loop, name="desk-jobs", daemon=True)
            self.thread.start()

    def enqueue(self, job_id: int) -> None:
        self.start()
        self.wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the thread after the job it runs, if any (an app torn down: tests)."""
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def _loop(self) -> None:
        import time

        from models import db

        from .core import config_int, housekeeping, next_queued, run_job

        with self.app.app_context():
            poll = max(0.2, float(config_int("JOB_POLL_SECONDS", 5)))
            tidy_every = 60.0
            last_tidy = 0.0
            while not self.stopping.is_set():
                self.wake.wait(poll)
                self.wake.clear()
                if self.stopping.is_set():
                    break
                try:
                    if time.monotonic() - last_tidy > tidy_every:
                        last_tidy = time.monotonic()
                        housekeeping()
                    while not self.stopping.is_set() and (job_id := next_queued()) is not None:
                        run_job(job_id)
                except Exception:  # noqa: BLE001 - the worker thread must keep running
                    log.exception("the job thread's pass failed; trying again")
                finally:
                    db.session.remove()


class RQExecutor:
    polls = False

    def __init__(self, url: str, timeout: int):
        self.url, self.timeout = url, timeout

    def queue(self):
        from redis import Redis
        from rq import Queue

        return Queue(QUEUE_NAME, connection=Redis.from_url(self.url))

    def enqueue(self, job_id: int) -> None:
        try:
            self.queue().enqueue("services.jobs.rq_entry.run", job_id,
                                 job_timeout=self.timeout, result_ttl=0,
                                 failure_ttl=24 * 3600, description=f"desk job {job_id}")
        except Exception:  # noqa: BLE001 - Redis down: the row stays queued; the
            # housekeeping hands it over again once Redis answers.
            log.exception("cannot hand job %s to Redis; it stays queued", job_id)


def executor():
    """The app's executor (made once per app)."""
    app = current_app._get_current_object()
    found = app.extensions.get("desk_jobs")
    if found is None:
        kind = app.config.get("JOBS_EXECUTOR") or ("rq" if app.config.get("REDIS_URL")
                                                   else "thread")
        if kind == "eager":
            found = EagerExecutor()
        elif kind == "rq":
            found = RQExecutor(app.config["REDIS_URL"],
                               int(app.config.get("JOB_TIMEOUT_SECONDS", 3600)))
        elif kind == "thread":
            found = ThreadExecutor(app)
        else:
            raise RuntimeError(f"JOBS_EXECUTOR={kind!r}: use thread, rq or eager")
        app.extensions["desk_jobs"] = found
    return found


def init_app(app) -> None:
    """Start the in-process worker with the first request (not in CLI commands); ask for a
    delivery pass after a request that wrote notifications."""
    from .system_kinds import install

    install(app)

    @app.before_request
    def _start_job_thread():
        runner = executor()
        if isinstance(runner, ThreadExecutor) and runner.thread is None:
            runner.start()
