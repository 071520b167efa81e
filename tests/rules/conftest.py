"""Fixtures for the rules tests: no Flask app, no database.

The calendar is built from chinese_calendar's data exactly as production builds it
(the rules package itself never imports chinese_calendar).
"""

from __future__ import annotations

import re

import pytest

from rules.calendar import BusinessCalendar, statutory_years
from rules.errors import RuleError

# A refusal is shown to the user as is: an English sentence, placeholders filled in.
_SENTENCE = re.compile(r"^[A-Z][\x20-\x7e]*[.!?]$")


def build_calendar(overrides=None) -> BusinessCalendar:
    import chinese_calendar.constants as cc

    return BusinessCalendar(
        cc.holidays.keys(),
        cc.workdays.keys(),
        statutory_years(cc.holidays, cc.workdays),
        overrides,
    )


def check_refusal_sentence(err: BaseException) -> str:
    assert isinstance(err, RuleError), f"{type(err).__name__} is not a RuleError"
    text = str(err)
    assert text.strip(), "a refusal must say why"
    assert "%(" not in text and "%s" not in text, f"unfilled placeholder in {text!r}"
    assert _SENTENCE.match(text), f"not a plain English sentence: {text!r}"
    return text


@pytest.fixture(scope="session")
def make_calendar():
    """A factory: a fresh BusinessCalendar (own fallback_years) per call."""
    return build_calendar


@pytest.fixture
def cal() -> BusinessCalendar:
    """A fresh production-like calendar with no company overrides."""
    return build_calendar()


@pytest.fixture(scope="session")
def refusal_sentence():
    """Assert that an error is a RuleError whose str() is a non-empty English sentence."""
    return check_refusal_sentence
