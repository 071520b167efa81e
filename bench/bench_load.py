"""Load run: gunicorn with N workers on loopback, driven by 8 and 32 clients at once.

    python bench/bench_load.py                      # SQLite, 1M complaints, 4 workers
    python bench/bench_load.py --n 100000 --seconds 20 --clients 8 32 --workers 4
    python bench/bench_load.py --pg postgresql+psycopg://postgres@127.0.0.1   # PostgreSQL too
    python bench/bench_load.py --no-sqlite --pg postgresql+psycopg://postgres@127.0.0.1

The database is filled once by bench/fill.py (with the two audit events per complaint) and
kept between runs (``--dir`` for the SQLite file, a database ``<--name>_<n>`` on the
PostgreSQL server; ``--refill`` starts over). Then ``gunicorn -w <workers> --timeout 60
'app:create_app()'`` is started on 127.0.0.1 (a free port, DATABASE_URL and a random
SECRET_KEY in its environment) and, per phase, ``--clients`` threads of this process each
log in through the login form as a demo user (its own session cookie and CSRF tokens) and,
for ``--seconds``, send one request after the other (no think time) in a fixed mix:

- list pages: page 1 of the user's list, a department head's queue (in progress, by due
  time), a deep page (offset 250,000 or the middle of the table) and a search by phone;
- detail pages of random complaints in the user's scope;
- actions that write, through the real forms: the action page (GET: CSRF token and the
  complaint's version), then its POST (302 on success), then the detail page the browser
  is sent back to. Managers, the supervisor and senior management urge open complaints;
  department heads add a progress note to complaints in their department. The writes go
  to a small "hot" set of complaints (``--hot`` per group) so that two clients do sometimes
  act on the same complaint at once: the second one must get the "changed by someone
  else" answer of the optimistic lock (counted as a conflict, not as an error).

The server is the one-machine shape (no REDIS_URL): the notification delivery passes that
the writes ask for run as jobs in the web processes' own job thread, inside the figures.

Every note carries a tag unique to the run and the request. After each phase the script
reads the audit events back from the database: an action that got its success answer and
has no event is a **lost write** (expected 0); an event whose request got no success
answer (a conflict, an error) is counted as "unconfirmed" (expected 0 too).

Printed per phase: requests/s, p50/p95/p99 latency per kind of request and overall,
errors (5xx, connection errors and time-outs, unexpected 4xx or redirects), conflicts,
lost writes, and the CPU seconds used by the server (gunicorn's processes) and by the
clients. **Clients and server share the machine**: the clients are threads of one
process using ``http.client`` (a few % of a core; printed), so the figures are the
server's throughput on the cores that remain, not on a machine of its own.
"""

from __future__ import annotations

import argparse
import html
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from http.client import HTTPConnection
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import PASSWORD, needs_fill, pg_database  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

# The answer of the optimistic lock (rules.errors.StaleVersion), in English and Chinese.
STALE = ("changed by someone else", "已有其他人修改了它")
# How a client's time is spent: kind of request -> weight (an "action" is three requests).
MIX = {"list": 18, "queue": 12, "deep": 6, "search": 8, "detail": 40, "action": 16}
# Who the clients are, in this order (client i logs in as ROLES[i % len(ROLES)]):
# (user, what they write: "urge" on any open complaint / "note" in their department / None).
ROLES = [("manager", "urge"), ("head_qa", "note"), ("supervisor", "urge"),
         ("head_log", "note"), ("intake", None), ("head_sales", "note"),
         ("executive", "urge"), ("head_fin", "note")]
TIMEOUT = 120  # seconds a client waits for one answer before it counts a connection error


# --- the database -------------------------------------------------------------------------


def prepare(url: str, n: int, refill: bool) -> None:
    """Migrate and fill the database unless it already holds n complaints."""
    from fill import fill

    if not needs_fill(url, n, refill):
        return
    engine = create_engine(url)
    started = time.perf_counter()
    summary = fill(engine, n, seed=1, events=True)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    print(f"  filled {n:,} in {time.perf_counter() - started:.0f} s: {summary['by_status']}",
          flush=True)
    engine.dispose()


class Plan:
    """What the clients pick from, read from the database before the run."""

    def __init__(self, url: str, n: int, hot: int, seed: int):
        rnd = random.Random(seed)
        engine = create_engine(url)
        with engine.connect() as conn:
            self.max_id = conn.scalar(text("SELECT max(id) FROM complaint"))
            self.phones = [p for (p,) in conn.execute(text(
                "SELECT customer_phone_norm FROM complaint WHERE id IN (42, 4242, 42424, "
                ":a, :b)"), {"a": self.max_id // 3, "b": self.max_id // 2}) if p]
            users = dict(conn.execute(text(
                "SELECT username, department_id FROM staff")).all())
            open_ids = [i for (i,) in conn.execute(text(
                "SELECT id FROM complaint WHERE status IN ('registered', 'accepted', "
                "'forwarded', 'in_progress', 'resolved', 'callback') "
                "ORDER BY id DESC LIMIT 20000"))]
            self.urge_hot = rnd.sample(open_ids, min(hot, len(open_ids)))
            self.dept_ids, self.note_hot = {}, {}
            for user, writes in ROLES:
                if writes != "note":
                    continue
                dept = users[user]
                ids = [i for (i,) in conn.execute(text(
                    "SELECT id FROM complaint WHERE department_id = :d AND id % 13 = 3 "
                    "ORDER BY id LIMIT 5000"), {"d": dept})]
                self.dept_ids[user] = ids
                work = [i for (i,) in conn.execute(text(
                    "SELECT id FROM complaint WHERE department_id = :d "
                    "AND status IN ('forwarded', 'in_progress') "
                    "ORDER BY id DESC LIMIT 5000"), {"d": dept})]
                self.note_hot[user] = rnd.sample(work, min(hot, len(work)))
        engine.dispose()
        self.deep_page = max(2, min(5_000, n // 50 // 2))


def written_notes(url: str, prefix: str) -> Counter:
    """The notes of the events this run wrote (tag -> how many events carry it)."""
    engine = create_engine(url)
    with engine.connect() as conn:
        notes = Counter(note for (note,) in conn.execute(
            text("SELECT note FROM complaint_event WHERE note LIKE :p"), {"p": prefix + "%"}))
    engine.dispose()
    return notes


# --- the server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn on loopback, stopped (with its workers) when the run ends."""

    def __init__(self, url: str, workers: int, log_path: Path):
        self.port = free_port()
        env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=secrets.token_hex(32),
                   FLASK_APP="app:create_app")
        env.pop("REDIS_URL", None)  # the load run needs no job executor of its own
        self.log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-w", str(workers), "--timeout",
             "60", "--bind", f"127.0.0.1:{self.port}", "--backlog", "256", "app:create_app()"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.proc.returncode}): see {log_path}")
            try:
                conn = HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/login")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
            except OSError:
                time.sleep(0.3)
        else:
            self.stop()
            raise SystemExit(f"gunicorn did not answer within 120 s: see {log_path}")

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its workers (Linux /proc)."""
        total = 0.0
        tick = os.sysconf("SC_CLK_TCK")
        pids = [self.proc.pid]
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
            pids += [int(p) for p in children.split()]
        except OSError:
            pass
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the master stops its workers
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


# --- one client ---------------------------------------------------------------------------


_HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*>')
_ATTR = re.compile(r'(name|value)="([^"]*)"')


def hidden_fields(page: str, marker: str) -> dict | None:
    """The hidden inputs (CSRF token, version) of the first form that contains marker (in
    its action or its fields)."""
    for match in re.finditer(r"<form\b([^>]*)>(.*?)</form>", page, re.S):
        if marker not in html.unescape(match.group(0)):
            continue
        fields = {}
        for tag in _HIDDEN.findall(match.group(2)):
            attrs = dict(_ATTR.findall(tag))
            if "name" in attrs:
                fields[attrs["name"]] = html.unescape(attrs.get("value", ""))
        return fields
    return None


class Answer:
    def __init__(self, status: int, body: str, location: str | None):
        self.status, self.body, self.location = status, body, location


class Client:
    """One browser: its own cookies, one request at a time, every answer timed."""

    def __init__(self, port: int, record):
        self.port, self.record, self.cookies = port, record, {}

    def request(self, kind: str, method: str, path: str, form: dict | None = None,
                expect=(200,)) -> Answer | None:
        headers = {"Accept-Language": "en", "Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            conn = HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            conn.close()
        except OSError as err:
            self.record(kind, time.perf_counter() - started, "connection", f"{type(err).__name__}")
            return None
        elapsed = time.perf_counter() - started
        for header in response.msg.get_all("Set-Cookie") or ():
            for name, morsel in SimpleCookie(header).items():
                expired = morsel["max-age"] == "0" or "1970" in morsel["expires"]
                if expired or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        answer = Answer(response.status, data.decode("utf-8", "replace"),
                        response.getheader("Location"))
        if answer.status >= 500:
            outcome = "5xx"
        elif answer.status in expect:
            outcome = "ok"
        else:
            outcome = f"unexpected {answer.status}"
        self.record(kind, elapsed, outcome, f"{method} {path.split('?')[0]} -> {answer.status}")
        return answer if outcome == "ok" else None

    def login(self, username: str) -> None:
        page = self.request("login", "GET", "/login")
        if page is None:
            raise SystemExit("the login page did not answer")
        fields = hidden_fields(page.body, 'name="password"') or {}
        fields.update(username=username, password=PASSWORD)
        if self.request("login", "POST", "/login", fields, expect=(302,)) is None:
            raise SystemExit(f"login of {username} failed")


class Driver(threading.Thread):
    """A client thread: logs in, then sends the mix until the phase's end."""

    def __init__(self, number, port, plan, stop_at, tag, stats, start_gate, go):
        super().__init__(daemon=True)
        self.user, self.writes = ROLES[number % len(ROLES)]
        self.rnd = random.Random(number)
        self.plan, self.stop_at, self.tag, self.stats = plan, stop_at, tag, stats
        self.number, self.start_gate, self.go = number, start_gate, go
        self.client = Client(port, self.record)
        self.seq = 0
        self.measuring = False

    def record(self, kind, seconds, outcome, detail):
        if self.measuring:
            self.stats.add(kind, seconds, outcome, detail)

    def run(self):
        try:
            self.client.login(self.user)
        except SystemExit as err:
            self.stats.fatal(str(err))
            self.start_gate.wait()
            return
        self.start_gate.wait()
        self.go.wait()
        self.measuring = True
        kinds, weights = zip(*MIX.items(), strict=True)
        while time.monotonic() < self.stop_at:
            kind = self.rnd.choices(kinds, weights)[0]
            getattr(self, f"do_{kind}")()

    # The requests of the mix.

    def do_list(self):
        self.client.request("list page 1", "GET", "/admin/complaint/")

    def do_queue(self):
        self.client.request("dept queue", "GET",
                            "/admin/complaint/?flt0_status_equals=in_progress&sort=10")

    def do_deep(self):
        if self.writes == "note":  # a head's own list has no deep page: their page 1
            return self.do_list()
        self.client.request("deep page", "GET",
                            f"/admin/complaint/?queue=all&page={self.plan.deep_page}")

    def do_search(self):
        phone = self.rnd.choice(self.plan.phones)
        self.client.request("search", "GET", f"/admin/complaint/?search={phone}")

    def do_detail(self):
        ids = self.plan.dept_ids.get(self.user)
        pk = self.rnd.choice(ids) if ids else self.rnd.randint(1, self.plan.max_id)
        self.client.request("detail", "GET", f"/admin/complaint/details/?id={pk}")

    def do_action(self):
        if self.writes is None:
            return self.do_detail()
        action = self.writes
        pool = self.plan.urge_hot if action == "urge" else self.plan.note_hot[self.user]
        pk = self.rnd.choice(pool)
        path = f"/admin/complaint/act/{action}/?id={pk}"
        page = self.client.request("action form", "GET", path)
        if page is None:
            return
        fields = hidden_fields(page.body, 'name="version"')
        if not fields or "csrf_token" not in fields:
            self.stats.count("action page without its form", path)
            return
        self.seq += 1
        note = f"{self.tag}{self.number}-{self.seq}"
        fields["note"] = note
        self.stats.attempt(note)
        answer = self.client.request("action post", "POST", path, fields, expect=(302, 200))
        if answer is None:
            return
        if answer.status == 302:
            self.stats.succeeded(note)
            target = urlsplit(answer.location)
            self.client.request("detail", "GET", target.path + "?" + target.query)
        elif any(s in answer.body for s in STALE):
            self.stats.conflict(note)
        else:
            self.stats.refused(note, path)


class Stats:
    """What the clients saw, shared by the threads (appends under a lock)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.times = defaultdict(list)
        self.outcomes = Counter()
        self.samples = {}
        self.attempted, self.ok, self.conflicts, self.refusals = [], [], [], []
        self.fatals = []

    def add(self, kind, seconds, outcome, detail):
        with self.lock:
            self.times[kind].append(seconds)
            self.outcomes[outcome] += 1
            if outcome != "ok":
                self.samples.setdefault(outcome, detail)

    def count(self, outcome, detail):
        with self.lock:
            self.outcomes[outcome] += 1
            self.samples.setdefault(outcome, detail)

    def attempt(self, note):
        with self.lock:
            self.attempted.append(note)

    def succeeded(self, note):
        with self.lock:
            self.ok.append(note)

    def conflict(self, note):
        with self.lock:
            self.conflicts.append(note)

    def refused(self, note, path):
        with self.lock:
            self.refusals.append(note)
            self.outcomes["refused (200, not a conflict)"] += 1
            self.samples.setdefault("refused (200, not a conflict)", path)

    def fatal(self, message):
        with self.lock:
            self.fatals.append(message)


def pct(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] * 1000


def phase(server, plan, url, clients, seconds, run_tag):
    stats = Stats()
    tag = f"{run_tag}c{clients}-"
    gate, go = threading.Barrier(clients + 1), threading.Event()
    drivers = [Driver(i, server.port, plan, 0.0, tag, stats, gate, go) for i in range(clients)]
    for d in drivers:
        d.start()
    gate.wait()  # every client logged in
    if stats.fatals:
        go.set()
        raise SystemExit(stats.fatals[0])
    stop_at = time.monotonic() + seconds
    for d in drivers:
        d.stop_at = stop_at
    wall, cpu, server_cpu = time.perf_counter(), time.process_time(), server.cpu_seconds()
    go.set()
    for d in drivers:
        d.join(timeout=seconds + TIMEOUT + 30)
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    server_cpu = server.cpu_seconds() - server_cpu
    found = written_notes(url, tag)
    report(stats, clients, wall, cpu, server_cpu, found)
    return stats


def report(stats, clients, wall, cpu, server_cpu, found):
    everything = [t for times in stats.times.values() for t in times]
    total = len(everything)
    per_request = server_cpu / total * 1000 if total else float("nan")
    print(f"  {clients} clients, {wall:.1f} s: {total:,} requests, {total / wall:.1f} req/s; "
          f"server CPU {server_cpu:.1f} s ({per_request:.0f} ms a request), clients' CPU "
          f"{cpu:.1f} s; one machine, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"    {'request':<14} {'count':>7} {'p50':>8} {'p95':>8} {'p99':>8}")
    order = ["list page 1", "dept queue", "deep page", "search", "detail", "action form",
             "action post"]
    for kind in order + sorted(set(stats.times) - set(order) - {"login"}):
        times = stats.times.get(kind)
        if not times:
            continue
        print(f"    {kind:<14} {len(times):>7,} {pct(times, .5):6.0f}ms {pct(times, .95):6.0f}ms "
              f"{pct(times, .99):6.0f}ms")
    if everything:
        print(f"    {'all':<14} {total:>7,} {pct(everything, .5):6.0f}ms "
              f"{pct(everything, .95):6.0f}ms {pct(everything, .99):6.0f}ms")
    bad = {k: v for k, v in stats.outcomes.items() if k != "ok"}
    errors = sum(v for k, v in bad.items())
    print(f"    errors: {errors}" + "".join(
        f"; {k}: {v} (e.g. {stats.samples.get(k)})" for k, v in sorted(bad.items())))
    ok = Counter(stats.ok)
    lost = sum((ok - found).values())
    unconfirmed = sum((found - ok).values())
    print(f"    writes: {len(stats.attempted)} posted, {len(stats.ok)} succeeded, "
          f"{len(stats.conflicts)} conflicts (stale version, nothing saved), "
          f"{len(stats.refusals)} refused; events found {sum(found.values())}: "
          f"LOST WRITES {lost}, unconfirmed events {unconfirmed}", flush=True)


def run_target(label, url, args):
    print(f"{label} · {args.n:,} complaints · gunicorn -w {args.workers} · "
          f"{args.seconds:g} s per phase", flush=True)
    prepare(url, args.n, args.refill)
    plan = Plan(url, args.n, args.hot, seed=1)
    log_dir = Path(args.dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    server = Server(url, args.workers, log_dir / f"{args.name}_gunicorn.log")
    run_tag = f"load {secrets.token_hex(4)} "
    try:
        for clients in args.clients:
            phase(server, plan, url, clients, args.seconds, run_tag)
    finally:
        server.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="complaints in the database")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--clients", type=int, nargs="+", default=[8, 32],
                        help="one phase per number of clients")
    parser.add_argument("--seconds", type=float, default=20, help="length of each phase")
    parser.add_argument("--hot", type=int, default=100,
                        help="complaints per group the writes go to")
    parser.add_argument("--dir", default="/tmp", help="SQLite file and gunicorn log")
    parser.add_argument("--name", default="bench_load",
                        help="file / PostgreSQL database name prefix (<name>_<n>)")
    parser.add_argument("--pg", default="", help="PostgreSQL server URL (also run there)")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument("--refill", action="store_true")
    args = parser.parse_args(argv)
    targets = []
    if not args.no_sqlite:
        targets.append(("SQLite", f"sqlite:///{Path(args.dir) / f'{args.name}_{args.n}.sqlite'}"))
    if args.pg:
        targets.append(("PostgreSQL", pg_database(args.pg, f"{args.name}_{args.n}")))
    for label, url in targets:
        run_target(label, url, args)


if __name__ == "__main__":
    main()
