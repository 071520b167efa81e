"""rules.api: what the REST API accepts — fields, JSON types, unknown names refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rules import api as R
from rules.errors import InputErrors, InvalidInput, MissingInput, RuleError, each_error


def _fields(err: RuleError) -> dict:
    return {e.field: e for e in each_error(err)}


def test_known_fields_pass_typed():
    """Text stays text, an ISO time becomes a datetime, null is no value."""
    clean = R.check_payload({"title": "Broken", "received_at": "2026-11-30T09:30:00",
                             "demand": None}, R.REGISTER_FIELDS)
    assert clean == {"title": "Broken", "received_at": datetime(2026, 11, 30, 9, 30),
                     "demand": None}


def test_time_with_offset_keeps_it():
    """A time with an offset (or Z) keeps it: the service converts it to company time."""
    clean = R.check_payload({"upstream_due": "2026-12-01T08:00:00Z"}, R.UPSTREAM_FIELDS)
    assert clean["upstream_due"] == datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert clean["upstream_due"].utcoffset() == timedelta(0)


def test_unknown_fields_refused_by_name():
    """Every unknown field is named; none is silently ignored."""
    with pytest.raises(InputErrors) as caught:
        R.check_payload({"title": "x", "titel": "y", "priority": 1}, R.REGISTER_FIELDS)
    fields = _fields(caught.value)
    assert set(fields) == {"titel", "priority"}
    assert all(e.msgid == "Unknown field: %(name)s." for e in fields.values())
    assert fields["titel"].params == {"name": "titel"}


@pytest.mark.parametrize("value", [1, 1.5, True, ["a"], {"a": 1}])
def test_text_field_of_another_type_refused(value):
    """A number, boolean, list or object where text belongs is refused with its field."""
    with pytest.raises(InvalidInput) as caught:
        R.check_payload({"title": value}, R.REGISTER_FIELDS)
    assert caught.value.field == "title"


@pytest.mark.parametrize("value", ["x\x00y", "a\x1bb", "\x7f"])
def test_control_characters_refused(value):
    """NUL, ESC and DEL are refused (PostgreSQL refuses NUL in text)."""
    with pytest.raises(InvalidInput) as caught:
        R.check_payload({"description": value}, R.REGISTER_FIELDS)
    assert caught.value.field == "description"


def test_line_breaks_and_tabs_kept():
    clean = R.check_payload({"description": "line 1\r\nline 2\tend"}, R.REGISTER_FIELDS)
    assert clean["description"] == "line 1\r\nline 2\tend"


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01T00:00", "", 20261130,
                                   "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00"])
def test_bad_time_refused(value):
    """Not ISO 8601 (or not a string): refused; an empty string is no value."""
    if value == "":
        assert R.check_payload({"received_at": value}, R.REGISTER_FIELDS) == {
            "received_at": None}
        return
    with pytest.raises(InvalidInput) as caught:
        R.check_payload({"received_at": value}, R.REGISTER_FIELDS)
    assert caught.value.field == "received_at"


@pytest.mark.parametrize("payload", [[], "text", 3, None])
def test_body_must_be_an_object(payload):
    with pytest.raises(InvalidInput) as caught:
        R.check_payload(payload, R.REGISTER_FIELDS)
    assert caught.value.field is None


def test_upstream_requires_source_and_reference():
    with pytest.raises(InputErrors) as caught:
        R.check_payload({"upstream_due": None}, R.UPSTREAM_FIELDS, R.UPSTREAM_REQUIRED)
    fields = _fields(caught.value)
    assert set(fields) == {"upstream_source", "upstream_ref"}
    assert all(isinstance(e, MissingInput) for e in fields.values())


@pytest.mark.parametrize("value", [-1, True, "3", 2**63])
def test_version_must_be_a_whole_number(value):
    with pytest.raises(RuleError) as caught:
        R.check_payload({"upstream_source": "other", "upstream_ref": "A1", "version": value},
                        R.UPSTREAM_FIELDS, R.UPSTREAM_REQUIRED)
    assert caught.value.field == "version"


def test_list_params():
    """Defaults; a time, a bounded limit and a cursor; unknown parameters named."""
    assert R.check_list_params({}) == (None, R.DEFAULT_LIMIT, None)
    since, limit, cursor = R.check_list_params(
        {"changed_since": "2026-11-30T00:00:00+08:00", "limit": "10", "cursor": "abc"})
    assert (since.hour, limit, cursor) == (0, 10, "abc")
    for bad in ("0", "201", "-1", "1e3", "x", "١٠"):
        with pytest.raises(InvalidInput) as caught:
            R.check_list_params({"limit": bad})
        assert caught.value.field == "limit"
    with pytest.raises(InvalidInput) as caught:
        R.check_list_params({"since": "2026-11-30"})
    assert caught.value.field == "since"


@pytest.mark.parametrize("key,ok", [("abc-123", True), ("x" * 100, True), ("x" * 101, False),
                                    ("", False), ("ключ", False), ("a\nb", False)])
def test_idempotency_key(key, ok):
    if ok:
        assert R.check_idempotency_key(key) == key
    else:
        with pytest.raises(InvalidInput):
            R.check_idempotency_key(key)
    assert R.check_idempotency_key(None) is None
