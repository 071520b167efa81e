"""The monthly meeting workbook, checked figure by figure against a hand-built month.

The data set below is small enough to count on paper; every expected number in these tests
was worked out by hand from it (the comments show the working), not by the report's SQL.

November 2026 has no statutory holiday: Mon 2, 9, 16, 23, 30 Nov; the October dates used
(Tue 20, Thu 22, Mon 26, Wed 28, Thu 29, Fri 30) are ordinary working days.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime

import openpyxl
import pytest
from sqlalchemy import select

from models import ExportLog, db
from tests.exports.conftest import add_callback, add_event, category_id, download, make_complaint

D = datetime
REPORT = "/admin/reports/monthly/?month=2026-11"


def _seed(org):
    """Thirteen complaints around November 2026 (inside an app context). Ids A1..A13."""
    qa, log = org.qa, org.log
    pq, svc, dlv, bil = (category_id(c) for c in ("product_quality", "service", "delivery",
                                                   "billing"))
    spec = {
        # received in November
        1: dict(department_id=qa, received_at=D(2026, 11, 2, 9), kind="complaint",
                channel="phone", customer_class="A", category_id=pq,
                customer_phone="13900000001", forwarded_at=D(2026, 11, 2, 10),
                resolve_due=D(2026, 11, 11, 23, 59, 59), resolved_at=D(2026, 11, 5, 15),
                status="closed", closed_at=D(2026, 11, 9, 10)),
        2: dict(department_id=qa, received_at=D(2026, 11, 3, 9), kind="complaint",
                channel="hotline", customer_class="B", category_id=pq,
                customer_phone="13900000001", forwarded_at=D(2026, 11, 3, 10),
                resolve_due=D(2026, 11, 4, 23, 59, 59), resolved_at=D(2026, 11, 6, 15),
                status="resolved"),
        3: dict(department_id=qa, received_at=D(2026, 11, 4, 9), kind="complaint",
                channel="web", customer_class="B", category_id=svc,
                customer_phone="13900000002", forwarded_at=D(2026, 11, 4, 10),
                resolve_due=D(2026, 11, 20, 23, 59, 59), resolved_at=D(2026, 11, 16, 15),
                reopen_count=1, status="in_progress"),
        4: dict(department_id=log, received_at=D(2026, 11, 9, 9), kind="consultation",
                channel="phone", customer_class="C", category_id=dlv,
                customer_phone="13900000003", answered_on_the_spot=True,
                resolved_at=D(2026, 11, 9, 11), status="closed", closed_at=D(2026, 11, 10, 9)),
        5: dict(department_id=log, received_at=D(2026, 11, 10, 9), kind="complaint",
                channel="email", customer_class="D", category_id=dlv,
                customer_phone="13900000004", forwarded_at=D(2026, 11, 10, 10),
                resolve_due=D(2026, 11, 12, 23, 59, 59), due_at=D(2026, 11, 12, 23, 59, 59),
                status="in_progress"),
        6: dict(department_id=None, received_at=D(2026, 11, 20, 9), kind="suggestion",
                channel="letter", customer_class="A", category_id=None,
                customer_phone="13900000005", status="registered"),
        7: dict(department_id=qa, received_at=D(2026, 11, 25, 9), kind="complaint",
                channel="phone", customer_class="C", category_id=pq,
                customer_phone="13900000001", status="rejected",
                rejected_at=D(2026, 11, 25, 10)),
        12: dict(department_id=qa, received_at=D(2026, 11, 30, 23), kind="complaint",
                 channel="web", customer_class="A", category_id=bil,
                 customer_phone="13900000005", status="registered"),
        # received in October
        8: dict(department_id=log, received_at=D(2026, 10, 20, 9), kind="complaint",
                channel="hotline", customer_class="A", category_id=dlv,
                customer_phone="13900000006", forwarded_at=D(2026, 10, 20, 10),
                resolve_due=D(2026, 10, 29, 23, 59, 59), resolved_at=D(2026, 10, 22, 15),
                status="closed", closed_at=D(2026, 11, 3, 9)),
        9: dict(department_id=qa, received_at=D(2026, 10, 26, 9), kind="complaint",
                channel="phone", customer_class="B", category_id=svc,
                customer_phone="13900000007", forwarded_at=D(2026, 10, 26, 10),
                resolve_due=D(2026, 11, 4, 23, 59, 59), status="in_progress"),
        10: dict(department_id=qa, received_at=D(2026, 10, 28, 9), kind="complaint",
                 channel="phone", customer_class="C", category_id=pq,
                 customer_phone="13900000008", forwarded_at=D(2026, 10, 28, 10),
                 resolve_due=D(2026, 10, 27, 23, 59, 59), resolved_at=D(2026, 10, 29, 15),
                 status="closed", closed_at=D(2026, 10, 30, 9)),
        # older, and after the month
        11: dict(department_id=log, received_at=D(2026, 9, 15, 9), kind="complaint",
                 channel="phone", customer_class="C", category_id=dlv,
                 customer_phone="13900000009", forwarded_at=D(2026, 9, 15, 10),
                 status="in_progress"),
        13: dict(department_id=qa, received_at=D(2026, 12, 1, 0), kind="complaint",
                 channel="phone", customer_class="A", category_id=pq,
                 customer_phone="13900000005", status="registered"),
    }
    c = {n: make_complaint(n, **fields) for n, fields in spec.items()}
    add_callback(c[1], D(2026, 11, 6, 10), "satisfied")
    add_callback(c[1], D(2026, 11, 8, 10), "very_satisfied")
    add_callback(c[3], D(2026, 11, 17, 10), "unsatisfied")
    add_callback(c[4], D(2026, 11, 9, 12), "average")
    add_callback(c[8], D(2026, 11, 2, 10), "satisfied")
    add_callback(c[8], D(2026, 10, 23, 10), None, reached=False)
    add_callback(c[10], D(2026, 10, 29, 16), "very_satisfied")
    add_callback(c[2], D(2026, 11, 7, 10), None, reached=False)
    add_event(c[5], "overdue", D(2026, 11, 13, 0, 5))
    add_event(c[5], "extend_request", D(2026, 11, 11, 9))
    add_event(c[9], "overdue", D(2026, 11, 5, 0, 5))
    add_event(c[9], "overdue", D(2026, 11, 20, 0, 5))
    add_event(c[10], "overdue", D(2026, 10, 28, 0, 5))
    add_event(c[2], "extend_request", D(2026, 11, 4, 9))
    add_event(c[9], "extend_request", D(2026, 10, 27, 9))
    db.session.commit()


@pytest.fixture
def month(app, org):
    with app.app_context():
        _seed(org)
    return org


def _workbook(body):
    return openpyxl.load_workbook(io.BytesIO(body))


def _table(ws, header_row=4):
    """{first cell: [other cells]} of the table whose header is on ``header_row``."""
    out = {}
    for row in ws.iter_rows(min_row=header_row + 1, values_only=True):
        if row[0] is None:
            break
        out[row[0]] = list(row[1:])
    return out


def _approx(values):
    return [pytest.approx(v) if isinstance(v, float) else v for v in values]


def _get(client, auth, username, url=REPORT):
    auth.login(username)
    status, body, headers = download(client, url)
    assert status == 200, headers.get("Location")
    return _workbook(body), body


def test_summary_figures_against_hand_count(client, auth, month):
    """Summary: each figure of November and October as counted by hand, and the change."""
    wb, _ = _get(client, auth, "manager")
    rows = _table(wb["Summary"])
    # received: Nov A1 A2 A3 A4 A5 A6 A7 A12 = 8 (A13 is 1 Dec); Oct A8 A9 A10 = 3
    assert rows["Received in the month"] == [8, 3, 5]
    # resolved: Nov A1 A2 A3 A4 = 4; Oct A8 A10 = 2
    assert rows["Resolved in the month"] == [4, 2, 2]
    # closed: Nov A1 A4 A8 (closed 3 Nov) = 3; Oct A10 = 1
    assert rows["Closed in the month"] == [3, 1, 2]
    # open at 30 Nov: A2 A3 A5 A6 A9 A11 A12 = 7; at 31 Oct: A8 A9 A11 = 3
    assert rows["Open at month end"] == [7, 3, 4]
    # overdue events: Nov A5, A9 (twice, one complaint) = 2; Oct A10 = 1
    assert rows["Overdue (missed a deadline)"] == [2, 1, 1]
    # on time: Nov A1 A3 A4 of 4 = 0.75; Oct A8 of 2 = 0.5; change +25 points
    assert rows["On-time rate"] == _approx([0.75, 0.5, 25.0])
    # reopened: Nov A3 of 4 = 0.25; Oct none of 2 = 0
    assert rows["Reopen rate"] == _approx([0.25, 0.0, 25.0])
    # rated callbacks: Nov A1 sat, A1 very, A3 unsat, A4 avg, A8 sat → 3 of 5; Oct A10 very 1/1
    assert rows["Satisfaction rate"] == _approx([0.6, 1.0, -40.0])
    # working days received → resolved: Nov A1 3, A2 3, A3 8, A4 0 → 14/4; Oct A8 2, A10 1
    assert rows["Average working days to resolve"] == _approx([3.5, 1.5, 2.0])


def test_department_sheet_against_hand_count(client, auth, month):
    """By department: received, resolved, on time, overdue, extensions, handling days, callbacks."""
    wb, _ = _get(client, auth, "supervisor")
    rows = _table(wb["By department"])
    # columns: received, resolved, within deadline, on-time rate, overdue, extension requests,
    #          average handling working days, rated callbacks, satisfaction rate
    # QA: received A1 A2 A3 A7 A12; resolved A1 A2 A3 (A1 A3 on time); overdue A9;
    #     extension A2; handling (fwd→res) 3 + 3 + 8 = 14 / 3; callbacks A1 ×2, A3: 2 good of 3
    assert rows["质量管理部 (QA)"] == _approx([5, 3, 2, 2 / 3, 1, 1, 14 / 3, 3, 2 / 3])
    # LOG: received A4 A5; resolved A4 on the spot (on time, never forwarded → no handling
    #      days); overdue A5; extension A5; callbacks A4 average, A8 satisfied: 1 of 2
    assert rows["物流部 (LOG)"] == _approx([2, 1, 1, 1.0, 1, 1, None, 2, 0.5])
    # not forwarded yet: A6
    assert rows["Customer service (not forwarded)"] == [1, 0, 0, None, 0, 0, None, 0, None]
    assert rows["Total"] == _approx([8, 4, 3, 0.75, 2, 2, 14 / 3, 5, 0.6])
    assert list(rows)[:2] == ["物流部 (LOG)", "质量管理部 (QA)"]


def test_breakdowns_against_hand_count(client, auth, month):
    """Kind × category, channel and customer class of the 8 complaints received in November."""
    wb, _ = _get(client, auth, "admin")
    kc = _table(wb["Kind × category"])
    # columns: complaint, consultation, suggestion, total
    assert kc["Product quality"] == [3, 0, 0, 3]  # A1 A2 A7
    assert kc["Service"] == [1, 0, 0, 1]  # A3
    assert kc["Delivery"] == [1, 1, 0, 2]  # A5; A4 consultation
    assert kc["Billing"] == [1, 0, 0, 1]  # A12
    assert kc["(no category)"] == [0, 0, 1, 1]  # A6 suggestion
    assert kc["Total"] == [6, 1, 1, 8]
    channels = _table(wb["By channel"])
    # phone A1 A4 A7, web A3 A12, hotline A2, email A5, letter A6
    assert {k: v[0] for k, v in channels.items()} == {
        "Phone": 3, "Web": 2, "Hotline": 1, "E-mail": 1, "Letter": 1, "Total": 8}
    assert channels["Phone"][1] == pytest.approx(3 / 8)
    classes = _table(wb["Customer class"])
    # A: A1 A6 A12; B: A2 A3; C: A4 A7; D: A5
    assert {k: v[0] for k, v in classes.items()} == {"A": 3, "B": 2, "C": 2, "D": 1,
                                                      "Total": 8}


def test_handling_mode_and_satisfaction_against_hand_count(client, auth, month):
    """Handling mode of the 4 resolved; satisfaction distribution of the 5 rated callbacks."""
    wb, _ = _get(client, auth, "manager")
    modes = _table(wb["Handling mode"])
    # on the spot A4; within deadline A1; overdue A2 (6 Nov > 4 Nov); reopened A3
    assert {k: v[0] for k, v in modes.items() if k != "Total"} == {
        "Answered on the spot": 1, "Within deadline": 1, "Overdue": 1, "Reopened": 1}
    assert modes["Total"][0] == 4
    sat = _table(wb["Satisfaction"])
    assert {k: v[0] for k, v in sat.items()} == {
        "Very satisfied": 1, "Satisfied": 2, "Average": 1, "Unsatisfied": 1, "Total": 5}
    assert sat["Satisfied"][1] == pytest.approx(0.4)


def test_repeat_complainants_and_overdue_list(client, auth, month):
    """Repeat phones of November (3× and 2×, not the 1 Dec one) and the 2 overdue complaints."""
    wb, _ = _get(client, auth, "intake")
    ws = wb["Repeat complainants"]
    rows = [r for r in ws.iter_rows(min_row=5, values_only=True) if r[0]]
    # 13900000001: A1 A2 A7; 13900000005: A6 A12 (A13 received on 1 Dec does not count)
    assert [(r[0], r[2]) for r in rows] == [("13900000001", 3), ("13900000005", 2)]
    assert rows[0][3] == D(2026, 11, 2, 9) and rows[0][4] == D(2026, 11, 25, 9)
    ws = wb["Overdue complaints"]
    numbers = {r[0] for r in ws.iter_rows(min_row=5, values_only=True) if r[0]}
    assert numbers == {"TS-20261110-0005", "TS-20261026-0009"}


def test_supervisor_gets_masked_phones(client, auth, month):
    """The supervisor may not see contacts: repeat complainants' phones are masked."""
    wb, body = _get(client, auth, "supervisor")
    rows = [r for r in wb["Repeat complainants"].iter_rows(min_row=5, values_only=True)
            if r[0]]
    assert [r[0] for r in rows] == ["139****0001", "139****0005"]
    assert b"13900000001" not in _all_xml(body)


def test_department_head_gets_only_their_department(client, auth, month):
    """head_qa's workbook holds QA's figures only, whatever department the URL names."""
    wb, _ = _get(client, auth, "head_qa", REPORT + "&department=LOG")
    summary = _table(wb["Summary"])
    # QA in November: received A1 A2 A3 A7 A12; resolved A1 A2 A3; closed A1;
    # open at end A2 A3 A9 A12; overdue A9; on time 2/3; reopened 1/3; callbacks 2/3
    assert summary["Received in the month"][0] == 5
    assert summary["Resolved in the month"][0] == 3
    assert summary["Closed in the month"][0] == 1
    assert summary["Open at month end"][0] == 4
    assert summary["Overdue (missed a deadline)"][0] == 1
    assert summary["On-time rate"][0] == pytest.approx(2 / 3)
    assert summary["Reopen rate"][0] == pytest.approx(1 / 3)
    assert summary["Satisfaction rate"][0] == pytest.approx(2 / 3)
    assert summary["Average working days to resolve"][0] == pytest.approx(14 / 3)
    assert list(_table(wb["By department"])) == ["质量管理部 (QA)", "Total"]
    overdue = {r[0] for r in wb["Overdue complaints"].iter_rows(min_row=5, values_only=True)
               if r[0]}
    assert overdue == {"TS-20261026-0009"}
    repeat = [r for r in wb["Repeat complainants"].iter_rows(min_row=5, values_only=True)
              if r[0]]
    assert [(r[0], r[2]) for r in repeat] == [("13900000001", 3)]  # A12 alone in QA
    assert "质量管理部 (QA)" in wb["Summary"]["A1"].value


def test_manager_can_pick_one_department(client, auth, month):
    """A manager choosing LOG gets LOG's figures: received A4 A5, overdue A5."""
    wb, _ = _get(client, auth, "manager", REPORT + "&department=LOG")
    summary = _table(wb["Summary"])
    assert summary["Received in the month"][:2] == [2, 1]  # Oct: A8
    assert summary["Overdue (missed a deadline)"][0] == 1


def _all_xml(body) -> bytes:
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        return b"".join(zf.read(n) for n in zf.namelist() if n.endswith(".xml"))


def test_every_summary_sheet_has_a_native_chart(client, auth, month):
    """Seven summary sheets, seven charts in xl/charts/; the two lists have none."""
    _wb, body = _get(client, auth, "admin")
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        charts = [n for n in zf.namelist() if n.startswith("xl/charts/chart")]
        kinds = b"".join(zf.read(n) for n in charts)
    assert len(charts) == 7
    for tag in (b"<c:barChart>", b"<c:pieChart>"):
        assert tag in kinds
    wb = _workbook(body)
    assert [ws.title for ws in wb.worksheets] == [
        "Summary", "By department", "Kind × category", "By channel", "Customer class",
        "Handling mode", "Satisfaction", "Repeat complainants", "Overdue complaints",
        # issue 12: the administrator reads accountability and the corrective actions
        "Per person", "Assisting parts", "Corrective actions"]


def test_workbook_download_is_logged(client, auth, month, app):
    """The download leaves an ExportLog row with the month and the department."""
    _get(client, auth, "head_qa")
    with app.app_context():
        log = db.session.scalars(select(ExportLog)).one()
        assert log.screen == "monthly_report"
        assert log.staff_id == month.users["head_qa"]
        assert '"month": "2026-11"' in log.filters and '"department": "QA"' in log.filters
        assert log.row_count == 2  # 1 repeat complainant + 1 overdue complaint


def test_report_access(client, auth, org):
    """Anonymous users go to the login page; handlers get 403; a bad month is refused."""
    status, _body, headers = download(client, REPORT)
    assert status == 302 and "/login" in headers["Location"]
    auth.login("handler_qa")
    assert download(client, REPORT)[0] == 403
    assert client.get("/admin/reports/").status_code == 403
    auth.logout()
    auth.login("manager")
    assert client.get("/admin/reports/").status_code == 200
    status, _body, headers = download(client, "/admin/reports/monthly/?month=2026-13")
    assert status == 302
    page = client.get(headers["Location"]).get_data(as_text=True)
    assert "Please choose a month" in page


def test_dashboard_links_to_the_reports_page(client, auth, org):
    """The dashboard shows the monthly workbook link to roles that may download it."""
    auth.login("supervisor")
    assert "/admin/reports/" in client.get("/admin/").get_data(as_text=True)


def test_cli_writes_the_workbook(app, month, tmp_path):
    """`flask report --month 2026-11 --department QA -o file` writes QA's workbook."""
    out = tmp_path / "qa.xlsx"
    result = app.test_cli_runner().invoke(
        args=["report", "--month", "2026-11", "--department", "QA", "-o", str(out)])
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    assert _table(wb["Summary"])["Received in the month"][0] == 5
    phones = [r[0] for r in wb["Repeat complainants"].iter_rows(min_row=5, values_only=True)
              if r[0]]
    assert phones == ["139****0001"]  # masked unless --show-contacts
    bad = app.test_cli_runner().invoke(args=["report", "--month", "11/2026", "-o", str(out)])
    assert bad.exit_code != 0


def test_working_days_follow_holidays_make_up_days_and_overrides(app, org):
    """Working days skip National Day (1–7 Oct 2026), count the make-up Saturday 10 Oct and
    honour the company's override (Wed 14 Oct off)."""
    from models import CalendarDay
    from services.reports import month as parse_month
    from services.reports import monthly_report

    with app.test_request_context():
        db.session.add(CalendarDay(day=D(2026, 10, 14).date(), is_working_day=False,
                                   note="company day off"))
        # X: received Wed 30 Sep, forwarded the same day, resolved Sat 10 Oct (a working day):
        #    after 30 Sep: 1–7 Oct holiday, Thu 8, Fri 9, Sat 10 → 3 days; handling 3 too.
        make_complaint(1, department_id=org.qa, received_at=D(2026, 9, 30, 9),
                       forwarded_at=D(2026, 9, 30, 10), resolved_at=D(2026, 10, 10, 15),
                       status="resolved")
        # Y: received Mon 12 Oct, forwarded Tue 13, resolved Fri 16, with Wed 14 off:
        #    received → resolved: 13, 15, 16 = 3; forwarded → resolved: 15, 16 = 2.
        make_complaint(2, department_id=org.qa, received_at=D(2026, 10, 12, 9),
                       forwarded_at=D(2026, 10, 13, 9), resolved_at=D(2026, 10, 16, 15),
                       status="resolved")
        db.session.commit()
        report = monthly_report(parse_month("2026-10"))
        assert report.total.resolved == 2
        assert report.total.avg_resolve_days == pytest.approx(3.0)  # (3 + 3) / 2
        assert report.total.avg_handling_days == pytest.approx(2.5)  # (3 + 2) / 2
        db.session.rollback()


def test_complaint_closed_as_invalid_counts_as_rejected(app, org):
    """A complaint rejected as invalid, then closed once the customer was told why, is finished
    at its rejection exactly like one still rejected: never closed in the month, never open."""
    from rules import Status, Validity
    from services.reports import month as parse_month
    from services.reports import monthly_report

    with app.test_request_context():
        # X1: received Mon 2 Nov, rejected the same day, closed after the reply on Wed 4 Nov.
        x1 = make_complaint(1, received_at=D(2026, 11, 2, 9), validity=Validity.INVALID,
                            rejected_at=D(2026, 11, 2, 11), status=Status.CLOSED,
                            closed_at=D(2026, 11, 4, 10))
        # X2: rejected on Fri 30 Oct, closed on Mon 2 Nov.
        x2 = make_complaint(2, received_at=D(2026, 10, 29, 9), validity=Validity.INVALID,
                            rejected_at=D(2026, 10, 30, 10), status=Status.CLOSED,
                            closed_at=D(2026, 11, 2, 10))
        # R: rejected, reopened by a manager (valid again), then resolved and closed: closed.
        make_complaint(3, department_id=org.qa, received_at=D(2026, 11, 3, 9),
                       rejected_at=D(2026, 11, 3, 10), forwarded_at=D(2026, 11, 4, 9),
                       resolved_at=D(2026, 11, 5, 15), reopen_count=1, status=Status.CLOSED,
                       closed_at=D(2026, 11, 6, 10))
        db.session.flush()
        report = monthly_report(parse_month("2026-11"))
        # received: Nov X1 R; Oct X2. Closed: Nov R only (X1 and X2 are rejections).
        assert (report.total.received, report.previous_total.received) == (2, 1)
        assert (report.total.closed, report.previous_total.closed) == (1, 0)
        assert report.total.resolved == 1  # R
        # open at 30 Nov: none; at 31 Oct: none (X2 was finished when rejected on 30 Oct).
        assert (report.total.open_at_end, report.previous_total.open_at_end) == (0, 0)

        # The same rows while still waiting for the reply give the very same figures.
        for complaint in (x1, x2):
            complaint.status, complaint.closed_at = Status.REJECTED, None
        db.session.flush()
        rejected = monthly_report(parse_month("2026-11"))
        assert rejected.total == report.total
        assert rejected.previous_total == report.previous_total
        assert rejected.by_department == report.by_department
        db.session.rollback()
