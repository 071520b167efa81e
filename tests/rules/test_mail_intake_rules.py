"""rules/mail_intake.py: which complaint a subject names, the sender, what is automatic,
headers as one line, the message key, HTML made text, truncation, title and receipt time."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from rules import mail_intake as rm

NOW = datetime(2026, 11, 24, 10, 0)


@pytest.mark.parametrize(("subject", "number"), [
    ("Re: TS-20261124-0007 冰箱", "TS-20261124-0007"),
    ("回复：ts-20261124-0012", "TS-20261124-0012"),
    ("[TS-20261124-0003]", "TS-20261124-0003"),
    ("TS-2026112-0007", None),  # 7 digits: not a date
    ("XTS-20261124-0007", None),  # part of another word
    ("TS-20261124-00071234", None),  # runs on
    ("no number", None),
    (None, None),
])
def test_complaint_number_in_a_subject(subject, number):
    """A subject names a complaint by its number, in any case; look-alikes do not."""
    assert rm.complaint_number(subject) == number


def test_one_line_drops_new_lines_and_control_characters():
    """CR, LF, tabs, NUL and bidi controls become spaces; long text is cut with "…"."""
    assert rm.one_line("a\r\nBcc: x\t\x00b\u202e", 100) == "a Bcc: x b"
    assert rm.one_line("x" * 20, 10) == "x" * 9 + "…"
    assert rm.one_line(None, 10) == ""


def test_message_key():
    """The Message-ID as it is; missing or too long: a SHA-256 (of the raw message, or of
    the id), the same for the same input."""
    assert rm.message_key(" <a@b>\r\n", b"raw") == "<a@b>"
    missing = rm.message_key("", b"raw")
    assert missing.startswith("sha256:") and missing == rm.message_key(None, b"raw")
    assert missing != rm.message_key(None, b"other")
    long = rm.message_key("<" + "x" * 300 + ">", b"raw")
    assert long.startswith("sha256:") and len(long) <= rm.MAX_MESSAGE_ID


def test_sender():
    """The display name (else the address's local part) and the address, lower-case."""
    who = rm.sender("王芳", "Wang.Fang@Example.CN")
    assert (who.name, who.address, who.shown) == ("王芳", "wang.fang@example.cn",
                                                  "王芳 <wang.fang@example.cn>")
    assert rm.sender("", "li@example.cn").name == "li"
    assert rm.sender("a\r\nb", "li@example.cn").name == "a b"


@pytest.mark.parametrize("address", ["", "no-at-sign", "a@b", "a b@example.cn",
                                     "x@" + "y" * 200 + ".cn", "<a@b.cn>"])
def test_sender_without_a_usable_address_is_refused(address):
    """No address, or one that does not look like one: refused, with a readable reason."""
    with pytest.raises(rm.Refused, match="sender"):
        rm.sender("x", address)


@pytest.mark.parametrize(("headers", "address", "automatic"), [
    ({"auto-submitted": "auto-replied"}, "a@b.cn", True),
    ({"auto-submitted": "auto-generated"}, "a@b.cn", True),
    ({"auto-submitted": "no"}, "a@b.cn", False),
    ({"precedence": "bulk"}, "a@b.cn", True),
    ({}, "mailer-daemon@mx.cn", True),
    ({}, "postmaster@mx.cn", True),
    ({}, "a@b.cn", False),
])
def test_automatic_messages_are_refused(headers, address, automatic):
    """Auto-replies and bounces are no complaints (and answering them would loop)."""
    if automatic:
        with pytest.raises(rm.Refused):
            rm.check_not_automatic(headers, address)
    else:
        rm.check_not_automatic(headers, address)


def test_html_to_text():
    """Words only: no tags, scripts, styles or head; entities decoded; one line per block."""
    html = ("<html><head><title>T</title><style>b{}</style></head><body>"
            "<p>一&nbsp;二 &amp; &lt;三&gt;</p><script>alert(1)</script>"
            "<ul><li>甲</li><li>乙</li></ul>末<br>尾<!-- hidden --></body></html>")
    assert rm.html_to_text(html) == "一 二 & <三>\n- 甲\n- 乙\n末\n尾"
    assert rm.html_to_text("<scr<script>ipt>x</script>") == "ipt>x"
    assert rm.html_to_text("") == ""


def test_plain_text_and_truncation():
    """Lines trimmed, controls dropped, blank runs shortened; long text cut with a note."""
    assert rm.plain_text("  a \r\n\r\n\r\n\r\nb\x00\x1b ") == "a\n\nb"
    assert rm.truncated("short") == "short"
    assert rm.truncated("字" * 50, most=40) == "字" * 40  # no room for the note: cut only
    long = rm.truncated("字" * 20_000)
    assert len(long) <= 10_000 and "20000" in long and long.startswith("字")


def test_title():
    """The subject without Re:/Fwd:, else the body's first line, else a placeholder."""
    assert rm.title("Re: 回复：Fwd: 冰箱", "") == "冰箱"
    assert rm.title("", "\n\n  第一行\n第二行") == "第一行"
    assert rm.title(None, "") == "（无主题 no subject）"
    assert len(rm.title("长" * 500, "")) == rm.MAX_TITLE


def test_received_at():
    """When the mailbox got it, unless in the future or older than 30 days."""
    assert rm.received_at(NOW - timedelta(hours=2), NOW) == NOW - timedelta(hours=2)
    assert rm.received_at(NOW + timedelta(minutes=1), NOW) == NOW
    assert rm.received_at(NOW - timedelta(days=31), NOW) == NOW
    assert rm.received_at(None, NOW) == NOW


def test_thread_note_flags_another_address_and_lists_refused_files():
    """The note says who wrote, flags an address not on file, lists files not kept."""
    who = rm.sender("王芳", "wang@example.cn")
    note = rm.thread_note(who, "Re: TS-1", "正文", "WANG@example.cn", [])
    assert note.startswith("✉ 王芳 <wang@example.cn>\n") and "⚠" not in note and "正文" in note
    flagged = rm.thread_note(who, "s", "b", "other@example.cn", [("a.exe", "not accepted")])
    assert "⚠ ≠ other@example.cn" in flagged and "✗ a.exe: not accepted" in flagged
