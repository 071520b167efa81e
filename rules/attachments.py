"""Attachments (issue 10, part 4): which files a complaint accepts, how large, under which
name, who adds and retires them, and how a download is served.

The services read the file (size, SHA-256, the type its *content* shows, image dimensions,
the members of an Office zip); these rules decide. A refusal is a ``RuleError`` in clerk
words. Pure: no Flask, no SQLAlchemy, no Pillow, no clock.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from .constants import Role, Status
from .errors import N_, InvalidInput, PermissionDenied, RuleError

# The timeline events of attachments (ComplaintEvent.action): audit only, no status change.
ATTACH = "attach"
RETIRE = "attachment_retire"


@dataclass(frozen=True)
class FileType:
    kind: str  # what the content was detected as
    mime: str
    extensions: tuple[str, ...]  # the first is the one a name without extension gets
    family: str  # image, audio, pdf, office


TYPES = {t.kind: t for t in (
    FileType("jpeg", "image/jpeg", ("jpg", "jpeg", "jpe"), "image"),
    FileType("png", "image/png", ("png",), "image"),
    FileType("gif", "image/gif", ("gif",), "image"),
    FileType("webp", "image/webp", ("webp",), "image"),
    FileType("mp3", "audio/mpeg", ("mp3",), "audio"),
    FileType("m4a", "audio/mp4", ("m4a",), "audio"),
    FileType("wav", "audio/wav", ("wav",), "audio"),
    FileType("amr", "audio/amr", ("amr",), "audio"),
    FileType("pdf", "application/pdf", ("pdf",), "pdf"),
    FileType("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             ("docx",), "office"),
    FileType("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             ("xlsx",), "office"),
    FileType("pptx",
             "application/vnd.openxmlformats-officedocument.presentationml.presentation",
             ("pptx",), "office"),
    FileType("doc", "application/msword", ("doc",), "office"),
    FileType("xls", "application/vnd.ms-excel", ("xls",), "office"),
)}
IMAGES = tuple(k for k, t in TYPES.items() if t.family == "image")
# Shown in the browser (<img> and a click on the thumbnail); everything else is a download.
INLINE = IMAGES

# Who may add files: everyone who works on complaints; the supervisor only looks on.
ATTACH_ROLES = tuple(r for r in Role.ALL if r != Role.SUPERVISOR)
# Who may retire anyone's file (the uploader may always retire their own).
RETIRE_ANY_ROLES = Role.MANAGERS
# Who may still download a retired file (evidence kept for an audit).
RETIRED_READERS = Role.MANAGERS

MAX_NAME_LENGTH = 200
MAX_REASON_LENGTH = 1000
THUMBNAIL_SIZE = 240  # pixels, the longer side

# Office files are zip archives: their members may not unpack beyond these.
MAX_ARCHIVE_MEMBERS = 10_000
MAX_ARCHIVE_RATIO = 100  # unpacked / packed
MAX_ARCHIVE_UNPACKED = 512 * 1024 * 1024

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Limits:
    """Settings (config ATTACHMENT_*)."""

    max_bytes: int = 25 * 1024 * 1024  # one file
    max_total_bytes: int = 200 * 1024 * 1024  # the live files of one complaint
    max_files: int = 50  # live files on one complaint
    max_pixels: int = 40_000_000  # width × height of an image


# --- names ------------------------------------------------------------------------------


def clean_name(raw: str | None) -> str:
    """The name the file is kept under: the user's name, trimmed, NFC; refused when it holds
    a path (``../../x``, ``C:\\x``), control characters, or nothing but dots."""
    name = unicodedata.normalize("NFC", (raw or "")).strip()
    if not name:
        raise InvalidInput(N_("The file has no name."))
    if "/" in name or "\\" in name or _CONTROL.search(name) or name.strip(".") == "":
        raise InvalidInput(N_("The file name may not contain a folder or a path: "
                              "rename the file and try again."))
    if ":" in name:  # drive letters and NTFS streams
        raise InvalidInput(N_("The file name may not contain a folder or a path: "
                              "rename the file and try again."))
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(N_("The file name is longer than %(max)d characters."),
                           max=MAX_NAME_LENGTH)
    return name


def extension(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


# --- type, size, totals ------------------------------------------------------------------


def check_size(size: int, limits: Limits) -> None:
    if size <= 0:
        raise InvalidInput(N_("The file is empty."))
    if size > limits.max_bytes:
        raise InvalidInput(N_("The file is larger than the limit of %(mb)s MB."),
                           mb=_mb(limits.max_bytes))


def check_type(detected: str | None, name: str) -> tuple[FileType, str]:
    """The type the content shows and the name to keep: refused when the content is none
    of the accepted types, or the name's extension says another type (a file that lies).
    A name without an extension gets the type's."""
    kind = TYPES.get(detected or "")
    if kind is None:
        raise InvalidInput(N_("This kind of file is not accepted. Photos (JPEG, PNG, GIF, "
                              "WebP), recordings (MP3, M4A, WAV, AMR), PDF and Office files "
                              "are."))
    ext = extension(name)
    if not ext:
        return kind, f"{name}.{kind.extensions[0]}"
    if ext not in kind.extensions:
        raise InvalidInput(N_("The file is called .%(ext)s but its content is %(kind)s: "
                              "nothing was stored."), ext=ext, kind=kind.kind.upper())
    return kind, name


def check_totals(count: int, total_bytes: int, size: int, limits: Limits) -> None:
    """The complaint's live files (count, bytes) with this one added stay within limits."""
    if count + 1 > limits.max_files:
        raise InvalidInput(N_("This complaint already has %(max)d files, the limit."),
                           max=limits.max_files)
    if total_bytes + size > limits.max_total_bytes:
        raise InvalidInput(N_("The files of this complaint would exceed %(mb)s MB."),
                           mb=_mb(limits.max_total_bytes))


def check_image(width: int, height: int, limits: Limits) -> None:
    """Refuse images too large to decode safely (a decompression bomb)."""
    if width <= 0 or height <= 0:
        raise InvalidInput(N_("The image is damaged."))
    if width * height > limits.max_pixels:
        raise InvalidInput(N_("The image is too large (%(w)d x %(h)d pixels)."),
                           w=width, h=height)


def image_bomb() -> RuleError:
    """The refusal of an image whose header alone shows it would decode to too many pixels."""
    return InvalidInput(N_("The image is too large to be opened safely."))


def check_archive(packed_size: int, members: Iterable[tuple[str, int]]) -> None:
    """An Office file's zip members (name, unpacked size): refused when they would unpack
    far beyond the file (a zip bomb) or name a path outside the archive."""
    count = total = 0
    for name, size in members:
        count += 1
        total += max(size, 0)
        if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/"):
            raise InvalidInput(N_("The Office file is damaged."))
    if count == 0 or count > MAX_ARCHIVE_MEMBERS or total > MAX_ARCHIVE_UNPACKED \
            or total > MAX_ARCHIVE_RATIO * max(packed_size, 1):
        raise InvalidInput(N_("The Office file is damaged."))


def office_kind(member_names: Iterable[str]) -> str | None:
    """Which Office Open XML document a zip holds, from its members, or None."""
    names = set(member_names)
    if "[Content_Types].xml" not in names:
        return None
    for kind, main in (("docx", "word/document.xml"), ("xlsx", "xl/workbook.xml"),
                       ("pptx", "ppt/presentation.xml")):
        if main in names:
            return kind
    return None


# --- who --------------------------------------------------------------------------------


def check_attach(role: str, status: str, visible: bool) -> None:
    if not visible:
        raise RuleError(N_("Complaint not found."))
    if role not in ATTACH_ROLES:
        raise PermissionDenied(N_("Your role does not add files to complaints."))
    if status == Status.CLOSED:
        raise PermissionDenied(N_("The complaint is closed: files can no longer be added."))


def check_retire(role: str, actor_id: int, uploaded_by_id: int | None, retired: bool,
                 reason: str | None) -> str:
    """The reason, cleaned; refused for others' files (but managers'), twice, or without one."""
    if retired:
        raise InvalidInput(N_("This file is already retired."))
    if role not in RETIRE_ANY_ROLES and (role not in ATTACH_ROLES or uploaded_by_id != actor_id):
        raise PermissionDenied(N_("Only whoever added the file or a manager may retire it."))
    text = " ".join((reason or "").split())
    if not text:
        raise InvalidInput(N_("Say why the file is retired."))
    if len(text) > MAX_REASON_LENGTH:
        raise InvalidInput(N_("The reason is longer than %(max)d characters."),
                           max=MAX_REASON_LENGTH)
    return text


def may_download(role: str, retired: bool) -> bool:
    """Whoever sees the complaint reads its live files; retired ones only managers."""
    return not retired or role in RETIRED_READERS


# --- storage and serving ----------------------------------------------------------------


def storage_key(sha256: str) -> str:
    """Content-addressed: the same bytes are stored once, under their hash."""
    if not _SHA256.fullmatch(sha256 or ""):
        raise ValueError("not a SHA-256 hex digest")
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def thumbnail_key(sha256: str) -> str:
    return f"thumbs/{storage_key(sha256)[7:]}.png"


def disposition(kind: str) -> str:
    """``inline`` for images only; every other file is a download, never shown inline."""
    return "inline" if kind in INLINE else "attachment"


def served_mime(kind: str) -> str:
    """The Content-Type of a download: the detected type's, never text/html or SVG."""
    t = TYPES.get(kind)
    return t.mime if t else "application/octet-stream"


def _mb(n: int) -> str:
    value = n / (1024 * 1024)
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"
