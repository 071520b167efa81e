"""Which of the app's real queries use each index on ``complaint`` (run by hand; prints).

    python bench/index_use.py --sqlite /tmp/bench_list_100000.sqlite
    python bench/index_use.py --pg postgresql+psycopg://postgres@127.0.0.1/bench_list_100000
    python bench/index_use.py --fill 100000 --sqlite /tmp/x.sqlite   # fill first (fill.py)

The SQL is the app's own: the script requests, through the Flask test client as the demo
users of bench/fill.py, the complaint list pages of every role (their queue, everything in
scope, escalated, the overdue filter, a status filter sorted by due time, a deep page, the
searches by phone, name and number), the home page of each role (the dashboard counts) and
the report pages, then runs the deadline sweep at a moment when nothing is due (it sends
its look-ups and writes nothing). A statement recorder keeps every statement that reads
``complaint``; each is EXPLAINed with its own parameters (SQLite: EXPLAIN QUERY PLAN;
PostgreSQL: EXPLAIN (FORMAT JSON)), and the script prints, for each index on
``complaint``, the queries whose plan uses it. On PostgreSQL it also prints
``pg_stat_user_indexes.idx_scan`` of each index after the run (statistics reset first).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import login  # noqa: E402
from sqlalchemy import event, select, text  # noqa: E402

COMPLAINT = re.compile(r"\b(FROM|JOIN|UPDATE)\s+complaint\b", re.I)
# A moment before every deadline fill.py hands out: the sweep finds nothing to write.
QUIET = datetime(2000, 1, 3, 9, 0)


def pages(app):
    """(user, label, url): the pages whose SQL is examined."""
    from models import Complaint, Department, Staff, db

    with app.app_context():
        row = db.session.execute(select(Complaint.customer_phone_norm, Complaint.customer_name,
                                        Complaint.number).where(Complaint.id == 4242)).first()
        heads = db.session.execute(
            select(Staff.username, Department.name).join(Department,
                                                         Staff.department_id == Department.id)
            .where(Staff.role == "dept_head").order_by(Staff.username)).first()
    phone, name, number = row
    head = heads[0]
    lst = "/admin/complaint/"
    out = []
    for user in ("intake", "manager", "supervisor", head, "handler_fin", "executive"):
        out += [(user, "list: own queue", lst), (user, "home: dashboard counts", "/admin/")]
    out += [
        ("manager", "list: all in scope", f"{lst}?queue=all"),
        ("manager", "list: all, by due time", f"{lst}?queue=all&sort=5"),
        ("manager", "list: all, by received", f"{lst}?queue=all&sort=4"),
        ("manager", "list: escalated to me", f"{lst}?queue=escalated"),
        ("executive", "list: escalated to me", f"{lst}?queue=escalated"),
        (head, "list: escalated to me", f"{lst}?queue=escalated"),
        ("manager", "list: overdue filter", f"{lst}?flt0_deadline_is=overdue"),
        ("manager", "list: escalation level filter", f"{lst}?flt0_escalation_level_equals=2"),
        (head, "list: status filter, by due", f"{lst}?flt0_status_equals=in_progress&sort=5"),
        ("manager", "list: deep page", f"{lst}?queue=all&page=1000"),
        ("manager", "list: received between",
         f"{lst}?flt0_received_between=2026-01-01+to+2026-01-31"),
        ("intake", "search: phone", f"{lst}?search={phone}"),
        ("intake", "search: name", f"{lst}?search={name}"),
        ("intake", "search: number", f"{lst}?search={number}"),
        ("manager", "list: upstream queue", f"{lst}?queue=upstream"),
        ("manager", "report: index", "/admin/reports/"),
        ("manager", "report: metrics", "/admin/reports/metrics/"),
        ("manager", "report: people", "/admin/reports/people/"),
    ]
    return out


class Recorder:
    def __init__(self, engine):
        self.label = ""
        self.seen: dict[str, tuple[str, object, set]] = {}
        event.listen(engine, "before_cursor_execute", self._before)

    def _before(self, conn, cursor, statement, params, context, many):
        if many or not COMPLAINT.search(statement) or statement.startswith("EXPLAIN"):
            return
        key = " ".join(statement.split())
        entry = self.seen.setdefault(key, (statement, params, set()))
        entry[2].add(self.label)


def sqlite_indexes(raw, statement, params):
    cur = raw.cursor()
    cur.execute("EXPLAIN QUERY PLAN " + statement, params)
    details = [r[-1] for r in cur.fetchall()]
    return {m for d in details for m in re.findall(r"INDEX (\w+)", d)}


def pg_indexes(raw, statement, params):
    cur = raw.cursor()
    cur.execute("EXPLAIN (FORMAT JSON) " + statement, params)
    plan = cur.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    found = set()

    def walk(node):
        if "Index Name" in node:
            found.add(node["Index Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return found


def complaint_indexes(conn, postgres):
    if postgres:
        return [r[0] for r in conn.execute(text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'complaint' ORDER BY 1"))]
    return sorted(r[1] for r in conn.execute(text("PRAGMA index_list(complaint)")))


def run(url: str) -> None:
    from bench_list import make_app

    app = make_app(url, False)
    from models import db
    from services.sweep import sweep

    postgres = url.startswith("postgresql")
    with app.app_context():
        engine = db.engine
        if postgres:
            with engine.connect() as conn:
                conn.execute(text("SELECT pg_stat_reset()"))
                conn.commit()
        recorder = Recorder(engine)
    clients = {}
    for user, label, path in pages(app):
        if user not in clients:
            clients[user] = app.test_client()
            login(clients[user], user)
        recorder.label = f"{label} ({user})"
        response = clients[user].get(path)
        if response.status_code != 200:
            print(f"  ! {path} as {user}: HTTP {response.status_code}")
    with app.app_context():
        recorder.label = "sweep (nothing due)"
        sweep(QUIET)
        db.session.remove()
    uses: dict[str, set[str]] = {}
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("CREATE TEMPORARY TABLE IF NOT EXISTS sweep_batch (id INTEGER PRIMARY "
                        "KEY, department INTEGER, person INTEGER, who INTEGER, no_head "
                        "INTEGER, event_id INTEGER, level INTEGER)")
            for statement, params, labels in recorder.seen.values():
                try:
                    found = (pg_indexes if postgres else sqlite_indexes)(raw, statement, params)
                except Exception as exc:  # noqa: BLE001 - a statement EXPLAIN can't take
                    raw.rollback()
                    print(f"  ! EXPLAIN failed ({exc.__class__.__name__}): {statement[:80]}")
                    continue
                for index in found:
                    uses.setdefault(index, set()).update(labels)
            raw.rollback()
        finally:
            raw.close()
        with db.engine.connect() as conn:
            names = complaint_indexes(conn, postgres)
            scans = {}
            if postgres:
                time.sleep(1.5)  # the statistics are flushed at most once a second
                scans = dict(conn.execute(text(
                    "SELECT indexrelname, idx_scan FROM pg_stat_user_indexes "
                    "WHERE relname = 'complaint'")).all())
        db.engine.dispose()
    print(f"  {len(recorder.seen)} distinct statements over complaint; "
          f"{len(names)} indexes on complaint")
    for name in names:
        used = sorted(uses.get(name, ()))
        scan = f"  idx_scan {scans.get(name, 0)}" if postgres else ""
        print(f"\n  {name}: {len(used)} queries{scan}")
        for label in used:
            print(f"      {label}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", default="", help="a SQLite file filled by bench/fill.py")
    parser.add_argument("--pg", default="", help="a PostgreSQL database URL, filled likewise")
    parser.add_argument("--fill", type=int, default=0, help="fill this many first if empty")
    args = parser.parse_args(argv)
    for url in ([f"sqlite:///{args.sqlite}"] if args.sqlite else []) + (
            [args.pg] if args.pg else []):
        if args.fill:
            from bench_list import prepare

            prepare(url, args.fill, False)
        print(f"Indexes on complaint and the queries that use them: {url}")
        run(url)


if __name__ == "__main__":
    main()
