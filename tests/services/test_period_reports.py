"""Period workbooks (issue 12, items 5 and 3): a quarter and a free range of days, each
compared with the previous period of the same length, with the per-person, assisting-parts
and corrective-actions sheets; every expected figure counted by hand from the rows below
(the comments show the working) and read back from the file with openpyxl.

The quarter is 2026Q4 (1 Oct – 31 Dec 2026; the previous one 2026Q3, 1 Jul – 30 Sep); the
free range 1 Oct – 15 Nov 2026 (46 days; the previous range the 46 days 16 Aug – 30 Sep).
"""

from __future__ import annotations

import io
from datetime import date, datetime

import openpyxl
import pytest

from models import (
    AccountabilityFinding,
    AccountabilityRecord,
    Assist,
    CorrectiveAction,
    CorrectiveActionLink,
    Setting,
    Staff,
    db,
)
from models.settings import ACCOUNTABILITY_DEPARTMENT
from rules.errors import PermissionDenied
from tests.exports.conftest import make_complaint

D = datetime
NOW = D(2027, 1, 5, 9)  # when the workbooks are made

SHEETS = ["Summary", "By department", "Kind × category", "By channel", "Customer class",
          "Handling mode", "Satisfaction", "Repeat complainants", "Overdue complaints"]


def seed(org):
    """Eight complaints (C8 a merged duplicate), four missed deadlines, four assisting parts,
    four corrective actions. Inside an app context; committed. Returns the complaints."""
    qa, log = org.qa, org.log
    hqa, hqa2, hlog = (org.users[u] for u in ("handler_qa", "handler_qa2", "handler_log"))
    spec = {
        # C1 QA, hqa: resolved 15 Oct on time, closed 20 Oct "satisfied"; caused by hqa2.
        1: dict(department_id=qa, assignee_id=hqa, received_at=D(2026, 10, 12, 9),
                forwarded_at=D(2026, 10, 12, 10), resolve_due=D(2026, 10, 20, 23, 59, 59),
                resolved_at=D(2026, 10, 15, 15), closed_at=D(2026, 10, 20, 10),
                status="closed", final_satisfaction="satisfied", caused_by_id=hqa2),
        # C2 QA, hqa: resolved 9 Nov after its 5 Nov deadline, reopened once before.
        2: dict(department_id=qa, assignee_id=hqa, received_at=D(2026, 11, 2, 9),
                forwarded_at=D(2026, 11, 2, 10), resolve_due=D(2026, 11, 5, 23, 59, 59),
                resolved_at=D(2026, 11, 9, 15), reopen_count=1, status="resolved"),
        # C3 QA, hqa2: resolved 8 Dec on time, closed 14 Dec "unsatisfied"; caused by hqa2.
        3: dict(department_id=qa, assignee_id=hqa2, received_at=D(2026, 12, 1, 9),
                forwarded_at=D(2026, 12, 1, 10), resolve_due=D(2026, 12, 10, 23, 59, 59),
                resolved_at=D(2026, 12, 8, 15), closed_at=D(2026, 12, 14, 10),
                status="closed", final_satisfaction="unsatisfied", caused_by_id=hqa2),
        # C4 LOG, hlog: resolved 25 Nov on time, closed 28 Nov "very satisfied".
        4: dict(department_id=log, assignee_id=hlog, received_at=D(2026, 11, 20, 9),
                forwarded_at=D(2026, 11, 20, 10), resolve_due=D(2026, 11, 30, 23, 59, 59),
                resolved_at=D(2026, 11, 25, 15), closed_at=D(2026, 11, 28, 10),
                status="closed", final_satisfaction="very_satisfied"),
        # C5 LOG, hlog, in Q3: resolved 25 Aug on time, closed 1 Sep "satisfied".
        5: dict(department_id=log, assignee_id=hlog, received_at=D(2026, 8, 20, 9),
                forwarded_at=D(2026, 8, 20, 10), resolve_due=D(2026, 8, 30, 23, 59, 59),
                resolved_at=D(2026, 8, 25, 15), closed_at=D(2026, 9, 1, 10),
                status="closed", final_satisfaction="satisfied"),
        # C6 QA, hqa: received in Q3 (10 Sep), resolved late on 8 Oct, not closed.
        6: dict(department_id=qa, assignee_id=hqa, received_at=D(2026, 9, 10, 9),
                forwarded_at=D(2026, 9, 10, 10), resolve_due=D(2026, 9, 15, 23, 59, 59),
                resolved_at=D(2026, 10, 8, 15), status="resolved"),
        # C7 QA, hqa: received 20 Oct, still in progress.
        7: dict(department_id=qa, assignee_id=hqa, received_at=D(2026, 10, 20, 9),
                forwarded_at=D(2026, 10, 20, 10), resolve_due=D(2026, 10, 30, 23, 59, 59),
                status="in_progress"),
    }
    c = {n: make_complaint(n, **fields) for n, fields in spec.items()}
    # C8: a duplicate merged into C1 (resolved in Q4 by hqa): counts for nothing.
    c[8] = make_complaint(8, department_id=qa, assignee_id=hqa, received_at=D(2026, 10, 13, 9),
                          resolved_at=D(2026, 10, 14, 9), closed_at=D(2026, 10, 14, 10),
                          status="closed", final_satisfaction="satisfied",
                          merged_into_id=c[1].id, caused_by_id=hqa2)

    def record(complaint, at, person, dept, *findings):
        rec = AccountabilityRecord(complaint_id=complaint.id, at=at, clock="resolve",
                                   due_at=at, status=complaint.status, department_id=dept,
                                   person_id=person, escalation_level=1)
        db.session.add(rec)
        db.session.flush()
        for n, finding in enumerate(findings):
            db.session.add(AccountabilityFinding(record_id=rec.id, at=D(2026, 12, 20 + n, 9),
                                                 staff_id=org.users["manager"],
                                                 finding=finding, note="finding"))

    record(c[7], D(2026, 10, 25, 0, 5), hqa, qa, "responsible")  # R1
    record(c[7], D(2026, 11, 20, 0, 5), hqa, qa, "responsible", "excused")  # R2: excused
    record(c[5], D(2026, 8, 28, 0, 5), hlog, log)  # R3: Q3, no finding
    record(c[4], D(2026, 12, 2, 0, 5), hlog, log, "responsible")  # R4: Q4, after the range
    record(c[8], D(2026, 10, 13, 12), hqa, qa, "responsible")  # R5: merged: counts for nothing

    def part(complaint, dept, created, due, status, assignee=None, reported=None,
             withdrawn=None, task="核对记录"):
        db.session.add(Assist(complaint_id=complaint.id, department_id=dept,
                              assignee_id=assignee, task=task, due_at=due, status=status,
                              created_at=created, reported_at=reported,
                              report="已核对" if reported else None, withdrawn_at=withdrawn,
                              withdraw_reason="不需要" if withdrawn else None))

    # P1: LOG helps QA on C2, reported on time (5 Nov, due 6 Nov).
    part(c[2], log, D(2026, 11, 2, 12), D(2026, 11, 6, 18), "reported", hlog,
         reported=D(2026, 11, 5, 10), task="检查物流记录，联系 13912345678")
    # P2: LOG helps QA on C7, still open, due 28 Oct: late by the time of the report.
    part(c[7], log, D(2026, 10, 21, 9), D(2026, 10, 28, 18), "open")
    # P3: LOG on C6, withdrawn 14 Sep: before both periods.
    part(c[6], log, D(2026, 9, 11, 9), D(2026, 9, 20, 18), "withdrawn",
         withdrawn=D(2026, 9, 14, 9))
    # P4: QA helps LOG on C4 (21 Nov: after the range), reported late (26 Nov, due 24 Nov).
    part(c[4], qa, D(2026, 11, 21, 9), D(2026, 11, 24, 18), "reported", org.users["head_qa"],
         reported=D(2026, 11, 26, 10))

    def action(n, kind, dept, owner, due, status, created, updated, **fields):
        ca = CorrectiveAction(number=f"CA-2026-{n:04d}", kind=kind, problem=f"问题{n}",
                              cause="原因", action="措施", owner_department_id=dept,
                              owner_id=owner, due_date=due, status=status, created_at=created,
                              updated_at=updated, **fields)
        db.session.add(ca)
        db.session.flush()
        return ca

    ca1 = action(1, "corrective", qa, hqa, date(2026, 11, 30), "open", D(2026, 10, 16, 9),
                 D(2026, 10, 16, 9))
    db.session.add(CorrectiveActionLink(corrective_action_id=ca1.id, complaint_id=c[1].id,
                                        linked_at=D(2026, 10, 16, 9)))
    # CA2: effective on 25 Sep: finished before both periods.
    action(2, "preventive", log, hlog, date(2026, 9, 30), "effective", D(2026, 8, 20, 9),
           D(2026, 9, 25, 9), done_at=D(2026, 9, 20, 9), effective=True,
           effect_checked_at=D(2026, 9, 25, 9))
    # CA3: cancelled on 10 Oct: in both periods.
    action(3, "corrective", log, None, date(2026, 10, 31), "cancelled", D(2026, 9, 5, 9),
           D(2026, 10, 10, 9))
    # CA4: created in 2027: after both periods.
    action(4, "corrective", qa, hqa, date(2027, 1, 31), "open", D(2027, 1, 2, 9),
           D(2027, 1, 2, 9))
    db.session.commit()
    return c


@pytest.fixture
def seeded(app, org):
    with app.app_context():
        seed(org)
    return org


def book(app, org, period, username="manager", department=None, people_only=False,
         lang="en"):
    """The workbook ``username`` gets, made by the one path of screen and CLI."""
    from flask_babel import force_locale

    from admin_views.reports import value_labels
    from models import Department
    from services.reports import make_workbook, options_for

    with app.test_request_context(), force_locale(lang):
        staff = db.session.get(Staff, org.users[username])
        dept = db.session.get(Department, department) if department else None
        options = options_for(staff, people_only=people_only)
        out = io.BytesIO()
        make_workbook(period, dept, options, out, value_labels(), made_by=username, now=NOW)
        db.session.rollback()
    out.seek(0)
    return openpyxl.load_workbook(out)


def table(ws, header_row=4):
    """{first cell: [other cells]} of the table whose header is on ``header_row``."""
    out = {}
    for row in ws.iter_rows(min_row=header_row + 1, values_only=True):
        if row[0] is None:
            break
        out[row[0]] = list(row[1:])
    return out


def rows(ws, header_row=4):
    return [list(r) for r in ws.iter_rows(min_row=header_row + 1, values_only=True) if r[0]]


def approx(values):
    return [pytest.approx(v) if isinstance(v, float) else v for v in values]


# --- periods ---------------------------------------------------------------------------------


def test_periods_and_the_previous_period_of_the_same_length():
    from services.reports import date_range, half, month, parse_period, quarter

    q = quarter("2026Q4")
    assert (q.start, q.end, q.label) == (D(2026, 10, 1), D(2027, 1, 1), "2026Q4")
    assert (q.previous.start, q.previous.end, q.previous.label) == (
        D(2026, 7, 1), D(2026, 10, 1), "2026Q3")
    assert quarter("2026Q1").previous.label == "2025Q4"
    h = half("2026H2")
    assert (h.start, h.end, h.label, h.previous.label) == (
        D(2026, 7, 1), D(2027, 1, 1), "2026H2", "2026H1")
    assert half("2026H1").previous.label == "2025H2"
    assert month("2026-01").previous.label == "2025-12"
    r = date_range("2026-10-01", "2026-11-15")
    assert (r.start, r.end, r.days) == (D(2026, 10, 1), D(2026, 11, 16), 46)
    assert r.label == "2026-10-01–2026-11-15"
    # the same number of days just before: 16 Aug – 30 Sep
    assert (r.previous.start, r.previous.end, r.previous.days) == (
        D(2026, 8, 16), D(2026, 10, 1), 46)
    assert r.previous.label == "2026-08-16–2026-09-30"
    assert parse_period("quarter", "2026q4") == q
    assert parse_period("range", first="2026-10-01", last="2026-11-15") == r
    for kind, value, first, last in (("quarter", "2026Q5", "", ""), ("half", "2026H3", "", ""),
                                     ("range", "", "2026-11-15", "2026-10-01"),
                                     ("range", "", "2026-02-30", "2026-03-01"),
                                     ("range", "", "2020-01-01", "2026-01-01"),
                                     ("year", "2026", "", ""), ("month", "2026-13", "", "")):
        with pytest.raises(ValueError):
            parse_period(kind, value, first, last)


# --- the quarter -------------------------------------------------------------------------------


def test_quarter_summary_against_the_previous_quarter(app, seeded):
    from services.reports import quarter

    wb = book(app, seeded, quarter("2026Q4"))
    ws = wb["Summary"]
    assert [c.value for c in ws[4]][:4] == ["Figure", "2026Q4", "2026Q3",
                                            "Change on the previous period"]
    summary = table(ws)
    # received Q4: C1 C2 C3 C4 C7 (C8 merged) = 5; Q3: C5 C6 = 2
    assert summary["Received in the period"] == [5, 2, 3]
    # resolved Q4: C1 C2 C3 C4 C6 = 5; Q3: C5 = 1
    assert summary["Resolved in the period"] == [5, 1, 4]
    # closed Q4: C1 C3 C4 = 3; Q3: C5 = 1
    assert summary["Closed in the period"] == [3, 1, 2]
    # open at 31 Dec: C2 C6 C7 = 3; at 30 Sep: C6 = 1
    assert summary["Open at the period's end"] == [3, 1, 2]
    # on time Q4: C1 C3 C4 of 5 (C2, C6 late) = 0.6; Q3: C5 of 1; change -40 points
    assert summary["On-time rate"] == approx([0.6, 1.0, -40.0])
    # reopened Q4: C2 of 5; Q3 none of 1
    assert summary["Reopen rate"] == approx([0.2, 0.0, 20.0])
    assert wb.sheetnames == SHEETS + ["Per person", "Assisting parts", "Corrective actions"]
    assert ws["A1"].value.startswith("Summary — 2026Q4 · all departments")


def test_quarter_credits_the_lead_department(app, seeded):
    """LOG's parts of QA's complaints (C2, C7) count for QA; LOG received only C4."""
    from services.reports import quarter

    depts = table(book(app, seeded, quarter("2026Q4"))["By department"])
    # columns: received, resolved, within deadline, on-time rate, …
    assert depts["质量管理部 (QA)"][:4] == approx([4, 4, 2, 0.5])  # C1 C2 C3 C7; C1 C2 C3 C6
    assert depts["物流部 (LOG)"][:4] == approx([1, 1, 1, 1.0])  # C4


def test_quarter_per_person_against_hand_count(app, seeded):
    from services.reports import quarter

    ws = book(app, seeded, quarter("2026Q4"))["Per person"]
    assert [c.value for c in ws[4]] == [
        "Person", "Department", "Handled (resolved)", "Resolved within deadline",
        "On-time rate", "Reopened", "Missed deadlines", "Found responsible",
        "Closed with a rating", "Satisfaction rate", "Complaints caused"]
    people = table(ws)
    # Handler Log: C4 resolved on time; R4 (responsible); C4 closed very satisfied.
    assert people["Handler Log"] == approx(["物流部 (LOG)", 1, 1, 1.0, 0, 1, 1, 1, 1.0, 0])
    # Handler Qa: C1 (on time), C2 (late, reopened), C6 (late) — C8 merged does not count;
    # R1 (responsible), R2 (latest finding excused) — R5 is the merged C8's; C1 closed
    # satisfied.
    assert people["Handler Qa"] == approx(["质量管理部 (QA)", 3, 1, 1 / 3, 1, 2, 1, 1, 1.0, 0])
    # Handler Qa2: C3 on time, closed unsatisfied; caused C1 and C3 (C8 merged).
    assert people["Handler Qa2"] == approx(["质量管理部 (QA)", 1, 1, 1.0, 0, 0, 0, 1, 0.0, 2])
    assert people["Total"] == approx([None, 5, 3, 0.6, 1, 3, 2, 3, 2 / 3, 2])
    assert list(people) == ["Handler Log", "Handler Qa", "Handler Qa2", "Total"]


def test_quarter_assisting_parts_and_corrective_actions(app, seeded):
    from services.reports import quarter

    wb = book(app, seeded, quarter("2026Q4"))
    parts = rows(wb["Assisting parts"])
    # P2 (C7), P1 (C2), P4 (C4) by number; P3 was withdrawn in September.
    assert [(r[0], r[1], r[2], r[4], r[7], r[9]) for r in parts] == [
        ("TS-20261020-0007", "质量管理部", "物流部", None, "Open", "No"),  # due 28 Oct
        ("TS-20261102-0002", "质量管理部", "物流部", "Handler Log", "Reported", "Yes"),
        ("TS-20261120-0004", "物流部", "质量管理部", "Head Qa", "Reported", "No"),
    ]
    assert parts[1][6] == D(2026, 11, 6, 18) and parts[1][8] == D(2026, 11, 5, 10)
    assert parts[1][3] == "检查物流记录，联系 13912345678"  # the manager sees contacts
    actions = rows(wb["Corrective actions"])
    # CA1 open (linked to C1), CA3 cancelled on 10 Oct; CA2 finished in Sep; CA4 in 2027.
    assert [(r[0], r[1], r[3], r[6], r[11]) for r in actions] == [
        ("CA-2026-0001", "Corrective", "质量管理部", "Open", 1),
        ("CA-2026-0003", "Corrective", "物流部", "Cancelled", 0),
    ]
    assert actions[0][5] == D(2026, 11, 30)


def test_department_workbook_lists_its_parts_both_ways(app, seeded):
    """QA's workbook: the parts of QA's complaints and the part QA does for LOG; only the
    corrective actions QA owns; the per-person figures of QA's complaints."""
    from services.reports import quarter

    wb = book(app, seeded, quarter("2026Q4"), department=seeded.qa)
    assert [r[0] for r in rows(wb["Assisting parts"])] == [
        "TS-20261020-0007", "TS-20261102-0002", "TS-20261120-0004"]
    assert [r[0] for r in rows(wb["Corrective actions"])] == ["CA-2026-0001"]
    people = table(wb["Per person"])
    assert list(people) == ["Handler Qa", "Handler Qa2", "Total"]
    assert table(wb["Summary"])["Received in the period"][0] == 4


# --- the free range ----------------------------------------------------------------------------


def test_free_range_against_hand_count(app, seeded):
    from services.reports import date_range

    wb = book(app, seeded, date_range("2026-10-01", "2026-11-15"))
    ws = wb["Summary"]
    assert [c.value for c in ws[4]][1:3] == ["2026-10-01–2026-11-15", "2026-08-16–2026-09-30"]
    summary = table(ws)
    # received 1 Oct – 15 Nov: C1 C2 C7 = 3; 16 Aug – 30 Sep: C5 C6 = 2
    assert summary["Received in the period"] == [3, 2, 1]
    # resolved: C1 C2 C6 = 3; before: C5 = 1. On time: C1 of 3; before: C5 of 1.
    assert summary["Resolved in the period"] == [3, 1, 2]
    assert summary["On-time rate"] == approx([1 / 3, 1.0, pytest.approx(-200 / 3)])
    # closed: C1 = 1; before: C5 (1 Sep) = 1
    assert summary["Closed in the period"] == [1, 1, 0]
    people = table(wb["Per person"])
    # Handler Qa: C1 C2 C6 resolved (C1 on time, C2 reopened); R1 only (R2 on 20 Nov);
    # C1 closed satisfied. Handler Qa2: caused C1. Handler Log: nothing in the range.
    assert people["Handler Qa"] == approx(["质量管理部 (QA)", 3, 1, 1 / 3, 1, 1, 1, 1, 1.0, 0])
    assert people["Handler Qa2"] == ["质量管理部 (QA)", 0, 0, None, 0, 0, 0, 0, None, 1]
    assert "Handler Log" not in people
    # parts open during the range: P2, P1 (P4 added on 21 Nov, P3 withdrawn on 14 Sep)
    assert [r[0] for r in rows(wb["Assisting parts"])] == [
        "TS-20261020-0007", "TS-20261102-0002"]
    assert [r[0] for r in rows(wb["Corrective actions"])] == ["CA-2026-0001", "CA-2026-0003"]


def test_half_year_adds_up_the_quarters(app, seeded):
    """2026H2 = Q3 + Q4: received 2 + 5; the previous half-year (H1) had none."""
    from services.reports import half

    summary = table(book(app, seeded, half("2026H2"))["Summary"])
    assert summary["Received in the period"] == [7, 0, 7]
    assert summary["Resolved in the period"] == [6, 0, 6]


# --- who gets which sheet -----------------------------------------------------------------------


def test_per_person_sheet_only_for_those_who_read_accountability(app, seeded):
    from services.reports import quarter

    q = quarter("2026Q4")
    for username in ("manager", "admin", "supervisor"):
        assert "Per person" in book(app, seeded, q, username).sheetnames, username
    head = book(app, seeded, q, "head_qa")
    assert "Per person" not in head.sheetnames
    assert "Corrective actions" in head.sheetnames  # their department's
    clerk = book(app, seeded, q, "intake")
    assert "Per person" not in clerk.sheetnames and "Corrective actions" not in clerk.sheetnames
    for username in ("head_qa", "handler_qa", "intake"):
        with pytest.raises(PermissionDenied):
            book(app, seeded, q, username, people_only=True)
    only = book(app, seeded, q, "manager", people_only=True)
    assert only.sheetnames == ["Per person"]
    assert list(table(only["Per person"]))[:3] == ["Handler Log", "Handler Qa", "Handler Qa2"]


def test_accountability_department_head_gets_the_per_person_sheet(app, seeded):
    """The staff of the accountability department (a company setting) read it too."""
    from services.reports import quarter

    with app.app_context():
        db.session.add(Setting(key=ACCOUNTABILITY_DEPARTMENT, value="QA"))
        db.session.commit()
    wb = book(app, seeded, quarter("2026Q4"), "head_qa")
    assert "Per person" in wb.sheetnames
    assert "Per person" not in book(app, seeded, quarter("2026Q4"), "head_log").sheetnames


def test_supervisor_gets_masked_contacts_in_the_parts(app, seeded):
    from services.reports import quarter

    parts = rows(book(app, seeded, quarter("2026Q4"), "supervisor")["Assisting parts"])
    assert parts[1][3] == "检查物流记录，联系 139****5678"


def test_chinese_period_workbook(app, seeded):
    from services.reports import quarter

    wb = book(app, seeded, quarter("2026Q4"), lang="zh_Hans_CN")
    assert "个人指标" in wb.sheetnames and "协办事项" in wb.sheetnames
    assert "纠正预防措施" in wb.sheetnames
    assert wb["汇总"]["D4"].value == "环比"
    empty = book(app, seeded, quarter("2025Q1"), lang="zh_Hans_CN")
    assert empty["协办事项"]["A5"].value == "本期无"


def test_cli_writes_a_quarter_and_a_range(app, seeded, tmp_path):
    """`flask report --quarter 2026Q4` and `--from/--to`: the same workbook; the per-person
    sheet only with --per-person; one period at a time."""
    runner = app.test_cli_runner()
    out = tmp_path / "q.xlsx"
    result = runner.invoke(args=["report", "--quarter", "2026Q4", "-o", str(out)])
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    assert table(wb["Summary"])["Received in the period"] == [5, 2, 3]
    assert "Per person" not in wb.sheetnames
    assert rows(wb["Assisting parts"])[1][3] == "检查物流记录，联系 139****5678"  # masked
    result = runner.invoke(args=["report", "--from", "2026-10-01", "--to", "2026-11-15",
                                 "--per-person", "--department", "QA", "-o", str(out)])
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    assert table(wb["Summary"])["Received in the period"] == [3, 1, 2]  # C1 C2 C7; C6 (QA)
    assert list(table(wb["Per person"])) == ["Handler Qa", "Handler Qa2", "Total"]
    for args in (["--quarter", "2026Q4", "--month", "2026-11"], [],
                 ["--quarter", "2026Q5"], ["--from", "2026-10-01"]):
        assert runner.invoke(args=["report", *args, "-o", str(out)]).exit_code != 0, args
