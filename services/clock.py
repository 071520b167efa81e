"""The one place that reads the clock (local time of the company, naive datetimes)."""

from datetime import datetime


def now() -> datetime:
    return datetime.now().replace(microsecond=0)
