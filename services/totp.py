"""Time-based one-time codes (RFC 6238, pyotp), the enrolment QR code (segno, inline SVG)
and recovery codes. No database here: services/auth.py stores and checks.

Codes follow the company clock (:mod:`services.clock`), turned into a real instant, so that
a test that freezes ``clock.now`` freezes the codes too.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime

import pyotp
import segno

from . import clock

DIGITS = 6
INTERVAL = 30  # seconds per code
# Codes of the step before and after the current one are accepted too (clock drift).
VALID_WINDOW = 1
RECOVERY_CODE_COUNT = 10
# Lower-case letters and digits that cannot be mistaken for one another (no 0/o, 1/l/i).
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 10  # about 49 bits each; shown as two groups of five


def new_secret() -> str:
    """A new random shared secret (base32, 160 bits)."""
    return pyotp.random_base32(32)


def epoch(now: datetime | None = None) -> float:
    """Seconds since 1970 (UTC) of a company-local naive time (default: now)."""
    now = now or clock.now()
    return now.replace(tzinfo=clock.zone()).timestamp()


def step_of(now: datetime | None = None) -> int:
    """The time step (code number) current at ``now``."""
    return int(epoch(now) // INTERVAL)


def code_at(secret: str, step: int) -> str:
    """The code of a given time step (tests and the enrolment check use it)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).generate_otp(step)


def current_code(secret: str, now: datetime | None = None) -> str:
    return code_at(secret, step_of(now))


def looks_like_code(text: str | None) -> bool:
    """Six digits (spaces allowed): a code from the app rather than a recovery code."""
    compact = "".join((text or "").split())
    return len(compact) == DIGITS and compact.isascii() and compact.isdigit()


def matching_step(secret: str, code: str | None, *, after: int | None = None,
                  now: datetime | None = None) -> int | None:
    """The time step whose code is ``code`` (within the window), or None.

    ``after``: the last step already used; a code of that step or an earlier one is
    refused, so that an overheard code cannot be replayed.
    """
    if not secret or not looks_like_code(code):
        return None
    compact = "".join(code.split())
    current = step_of(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(code_at(secret, step), compact):
            return step
    return None


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// address that an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(
        name=account, issuer_name=issuer)


def qr_svg(data: str, title: str = "") -> str:
    """The QR code of ``data`` as an inline <svg> element (no image host, no script)."""
    return segno.make(data, error="m").svg_inline(scale=5, border=4, title=title or None,
                                                  dark="#000", light="#fff")


def grouped_secret(secret: str) -> str:
    """The secret in groups of four, for typing it into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Fresh recovery codes as shown to the user: ``abcde-fghjk``."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def normalize_recovery_code(text: str | None) -> str:
    """A typed recovery code as stored (hashed): lower case, no spaces or dashes."""
    return "".join(ch for ch in (text or "").casefold() if ch.isalnum())[:64]
