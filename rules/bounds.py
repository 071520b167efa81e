"""Bounds on what a user may enter: ids, dates, text (stdlib only, no I/O).

Values outside them are refused with a message instead of reaching the database, where
they would fail (an id past 64 bits overflows SQLite's integer, a year 9999 date overflows
when a day is added, PostgreSQL refuses NUL in text).
"""

from __future__ import annotations

from datetime import date, datetime

# Integer ids and counters: what every id column holds on both databases — PostgreSQL's
# INTEGER is 32-bit (SQLite's is 64): a larger number is "not found" rather than a value the
# database refuses to compare (NumericValueOutOfRange, found by the fuzz tests).
MAX_ID = 2**31 - 1
# The window of plausible dates of a complaint, a deadline, a report month or a filter.
MIN_YEAR = 2000
MAX_YEAR = 2100
# Text: one line (names, titles: their columns say), or a long text (description, demand,
# resolution, notes). The Text columns hold at most MAX_LONG_TEXT characters.
MAX_LONG_TEXT = 10_000
# Paging of the lists: no page beyond this (the offset would overflow or take minutes).
MAX_PAGE = 100_000
# Control characters allowed in multi-line text; every other C0 character (and DEL) is not.
ALLOWED_CONTROLS = frozenset("\t\n\r")


def parse_id(value) -> int | None:
    """A positive id in the 64-bit range, or None ("not found") for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    else:
        text = str(value if value is not None else "").strip()
        if not text.isascii() or not text.isdigit() or len(text) > 19:
            return None
        number = int(text)
    return number if 1 <= number <= MAX_ID else None


def year_in_window(year: int) -> bool:
    return MIN_YEAR <= year <= MAX_YEAR


def date_in_window(value: date | datetime | None) -> bool:
    """Is this date (or time) within the years MIN_YEAR..MAX_YEAR? None is not."""
    return value is not None and year_in_window(value.year)


def has_control_chars(text: str, multiline: bool = False) -> bool:
    """NUL or another C0 control character (or DEL); tab, CR and LF allowed if multi-line."""
    for ch in text:
        code = ord(ch)
        if code < 32 or code == 127:
            if multiline and ch in ALLOWED_CONTROLS:
                continue
            return True
    return False


def strip_control_chars(text: str, multiline: bool = True) -> str:
    """``text`` without the control characters :func:`has_control_chars` refuses."""
    if not has_control_chars(text, multiline):
        return text
    return "".join(ch for ch in text
                   if not (ord(ch) < 32 or ord(ch) == 127)
                   or (multiline and ch in ALLOWED_CONTROLS))
