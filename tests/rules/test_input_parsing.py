"""What people type, as the rules read it: amounts with separators and currency signs,
phone numbers with +86 and separators; every wrong input reported at once, each with its
field; forwarding refused to a department without an active head."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules import Actor, DepartmentFacts, Facts, InvalidInput, MissingInput, Target, check
from rules.errors import InputErrors, each_error
from rules.fields import parse_amount, parse_phone
from rules.intake import check_register, mask_phone
from rules.procedure import forward_refusal

NOW = datetime(2026, 11, 30, 10, 0)
BASE = {"customer_name": "张三", "title": "t", "description": "d",
        "customer_phone": "13812345678"}


# --- amounts ------------------------------------------------------------------------------

@pytest.mark.parametrize("text,want", [
    ("1200", "1200"), ("1,200", "1200"), ("200元", "200"), ("¥200", "200"),
    ("￥1,200.50", "1200.50"), ("１２００", "1200"), ("１，２００．５", "1200.5"),
    (" 3 000 ", "3000"), ("RMB 300", "300"), ("300 元", "300"), ("人民币300元", "300"),
    ("12,345,678.9", "12345678.9"), ("0", "0"), ("0.5", "0.5"), (".5", "0.5"),
    ("9,999,999,999.99", "9999999999.99"), ("200元整", "200"), ("cny 20", "20"),
])
def test_amounts_as_people_write_them(text, want):
    """Thousands separators, ¥ / ￥ / 元 / RMB and full-width digits are accepted."""
    assert parse_amount(text) == Decimal(want)


@pytest.mark.parametrize("text", [
    "abc", "1,2", "1,20", "12,34", "1,2000", ",100", "100,", "1.2.3", "¥", "元", "",
    "1e3", "NaN", "inf", "-5", "1.005", "10,000,000,000", "$100", "100 dollars", "٣٠٠",
    "¥¥200",
])
def test_amounts_refused_say_what_is_expected(text):
    """Anything else is refused with a sentence that says which amounts are fine."""
    with pytest.raises(InvalidInput) as info:
        parse_amount(text)
    assert "compensation amount" in str(info.value)


@given(st.decimals(min_value=0, max_value=Decimal("9999999999.99"), places=2))
def test_any_amount_written_with_separators_and_sign_reads_back(amount):
    """Every valid amount, written "￥1,234.56" or "1234.56元", reads back to itself."""
    grouped = f"{amount:,.2f}"
    assert parse_amount(f"￥{grouped}") == amount
    assert parse_amount(f"{amount}元") == amount


@given(st.text(max_size=20))
def test_any_text_is_an_amount_or_a_refusal(text):
    """No input crashes the parser: a Decimal in range, or InvalidInput."""
    try:
        value = parse_amount(text)
    except InvalidInput:
        return
    assert Decimal(0) <= value < Decimal("10000000000")


# --- phones -------------------------------------------------------------------------------

@pytest.mark.parametrize("text,want", [
    ("13812345678", "13812345678"), ("+86 138-1234-5678", "13812345678"),
    ("0086 13812345678", "13812345678"), ("+86（138）1234 5678", "13812345678"),
    ("8613812345678", "13812345678"), ("138.1234.5678", "13812345678"),
    ("１３８１２３４５６７８", "13812345678"), ("(010) 6543-2100", "01065432100"),
    ("010-65432100", "01065432100"), ("0755 8888 8888", "075588888888"),
    ("+86 010 6543 2100", "01065432100"),
    ("400-123-4567", "4001234567"), ("+852 9123 4567", "+85291234567"),
    ("00852 9123 4567", "+85291234567"),
])
def test_phones_as_people_write_them(text, want):
    """+86 / 0086, spaces, dashes, dots and brackets (full-width too) are accepted; the
    number is stored normalised."""
    assert parse_phone(text) == want


@pytest.mark.parametrize("text", [
    "65432100", "1381234567", "138123456789", "12812345678", "abc", "138-1234-567x",
    "", "+", "0000000000", "+86", "010-123", "+0 123 4567",
])
def test_phones_refused_say_what_is_expected(text):
    """A number without area code, of the wrong length or with letters is refused with the
    format expected."""
    with pytest.raises(InvalidInput) as info:
        parse_phone(text)
    assert "11-digit mobile" in str(info.value)


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
       st.sampled_from(["", "+86 ", "0086", "+86-", "86"]),
       st.sampled_from([" ", "-", "", "."]))
def test_any_mobile_with_prefix_and_separators_is_stored_bare(mobile, prefix, sep):
    """Every mobile, with any country prefix and separators, is stored as its 11 digits,
    and the mask shows its first 3 and last 4 digits."""
    written = prefix + sep.join((mobile[:3], mobile[3:7], mobile[7:]))
    assert parse_phone(written) == mobile
    assert mask_phone(parse_phone(written)) == mobile[:3] + "****" + mobile[7:]


@given(st.text(max_size=24))
def test_any_text_is_a_phone_or_a_refusal(text):
    """No input crashes the parser; an accepted number is digits (or + and digits)."""
    try:
        value = parse_phone(text)
    except InvalidInput:
        return
    assert value.lstrip("+").isdigit() and value.isascii()


def test_registration_stores_the_normalised_phone_and_its_mask():
    """check_register keeps the normalised number; masking masks that number."""
    clean = check_register("intake", {**BASE, "customer_phone": "+86 139-0013-9000"}, NOW)
    assert clean["customer_phone"] == "13900139000" == clean["customer_phone_norm"]
    assert mask_phone(clean["customer_phone"]) == "139****9000"


# --- every error at once ------------------------------------------------------------------

def test_registration_reports_every_problem_with_its_field():
    """A bad phone, a bad e-mail, no title and a future receipt: four refusals, one each."""
    data = {**BASE, "customer_phone": "12345", "customer_email": "x@", "title": " ",
            "received_at": datetime(2026, 12, 1, 9, 0)}
    with pytest.raises(InputErrors) as info:
        check_register("intake", data, NOW)
    fields = [e.field for e in each_error(info.value)]
    assert sorted(fields) == ["customer_email", "customer_phone", "received_at", "title"]
    assert str(info.value) == str(each_error(info.value)[0])


def test_one_problem_is_raised_as_itself_with_its_field():
    """A single refusal keeps its own type (MissingInput) and names its field."""
    with pytest.raises(MissingInput) as info:
        check_register("intake", {**BASE, "customer_name": ""}, NOW)
    assert info.value.field == "customer_name"
    assert each_error(info.value) == (info.value,)


def test_an_action_reports_every_missing_or_wrong_input():
    """Resolving with no root cause, a wrong remedy and a bad amount: three refusals."""
    facts = Facts(status="in_progress", category="service", department_id=10, assignee_id=12)
    inputs = {"root_cause": "", "responsibility": "company", "remedy": "magic",
              "compensation_amount": "1,2", "resolution": "Done."}
    with pytest.raises(InputErrors) as info:
        check("resolve", facts, Actor(12, "handler", 10), inputs, NOW)
    assert sorted(e.field for e in each_error(info.value)) == [
        "compensation_amount", "remedy", "root_cause"]


def test_an_amount_with_separator_and_sign_resolves():
    """"¥1,200" is a compensation of 1200.00."""
    facts = Facts(status="in_progress", category="service", department_id=10, assignee_id=12)
    inputs = {"root_cause": "Batch.", "responsibility": "company", "remedy": "compensation",
              "compensation_amount": "¥1,200", "resolution": "Paid."}
    decision = check("resolve", facts, Actor(12, "handler", 10), inputs, NOW)
    assert decision.changes["compensation_amount"] == Decimal("1200")


# --- forwarding: a department without an active head ----------------------------------

@pytest.mark.parametrize("dept,says", [
    (DepartmentFacts(20), None),
    (DepartmentFacts(20, has_head=False), "no active head"),
    (DepartmentFacts(20, staffed=False, has_head=False), "Nobody in that department"),
    (DepartmentFacts(20, active=False), "not active"),
    (DepartmentFacts(20, is_customer_service=True), "not to customer service"),
    (None, "not active"),
])
def test_forward_refusal_per_department(dept, says):
    """The forward form's question about each department: why not, or None."""
    reason = forward_refusal(dept, current_department_id=None)
    assert (reason is None) if says is None else (says in str(reason))


def test_forward_to_a_department_without_head_is_refused_on_its_field():
    """check() refuses it, the refusal marked as about the target department."""
    facts = Facts(status="accepted", category="service")
    target = Target(department_id=20, department=DepartmentFacts(20, has_head=False))
    with pytest.raises(InvalidInput) as info:
        check("forward", facts, Actor(1, "intake", 1), {"department_id": 20}, NOW,
              target=target)
    assert info.value.field == "department_id"
    assert "no active head" in str(info.value)


def test_an_edit_keeps_a_number_on_file_that_older_rules_let_in():
    """A 7-digit number registered before issue 11 is kept when sent back unchanged; a new
    number typed the same way is refused."""
    old = {**BASE, "customer_phone": "5550172"}
    assert check_register("intake", old, NOW, kept_phone="5550172")["customer_phone"] == "5550172"
    with pytest.raises(InvalidInput):
        check_register("intake", old, NOW, kept_phone="13812345678")
