"""Excel export timings: a list export (100k / 200k complaints) against its floor, and the
monthly workbook on 1M.

    python bench/bench_export.py                      # SQLite file in --dir, 1M complaints
    python bench/bench_export.py --rows 100000 200000 --dir /tmp/me --no-reports
    python bench/bench_export.py --pg postgresql+psycopg://postgres@127.0.0.1/cd_bench_export
    python bench/bench_export.py --rows 100000 --check 3000 --profile   # compare, profile

The database is filled once with bench/fill.py (1M complaints over a year, two events each),
then the deadline sweep marks the missed deadlines and one callback per closed complaint is
added with a set-based INSERT … SELECT; the file is kept for later runs (``--refill``).

Every measurement runs in a FRESH Python process. Its idle memory is the resident set
right after the imports, the app and the login (before anything is exported); its peak is
``resource.getrusage``'s maximum resident set of that process, so "peak − idle" is what the
export itself costs in memory (goal: ≤ 30 MiB). Each prints wall and CPU time:

- ``export``: a manager's export of the complaint list with a received-date filter matching
  at most ``--rows`` complaints (whole days; the app's own ``EXPORT_MAX_ROWS`` applies),
  made the way a worker makes it: the ``list_export`` job (services.job_kinds) submitted and
  run in this process by the job runner (``JOBS_EXECUTOR=eager``: claim, the view's
  ``write_export`` as the owner — scope, filters, sort, labels, masking, title, print
  setup, overdue highlighting, wrapped rows — the file put into the storage, the job
  finished, the ExportLog written). Without services.job_kinds it falls back to the old
  GET /admin/complaint/export/xlsx/ through the Flask test client;
- ``floor``: a plain loop writing the SAME rows and columns: one Core ``SELECT`` (yield_per)
  of the exported columns, the translated value labels precomputed in SQL (``CASE``), the
  related names joined, and xlsxwriter ``constant_memory`` writing every non-empty value
  with the export's cell type and format (text, wrapped text, date-time, money, integer).
  What the floor leaves out is what only the export does: the scope and title, the overdue
  fill, row heights for wrapped text, column widths, the audit record and the job.
  ``--check N`` compares the first N data rows of both files cell by cell (value and type);
- ``report``: the monthly meeting workbook of a complete month and of the running month,
  for all departments and for one department (``--no-reports`` skips them).

Printed: each run's wall and CPU seconds, peak − idle MiB, and the export / floor ratio of
the medians by wall and by CPU (issue 13: within 1.2×, peak ≤ idle + 30 MiB).
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


def received_range(url: str, rows: int, cap: int = 200_000) -> tuple[str, str, int]:
    """Whole days (a first and a last received day) whose complaints number about ``rows``
    (within 2 %, else the nearest), never more than ``cap`` (the app's EXPORT_MAX_ROWS);
    the latest such days, so that the export holds the open complaints of the last days."""
    from datetime import date

    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        days = conn.execute(text("SELECT date(received_at) AS d, count(*) FROM complaint "
                                 "GROUP BY date(received_at) ORDER BY d")).all()
    engine.dispose()
    days = [(d if isinstance(d, date) else date.fromisoformat(str(d)), n) for d, n in days]
    best = None
    for last in range(len(days) - 1, -1, -1):
        count = 0
        for first in range(last, -1, -1):
            count += days[first][1]
            if count > cap:
                break
            if best is None or abs(count - rows) < abs(best[2] - rows):
                best = (days[first][0].isoformat(), days[last][0].isoformat(), count)
            if count >= rows:
                break
        if best is not None and abs(best[2] - rows) <= rows * 0.02:
            break
    return best


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


def rss_mib() -> float:
    """Resident memory of this process now, in MiB (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _app(url: str, out_dir: str = tempfile.gettempdir(), **config):
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                       "SERVER_NAME": "localhost", "JOBS_EXECUTOR": "eager",
                       "STORAGE_LOCAL_DIR": os.path.join(out_dir, "storage"), **config})


def _complaint_view(app):
    for admin in app.extensions.get("admin", ()):
        for view in admin._views:  # noqa: SLF001
            if view.endpoint == "complaint":
                return view
    raise SystemExit("no complaint view")


def _measured(run, profile_to: str | None):
    """Run ``run()`` timed (wall, CPU) and, if asked, under cProfile (stats to a file)."""
    if not profile_to:
        watch = Stopwatch()
        result = run()
        return result, watch.wall(), watch.cpu()
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    watch = Stopwatch()
    result = profiler.runcall(run)
    wall, cpu = watch.wall(), watch.cpu()
    with open(profile_to, "w") as out:
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(45)
        stats.sort_stats("cumulative").print_stats(45)
    return result, wall, cpu


def _pin_clock(when: str) -> None:
    """``data``: the export's "now" is the data's (bench/fill.py's NOW, as the workbooks
    get), so that about as many rows are overdue as on a desk that runs its sweep; ``real``:
    the machine's clock (once the data has aged, nearly every open row is overdue)."""
    if when == "data":
        from services import clock

        clock.now = lambda: NOW


def child_export(url: str, query: str, out_dir: str, when: str = "data",
                 profile: str = "") -> dict:
    """The export as a worker makes it (the list_export job), else through the view."""
    _pin_clock(when)
    try:
        import services.job_kinds  # noqa: F401 - the job kind exists (issue 13)
    except ImportError:
        return _export_by_request(url, query, out_dir, profile)
    from urllib.parse import parse_qsl

    from sqlalchemy import select

    from models import Job, Staff, db
    from services import clock, jobs
    from services.storage import storage

    app = _app(url, out_dir)
    with app.app_context():
        manager_id = db.session.scalar(select(Staff.id).filter_by(username="manager"))
    idle, baseline = rss_mib(), peak_mib()
    params = {"endpoint": "complaint", "args": parse_qsl(query.lstrip("?")), "session": {}}

    def run():
        with app.app_context():
            owner = db.session.get(Staff, manager_id)
            job = jobs.submit("list_export", owner=owner, params=params, title="bench")
            return job.id

    job_id, wall, cpu = _measured(run, profile)
    with app.app_context():
        job = db.session.get(Job, job_id)
        if job.status != "done":
            raise SystemExit(f"export job {job.status}: {job.error}")
        rows, size = job.rows_done, job.result_size
        with open(os.path.join(out_dir, "export.xlsx"), "wb") as copy:
            for chunk in storage().open(job.result_key).chunks:
                copy.write(chunk)
        storage().delete(job.result_key)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "how": "job",
            "now": clock.now().isoformat(" ", "minutes"),
            "peak_mib": round(peak_mib(), 1), "idle_mib": round(idle, 1),
            "growth_mib": round(peak_mib() - idle, 1),
            "idle_peak_mib": round(baseline, 1), "rows": rows,
            "file_mib": round(size / 2**20, 1)}


def _export_by_request(url: str, query: str, out_dir: str, profile: str) -> dict:
    """Before the export jobs: GET the export through the Flask test client."""
    app = _app(url, out_dir)
    from sqlalchemy import select

    from models import ExportLog, db

    client = app.test_client()
    login_by_session(app, client, "manager")
    idle, baseline = rss_mib(), peak_mib()

    def run():
        size = 0
        with open(os.path.join(out_dir, "export.xlsx"), "wb") as sink, \
                client.get("/admin/complaint/export/xlsx/" + query, buffered=False) as response:
            if response.status_code != 200:
                raise SystemExit(f"export answered {response.status_code}")
            for chunk in response.response:
                sink.write(chunk)
                size += len(chunk)
        return size

    size, wall, cpu = _measured(run, profile)
    with app.app_context():
        rows = db.session.scalar(select(ExportLog.row_count).order_by(ExportLog.id.desc()))
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "how": "request",
            "peak_mib": round(peak_mib(), 1), "idle_mib": round(idle, 1),
            "growth_mib": round(peak_mib() - idle, 1),
            "idle_peak_mib": round(baseline, 1), "rows": rows,
            "file_mib": round(size / 2**20, 1)}


# Related columns of the complaint export: the text the export shows for them.
FLOOR_RELATED = {"category": ("Category", "name"), "department": ("Department", "name"),
                 "assignee": ("Staff", "full_name")}


def child_floor(url: str, start: str, end: str, out_dir: str) -> dict:
    """Plain SQL + xlsxwriter constant_memory: the same rows and the same columns as the
    complaint export (labels precomputed in SQL), each value with the export's cell type
    and format."""
    from datetime import timedelta
    from decimal import Decimal

    import xlsxwriter
    from flask_login import login_user
    from sqlalchemy import String, case, cast, create_engine, select, type_coerce
    from sqlalchemy.orm import aliased

    import models
    from models import Complaint, Staff, db
    from services import xlsx_formats as xf

    app = _app(url, out_dir)
    view = _complaint_view(app)
    with app.test_request_context("/admin/complaint/"):
        login_user(db.session.scalar(select(Staff).filter_by(username="manager")))
        names = [name for name, _label in view._export_columns]
        headers = [str(label) for _name, label in view._export_columns]
        value_labels = view._value_labels()  # {column: {stored value: shown text}}
        wrap = view._wrap_columns()
    c = Complaint
    columns, joins = [], []
    for name in names:
        if name in FLOOR_RELATED:
            model, attr = FLOOR_RELATED[name]
            target = aliased(getattr(models, model))
            fk = getattr(c, f"{name}_id")
            joins.append((target, target.id == fk))
            columns.append(getattr(target, attr))
        elif name in value_labels:
            column = getattr(c, name)
            columns.append(type_coerce(case(value_labels[name], value=column,
                                            else_=cast(column, String)), String))
        else:
            columns.append(getattr(c, name))
    stmt = select(*columns).select_from(c)
    for target, on in joins:
        stmt = stmt.outerjoin(target, on)
    first = datetime.fromisoformat(start)
    after = datetime.fromisoformat(end) + timedelta(days=1)
    stmt = (stmt.where(c.received_at >= first, c.received_at < after)
            .order_by(c.received_at.desc(), c.id.desc()))  # as the list: ties by id
    engine = create_engine(url)
    idle, baseline = rss_mib(), peak_mib()
    watch = Stopwatch()
    rows = 0
    with engine.connect() as conn:
        wb = xlsxwriter.Workbook(os.path.join(out_dir, "floor.xlsx"), xf.WORKBOOK_OPTIONS)
        ws = wb.add_worksheet()
        f_text, f_wrap, f_datetime, f_money, f_integer = (
            wb.add_format(dict(spec)) for spec in (xf.TEXT, xf.WRAP, xf.DATETIME, xf.MONEY,
                                                   xf.INTEGER))
        for col, header in enumerate(headers):
            ws.write_string(0, col, header)
        text_formats = [f_wrap if col in wrap else f_text for col in range(len(names))]
        for row in conn.execution_options(yield_per=1000).execute(stmt):
            rows += 1
            for col, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, str):
                    ws.write_string(rows, col, value, text_formats[col])
                elif isinstance(value, datetime):
                    ws.write_datetime(rows, col, value, f_datetime)
                elif isinstance(value, Decimal):
                    ws.write_number(rows, col, float(value), f_money)
                elif isinstance(value, int):
                    ws.write_number(rows, col, value, f_integer)
                else:
                    ws.write_string(rows, col, str(value), text_formats[col])
        wb.close()
    wall = watch.wall()
    return {"wall_s": round(wall, 2), "cpu_s": round(watch.cpu(), 2),
            "peak_mib": round(peak_mib(), 1), "idle_mib": round(idle, 1),
            "growth_mib": round(peak_mib() - idle, 1), "idle_peak_mib": round(baseline, 1),
            "rows": rows}


def child_check(out_dir: str, limit: str) -> dict:
    """Compare the first ``limit`` data rows of export.xlsx and floor.xlsx: values and types
    (the export's data start on row 4, the floor's on row 2)."""
    import openpyxl

    def data(name, first):
        book = openpyxl.load_workbook(os.path.join(out_dir, name), read_only=True)
        sheet = book.worksheets[0]
        return sheet.iter_rows(min_row=first, max_row=first + int(limit) - 1,
                               values_only=True), book

    (exported, book1), (floor, book2) = data("export.xlsx", 4), data("floor.xlsx", 2)
    compared, differences = 0, []
    for n, (a, b) in enumerate(zip(exported, floor, strict=False), start=1):
        a, b = list(a), list(b)
        width = max(len(a), len(b))
        a += [None] * (width - len(a))
        b += [None] * (width - len(b))
        for col, (x, y) in enumerate(zip(a, b, strict=True)):
            if x != y or type(x) is not type(y):
                differences.append(f"row {n} col {col + 1}: export {x!r} floor {y!r}")
        compared += 1
    book1.close()
    book2.close()
    return {"compared": compared, "differences": len(differences),
            "first": differences[:5]}


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


def _runs(label: str, runs: list[dict]) -> str:
    return (f"{label:30s} wall {', '.join(str(r['wall_s']) for r in runs)} s "
            f"(CPU {', '.join(str(r['cpu_s']) for r in runs)} s); peak − idle "
            f"{', '.join(str(r['growth_mib']) for r in runs)} MiB (idle "
            f"{runs[0]['idle_mib']} MiB); rows {runs[0]['rows']:,}"
            + (f"; file {runs[0]['file_mib']} MiB" if "file_mib" in runs[0] else ""))


def measure_export(url: str, rows: int, args) -> None:
    start, end, count = run_child("--child", "range", url, str(rows))["range"]
    query = f"?queue=all&flt0_received_between={start}+to+{end}&sort=9&desc=1"
    print(f"-- export filter: received {start} .. {end} ({count:,} complaints)")
    # Export and floor runs alternate, so that both see the same load on the host.
    kinds = (("export", ("export", url, query, args.dir, args.now)),
             ("floor (SQL + xlsxwriter)", ("floor", url, start, end, args.dir)))
    results = {label: [] for label, _child in kinds}
    for _ in range(args.repeat):
        for label, child in kinds:
            results[label].append(run_child("--child", *child))
    export, floor = (results[label] for label, _child in kinds)
    how = export[0]["how"]
    print(_runs(f"export ({'job kind, worker' if how == 'job' else 'view, request'})",
                export) + (f"; now {export[0]['now']}" if "now" in export[0] else ""))
    print(_runs(kinds[1][0], floor))
    if {r["rows"] for r in export} != {count} or {r["rows"] for r in floor} != {count}:
        print("!! the export and the floor did not write the same number of rows")

    def median(runs, key):
        return statistics.median(r[key] for r in runs)

    wall = median(export, "wall_s") / median(floor, "wall_s")
    cpu = median(export, "cpu_s") / median(floor, "cpu_s")
    print(f"export / floor (medians): wall {wall:.2f}×, CPU {cpu:.2f}×; export peak − idle "
          f"{max(r['growth_mib'] for r in export)} MiB (max of {len(export)})")
    if args.check:
        check = run_child("--child", "check", args.dir, str(args.check))
        print(f"check: {check['compared']:,} rows compared, {check['differences']} cells "
              f"differ" + (f" (first: {'; '.join(check['first'])})" if check["first"] else ""))
    if args.profile:
        path = os.path.join(args.dir, f"profile-{rows}.txt")
        profiled = run_child("--child", "export", url, query, args.dir, args.now, path)
        print(f"profiled export: wall {profiled['wall_s']} s, CPU {profiled['cpu_s']} s "
              f"(under cProfile) → {path}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000],
                        help="export sizes (complaints), e.g. 100000 200000")
    parser.add_argument("--dir", default=tempfile.gettempdir(),
                        help="folder of the SQLite file, the files written and the storage")
    parser.add_argument("--url", default=None,
                        help="default: sqlite:///<dir>/bench_export_<n>.sqlite")
    parser.add_argument("--pg", default=None, help="also run on this PostgreSQL database URL")
    parser.add_argument("--refill", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per measurement")
    parser.add_argument("--check", type=int, default=0,
                        help="compare the first N data rows of the export and the floor")
    parser.add_argument("--profile", action="store_true",
                        help="one more export under cProfile, stats into --dir")
    parser.add_argument("--now", choices=("data", "real"), default="data",
                        help="the export's clock: the data's NOW (default) or the machine's")
    parser.add_argument("--no-reports", action="store_true", help="skip the monthly workbooks")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        kind, *rest = args.child
        result = {"export": child_export, "floor": child_floor, "report": child_report,
                  "prepare": child_prepare, "range": child_range,
                  "check": child_check}[kind](*rest)
        print(json.dumps(result))
        return

    os.makedirs(args.dir, exist_ok=True)
    urls = [args.url or f"sqlite:///{os.path.abspath(args.dir)}/bench_export_{args.n}.sqlite"]
    if args.pg:
        urls.append(args.pg)
    for url in urls:
        print(f"== {url.split('@')[-1]}")
        # Even the filling runs in a child: a child inherits its parent's peak RSS at fork,
        # so this process must stay small for the children's figures to be their own.
        print(run_child("--child", "prepare", url, str(args.n), str(int(args.refill)))["log"])
        for rows in args.rows:
            measure_export(url, rows, args)
        if args.no_reports:
            continue
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
