"""The text of messages sent outside the app (services/delivery/render.py): both languages,
what staff messages carry and never carry, escaping, one-line subjects."""

from __future__ import annotations

import ast
from datetime import date, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from models import Complaint, Notification, db
from rules import Action, Status
from rules.delivery import CUSTOMER_ACK, CUSTOMER_RESULT, DUE_SOON, STAFF_KINDS
from services.delivery import render
from tests.conftest import make_app

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
BASE = "https://desk.example.com/"
ZH = "zh_Hans_CN"
EVIL = "<script>alert(1)</script>\r\nBcc: x@evil.test"


@pytest.fixture
def app(db_url):
    """The standard test app with links to the desk's public address."""
    yield from make_app(db_url, NOTIFY_BASE_URL=BASE)


@pytest.fixture
def case(desk):
    """A complaint in progress at QA with a customer phone and e-mail on file."""
    cid = desk.bring_to(Status.IN_PROGRESS, customer_phone="13912345678",
                        customer_email="wang.fang@example.org", customer_name="王芳",
                        title="冰箱不制冷")
    return db.session.get(Complaint, cid)


def _all_text(rendered: render.Rendered) -> str:
    return "\n".join((rendered.subject, rendered.body, rendered.html or ""))


def test_staff_mail_in_english_carries_number_title_what_status_deadline_link(desk, case):
    """An English staff e-mail: number, title, what happened, status, deadline, link."""
    out = render.notification_message(Action.ASSIGN, case, desk.staff("handler_qa"),
                                      locale="en")
    assert out.subject == f"[{case.number}] Assigned to you: 冰箱不制冷"
    link = f"https://desk.example.com/admin/complaint/details/?id={case.id}"
    for text in (out.body, out.html):
        assert case.number in text and "冰箱不制冷" in text
        assert "Assigned to you" in text and "In progress" in text
        assert case.due_at.strftime("%Y-%m-%d %H:%M") in text and "Resolve by" in text
        assert link in text and "Handler Qa" in text  # the greeting names the recipient
    assert "Number: " + case.number in out.body


def test_staff_mail_in_chinese(desk, case):
    """The recipient's locale zh_Hans_CN gives a Chinese subject and body."""
    out = render.notification_message(Action.URGE, case, desk.staff("handler_qa"), locale=ZH)
    assert out.subject == f"[{case.number}] 督办：冰箱不制冷"
    assert f"单号：{case.number}" in out.body and "状态：处理中" in out.body
    assert "办结期限" in out.body and "查看投诉单" in out.body
    assert "您好" in out.body and "Number" not in out.body


def test_unknown_locale_falls_back_to_the_default_language(desk, case):
    """A locale the desk does not speak renders in BABEL_DEFAULT_LOCALE (English)."""
    out = render.notification_message(Action.URGE, case, desk.staff("handler_qa"), locale="fr")
    assert out.subject.startswith(f"[{case.number}] Urged:")


@pytest.mark.parametrize("locale", ["en", ZH])
def test_staff_messages_never_carry_the_customers_contact_data(desk, case, locale):
    """Neither e-mail, robot post nor digest shows the customer's phone, e-mail or name;
    a phone or address typed into the title is masked."""
    case.title = "客户 13912345678 wang.fang@example.org 反映冰箱不制冷"
    db.session.flush()
    staff = desk.staff("head_qa")
    note = Notification(created_at=datetime(2026, 11, 23, 9, 30), recipient_id=staff.id,
                        complaint_id=case.id, kind=DUE_SOON)
    texts = [_all_text(render.notification_message(DUE_SOON, case, staff, locale=locale)),
             _all_text(render.robot_message(DUE_SOON, case, case.department, locale=locale)),
             _all_text(render.digest_message(staff, [(note, case)], locale=locale,
                                             day=date(2026, 11, 24)))]
    for text in texts:
        assert "13912345678" not in text and "wang.fang@example.org" not in text
        assert "王芳" not in text
        assert "139****5678" in text and "w***@example.org" in text


def test_title_with_script_is_escaped_in_html_and_plain_in_text(desk, case):
    """A title holding <script> is escaped in the HTML part, kept as text in the plain
    part, and cannot break the subject onto a second line."""
    case.title = EVIL
    out = render.notification_message(Action.ASSIGN, case, desk.staff("handler_qa"),
                                      locale="en")
    assert "<script>" not in out.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out.html
    # text/plain is inert; the address typed into the title is masked like any other.
    assert "<script>alert(1)</script> Bcc: x***@evil.test" in out.body
    assert "\r" not in out.subject and "\n" not in out.subject
    assert out.subject == f"[{case.number}] Assigned to you: <script>alert(1)</script> " \
                          "Bcc: x***@evil.test"
    # The title's line break cannot start a line of its own in the body either.
    assert not any(line.startswith("Bcc:") for line in out.body.splitlines())


@pytest.mark.parametrize("text, expected", [
    ("a\r\nBcc: b", "a Bcc: b"),
    ("a\nb\rc\td", "a b c d"),
    ("a\u2028b\u2029c\x00d\x1be", "a b c d e"),
    ("zero\u200bwidth\u202eflip", "zero width flip"),
    ("  many   spaces  ", "many spaces"),
    (None, ""),
])
def test_header_text_is_one_clean_line(text, expected):
    """Control, format and line-separator characters become single spaces."""
    assert render.header_text(text) == expected


def test_header_text_is_cut_to_its_limit():
    """A long subject is cut with an ellipsis, never longer than the limit."""
    cut = render.header_text("x" * 500)
    assert len(cut) == render.SUBJECT_MAX and cut.endswith("…")


def test_robot_message_is_plain_text_within_the_robots_limit(desk, case):
    """A robot post: the desk's name, what happened, the facts; no HTML; a huge title is
    cut so the post stays under WeCom's 2048 bytes."""
    out = render.robot_message(DUE_SOON, case, case.department, locale=ZH)
    assert out.html is None
    assert out.body.startswith("【客户投诉处理平台】不足一个工作日即将到期")
    assert case.number in out.body and "质量管理部" in out.body
    case.title = "很长的标题" * 400
    long = render.robot_message(DUE_SOON, case, case.department, locale=ZH)
    assert len(long.body.encode("utf-8")) <= render.ROBOT_MAX_BYTES
    assert long.body.endswith("…")


def test_digest_lists_every_item_in_both_languages(desk, case):
    """The digest counts its items, lists each with what happened, and says the day."""
    staff = desk.staff("handler_qa")
    items = [(Notification(created_at=datetime(2026, 11, 23, 9, 30), kind=Action.ASSIGN), case),
             (Notification(created_at=datetime(2026, 11, 23, 15, 5), kind=Action.URGE), case)]
    en = render.digest_message(staff, items, locale="en", day=date(2026, 11, 24))
    assert en.subject == "Complaint desk: your notifications of 2026-11-24 (2)"
    assert "2026-11-23 09:30  Assigned to you" in en.body
    assert "2026-11-23 15:05  Urged" in en.body
    assert en.body.count(case.number) == 2 and en.html.count(case.number) == 2
    zh = render.digest_message(staff, items, locale=ZH, day=date(2026, 11, 24))
    assert zh.subject == "客户投诉处理平台：您 2026-11-24 的通知（2 条）"
    assert "已指派给您" in zh.body and "督办" in zh.html


def test_customer_acknowledgement_has_number_next_steps_and_deadline(desk, case):
    """R8: the acknowledgement tells the number, what happens next and the answer's
    deadline, in Chinese by default; no staff names."""
    deadline = datetime(2026, 12, 2, 18, 0)
    out = render.customer_message(CUSTOMER_ACK, case, locale=ZH, deadline=deadline)
    assert out.subject == f"我们已收到您的投诉（编号 {case.number}）"
    assert out.body.startswith("尊敬的王芳：")
    assert case.number in out.body and "2026-12-02 18:00" in out.body
    assert "后续处理" in out.body and "责任部门" in out.body
    assert "Handler Qa" not in out.body
    en = render.customer_message(CUSTOMER_ACK, case, locale="en", deadline=None)
    assert en.subject == f"We have received your complaint ({case.number})"
    assert "as soon as possible" in en.body and "What happens next" in en.html


def test_customer_result_carries_the_resolution_and_how_to_reach_us(app, desk, case):
    """The result message: the resolution and customer service's contact when set."""
    case.resolution = "已为您更换新机 <b>并致歉</b>"
    app.config["CUSTOMER_SERVICE_CONTACT"] = "400-800-1234"
    out = render.customer_message(CUSTOMER_RESULT, case, locale=ZH, deadline=None)
    assert out.subject == f"您的投诉 {case.number} 已办结"
    assert "已为您更换新机 <b>并致歉</b>" in out.body
    assert "&lt;b&gt;并致歉&lt;/b&gt;" in out.html
    assert "客服联系方式：400-800-1234" in out.body
    app.config["CUSTOMER_SERVICE_CONTACT"] = None
    en = render.customer_message(CUSTOMER_RESULT, case, locale="en", deadline=None)
    assert "reply to this message" in en.body


def test_unknown_customer_purpose_is_refused(case):
    """Only the acknowledgement and the result exist."""
    with pytest.raises(ValueError):
        render.customer_message("newsletter", case, locale="en", deadline=None)


def test_link_needs_the_base_address(app, case):
    """No NOTIFY_BASE_URL, no link (and no complaint, no link)."""
    assert render.complaint_link(None) is None
    assert render.complaint_link(case.id).startswith("https://desk.example.com/admin/")
    app.config["NOTIFY_BASE_URL"] = None
    assert render.complaint_link(case.id) is None
    out = render.notification_message(Action.URGE, case, None, locale="en")
    assert "http" not in out.body and "Hello," in out.body


def test_every_staff_kind_has_its_own_words(app):
    """Each kind a person can receive has a headline (not the generic fallback)."""
    with app.app_context():
        missing = [kind for kind in STAFF_KINDS if kind not in render.KIND]
    assert missing == []


def test_labels_are_the_screens_own():
    """Status, deadline and notification words are one copy (services.labels), the same
    objects the screens use: a message never says something the screen does not."""
    from admin_views import labels
    from admin_views import notifications as screen

    assert render.STATUS is labels.STATUS and render.CLOCK is labels.CLOCK
    assert render.KIND is screen.KIND


def test_every_message_of_render_has_a_chinese_translation():
    """Every gettext message of render.py is translated (no fuzzy entry)."""
    with PO.open("rb") as f:
        catalog = read_po(f)
    source = (ROOT / "services" / "delivery" / "render.py").read_text()
    missing = []
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("_", "_l")
                and node.args and isinstance(node.args[0], ast.Constant)):
            message = catalog.get(node.args[0].value)
            if not (message and message.string and not message.fuzzy):
                missing.append(node.args[0].value)
    assert missing == []
