"""Default settings; the environment and the instance config override them."""

import math
import os
from datetime import timedelta

DEV_SECRET_KEY = "dev-only-not-secret"


class Defaults:
    SECRET_KEY = DEV_SECRET_KEY
    SQLALCHEMY_DATABASE_URI = None  # set in create_app: DATABASE_URL or instance SQLite file
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # Reverse proxies in front of the app (nginx, a load balancer): how many to trust for
    # the client's address (X-Forwarded-For) and scheme. 0: none, the socket's address counts
    # (behind a proxy every visitor would then share one address: one sign-in and one public
    # form throttle for all).
    TRUSTED_PROXIES = 0
    # Long work (exports, workbooks, notification delivery, re-indexing) runs as jobs
    # (services.jobs, issue 13): JOBS_EXECUTOR "thread" (an in-process worker: the default),
    # "rq" (RQ workers on Redis: the default once REDIS_URL is set; run `flask worker`) or
    # "eager" (inside the request: tests). Result files are deleted after JOB_RESULT_HOURS;
    # a job whose worker stopped beating for JOB_STALE_SECONDS is queued again, at most
    # JOB_MAX_ATTEMPTS times in all, then failed.
    JOBS_EXECUTOR = None
    REDIS_URL = None
    JOB_RESULT_HOURS = 24
    JOB_HEARTBEAT_SECONDS = 10
    JOB_STALE_SECONDS = 60
    JOB_MAX_ATTEMPTS = 2
    JOB_POLL_SECONDS = 5
    JOB_TIMEOUT_SECONDS = 3600
    # A request that wrote notifications asks for a delivery pass (a job) when it ends.
    JOBS_AUTO_DELIVER = True
    # Departments, categories, staff names and the calendar, as the list pages show them
    # (services/reference.py): kept per process, dropped at once by a write in that process,
    # re-read after this many seconds for what other hosts wrote (0: read every time).
    REFERENCE_CACHE_SECONDS = 60
    # Production (COMPLAINTDESK_PRODUCTION=1): a strong SECRET_KEY is required
    # (secret_key_problem), cookies are Secure, HSTS is sent, administrators need
    # two-step sign-in.
    PRODUCTION = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Login throttling (rules/login.py): failures per account name and per client address
    # cost nothing at first, then 2, 4, 8 … seconds of wait, at most LOGIN_MAX_DELAY_SECONDS;
    # nobody is locked out for good. A key's count is forgotten after LOGIN_FORGET_HOURS.
    LOGIN_FREE_FAILURES = 3
    LOGIN_FREE_FAILURES_PER_ADDRESS = 10  # an office may sit behind one address
    LOGIN_MAX_DELAY_SECONDS = 15 * 60
    # The REST API (issue 14): unknown or revoked tokens from one address before it waits.
    API_FREE_FAILURES = 10
    LOGIN_FORGET_HOURS = 24
    # A browser in which an account signed in is remembered this long (signed cookie): the
    # account name's delay, caused by strangers, does not hold it back.
    LOGIN_DEVICE_DAYS = 90
    # Time to type the code of a two-step sign-in after the password.
    LOGIN_SECOND_STEP_MINUTES = 5
    TOTP_ISSUER = "Complaint desk"
    # Sessions end after this long without a request, and this long after the login.
    SESSION_IDLE_MINUTES = 30
    SESSION_MAX_HOURS = 12
    REMEMBER_COOKIE_DURATION = timedelta(hours=12)  # no "remember me" is offered anyway
    # Exports: the most rows one export writes; a larger result is refused, not cut.
    EXPORT_MAX_ROWS = 200_000
    LIST_PAGE_SIZE = 50
    # The company's time zone: every "now", stored time and deadline is naive local time
    # here, whatever the server's clock zone is (services/clock.py).
    COMPANY_TZ = "Asia/Shanghai"
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = COMPANY_TZ  # create_app sets it to the final COMPANY_TZ
    LANGUAGES = ("en", "zh_Hans_CN")
    # Notifications outside the app (services/delivery; README "Notifications").
    # E-mail over SMTP (Flask-Mailman): off while MAIL_SERVER is unset.
    MAIL_SERVER = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME = None
    MAIL_PASSWORD = None
    MAIL_TIMEOUT = 10
    MAIL_DEFAULT_SENDER = "complaint-desk@localhost"
    # The domain of each message's Message-ID (<idempotency key>@domain).
    MAIL_MESSAGE_ID_DOMAIN = "complaint-desk.local"
    # The desk's address as users reach it, for links in messages (none when unset).
    NOTIFY_BASE_URL = None
    # The worker: tries per message, how long a claimed message is held before another
    # worker may take it over, messages per claim.
    NOTIFY_MAX_ATTEMPTS = 6
    NOTIFY_LEASE_SECONDS = 300
    NOTIFY_BATCH = 100
    # The daily digest goes out at the first worker pass after this hour (company time).
    NOTIFY_DIGEST_HOUR = 8
    # Messages to customers: the language, and an SMS gateway as a plain HTTP webhook
    # (POST JSON; no vendor SDK). SMS is off while SMS_WEBHOOK_URL is unset.
    CUSTOMER_LOCALE = "zh_Hans_CN"
    # How customers reach customer service, printed in their messages (e.g. "400-800-1234");
    # unset: they are asked to reply to the message.
    CUSTOMER_SERVICE_CONTACT = None
    SMS_WEBHOOK_URL = None
    SMS_WEBHOOK_TOKEN = None
    WEBHOOK_TIMEOUT = 10
    # Attachments (issue 10; rules/attachments.py): limits per file and per complaint, and
    # the largest image (width x height) decoded. Stored by services/storage.py: a local
    # folder (STORAGE_LOCAL_DIR, default instance/attachments) unless STORAGE_S3_BUCKET is
    # set, then S3-compatible object storage (endpoint unset: AWS itself).
    ATTACHMENT_MAX_BYTES = 25 * 1024 * 1024
    ATTACHMENT_MAX_TOTAL_BYTES = 200 * 1024 * 1024
    ATTACHMENT_MAX_FILES = 50
    ATTACHMENT_MAX_PIXELS = 40_000_000
    STORAGE_LOCAL_DIR = None
    STORAGE_S3_BUCKET = None
    STORAGE_S3_ENDPOINT_URL = None
    STORAGE_S3_REGION = None
    STORAGE_S3_ACCESS_KEY = None
    STORAGE_S3_SECRET_KEY = None
    STORAGE_S3_PREFIX = ""
    STORAGE_S3_TIMEOUT = 10
    # The public complaint form and status lookup (issue 14; services/public.py): per client
    # address, form posts and failed lookups before the address must wait (2, 4, 8 … s up
    # to PUBLIC_MAX_DELAY_SECONDS; forgotten after PUBLIC_FORGET_HOURS without one); the
    # largest form post (a 413 page above it) and the files a visitor may attach.
    PUBLIC_FREE_SUBMISSIONS = 5
    PUBLIC_FREE_LOOKUPS = 10
    PUBLIC_MAX_DELAY_SECONDS = 3600
    PUBLIC_FORGET_HOURS = 24
    PUBLIC_MAX_CONTENT_LENGTH = 12 * 1024 * 1024
    PUBLIC_MAX_FILES = 3
    # E-mail intake (issue 14; services/mail_intake.py, `flask fetch-mail`): the complaints
    # mailbox over IMAP; off while MAIL_INTAKE_HOST is unset. Processed mail is moved to
    # MAIL_INTAKE_DONE_FOLDER (created when missing). SSL (IMAPS, port 993) unless turned off.
    MAIL_INTAKE_HOST = None
    MAIL_INTAKE_PORT = None  # 993 with SSL, 143 without
    MAIL_INTAKE_USER = None
    MAIL_INTAKE_PASSWORD = None
    MAIL_INTAKE_MAILBOX = "INBOX"
    MAIL_INTAKE_DONE_FOLDER = "Processed"
    MAIL_INTAKE_SSL = True
    MAIL_INTAKE_TIMEOUT = 30
    MAIL_INTAKE_MAX_BYTES = 50 * 1024 * 1024  # larger: refused unread (recorded), moved


def from_environment() -> dict:
    """Settings taken from environment variables, when set."""
    env = {}
    if os.environ.get("DATABASE_URL"):
        env["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if os.environ.get("SECRET_KEY"):
        env["SECRET_KEY"] = os.environ["SECRET_KEY"]
    if os.environ.get("COMPLAINTDESK_PRODUCTION", "").lower() in ("1", "true", "yes"):
        env["PRODUCTION"] = True
    if os.environ.get("EXPORT_MAX_ROWS"):
        env["EXPORT_MAX_ROWS"] = int(os.environ["EXPORT_MAX_ROWS"])
    if os.environ.get("COMPANY_TZ"):
        env["COMPANY_TZ"] = os.environ["COMPANY_TZ"]
    if os.environ.get("TRUSTED_PROXIES"):
        env["TRUSTED_PROXIES"] = int(os.environ["TRUSTED_PROXIES"])
    for name in ("MAIL_SERVER", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_DEFAULT_SENDER",
                 "MAIL_MESSAGE_ID_DOMAIN", "NOTIFY_BASE_URL", "SMS_WEBHOOK_URL",
                 "SMS_WEBHOOK_TOKEN", "CUSTOMER_LOCALE", "CUSTOMER_SERVICE_CONTACT"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    for name in ("STORAGE_LOCAL_DIR", "STORAGE_S3_BUCKET", "STORAGE_S3_ENDPOINT_URL",
                 "STORAGE_S3_REGION", "STORAGE_S3_ACCESS_KEY", "STORAGE_S3_SECRET_KEY",
                 "STORAGE_S3_PREFIX"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    for name in ("ATTACHMENT_MAX_BYTES", "ATTACHMENT_MAX_TOTAL_BYTES", "ATTACHMENT_MAX_FILES",
                 "ATTACHMENT_MAX_PIXELS"):
        if os.environ.get(name):
            env[name] = int(os.environ[name])
    for name in ("MAIL_PORT", "MAIL_TIMEOUT", "NOTIFY_MAX_ATTEMPTS", "NOTIFY_LEASE_SECONDS",
                 "NOTIFY_DIGEST_HOUR"):
        if os.environ.get(name):
            env[name] = int(os.environ[name])
    for name in ("MAIL_INTAKE_HOST", "MAIL_INTAKE_USER", "MAIL_INTAKE_PASSWORD",
                 "MAIL_INTAKE_MAILBOX", "MAIL_INTAKE_DONE_FOLDER"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    for name in ("MAIL_INTAKE_PORT", "MAIL_INTAKE_TIMEOUT", "MAIL_INTAKE_MAX_BYTES"):
        if os.environ.get(name):
            env[name] = int(os.environ[name])
    for name in ("JOBS_EXECUTOR", "REDIS_URL"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    for name in ("JOB_RESULT_HOURS", "JOB_HEARTBEAT_SECONDS", "JOB_STALE_SECONDS",
                 "JOB_MAX_ATTEMPTS", "JOB_POLL_SECONDS", "JOB_TIMEOUT_SECONDS",
                 "REFERENCE_CACHE_SECONDS"):
        if os.environ.get(name):
            env[name] = int(os.environ[name])
    for name in ("MAIL_USE_TLS", "MAIL_USE_SSL", "MAIL_INTAKE_SSL"):
        if os.environ.get(name):
            env[name] = os.environ[name].lower() in ("1", "true", "yes")
    return env


# A production SECRET_KEY carries at least 32 bytes (256 bits) of entropy, e.g.
# python -c "import secrets; print(secrets.token_hex(32))".
SECRET_KEY_MIN_BITS = 256
SECRET_KEY_MIN_LENGTH = 32
SECRET_KEY_MIN_DISTINCT = 10
_HEX = set("0123456789abcdefABCDEF")
_B64 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=")
_ALNUM = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def secret_key_bits(key) -> float:
    """A generous estimate of a key's entropy: its length times the bits of the smallest
    usual alphabet (hex, alphanumeric, base64, printable) that holds all its characters."""
    text = key.decode("latin-1") if isinstance(key, bytes) else str(key or "")
    chars = set(text)
    if not chars:
        return 0.0
    if isinstance(key, bytes) and not chars <= set(map(chr, range(32, 127))):
        alphabet = 256  # raw random bytes (os.urandom)
    elif chars <= _HEX:
        alphabet = 16
    elif chars <= _ALNUM:
        alphabet = 62
    elif chars <= _B64:
        alphabet = 64
    else:
        alphabet = 95
    return len(text) * math.log2(alphabet)


def secret_key_problem(key) -> str | None:
    """Why ``key`` cannot sign production sessions, or None: missing, the development
    default, shorter than 32 characters, too few distinct characters, one short piece
    repeated, or under 256 bits by :func:`secret_key_bits`."""
    if key in (None, "", b"", DEV_SECRET_KEY):
        return "SECRET_KEY must be set to a random value in production."
    text = key.decode("latin-1") if isinstance(key, bytes) else str(key)
    weak = (len(key) < SECRET_KEY_MIN_LENGTH or len(set(text)) < SECRET_KEY_MIN_DISTINCT
            or text in (text + text)[1:-1] or secret_key_bits(key) < SECRET_KEY_MIN_BITS)
    if weak:
        return ("SECRET_KEY is too weak for production: use at least 32 random bytes, e.g. "
                "the output of python -c 'import secrets; print(secrets.token_hex(32))'.")
    return None
