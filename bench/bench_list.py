"""Complaint list timings on 100k and 1M complaints, in-process, as logged-in users.

    python bench/bench_list.py                       # SQLite files in /tmp, 100k and 1M rows
    python bench/bench_list.py --sizes 100000 --repeat 50
    python bench/bench_list.py --pg postgresql+psycopg://postgres@127.0.0.1   # PostgreSQL too
    python bench/bench_list.py --stock               # also a stock Flask-Admin ModelView

Each database is filled once with bench/fill.py (deterministic, one transaction) and kept
(``--refill`` starts over). Every request goes through the Flask test client, logged in as
a demo user: the complaint list page 1 (the clerk's queue and everything in scope), a
department head's queue filtered by status and sorted by due time, a deep page (offset
500,000 or the middle of the table), and a search by exact customer phone. Prints the
median and the 90th percentile of ``--repeat`` runs after two warm-up requests, and the
median CPU time of this process (less disturbed by other work on a shared machine); then
"list SQL": the median time of the page's complaint SELECT alone (the statement the page
sent, executed and fetched through the raw driver), and the number of statements per page.

Reference (issue 3, stock Flask-Admin ModelView, 1M rows, median): page 1 31 ms,
department queue 56 ms, phone search 1,190 ms. Goal: page 1 and queue at most half, phone
search under 5 ms.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import Stopwatch, login, needs_fill  # noqa: E402
from sqlalchemy import create_engine, select, text  # noqa: E402


def prepare(url: str, n: int, refill: bool) -> None:
    """Migrate and fill the database unless it already holds n complaints."""
    from fill import fill

    if not needs_fill(url, n, refill):
        return
    engine = create_engine(url)
    started = time.perf_counter()
    summary = fill(engine, n, seed=1)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    print(f"  filled {n:,} in {time.perf_counter() - started:.0f} s: {summary['by_status']}")
    engine.dispose()


def make_app(url: str, stock: bool):
    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "TESTING": True,
                      "SERVER_NAME": "localhost"})
    if stock:
        from flask_admin.contrib.sqla import ModelView

        from models import Complaint, db

        class StockView(ModelView):
            """What Flask-Admin gives out of the box (no scope, no queue, LIKE search)."""

            column_list = ("number", "title", "customer_name", "status", "department",
                           "assignee", "category", "severity", "received_at", "due_at")
            column_searchable_list = ("number", "customer_name", "customer_phone")
            column_filters = ("status", "department_id")
            column_sortable_list = ("due_at", "received_at")
            named_filter_urls = True

        app.extensions["admin"][0].add_view(StockView(Complaint, db, endpoint="stock"))
    return app


class StatementLog:
    """Remembers the statements of a request, to count them and to time the list query."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.engine = engine
        self.seen = []
        event.listen(engine, "before_cursor_execute", self._before)

    def _before(self, conn, cursor, statement, params, context, many):
        self.seen.append((statement, params))

    def reset(self):
        self.seen = []

    def list_query_ms(self, repeat):
        """Median time of the page's statements over the complaint table (the page query and,
        for a counting pager, its count), re-executed and fetched through the raw driver."""
        mine = [(st, p) for st, p in self.seen if re.search(r"\bFROM complaint\b", st)]
        if not mine:
            return float("nan")
        raw = self.engine.raw_connection()
        try:
            runs = []
            for _ in range(repeat + 2):
                started = time.perf_counter()
                for statement, params in mine:
                    cursor = raw.cursor()
                    cursor.execute(statement, params)
                    cursor.fetchall()
                    cursor.close()
                runs.append((time.perf_counter() - started) * 1000)
            raw.rollback()
        finally:
            raw.close()
        return statistics.median(runs[2:])


def timed(client, url, repeat, log):
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    runs, cpu = [], []
    for _ in range(repeat):
        log.reset()
        watch = Stopwatch()
        response = client.get(url)
        runs.append(watch.wall() * 1000)
        cpu.append(watch.cpu() * 1000)
        assert response.status_code == 200
    statements = len(log.seen)
    runs.sort()
    return {"median": statistics.median(runs), "p90": runs[int(len(runs) * 0.9) - 1],
            "cpu": statistics.median(cpu), "sql": log.list_query_ms(repeat),
            "statements": statements, "response": response}


def sample_phone(app):
    from models import Complaint, db

    with app.app_context():
        return db.session.scalar(
            select(Complaint.customer_phone_norm).where(Complaint.id == 4242)
        )


def dept_head_and_status(app):
    """The department head with the most in-progress complaints, and that status."""
    from sqlalchemy import func

    from models import Complaint, Department, Staff, db

    with app.app_context():
        dept = db.session.execute(
            select(Complaint.department_id, func.count())
            .where(Complaint.status == "in_progress")
            .group_by(Complaint.department_id).order_by(func.count().desc()).limit(1)
        ).first()[0]
        head = db.session.scalar(select(Staff.username).where(
            Staff.department_id == dept, Staff.role == "dept_head"))
        name = db.session.get(Department, dept).name
    return head, name


def run(url: str, n: int, repeat: int, stock: bool) -> None:
    app = make_app(url, stock)
    phone = sample_phone(app)
    head, dept_name = dept_head_and_status(app)
    deep_page = min(10_000, n // 50 // 2)
    cases = [
        ("intake", "list page 1 (clerk's queue)", "/admin/complaint/"),
        ("intake", "list page 1 (clerk's queue), 20 rows", "/admin/complaint/?page_size=20"),
        ("manager", "list page 1 (all in scope)", "/admin/complaint/?queue=all"),
        (head, f"dept queue {dept_name}: in progress, by due",
         "/admin/complaint/?flt0_status_equals=in_progress&sort=10"),
        ("manager", f"deep page {deep_page} (offset {deep_page * 50:,})",
         f"/admin/complaint/?queue=all&page={deep_page}"),
        ("intake", "search exact phone", f"/admin/complaint/?search={phone}"),
    ]
    if stock:
        with app.app_context():
            from models import Department, db

            dept_id = db.session.scalar(select(Department.id).where(Department.name == dept_name))
        cases += [
            ("admin", "STOCK list page 1", "/admin/stock/"),
            ("admin", "STOCK dept queue (status, dept, sort due)",
             f"/admin/stock/?flt0_status_equals=in_progress&flt1_department_id_equals={dept_id}"
             "&sort=0"),
            ("admin", f"STOCK deep page {deep_page}", f"/admin/stock/?page={deep_page}"),
            ("admin", "STOCK search phone", f"/admin/stock/?search={phone}"),
        ]
    from models import db

    with app.app_context():
        log = StatementLog(db.engine)
    clients = {}
    print(f"  {'case':<46} {'user':<11} {'median':>8} {'p90':>8} {'cpu':>8} {'list SQL':>8}"
          "  stmts rows")
    for user, label, path in cases:
        if user not in clients:
            clients[user] = app.test_client()
            login(clients[user], user)
        t = timed(clients[user], path, repeat, log)
        body = t["response"].get_data(as_text=True)
        rows = body.count('<td class="col-number">') or body.count('class="col-number"')
        print(f"  {label:<46} {user:<11} {t['median']:6.1f}ms {t['p90']:6.1f}ms "
              f"{t['cpu']:6.1f}ms {t['sql']:6.2f}ms  {t['statements']:5d} {rows:4d}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--sqlite-dir", default="/tmp")
    parser.add_argument("--pg", default="", help="PostgreSQL server URL (a database per size)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--refill", action="store_true")
    parser.add_argument("--stock", action="store_true", help="also time a stock ModelView")
    args = parser.parse_args(argv)
    targets = []
    for n in args.sizes:
        if not args.no_sqlite:
            targets.append((f"sqlite:///{args.sqlite_dir}/bench_list_{n}.sqlite", n))
        if args.pg:
            name = f"bench_list_{n}"
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
        run(url, n, args.repeat, args.stock)


if __name__ == "__main__":
    main()
