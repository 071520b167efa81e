"""Masking customers' contacts (rules.intake.mask_phone, rules.privacy.mask_text) and the
bounds of what registration and the resolve action accept (issue 8, item 2)."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules import (
    Actor,
    Facts,
    InvalidInput,
    check,
    check_register,
    mask_email,
    mask_phone,
)
from rules.privacy import mask_text, may_see_contact

DIGITS = st.text(alphabet="0123456789", min_size=4, max_size=16)


def _shown(masked: str) -> tuple[str, str]:
    """The digits a mask keeps before and after its stars."""
    m = re.fullmatch(r"(\d*)(\**)(\d*)", masked)
    assert m is not None, masked
    head, stars, tail = m.groups()
    assert stars, f"nothing hidden in {masked!r}"
    return head, tail


def _without_country_prefix(digits: str) -> str:
    if digits.startswith("0086") and len(digits) >= 11:
        return digits[4:]
    if digits.startswith("86") and len(digits) == 13:
        return digits[2:]
    return digits


# --- mask_phone ---------------------------------------------------------------------------


@settings(max_examples=600, deadline=None)
@given(DIGITS)
def test_mask_phone_hides_enough_of_every_length(digits):
    """4..16 digits: at least 4 hidden from 8 digits on; at most half shown up to 10
    digits; from 11 on the usual mobile mask (first 3, last 4), never more."""
    n = len(digits)
    masked = mask_phone(digits)
    head, tail = _shown(masked)
    shown = len(head) + len(tail)
    hidden = n - shown
    number = _without_country_prefix(digits)
    assert number.startswith(head) and digits.endswith(tail)
    assert len(masked) == len(number)  # one star per hidden digit
    if n >= 8:
        assert hidden >= 4
    if len(number) <= 10:
        assert shown * 2 <= n, f"{digits} → {masked} shows more than half"
    else:
        assert len(head) <= 3 and len(tail) <= 4
    # The masked form never holds the number itself, nor 5 of its digits in a row
    # beyond the 4 last ones (an 11-digit number keeps "138" and "5678").
    assert digits not in masked


@pytest.mark.parametrize("phone,masked", [
    ("6543210", "*****10"),  # the mutation test's 7 digits: no longer shown in full
    ("12345", "***45"),
    ("1234", "**34"),
    ("123", "***"),
    ("65432100", "6*****00"),
    ("0101234567", "0*******67"),
    ("13812345678", "138****5678"),
    ("138 1234-5678", "138****5678"),
    ("+86 138 1234 5678", "138****5678"),
    ("0086-13812345678", "138****5678"),
    ("123456789012345", "123********2345"),
    ("", ""),
    (None, None),
])
def test_mask_phone_examples(phone, masked):
    assert mask_phone(phone) == masked


def test_mask_email_keeps_only_the_first_letter_and_the_domain():
    assert mask_email("li.na@example.com") == "l***@example.com"
    assert mask_email("no-at-sign") == "no-at-sign"


# --- mask_text ----------------------------------------------------------------------------


@pytest.mark.parametrize("text,want", [
    ("call 138 1234 5678 or li.na@example.com",
     "call 138****5678 or l***@example.com"),
    ("customer_phone: 15654591082 → 13912345678",
     "customer_phone: 156****1082 → 139****5678"),
    ("customer_email: a.b@example.com → zz@example.cn",
     "customer_email: a***@example.com → z***@example.cn"),
    ("客户电话13812345678，邮箱wang@example.com，请回电",
     "客户电话138****5678，邮箱w***@example.com，请回电"),
    ("+86 138-1234-5678.", "138****5678."),
    ("(010) 8765 4321", "010****4321"),
    ("landline 6543210 please", "landline *****10 please"),
    ("13812345678@qq.com", "1***@qq.com"),
])
def test_mask_text_masks_phones_and_emails(text, want):
    assert mask_text(text) == want


@pytest.mark.parametrize("text", [
    "received_at: 2026-11-01 10:00:00 → 2026-11-02 09:30:00",
    "duplicate of TS-20261123-0001",
    "compensation_amount: 1500000.00 → 12345678.50",
    "order 123456, 3 units, 2026-11-23",
    "客户表示满意 / customer satisfied",
    "",
    None,
])
def test_mask_text_leaves_dates_numbers_and_amounts(text):
    assert mask_text(text) == text


@settings(max_examples=300, deadline=None)
@given(prefix=st.text(alphabet="abc 客户：,.", max_size=8),
       phone=st.text(alphabet="0123456789", min_size=7, max_size=15),
       sep=st.sampled_from(["", " ", "-"]),
       suffix=st.text(alphabet="abc 客户：,", max_size=8))
def test_mask_text_never_shows_a_phone_whole(prefix, phone, sep, suffix):
    """Any 7–15 digit run inside text, grouped by spaces or dashes, loses at least half
    of its digits (4 from 8 digits on) — and never appears whole."""
    grouped = sep.join(phone[i:i + 4] for i in range(0, len(phone), 4))
    out = mask_text(f"{prefix}{grouped}{suffix}")
    assert phone not in re.sub(r"[\s-]", "", out)
    assert out.startswith(prefix) and out.endswith(suffix)
    shown = len(re.findall(r"\d", out))
    if len(phone) >= 8:
        assert len(phone) - shown >= 4


def test_supervisor_and_executive_get_masked_contacts():
    assert not may_see_contact("supervisor") and not may_see_contact("executive")
    assert may_see_contact("intake") and may_see_contact("handler")


# --- bounds through the rules -------------------------------------------------------------

NOW = datetime(2026, 11, 23, 9, 0)
BASE = {"customer_name": "张三", "title": "t", "description": "d"}


@pytest.mark.parametrize("phone,stored", [
    ("1" * 5, None), ("138" + "1" * 7, None), ("138" + "1" * 8, "138" + "1" * 8),
    ("138" + "1" * 9, None), ("0" + "1" * 15, None), ("+86 138 1111 1111", "13811111111"),
])
def test_registration_phone_bounds(phone, stored):
    """Registration accepts an 11-digit mobile (or a landline with its area code), stored
    normalised; 5 digits, 10 or 12 digits starting with 138 and 16 digits are refused."""
    data = {**BASE, "customer_phone": phone}
    if stored:
        clean = check_register("intake", data, now=NOW)
        assert clean["customer_phone"] == clean["customer_phone_norm"] == stored
    else:
        with pytest.raises(InvalidInput):
            check_register("intake", data, now=NOW)


RESOLVE_FACTS = Facts(status="in_progress", category="service", department_id=10,
                      assignee_id=12, resolve_due=datetime(2026, 11, 30, 23, 59, 59))
HANDLER = Actor(12, "handler", 10)
RESULT = {"root_cause": "Faulty batch.", "responsibility": "company",
          "remedy": "compensation", "resolution": "Paid."}


@pytest.mark.parametrize("amount,accepted", [
    ("0", True), ("9999999999.99", True), ("10000000000.00", False),
])
def test_compensation_bounds(amount, accepted):
    """0 and 9,999,999,999.99 are accepted; one cent more is refused."""
    inputs = {**RESULT, "compensation_amount": amount}
    if accepted:
        decision = check("resolve", RESOLVE_FACTS, HANDLER, inputs, NOW)
        assert decision.inputs["compensation_amount"] == Decimal(amount)
    else:
        with pytest.raises(InvalidInput):
            check("resolve", RESOLVE_FACTS, HANDLER, inputs, NOW)
