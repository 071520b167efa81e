"""Complaint list timings at 10k, 100k and 1M complaints beside a stock Flask-Admin view, in
process, as logged-in users.

    python bench/bench_list.py --stock               # SQLite files in /tmp, 10k, 100k and 1M
    python bench/bench_list.py --sizes 10000 --repeat 50 --stock
    python bench/bench_list.py --stock --pg postgresql+psycopg://postgres@127.0.0.1   # + PostgreSQL
    python bench/bench_list.py --stock --sizes 10000 1000000 --sqlite-dir /tmp/mine \
        --pg postgresql+psycopg://postgres@127.0.0.1 --pg-prefix mine_list

Each database is filled once with bench/fill.py (deterministic, one transaction) and kept
(``--refill`` starts over); PostgreSQL gets a database per size, ``<pg-prefix>_<size>``.
Every request goes through the Flask test client, logged in as a demo user: the complaint
list page 1 (the clerk's queue and everything in scope, 50 and 20 rows), a department
head's queue filtered by status and sorted by due time, a deep page (offset 500,000 or the
middle of the table), and a search by exact customer phone. Prints the median and the 90th
percentile of ``--repeat`` runs after two warm-up requests, and the median CPU time of this
process (less disturbed by other work on a shared machine); then "list SQL": the median
time of the page's complaint SELECT alone (the statement the page sent, executed and
fetched through the raw driver), and the number of statements per page (every statement
the engine sends, BEGIN included).

``--stock`` adds a stock Flask-Admin ModelView on the same table (same columns, page size
50, ``?page_size=20`` allowed, its own count(*) and LIKE search) and, at the end, a table
with each desk page beside the stock page that does the same work, for every database and
size: statements, median wall time, median CPU time, and desk / stock. The two pages of a
pair are requested in turns (desk, stock, desk, …) as the same user, so that a busy machine
slows both alike.

Reference (issue 3, stock Flask-Admin ModelView, 1M rows, median): page 1 31 ms,
department queue 56 ms, phone search 1,190 ms. Goal: page 1 and queue at most half, phone
search under 5 ms. Issue 13: at most 5 statements per list page; at 10k rows no slower
than the stock view; at 1M keep the lead.
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
            """What Flask-Admin gives out of the box (no scope, no queue, LIKE search), at
            the desk's page size (and ?page_size=20 allowed, as on the desk)."""

            page_size = 50
            can_set_page_size = True
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


def _one(client, url, log):
    log.reset()
    watch = Stopwatch()
    response = client.get(url)
    wall, cpu = watch.wall() * 1000, watch.cpu() * 1000
    assert response.status_code == 200, (url, response.status_code)
    return wall, cpu, len(log.seen), list(log.seen), response


def timed_many(requests, repeat, log):
    """Time each (client, url) ``repeat`` times, in turns (a, b, a, b, …) after two warm-up
    rounds: medians, p90, CPU, the list SQL time and the statements of the last run."""
    for _ in range(2):
        for client, url in requests:
            _one(client, url, log)
    runs = [[] for _ in requests]
    for _ in range(repeat):
        for i, (client, url) in enumerate(requests):
            runs[i].append(_one(client, url, log))
    out = []
    for got in runs:
        walls = sorted(r[0] for r in got)
        last = got[-1]
        log.seen = last[3]
        out.append({"median": statistics.median(walls), "p90": walls[int(len(walls) * 0.9) - 1],
                    "cpu": statistics.median(r[1] for r in got),
                    "sql": log.list_query_ms(repeat), "statements": last[2],
                    "response": last[4]})
    return out


def timed(client, url, repeat, log):
    return timed_many([(client, url)], repeat, log)[0]


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


def _rows(response) -> int:
    body = response.get_data(as_text=True)
    return body.count('<td class="col-number">') or body.count('class="col-number"')


def run(url: str, n: int, repeat: int, stock: bool) -> list[dict]:
    """Print the desk's pages (and the stock pairs); return the pairs for the summary."""
    app = make_app(url, stock)
    phone = sample_phone(app)
    head, dept_name = dept_head_and_status(app)
    deep_page = min(10_000, n // 50 // 2)
    queue = "/admin/complaint/?flt0_status_equals=in_progress&sort=10"
    # (user, label, desk page, stock page doing the same work or None)
    cases = [
        ("intake", "list page 1 (clerk's queue)", "/admin/complaint/", None),
        ("manager", "list page 1, 50 rows (all in scope)", "/admin/complaint/?queue=all",
         "/admin/stock/"),
        ("manager", "list page 1, 20 rows (all in scope)",
         "/admin/complaint/?queue=all&page_size=20", "/admin/stock/?page_size=20"),
        (head, f"dept queue {dept_name}: in progress, by due", queue, None),
        ("manager", f"deep page {deep_page} (offset {deep_page * 50:,})",
         f"/admin/complaint/?queue=all&page={deep_page}", f"/admin/stock/?page={deep_page}"),
        ("intake", "search exact phone", f"/admin/complaint/?search={phone}",
         f"/admin/stock/?search={phone}"),
    ]
    if stock:
        with app.app_context():
            from models import Department, db

            dept_id = db.session.scalar(select(Department.id).where(Department.name == dept_name))
        # the head's queue is their department's: the stock page filters on it
        cases[3] = (head, cases[3][1], queue,
                    f"/admin/stock/?flt0_status_equals=in_progress"
                    f"&flt1_department_id_equals={dept_id}&sort=0")
    else:
        cases = [(user, label, desk, None) for user, label, desk, _stock in cases]
    from models import db

    with app.app_context():
        log = StatementLog(db.engine)
    clients = {}
    print(f"  {'case':<46} {'user':<11} {'median':>8} {'p90':>8} {'cpu':>8} {'list SQL':>8}"
          "  stmts rows")
    pairs = []
    for user, label, path, stock_path in cases:
        if user not in clients:
            clients[user] = app.test_client()
            login(clients[user], user)
        client = clients[user]
        requests = [(client, path)] + ([(client, stock_path)] if stock_path else [])
        results = timed_many(requests, repeat, log)
        for name, t in zip((label, f"STOCK {label}"), results, strict=False):
            print(f"  {name:<46} {user:<11} {t['median']:6.1f}ms {t['p90']:6.1f}ms "
                  f"{t['cpu']:6.1f}ms {t['sql']:6.2f}ms  {t['statements']:5d} "
                  f"{_rows(t['response']):4d}")
        pairs.append({"label": label, "desk": results[0],
                      "stock": results[1] if stock_path else None})
    return pairs


def print_summary(summary) -> None:
    """Desk beside stock for every database and size (the issue's table)."""
    print("\nDesk beside stock Flask-Admin (median of the runs; stmts = SQL statements per page)")
    print(f"  {'db':<10} {'rows':>9}  {'page':<40} {'stmts':>5} {'median':>8} {'cpu':>8}"
          f"  {'stock stmts':>11} {'median':>8} {'cpu':>8}  {'desk/stock':>10}")
    for kind, n, pairs in summary:
        for pair in pairs:
            d, s = pair["desk"], pair["stock"]
            line = (f"  {kind:<10} {n:>9,}  {pair['label'][:40]:<40} {d['statements']:5d} "
                    f"{d['median']:6.1f}ms {d['cpu']:6.1f}ms")
            if s is not None:
                line += (f"  {s['statements']:11d} {s['median']:6.1f}ms {s['cpu']:6.1f}ms"
                         f"  {d['median'] / s['median']:9.2f}x")
            print(line)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--sqlite-dir", default="/tmp")
    parser.add_argument("--pg", default="", help="PostgreSQL server URL (a database per size)")
    parser.add_argument("--pg-prefix", default="bench_list",
                        help="PostgreSQL database names: <prefix>_<size>")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--refill", action="store_true")
    parser.add_argument("--stock", action="store_true", help="also time a stock ModelView")
    args = parser.parse_args(argv)
    targets = []
    for n in args.sizes:
        if not args.no_sqlite:
            targets.append((f"sqlite:///{args.sqlite_dir}/bench_list_{n}.sqlite", n))
        if args.pg:
            name = f"{args.pg_prefix}_{n}"
            server = create_engine(f"{args.pg}/postgres", isolation_level="AUTOCOMMIT")
            with server.connect() as conn:
                if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                   {"n": name}):
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
            server.dispose()
            targets.append((f"{args.pg}/{name}", n))
    summary = []
    for url, n in targets:
        print(f"{url.split('://')[0]} · {n:,} complaints ({url})")
        prepare(url, n, args.refill)
        pairs = run(url, n, args.repeat, args.stock)
        summary.append(("sqlite" if url.startswith("sqlite") else "postgresql", n, pairs))
    print_summary(summary)


if __name__ == "__main__":
    main()
