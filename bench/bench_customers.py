"""Customer file timings: building customers from existing complaints, the lookup, the page.

    python bench/bench_customers.py                      # SQLite in /tmp, 100k complaints
    python bench/bench_customers.py --sizes 1000000
    python bench/bench_customers.py --pg postgresql+psycopg://postgres@127.0.0.1

Each database is filled with bench/fill.py (its own file / schema, ``--refill`` starts
over). fill.py writes complaints without customers, exactly the state the migration
3d4e5f607182 finds: its ``build_customers`` (INSERT … SELECT with a window function, then
UPDATE … FROM) is timed beside a floor measured in the same run — one full-table UPDATE
of ``complaint.customer_id`` (no set-based link can write less). Then, logged in as the
demo clerk, the registration lookup (``lookup.json``) and a customer page are timed beside
the complaint list's page 1 (the floor of a page).
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import Stopwatch, login_by_session, needs_fill  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

MIGRATION = ROOT / "migrations" / "versions" / "3d4e5f607182_customers.py"


def _migration():
    spec = importlib.util.spec_from_file_location("customers_migration", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:  # from scratch: no customer, no link
        conn.execute(text("UPDATE complaint SET customer_id = NULL"))
        conn.execute(text("DELETE FROM customer"))
    with engine.begin() as conn:
        watch = Stopwatch()
        conn.execute(text("UPDATE complaint SET customer_id = NULL"))
        floor = watch.wall()
    with engine.begin() as conn:
        watch = Stopwatch()
        _migration().build_customers(conn)
        took = watch.wall()
        customers = conn.scalar(text("SELECT count(*) FROM customer"))
        linked = conn.scalar(text("SELECT count(*) FROM complaint WHERE customer_id IS NOT NULL"))
    engine.dispose()
    print(f"  build customers: {took:8.2f} s  (floor: one full-table UPDATE {floor:.2f} s)  "
          f"{customers} customers, {linked} complaints linked")


def _median_ms(client, url: str, repeat: int, data: dict | None = None) -> float:
    """Median time of a GET of ``url`` (or a POST of ``data`` to it)."""
    def ask():
        return client.post(url, data=data) if data is not None else client.get(url)

    for _ in range(2):
        ask()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = ask()
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code in (200, 429), (url, response.status_code)
    return statistics.median(times)


def pages(url: str, repeat: int) -> None:
    from app import create_app
    from models import Customer, db
    from rules import customers as rule

    rule.LOOKUP_LIMIT = 10**9  # the bench measures the lookup, not its rate limit
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        busiest = db.session.execute(text(
            "SELECT customer_id, count(*) AS n FROM complaint WHERE customer_id IS NOT NULL "
            "GROUP BY customer_id ORDER BY n DESC LIMIT 1")).first()
        customer = db.session.get(Customer, busiest.customer_id)
        phone = customer.key
        db.session.remove()
    client = app.test_client()
    login_by_session(app, client, "intake")
    floor = _median_ms(client, "/admin/complaint/", repeat)
    # the registration form's lookup: a POST with the form's CSRF token (no phone in a URL)
    form = client.get("/admin/complaint/new/").get_data(as_text=True)
    token = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    lookup = _median_ms(client, "/admin/customer/lookup.json", repeat,
                        data={"csrf_token": token, "phone": phone})
    page = _median_ms(client, f"/admin/customer/{busiest.customer_id}/", repeat)
    print(f"  list page 1 (floor) {floor:7.1f} ms | lookup.json {lookup:7.1f} ms | "
          f"customer page ({busiest.n} complaints) {page:7.1f} ms")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--pg", help="PostgreSQL server URL (a database per size is made)")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--refill", action="store_true")
    parser.add_argument("--skip-build", action="store_true", help="time the pages only")
    args = parser.parse_args(argv)
    from fill import fill

    for n in args.sizes:
        urls = [f"sqlite:////tmp/bench_customers_{n}.sqlite"]
        if args.pg:
            urls.append(_pg_database(args.pg, f"bench_customers_{n}"))
        for url in urls:
            print(f"{url.split('://')[0]} {n:,} complaints")
            if needs_fill(url, n, args.refill):
                engine = create_engine(url)
                watch = Stopwatch()
                fill(engine, n)
                engine.dispose()
                print(f"  filled in {watch.wall():.1f} s")
            if not args.skip_build:
                build(url)
            pages(url, args.repeat)


def _pg_database(server: str, name: str) -> str:
    engine = create_engine(f"{server.rstrip('/')}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"{server.rstrip('/')}/{name}"


if __name__ == "__main__":
    main()
