"""Excel export timings: 100k complaints through the list's export, the monthly workbook on 1M.

    python bench/bench_export.py                      # SQLite file in /tmp, 1M complaints
    python bench/bench_export.py --pg postgresql+psycopg://postgres@127.0.0.1/cd_bench_export
    python bench/bench_export.py --rows 100000 --refill

The database is filled once with bench/fill.py (1M complaints over a year, two events each),
then the deadline sweep marks the missed deadlines and one callback per closed complaint is
added with a set-based INSERT … SELECT; the file is kept for later runs (``--refill``).

Every measurement runs in a FRESH Python process (``resource.getrusage`` gives the peak
RSS of that process alone) and prints wall time and peak RSS:

- ``export``: a manager's GET /admin/complaint/export/xlsx/ with a received-date filter
  matching about ``--rows`` complaints, through the Flask test client and the real view
  (scope, filters, sort, ExportLog), the file streamed to disk;
- ``floor``: the same rows read with a plain Core ``SELECT`` (yield_per) and written with
  xlsxwriter ``constant_memory`` — the floor the export is compared with (issue 4: within
  1.3×);
- ``report``: the monthly meeting workbook of a complete month and of the running month,
  for all departments and for one department.

Goals (issue 4): the export within ~7 s and under 80 MiB peak; the monthly workbook over 1M
complaints under 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import Stopwatch, login_by_session, needs_fill, peak_mib  # noqa: E402

NOW = datetime(2026, 11, 23, 9, 0)  # bench/fill.py's default "now"


# --- preparing the database (parent process) ------------------------------------------------


def prepare(url: str, n: int, refill: bool) -> None:
    from fill import fill
    from sqlalchemy import create_engine

    if not needs_fill(url, n, refill):
        return
    started = time.perf_counter()
    summary = fill(create_engine(url), n, seed=1, now=NOW, events=True)
    print(f"filled {n:,} complaints in {time.perf_counter() - started:.1f} s "
          f"({summary['events']:,} events)")
    started = time.perf_counter()
    _sweep_and_callbacks(url)
    print(f"swept and added callbacks in {time.perf_counter() - started:.1f} s")


def _sweep_and_callbacks(url: str) -> None:
    from sqlalchemy import text

    from app import create_app
    from models import db
    from services.sweep import sweep

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        result = sweep(now=NOW)
        print(f"sweep marked {result.marked:,} overdue complaints")
        # One callback per closed complaint, an hour before closing, with its satisfaction.
        db.session.execute(text(
            "INSERT INTO callback_record (complaint_id, staff_id, at, method, reached, "
            "satisfaction, solved, notes) "
            "SELECT id, registered_by_id, closed_at - INTERVAL '1 hour', 'phone', true, "
            "final_satisfaction, true, NULL FROM complaint WHERE status = 'closed'"
            if db.engine.dialect.name == "postgresql" else
            "INSERT INTO callback_record (complaint_id, staff_id, at, method, reached, "
            "satisfaction, solved, notes) "
            "SELECT id, registered_by_id, datetime(closed_at, '-1 hour') || '.000000', "
            "'phone', 1, final_satisfaction, 1, NULL FROM complaint WHERE status = 'closed'"))
        db.session.commit()


def received_range(url: str, rows: int) -> tuple[str, str, int]:
    """Whole days at the end of the data whose complaints number about ``rows``."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        last = conn.scalar(text("SELECT max(received_at) FROM complaint"))
        boundary = conn.scalar(text("SELECT received_at FROM complaint ORDER BY received_at "
                                    "DESC LIMIT 1 OFFSET :k"), {"k": rows - 1})
        last = last if isinstance(last, datetime) else datetime.fromisoformat(last)
        boundary = (boundary if isinstance(boundary, datetime)
                    else datetime.fromisoformat(boundary))
        start = boundary.date()
        count = conn.scalar(text("SELECT count(*) FROM complaint WHERE received_at >= :s"),
                            {"s": datetime.combine(start, datetime.min.time())})
    engine.dispose()
    return start.isoformat(), last.date().isoformat(), count


def run_child(*args) -> dict:
    """Run this script in a fresh interpreter; returns the JSON it prints last."""
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the children ---------------------------------------------------------------------------


def child_prepare(url: str, n: str, refill: str) -> dict:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        prepare(url, int(n), refill == "1")
    return {"log": out.getvalue().strip() or "database ready"}


def child_range(url: str, rows: str) -> dict:
    return {"range": received_range(url, int(rows))}


def _app(url: str):
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                       "EXPORT_MAX_ROWS": 1_000_000, "SERVER_NAME": "localhost"})


def child_export(url: str, query: str) -> dict:
    app = _app(url)
    from sqlalchemy import select

    from models import ExportLog, db

    client = app.test_client()
    login_by_session(app, client, "manager")
    baseline = peak_mib()
    watch = Stopwatch()
    size = 0
    with tempfile.TemporaryFile() as sink:
        with client.get("/admin/complaint/export/xlsx/" + query, buffered=False) as response:
            if response.status_code != 200:
                raise SystemExit(f"export answered {response.status_code}")
            for chunk in response.response:
                sink.write(chunk)
                size += len(chunk)
    wall = watch.wall()
    with app.app_context():
        rows = db.session.scalar(select(ExportLog.row_count).order_by(ExportLog.id.desc()))
    return {"wall_s": round(wall, 2), "cpu_s": round(watch.cpu(), 2),
            "peak_mib": round(peak_mib(), 1), "baseline_mib": round(baseline, 1), "rows": rows,
            "file_mib": round(size / 2**20, 1)}


def child_floor(url: str, start: str) -> dict:
    """Plain SQL + xlsxwriter constant_memory: the streaming floor (same rows, the same 24
    columns as the complaint export)."""
    import xlsxwriter
    from sqlalchemy import create_engine, select

    from models import Category, Complaint, Department, Staff
    from services.export import WORKBOOK_OPTIONS

    engine = create_engine(url)
    baseline = peak_mib()
    watch = Stopwatch()
    c = Complaint
    stmt = (select(c.number, c.received_at, c.kind, c.channel, c.customer_name,
                   c.customer_phone, c.customer_email, c.customer_class, Category.name,
                   c.severity, c.title, c.description, c.demand, c.status, Department.name,
                   Staff.full_name, c.escalation_level, c.due_at, c.root_cause, c.resolution,
                   c.resolved_at, c.compensation_amount, c.closed_at, c.final_satisfaction)
            .outerjoin(Category, Category.id == c.category_id)
            .outerjoin(Department, Department.id == c.department_id)
            .outerjoin(Staff, Staff.id == c.assignee_id)
            .where(c.received_at >= datetime.fromisoformat(start))
            .order_by(c.received_at.desc(), c.id))
    rows = 0
    with tempfile.TemporaryFile() as sink, engine.connect() as conn:
        wb = xlsxwriter.Workbook(sink, WORKBOOK_OPTIONS)
        ws = wb.add_worksheet()
        date_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        for row in conn.execution_options(yield_per=1000).execute(stmt):
            rows += 1
            for col, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, datetime):
                    ws.write_datetime(rows, col, value, date_fmt)
                elif isinstance(value, int | float):
                    ws.write_number(rows, col, value)
                else:
                    ws.write_string(rows, col, str(value))
        wb.close()
    wall = watch.wall()
    return {"wall_s": round(wall, 2), "cpu_s": round(watch.cpu(), 2),
            "peak_mib": round(peak_mib(), 1), "baseline_mib": round(baseline, 1), "rows": rows}


def child_report(url: str, month_text: str, department: str) -> dict:
    app = _app(url)
    from flask_babel import force_locale
    from sqlalchemy import select

    from admin_views.reports import value_labels
    from models import Department, db
    from models.engine import read_only
    from services.reports import month, monthly_report, write_monthly_workbook

    with app.app_context(), force_locale("en"), read_only():
        dept = (db.session.scalar(select(Department).filter_by(code=department))
                if department else None)
        baseline = peak_mib()
        watch = Stopwatch()
        report = monthly_report(month(month_text), dept, now=NOW)
        figures_s = watch.wall()
        with tempfile.TemporaryFile() as sink:
            listed = write_monthly_workbook(report, sink, value_labels(), mask_phones=True,
                                            made_by="bench")
        wall = watch.wall()
    return {"wall_s": round(wall, 2), "cpu_s": round(watch.cpu(), 2),
            "figures_s": round(figures_s, 2),
            "peak_mib": round(peak_mib(), 1), "baseline_mib": round(baseline, 1),
            "received": report.total.received, "overdue_listed": listed}


# --- main ----------------------------------------------------------------------------------


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--url", default=None, help="default: sqlite:////tmp/bench_export_<n>.sqlite")
    parser.add_argument("--pg", default=None, help="also run on this PostgreSQL database URL")
    parser.add_argument("--refill", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per measurement")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        kind, *rest = args.child
        result = {"export": child_export, "floor": child_floor, "report": child_report,
                  "prepare": child_prepare, "range": child_range}[kind](*rest)
        print(json.dumps(result))
        return

    urls = [args.url or f"sqlite:////tmp/bench_export_{args.n}.sqlite"]
    if args.pg:
        urls.append(args.pg)
    for url in urls:
        print(f"== {url.split('@')[-1]}")
        # Even the filling runs in a child: a child inherits its parent's peak RSS at fork,
        # so this process must stay small for the children's figures to be their own.
        print(run_child("--child", "prepare", url, str(args.n), str(int(args.refill)))["log"])
        start, end, count = run_child("--child", "range", url, str(args.rows))["range"]
        query = (f"?queue=all&flt0_received_between={start}+to+{end}&sort=9&desc=1")
        print(f"export filter: received {start} .. {end} ({count:,} complaints)")
        # Export and floor runs alternate, so that both see the same load on the host.
        kinds = (("export (view, 24 columns)", ("export", url, query)),
                 ("floor (SQL + xlsxwriter)", ("floor", url, start)))
        results = {label: [] for label, _child in kinds}
        for _ in range(args.repeat):
            for label, child in kinds:
                results[label].append(run_child("--child", *child))
        for label, _child in kinds:
            runs = results[label]
            best = min(runs, key=lambda r: r["wall_s"])
            print(f"{label:28s} wall {', '.join(str(r['wall_s']) for r in runs)} s "
                  f"(CPU {', '.join(str(r['cpu_s']) for r in runs)} s); "
                  f"peak RSS {max(r['peak_mib'] for r in runs)} MiB "
                  f"(after start-up {best['baseline_mib']} MiB); rows {best['rows']:,}"
                  + (f"; file {best['file_mib']} MiB" if "file_mib" in best else ""))
        ratio = (statistics.median(r["cpu_s"] for r in results[kinds[0][0]])
                 / statistics.median(r["cpu_s"] for r in results[kinds[1][0]]))
        print(f"export / floor (median CPU)  {ratio:.2f}×")
        for month_text, dept in (("2026-10", ""), ("2026-11", ""), ("2026-10", "QA")):
            runs = [run_child("--child", "report", url, month_text, dept)
                    for _ in range(args.repeat)]
            best = min(runs, key=lambda r: r["wall_s"])
            print(f"monthly workbook {month_text} {dept or 'all':4s}       wall "
                  f"{', '.join(str(r['wall_s']) for r in runs)} s "
                  f"(CPU {', '.join(str(r['cpu_s']) for r in runs)} s; figures "
                  f"{best['figures_s']} s); peak RSS {max(r['peak_mib'] for r in runs)} MiB; "
                  f"received {best['received']:,}; list rows {best['overdue_listed']:,}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
