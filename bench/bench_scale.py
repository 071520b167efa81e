"""The issue-13 measurements in one command: pages, sweep, export and a load run, at scale.

    python bench/bench_scale.py                       # SQLite, 1M complaints (hours)
    python bench/bench_scale.py --pg postgresql+psycopg://postgres@127.0.0.1   # and PostgreSQL
    python bench/bench_scale.py --n 100000 --quick    # a smaller, shorter run
    python bench/bench_scale.py --only pages load     # some of the parts

Runs the other bench scripts one after the other, each as a subprocess with its own
documented flags, and prints their output under one heading per part (alembic's
migration log left out), then a summary of the commands, their exit codes and durations:

1. pages — ``bench/bench_list.py --stock --sizes 10000 100000 <n>``: time and SQL
   statements per list page beside a stock Flask-Admin ModelView on the same tables;
2. sweep — ``bench/bench_core.py sweep --n <n>``: the deadline sweep at 10 % and 100 %
   of the deadlines passed;
3. export — ``bench/bench_export.py --n <n> --rows 100000 200000``: the list's Excel
   export (made by its job) beside its floor (a plain SELECT + xlsxwriter loop writing the
   same cells), peak memory over idle, and the monthly workbooks;
4. load — ``bench/bench_load.py --n <n>``: gunicorn with ``--workers`` processes on
   loopback, 8 and 32 clients, requests/s, p50/p95/p99, errors and lost writes.

With ``--pg SERVER`` (no database name) every part also runs on PostgreSQL, in databases
named after ``--name`` (default ``bench``): ``bench_list_<size>`` and ``bench_load_<n>``
made by those scripts, ``bench_export_<n>`` made here; bench_core's sweep uses a temporary
database of its own. Databases and SQLite files
(in ``--dir``) are filled once and kept by each script, so a second run only measures.
The machine's other work changes the figures: run it on a quiet machine, and read the CPU
seconds the scripts print beside the wall times.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PARTS = ("pages", "sweep", "export", "load")
ALEMBIC = "INFO  [alembic"  # the migration log of a first fill (messages span lines)


def ensure_pg_database(server: str, name: str) -> str:
    sys.path.insert(0, str(BENCH))
    from common import pg_database

    return pg_database(server, name)


def commands(args) -> list[tuple[str, list[str]]]:
    """(part, argv) in the order they run."""
    py = sys.executable
    n = args.n
    sizes = sorted({s for s in (10_000, 100_000, n) if s <= n})
    out = []
    if "pages" in args.only:
        cmd = [py, str(BENCH / "bench_list.py"), "--stock", "--sizes", *map(str, sizes),
               "--sqlite-dir", args.dir]
        if args.pg:
            cmd += ["--pg", args.pg, "--pg-prefix", f"{args.name}_list"]
        if args.quick:
            cmd += ["--repeat", "10"]
        out.append(("pages", cmd))
    if "sweep" in args.only:
        cmd = [py, str(BENCH / "bench_core.py"), "sweep", "--n", str(n), "--dir", args.dir]
        if args.pg:
            cmd += ["--pg-server", args.pg]
        out.append(("sweep", cmd))
    if "export" in args.only:
        cmd = [py, str(BENCH / "bench_export.py"), "--n", str(n), "--dir", args.dir,
               "--rows", *([str(n // 2)] if n < 400_000 else ["100000", "200000"])]
        if args.pg:
            cmd += ["--pg", f"{args.pg}/{args.name}_export_{n}"]
        if args.quick:
            cmd += ["--repeat", "1"]
        out.append(("export", cmd))
    if "load" in args.only:
        cmd = [py, str(BENCH / "bench_load.py"), "--n", str(n), "--dir", args.dir,
               "--name", f"{args.name}_load",
               "--workers", str(args.workers), "--seconds",
               str(args.seconds if args.seconds else (10 if args.quick else 20))]
        if args.pg:
            cmd += ["--pg", args.pg]
        out.append(("load", cmd))
    return out


def run(part: str, argv: list[str]) -> tuple[int, float]:
    shown = " ".join(str(Path(a).relative_to(ROOT)) if a.startswith(f"{ROOT}/") else a
                     for a in argv[1:])
    print(f"\n=== {part}: python {shown}", flush=True)
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    try:
        in_migrations = False
        for line in proc.stdout:
            if line.startswith(ALEMBIC):
                in_migrations = True
                continue
            # A migration's message goes on, unindented, until the script's own output
            # (indented) or an error.
            if in_migrations and not line.startswith((" ", "Traceback")) and "Error" not in line:
                continue
            in_migrations = False
            print(f"  {line.rstrip()}", flush=True)
        code = proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait()
        raise
    return code, time.perf_counter() - started


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="complaints (largest size)")
    parser.add_argument("--pg", default="",
                        help="PostgreSQL server URL without database, e.g. "
                             "postgresql+psycopg://postgres@127.0.0.1: run there too")
    parser.add_argument("--dir", default="/tmp", help="where the SQLite files are kept")
    parser.add_argument("--name", default="bench",
                        help="PostgreSQL databases: <name>_list_<size>, <name>_export_<n>, "
                             "<name>_load_<n> (kept for the next run)")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--workers", type=int, default=4, help="load: gunicorn workers")
    parser.add_argument("--seconds", type=float, default=0,
                        help="load: seconds per phase (default 20, 10 with --quick)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer repetitions (pages 10, export 1, load 10 s per phase)")
    args = parser.parse_args(argv)
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    if args.pg and "export" in args.only:
        ensure_pg_database(args.pg, f"{args.name}_export_{args.n}")
    print(f"bench_scale: {args.n:,} complaints; SQLite in {args.dir}"
          + (f"; PostgreSQL at {args.pg.split('@')[-1]}" if args.pg else "")
          + f"; parts: {', '.join(args.only)}", flush=True)
    summary = []
    for part, cmd in commands(args):
        code, seconds = run(part, cmd)
        summary.append((part, code, seconds))
    print("\n=== summary")
    for part, code, seconds in summary:
        print(f"  {part:<7} {'ok' if code == 0 else f'FAILED (exit {code})':<16} "
              f"{seconds / 60:6.1f} min")
    if any(code for _part, code, _s in summary):
        sys.exit(1)


if __name__ == "__main__":
    main()
