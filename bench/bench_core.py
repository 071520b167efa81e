"""Benchmarks of the workflow core (run by hand; prints figures, asserts nothing timed).

    python bench/bench_core.py sweep    [--n 1000000] [--dir /tmp] [--refill]
                                        [--pg-server postgresql+psycopg://postgres@127.0.0.1]
    python bench/bench_core.py register [--n 1000]
                                        [--pg-server postgresql+psycopg://postgres@127.0.0.1]

sweep: fills (once, cached in --dir) a SQLite file with --n open complaints that wait on a
deadline (bench/fill.py, 10 % of the deadlines passed), then on a fresh copy times
services.sweep.sweep at two moments: "now" (10 % past due) and nine days later (100 % past
due: every deadline passed), each followed by a second, idempotent run. With --pg-server the
same runs on a temporary PostgreSQL database (created and dropped by the script).

register: registers --n complaints one after another through services.complaints.register
(one transaction, one number and one audit event each) on a fresh SQLite file, and on a
temporary PostgreSQL database with --pg-server.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

NOW = datetime(2026, 11, 23, 9, 0)
ALL_PAST = NOW + timedelta(days=9)  # after every deadline bench/fill.py hands out


def make_app(url):
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True,
                       "SECRET_KEY": "bench"})


def migrate(url):
    from flask_migrate import upgrade

    app = make_app(url)
    with app.app_context():
        upgrade()
        from models import db

        db.engine.dispose()


@contextmanager
def temporary_pg_database(server):
    from sqlalchemy import create_engine, text

    name = f"bench_core_{os.getpid()}"
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def timed_cpu(fn, *args, **kwargs):
    """(result, wall seconds, CPU seconds of this process): the CPU figure says how much of the
    wall time was waiting (disk, or other processes on a busy machine)."""
    cpu = time.process_time()
    result, wall = timed(fn, *args, **kwargs)
    return result, wall, time.process_time() - cpu


# --- sweep ------------------------------------------------------------------------------


def sqlite_base(n, directory, refill):
    from fill import DUE_STATUSES, fill
    from sqlalchemy import create_engine

    base = Path(directory) / f"bench_core_open_{n}.sqlite"
    if base.exists() and not refill:
        return base
    for suffix in ("", "-wal", "-shm"):
        Path(f"{base}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{base}"
    migrate(url)
    engine = create_engine(url)
    summary, seconds = timed(fill, engine, n, 1, now=NOW, statuses=DUE_STATUSES, past_due=0.1)
    engine.dispose()
    with sqlite3.connect(base) as conn:  # one self-contained file to copy
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("ANALYZE")
    print(f"  filled {n:,} open complaints in {seconds:.1f} s: {summary['by_status']}")
    return base


def sweep_runs(url, label):
    from models import db
    from services.sweep import sweep

    app = make_app(url)
    with app.app_context():
        for moment, share in ((NOW, "10 % past due"), (ALL_PAST, "100 % past due")):
            if moment is ALL_PAST and label.startswith("SQLite"):
                # a fresh copy, so that the 100 % run starts from the same unmarked state
                db.session.remove()
                db.engine.dispose()
                restore_copy()
            first, t1, c1 = timed_cpu(sweep, moment)
            second, t2, c2 = timed_cpu(sweep, moment)
            print(f"  {label}, {share}: marked {first.marked:,} in {t1:.2f} s (CPU {c1:.2f} s); "
                  f"second run marked {second.marked} in {t2:.2f} s (CPU {c2:.2f} s)")
        db.session.remove()
        db.engine.dispose()


_copy = {}


def restore_copy():
    base, work = _copy["base"], _copy["work"]
    for suffix in ("-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(base, work)
    os.sync()  # the copy's dirty pages must not compete with the timed run for the disk


def bench_sweep(args):
    print(f"Sweep over {args.n:,} open complaints (SQLite file in {args.dir})")
    base = sqlite_base(args.n, args.dir, args.refill)
    work = Path(args.dir) / "bench_core_sweep_work.sqlite"
    _copy.update(base=base, work=work)
    restore_copy()
    sweep_runs(f"sqlite:///{work}", "SQLite")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    if args.pg_server:
        from fill import DUE_STATUSES, fill
        from sqlalchemy import create_engine

        with temporary_pg_database(args.pg_server) as url:
            migrate(url)
            engine = create_engine(url)
            summary, seconds = timed(fill, engine, args.n, 1, now=NOW, statuses=DUE_STATUSES,
                                     past_due=0.1)
            with engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
                conn.commit()
            engine.dispose()
            print(f"  PostgreSQL: filled {args.n:,} in {seconds:.1f} s")
            sweep_runs(url, "PostgreSQL")


# --- register ---------------------------------------------------------------------------


def register_runs(url, n, label):
    from models import db
    from services.auth import create_user
    from services.complaints import register

    migrate(url)
    app = make_app(url)
    with app.app_context():
        intake = create_user("bench_intake", "Bench Intake", "intake", "bench-pass-123")
        per_call = []
        cpu = time.process_time()
        started = time.perf_counter()
        for i in range(n):
            t = time.perf_counter()
            register({"customer_name": f"客户{i}", "customer_phone": f"139{i:08d}",
                      "title": "冰箱不制冷 / fridge not cooling", "category": "product_quality",
                      "description": "bench"}, intake)
            per_call.append((time.perf_counter() - t) * 1000)
        total = time.perf_counter() - started
        cpu = time.process_time() - cpu
        per_call.sort()
        print(f"  {label}: {n:,} registrations in {total:.2f} s = "
              f"{total / n * 1000:.2f} ms each (median {statistics.median(per_call):.2f} ms, "
              f"p95 {per_call[int(0.95 * (n - 1))]:.2f} ms, max {per_call[-1]:.1f} ms; "
              f"CPU of this process {cpu / n * 1000:.2f} ms each)")
        db.session.remove()
        db.engine.dispose()


def bench_register(args):
    print(f"Registering {args.n:,} complaints in a row through services.complaints.register")
    path = Path(args.dir) / "bench_core_register.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    register_runs(f"sqlite:///{path}", args.n, "SQLite (WAL, synchronous=NORMAL)")
    if args.pg_server:
        with temporary_pg_database(args.pg_server) as url:
            register_runs(url, args.n, "PostgreSQL")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["sweep", "register"])
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--dir", default="/tmp")
    parser.add_argument("--refill", action="store_true", help="sweep: fill the base file anew")
    parser.add_argument("--pg-server", default="",
                        help="also on PostgreSQL: server URL without database name")
    args = parser.parse_args(argv)
    if args.what == "sweep":
        args.n = args.n or 1_000_000
        bench_sweep(args)
    else:
        args.n = args.n or 1_000
        bench_register(args)


if __name__ == "__main__":
    main()
