"""The live server of the browser suite: the app on a fresh migrated SQLite file with the
standard test organisation, served by werkzeug in a thread on a free loopback port.

Every page load is counted on the server: a response to a browser navigation
(``Sec-Fetch-Mode: navigate``) with status 200 — what the user waits for and then sees.
A form posted and redirected counts once (the page it lands on), a download counts apart.

``python -m tests.browser.live`` serves it by hand (prints the address; Ctrl-C stops it).
"""

from __future__ import annotations

import logging
import socket
import threading
from dataclasses import dataclass, field

from werkzeug.serving import make_server

PASSWORD = "test-pass-123"

# (username, full name, role, department code): the standard organisation of tests/conftest.py
# with real Chinese names, the heads heading their departments.
USERS = [
    ("admin", "系统管理员", "admin", "CS"),
    ("intake", "王小红", "intake", "CS"),
    ("clerk_en", "Mary Clerk", "intake", "CS"),  # the English task's clerk (language kept)
    ("manager", "李经理", "manager", "CS"),
    ("supervisor", "赵督察", "supervisor", "CS"),
    ("head_qa", "陈质量", "dept_head", "QA"),
    ("handler_qa", "刘工", "handler", "QA"),
    ("handler_qa2", "周工", "handler", "QA"),
    ("head_log", "孙物流", "dept_head", "LOG"),
    ("handler_log", "吴师傅", "handler", "LOG"),
    ("executive", "林总", "executive", "GMO"),  # senior management (issue 12: plans)
]
DEPARTMENTS = [("CS", "客户服务部", True), ("QA", "质量管理部", False), ("LOG", "物流部", False),
               ("FIN", "财务部", False),  # FIN: no head, no staff
               ("GMO", "总经理办公室", False)]


@dataclass
class PageLoads:
    """Page loads (navigations answered 200 with HTML) and downloads, since the last reset."""

    pages: list = field(default_factory=list)      # (method, path)
    downloads: list = field(default_factory=list)  # (method, path)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self):
        with self.lock:
            self.pages.clear()
            self.downloads.clear()

    @property
    def count(self) -> int:
        return len(self.pages)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build_app(db_path: str, organise: bool = True, **config):
    """The app on a migrated SQLite file holding the organisation (``organise``: create it;
    a second host on the same file does not); the page-load counter hooked on it. Files
    (attachments, the jobs' results) go to ``files/`` beside the database, shared by every
    host on it. Returns (app, loads)."""
    import os

    from flask_migrate import upgrade

    from app import create_app

    app = create_app({
        "SECRET_KEY": "browser-suite-secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast hashes: tests only
        "STORAGE_LOCAL_DIR": os.path.join(os.path.dirname(db_path), "files"),
        **config,
    })
    if not organise:
        return app, _counted(app)
    with app.app_context():
        upgrade()
        _organisation()
    return app, _counted(app)


def _counted(app) -> PageLoads:
    from flask import request

    loads = PageLoads()

    @app.after_request
    def _count(response):
        navigation = request.headers.get("Sec-Fetch-Mode") == "navigate"
        if navigation and response.status_code == 200:
            with loads.lock:
                if response.mimetype == "text/html":
                    loads.pages.append((request.method, request.full_path.rstrip("?")))
                else:
                    loads.downloads.append((request.method, request.path))
        return response

    return loads


def _organisation():
    from models import Department, db
    from services.auth import create_user

    depts = {}
    for code, name, is_cs in DEPARTMENTS:
        depts[code] = Department(code=code, name=name, is_customer_service=is_cs, active=True)
        db.session.add(depts[code])
    db.session.commit()
    ids = {}
    for username, full_name, role, dept in USERS:
        ids[username] = create_user(username, full_name, role, PASSWORD,
                                    department_id=depts[dept].id).id
    depts["QA"].head_id = ids["head_qa"]
    depts["LOG"].head_id = ids["head_log"]
    from models import Category

    if hasattr(Category, "default_department_id"):  # issue 11: forwarding suggests it
        quality = db.session.query(Category).filter_by(code="product_quality").one()
        quality.default_department_id = depts["QA"].id
    db.session.commit()


class LiveServer:
    """The app served in a daemon thread on 127.0.0.1:<free port>; ``host`` names it in its
    address (``localhost`` for a second host: another origin, its own cookies)."""

    def __init__(self, db_path: str, organise: bool = True, host: str = "127.0.0.1",
                 **config):
        self.app, self.loads = build_app(db_path, organise, **config)
        self.port = free_port()
        self.url = f"http://{host}:{self.port}"
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self):
        # One line per request and per static file buries a failure's report: warnings only.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._thread.join(timeout=10)
        runner = self.app.extensions.get("desk_jobs")
        if hasattr(runner, "stop"):  # the in-process job thread
            runner.stop()
        from models import db

        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":  # pragma: no cover - by hand
    import tempfile

    path = tempfile.mkdtemp() + "/browser.sqlite"
    server = LiveServer(path)
    print(server.url, flush=True)
    server._server.serve_forever()
