"""Jobs (issue 13): the runner, its refusals, cancelling, the heartbeat housekeeping, the
result files' retention, the in-process thread and RQ on Redis (a forked work-horse killed in
the middle of a job), and the job screens as their owner and as anyone else."""

from __future__ import annotations

import json
import os
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from models import Job, Notification, Staff, db
from services import clock, jobs
from services.jobs import core
from services.storage import storage
from tests.factories import AuthActions, csrf_token

CALLS: list = []


@jobs.kind("test_file", label="Test file")
def _make_file(ctx):
    total = int(ctx.params.get("rows", 3))
    for done in range(1, total + 1):
        ctx.progress(done, total, force=True)
    with open(ctx.output("numbers.txt", "text/plain"), "w") as out:
        out.write(",".join(str(i) for i in range(total)))
    CALLS.append(("file", ctx.owner.username if ctx.owner else None))


@jobs.kind("test_refused", label="Test refused")
def _refuse(ctx):
    raise jobs.JobRefused("You may no longer have this file.")


@jobs.kind("test_broken", label="Test broken")
def _broken(ctx):
    raise ZeroDivisionError("a bug")


@jobs.kind("test_cancelled", label="Test cancelled")
def _cancel_me(ctx):
    ctx.progress(1, 10, force=True)
    with db.engine.begin() as conn:  # the owner presses Cancel meanwhile
        conn.execute(update(Job).where(Job.id == ctx.job_id).values(cancel_requested=True))
    for done in range(2, 11):
        ctx.progress(done, 10, force=True)
    ctx.output("never.txt", "text/plain")
    CALLS.append(("not reached", None))


@jobs.kind("test_dies_once", label="Test dies once")
def _dies_once(ctx):
    """The first attempt kills its own process (a worker killed mid-job); the second works."""
    attempts = db.session.scalar(select(Job.attempts).where(Job.id == ctx.job_id))
    ctx.progress(1, 2, force=True)
    if attempts == 1:
        os._exit(9)
    with open(ctx.output("second.txt", "text/plain"), "w") as out:
        out.write("second attempt")


def _owner(app, username):
    with app.app_context():
        return db.session.scalar(select(Staff).filter_by(username=username))


def _submit(app, kind, username="manager", **params):
    with app.app_context():
        owner = db.session.scalar(select(Staff).filter_by(username=username))
        return jobs.submit(kind, owner, params, title=f"{kind} for {username}").id


def _job(app, job_id) -> Job:
    with app.app_context():
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        return job


def test_a_job_runs_stores_its_file_and_tells_its_owner(app, org):
    CALLS.clear()
    job_id = _submit(app, "test_file", rows=5)
    job = _job(app, job_id)
    assert (job.status, job.progress, job.rows_done, job.rows_total) == ("done", 100, 5, 5)
    assert job.attempts == 1 and job.worker and job.finished_at and job.error is None
    assert job.result_name == "numbers.txt" and job.result_size == len("0,1,2,3,4")
    assert job.expires_at == job.finished_at + timedelta(hours=24)
    with app.app_context():
        assert b"".join(storage().open(job.result_key).chunks) == b"0,1,2,3,4"
        told = db.session.scalars(select(Notification).where(Notification.job_id == job_id)).all()
        assert [(n.kind, n.recipient_id) for n in told] == [("job_done", org.users["manager"])]
    assert CALLS == [("file", "manager")]


def test_a_job_runs_once_however_often_it_is_handed_over(app, org):
    CALLS.clear()
    job_id = _submit(app, "test_file")
    with app.app_context():
        assert jobs.run_job(job_id) == "done"  # claimed already: nothing happens
    assert len(CALLS) == 1


def test_an_owner_deactivated_before_the_job_runs_gets_nothing(app, org):
    CALLS.clear()
    app.config["JOBS_EXECUTOR"] = "none"
    with app.app_context():
        app.extensions["desk_jobs"] = type("Nobody", (), {"polls": False,
                                                          "enqueue": lambda self, i: None})()
    job_id = _submit(app, "test_file")
    assert _job(app, job_id).status == "queued"
    with app.app_context():
        db.session.execute(update(Staff).where(Staff.id == org.users["manager"])
                           .values(active=False))
        db.session.commit()
        assert jobs.run_job(job_id) == "failed"
    job = _job(app, job_id)
    assert job.error == str(core.NOT_ACTIVE) and job.result_key is None
    assert CALLS == []


@pytest.mark.parametrize("kind, error", [
    ("test_refused", "You may no longer have this file."),
    ("test_broken", str(core.GONE_WRONG)),
])
def test_a_refused_or_broken_job_fails_with_words_and_tells_the_owner(app, org, kind, error):
    job_id = _submit(app, kind)
    job = _job(app, job_id)
    assert (job.status, job.error, job.result_key) == ("failed", error, None)
    with app.app_context():
        kinds = db.session.scalars(select(Notification.kind)
                                   .where(Notification.job_id == job_id)).all()
    assert kinds == ["job_failed"]


def test_a_running_job_stops_when_cancelled_and_keeps_nothing(app, org):
    CALLS.clear()
    job_id = _submit(app, "test_cancelled")
    job = _job(app, job_id)
    assert job.status == "cancelled" and job.result_key is None and job.progress < 100
    assert CALLS == []
    with app.app_context():  # nobody is told of their own cancel
        assert not db.session.scalars(select(Notification).where(
            Notification.job_id == job_id)).all()


def _stale(app, job_id, attempts):
    with app.app_context():
        db.session.execute(update(Job).where(Job.id == job_id).values(
            status="running", attempts=attempts, worker="gone:1",
            heartbeat_at=clock.now() - timedelta(minutes=5)))
        db.session.commit()


def test_housekeeping_requeues_a_lost_job_then_fails_it(app, org):
    app.extensions["desk_jobs"] = type("Nobody", (), {"polls": True,
                                                      "enqueue": lambda self, i: None})()
    job_id = _submit(app, "test_file")
    _stale(app, job_id, attempts=1)
    with app.app_context():
        fresh = _submit(app, "test_file")  # queued a moment ago: not touched
        done = jobs.housekeeping()
    assert (done.requeued, done.failed) == (1, 0)
    job = _job(app, job_id)
    assert (job.status, job.worker, job.heartbeat_at) == ("queued", None, None)
    assert _job(app, fresh).status == "queued"
    with app.app_context():
        assert jobs.run_job(job_id) == "done"
        assert db.session.get(Job, job_id).attempts == 2
    _stale(app, job_id, attempts=2)
    with app.app_context():
        done = jobs.housekeeping()
        assert (done.requeued, done.failed) == (0, 1)
        kinds = db.session.scalars(select(Notification.kind).where(
            Notification.job_id == job_id).order_by(Notification.id)).all()
    job = _job(app, job_id)
    assert job.status == "failed" and job.error == str(core.WORKER_LOST)
    assert kinds == ["job_done", "job_failed"]


def test_result_files_are_deleted_after_their_time(app, org, monkeypatch):
    job_id = _submit(app, "test_file")
    job = _job(app, job_id)
    with app.app_context():
        assert storage().exists(job.result_key)
        assert jobs.housekeeping().expired == 0
        later = job.expires_at + timedelta(seconds=1)
        assert jobs.housekeeping(later).expired == 1
        assert not storage().exists(job.result_key)
        assert jobs.housekeeping(later).expired == 0
    gone = _job(app, job_id)
    assert gone.result_key is None and gone.result_deleted_at == later


def _use(app, executor, **config):
    """Switch the test app to another executor (made again at its next use)."""
    app.config.update(JOBS_EXECUTOR=executor, **config)
    app.extensions.pop("desk_jobs", None)


def test_the_in_process_thread_runs_what_the_request_queued(app, org):
    _use(app, "thread", JOB_POLL_SECONDS=1)
    job_id = _submit(app, "test_file")
    deadline = time.monotonic() + 20
    while _job(app, job_id).status in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _job(app, job_id).status == "done"


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/8")


@pytest.fixture
def redis_queue():
    redis = pytest.importorskip("redis")
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        pytest.fail(f"Redis is not running at {REDIS_URL} (scripts/test.sh starts it)")
    connection.flushdb()
    yield connection
    connection.flushdb()


def test_rq_runs_the_job_and_a_killed_work_horse_leaves_it_for_the_housekeeping(
        app, org, redis_queue):
    from rq import Queue, Worker

    from services.jobs.executors import QUEUE_NAME

    _use(app, "rq", REDIS_URL=REDIS_URL)
    job_id = _submit(app, "test_dies_once")
    assert _job(app, job_id).status == "queued"
    queue = Queue(QUEUE_NAME, connection=redis_queue)
    assert queue.count == 1
    with app.app_context():
        Worker([queue], connection=redis_queue).work(burst=True)  # the horse dies
    job = _job(app, job_id)
    assert (job.status, job.attempts, job.rows_done) == ("running", 1, 1)
    with app.app_context():
        later = clock.now() + timedelta(minutes=2)
        assert jobs.housekeeping(later).requeued == 1
        assert queue.count == 1  # handed to Redis again
        Worker([queue], connection=redis_queue).work(burst=True)
    job = _job(app, job_id)
    assert (job.status, job.attempts) == ("done", 2)
    with app.app_context():
        assert b"".join(storage().open(job.result_key).chunks) == b"second attempt"


# --- the screens ---------------------------------------------------------------------------


def test_the_job_page_list_status_and_download_are_the_owners_only(app, org, client):
    job_id = _submit(app, "test_file", rows=4)
    auth = AuthActions(client)
    auth.login("manager")
    page = client.get(f"/admin/jobs/{job_id}/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="job-progress"' in html and 'id="job-download"' in html and "numbers.txt" in html
    state = json.loads(client.get(f"/admin/jobs/{job_id}/status.json").data)
    assert (state["status"], state["progress"], state["has_file"]) == ("done", 100, True)
    file = client.get(f"/admin/jobs/{job_id}/download")
    assert file.status_code == 200 and file.data == b"0,1,2,3"
    assert "attachment" in file.headers["Content-Disposition"]
    assert f"/admin/jobs/{job_id}/" in client.get("/admin/jobs/").get_data(as_text=True)
    auth.logout()
    auth.login("intake")
    for url in (f"/admin/jobs/{job_id}/", f"/admin/jobs/{job_id}/status.json",
                f"/admin/jobs/{job_id}/download"):
        assert client.get(url).status_code == 404, url
    token = csrf_token(client, "/admin/jobs/")
    assert client.post(f"/admin/jobs/{job_id}/cancel",
                       data={"csrf_token": token}).status_code == 404
    assert f"/admin/jobs/{job_id}/" not in client.get("/admin/jobs/").get_data(as_text=True)


def test_cancel_a_waiting_job_needs_csrf(app, org, client):
    app.extensions["desk_jobs"] = type("Nobody", (), {"polls": True,
                                                      "enqueue": lambda self, i: None})()
    job_id = _submit(app, "test_file")
    AuthActions(client).login("manager")
    client.post(f"/admin/jobs/{job_id}/cancel", data={})
    assert _job(app, job_id).status == "queued"
    token = csrf_token(client, f"/admin/jobs/{job_id}/")
    client.post(f"/admin/jobs/{job_id}/cancel", data={"csrf_token": token})
    assert _job(app, job_id).status == "cancelled"


def test_the_administrator_rebuilds_the_search_index_as_a_job(app, org, client):
    auth = AuthActions(client)
    auth.login("manager")
    token = csrf_token(client, "/admin/jobs/")
    assert client.post("/admin/jobs/reindex", data={"csrf_token": token}).status_code == 403
    auth.logout()
    auth.login("admin")
    token = csrf_token(client, "/admin/jobs/")
    answer = client.post("/admin/jobs/reindex", data={"csrf_token": token})
    assert answer.status_code == 302
    with app.app_context():
        job = db.session.scalar(select(Job).where(Job.kind == "reindex"))
        assert (job.status, job.owner_id, job.progress) == ("done", org.users["admin"], 100)


def test_a_request_that_wrote_notifications_asks_for_one_delivery_pass(app, org):
    from sqlalchemy import insert

    app.config["JOBS_AUTO_DELIVER"] = True
    with app.test_request_context("/admin/"):
        for person in ("head_qa", "handler_qa"):
            db.session.execute(insert(Notification).values(
                created_at=clock.now(), recipient_id=org.users[person], kind="job_done",
                key=f"test:{person}"))
        db.session.commit()
    with app.test_request_context("/admin/"):  # wrote nothing: asks for nothing
        db.session.scalar(select(Staff.id).limit(1))
    with app.app_context():
        passes = db.session.scalars(select(Job).where(Job.kind == "deliver")).all()
        assert [(j.status, j.owner_id) for j in passes] == [("done", None)]
        assert all(n.planned_at is not None for n in db.session.scalars(select(Notification)))
