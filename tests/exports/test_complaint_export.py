"""The complaint list's export: exact rows and order, real types, masking and scope per role,
header language, overdue highlighting, the title line, the audit record and the row limit."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from models import ExportLog, Staff, db
from tests.exports.conftest import category_id, column, download, make_complaint, read_xlsx, table

EXPORT = "/admin/complaint/export/xlsx/"
PAST = datetime(2020, 1, 6, 17, 0)  # long overdue, whatever today is
FUTURE = datetime(2099, 1, 5, 17, 0)


def _seed(org):
    """Six complaints across departments, statuses and names (inside an app context)."""
    rows = [
        # n, name, status, department, received day, due, amount, assignee
        (1, "张三", "in_progress", org.qa, 3, PAST, Decimal("1234.50"), "handler_qa"),
        (2, "张伟", "closed", org.qa, 4, None, Decimal("0.00"), None),
        (3, "张丽", "forwarded", org.log, 5, FUTURE, None, None),
        (4, "李四", "in_progress", org.qa, 6, FUTURE, None, "handler_qa2"),
        (5, "张敏", "registered", None, 7, FUTURE, None, None),
        (6, "王五", "callback", org.log, 8, PAST, Decimal("88.80"), None),
    ]
    for n, name, status, dept, day, due, amount, assignee in rows:
        make_complaint(n, customer_name=name, status=status, department_id=dept,
                       received_at=datetime(2026, 11, day, 9, 30), due_at=due,
                       compensation_amount=amount, customer_phone=f"1380013{n:04d}",
                       customer_email=f"user{n}@example.com",
                       assignee_id=org.users[assignee] if assignee else None,
                       category_id=category_id("delivery"))
    db.session.commit()


def _numbers(sheet):
    return column(sheet, "Number")


def test_export_matches_filtered_searched_sorted_list(client, auth, org, app):
    """Open complaints whose customer name starts with 张, newest first: the list's rows, in
    the list's order, and nothing else."""
    with app.app_context():
        _seed(org)
    auth.login("intake")
    # column 9 of the list is "received_at"; desc=1: newest first.
    query = "?flt0_status_equals=open&search=%E5%BC%A0&sort=9&desc=1"
    listed = client.get("/admin/complaint/" + query).get_data(as_text=True)
    on_page = [n for n in re.findall(r"TS-\d{8}-\d{4}", listed)]
    on_page = list(dict.fromkeys(on_page))
    status, body, _ = download(client, EXPORT + query)
    assert status == 200
    sheet = read_xlsx(body)
    # By hand: 张三 (3rd, open), 张伟 closed (out), 张丽 (5th, open), 张敏 (7th, open).
    expected = ["TS-20261107-0005", "TS-20261105-0003", "TS-20261103-0001"]
    assert _numbers(sheet) == expected
    assert on_page == expected


def test_export_cells_are_typed(client, auth, org, app):
    """Dates are datetimes, amounts numbers shown with two decimals, enums translated text."""
    with app.app_context():
        _seed(org)
    auth.login("manager")
    status, body, _ = download(client, EXPORT + "?queue=all&sort=0")
    assert status == 200
    sheet = read_xlsx(body)
    headers, rows = table(sheet)
    first = dict(zip(headers, rows[0], strict=True))
    assert first["Received at"] == datetime(2026, 11, 3, 9, 30)
    assert first["Due"] == PAST
    assert first["Compensation (yuan)"] == 1234.5
    assert isinstance(first["Compensation (yuan)"], float)
    amount_cell = sheet.cell(row=4, column=headers.index("Compensation (yuan)") + 1)
    assert amount_cell.number_format == "0.00"
    assert first["Status"] == "In progress"
    assert first["Department"] == "质量管理部"
    assert first["Escalation level"] == "Handler"
    assert first["Category"] == "物流配送" or first["Category"] == "Delivery"
    assert column(sheet, "Compensation (yuan)") == [1234.5, 0, None, None, None, 88.8]


def test_contacts_masked_for_supervisor_not_for_intake(client, auth, org, app):
    """The supervisor's export masks phones and e-mails (138****0001); the clerk's does not."""
    with app.app_context():
        _seed(org)
    auth.login("supervisor")
    status, body, _ = download(client, EXPORT + "?queue=all&sort=0")
    assert status == 200
    sheet = read_xlsx(body)
    assert column(sheet, "Phone")[0] == "138****0001"
    assert column(sheet, "E-mail")[0] == "u***@example.com"
    assert "13800130001" not in body.decode("latin-1")
    auth.logout()
    auth.login("intake")
    status, body, _ = download(client, EXPORT + "?queue=all&sort=0")
    sheet = read_xlsx(body)
    assert column(sheet, "Phone")[0] == "13800130001"
    assert column(sheet, "E-mail")[0] == "user1@example.com"


def test_department_head_export_holds_only_their_department(client, auth, org, app):
    """head_qa's export: QA's complaints only, even when asking for another department."""
    with app.app_context():
        _seed(org)
    auth.login("head_qa")
    status, body, _ = download(client, EXPORT + "?queue=all&sort=0")
    assert status == 200
    sheet = read_xlsx(body)
    assert _numbers(sheet) == ["TS-20261103-0001", "TS-20261104-0002", "TS-20261106-0004"]
    assert set(column(sheet, "Department")) == {"质量管理部"}
    status, body, _ = download(client, EXPORT + f"?flt0_department_equals={org.log}")
    assert status == 200
    assert table(read_xlsx(body))[1] == []


def test_handler_export_holds_only_their_complaints(client, auth, org, app):
    """A handler's export holds only the complaints assigned to them."""
    with app.app_context():
        _seed(org)
    auth.login("handler_qa")
    status, body, _ = download(client, EXPORT + "?queue=all")
    assert status == 200
    assert _numbers(read_xlsx(body)) == ["TS-20261103-0001"]


def test_headers_follow_the_browser_language(client, auth, org, app):
    """A zh-CN browser gets Chinese column headers, enum values and title line."""
    with app.app_context():
        _seed(org)
    auth.login("intake")
    status, body, _ = download(client, EXPORT + "?queue=all&sort=0",
                               headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert status == 200
    sheet = read_xlsx(body)
    headers, rows = table(sheet)
    assert {"状态", "部门", "电话"} <= set(headers)
    assert "Status" not in headers
    assert rows[0][headers.index("状态")] == "处理中"
    assert "导出" in sheet["A1"].value


def test_headers_follow_the_stored_locale(client, auth, org, app):
    """A user whose stored language is Chinese gets Chinese headers from an English browser."""
    with app.app_context():
        _seed(org)
        db.session.get(Staff, org.users["manager"]).locale = "zh_Hans_CN"
        db.session.commit()
    auth.login("manager")
    status, body, _ = download(client, EXPORT + "?queue=all",
                               headers={"Accept-Language": "en"})
    assert status == 200
    assert "状态" in table(read_xlsx(body))[0]


def test_overdue_rows_are_highlighted(client, auth, org, app):
    """Open complaints past their deadline are filled red; closed or not yet due are not."""
    with app.app_context():
        _seed(org)
    auth.login("manager")
    status, body, _ = download(client, EXPORT + "?queue=all&sort=0")
    assert status == 200
    sheet = read_xlsx(body)
    fills = {sheet.cell(row=r, column=1).value: sheet.cell(row=r, column=1).fill.fgColor.rgb
             for r in range(4, sheet.max_row + 1)}
    red = {n for n, rgb in fills.items() if rgb == "FFF8D7DA"}
    assert red == {"TS-20261103-0001", "TS-20261108-0006"}  # in progress / callback, past due


def test_title_line_says_what_who_when_and_criteria(client, auth, org, app):
    """A1 names the screen, the user, the time, the filters, the search and the sort."""
    with app.app_context():
        _seed(org)
    auth.login("intake")
    status, body, _ = download(
        client, EXPORT + "?flt0_status_equals=in_progress&search=%E5%BC%A0&sort=9&desc=1")
    assert status == 200
    title = read_xlsx(body)["A1"].value
    assert title.startswith("Complaints — exported by Intake (intake) on ")
    assert re.search(r"on \d{4}-\d{2}-\d{2} \d{2}:\d{2}", title)
    assert "filters: Status equals In progress" in title
    assert "search: 张" in title
    assert "sorted by Received at descending" in title


def test_complaint_export_is_logged_with_row_count(client, auth, org, app):
    """The audit record names the complaint screen, the search and the number of rows."""
    with app.app_context():
        _seed(org)
    auth.login("supervisor")
    status, _body, _ = download(client, EXPORT + "?search=%E5%BC%A0")
    assert status == 200
    with app.app_context():
        log = db.session.scalars(select(ExportLog)).one()
        assert (log.screen, log.row_count, log.staff_id) == ("complaint", 4,
                                                             org.users["supervisor"])
        assert '"search": "张"' in log.filters


def test_complaint_export_over_the_limit_is_refused(client, auth, org, app):
    """The complaint list counts no rows itself (simple pager); the export still refuses 6 > 5."""
    with app.app_context():
        _seed(org)
    app.config["EXPORT_MAX_ROWS"] = 5
    auth.login("manager")
    status, _body, headers = download(client, EXPORT + "?queue=all")
    assert status == 302
    page = client.get(headers["Location"]).get_data(as_text=True)
    assert "6 rows match this list, more than the 5 one export may hold" in page
    with app.app_context():
        assert db.session.scalar(select(ExportLog.id)) is None


def test_export_query_count_does_not_grow_with_rows(client, auth, org, app):
    """The export reads in a fixed number of queries (no lazy load per row): 6 or 12 rows."""
    from sqlalchemy import event

    with app.app_context():
        _seed(org)
        engine = db.engine
    statements = []

    def count(*_args):
        statements.append(1)

    auth.login("manager")
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert download(client, EXPORT + "?queue=all")[0] == 200
        with_six = len(statements)
        with app.app_context():
            for n in range(7, 13):
                make_complaint(n, department_id=org.log, assignee_id=org.users["handler_log"],
                               category_id=category_id("billing"))
            db.session.commit()
        statements.clear()
        assert download(client, EXPORT + "?queue=all")[0] == 200
        assert len(statements) == with_six
    finally:
        event.remove(engine, "before_cursor_execute", count)
