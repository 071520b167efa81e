"""Search timings (issue 10): keyword, last-4 phone and number-tail search pages beside the
plain list page, and the full-text index: build time, size, memory.

    python bench/bench_search.py                          # SQLite in /tmp, 100k complaints
    python bench/bench_search.py --sizes 1000000 --repeat 10
    python bench/bench_search.py --pg postgresql+psycopg://postgres@127.0.0.1

Each database is filled once with bench/fill.py (kept between runs; ``--refill`` starts
over) and its index built with ``services.search_index.rebuild`` (what ``flask reindex``
runs): fill.py writes rows with bulk SQL, bypassing the services that keep the index.
``--rebuild`` times the build again on a kept database. Pages go through the Flask test
client as a logged-in manager (everything in scope, newest first): medians of ``--repeat``
runs after two warm-ups, and each search page's ratio to the plain list page measured in
the same run (goal ≤ 2×). Index size: SQLite, the FTS5 shadow tables (dbstat) or the file's
growth; PostgreSQL, ``pg_total_relation_size``. Memory: peak RSS of this process before
jieba is loaded, after, and after the build (resident; the peak includes fill.py's rows).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_list import StatementLog, make_app, prepare, timed  # noqa: E402
from common import login, peak_mib  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402


def rss_mib() -> float:
    """Resident memory of this process now (Linux), in MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def index_size_mib(conn) -> float:
    if conn.dialect.name == "postgresql":
        size = conn.scalar(text("SELECT pg_total_relation_size('complaint_search')"))
        return size / 2**20
    try:
        size = conn.scalar(text(
            "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'complaint_search%'"))
        return (size or 0) / 2**20
    except Exception:  # noqa: BLE001 - SQLite built without dbstat: the index's pages
        pages = conn.scalar(text("SELECT count(*) FROM complaint_search_data"))
        return pages * conn.scalar(text("PRAGMA page_size")) / 2**20


def build_index(app, url: str, force: bool, batch: int = 5000) -> None:
    from models import db
    from services.search_index import reindex, segment

    with app.app_context():
        have = db.session.scalar(text("SELECT count(*) FROM complaint_search"))
        total = db.session.scalar(text("SELECT count(*) FROM complaint"))
        before = rss_mib()
        list(segment("预热"))
        loaded = rss_mib()
        print(f"  memory: jieba's dictionary {loaded - before:.0f} MiB "
              f"(resident {before:.0f} → {loaded:.0f} MiB)")
        if have == total and not force:
            print(f"  index kept: {have:,} rows, "
                  f"{index_size_mib(db.session.connection()):.1f} MiB (--rebuild to time it)")
            return
        started = time.perf_counter()
        # what `flask reindex` runs: a transaction per batch, progress, ANALYZE at the end
        done = reindex(db.session, batch=batch, echo=lambda line: print("   ", line))
        seconds = time.perf_counter() - started
        db.session.rollback()
        if url.startswith("postgresql"):  # what autovacuum does after a bulk load
            vacuum = time.perf_counter()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
            print(f"  VACUUM ANALYZE after the build: {time.perf_counter() - vacuum:.1f} s")
        size = index_size_mib(db.session.connection())
        file_size = (os.path.getsize(url.split("///", 1)[1]) / 2**20
                     if url.startswith("sqlite") else float("nan"))
        print(f"  index built: {done:,} complaints in {seconds:.1f} s "
              f"({done / seconds:,.0f}/s), {size:.1f} MiB "
              f"(database file {file_size:.0f} MiB), resident {rss_mib():.0f} MiB after "
              f"(peak {peak_mib():.0f} MiB: one batch at a time)")


def samples(app):
    """A phone, a number and the name of an existing complaint (id 4242 or the last)."""
    from sqlalchemy import func

    from models import Complaint, db

    with app.app_context():
        pick = min(4242, db.session.scalar(select(func.max(Complaint.id))))
        row = db.session.execute(select(Complaint.customer_phone_norm, Complaint.number,
                                        Complaint.customer_name)
                                 .where(Complaint.id == pick)).one()
    return row


def run(url: str, n: int, repeat: int, force: bool) -> None:
    app = make_app(url, stock=False)
    build_index(app, url, force)
    phone, number, name = samples(app)
    from models import db

    with app.app_context():
        log = StatementLog(db.engine)
    client = app.test_client()
    login(client, "manager")
    plain = "/admin/complaint/?queue=all"
    cases = [
        ("plain list page 1 (all in scope)", plain),
        ("keyword 冰箱 (1 title in 8)", "/admin/complaint/?search=" + quote("冰箱")),
        ("keyword 漏电 (nowhere)", "/admin/complaint/?search=" + quote("漏电")),
        ("keywords 物流 未更新", "/admin/complaint/?search=" + quote("物流 未更新")),
        (f"name part {name[1:]}", "/admin/complaint/?search=" + quote(name[1:])),
        (f"phone last 4 {phone[-4:]}", f"/admin/complaint/?search={phone[-4:]}"),
        ("full phone", f"/admin/complaint/?search={phone}"),
        (f"number tail {number[-4:]}", f"/admin/complaint/?search={number[-4:]}"),
        (f"number tail {number[3:]}", f"/admin/complaint/?search={number[3:]}"),
    ]
    floor = None
    print(f"  {'case':<36} {'median':>9} {'p90':>9} {'list SQL':>9} {'× plain':>8}  rows")
    for label, path in cases:
        t = timed(client, path, repeat, log)
        floor = floor or t["median"]
        rows = t["response"].get_data(as_text=True).count('<td class="col-number">')
        print(f"  {label:<36} {t['median']:7.1f}ms {t['p90']:7.1f}ms {t['sql']:7.2f}ms "
              f"{t['median'] / floor:7.2f}×  {rows:4d}")
    print(f"  goal: each search page ≤ 2× the plain list page ({floor:.1f} ms here), "
          f"medians of {repeat} runs")
    print("  list SQL: the page's statement over complaint re-run alone (on PostgreSQL without "
          "the sorting-off of a search with many hits, services/search.py)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--sqlite-dir", default="/tmp")
    parser.add_argument("--pg", default="", help="PostgreSQL server URL (a database per size)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--refill", action="store_true")
    parser.add_argument("--rebuild", action="store_true", help="time the index build again")
    args = parser.parse_args(argv)
    targets = []
    for n in args.sizes:
        if not args.no_sqlite:
            targets.append((f"sqlite:///{args.sqlite_dir}/bench_search_{n}.sqlite", n))
        if args.pg:
            name = f"bench_search_{n}"
            server = create_engine(f"{args.pg}/postgres", isolation_level="AUTOCOMMIT")
            with server.connect() as conn:
                if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                   {"n": name}):
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
            server.dispose()
            targets.append((f"{args.pg}/{name}", n))
    for url, n in targets:
        print(f"{url.split('://')[0]} · {n:,} complaints ({url})")
        prepare(url, n, args.refill)
        run(url, n, args.repeat, args.rebuild or args.refill)


if __name__ == "__main__":
    main()
