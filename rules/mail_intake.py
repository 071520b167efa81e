"""What a message from the complaints mailbox becomes (issue 14): a new complaint, a note on
the complaint its subject names, or nothing (refused, with why) — and the clean text of each
part of it. Pure: services/mail_intake.py reads the mailbox and writes what this decides.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser

from .bounds import MAX_LONG_TEXT
from .errors import N_, InvalidInput
from .intake import LATE_REGISTRATION, TEXT_LIMITS

# InboundMessage.outcome: a new complaint, a note on an existing one, kept out.
REGISTERED, THREADED, REFUSED = "registered", "threaded", "refused"
OUTCOMES = (REGISTERED, THREADED, REFUSED)
# The timeline event of a message from the mailbox on a complaint (audit-only, no form):
# a reply threaded onto it, or what a new complaint's message could not bring in.
MAIL_IN = "mail_in"

MAX_MESSAGE_ID = 255  # InboundMessage.message_id
MAX_SENDER = 200  # InboundMessage.sender
MAX_SUBJECT = 300  # InboundMessage.subject
_LIMIT = {name: most for name, _label, most in TEXT_LIMITS}
MAX_TITLE, MAX_NAME, MAX_EMAIL = _LIMIT["title"], _LIMIT["customer_name"], _LIMIT["customer_email"]

# A complaint number (services.numbers): TS-YYYYMMDD-NNNN, in any case, anywhere in a subject.
_NUMBER = re.compile(r"(?<![A-Za-z0-9])TS-(\d{8})-(\d{4,6})(?![0-9])", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:]+$")
_REPLY_PREFIX = re.compile(r"^\s*((re|fw|fwd|aw|wg|答复|回复|转发)\s*[:：]\s*)+", re.IGNORECASE)
_AUTOMATIC_SENDERS = ("mailer-daemon", "postmaster")
_AUTOMATIC_PRECEDENCE = ("bulk", "junk", "auto_reply")


class Refused(InvalidInput):
    """The message is kept out of the desk (recorded as ``refused`` with this reason)."""


# --- headers ---------------------------------------------------------------------------


def one_line(value, most: int) -> str:
    """A header as one line of plain text: CR, LF, tabs and other control or format
    characters (an encoded ``=?utf-8?q?=0D=0A?=`` included) become a space, runs of spaces
    one, cut to ``most`` characters (the last one then "…")."""
    text = unicodedata.normalize("NFC", str(value or ""))
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch
                   for ch in text)
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= most else text[:most - 1].rstrip() + "…"


def message_key(message_id, raw: bytes) -> str:
    """What makes a message the same message on every host: its Message-ID (cleaned); a
    missing one is the SHA-256 of the whole raw message, a too long one the SHA-256 of it."""
    cleaned = re.sub(r"\s+", "", one_line(message_id, 10 * MAX_MESSAGE_ID))
    if not cleaned:
        return "sha256:" + hashlib.sha256(raw).hexdigest()
    if len(cleaned) > MAX_MESSAGE_ID:
        return "sha256:" + hashlib.sha256(cleaned.encode("utf-8")).hexdigest()
    return cleaned


def complaint_number(subject) -> str | None:
    """The complaint number a subject names ("Re: TS-20261130-0007 …"), or None."""
    match = _NUMBER.search(one_line(subject, 10_000))
    return f"TS-{match.group(1)}-{match.group(2)}" if match else None


@dataclass(frozen=True)
class Sender:
    name: str  # the customer name a new complaint gets
    address: str  # lower-case
    shown: str  # "name <address>", for the record and the timeline


def sender(display_name, address) -> Sender:
    """The contact a message's From gives; Refused when it has no usable address."""
    address = one_line(address, 10_000).lower()
    if not address or len(address) > MAX_EMAIL or not _EMAIL.match(address):
        raise Refused(N_("The sender's address is missing or does not look valid."))
    name = one_line(display_name, MAX_NAME) or address.partition("@")[0][:MAX_NAME]
    shown = one_line(f"{name} <{address}>", MAX_SENDER)
    return Sender(name, address, shown)


def check_not_automatic(headers: Mapping[str, str], address: str) -> None:
    """Refuse what no person wrote: auto-replies (RFC 3834 Auto-Submitted, Precedence),
    bounces (mailer-daemon, postmaster) — answering them would start a mail loop."""
    auto = one_line(headers.get("auto-submitted"), 100).lower()
    precedence = one_line(headers.get("precedence"), 100).lower()
    local = address.partition("@")[0]
    if (auto and auto != "no") or precedence in _AUTOMATIC_PRECEDENCE or \
            local in _AUTOMATIC_SENDERS:
        raise Refused(N_("An automatic message (an auto-reply or a delivery report) is not "
                         "a complaint."))


def check_size(size: int, most: int) -> None:
    """Refuse a message larger than ``most`` bytes (it is not even read)."""
    if size > most:
        raise Refused(N_("The message is larger than the limit of %(mb)s MB: read it in the "
                         "folder of processed mail."), mb=f"{most / 1024 / 1024:.0f}")


# --- the text ----------------------------------------------------------------------------


_SKIPPED = {"script", "style", "head", "title", "noscript", "template", "svg", "object",
            "iframe"}
_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table",
           "blockquote", "pre", "hr", "section", "article", "ul", "ol", "dd", "dt"}


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n- " if tag == "li" else "\n")

    def handle_startendtag(self, tag, attrs):
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """The words of an HTML body: no tags, no scripts or styles, entities decoded, one line
    per block."""
    parser = _Text()
    parser.feed(html or "")
    parser.close()
    return re.sub(r"\n{2,}", "\n", plain_text("".join(parser.parts)))


def plain_text(text: str) -> str:
    """Text with its lines trimmed, control characters (but new lines) dropped, at most one
    empty line in a row."""
    text = unicodedata.normalize("NFC", (text or "").replace("\r\n", "\n").replace("\r", "\n"))
    text = "".join(ch for ch in text
                   if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf"))
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def truncated(text: str, most: int = MAX_LONG_TEXT) -> str:
    """``text``, or as much of it as fits in ``most`` characters with a note saying how long
    it was (the whole message stays in the mailbox's folder of processed mail)."""
    if len(text) <= most:
        return text
    note = (f"\n\n[邮件正文过长，已截断：原文 {len(text)} 字 · "
            f"truncated: the e-mail's text had {len(text)} characters]")
    if len(note) >= most:
        return text[:most]
    return text[:most - len(note)].rstrip() + note


def title(subject, body: str) -> str:
    """A new complaint's title: the subject without its Re:/Fwd: prefixes, else the first
    line of the text, else a placeholder; at most the title's length."""
    text = one_line(_REPLY_PREFIX.sub("", one_line(subject, 10_000)), MAX_TITLE)
    if not text:
        first = next((line for line in body.split("\n") if line.strip()), "")
        text = one_line(first, MAX_TITLE)
    return text or "（无主题 no subject）"


def received_at(internal: datetime | None, now: datetime) -> datetime:
    """When the complaint was received: when the mailbox got it (IMAP INTERNALDATE, company
    time) unless that is in the future or so old the registration would be late; else now."""
    if internal is None or internal > now or internal < now - LATE_REGISTRATION:
        return now
    return internal


def thread_note(who: Sender, subject: str, body: str, on_file: str | None,
                refused: list[tuple[str, str]]) -> str:
    """The timeline note of a reply threaded onto a complaint: who wrote (flagged when that is
    not the address on file), the subject, the text, the files that were not kept."""
    lines = [f"✉ {who.shown}"]
    if (on_file or "").strip().lower() != who.address:
        lines[0] += " ⚠ ≠ " + (on_file or "—")
    lines.append(one_line(subject, MAX_SUBJECT))
    out = "\n".join(lines) + "\n\n" + body
    return truncated(out.rstrip() + refused_note(refused))


def refused_note(refused: list[tuple[str, str]]) -> str:
    """The attachments of a message that were not kept, and why (empty: none)."""
    if not refused:
        return ""
    return "\n" + "\n".join(f"✗ {one_line(name, 255)}: {why}" for name, why in refused)
