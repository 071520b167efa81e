"""Shared fixtures: an app with a fresh migrated database per test, on SQLite or PostgreSQL.

Set TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1/<db> to run on PostgreSQL
(the database must exist and be empty; .ci/run creates one per run). Otherwise every test
gets a copy of a migrated SQLite file.

Pitfall (FLASK-ADMIN.md P14): no fixture keeps an app context pushed while the test
client makes requests; tests push one only for setup and assertions (``with app.app_context()``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass

import pytest
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, text

from app import create_app
from tests.factories import PASSWORD, AuthActions, csrf_token  # noqa: F401 (re-exported)
from tests.servers import s3_server, smtp_server, webhook_server  # noqa: F401 (fixtures)

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
# Files the tests' jobs and uploads store (never the checkout's instance folder).
FILES_DIR = tempfile.mkdtemp(prefix="desk-test-files-")
TABLES = ("attachment", "delivery", "notification_preference", "notification", "job",
          "accountability_finding", "accountability_record", "admin_event", "complaint_event",
          "callback_record", "export_log", "complaint_search", "complaint", "customer",
          "number_counter", "calendar_day", "sla_policy", "setting", "category", "department",
          "login_attempt", "staff_recovery_code", "staff")
SEED_TABLES = ("category", "sla_policy")


def _config(url):
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast hashes for tests only
        "SERVER_NAME": "localhost",
        # Jobs run inside the request that submits them (tests/services/test_jobs.py runs
        # the thread and RQ executors); a request that wrote notifications does not start
        # a delivery pass of its own (the delivery tests run their passes explicitly).
        "JOBS_EXECUTOR": "eager",
        "JOBS_AUTO_DELIVER": False,
        "STORAGE_LOCAL_DIR": FILES_DIR,
    }


def _migrate(url):
    from flask_migrate import upgrade

    app = create_app(_config(url))
    with app.app_context():
        upgrade()
        from models import db

        db.engine.dispose()


@pytest.fixture(scope="session")
def db_template(tmp_path_factory):
    """Migrate once per run; each test then starts from this state."""
    if PG_URL:
        _migrate(PG_URL)
        engine = create_engine(PG_URL)
        with engine.connect() as conn:
            seeds = {t: [dict(r._mapping) for r in conn.execute(text(f"SELECT * FROM {t}"))]
                     for t in SEED_TABLES}
        engine.dispose()
        return {"kind": "postgresql", "url": PG_URL, "seeds": seeds}
    path = tmp_path_factory.mktemp("template") / "template.sqlite"
    _migrate(f"sqlite:///{path}")
    return {"kind": "sqlite", "path": path}


def _reset_postgres(url, seeds):
    engine = create_engine(url)
    with engine.begin() as conn:
        # The audit triggers refuse TRUNCATE; replica mode switches triggers off for this
        # cleanup connection only (the tests of the triggers run in the normal mode).
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE"))
        for table, rows in seeds.items():
            for row in rows:
                cols = ", ".join(row)
                vals = ", ".join(f":{c}" for c in row)
                conn.execute(text(f"INSERT INTO {table} ({cols}) VALUES ({vals})"), row)
            conn.execute(text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"
            ))
    engine.dispose()


@pytest.fixture
def db_url(db_template, tmp_path):
    if db_template["kind"] == "postgresql":
        _reset_postgres(db_template["url"], db_template["seeds"])
        return db_template["url"]
    path = tmp_path / "test.sqlite"
    shutil.copy(db_template["path"], path)
    return f"sqlite:///{path}"


class _SharedJinjaCache(BytecodeCache):
    """Compiled templates shared by the apps of one test run (a new app per test would
    otherwise compile Flask-Admin's templates again: ~0.8 s per test)."""

    def __init__(self):
        self._code = {}

    def load_bytecode(self, bucket):
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket):
        self._code[bucket.key] = bucket.bytecode_to_string()


_JINJA_CACHE = _SharedJinjaCache()


def make_app(db_url, **settings):
    """The test app on ``db_url`` with extra ``settings``, for a fixture to ``yield from``:
    yields the app, then closes its database connections."""
    app = create_app({**_config(db_url), **settings})
    app.jinja_env.bytecode_cache = _JINJA_CACHE
    yield app
    from models import db

    runner = app.extensions.get("desk_jobs")
    if hasattr(runner, "stop"):  # an in-process job thread: it would outlive the test
        runner.stop()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app(db_url):
    yield from make_app(db_url)


@pytest.fixture
def client(app):
    return app.test_client()


@dataclass
class Org:
    """Ids of the standard test organisation (see the ``org`` fixture)."""

    cs: int
    qa: int
    log: int
    closed_dept: int
    users: dict  # username -> id


ORG_USERS = [
    ("admin", "admin", "CS"),
    ("intake", "intake", "CS"),
    ("manager", "manager", "CS"),
    ("supervisor", "supervisor", "CS"),
    ("head_qa", "dept_head", "QA"),
    ("handler_qa", "handler", "QA"),
    ("handler_qa2", "handler", "QA"),
    ("head_log", "dept_head", "LOG"),
    ("handler_log", "handler", "LOG"),
]


@pytest.fixture
def org(app):
    """Departments CS (customer service), QA, LOG and an inactive OLD; one user per role."""
    from models import Department, db
    from services.auth import create_user

    with app.app_context():
        depts = {}
        for code, name, is_cs, active in (
                ("CS", "客户服务部", True, True), ("QA", "质量管理部", False, True),
                ("LOG", "物流部", False, True), ("OLD", "旧部门", False, False)):
            d = Department(code=code, name=name, is_customer_service=is_cs, active=active)
            db.session.add(d)
            depts[code] = d
        db.session.commit()
        users = {}
        for username, role, dept in ORG_USERS:
            users[username] = create_user(username, username.replace("_", " ").title(), role,
                                          PASSWORD, department_id=depts[dept].id).id
        return Org(cs=depts["CS"].id, qa=depts["QA"].id, log=depts["LOG"].id,
                   closed_dept=depts["OLD"].id, users=users)


@pytest.fixture
def auth(client):
    return AuthActions(client)
