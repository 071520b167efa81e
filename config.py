"""Default settings; the environment and the instance config override them."""

import os

DEV_SECRET_KEY = "dev-only-not-secret"


class Defaults:
    SECRET_KEY = DEV_SECRET_KEY
    SQLALCHEMY_DATABASE_URI = None  # set in create_app: DATABASE_URL or instance SQLite file
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # Production (COMPLAINTDESK_PRODUCTION=1): a real SECRET_KEY is required.
    PRODUCTION = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Login throttling: after this many failures in a row the account is locked a while.
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_MINUTES = 15
    # Exports: the most rows one export writes; a larger result is refused, not cut.
    EXPORT_MAX_ROWS = 200_000
    LIST_PAGE_SIZE = 50
    # The company's time zone: every "now", stored time and deadline is naive local time
    # here, whatever the server's clock zone is (services/clock.py).
    COMPANY_TZ = "Asia/Shanghai"
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = COMPANY_TZ  # create_app sets it to the final COMPANY_TZ
    LANGUAGES = ("en", "zh_Hans_CN")


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
    return env
