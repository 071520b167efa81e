"""The production shape on loopback (issue 13): two web hosts, an RQ worker, Redis,
PostgreSQL and shared storage, driven end to end through an export.

Two gunicorn hosts (``-w 2 --timeout 60``, two ports, the same SECRET_KEY: a session made
on one is valid on the other, as behind a load balancer) and one ``flask worker`` run as
subprocesses over a fresh PostgreSQL database (created and dropped here, migrated with
``flask init-db``, 400 complaints and the demo's people), Redis database 9 (or ``TEST_REDIS_URL``'s)
and one storage: a local folder both hosts share (``STORAGE_LOCAL_DIR``), then an
S3-compatible server (moto, tests/servers.py). Everything is configured by environment
variables only, as in the README's "Production" section.

The manager signs in on host A and asks for the list's Excel export; the request answers
at once with the job's page; the job's status is polled on host B until done, and the file
downloaded from host B holds exactly the list's rows.

Runs in the PostgreSQL pass of scripts/test.sh (which starts Redis and PostgreSQL; either
missing there is a failure); the SQLite pass, running beside it, skips it with that reason.
Budget: 60 s per variant, every wait bounded by it; the processes are killed by the
fixtures' finalizers whatever happens.
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from http.client import HTTPConnection
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sqlalchemy import create_engine, text

from services.demo import DEMO_PASSWORD
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
BUDGET_SECONDS = 60
COMPLAINTS = 400
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
JOB_PAGE = re.compile(r"/admin/jobs/(\d+)/$")
LIST_TOTAL = re.compile(r'class="desk-list-total[^"]*">\s*([\d,]+) records?\s*<')


def _pg_server() -> str:
    """The PostgreSQL server the suite uses (its database name removed), or the local one."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if url:
        return url.rsplit("/", 1)[0]
    return os.environ.get("TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1")


def _redis_or_skip():
    """Redis, in the PostgreSQL pass of the suite (it needs PostgreSQL too, and runs once:
    the SQLite pass runs beside it on the same machine); missing Redis there is a failure."""
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("runs in the PostgreSQL pass of scripts/test.sh (TEST_DATABASE_URL)")
    import redis

    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        connection.ping()
    except redis.exceptions.ConnectionError:
        pytest.fail(f"Redis is not reachable at {REDIS_URL} (scripts/test.sh starts it)")
    return connection


class Budget:
    """The variant's time budget: every wait takes what is left of it."""

    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            pytest.fail(f"over the budget of {BUDGET_SECONDS} s")
        return left


def _flask(env: dict, *args: str, timeout: float) -> str:
    done = subprocess.run([str(BIN / "flask"), *args], cwd=ROOT, env=env, timeout=timeout,
                          capture_output=True, text=True)
    assert done.returncode == 0, f"flask {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


class Processes:
    """The subprocesses of a variant, each in its own process group, all killed at the end."""

    def __init__(self, logs: Path):
        self.logs, self.running = logs, []

    def start(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "wb")  # noqa: SIM115 (closed in stop_all)
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.running.append((name, proc, log))
        return proc

    def log_of(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def stop_all(self):
        for _name, proc, _log in self.running:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _name, proc, log in self.running:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            log.close()


class Browser:
    """One browser's cookies, sent to whichever host it talks to (127.0.0.1, any port:
    what a load balancer in front of the hosts does)."""

    def __init__(self):
        self.cookies = {}

    def request(self, port: int, method: str, path: str, form: dict | None = None,
                timeout: float = 30):
        headers = {"Accept-Language": "en"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        for header in response.msg.get_all("Set-Cookie") or ():
            for name, morsel in SimpleCookie(header).items():
                if not morsel.value or morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response.status, response.getheader("Location") or "", data

    def login(self, port: int, username: str) -> None:
        _status, _location, page = self.request(port, "GET", "/login")
        form = next(f for f in re.findall(r"<form\b.*?</form>", page.decode(), re.S)
                    if 'name="password"' in f)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
        status, _location, _body = self.request(port, "POST", "/login", {
            "username": username, "password": DEMO_PASSWORD, "csrf_token": token})
        assert status == 302, f"login of {username} failed ({status})"


def _wait_until_up(port: int, proc: subprocess.Popen, name: str, procs: Processes,
                   budget: Budget) -> None:
    while True:
        if proc.poll() is not None:
            pytest.fail(f"{name} exited ({proc.returncode}):\n{procs.log_of(name)}")
        conn = HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/login")
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        if budget.left() < 1:
            pytest.fail(f"{name} did not answer:\n{procs.log_of(name)}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def pg_demo_database():
    """A fresh PostgreSQL database, migrated (``flask init-db``) and holding 400 complaints
    and the demo's people (bench/fill.py: seconds, where ``flask demo`` takes a minute)."""
    _redis_or_skip().close()  # no database made for nothing
    server = _pg_server()
    try:
        admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT",
                              connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as err:  # noqa: BLE001 - any reason the server cannot be reached
        pytest.fail(f"PostgreSQL is not reachable at {server}: {type(err).__name__}")
    name = f"desk_production_shape_{os.getpid()}_{secrets.token_hex(3)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"{server}/{name}"
    try:
        env = _base_env(url, secrets.token_hex(32))
        _flask(env, "init-db", timeout=120)
        filled = subprocess.run([sys.executable, "bench/fill.py", "--url", url, "--n",
                                 str(COMPLAINTS), "--events"], cwd=ROOT, env=env,
                                timeout=120, capture_output=True, text=True)
        assert filled.returncode == 0, filled.stderr
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _base_env(database_url: str, secret_key: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("STORAGE_", "DATABASE_URL", "REDIS_URL", "JOBS_"))}
    env.update(FLASK_APP="app:create_app", DATABASE_URL=database_url, SECRET_KEY=secret_key,
               PYTHONUNBUFFERED="1")
    return env


@pytest.fixture
def redis_db():
    connection = _redis_or_skip()
    connection.flushdb()  # this database only (never FLUSHALL)
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture
def processes(tmp_path):
    procs = Processes(tmp_path)
    yield procs
    procs.stop_all()


@pytest.fixture(params=["local-folder", "s3"])
def shared_storage(request, tmp_path):
    """(environment variables of the storage both hosts and the worker share, the names of
    the files stored there under jobs/)."""
    if request.param == "local-folder":
        shared = tmp_path / "shared-storage"
        shared.mkdir()
        yield ({"STORAGE_LOCAL_DIR": str(shared)},
               lambda: [p.name for p in (shared / "jobs").rglob("*") if p.is_file()])
        return
    s3 = request.getfixturevalue("s3_server")
    env = {k: str(v) for k, v in s3.config.items() if k != "STORAGE_S3_TIMEOUT"}

    def stored():
        listed = s3.client().list_objects_v2(Bucket=s3.bucket, Prefix="desk/jobs/")
        return [o["Key"].rsplit("/", 1)[-1] for o in listed.get("Contents", ())]

    yield env, stored


def test_an_export_asked_on_one_host_is_made_by_the_worker_and_served_by_another(
        pg_demo_database, redis_db, shared_storage, processes):
    budget = Budget(BUDGET_SECONDS)
    storage_env, stored_files = shared_storage
    env = _base_env(pg_demo_database, secrets.token_hex(32))
    env.update(REDIS_URL=REDIS_URL, JOBS_EXECUTOR="rq", **storage_env)

    ports = {"host-a": free_port(), "host-b": free_port()}
    started = {}
    for name, port in ports.items():
        started[name] = processes.start(name, [
            str(BIN / "gunicorn"), "-w", "2", "--timeout", "60", "--graceful-timeout", "5",
            "--bind", f"127.0.0.1:{port}", "app:create_app()"], env)
    worker = processes.start("worker", [str(BIN / "flask"), "worker"], env)
    for name, port in ports.items():
        _wait_until_up(port, started[name], name, processes, budget)
    host_a, host_b = ports["host-a"], ports["host-b"]

    browser = Browser()
    browser.login(host_a, "manager")
    status, _location, page = browser.request(host_a, "GET", "/admin/complaint/?queue=all")
    assert status == 200
    total = int(LIST_TOTAL.search(page.decode()).group(1).replace(",", ""))
    assert total == COMPLAINTS  # all in the manager's scope

    # Host A takes the request and answers at once with the job's page.
    status, location, _body = browser.request(host_a, "GET",
                                              "/admin/complaint/export/xlsx/?queue=all")
    assert status == 302, status
    job_id = int(JOB_PAGE.search(location).group(1))
    status, _location, _page = browser.request(host_b, "GET", f"/admin/jobs/{job_id}/")
    assert status == 200  # the progress page, from the other host

    # Host B reports the worker's progress until it is done.
    while True:
        status, _location, body = browser.request(host_b, "GET",
                                                  f"/admin/jobs/{job_id}/status.json")
        assert status == 200, status
        state = json.loads(body)
        if state["status"] not in ("queued", "running"):
            break
        assert worker.poll() is None, f"the worker exited:\n{processes.log_of('worker')}"
        if budget.left() < 2:
            pytest.fail(f"job still {state['status']}:\n{processes.log_of('worker')}")
        time.sleep(0.3)
    assert state["status"] == "done", (state, processes.log_of("worker"))
    assert "Job OK" in processes.log_of("worker")  # made by the RQ worker, not by a host
    assert state["rows_done"] == total and state["has_file"]

    # Host B hands out the file the worker stored.
    status, _location, data = browser.request(host_b, "GET", f"/admin/jobs/{job_id}/download",
                                              timeout=budget.left())
    assert status == 200, status
    stored = stored_files()  # the worker put it in the shared storage (not on a host)
    assert len(stored) == 1 and stored[0].endswith(".xlsx"), stored
    from openpyxl import load_workbook

    from services.export import FIRST_DATA_ROW

    sheet = load_workbook(io.BytesIO(data), read_only=True).active
    rows = [r for r in sheet.iter_rows(min_row=FIRST_DATA_ROW + 1, values_only=True)
            if any(v is not None for v in r)]
    assert len(rows) == total
    numbers = {r[0] for r in rows}
    assert len(numbers) == total and all(str(n).startswith("TS-") for n in numbers)
    budget.left()  # within the budget
