"""services/attachments.py and services/storage.py: every accepted type stored (locally and
in S3-compatible storage served by moto's server), every bad upload refused with nothing
stored, per-complaint limits, scope, retiring, and a storage outage that leaves no row."""

from __future__ import annotations

import hashlib
import io
import os

import pytest
from sqlalchemy import func, select

from models import Attachment, ComplaintEvent, db
from rules import Status
from rules import attachments as ra
from rules.errors import RuleError
from services import attachments as svc
from services.storage import LocalStorage, S3Storage, StorageError
from tests.attachment_samples import HTML, SAMPLES, SVG, image, png_bomb, zip_bomb


@pytest.fixture
def local_files(app, tmp_path):
    app.config["STORAGE_LOCAL_DIR"] = str(tmp_path / "files")
    app.extensions.pop("desk_storage", None)
    return tmp_path / "files"


@pytest.fixture
def in_progress(desk, local_files):
    return desk.bring_to(Status.IN_PROGRESS)


def _count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def _stored_files(root):
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and "tmp" not in p.relative_to(root).parts)


def _add(desk, cid, name, data, who="handler_qa"):
    return svc.add(cid, desk.staff(who), name, io.BytesIO(data))


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_every_accepted_type_is_stored_by_its_hash(desk, in_progress, local_files, kind):
    name, make = SAMPLES[kind]
    data = make()
    attachment = _add(desk, in_progress, name, data)
    digest = hashlib.sha256(data).hexdigest()
    row = db.session.get(Attachment, attachment.id)
    assert (row.kind, row.name, row.size, row.sha256) == (kind, name, len(data), digest)
    assert row.storage_key == ra.storage_key(digest)
    assert (local_files / row.storage_key).read_bytes() == data
    event = db.session.get(ComplaintEvent, row.event_id)
    assert event.action == ra.ATTACH and name in event.note
    assert event.actor_id == desk.org.users["handler_qa"]
    if kind in ra.IMAGES:
        assert (row.width, row.height) == (64, 48)
        thumb = (local_files / row.thumbnail_key).read_bytes()
        assert thumb.startswith(b"\x89PNG")
    else:
        assert row.thumbnail_key is None and row.width is None
    stored = svc.open_content(row)
    assert stored.size == len(data) and b"".join(stored.chunks) == data


def test_same_bytes_stored_once(desk, in_progress, local_files):
    data = image("PNG")
    a = _add(desk, in_progress, "one.png", data)
    b = _add(desk, in_progress, "two.png", data)
    assert a.storage_key == b.storage_key and a.id != b.id
    assert _stored_files(local_files) == sorted([a.storage_key, a.thumbnail_key])


def test_a_name_without_extension_gets_the_detected_one(desk, in_progress):
    assert _add(desk, in_progress, "检测报告", SAMPLES["pdf"][1]()).name == "检测报告.pdf"


BAD = {
    "html named .jpg": ("photo.jpg", HTML),
    "svg": ("drawing.svg", SVG),
    "svg named .png": ("drawing.png", SVG),
    "pdf named .jpg": ("photo.jpg", SAMPLES["pdf"][1]()),
    "png named .docx": ("report.docx", image("PNG")),
    "empty": ("photo.jpg", b""),
    "path": ("../../x.png", image("PNG")),
    "windows path": ("C:\\Users\\x.png", image("PNG")),
    "decompression bomb": ("bomb.png", png_bomb()),
    "zip bomb": ("report.docx", zip_bomb()),
    "truncated image": ("photo.png", image("PNG")[:60]),
    "plain zip": ("report.zip", b"PK\x03\x04" + b"\0" * 100),
    "executable": ("tool.exe", b"MZ" + b"\0" * 200),
    "text": ("notes.txt", "投诉内容".encode()),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_uploads_refused_nothing_stored(desk, in_progress, local_files, case):
    name, data = BAD[case]
    events = _count(ComplaintEvent)
    with pytest.raises(RuleError) as err:
        _add(desk, in_progress, name, data)
    assert str(err.value).endswith(".")
    db.session.rollback()
    assert _count(Attachment) == 0 and _count(ComplaintEvent) == events
    assert _stored_files(local_files) == []
    tmp = local_files / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []  # the spooled upload is gone


def test_too_large_refused_while_reading(app, desk, in_progress, local_files):
    app.config["ATTACHMENT_MAX_BYTES"] = 4096

    class Endless(io.RawIOBase):
        read_bytes = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            Endless.read_bytes += len(buffer)
            buffer[:] = b"\0" * len(buffer)
            return len(buffer)

    with pytest.raises(RuleError, match="larger than the limit"):
        svc.add(in_progress, desk.staff("handler_qa"), "big.pdf", io.BufferedReader(Endless()))
    assert Endless.read_bytes < 2 * 1024 * 1024  # stopped soon after the limit
    assert _count(Attachment) == 0 and _stored_files(local_files) == []


def test_limits_per_complaint(app, desk, in_progress, local_files):
    app.config["ATTACHMENT_MAX_FILES"] = 2
    _add(desk, in_progress, "a.png", image("PNG", (10, 10)))
    second = _add(desk, in_progress, "b.png", image("PNG", (11, 10)))
    with pytest.raises(RuleError, match="already has 2 files"):
        _add(desk, in_progress, "c.png", image("PNG", (12, 10)))
    svc.retire(second.id, desk.staff("handler_qa"), "wrong photo")  # retired ones don't count
    _add(desk, in_progress, "c.png", image("PNG", (12, 10)))
    app.config["ATTACHMENT_MAX_FILES"] = 50
    app.config["ATTACHMENT_MAX_TOTAL_BYTES"] = 2000
    with pytest.raises(RuleError, match="would exceed"):
        _add(desk, in_progress, "report.pdf", b"%PDF-1.4\n" + b"0" * 3000)
    assert _count(Attachment) == 3


def test_scope_role_and_status(desk, in_progress):
    data = image("PNG")
    for who in ("handler_log", "head_log", "handler_qa2"):  # outside their scope
        with pytest.raises(RuleError, match="Complaint not found"):
            _add(desk, in_progress, "x.png", data, who=who)
    with pytest.raises(RuleError, match="role does not add files"):
        _add(desk, in_progress, "x.png", data, who="supervisor")
    for who in ("intake", "manager", "admin", "head_qa", "handler_qa"):
        _add(desk, in_progress, f"{who}.png", data, who=who)
    closed = desk.bring_to(Status.CLOSED)
    with pytest.raises(RuleError, match="closed"):
        _add(desk, closed, "x.png", data, who="manager")
    assert _count(Attachment) == 5


def test_retire_keeps_the_row_and_writes_an_event(desk, in_progress):
    a = _add(desk, in_progress, "a.png", image("PNG"))
    for who in ("intake", "head_qa", "supervisor", "handler_log"):
        with pytest.raises(RuleError):
            svc.retire(a.id, desk.staff(who), "not mine")
    with pytest.raises(RuleError, match="Say why"):
        svc.retire(a.id, desk.staff("handler_qa"), "  ")
    svc.retire(a.id, desk.staff("handler_qa"), "wrong\ncomplaint")
    row = db.session.get(Attachment, a.id)
    assert row.retired and row.retired_reason == "wrong complaint"
    assert row.retired_by_id == desk.org.users["handler_qa"]
    last = db.session.scalars(select(ComplaintEvent).order_by(ComplaintEvent.id.desc())).first()
    assert last.action == ra.RETIRE and "wrong complaint" in last.note
    with pytest.raises(RuleError, match="already retired"):
        svc.retire(a.id, desk.staff("manager"), "again")
    b = _add(desk, in_progress, "b.png", image("PNG", (9, 9)))
    svc.retire(b.id, desk.staff("manager"), "duplicate photo")  # a manager: anyone's
    assert _count(Attachment) == 2


def test_visible_follows_scope(desk, in_progress):
    a = _add(desk, in_progress, "a.png", image("PNG"))
    assert svc.visible(a.id, desk.staff("head_qa")).id == a.id
    assert svc.visible(a.id, desk.staff("head_log")) is None
    assert svc.visible("x", desk.staff("admin")) is None
    assert svc.visible(10**30, desk.staff("admin")) is None


def test_local_storage_keeps_keys_inside_its_folder(tmp_path):
    store = LocalStorage(str(tmp_path / "files"))
    with pytest.raises(StorageError):
        store.exists("../../etc/passwd")
    with pytest.raises(StorageError):
        store.open("sha256/00/00/missing")


# --- S3-compatible storage (moto's server) -----------------------------------------------


@pytest.fixture
def s3_files(app, s3_server):
    app.config.update(s3_server.config)
    app.extensions.pop("desk_storage", None)
    return s3_server


def test_s3_stores_reads_and_dedupes(desk, s3_files):
    cid = desk.bring_to(Status.IN_PROGRESS)
    data = image("JPEG", (300, 200))
    a = _add(desk, cid, "photo.jpg", data)
    b = _add(desk, cid, "again.jpg", data)
    client = s3_files.client()
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=s3_files.bucket)["Contents"])
    assert keys == sorted([f"desk/{a.storage_key}", f"desk/{a.thumbnail_key}"])
    assert b.storage_key == a.storage_key
    head = client.head_object(Bucket=s3_files.bucket, Key=f"desk/{a.storage_key}")
    assert head["ContentType"] == "image/jpeg" and head["ContentLength"] == len(data)
    stored = svc.open_content(a)
    assert b"".join(stored.chunks) == data and stored.size == len(data)
    assert b"".join(svc.open_content(a, thumbnail=True).chunks).startswith(b"\x89PNG")


def test_s3_multipart_upload_of_a_large_file(app, desk, s3_files):
    app.config["ATTACHMENT_MAX_BYTES"] = 30 * 1024 * 1024
    cid = desk.bring_to(Status.IN_PROGRESS)
    data = b"%PDF-1.4\n" + os.urandom(12 * 1024 * 1024)  # above boto3's 8 MB multipart size
    a = _add(desk, cid, "report.pdf", data)
    got = b"".join(svc.open_content(a).chunks)
    assert hashlib.sha256(got).hexdigest() == a.sha256 == hashlib.sha256(data).hexdigest()


def test_s3_outage_fails_the_upload_and_writes_no_row(desk, s3_files):
    cid = desk.bring_to(Status.IN_PROGRESS)
    events = _count(ComplaintEvent)
    s3_files.stop()
    with pytest.raises(svc.StorageDown) as err:
        _add(desk, cid, "photo.png", image("PNG"))
    assert "not reachable" in str(err.value)
    db.session.rollback()
    assert _count(Attachment) == 0 and _count(ComplaintEvent) == events


def test_s3_missing_bucket_is_a_storage_error(s3_server):
    store = S3Storage("no-such-bucket", endpoint_url=s3_server.url, access_key="t",
                      secret_key="t", timeout=2)
    with pytest.raises(StorageError):
        store.open("sha256/00/00/x")
