"""The inputs an action declares, and how each is checked (with the reason in plain words)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from .bounds import MAX_YEAR, MIN_YEAR, date_in_window
from .errors import N_, InvalidInput, MissingInput

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
        return _CLEANERS[self.kind](self, value)


def missing(name: str) -> MissingInput:
    return MissingInput(N_("Please fill in the %(field_name)s."), field_name=FIELD_NAMES[name])


def _invalid(name: str) -> InvalidInput:
    return InvalidInput(N_("The %(field_name)s is not one of the allowed values."),
                        field_name=FIELD_NAMES[name])


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
    """A sum in yuan: 0 to 9,999,999,999.99, at most two decimals (column Numeric(12, 2))."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(N_("The compensation amount must be a number.")) from None
    if not amount.is_finite():  # NaN / Infinity would make the checks below raise
        raise InvalidInput(N_("The compensation amount must be a number."))
    try:
        exact = amount == amount.quantize(Decimal("0.01"))
    except InvalidOperation:  # too many digits to quantize (e.g. 1e30)
        exact = False
    if amount < 0 or not exact or amount >= MAX_COMPENSATION:
        raise InvalidInput(N_("The compensation amount must be a sum in yuan from 0 to "
                              "9,999,999,999.99, with at most two decimals."))
    return amount


_CLEANERS = {TEXT: _text, CHOICE: _choice, FLAG: _flag, WHEN: _when, AMOUNT: _amount,
             REF: _ref}
