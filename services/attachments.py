"""Attachments: read an upload once (spooled to disk while hashed and counted), learn what
its content is (filetype; the members of an Office zip; Pillow for images and their
thumbnails), let rules/attachments.py decide, store the bytes (services/storage.py), then
write the row and its timeline event in one transaction.

Order matters: the bytes are stored *before* the row is written, so a storage outage leaves
no row; a database failure after that leaves at most an unreferenced, content-addressed
object that the next upload of the same bytes reuses.
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

import filetype
from flask import current_app
from sqlalchemy import func, select

from models import Attachment, Complaint, db
from models.engine import write_transaction
from rules import attachments as rules_att
from rules.bounds import parse_id
from rules.errors import N_, InvalidInput, RuleError
from rules.scope import can_see

from . import assist, clock
from .complaints import NotFound, write_event
from .storage import CHUNK, StorageError, storage

HEAD = 8192
MAX_ROW_ID = 2**31 - 1  # attachment.id is a 32-bit integer column


class StorageDown(RuleError):
    """The storage backend failed: the upload is refused, nothing written."""

    def __init__(self):
        super().__init__(N_("The file could not be stored: the file storage is not "
                            "reachable. Nothing was saved; try again later."))


def limits() -> rules_att.Limits:
    c = current_app.config
    return rules_att.Limits(max_bytes=int(c["ATTACHMENT_MAX_BYTES"]),
                            max_total_bytes=int(c["ATTACHMENT_MAX_TOTAL_BYTES"]),
                            max_files=int(c["ATTACHMENT_MAX_FILES"]),
                            max_pixels=int(c["ATTACHMENT_MAX_PIXELS"]))


@dataclass
class Spooled:
    path: str
    size: int
    sha256: str
    head: bytes


def spool(stream: BinaryIO, max_bytes: int, folder: str | None) -> Spooled:
    """Copy ``stream`` to a temporary file in chunks, hashing as it goes; refuse (and remove
    the file) as soon as it passes ``max_bytes``. The caller removes ``path``."""
    digest = hashlib.sha256()
    size, head = 0, b""
    fd, path = tempfile.mkstemp(dir=folder, suffix=".upload")
    try:
        with os.fdopen(fd, "wb") as out:
            while block := stream.read(CHUNK):
                size += len(block)
                if size > max_bytes:
                    rules_att.check_size(size, limits())
                if len(head) < HEAD:
                    head += block[:HEAD - len(head)]
                digest.update(block)
                out.write(block)
    except BaseException:
        os.unlink(path)
        raise
    return Spooled(path, size, digest.hexdigest(), head)


def detect(spooled: Spooled) -> str | None:
    """What the content is (a rules_att.TYPES kind), whatever the name or the browser say."""
    guess = filetype.guess(spooled.head)
    kind = guess.extension if guess else None
    if kind in ("zip", "docx", "xlsx", "pptx"):
        try:
            with zipfile.ZipFile(spooled.path) as archive:
                infos = archive.infolist()
                rules_att.check_archive(spooled.size, ((i.filename, i.file_size)
                                                       for i in infos))
                return rules_att.office_kind(i.filename for i in infos)
        except (zipfile.BadZipFile, OSError, EOFError):
            return None
    return {"jpg": "jpeg", "apng": "png"}.get(kind, kind)


@dataclass
class Picture:
    width: int
    height: int
    thumbnail: bytes  # PNG


def inspect_image(path: str) -> Picture:
    """Check an image is whole and not a decompression bomb, and make its thumbnail."""
    from PIL import Image, UnidentifiedImageError

    refused = InvalidInput(N_("The image is damaged."))
    try:
        with Image.open(path) as img:  # reads the header only
            width, height = img.size
            rules_att.check_image(width, height, limits())
            img.verify()
        with Image.open(path) as img:
            img.seek(0)
            img.draft("RGB", (rules_att.THUMBNAIL_SIZE * 2, rules_att.THUMBNAIL_SIZE * 2))
            frame = img.convert("RGBA" if img.mode in ("RGBA", "LA", "P") else "RGB")
            frame.thumbnail((rules_att.THUMBNAIL_SIZE, rules_att.THUMBNAIL_SIZE))
            out = io.BytesIO()
            frame.save(out, "PNG")
    except RuleError:
        raise
    except Image.DecompressionBombError as err:
        raise rules_att.image_bomb() from err
    except (UnidentifiedImageError, OSError, SyntaxError,
            ValueError, EOFError) as err:
        raise refused from err
    return Picture(width, height, out.getvalue())


def _put_bytes(key: str, data: bytes, folder: str | None) -> None:
    fd, path = tempfile.mkstemp(dir=folder, suffix=".thumb")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        storage().put_file(key, path, "image/png")
    finally:
        os.unlink(path)


def _complaint_for(complaint_id: int, actor) -> Complaint:
    complaint = db.session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound()
    visible = can_see(actor.actor, complaint.department_id, complaint.assignee_id,
                      complaint.registered_by_id)
    rules_att.check_attach(actor.role, complaint.status, visible)
    return complaint


def _live(complaint_id: int) -> tuple[int, int]:
    count, total = db.session.execute(
        select(func.count(Attachment.id), func.coalesce(func.sum(Attachment.size), 0))
        .where(Attachment.complaint_id == complaint_id, Attachment.retired_at.is_(None))
    ).one()
    return int(count), int(total)


@dataclass
class Prepared:
    """A file checked and stored, not yet recorded on the complaint."""

    name: str
    kind: str
    sha256: str
    size: int
    key: str
    picture: Picture | None
    thumb_key: str | None


def prepare(complaint_id: int, actor, filename: str | None, stream: BinaryIO) -> Prepared:
    """Read, check and store one file for a complaint; a RuleError stores nothing."""
    _complaint_for(complaint_id, actor)  # early refusal: before reading the upload
    rules_att.clean_name(filename)
    # End the read transaction (in a POST it holds SQLite's write lock) before the slow
    # part: reading, checking and storing the file.
    db.session.rollback()
    return check_and_store(filename, stream)


def check_and_store(filename: str | None, stream: BinaryIO) -> Prepared:
    """Read, check and store one file not yet tied to a complaint (the mailbox's, before
    its complaint exists); a RuleError stores nothing. :func:`record` ties it."""
    name = rules_att.clean_name(filename)
    lim = limits()
    backend = storage()
    spooled = spool(stream, lim.max_bytes, backend.temp_dir())
    try:
        rules_att.check_size(spooled.size, lim)
        kind, name = rules_att.check_type(detect(spooled), name)
        picture = inspect_image(spooled.path) if kind.kind in rules_att.IMAGES else None
        key = rules_att.storage_key(spooled.sha256)
        thumb_key = rules_att.thumbnail_key(spooled.sha256) if picture else None
        try:
            backend.put_file(key, spooled.path, kind.mime)
            if picture:
                _put_bytes(thumb_key, picture.thumbnail, backend.temp_dir())
        except StorageError as err:
            current_app.logger.warning("attachment not stored: %s", err)
            raise StorageDown() from err
    finally:
        if os.path.exists(spooled.path):
            os.unlink(spooled.path)
    return Prepared(name, kind.kind, spooled.sha256, spooled.size, key, picture, thumb_key)


def record(complaint_id: int, actor, prepared: Prepared, *, now: datetime | None = None,
           event_id: int | None = None, callback_id: int | None = None) -> Attachment:
    """The row of a prepared file and its "file added" event, in one transaction."""
    now = now or clock.now()
    actor_id = actor.id
    picture = prepared.picture
    with write_transaction(db.session):
        complaint = _complaint_for(complaint_id, actor)  # again: it may have changed
        db.session.execute(select(Complaint.id).where(Complaint.id == complaint_id)
                           .with_for_update())  # one writer per complaint's totals
        count, total = _live(complaint_id)
        rules_att.check_totals(count, total, prepared.size, limits())
        event = write_event(complaint, actor_id, rules_att.ATTACH, now,
                            before=(complaint.status, complaint.department_id,
                                    complaint.assignee_id),
                            note=f"{prepared.name} ({_human(prepared.size)})")
        db.session.flush()
        attachment = Attachment(
            complaint_id=complaint_id, event_id=event_id or event.id, callback_id=callback_id,
            name=prepared.name, sha256=prepared.sha256, storage_key=prepared.key,
            size=prepared.size, kind=prepared.kind,
            width=picture.width if picture else None,
            height=picture.height if picture else None, thumbnail_key=prepared.thumb_key,
            uploaded_by_id=actor_id, uploaded_at=now)
        db.session.add(attachment)
    return attachment


def add(complaint_id: int, actor, filename: str | None, stream: BinaryIO, *,
        now: datetime | None = None, event_id: int | None = None,
        callback_id: int | None = None) -> Attachment:
    """Check, store and record one file on a complaint; a RuleError records nothing."""
    prepared = prepare(complaint_id, actor, filename, stream)
    return record(complaint_id, actor, prepared, now=now, event_id=event_id,
                  callback_id=callback_id)


def retire(attachment_id: int, actor, reason: str | None, now: datetime | None = None
           ) -> Attachment:
    """Retire a file (never deleted): who, when, why; an event on the complaint's timeline."""
    now = now or clock.now()
    actor_id, role = actor.id, actor.role
    with write_transaction(db.session):
        attachment = visible(attachment_id, actor)
        if attachment is None:
            raise NotFound()
        text = rules_att.check_retire(role, actor_id, attachment.uploaded_by_id,
                                      attachment.retired, reason)
        complaint = db.session.get(Complaint, attachment.complaint_id)
        attachment.retired_at, attachment.retired_by_id = now, actor_id
        attachment.retired_reason = text
        write_event(complaint, actor_id, rules_att.RETIRE, now,
                    before=(complaint.status, complaint.department_id, complaint.assignee_id),
                    note=f"{attachment.name}: {text}")
    return attachment


def visible(attachment_id, actor) -> Attachment | None:
    """The attachment when its complaint is in the actor's scope, else None."""
    number = parse_id(attachment_id)
    if number is None or number > MAX_ROW_ID:
        return None
    attachment = db.session.get(Attachment, number)
    if attachment is None:
        return None
    complaint = db.session.get(Complaint, attachment.complaint_id)
    if complaint is None or not assist.can_see(actor.actor, complaint):  # 协办 parts too
        return None
    return attachment


def of_complaint(complaint_id: int) -> list[Attachment]:
    """Every file of a complaint, live and retired, oldest first (one query)."""
    from sqlalchemy.orm import joinedload
    return list(db.session.scalars(
        select(Attachment).where(Attachment.complaint_id == complaint_id)
        .options(joinedload(Attachment.uploaded_by), joinedload(Attachment.retired_by))
        .order_by(Attachment.id)))


def open_content(attachment: Attachment, thumbnail: bool = False):
    key = attachment.thumbnail_key if thumbnail else attachment.storage_key
    if key is None:
        raise StorageError("no thumbnail")
    return storage().open(key)


def _human(size: int) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return str(size)

