"""E-mail intake (issue 14): read the complaints mailbox over IMAP (imaplib), turn each new
message into a complaint — or a note on the complaint its subject names — and move it to the
folder of processed mail. rules/mail_intake.py decides what a message becomes.

Safe on several hosts at once: a message's InboundMessage row (unique Message-ID) is written
in the same transaction as its complaint or note, so of two fetchers reading one message one
commits and the other's transaction fails on the unique index, rolls back whole and moves on.
A message is moved only once it is recorded; one whose processing failed (the database or
the file storage down) stays in the mailbox for the next run.
"""

from __future__ import annotations

import email
import email.policy
import imaplib
import io
import re
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import flag_modified

from models import Complaint, InboundMessage, db
from models.engine import write_transaction
from rules import Channel
from rules import mail_intake as mail
from rules.errors import RuleError

from . import attachments, clock
from .channels import channel_account
from .complaints import register, write_event

SKIPPED, FAILED = "skipped", "failed"  # read before / left in the mailbox (not recorded)


class MailboxError(RuntimeError):
    """The mailbox cannot be read (not configured, unreachable, login refused)."""


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    user: str
    password: str
    mailbox: str
    done_folder: str
    ssl: bool
    timeout: float
    max_bytes: int  # a larger message is refused unread (its headers only are read)


def settings() -> Settings:
    c = current_app.config
    if not c.get("MAIL_INTAKE_HOST"):
        raise MailboxError("MAIL_INTAKE_HOST is not set: no mailbox to read.")
    ssl = bool(c.get("MAIL_INTAKE_SSL", True))
    return Settings(
        host=c["MAIL_INTAKE_HOST"], port=int(c.get("MAIL_INTAKE_PORT") or (993 if ssl else 143)),
        user=c.get("MAIL_INTAKE_USER") or "", password=c.get("MAIL_INTAKE_PASSWORD") or "",
        mailbox=c.get("MAIL_INTAKE_MAILBOX") or "INBOX",
        done_folder=c.get("MAIL_INTAKE_DONE_FOLDER") or "Processed", ssl=ssl,
        timeout=float(c.get("MAIL_INTAKE_TIMEOUT") or 30),
        max_bytes=int(c.get("MAIL_INTAKE_MAX_BYTES") or 50 * 1024 * 1024))


@dataclass
class Summary:
    counts: dict[str, int] = field(default_factory=dict)
    numbers: list[str] = field(default_factory=list)  # complaints registered or threaded

    def add(self, outcome: str, number: str | None = None):
        self.counts[outcome] = self.counts.get(outcome, 0) + 1
        if number:
            self.numbers.append(number)

    def __getitem__(self, outcome: str) -> int:
        return self.counts.get(outcome, 0)

    def summary(self) -> str:
        names = (mail.REGISTERED, mail.THREADED, mail.REFUSED, SKIPPED, FAILED)
        return "Mail: " + ", ".join(f"{self[n]} {n}" for n in names) + "."


# --- the mailbox -------------------------------------------------------------------------


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(result, what: str):
    typ, data = result
    if typ != "OK":
        raise MailboxError(f"IMAP {what} failed: {data!r}")
    return data


def connect(cfg: Settings) -> imaplib.IMAP4:
    """Logged in, the done folder there, the mailbox selected."""
    try:
        cls = imaplib.IMAP4_SSL if cfg.ssl else imaplib.IMAP4
        conn = cls(cfg.host, cfg.port, timeout=cfg.timeout)
    except OSError as err:
        raise MailboxError(f"cannot reach the mailbox {cfg.host}:{cfg.port}: {err}") from err
    try:
        conn.login(cfg.user, cfg.password)
        # Servers name extensions such as MOVE only once logged in (Dovecot does): ask again.
        caps = _check(conn.capability(), "CAPABILITY")
        conn.capabilities = tuple((caps[-1] or b"").decode("ascii", "replace").upper().split())
        conn.create(_quoted(cfg.done_folder))  # NO when it exists already: fine
        _check(conn.select(_quoted(cfg.mailbox)), "SELECT")
    except (imaplib.IMAP4.error, OSError) as err:
        _logout(conn)
        raise MailboxError(f"cannot open the mailbox: {err}") from err
    return conn


def _logout(conn):
    try:
        conn.logout()
    except (imaplib.IMAP4.error, OSError):
        pass


def _uids(conn) -> list[bytes]:
    data = _check(conn.uid("SEARCH", None, "UNDELETED"), "SEARCH")
    return (data[0] or b"").split() if data else []


_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]*)"')
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")


def _describe(conn, uid: bytes) -> tuple[int, datetime | None] | None:
    """The message's size and when the mailbox got it (company time); None once it is gone."""
    data = _check(conn.uid("FETCH", uid, "(RFC822.SIZE INTERNALDATE)"), "FETCH")
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        size = _SIZE.search(line or b"")
        if size:
            when = _INTERNALDATE.search(line)
            return int(size.group(1)), _company_time(
                when.group(1).decode("ascii", "replace") if when else "")
    return None


def _read(conn, uid: bytes, section: str) -> bytes | None:
    """The message (``BODY.PEEK[]``) or its header (``BODY.PEEK[HEADER]``), left unseen."""
    data = _check(conn.uid("FETCH", uid, f"({section})"), "FETCH")
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            return item[1]
    return None


def _company_time(internaldate: str) -> datetime | None:
    """An IMAP INTERNALDATE ("30-Nov-2026 17:49:59 +0000") in company time; None if unreadable."""
    try:
        when = datetime.strptime(internaldate.strip(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None
    return when.astimezone(clock.zone()).replace(tzinfo=None)


def _move(conn, uid: bytes, folder: str):
    if "MOVE" in conn.capabilities:
        _check(conn.uid("MOVE", uid, _quoted(folder)), "MOVE")
        return
    _check(conn.uid("COPY", uid, _quoted(folder)), "COPY")
    _check(conn.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
    _check(conn.expunge(), "EXPUNGE")


def fetch(limit: int | None = None) -> Summary:
    """One pass over the mailbox: each message recorded once, then moved to the done folder."""
    cfg = settings()
    summary = Summary()
    conn = connect(cfg)
    try:
        for uid in _uids(conn)[:limit]:
            try:
                described = _describe(conn, uid)
                if described is not None:
                    size, internal = described
                    raw = _read(conn, uid, "BODY.PEEK[HEADER]" if size > cfg.max_bytes
                                else "BODY.PEEK[]")
            except MailboxError:
                summary.add(FAILED)
                continue
            if described is None or raw is None:  # another fetcher moved it meanwhile
                summary.add(SKIPPED)
                continue
            try:
                outcome, number = take(raw, cfg.mailbox, internal,
                                       size=size, max_bytes=cfg.max_bytes)
            except Exception:  # a database or storage failure: left for the next run
                db.session.rollback()
                current_app.logger.exception("fetch-mail: message %s not taken in", uid)
                summary.add(FAILED)
                continue
            summary.add(outcome, number)
            _move(conn, uid, cfg.done_folder)
    finally:
        _logout(conn)
    return summary


# --- one message -------------------------------------------------------------------------


def _header(message, name: str) -> str:
    try:
        return str(message.get(name) or "")
    except (ValueError, TypeError, IndexError):  # a header the parser cannot make sense of
        return ""


def _sender(message) -> mail.Sender:
    try:
        addresses = message["From"].addresses if message["From"] is not None else ()
    except (ValueError, TypeError, IndexError, AttributeError):
        addresses = ()
    first = addresses[0] if addresses else None
    return mail.sender(first.display_name if first else "", first.addr_spec if first else "")


def _text_of(part) -> str:
    try:
        return part.get_content()
    except (LookupError, ValueError, AssertionError):  # an unknown or lying charset
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", "replace")


def body_text(message) -> str:
    """The message's words: text/plain preferred, HTML made text; truncated with a note."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = _text_of(part)
    text = (mail.html_to_text(content) if part.get_content_subtype() == "html"
            else mail.plain_text(content))
    return mail.truncated(text)


def _files(message) -> list[tuple[str, bytes]]:
    out = []
    for number, part in enumerate(message.iter_attachments(), 1):
        # No name (an inline picture): one by its place; the type's extension is added.
        name = part.get_filename() or f"attachment-{number}"
        if part.is_multipart() or part.get_content_maintype() == "message":
            out.append((name, bytes(part)))
        else:
            out.append((name, part.get_payload(decode=True) or b""))
    return out


def _store(files) -> tuple[list, list[tuple[str, str]]]:
    kept, refused = [], []
    for name, data in files:
        try:
            kept.append(attachments.check_and_store(name, io.BytesIO(data)))
        except RuleError as err:
            refused.append((name or "—", str(err)))
    return kept, refused


def _known(key: str) -> bool:
    return db.session.scalar(select(InboundMessage.id).where(
        InboundMessage.message_id == key)) is not None


def _complaint_named(number: str | None) -> Complaint | None:
    if number is None:
        return None
    return db.session.scalar(select(Complaint).where(Complaint.number == number)
                             .with_for_update())


def take(raw: bytes, mailbox: str, internal: datetime | None = None,
         now: datetime | None = None, *, size: int | None = None,
         max_bytes: int | None = None) -> tuple[str, str | None]:
    """Record one raw message: (outcome, the complaint's number or None). Over
    ``max_bytes``, ``raw`` is its header alone and the message is refused."""
    now = now or clock.now()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    key = mail.message_key(_header(message, "Message-ID"), raw)
    if _known(key):
        db.session.rollback()
        return SKIPPED, None
    subject = _header(message, "Subject")
    record = {"message_id": key, "mailbox": mail.one_line(mailbox, 100),
              "subject": mail.one_line(subject, mail.MAX_SUBJECT) or None,
              "received_at": now}
    try:
        who = _sender(message)
        record["sender"] = who.shown
    except mail.Refused as err:
        who, no_sender = None, err
    try:
        if size is not None and max_bytes is not None:
            mail.check_size(size, max_bytes)
        if who is None:
            raise no_sender
        mail.check_not_automatic({k.lower(): _header(message, k) for k in
                                  ("Auto-Submitted", "Precedence")}, who.address)
    except mail.Refused as err:
        return _refuse(record, str(err))
    body = body_text(message)
    kept, refused = _store(_files(message))  # before the transaction: the slow part
    db.session.rollback()
    actor = channel_account(Channel.EMAIL)
    try:
        with write_transaction(db.session):
            if _known(key):
                return SKIPPED, None
            complaint = _complaint_named(mail.complaint_number(subject))
            if complaint is not None:
                outcome = mail.THREADED
                before = (complaint.status, complaint.department_id, complaint.assignee_id)
                complaint.updated_at = now  # a new version: forms opened before are stale
                flag_modified(complaint, "updated_at")
                write_event(complaint, actor.id, mail.MAIL_IN, now, before=before,
                            note=mail.thread_note(who, subject, body, complaint.customer_email,
                                                  refused))
            else:
                outcome = mail.REGISTERED
                try:
                    complaint = register(_registration(who, subject, body, internal, now),
                                         actor, now)
                except RuleError as err:
                    return _refuse(record, str(err), in_transaction=True)
            late = []
            for prepared in kept:
                try:
                    attachments.record(complaint.id, actor, prepared, now=now)
                except RuleError as err:
                    late.append((prepared.name, str(err)))
            # What did not come in, on the timeline (a reply's note names its own refusals).
            missing = refused + late if outcome == mail.REGISTERED else late
            if missing:
                write_event(complaint, actor.id, mail.MAIL_IN, now,
                            before=(complaint.status, complaint.department_id,
                                    complaint.assignee_id),
                            note=f"✉ {who.shown}" + mail.refused_note(missing))
            detail = mail.refused_note(refused + late).strip() or None
            db.session.add(InboundMessage(**record, outcome=outcome, detail=detail,
                                          complaint_id=complaint.id))
            db.session.flush()
    except IntegrityError:  # another fetcher recorded it first: ours rolled back whole
        if not _known(key):
            raise
        return SKIPPED, None
    return outcome, complaint.number


def _registration(who: mail.Sender, subject: str, body: str, internal, now) -> dict:
    return {"channel": Channel.EMAIL, "customer_name": who.name, "customer_email": who.address,
            "title": mail.title(subject, body), "description": body or mail.title(subject, ""),
            "received_at": mail.received_at(internal, now)}


def _refuse(record: dict, why: str, *, in_transaction: bool = False):
    """Record a message kept out (and why); in the caller's transaction or one of its own."""
    try:
        with write_transaction(db.session):
            db.session.add(InboundMessage(**record, outcome=mail.REFUSED, detail=why))
            db.session.flush()
    except IntegrityError:
        if in_transaction or not _known(record["message_id"]):
            raise
        return SKIPPED, None
    return mail.REFUSED, None
