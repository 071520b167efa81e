"""Real servers the tests start on free loopback ports: an SMTP server (aiosmtpd) that keeps
every message it receives, and an HTTP server standing in for the group-robot and SMS
webhooks, answering with a status the test chooses.

Fixtures ``smtp_server`` and ``webhook_server`` (tests/conftest.py re-exports them).
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    """One message as the SMTP server got it: envelope and the parsed message."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: email.message.EmailMessage


class _Keeper:
    def __init__(self, server: SmtpServer):
        self.server = server

    async def handle_RCPT(self, server, session, envelope: Envelope, address, rcpt_options):
        if address in self.server.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope: Envelope):
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self.server.lock:
            self.server.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                                 raw, message))
        return "250 Message accepted"


@dataclass
class SmtpServer:
    """A real SMTP server on 127.0.0.1:``port``; ``stop()`` and ``start()`` it at will."""

    port: int = field(default_factory=free_port)
    messages: list[Received] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # recipients answered with 550
    lock: threading.Lock = field(default_factory=threading.Lock)
    _controller: Controller | None = None

    def start(self):
        self._controller = Controller(_Keeper(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def config(self) -> dict:
        """The app settings that send through this server."""
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port, "MAIL_USE_TLS": False,
                "MAIL_USE_SSL": False, "MAIL_USERNAME": None, "MAIL_PASSWORD": None,
                "MAIL_TIMEOUT": 5, "MAIL_DEFAULT_SENDER": "desk@example.test",
                "MAIL_BACKEND": "smtp"}

    def message_ids(self) -> list[str]:
        return [m.message["Message-ID"] for m in self.messages]


@dataclass
class Request:
    path: str  # with the query string
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body.decode("utf-8"))


@dataclass
class WebhookServer:
    """A local HTTP server: keeps every POST, answers ``status`` with ``reply`` (JSON)."""

    port: int = field(default_factory=free_port)
    requests: list[Request] = field(default_factory=list)
    status: int = 200
    reply: dict = field(default_factory=lambda: {"errcode": 0, "errmsg": "ok"})
    _server: ThreadingHTTPServer | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self):
        keeper = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                keeper.requests.append(Request(self.path, dict(self.headers.items()), body))
                payload = json.dumps(keeper.reply).encode()
                self.send_response(keeper.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def webhook_server():
    server = WebhookServer()
    server.start()
    yield server
    server.stop()


@dataclass
class S3Server:
    """moto's S3-compatible server (ThreadedMotoServer) on 127.0.0.1:``port``."""

    port: int = field(default_factory=free_port)
    bucket: str = "desk-test"
    _server: object = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> dict:
        """The app settings that store attachments in this server's bucket."""
        return {"STORAGE_S3_BUCKET": self.bucket, "STORAGE_S3_ENDPOINT_URL": self.url,
                "STORAGE_S3_REGION": "us-east-1", "STORAGE_S3_ACCESS_KEY": "test",
                "STORAGE_S3_SECRET_KEY": "test", "STORAGE_S3_PREFIX": "desk",
                "STORAGE_S3_TIMEOUT": 2}

    def client(self):
        import boto3
        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test")

    def start(self):
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port,
                                          verbose=False)
        self._server.start()

    def stop(self):
        if self._server is not None:
            self._server.stop()
            self._server = None


@pytest.fixture
def s3_server():
    server = S3Server()
    server.bucket = f"desk-test-{server.port}"  # moto keeps its state per process
    server.start()
    server.client().create_bucket(Bucket=server.bucket)
    yield server
    server.stop()
