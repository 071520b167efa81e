"""Small real files of every accepted type, and liars, for the attachment tests."""

from __future__ import annotations

import io
import zipfile

OLE = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"


def image(fmt: str = "PNG", size=(64, 48), mode="RGB") -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new(mode, size, (200, 30, 30)).save(out, fmt)
    return out.getvalue()


def office(main: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("_rels/.rels", "<Relationships/>")
        z.writestr(main, "<doc>内容</doc>")
    return out.getvalue()


def zip_bomb() -> bytes:
    """A docx-looking zip whose one member unpacks to 1000× its packed size."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"\0" * (20 * 1024 * 1024))
    return out.getvalue()


def png_bomb(width=20000, height=20000) -> bytes:
    """A tiny PNG that claims width × height pixels (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grey
    rows = zlib.compress(b"\0" * ((width // 8 + 1) * 64))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows)
            + chunk(b"IEND", b""))


SAMPLES = {
    "jpeg": ("photo.jpg", lambda: image("JPEG")),
    "png": ("photo.png", lambda: image("PNG")),
    "gif": ("anim.gif", lambda: image("GIF", mode="P")),
    "webp": ("photo.webp", lambda: image("WEBP")),
    "mp3": ("call.mp3", lambda: b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 64),
    "m4a": ("call.m4a", lambda: b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom"
            + b"\0" * 200),
    "wav": ("call.wav", lambda: b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\0" * 200),
    "amr": ("call.amr", lambda: b"#!AMR\n" + b"\x3c" * 200),
    "pdf": ("report.pdf", lambda: b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"),
    "docx": ("report.docx", lambda: office("word/document.xml")),
    "xlsx": ("sheet.xlsx", lambda: office("xl/workbook.xml")),
    "pptx": ("slides.pptx", lambda: office("ppt/presentation.xml")),
    "doc": ("old.doc", lambda: OLE + b"\0" * 504 + b"\xEC\xA5\xC1\x00" + b"\0" * 600),
    "xls": ("old.xls", lambda: OLE + b"\0" * 504 + b"\xFD\xFF\xFF\xFF\x00\x00\x00"
            + b"\0" * 600),
}

HTML = b"<!DOCTYPE html><html><script>alert(1)</script></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
