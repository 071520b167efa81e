"""Request parameters checked before any screen sees them, and the helpers screens share.

:func:`init_app` installs :func:`clean_request` as the first ``before_request`` hook:

- a query-string key or value with a control character (NUL, CR, LF, …) is refused
  (400): nothing a browser sends from our pages has one, and CR/LF must never reach a
  header; a value longer than :data:`MAX_ARG_LENGTH` is refused too;
- a form field keeps tab, CR and LF (multi-line text); every other C0 control character
  and DEL is stripped (PostgreSQL refuses NUL in text; nobody types them);
- ``url=`` / ``next=`` (where to go back to) are kept only when they are a relative path on
  this host without control characters; otherwise they are dropped, so the screen's default
  target is used (Flask-Admin's own check lets a CR/LF through into the Location header);
- the list's ``page``, ``page_size``, ``sort`` and ``desc`` are kept only as small
  non-negative integers (a huge page overflows the SQL offset, a negative one is an error
  on PostgreSQL); otherwise they are dropped (the list's defaults apply).

Ids are checked where they are looked up (:func:`parse_id`: "not found" outside the 64-bit
range), dates where they are parsed (:func:`parse_day`, :func:`date_in_window`).
"""

from __future__ import annotations

import math
from datetime import date, datetime
from urllib.parse import unquote, urlsplit

from flask import Flask, abort, request
from flask_babel import gettext
from werkzeug.datastructures import CombinedMultiDict, ImmutableMultiDict
from wtforms import ValidationError

from rules.bounds import (
    MAX_ID,
    MAX_PAGE,
    MAX_YEAR,
    MIN_YEAR,
    date_in_window,
    has_control_chars,
    parse_id,
    strip_control_chars,
    year_in_window,
)

__all__ = ["MAX_ID", "DateWindow", "clean_request", "date_in_window", "filter_value_ok", "init_app",
           "parse_day", "parse_id", "safe_local_path", "year_in_window"]

REDIRECT_PARAMS = frozenset({"url", "next"})
MAX_ARG_LENGTH = 2000  # a search, a filter value or a return URL: far more than enough
# The list's integer parameters and their largest accepted value.
INT_ARGS = {"page": MAX_PAGE, "page_size": 1000, "sort": 1000, "desc": 1}


def safe_local_path(target) -> str | None:
    """``target`` if it is a relative path on this host ("/admin/…"), else None."""
    if not isinstance(target, str):
        return None
    target = target.strip()
    if not target:
        return None
    # Judge the decoded form too: "/%5Cevil" or "/%2F/evil" must not become "//evil" later.
    for form in (target, unquote(target)):
        if "\\" in form or has_control_chars(form):
            return None
        parts = urlsplit(form)
        if parts.scheme or parts.netloc or not form.startswith("/") or form.startswith("//"):
            return None
    return target


def small_int(value, largest: int) -> int | None:
    """An integer 0..largest written in plain digits, or None."""
    text = (value or "").strip()
    if not text.isascii() or not text.isdigit() or len(text) > 12:
        return None
    number = int(text)
    return number if number <= largest else None


def parse_day(text) -> date | None:
    """A day written YYYY-MM-DD within the years of rules.bounds, or None."""
    try:
        day = datetime.strptime((text or "").strip(), "%Y-%m-%d").date()
    except ValueError:
        return None
    return day if date_in_window(day) else None


class DateWindow:
    """WTForms validator: a date (or time) within the years of rules.bounds."""

    def __call__(self, form, field):
        if field.data is not None and not date_in_window(field.data):
            # A plain str: Flask-Admin's form macro shows only string errors.
            raise ValidationError(gettext(
                "Please give a date between the years %(first)d and %(last)d.",
                first=MIN_YEAR, last=MAX_YEAR))


def _bounded(value) -> bool:
    if isinstance(value, (list, tuple)):
        return all(_bounded(v) for v in value)
    if isinstance(value, bool):
        return True
    if isinstance(value, int):
        return -MAX_ID <= value <= MAX_ID
    if isinstance(value, float):
        return math.isfinite(value) and abs(value) < 1e15
    if isinstance(value, (date, datetime)):
        return date_in_window(value)
    return True


def filter_value_ok(flt, value) -> bool:
    """Does a list filter accept ``value``, and is the cleaned value within bounds?"""
    try:
        return bool(flt.validate(value)) and _bounded(flt.clean(value))
    except (ValueError, TypeError, ArithmeticError):
        return False


def _clean_args(args):
    kept = []
    for key, value in args.items(multi=True):
        if has_control_chars(key) or has_control_chars(value):
            abort(400, description="A parameter contains a control character.")
        if len(key) > 200 or len(value) > MAX_ARG_LENGTH:
            abort(400, description="A parameter is too long.")
        if key in REDIRECT_PARAMS and safe_local_path(value) is None:
            continue
        if key in INT_ARGS and small_int(value, INT_ARGS[key]) is None:
            continue
        kept.append((key, value))
    return kept


def _clean_form(form):
    kept = []
    for key, value in form.items(multi=True):
        if has_control_chars(key) or len(key) > 200:
            abort(400, description="A form field name is not valid.")
        value = strip_control_chars(value, multiline=True)
        if key in REDIRECT_PARAMS and safe_local_path(value) is None:
            continue
        kept.append((key, value))
    return kept


def clean_request():
    """The ``before_request`` hook described in the module's docstring."""
    request.args = ImmutableMultiDict(_clean_args(request.args))
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        request.form = ImmutableMultiDict(_clean_form(request.form))
    # request.values combines args and form: rebuild it from the cleaned ones.
    request.__dict__.pop("values", None)
    request.values = CombinedMultiDict([request.args, request.form])


def init_app(app: Flask) -> None:
    """Check every request's parameters before any other hook or view reads them."""
    app.before_request_funcs.setdefault(None, []).insert(0, clean_request)
