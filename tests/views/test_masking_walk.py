"""Personal data stays masked everywhere (issue 8, item 2).

The demo data, plus free text in which staff typed customers' phones and e-mails (an old
edit note holding changed contact values, a reason, a callback note, a finding, a title),
then every page reachable from the menu and the dashboard and every export, as the
supervisor and as senior management: no full phone number or e-mail address of any demo
customer appears anywhere. The clerk (customer service) still reads them whole.
"""

from __future__ import annotations

import html
import io
import re
from collections import Counter, deque
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import openpyxl
import pytest
from sqlalchemy import select

from models import (
    AccountabilityRecord,
    CallbackRecord,
    Complaint,
    ComplaintEvent,
    Staff,
    db,
)
from services import clock
from services.demo import DEMO_PASSWORD, load_demo
from tests.factories import AuthActions, export_file

HREF = re.compile(r'href="([^"#]+)"')
SKIP = re.compile(r"^/(?:static|admin/static|logout|language|login)\b|/static/")
DETAILS_PER_LIST = 3
VARIANTS_PER_PATH = 3
EXPORTS_PER_PATH = 2
MAX_PAGES = 250
SHORT_PHONE = "0215550172"  # a landline with its area code (issue 11: one without is refused)


def _staff(username: str) -> Staff:
    return db.session.scalar(select(Staff).filter_by(username=username))


def _seed_free_text(now) -> list[int]:
    """Free text holding demo customers' contacts, as staff type it (the newest rows of
    the audit trail and the callback records); returns the complaints it went into."""
    from services.accountability import record_finding
    from services.complaints import register

    rows = db.session.scalars(select(Complaint).order_by(Complaint.id)).all()
    with_email = [c for c in rows if c.customer_email]
    a, b, c, d = rows[0], rows[1], rows[2], rows[3]
    e1, e2 = with_email[0], with_email[1]
    # An edit event of an older version: the contact values in the note.
    db.session.add(ComplaintEvent(
        complaint_id=a.id, at=now, actor_id=_staff("intake").id,
        action="edit", from_status=a.status, to_status=a.status,
        escalation_level=a.escalation_level,
        note=(f"customer_phone: {b.customer_phone} → {a.customer_phone}; "
              f"customer_email: {e1.customer_email} → {e2.customer_email}")))
    # A callback note and a reason with a number typed in groups, +86 in front.
    phone = c.customer_phone
    grouped = f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"
    db.session.add(CallbackRecord(
        complaint_id=b.id, at=now, staff_id=_staff("intake").id,
        method="phone", reached=False,
        notes=f"客户换了号码 {grouped}，邮件 {e1.customer_email}"))
    db.session.add(ComplaintEvent(
        complaint_id=b.id, at=now, actor_id=_staff("intake").id,
        action="note", from_status=b.status, to_status=b.status,
        escalation_level=b.escalation_level,
        note=f"请回电 {d.customer_phone}"))
    db.session.commit()
    # A finding's note (accountability) when the sweep left a record.
    record = db.session.scalar(select(AccountabilityRecord)
                               .order_by(AccountabilityRecord.at.desc()).limit(1))
    if record is not None:
        record_finding(record.id, "responsible", f"未及时回电 {a.customer_phone} / "
                       f"{e2.customer_email}", _staff("manager"), now=now)
    # A repeat complainant, whose title holds another customer's number: the newest demo
    # customer calls again a second later, so both complaints are in one month whatever the
    # hour (at the turn of a month the demo's complaints are all last month's).
    newest = max((r for r in rows if r.customer_phone), key=lambda r: r.received_at)
    again = register({"customer_name": newest.customer_name,
                      "customer_phone": newest.customer_phone,
                      "customer_email": e2.customer_email, "title": f"再次来电 {d.customer_phone}",
                      "description": f"联系 {e1.customer_email} 或 {c.customer_phone}",
                      "demand": "尽快处理",
                      "received_at": newest.received_at + timedelta(seconds=1)},
                     _staff("intake"), now=newest.received_at + timedelta(seconds=1))
    # A 10-digit landline (021 + 7 digits): masked too (0*******72), not 021****0172.
    landline = register({"customer_name": "钱七", "customer_phone": SHORT_PHONE,
                         "title": "座机来电", "description": "d",
                         "received_at": now - timedelta(hours=3)},
                        _staff("intake"), now=now - timedelta(hours=3))
    return [a.id, b.id, again.id, landline.id]


@pytest.fixture
def demo(app):
    """The demo data (60 complaints) and the customers' contacts, read from the table."""
    with app.app_context():
        load_demo(count=60)
        seeded = _seed_free_text(clock.now())
        phones = {p for p in db.session.scalars(select(Complaint.customer_phone)) if p}
        emails = {e for e in db.session.scalars(select(Complaint.customer_email)) if e}
    assert len(phones) >= 50 and len(emails) >= 15 and SHORT_PHONE in phones
    return phones, emails, seeded


class Leaks:
    """Finds customers' phones (as stored, or as bare digits) and e-mails in any text."""

    def __init__(self, phones, emails):
        digits = {re.sub(r"\D", "", p) for p in phones}
        words = sorted({*phones, *digits, *emails}, key=len, reverse=True)
        self.pattern = re.compile("|".join(re.escape(w) for w in words), re.IGNORECASE)

    def __call__(self, text: str) -> list[str]:
        flat = html.unescape(text)
        found = self.pattern.findall(flat)
        # A number written in groups: compare the digits of the page too.
        found += self.pattern.findall(re.sub(r"(?<=\d)[ \-](?=\d)", "", flat))
        return sorted(set(found))


def _xlsx_text(data: bytes) -> str:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    parts = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            parts.extend(str(v) for v in row if v is not None)
    book.close()
    return "\n".join(parts)


def _with_page(url: str, page: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "page"] + [("page", str(page))]
    return urlunsplit(parts._replace(query=urlencode(query)))


def walk(client, leaks, also=()) -> dict:
    """Every page reachable from the menu and the dashboard, bounded: each list (and its
    page 2), the first rows' detail pages, what those link to, every export; and the
    pages ``also``."""
    seen, per_path = set(), Counter()
    queue = deque(["/admin/", *also])
    seen.update(queue)
    visited = {"pages": 0, "exports": 0, "details": 0, "lists": set()}
    problems = []

    def enqueue(url, force=False):
        url = html.unescape(url)
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/"):
            return
        url = urlunsplit(("", "", parts.path, parts.query, ""))
        if url in seen or SKIP.search(parts.path):
            return
        path = parts.path
        if "/export/" in path:
            cap = EXPORTS_PER_PATH
        elif path.endswith("/details/"):
            cap = DETAILS_PER_LIST
        else:
            cap = VARIANTS_PER_PATH
        if not force and per_path[path] >= cap:
            return
        per_path[path] += 1
        seen.add(url)
        queue.append(url)

    while queue:
        url = queue.popleft()
        assert visited["pages"] < MAX_PAGES, "the walk does not end"
        # an export: followed through its job to the file
        response = export_file(client, url) if "/export/" in url else client.get(url)
        data = response.get_data()
        response.close()  # a sent file (an export): its temporary file
        visited["pages"] += 1
        assert response.status_code < 500, url
        if response.status_code != 200:
            continue
        if data[:2] == b"PK":
            visited["exports"] += 1
            text = _xlsx_text(data)
        else:
            text = data.decode()
            for href in HREF.findall(text):
                enqueue(href)
            path = urlsplit(url).path
            if path.endswith("/details/"):
                visited["details"] += 1
            elif re.fullmatch(r"/admin/[a-z_]+/", path):  # a list: its page 2 as well
                visited["lists"].add(path)
                enqueue(_with_page(path, 1), force=True)
        found = leaks(text)
        if found:
            problems.append((url, found))
    assert not problems, "\n".join(f"{url}: {found}" for url, found in problems)
    return visited


def _month(now, back: int = 0) -> str:
    first = now.replace(day=1)
    for _ in range(back):
        first = (first - timedelta(days=1)).replace(day=1)
    return f"{first:%Y-%m}"


@pytest.mark.parametrize("username", ["supervisor", "executive"])
def test_no_contact_of_a_demo_customer_anywhere(app, client, demo, username):
    phones, emails, seeded = demo
    leaks = Leaks(phones, emails)
    assert AuthActions(client).login(username, DEMO_PASSWORD).status_code in (302, 303)

    visited = walk(client, leaks, [f"/admin/complaint/details/?id={i}" for i in seeded])
    # The walk really went everywhere: lists, their detail pages and their exports.
    for screen in ("/admin/complaint/", "/admin/complaint_event/",
                   "/admin/callback_record/", "/admin/accountability/"):
        assert screen in visited["lists"], (screen, sorted(visited["lists"]))
    assert visited["details"] >= 9 and visited["exports"] >= 4, visited

    # The monthly workbook of this month and the last, all departments and one.
    with app.app_context():
        now = clock.now()
        repeat_month = f"{db.session.get(Complaint, seeded[2]).received_at:%Y-%m}"
    for query in (f"month={_month(now)}", f"month={_month(now, 1)}",
                  f"month={_month(now)}&department=QA"):
        response = export_file(client, f"/admin/reports/monthly/?{query}")
        data = response.get_data()
        response.close()
        assert response.status_code == 200 and data[:2] == b"PK", query
        text = _xlsx_text(data)
        assert not leaks(text), (query, leaks(text))
        # the repeat complainant, masked, in the month it came in
        if query == f"month={repeat_month}":
            assert "****" in text

    # No JSON lookup endpoint leaks them either: no view has ajax references.
    for view in app.extensions["admin"][0]._views:
        assert not getattr(view, "form_ajax_refs", None), view
    for screen in sorted(visited["lists"]):
        response = client.get(f"{screen}ajax/lookup/?name=customer_phone&query=1")
        assert response.status_code in (403, 404), screen
        assert not leaks(response.get_data(as_text=True))


def test_the_clerk_reads_the_contacts_the_supervisor_does_not(app, client, demo):
    """The same seeded free text: whole for customer service (the check has teeth)."""
    phones, emails, _seeded = demo
    leaks = Leaks(phones, emails)
    with app.app_context():
        event = db.session.scalar(select(ComplaintEvent).where(
            ComplaintEvent.note.like("customer_phone:%")))
        complaint_id, event_id = event.complaint_id, event.id
    pages = (f"/admin/complaint/details/?id={complaint_id}",
             f"/admin/complaint_event/details/?id={event_id}",
             "/admin/complaint_event/", "/admin/callback_record/")
    AuthActions(client).login("intake", DEMO_PASSWORD)
    for url in pages:
        assert leaks(client.get(url).get_data(as_text=True)), url


def test_a_phone_in_a_reason_is_masked_for_the_supervisor_only(app, client, org):
    """A rejection whose reason holds the customer's new number and e-mail: masked in the
    timeline, the audit trail (list, details, export) and the complaint's own fields for
    the supervisor; whole for the clerk who wrote it."""
    from services.complaints import perform, register

    phone, email = "13912345678", "new.mail@example.com"
    with app.app_context():
        intake = _staff("intake")
        complaint = register({"customer_name": "张三", "customer_phone": "13800138000",
                              "title": "t", "description": "d"}, intake)
        perform(complaint.id, "reject", intake,
                {"reason": f"客户改用新号码 139-1234-5678，邮箱 {email}，重复投诉"})
        event_id = db.session.scalar(select(ComplaintEvent.id).where(
            ComplaintEvent.complaint_id == complaint.id, ComplaintEvent.action == "reject"))
        complaint_id = complaint.id
    pages = (f"/admin/complaint/details/?id={complaint_id}",
             "/admin/complaint_event/",
             f"/admin/complaint_event/details/?id={event_id}",
             "/admin/complaint_event/export/xlsx/",
             "/admin/complaint/export/xlsx/?queue=all")

    def read(url) -> str:
        response = export_file(client, url)
        data = response.get_data()
        response.close()
        assert response.status_code == 200, url
        text = _xlsx_text(data) if data[:2] == b"PK" else html.unescape(data.decode())
        return re.sub(r"(?<=\d)-(?=\d)", "", text)

    auth = AuthActions(client)
    auth.login("supervisor")
    for url in pages:
        text = read(url)
        assert phone not in text and email not in text, url
        if "complaint_event" in url or "details" in url:
            assert "139****5678" in text and "n***@example.com" in text, url
    auth.logout()
    auth.login("intake")
    for url in pages[:4]:
        text = read(url)
        assert phone in text and email in text, url


def test_workbook_masks_titles_unless_contacts_are_shown(app, org):
    """An overdue complaint whose title holds a phone: masked in the workbook made with
    ``mask_phones`` (a supervisor's, and ``flask report`` by default), whole without."""
    from datetime import datetime

    from admin_views.reports import value_labels
    from services.reports import month, monthly_report, write_monthly_workbook
    from tests.factories import insert_complaint

    with app.app_context():
        complaint = insert_complaint(title="客户 13912345678 多次来电",
                                     received_at=datetime(2026, 11, 2, 9))
        db.session.add(ComplaintEvent(complaint_id=complaint.id, at=datetime(2026, 11, 5, 9),
                                      action="overdue", from_status=complaint.status,
                                      to_status=complaint.status, escalation_level=1))
        db.session.commit()
        report = monthly_report(month("2026-11"), None, now=datetime(2026, 12, 1, 9))
        for masked in (True, False):
            out = io.BytesIO()
            write_monthly_workbook(report, out, value_labels(), mask_phones=masked,
                                   made_by="test")
            titles = [r[5] for r in openpyxl.load_workbook(out)["Overdue complaints"]
                      .iter_rows(min_row=5, values_only=True) if r[0]]
            want = "客户 139****5678 多次来电" if masked else "客户 13912345678 多次来电"
            assert titles == [want]
