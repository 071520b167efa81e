"""Concurrent writers: no lost update, no "database is locked", numbers unique and consecutive.

Bounded threaded tests (a few hundred operations, hard time limit) on the database of this
run: a SQLite file in WAL mode, or PostgreSQL when TEST_DATABASE_URL is set. Each thread
pushes its own app context, so it gets its own scoped session and connection.

How two writers on the same complaint are resolved (the design these tests prove):
``services.complaints.perform`` loads the complaint with ``SELECT … FOR UPDATE OF complaint``
inside a write transaction. On PostgreSQL the second writer waits on that row lock; on
SQLite its transaction begins IMMEDIATE and waits (busy_timeout) for the database write
lock. Either way, once it gets the lock it reads the row as the first writer committed it.
Then: if it carries an ``expected_version`` (a form the user filled in on the old version),
it is refused with StaleVersion and writes nothing; if it carries none (a bulk action, a
button without a form), the rules decide afresh on the current row, so nothing is lost
and no limit (e.g. the escalation cap) is overrun. The ORM's version column is a second
guard: an UPDATE that finds another version raises, which perform turns into StaleVersion.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from datetime import datetime

import pytest
from sqlalchemy import create_engine, func, select, text

from models import Complaint, ComplaintEvent, Staff, db
from rules.errors import StaleVersion, TransitionNotAllowed
from services.complaints import perform, register

KIND = "postgresql" if os.environ.get("TEST_DATABASE_URL") else "sqlite"
NOW = datetime(2026, 11, 23, 9, 0)
TIME_LIMIT = 120  # seconds for a whole threaded run; a hang fails the test, never blocks CI
THREADS, OPS = 8, 25


def run_threads(app, work, n=THREADS):
    """Run work(index) in n threads, each in its own app context; returns the errors."""
    errors = []
    start = threading.Barrier(n)

    def target(index):
        try:
            with app.app_context():
                start.wait(timeout=30)
                work(index)
        except Exception as exc:  # reported by the caller's assertion, with the thread
            errors.append(f"thread {index}: {exc!r}")

    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + TIME_LIMIT
    for t in threads:
        t.join(timeout=max(0.1, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), f"threads still running after {TIME_LIMIT} s"
    return errors


def data(n):
    return {"customer_name": f"客户{n}", "customer_phone": f"1380000{n:04d}", "title": f"t{n}",
            "description": "d", "category": "service"}


def in_progress(app, org, count):
    """``count`` complaints forwarded to QA and assigned; returns their ids."""
    with app.app_context():
        staff = {u: db.session.get(Staff, i) for u, i in org.users.items()}
        ids = []
        for n in range(count):
            c = register(data(n), staff["intake"], now=NOW)
            perform(c.id, "accept", staff["intake"], now=NOW)
            perform(c.id, "forward", staff["intake"], {"department_id": org.qa}, now=NOW)
            perform(c.id, "assign", staff["head_qa"], {"assignee_id": org.users["handler_qa"]},
                    now=NOW)
            ids.append(c.id)
        db.session.remove()
    return ids


def snapshot(app, ids):
    with app.app_context():
        rows = {c.id: (c.version, c.escalation_level) for c in
                db.session.scalars(select(Complaint).where(Complaint.id.in_(ids)))}
        events = Counter(db.session.scalars(
            select(ComplaintEvent.complaint_id).where(ComplaintEvent.complaint_id.in_(ids))))
        db.session.remove()
    return rows, events


def test_eight_writers_lose_no_update(app, org):
    """8 threads x 25 actions (urge, escalate, register) on shared complaints: every effect lands.

    Urges always succeed; escalations succeed until level 3 and are refused after; every
    success is exactly one event and one version step; nobody sees "database is locked".
    """
    ids = in_progress(app, org, 4)
    versions_before, events_before = snapshot(app, ids)
    lock = threading.Lock()
    outcome = Counter()  # (complaint, what) -> count

    def work(t):
        supervisor = db.session.get(Staff, org.users["supervisor"])
        manager = db.session.get(Staff, org.users["manager"])
        intake = db.session.get(Staff, org.users["intake"])
        for j in range(OPS):
            cid = ids[(t + j) % len(ids)]
            if j % 5 == 0:
                register(data(1000 + t * OPS + j), intake, now=NOW)
                what, target = "registered", None
            elif j % 5 == 3:
                try:
                    perform(cid, "escalate", manager, {"reason": f"t{t} op{j}"}, now=NOW)
                    what = "escalated"
                except TransitionNotAllowed:  # already at level 3: refused, as the rules say
                    what = "escalation refused"
                target = cid
            else:
                perform(cid, "urge", supervisor, {"note": f"t{t} op{j}"}, now=NOW)
                what, target = "urged", cid
            with lock:
                outcome[(target, what)] += 1

    errors = run_threads(app, work)
    assert errors == []
    versions, events = snapshot(app, ids)
    for cid in ids:
        ok = outcome[(cid, "urged")] + outcome[(cid, "escalated")]
        attempts = outcome[(cid, "escalated")] + outcome[(cid, "escalation refused")]
        assert outcome[(cid, "escalated")] == 3 and attempts >= 3
        assert versions[cid] == (versions_before[cid][0] + ok, 3)
        assert events[cid] == events_before[cid] + ok
    assert sum(outcome.values()) == THREADS * OPS
    with app.app_context():
        numbers = sorted(db.session.scalars(select(Complaint.number)))
    assert numbers == [f"TS-20261123-{n:04d}" for n in range(1, len(ids) + 8 * 5 + 1)]


def test_concurrent_registration_numbers_are_unique_and_consecutive(app, org):
    """8 threads registering 25 complaints each on one day get TS-20261123-0001..0200 exactly."""

    def work(t):
        intake = db.session.get(Staff, org.users["intake"])
        for j in range(OPS):
            register(data(t * OPS + j), intake, now=NOW)

    assert run_threads(app, work) == []
    with app.app_context():
        numbers = sorted(db.session.scalars(select(Complaint.number)))
        register_events = db.session.scalar(
            select(func.count()).where(ComplaintEvent.action == "register"))
    assert numbers == [f"TS-20261123-{n:04d}" for n in range(1, THREADS * OPS + 1)]
    assert register_events == THREADS * OPS


def test_version_race_has_exactly_one_winner(app, org):
    """8 users act on the same version at once: one succeeds, seven get StaleVersion."""
    (cid,) = in_progress(app, org, 1)
    versions_before, events_before = snapshot(app, [cid])
    before = versions_before[cid]
    results = []
    lock = threading.Lock()

    def work(t):
        supervisor = db.session.get(Staff, org.users["supervisor"])
        try:
            perform(cid, "urge", supervisor, {"note": f"user {t}"},
                    expected_version=before[0], now=NOW)
            result = "done"
        except StaleVersion:
            result = "stale"
        with lock:
            results.append(result)

    assert run_threads(app, work) == []
    assert sorted(results) == ["done"] + ["stale"] * (THREADS - 1)
    versions, events = snapshot(app, [cid])
    assert versions[cid] == (before[0] + 1, before[1])
    assert events[cid] == events_before[cid] + 1


def _lock_row(conn, cid):
    """Take the lock a concurrent writer would hold: the row (PostgreSQL), the database (SQLite)."""
    if KIND == "postgresql":
        conn.execute(text("SELECT id FROM complaint WHERE id = :id FOR UPDATE"), {"id": cid})
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _commit(conn):
    if KIND == "postgresql":
        conn.commit()
    else:
        conn.exec_driver_sql("COMMIT")


def _holder(app):
    """A separate connection, as another process's writer would have (SQLite: manual BEGIN)."""
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    return create_engine(url, isolation_level="AUTOCOMMIT" if KIND == "sqlite" else None)


@pytest.mark.parametrize("carries_version", [True, False], ids=["with_form_version", "bulk"])
def test_second_writer_waits_then_sees_the_first_writers_change(app, org, carries_version):
    """A writer blocked by another's lock waits, then: stale version refused, or applied afresh."""
    (cid,) = in_progress(app, org, 1)
    versions, _ = snapshot(app, [cid])
    version, level = versions[cid]
    result, ready, go = {}, threading.Event(), threading.Event()

    def second_writer():
        try:
            with app.app_context():
                head = db.session.get(Staff, org.users["head_qa"])
                db.session.commit()  # the actor is loaded; from here on only perform waits
                ready.set()
                assert go.wait(30)
                started = time.monotonic()
                try:
                    perform(cid, "escalate", head, {"reason": "second writer"},
                            expected_version=version if carries_version else None, now=NOW)
                    result["outcome"] = "done"
                except StaleVersion:
                    result["outcome"] = "stale"
                result["waited"] = time.monotonic() - started
        except Exception as exc:  # reported by the assertion below
            result["error"] = repr(exc)

    holder = _holder(app)
    thread = threading.Thread(target=second_writer, daemon=True)
    try:
        thread.start()
        assert ready.wait(30)
        with holder.connect() as conn:
            _lock_row(conn, cid)
            go.set()
            thread.join(timeout=1.0)
            assert thread.is_alive(), "the second writer did not wait for the lock"
            # The first writer escalates and commits (as perform would).
            conn.execute(text("UPDATE complaint SET escalation_level = escalation_level + 1, "
                              "version = version + 1 WHERE id = :id"), {"id": cid})
            _commit(conn)
        thread.join(timeout=TIME_LIMIT)
    finally:
        holder.dispose()
    assert not thread.is_alive() and "error" not in result, result
    assert result["waited"] >= 0.9
    versions, events = snapshot(app, [cid])
    if carries_version:
        assert result["outcome"] == "stale"
        assert versions[cid] == (version + 1, level + 1)  # only the first writer's change
    else:
        assert result["outcome"] == "done"
        assert versions[cid] == (version + 2, level + 2)  # both escalations, none lost


if KIND == "postgresql":

    def test_row_lock_holds_up_only_that_complaint(app, org):
        """PostgreSQL locks rows: a writer on another complaint is not held up by the lock."""
        locked, free = in_progress(app, org, 2)
        holder = _holder(app)
        try:
            with holder.connect() as conn:
                _lock_row(conn, locked)

                def work(_):
                    head = db.session.get(Staff, org.users["head_qa"])
                    perform(free, "escalate", head, {"reason": "unrelated"}, now=NOW)

                started = time.monotonic()
                assert run_threads(app, work, 1) == []
                assert time.monotonic() - started < 5
                conn.rollback()
        finally:
            holder.dispose()
        versions, _ = snapshot(app, [locked, free])
        assert versions[free][1] == 1 and versions[locked][1] == 0
