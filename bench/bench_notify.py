"""Benchmarks of the notifications (issue 9): run by hand; prints figures next to a floor
measured in the same run, asserts nothing timed.

    python bench/bench_notify.py [--complaints 100000] [--deliveries 10000] [--actions 1000]
                                 [--only sweep|deliver|latency] [--dir /tmp]
                                 [--pg-server postgresql+psycopg://postgres@127.0.0.1]

sweep    --complaints open complaints (bench/fill.py), half of them past their deadline
         and half due within the next working day; services.sweep.sweep writes their
         overdue, escalated and due-soon notifications. Floor: the same sweep on a fresh
         copy with the notifications switched off (marking, events and accountability
         records only). Figures: notification rows/s, and the process's peak RSS growth.
deliver  --deliveries notifications fanned out (services.delivery.plan) and sent by the
         worker (send_due) to a local aiosmtpd server. Floors: the same claims and marks
         with the send replaced by nothing (the database's share), and the same messages
         sent with smtplib alone, one connection per batch (the SMTP transport's share).
latency  the same action (an urge: two notifications each) --actions times with the
         outbox and --actions times with services.notifications.write_for_action replaced
         by a no-op, interleaved on the same complaints; per-action median, mean, p95 and
         the difference. Goal: under 1 ms per action on SQLite.

Each part runs in a child process of its own (its peak memory is its own). SQLite files
go to --dir; with --pg-server every part runs on a temporary PostgreSQL database too.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import smtplib
import statistics
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_core import migrate  # noqa: E402
from common import peak_mib as rss_mib  # noqa: E402 (peak RSS of this process, MiB)

NOW = datetime(2026, 11, 23, 9, 0)  # a Monday: one working day runs until Tuesday 9:00
PARTS = ("sweep", "deliver", "latency")


def make_app(url, **extra):
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True,
                       "SECRET_KEY": "bench", **extra})


def fresh_sqlite(directory, name) -> str:
    path = Path(directory) / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


@contextmanager
def pg_database(server, name, template=None):
    """A PostgreSQL database made for the block (a copy of ``template`` if given)."""
    from sqlalchemy import create_engine, text

    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'
                          + (f' TEMPLATE "{template}"' if template else "")))
    try:
        yield f"{server}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def org_and_complaints(url, n, statuses):
    """Migrate ``url`` and fill it: the demo organisation and ``n`` open complaints."""
    from fill import fill
    from sqlalchemy import create_engine

    migrate(url)
    engine = create_engine(url)
    fill(engine, n, 1, now=NOW, statuses=statuses, past_due=0.0)
    engine.dispose()


# --- sweep ------------------------------------------------------------------------------


def prepare_sweep(url, n):
    """Open complaints: even ids missed an hour ago, odd ids due within the working day."""
    from fill import DUE_STATUSES
    from sqlalchemy import create_engine, text

    org_and_complaints(url, n, DUE_STATUSES)
    engine = create_engine(url)
    soon = ("strftime('%Y-%m-%d %H:%M:%S.000000', :now, '+' || (1 + id % 1380) || ' minutes')"
            if url.startswith("sqlite") else "CAST(:now AS timestamp) + (1 + id % 1380) * "
            "interval '1 minute'")
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE complaint SET overdue_since = NULL, due_at = CASE "
                          f"WHEN id % 2 = 0 THEN :missed ELSE {soon} END"),
                     {"missed": NOW - timedelta(hours=1), "now": NOW})
        conn.exec_driver_sql("ANALYZE")
    if url.startswith("sqlite"):
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


def run_sweep(url, notifications_on):
    """(seconds, result, notification rows by kind, peak RSS growth MiB)."""
    from sqlalchemy import func, select

    import services.sweep as sweep_module
    from models import Notification, db

    app = make_app(url)
    real = sweep_module._notify, sweep_module.notify_due_soon
    with app.app_context():
        if not notifications_on:
            sweep_module._notify = lambda *args, **kwargs: 0
            sweep_module.notify_due_soon = lambda *args, **kwargs: 0
        db.session.scalar(select(func.count()).select_from(Notification))  # connect first
        db.session.commit()
        before = rss_mib()
        started = time.perf_counter()
        result = sweep_module.sweep(NOW)
        seconds = time.perf_counter() - started
        grown = rss_mib() - before
        kinds = dict(db.session.execute(select(Notification.kind, func.count())
                                        .group_by(Notification.kind)).all())
        db.session.remove()
        db.engine.dispose()
    sweep_module._notify, sweep_module.notify_due_soon = real
    return seconds, result, kinds, grown


@contextmanager
def copy_of(base_url, pg_server):
    """A fresh copy of the prepared database for one run."""
    if base_url.startswith("sqlite"):
        base = Path(base_url.split("///", 1)[1])
        work = base.with_name("bench_notify_sweep_work.sqlite")
        shutil.copyfile(base, work)
        try:
            yield f"sqlite:///{work}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{work}{suffix}").unlink(missing_ok=True)
    else:
        name = f"bench_notify_work_{os.getpid()}"
        with pg_database(pg_server, name, template=base_url.rsplit("/", 1)[1]) as url:
            yield url


def part_sweep(base_url, label, pg_server):
    """The sweep with its notifications (first: the peak memory is its own), then the
    floor on a fresh copy; each from the same prepared state."""
    with copy_of(base_url, pg_server) as url:
        seconds, result, kinds, grown = run_sweep(url, True)
    with copy_of(base_url, pg_server) as url:
        floor, floor_result, floor_kinds, _ = run_sweep(url, False)
    rows = sum(kinds.values())
    assert floor_result.marked == result.marked and not floor_kinds
    extra = seconds - floor
    print(f"  {label}: marked {result.marked:,} and wrote {rows:,} notifications "
          f"{dict(sorted(kinds.items()))} in {seconds:.2f} s ({rows / seconds:,.0f} rows/s "
          f"overall); floor, the same sweep without notifications: {floor:.2f} s; the "
          f"notifications cost {extra:+.2f} s = {rows / extra if extra > 0 else 0:,.0f} "
          f"rows/s; peak RSS +{grown:.0f} MiB during the sweep", flush=True)


# --- delivery ---------------------------------------------------------------------------


class CountingSmtp:
    """A local aiosmtpd server that only counts what it receives, by Message-ID."""

    MESSAGE_ID = re.compile(rb"^Message-ID:\s*(\S+)", re.IGNORECASE | re.MULTILINE)

    def __init__(self):
        from tests.servers import free_port

        self.port = free_port()
        self.ids: list[bytes] = []
        self.lock = threading.Lock()
        self.controller = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        found = self.MESSAGE_ID.search(envelope.original_content or envelope.content)
        with self.lock:
            self.ids.append(found.group(1) if found else b"")
        return "250 OK"

    def __enter__(self):
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    @property
    def config(self):
        from tests.servers import SmtpServer

        return SmtpServer(port=self.port).config  # the tests' settings for such a server


def queue_notifications(count):
    """``count`` unplanned ``urge`` notifications to the demo staff, over 1,000 complaints."""
    from sqlalchemy import insert, select, update

    from models import Complaint, Notification, Staff, db

    db.session.execute(update(Staff).values(email=Staff.username + "@example.test"))
    staff = db.session.scalars(select(Staff.id).where(Staff.active.is_(True))).all()
    complaints = db.session.scalars(select(Complaint.id).limit(1000)).all()
    db.session.execute(insert(Notification), [
        {"created_at": NOW, "recipient_id": staff[i % len(staff)],
         "complaint_id": complaints[i % len(complaints)], "kind": "urge"}
        for i in range(count)])
    db.session.commit()


def raw_smtp(server, messages, batch):
    """The transport floor: the same messages over smtplib, one connection per batch."""
    started = time.perf_counter()
    for start in range(0, len(messages), batch):
        with smtplib.SMTP("127.0.0.1", server.port, timeout=10) as smtp:
            for message in messages[start:start + batch]:
                smtp.send_message(message)
    return time.perf_counter() - started


def part_deliver(url, label, count):
    from sqlalchemy import select, update

    from models import Delivery, db
    from services.delivery import plan, send_due, worker

    with CountingSmtp() as server:
        app = make_app(url, **server.config)
        with app.app_context():
            queue_notifications(count)
            before = rss_mib()
            started = time.perf_counter()
            planned = plan(NOW)
            planning = time.perf_counter() - started
            started = time.perf_counter()
            result = send_due(NOW + timedelta(minutes=1))
            sending = time.perf_counter() - started
            grown = rss_mib() - before
            received = len(server.ids)
            unique = len(set(server.ids))
            print(f"  {label}: planned {planned.notifications:,} notifications into "
                  f"{planned.deliveries:,} e-mails in {planning:.2f} s "
                  f"({planned.deliveries / planning:,.0f} rows/s); sent {result.sent:,} in "
                  f"{sending:.2f} s ({result.sent / sending:,.0f} msgs/s); the server got "
                  f"{received:,} ({unique:,} distinct Message-IDs); process peak RSS "
                  f"{rss_mib():.0f} MiB, +{grown:.0f} MiB during planning and sending",
                  flush=True)
            # Floor 1: the same claims and marks, nothing sent (the database's share).
            db.session.execute(update(Delivery).values(
                status="pending", attempts=0, sent_at=None, next_attempt_at=NOW))
            db.session.commit()
            real_send = worker._send
            worker._send = lambda *args, **kwargs: None
            started = time.perf_counter()
            floor = send_due(NOW + timedelta(minutes=2))
            db_floor = time.perf_counter() - started
            worker._send = real_send
            # Floor 2: the same messages through smtplib alone (the transport's share).
            rows = db.session.execute(select(Delivery.key, Delivery.address, Delivery.subject,
                                             Delivery.body)).all()
            messages = []
            for key, address, subject, body in rows:
                message = EmailMessage()
                message["From"], message["To"] = "desk@example.test", address
                message["Subject"], message["Message-ID"] = subject, f"<{key}@bench>"
                message.set_content(body)
                messages.append(message)
            batch = app.config["NOTIFY_BATCH"]
            db.session.remove()
            db.engine.dispose()
        transport = raw_smtp(server, messages, batch)
    rest = sending - db_floor - transport
    print(f"  {label}, floors: claims and marks, nothing sent: {floor.sent:,} in "
          f"{db_floor:.2f} s ({floor.sent / db_floor:,.0f}/s); smtplib alone: "
          f"{len(messages):,} in {transport:.2f} s ({len(messages) / transport:,.0f}/s); "
          f"the rest of the worker's sending (building the messages, Flask-Mailman): "
          f"{rest:+.2f} s ({rest / max(result.sent, 1) * 1000:.2f} ms per message)",
          flush=True)


# --- action latency ---------------------------------------------------------------------


def part_latency(url, label, actions):
    from sqlalchemy import func, select

    import services.notifications as outbox
    from models import Complaint, Notification, Staff, db
    from services.complaints import perform

    app = make_app(url)
    with app.app_context():
        supervisor = db.session.scalar(select(Staff).where(Staff.username == "supervisor"))
        pool = db.session.scalars(select(Complaint.id).where(
            Complaint.assignee_id.is_not(None)).order_by(Complaint.id)).all()
        db.session.commit()
        real = outbox.write_for_action
        times = {"outbox": [], "floor": []}
        for i in range(20):  # warm up: statements cached, pages in memory
            perform(pool[i % len(pool)], "urge", supervisor, {"note": "warm-up"}, now=NOW)
        written = db.session.scalar(select(func.count()).select_from(Notification))
        for i in range(actions):
            for mode in (("outbox", "floor") if i % 2 == 0 else ("floor", "outbox")):
                outbox.write_for_action = real if mode == "outbox" else (lambda *a, **k: 0)
                cid = pool[(2 * i + (mode == "floor")) % len(pool)]
                started = time.perf_counter()
                perform(cid, "urge", supervisor, {"note": "客户再次来电催办"}, now=NOW)
                times[mode].append((time.perf_counter() - started) * 1000)
        outbox.write_for_action = real
        written = db.session.scalar(select(func.count()).select_from(Notification)) - written
        db.session.remove()
        db.engine.dispose()

    def figures(ms):
        ms = sorted(ms)
        return statistics.median(ms), statistics.fmean(ms), ms[int(0.95 * (len(ms) - 1))]

    (m1, a1, p1), (m0, a0, p0) = figures(times["outbox"]), figures(times["floor"])
    print(f"  {label}: urge x {actions:,} with the outbox ({written:,} notifications, "
          f"{written / actions:.1f} per action): median {m1:.3f} ms, mean {a1:.3f}, "
          f"p95 {p1:.3f}; floor (no notifications), same complaints: median {m0:.3f} ms, "
          f"mean {a0:.3f}, p95 {p0:.3f}; the outbox adds {m1 - m0:+.3f} ms (median), "
          f"{a1 - a0:+.3f} ms (mean) per action", flush=True)


# --- driver -----------------------------------------------------------------------------


def label_of(url):
    return "SQLite" if url.startswith("sqlite") else "PostgreSQL"


def child(args):
    """One step of a part, in this process (the database is prepared by a process of its
    own: the measuring process's peak memory is the part's)."""
    label = label_of(args.url)
    {"prepare-sweep": lambda: prepare_sweep(args.url, args.complaints),
     "prepare-deliver": lambda: org_and_complaints(args.url, 1000, {"in_progress": 1}),
     "prepare-latency": lambda: org_and_complaints(args.url, 200, {"in_progress": 1}),
     "sweep": lambda: part_sweep(args.url, label, args.pg_server),
     "deliver": lambda: part_deliver(args.url, label, args.deliveries),
     "latency": lambda: part_latency(args.url, label, args.actions)}[args.phase]()


def spawn(args, phase, url):
    command = [sys.executable, __file__, "--phase", phase, "--url", url,
               "--complaints", str(args.complaints), "--deliveries", str(args.deliveries),
               "--actions", str(args.actions), "--pg-server", args.pg_server]
    done = subprocess.run(command, stderr=subprocess.PIPE, text=True)
    noise = re.compile(r"^INFO  \[alembic")  # the migrations' progress
    sys.stderr.write("".join(line for line in done.stderr.splitlines(keepends=True)
                             if not noise.match(line)))
    done.check_returncode()


def run_part(args, part, url):
    started = time.perf_counter()
    spawn(args, f"prepare-{part}", url)
    print(f"  ({label_of(url)}: prepared in {time.perf_counter() - started:.0f} s)", flush=True)
    spawn(args, part, url)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--complaints", type=int, default=100_000)
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--actions", type=int, default=1_000)
    parser.add_argument("--only", choices=PARTS)
    parser.add_argument("--dir", default="/tmp")
    parser.add_argument("--pg-server", default="")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        return child(args)
    for part in (args.only,) if args.only else PARTS:
        print(f"{part}:", flush=True)
        run_part(args, part, fresh_sqlite(args.dir, f"bench_notify_{part}.sqlite"))
        if args.pg_server:
            with pg_database(args.pg_server, f"bench_notify_{part}_{os.getpid()}") as url:
                run_part(args, part, url)


if __name__ == "__main__":
    main()
