"""The inputs an action declares, and how each is checked (with the reason in plain words)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from .bounds import MAX_YEAR, MIN_YEAR, date_in_window
from .errors import N_, InvalidInput, MissingInput, about

MAX_COMPENSATION = Decimal("10000000000")  # what the Numeric(12, 2) column holds
MAX_TEXT = 4000

TEXT, CHOICE, FLAG, WHEN, AMOUNT, REF = "text", "choice", "flag", "when", "amount", "ref"

FIELD_NAMES = {
    "reason": N_("reason"),
    "department_id": N_("target department"),
    "assignee_id": N_("handler"),
    "root_cause": N_("root cause"),
    "responsibility": N_("responsibility"),
    "remedy": N_("remedy"),
    "resolution": N_("resolution"),
    "compensation_amount": N_("compensation amount"),
    "method": N_("callback method"),
    "reached": N_("whether the customer was reached"),
    "satisfaction": N_("satisfaction"),
    "solved": N_("whether the problem is solved"),
    "notes": N_("notes"),
    "new_due": N_("new deadline"),
    "approve": N_("decision"),
    "note": N_("note"),
    "master_number": N_("number of the complaint to merge into"),
    "plan": N_("handling plan"),
    "agreed": N_("customer's answer"),
    "caused_by_id": N_("person who caused it"),
    "caused_by_text": N_("outside party who caused it"),
}


@dataclass(frozen=True)
class Field:
    """One input of an action: its name (also the form field's), kind and constraints."""

    name: str
    kind: str = TEXT
    required: bool = True
    choices: tuple[str, ...] = ()
    max_length: int = MAX_TEXT

    def clean(self, inputs: Mapping):
        """The checked value (None when optional and empty), or a RuleError saying why not."""
        value = inputs.get(self.name)
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            if self.required:
                raise missing(self.name)
            return None
        try:
            return _CLEANERS[self.kind](self, value)
        except InvalidInput as err:
            raise about(self.name, err) from None


def missing(name: str) -> MissingInput:
    return about(name, MissingInput(N_("Please fill in the %(field_name)s."),
                                    field_name=FIELD_NAMES[name]))


def _invalid(name: str) -> InvalidInput:
    return about(name, InvalidInput(N_("The %(field_name)s is not one of the allowed values."),
                                    field_name=FIELD_NAMES[name]))


def _text(field: Field, value):
    if not isinstance(value, str):
        raise _invalid(field.name)
    if len(value) > field.max_length:
        raise InvalidInput(N_("The %(field_name)s is too long: at most %(max)d characters."),
                           field_name=FIELD_NAMES[field.name], max=field.max_length)
    return value


def _choice(field: Field, value):
    if value not in field.choices:
        raise _invalid(field.name)
    return value


def _flag(field: Field, value):
    if not isinstance(value, bool):
        raise missing(field.name)
    return value


def _when(field: Field, value):
    if not isinstance(value, datetime):
        raise missing(field.name)
    if not date_in_window(value):  # e.g. a new deadline in 1900 or 9999
        raise InvalidInput(N_("The %(field_name)s must be between the years %(first)d and "
                              "%(last)d."), field_name=FIELD_NAMES[field.name],
                           first=MIN_YEAR, last=MAX_YEAR)
    return value


def _ref(field: Field, value):
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _invalid(field.name) from None


def _amount(field: Field, value):
    return parse_amount(value)


# --- what people type: amounts and phone numbers -------------------------------------------

# A currency sign or word before or after the number: ¥ / ￥ (NFKC makes both ¥), 元, RMB, CNY.
_CURRENCY = re.compile(r"^(?:¥|RMB|CNY|人民币)?(?P<number>.*?)(?:元|元整|RMB|CNY)?$", re.I)
# Digits with thousands separators in groups of three ("1,200", "12,345.50"), or none.
_GROUPED = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?$|^[+-]?\.\d+$")

AMOUNT_NOT_A_NUMBER = N_("The compensation amount must be a sum in yuan, such as 1200, "
                         "1,200.50 or 200 yuan.")


def parse_amount(value) -> Decimal:
    """A sum in yuan as people write it: "1,200", "200元", "¥200", "￥1,200.50", full-width
    digits; 0 to 9,999,999,999.99 with at most two decimals (column Numeric(12, 2)).

    Commas must group thousands ("1,2" is refused: in some countries it means 1.2).
    """
    if isinstance(value, Decimal | int) and not isinstance(value, bool):
        text = str(value)
    elif isinstance(value, str):
        text = unicodedata.normalize("NFKC", value)  # full-width digits, ￥ → ¥, ， → ,
        text = re.sub(r"\s+", "", text).replace("．", ".")
        text = _CURRENCY.match(text).group("number")
        if not (text.isascii() and _GROUPED.match(text)):
            raise InvalidInput(AMOUNT_NOT_A_NUMBER)
        text = text.replace(",", "")
    else:
        raise InvalidInput(AMOUNT_NOT_A_NUMBER)
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise InvalidInput(AMOUNT_NOT_A_NUMBER) from None
    if not amount.is_finite():  # NaN / Infinity would make the checks below raise
        raise InvalidInput(AMOUNT_NOT_A_NUMBER)
    try:
        exact = amount == amount.quantize(Decimal("0.01"))
    except InvalidOperation:  # too many digits to quantize (e.g. 1e30)
        exact = False
    if amount < 0 or not exact or amount >= MAX_COMPENSATION:
        raise InvalidInput(N_("The compensation amount must be a sum in yuan from 0 to "
                              "9,999,999,999.99, with at most two decimals."))
    return amount


PHONE_NOT_VALID = N_("The phone number does not look valid: give an 11-digit mobile number, or "
                     "a landline with its area code (such as 010-6543 2100); +86 and spaces, "
                     "dashes or brackets are fine.")
_PHONE_SEPARATORS = re.compile(r"[\s\-().·/]+")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0[1-9]\d{8,10}$")  # area code 0xx / 0xxx, then 7 or 8 digits
_SERVICE = re.compile(r"^[48]00\d{7}$")  # 400 / 800 numbers
_ABROAD = re.compile(r"^\+(?!86)[1-9]\d{6,14}$")  # another country's number, E.164


def parse_phone(value: str) -> str:
    """The number as stored: a Chinese number's digits without +86 / 0086 and without
    separators ("+86 138-1234-5678" → "13812345678", "(010) 6543-2100" → "01065432100"),
    or another country's as "+<digits>"; InvalidInput saying what is expected otherwise.
    """
    text = unicodedata.normalize("NFKC", value or "").strip()  # full-width digits, （）
    text = _PHONE_SEPARATORS.sub("", text)
    if text.startswith("00") and not text.startswith("0086"):
        text = "+" + text[2:]  # 00852… is +852…
    if text.startswith("+86"):
        text = text[3:]
    elif text.startswith("0086"):
        text = text[4:]
    elif text.startswith("86") and len(text) == 13:
        text = text[2:]
    if _ABROAD.match(text):
        return text
    if text.startswith("0") and len(text) > 1 and text[1] == "0":
        raise InvalidInput(PHONE_NOT_VALID)
    if text.isascii() and (_MOBILE.match(text) or _LANDLINE.match(text) or _SERVICE.match(text)):
        return text
    raise InvalidInput(PHONE_NOT_VALID)


_CLEANERS = {TEXT: _text, CHOICE: _choice, FLAG: _flag, WHEN: _when, AMOUNT: _amount,
             REF: _ref}
