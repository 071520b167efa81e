"""Password policy (pure): long enough, not common or easy to guess, not the user name.

The rules here need no library: a length range, a short list of the passwords and base
words that top every published leak list, and simple patterns (one character repeated,
a run like ``abcdef`` or ``98765``, a keyboard row, a short piece repeated, a common word
with digits or symbols around it). The services add the judgement of a strength estimator
(zxcvbn, score 0–4) when it is installed and pass it in as ``score``; a score under
:data:`MIN_SCORE` is refused like a common password.
"""

from __future__ import annotations

from .errors import N_, InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 128
# zxcvbn's scale: 0 too guessable … 4 very unguessable; 3 = "safely unguessable".
MIN_SCORE = 3

TOO_SHORT = N_("A password needs at least %(n)d characters.")
TOO_LONG = N_("A password can have at most %(n)d characters.")
TOO_COMMON = N_("This password is too common or too easy to guess. "
                "Use a longer phrase of unrelated words.")
HAS_USERNAME = N_("A password must not contain the user name.")

# The most common passwords of the public leak lists (lower case), and the base words
# they are built from ("password1!", "Qwerty2024", "admin@123" …).
COMMON_PASSWORDS = frozenset("""
123456 123456789 12345678 1234567890 12345 1234567 password password1 password123
qwerty qwerty123 qwertyuiop 111111 000000 123123 abc123 1q2w3e4r 1q2w3e4r5t qwe123
iloveyou admin admin123 welcome welcome1 monkey dragon letmein football baseball
sunshine princess master shadow superman trustno1 654321 666666 888888 987654321
123321 121212 112233 passw0rd p@ssword p@ssw0rd zaq12wsx 1qaz2wsx qazwsx asdfghjkl
zxcvbnm zxcvbnm123 asdf1234 a123456 aa123456 123qwe qwer1234 woaini 5201314 woaini1314
iloveyou1 changeme secret login access hello hello123 test test123 guest root
administrator default computer internet starwars whatever freedom michael jennifer
""".split())
COMMON_WORDS = frozenset("""
password passwort passw0rd p@ssword p@ssw0rd pass qwerty qwertz azerty admin
administrator welcome letmein iloveyou monkey dragon master shadow sunshine princess
football baseball superman changeme secret login access hello test guest root user
default computer internet company complaint complaints service woaini
""".split())
KEYBOARD_ROWS = ("`1234567890-=", "qwertyuiop[]\\", "asdfghjkl;'", "zxcvbnm,./",
                 "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p", "qazwsxedcrfvtgbyhnujmikolp")
# A run of this many neighbouring characters (either direction) makes a password guessable
# when the run is most of it.
MIN_RUN = 4
_LEET = str.maketrans({"@": "a", "4": "a", "0": "o", "1": "i", "!": "i", "3": "e",
                       "$": "s", "5": "s", "7": "t", "+": "t"})


def _strip_ends(text: str) -> str:
    """The word inside: digits and symbols cut from both ends ("!!Password2024" → "password")."""
    return text.strip("0123456789!@#$%^&*()_-+=.,;:?~`'\"[]{}<>/\\| ")


def _is_periodic(text: str) -> bool:
    """A short piece repeated: "abcabcabc", "12121212"."""
    return len(text) > 1 and text in (text + text)[1:-1]


def _longest_sequence(text: str) -> int:
    """The longest run of neighbouring characters: "abcd", "4321", "qwer" (keyboard)."""
    best = 1 if text else 0
    for alphabet in ("abcdefghijklmnopqrstuvwxyz", "0123456789") + KEYBOARD_ROWS:
        for source in (alphabet, alphabet[::-1]):
            run = 1
            for prev, cur in zip(text, text[1:], strict=False):
                i = source.find(prev)
                run = run + 1 if i >= 0 and i + 1 < len(source) and source[i + 1] == cur else 1
                best = max(best, run)
    return best


def is_common(password: str) -> bool:
    """Whether the password is a well-known one or made by an easy pattern."""
    text = password.casefold()
    compact = "".join(text.split())
    if len(set(compact)) <= 3 or _is_periodic(compact):
        return True
    candidates = {text, compact, compact.translate(_LEET)}
    candidates |= {_strip_ends(c) for c in tuple(candidates)}
    candidates |= {_strip_ends(c.translate(_LEET)) for c in tuple(candidates)}
    if candidates & COMMON_PASSWORDS or candidates & COMMON_WORDS:
        return True
    # Mostly a run ("abcdefgh12", "qwertyuiop", "0987654321"): the run leaves little else.
    return _longest_sequence(compact) >= max(MIN_RUN, len(compact) - 3)


def contains_username(password: str, username: str | None) -> bool:
    """Whether the user name (3 characters or more) is inside the password, ignoring case."""
    name = (username or "").strip().casefold()
    return len(name) >= 3 and name in password.casefold()


def password_problem(password: str | None, username: str | None = None, *,
                     score: int | None = None) -> tuple[str, dict] | None:
    """The first reason to refuse this password as ``(msgid, params)``, or None if it is fine.

    ``score`` is a strength estimator's verdict (zxcvbn 0–4), None when none is installed.
    """
    password = password or ""
    if len(password) < MIN_LENGTH:
        return TOO_SHORT, {"n": MIN_LENGTH}
    if len(password) > MAX_LENGTH:
        return TOO_LONG, {"n": MAX_LENGTH}
    if contains_username(password, username):
        return HAS_USERNAME, {}
    if is_common(password) or (score is not None and score < MIN_SCORE):
        return TOO_COMMON, {}
    return None


def check_password(password: str | None, username: str | None = None, *,
                   score: int | None = None) -> None:
    """Raise InvalidInput with a plain-words reason if the password may not be used."""
    problem = password_problem(password, username, score=score)
    if problem is not None:
        msgid, params = problem
        raise InvalidInput(msgid, **params)
