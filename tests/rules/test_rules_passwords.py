"""rules.passwords: length, common and pattern passwords, the user name, the estimator's score."""

from __future__ import annotations

import string

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from rules import passwords as P
from rules.errors import InvalidInput

# The passwords the security review found accepted, and the well-known ones around them.
WEAK = ["password", "12345678", "aaaaaaaa", "password123", "qwertyuiop", "Password1234",
        "P@ssw0rd2024!", "passw0rd!!", "1234567890", "0987654321", "aaaaaaaaaaaa",
        "abcdefghij", "abcdefgh12", "abcabcabcabc", "12121212121212", "qwerty123456",
        "1qaz2wsx3edc", "asdfghjkl;", "iloveyou2026", "Welcome2026!", "admin@123456",
        "zxcvbnm,./12", "  password  ", "changeme2026", "woaini1314520", "!!!!!!!!!!!!"]
GOOD = ["demo-pass-2026", "test-pass-123", "correct-horse-7", "purple monkey dishwasher",
        "Tr0ub4dor&3x-k", "fresh-pass-1", "new-pass-456", "mine-new-123", "hijacked-123",
        "这是一个很长的密码短语呀"]


@pytest.mark.parametrize("password", ["password", "12345678", "aaaaaaaa", "password123",
                                      "qwertyuiop"])
def test_review_findings_are_refused(password):
    """The five passwords named in the issue are refused, with a reason in plain words."""
    with pytest.raises(InvalidInput) as err:
        P.check_password(password, "intake")
    assert err.value.msgid in (P.TOO_SHORT, P.TOO_COMMON)
    assert str(err.value).endswith(".") and "%" not in str(err.value)


@pytest.mark.parametrize("password", WEAK)
def test_weak_passwords_are_refused_even_without_an_estimator(password):
    """Without zxcvbn (score None) the shipped list and patterns refuse them all."""
    assert P.password_problem(password, "someone", score=None) is not None


@pytest.mark.parametrize("password", [p for p in WEAK if len(p) >= P.MIN_LENGTH])
def test_long_enough_weak_passwords_are_refused_as_common(password):
    """Long enough but guessable: the reason is "too common", not the length."""
    assert P.password_problem(password, "someone") == (P.TOO_COMMON, {})


@pytest.mark.parametrize("password", GOOD)
def test_good_passwords_pass(password):
    """The demo's and the tests' passwords, and passphrases, are accepted."""
    assert P.password_problem(password, "intake", score=4) is None
    assert P.password_problem(password, "intake", score=None) is None
    P.check_password(password, "intake", score=3)


def test_length_bounds():
    """9 characters refused, 10 accepted; 128 accepted, 129 refused — each with its number."""
    base = "Vq7#mZ2!kR"  # 10 characters, no pattern
    assert P.password_problem(base[:9]) == (P.TOO_SHORT, {"n": 10})
    assert P.password_problem(base) is None
    long = (base * 13)[:128]
    assert P.password_problem(long + "x") == (P.TOO_LONG, {"n": 128})
    assert P.password_problem("Vq7#mZ2!kR-" + "x9Lp" * 29) is None  # 127, not periodic
    assert P.password_problem(None) == (P.TOO_SHORT, {"n": 10})
    assert P.password_problem("") == (P.TOO_SHORT, {"n": 10})


def test_the_message_says_the_number():
    with pytest.raises(InvalidInput) as err:
        P.check_password("short")
    assert str(err.value) == "A password needs at least 10 characters."


@pytest.mark.parametrize("username, password", [
    ("intake", "my-intake-pass-99"), ("intake", "INTAKE-horse-42"), ("Li.Lei", "li.lei-rocks-77"),
    ("head_qa", "head_qa_garden_7"),
])
def test_user_name_inside_is_refused_whatever_the_case(username, password):
    assert P.password_problem(password, username, score=4) == (P.HAS_USERNAME, {})


def test_very_short_user_names_are_not_searched_for():
    """A one- or two-letter user name would forbid half of all passwords: not checked."""
    assert P.password_problem("a-long-garden-hose", "a", score=4) is None
    assert P.password_problem("a-long-garden-hose", "on", score=4) is None
    assert P.password_problem("a-long-garden-hose", None, score=4) is None


@pytest.mark.parametrize("score, refused", [(0, True), (1, True), (2, True), (3, False),
                                            (4, False), (None, False)])
def test_the_estimators_score_decides_below_three(score, refused):
    """zxcvbn's score under 3 refuses an otherwise fine password as too common."""
    problem = P.password_problem("purple monkey dishwasher", "intake", score=score)
    assert (problem == (P.TOO_COMMON, {})) is refused
    assert refused or problem is None


def test_order_of_reasons():
    """Length first, then the user name, then guessability."""
    assert P.password_problem("intake", "intake", score=0)[0] == P.TOO_SHORT
    assert P.password_problem("intake-password", "intake", score=0)[0] == P.HAS_USERNAME


@given(st.text(alphabet=string.printable, max_size=200), st.text(max_size=20),
       st.one_of(st.none(), st.integers(min_value=0, max_value=4)))
def test_policy_properties(password, username, score):
    """For any input: accepted only if 10–128 characters, without the (3+ letter) user name,
    not common and scored at least 3 (when scored); a refusal is one of the four reasons."""
    problem = P.password_problem(password, username, score=score)
    ok = (P.MIN_LENGTH <= len(password) <= P.MAX_LENGTH
          and not P.contains_username(password, username)
          and not P.is_common(password) and (score is None or score >= P.MIN_SCORE))
    assert (problem is None) == ok
    if problem is not None:
        assert problem[0] in (P.TOO_SHORT, P.TOO_LONG, P.HAS_USERNAME, P.TOO_COMMON)


@given(st.sampled_from(sorted(P.COMMON_WORDS)), st.text(alphabet="0123456789!@#$.", max_size=6),
       st.text(alphabet="0123456789!@#$.", max_size=6), st.booleans())
def test_common_word_dressed_up_is_still_common(word, before, after, upper):
    """A common word with digits or symbols around it, in any case, is refused."""
    candidate = before + (word.upper() if upper else word.capitalize()) + after
    assert P.is_common(candidate)


@given(st.characters(codec="utf-8", exclude_categories=("Cs",)), st.integers(min_value=10,
                                                                              max_value=60))
def test_one_character_repeated_is_common(ch, n):
    assert P.is_common(ch * n)


@given(st.text(alphabet=string.ascii_letters + string.digits, min_size=2, max_size=5),
       st.integers(min_value=2, max_value=12))
def test_a_short_piece_repeated_is_common(piece, times):
    assume(len(piece * times) >= P.MIN_LENGTH)
    assert P.is_common(piece * times)


@pytest.mark.parametrize("start", range(0, 16))
def test_alphabet_and_digit_runs_are_common(start):
    letters = string.ascii_lowercase[start:start + 10]
    assert P.is_common(letters) and P.is_common(letters[::-1]) and P.is_common(letters.upper())


def test_contains_username():
    assert P.contains_username("xxINTAKExx", "intake")
    assert not P.contains_username("xxintakxx", "intake")
    assert not P.contains_username("anything", "  ")
