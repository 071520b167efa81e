"""The one place that reads the clock: the company's local time, as naive datetimes.

Every "now", every stored time and every deadline is wall-clock time in the company's
zone (``COMPANY_TZ``, Asia/Shanghai by default), whatever the server's own clock zone
(the process ``TZ``) is. The zone comes from the Flask app config ``COMPANY_TZ`` inside
an app context, else from the environment variable ``COMPANY_TZ``, else Asia/Shanghai.

Tests replace :func:`now` (``monkeypatch.setattr(clock, "now", ...)``); :func:`today`
goes through it, so it follows.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, has_app_context

DEFAULT_ZONE = "Asia/Shanghai"


def zone_name() -> str:
    """The company's zone name: app config, else environment, else Asia/Shanghai."""
    name = None
    if has_app_context():
        name = current_app.config.get("COMPANY_TZ")
    return name or os.environ.get("COMPANY_TZ") or DEFAULT_ZONE


def load_zone(name: str) -> ZoneInfo:
    """The zone called ``name``; RuntimeError with a clear message if there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise RuntimeError(
            f"COMPANY_TZ={name!r} is not a known time zone; use an IANA name such as "
            f"'Asia/Shanghai' or 'Europe/Berlin'."
        ) from None


def zone() -> ZoneInfo:
    return load_zone(zone_name())


def now() -> datetime:
    """The current company-local time, naive, to the second."""
    return datetime.now(zone()).replace(tzinfo=None, microsecond=0)


def today() -> date:
    """The current company-local date."""
    return now().date()
