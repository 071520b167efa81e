"""rules.public: the public form's checks, the challenge, the lookup's match, the customer view."""

from __future__ import annotations

from datetime import datetime

import pytest

from rules import Channel, Status
from rules import public as P
from rules.errors import InputErrors, RuleError, each_error

SECRET = b"k" * 32
VALID = {"customer_name": "李娜", "customer_phone": "13812345678", "description": "漏水\n细节",
         "category": "quality"}


def fields_of(err: RuleError) -> set[str]:
    return {e.field for e in each_error(err)}


def test_valid_form_becomes_registration_data():
    """Clean values, the title from the first line, channel web."""
    clean = P.check_form(VALID, frozenset({"quality"}), consent=True, challenge_ok=True)
    assert clean["title"] == "漏水" and clean["channel"] == Channel.WEB
    assert clean["customer_email"] is None and clean["category"] == "quality"


def test_every_problem_reported_at_its_field():
    """Empty name, no contact, no description, unknown category, no consent, wrong sum."""
    with pytest.raises(InputErrors) as info:
        P.check_form({"category": "nope"}, frozenset({"quality"}), consent=False,
                     challenge_ok=False)
    assert fields_of(info.value) == {"customer_name", "customer_phone", "description",
                                     "category", "consent", "challenge"}


@pytest.mark.parametrize("name, most", sorted(P.FIELD_LIMITS.items()))
def test_each_field_has_a_length_limit(name, most):
    data = {**VALID, name: "x" * (most + 1)}
    with pytest.raises(RuleError) as info:
        P.check_form(data, frozenset({"quality", "x" * 33}), consent=True, challenge_ok=True)
    assert name in fields_of(info.value)


def test_long_first_line_is_cut_for_the_title():
    title = P.title_of("a" * 100 + "\nrest")
    assert len(title) == P.TITLE_LENGTH and title.endswith("…")
    assert P.title_of("\n\n  second  \n") == "second"


@pytest.mark.parametrize("typed, ok", [
    ("7", True), (" 7 ", True), ("8", False), ("", False), ("７", False), ("-7", False),
    ("7000", False), (None, False)])
def test_challenge(typed, ok):
    digest = P.challenge_digest(SECRET, "nonce", 7)
    assert P.challenge_passed(SECRET, "nonce", digest, typed) is ok


def test_challenge_bound_to_nonce_and_secret():
    digest = P.challenge_digest(SECRET, "nonce", 7)
    assert not P.challenge_passed(SECRET, "other", digest, "7")
    assert not P.challenge_passed(b"x" * 32, "nonce", digest, "7")


@pytest.mark.parametrize("typed, ok", [
    ("5678", True), ("138-1234-5678", False), ("1234", False), ("678", False),
    ("li.na@example.com", True), ("LI.NA@Example.com", True), ("li@example.com", False),
    ("", False), (None, False),
])
def test_contact_matches(typed, ok):
    assert P.contact_matches(typed, "13812345678", "li.na@example.com") is ok


def test_contact_without_email_or_phone_never_matches():
    assert not P.contact_matches("a@b.c", "13812345678", None)
    assert not P.contact_matches("5678", None, "a@b.c")
    assert not P.contact_matches("", None, None)


@pytest.mark.parametrize("raw, number", [("ts-20261130-0001", "TS-20261130-0001"),
                                         (" TS-20261130-0001 ", "TS-20261130-0001"),
                                         ("<script>", None), ("TS-1", None), ("", None),
                                         ("TS-20261130-" + "1" * 30, None)])
def test_normalize_number(raw, number):
    assert P.normalize_number(raw) == number


def test_lookup_needs_both_fields():
    with pytest.raises(InputErrors) as info:
        P.check_lookup("", " ")
    assert fields_of(info.value) == {"number", "contact"}
    assert P.check_lookup("junk", "5678") == ""  # malformed: looked up as nothing


T = datetime(2026, 12, 1, 17, 0)
LATER = datetime(2026, 12, 10, 17, 0)


@pytest.mark.parametrize("status", Status.ALL)
def test_every_status_has_customer_words(status):
    view = P.customer_view("TS-1", status, T, LATER, "换新")
    assert view.status_text == P.CUSTOMER_STATUS[status]


def test_deadline_and_result_by_status():
    assert P.customer_view("n", Status.REGISTERED, T, None, None).answer_due == T
    assert P.customer_view("n", Status.FORWARDED, T, LATER, None).answer_due == LATER
    assert P.customer_view("n", Status.IN_PROGRESS, T, None, None).answer_due == T
    resolved = P.customer_view("n", Status.RESOLVED, T, LATER, "换新")
    assert resolved.answer_due is None and resolved.result is None  # under review
    closed = P.customer_view("n", Status.CLOSED, T, LATER, "换新")
    assert closed.answer_due is None and closed.result == "换新"
    assert P.customer_view("n", Status.REJECTED, T, LATER, "x").result is None


def test_file_count():
    P.check_file_count(3, 3)
    with pytest.raises(RuleError) as info:
        P.check_file_count(4, 3)
    assert fields_of(info.value) == {"attachments"}


def test_throttle_keys_are_per_address():
    assert P.submit_key("10.0.0.1") == "web:10.0.0.1"
    assert P.lookup_key(None) == "lookup:unknown"
    assert len(P.submit_key("x" * 1000)) <= 160
