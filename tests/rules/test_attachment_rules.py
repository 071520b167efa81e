"""rules/attachments.py: names, types, sizes, totals, images, archives, who, keys, serving."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules import Role, Status
from rules import attachments as ra
from rules.errors import InvalidInput, PermissionDenied, RuleError
from tests.rules.conftest import check_refusal_sentence

LIM = ra.Limits(max_bytes=1000, max_total_bytes=2500, max_files=3, max_pixels=10_000)


# --- names ------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, kept", [
    ("photo.jpg", "photo.jpg"), ("  照片 1.JPG ", "照片 1.JPG"), ("a.b.c.pdf", "a.b.c.pdf"),
    ("报告", "报告"), ("e\u0301.png", "\u00e9.png"), (".hidden.png", ".hidden.png"),
])
def test_names_kept(raw, kept):
    assert ra.clean_name(raw) == kept


@pytest.mark.parametrize("raw", [
    "../../x", "../x.jpg", "a/b.jpg", "C:\\x.jpg", "..\\..\\x", "/etc/passwd", "x\0.jpg",
    "a\nb.png", "C:x.jpg", "file.jpg:stream", ".", "..", "...", "", "   ", None, "x" * 201,
    "\x7f.png", "a\u0085b.png",
])
def test_names_refused(raw):
    with pytest.raises(InvalidInput) as err:
        ra.clean_name(raw)
    check_refusal_sentence(err.value)


@given(st.text(max_size=300))
@settings(max_examples=400)
def test_any_kept_name_is_a_plain_file_name(raw):
    try:
        name = ra.clean_name(raw)
    except InvalidInput as err:
        check_refusal_sentence(err)
        return
    assert name and len(name) <= ra.MAX_NAME_LENGTH
    assert not any(c in name for c in "/\\:\0\n\r")
    assert name.strip(".") and name == name.strip()


@pytest.mark.parametrize("name, ext", [("a.JPG", "jpg"), ("a", ""), (".png", ""),
                                       ("a.tar.gz", "gz"), ("a.", "")])
def test_extension(name, ext):
    assert ra.extension(name) == ext


# --- type --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(ra.TYPES))
def test_every_type_accepted_under_each_of_its_extensions(kind):
    for ext in ra.TYPES[kind].extensions:
        t, name = ra.check_type(kind, f"file.{ext.upper()}")
        assert t.kind == kind and name == f"file.{ext.upper()}"


@pytest.mark.parametrize("kind", sorted(ra.TYPES))
def test_a_name_without_extension_gets_the_types(kind):
    _, name = ra.check_type(kind, "报告")
    assert name == f"报告.{ra.TYPES[kind].extensions[0]}"


@pytest.mark.parametrize("detected", [None, "", "html", "svg", "exe", "zip", "mp4", "bmp",
                                      "sqlite", "elf", "tif"])
def test_unknown_content_refused(detected):
    with pytest.raises(InvalidInput) as err:
        ra.check_type(detected, "photo.jpg")
    check_refusal_sentence(err.value)


def test_every_pair_of_content_and_extension():
    """A name whose extension belongs to another type is a file that lies: refused."""
    for kind in ra.TYPES:
        for other in ra.TYPES.values():
            for ext in other.extensions:
                if ext in ra.TYPES[kind].extensions:
                    assert ra.check_type(kind, f"x.{ext}")[0].kind == kind
                else:
                    with pytest.raises(InvalidInput) as err:
                        ra.check_type(kind, f"x.{ext}")
                    assert ext in str(err.value)
                    check_refusal_sentence(err.value)
        for ext in ("html", "svg", "exe", "js", "php"):
            with pytest.raises(InvalidInput):
                ra.check_type(kind, f"x.{ext}")


def test_types_are_the_issues_list_and_never_html_or_svg():
    assert set(ra.TYPES) == {"jpeg", "png", "gif", "webp", "mp3", "m4a", "wav", "amr", "pdf",
                             "docx", "xlsx", "pptx", "doc", "xls"}
    for t in ra.TYPES.values():
        assert "html" not in t.mime and "svg" not in t.mime and "xml" not in t.mime.split("/")[0]


# --- sizes and totals ---------------------------------------------------------------------


@pytest.mark.parametrize("size, ok", [(-1, False), (0, False), (1, True), (999, True),
                                      (1000, True), (1001, False), (10**12, False)])
def test_size(size, ok):
    if ok:
        ra.check_size(size, LIM)
    else:
        with pytest.raises(InvalidInput) as err:
            ra.check_size(size, LIM)
        check_refusal_sentence(err.value)


def test_too_large_names_the_limit():
    with pytest.raises(InvalidInput) as err:
        ra.check_size(30 * 1024 * 1024, ra.Limits())
    assert "25 MB" in str(err.value)


@given(count=st.integers(0, 10), total=st.integers(0, 5000), size=st.integers(1, 1000))
def test_totals(count, total, size):
    ok = count + 1 <= LIM.max_files and total + size <= LIM.max_total_bytes
    if ok:
        ra.check_totals(count, total, size, LIM)
    else:
        with pytest.raises(InvalidInput) as err:
            ra.check_totals(count, total, size, LIM)
        check_refusal_sentence(err.value)


@given(w=st.integers(-5, 200), h=st.integers(-5, 200))
def test_image_pixels(w, h):
    if w > 0 and h > 0 and w * h <= LIM.max_pixels:
        ra.check_image(w, h, LIM)
    else:
        with pytest.raises(InvalidInput) as err:
            ra.check_image(w, h, LIM)
        check_refusal_sentence(err.value)


def test_image_bomb_refusal():
    check_refusal_sentence(ra.image_bomb())


# --- archives ----------------------------------------------------------------------------


def test_archive_ok():
    ra.check_archive(1000, [("[Content_Types].xml", 500), ("word/document.xml", 50_000)])


@pytest.mark.parametrize("packed, members", [
    (1000, []),
    (1000, [("word/document.xml", 100_001)]),  # over 100× its packed size
    (10**9, [("a", ra.MAX_ARCHIVE_UNPACKED + 1)]),
    (10**9, [(f"f{i}", 1) for i in range(ra.MAX_ARCHIVE_MEMBERS + 1)]),
    (1000, [("../../evil.xml", 10)]),
    (1000, [("/abs.xml", 10)]),
    (1000, [("word\\..\\..\\x", 10)]),
])
def test_archive_refused(packed, members):
    with pytest.raises(InvalidInput) as err:
        ra.check_archive(packed, members)
    check_refusal_sentence(err.value)


@pytest.mark.parametrize("names, kind", [
    (["[Content_Types].xml", "word/document.xml"], "docx"),
    (["[Content_Types].xml", "xl/workbook.xml"], "xlsx"),
    (["[Content_Types].xml", "ppt/presentation.xml"], "pptx"),
    (["word/document.xml"], None),  # not an Office package
    (["[Content_Types].xml"], None),
    (["[Content_Types].xml", "content.xml"], None),  # ODF or anything else
])
def test_office_kind(names, kind):
    assert ra.office_kind(names) == kind


# --- who ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", Role.ALL)
@pytest.mark.parametrize("status", Status.ALL)
@pytest.mark.parametrize("visible", [True, False])
def test_who_attaches(role, status, visible):
    ok = visible and role != Role.SUPERVISOR and status != Status.CLOSED
    if ok:
        ra.check_attach(role, status, visible)
    else:
        with pytest.raises(RuleError) as err:
            ra.check_attach(role, status, visible)
        check_refusal_sentence(err.value)
        if not visible:  # outside the scope reads as "not found", whatever else
            assert str(err.value) == "Complaint not found."


@pytest.mark.parametrize("role", Role.ALL)
@pytest.mark.parametrize("own", [True, False])
@pytest.mark.parametrize("retired", [True, False])
@pytest.mark.parametrize("reason", ["", "   ", "wrong photo", "x" * 1001])
def test_who_retires(role, own, retired, reason):
    allowed = role in Role.MANAGERS or (own and role != Role.SUPERVISOR)
    good_reason = reason.strip() and len(reason) <= ra.MAX_REASON_LENGTH
    if not retired and allowed and good_reason:
        assert ra.check_retire(role, 7, 7 if own else 8, retired, reason) == reason.strip()
    else:
        with pytest.raises((InvalidInput, PermissionDenied)) as err:
            ra.check_retire(role, 7, 7 if own else 8, retired, reason)
        check_refusal_sentence(err.value)


def test_retire_reason_is_one_line():
    assert ra.check_retire(Role.MANAGER, 1, 2, False, " wrong\n\tphoto  ") == "wrong photo"


@pytest.mark.parametrize("role", Role.ALL)
def test_downloads(role):
    assert ra.may_download(role, retired=False)
    assert ra.may_download(role, retired=True) == (role in Role.MANAGERS)


# --- keys and serving ----------------------------------------------------------------------


@given(st.binary(min_size=32, max_size=32))
def test_keys_are_content_addressed(raw):
    digest = raw.hex()
    key = ra.storage_key(digest)
    assert key == f"sha256/{digest[:2]}/{digest[2:4]}/{digest}"
    assert ra.thumbnail_key(digest) == f"thumbs/{digest[:2]}/{digest[2:4]}/{digest}.png"


@pytest.mark.parametrize("bad", ["", "../../etc/passwd", "A" * 64, "0" * 63, "0" * 65, None,
                                 "g" * 64])
def test_keys_only_from_digests(bad):
    with pytest.raises(ValueError):
        ra.storage_key(bad)


@pytest.mark.parametrize("kind", sorted(ra.TYPES))
def test_only_images_inline(kind):
    family = ra.TYPES[kind].family
    assert ra.disposition(kind) == ("inline" if family == "image" else "attachment")
    assert ra.served_mime(kind) == ra.TYPES[kind].mime


@pytest.mark.parametrize("kind", ["html", "svg", "", "text", None])
def test_unknown_kinds_are_downloads_of_bytes(kind):
    assert ra.disposition(kind) == "attachment"
    assert ra.served_mime(kind) == "application/octet-stream"
