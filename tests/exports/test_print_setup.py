"""Both kinds of workbook print (issue 11 part 7): A4 landscape, one page wide, the header
row on every page, the title in the page header and the page number in the footer; the
monthly workbook's summaries on one page each with their chart inside the print area; the
complaint export's long-text columns; "none this month" rows; the Chinese wording."""

from __future__ import annotations

import io
import re
from datetime import datetime

import openpyxl
import pytest
from openpyxl.utils import column_index_from_string, get_column_letter

from models import db
from tests.exports.conftest import (
    add_callback,
    add_event,
    column,
    download,
    make_complaint,
    read_xlsx,
    table,
)

D = datetime
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
LIST_SHEETS = ("Repeat complainants", "Overdue complaints", "Per person", "Assisting parts",
               "Corrective actions")
LONG = ("客户反映冰箱购买后第三天开始不制冷，冷藏室温度一直在十五度左右，食物已经变质，"
        "多次致电门店无人处理，请联系 13812345678。")


def _seed_month(org):
    """Six November complaints in two departments, three overdue, a repeat caller."""
    for n in range(1, 7):
        c = make_complaint(n, department_id=org.qa if n % 2 else org.log,
                           received_at=D(2026, 11, n + 1, 9), forwarded_at=D(2026, 11, n + 1, 10),
                           resolved_at=D(2026, 11, n + 3, 9), status="resolved",
                           customer_phone="13900000001" if n < 3 else f"1390000001{n}",
                           description=LONG, demand="退货并赔偿", root_cause="压缩机批次缺陷",
                           resolution="已上门更换压缩机，客户确认制冷恢复正常。",
                           due_at=D(2020, 1, 1), category_id=None)
        add_callback(c, D(2026, 11, n + 4, 9), "satisfied")
        if n % 2:
            add_event(c, "overdue", D(2026, 11, n + 2, 0, 5))
    db.session.commit()


def _book(body):
    return openpyxl.load_workbook(io.BytesIO(body))


def _assert_prints_one_page_wide(ws, header_row: int, high: int):
    """A4 landscape, fit to one page wide and ``high`` pages high (0: as many as needed),
    the header row repeated, the sheet's title in the header, the page number below."""
    setup = ws.page_setup
    assert setup.orientation == "landscape"
    assert int(setup.paperSize) == 9  # A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert int(setup.fitToWidth if setup.fitToWidth is not None else 1) == 1
    assert int(setup.fitToHeight if setup.fitToHeight is not None else 1) == high
    assert ws.print_title_rows == f"${header_row}:${header_row}"
    assert ws.page_margins.left == pytest.approx(0.4)
    assert ws.page_margins.top == pytest.approx(0.7)
    assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text


# --- the list export -------------------------------------------------------------------------


def test_complaint_export_prints_one_page_wide_with_title_and_page_numbers(client, auth, org,
                                                                           app):
    with app.app_context():
        _seed_month(org)
    auth.login("manager")
    status, body, _ = download(client, "/admin/complaint/export/xlsx/?queue=all")
    assert status == 200
    ws = read_xlsx(body)
    _assert_prints_one_page_wide(ws, header_row=3, high=0)
    assert ws.oddHeader.center.text.startswith("Complaints — exported by Manager")
    assert ws.oddFooter.center.text == "Page &P of &N"


def test_every_list_screen_prints_one_page_wide(client, auth, org):
    """The generic list screens print the same way (here: the departments)."""
    auth.login("admin")
    status, body, _ = download(client, "/admin/department/export/xlsx/")
    assert status == 200
    _assert_prints_one_page_wide(read_xlsx(body), header_row=3, high=0)


def test_complaint_export_has_the_meeting_columns_wrapped(client, auth, org, app):
    """Description, demand, root cause and resolution are exported, wrapped in a fixed width,
    the row as high as its longest text; contacts typed into them masked for the supervisor."""
    with app.app_context():
        _seed_month(org)
    auth.login("intake")
    status, body, _ = download(client, "/admin/complaint/export/xlsx/?queue=all&sort=0")
    ws = read_xlsx(body)
    headers, rows = table(ws)
    for header in ("Description", "Customer demand", "Root cause", "Resolution"):
        assert header in headers
    assert column(ws, "Description")[0] == LONG
    assert set(column(ws, "Resolution")) == {"已上门更换压缩机，客户确认制冷恢复正常。"}
    assert set(column(ws, "Root cause")) == {"压缩机批次缺陷"}
    assert set(column(ws, "Customer demand")) == {"退货并赔偿"}
    widths = {}
    for header in ("Description", "Customer demand", "Root cause", "Resolution", "Title"):
        letter = get_column_letter(headers.index(header) + 1)
        assert ws[f"{letter}4"].alignment.wrap_text is True
        widths[header] = ws.column_dimensions[letter].width
    assert all(20 <= w <= 32 for w in widths.values()), widths
    # The 60-odd character description needs several lines at that width: the row is higher.
    assert ws.row_dimensions[4].height >= 45
    auth.logout()
    auth.login("supervisor")
    _s, body, _ = download(client, "/admin/complaint/export/xlsx/?queue=all&sort=0")
    masked = column(read_xlsx(body), "Description")[0]
    assert "13812345678" not in masked and "138****5678" in masked


def test_complaint_export_stays_printable_in_width(client, auth, org, app):
    """All columns together stay within what one landscape A4 page shows at a small but
    legible scale: no column wider than 40 characters, long headers wrap instead."""
    with app.app_context():
        _seed_month(org)
    auth.login("manager")
    _s, body, _ = download(client, "/admin/complaint/export/xlsx/?queue=all")
    ws = read_xlsx(body)
    headers, _rows = table(ws)
    widths = [ws.column_dimensions[get_column_letter(i + 1)].width for i in range(len(headers))]
    assert max(widths) <= 41
    assert sum(widths) < 400, str(dict(zip(headers, widths, strict=True)))


# --- the monthly workbook --------------------------------------------------------------------


def test_every_monthly_sheet_prints_and_summaries_on_one_page(client, auth, org, app):
    with app.app_context():
        _seed_month(org)
    auth.login("manager")
    status, body, _ = download(client, "/admin/reports/monthly/?month=2026-11")
    assert status == 200
    wb = _book(body)
    assert len(wb.worksheets) == 12  # 9, and per person, assisting parts, corrective actions
    for ws in wb.worksheets:
        one_page = ws.title not in LIST_SHEETS
        _assert_prints_one_page_wide(ws, header_row=4, high=1 if one_page else 0)
        assert ws.oddHeader.center.text.startswith(f"{ws.title} — 2026-11 · all departments")
        if one_page:
            assert ws.print_area, ws.title


def _cell_range(area: str):
    """(first col, first row, last col, last row), 1-based, of "'Sheet'!$A$1:$K$30"."""
    m = re.search(r"\$([A-Z]+)\$(\d+):\$([A-Z]+)\$(\d+)", area)
    return (column_index_from_string(m[1]), int(m[2]), column_index_from_string(m[3]),
            int(m[4]))


def test_charts_lie_inside_the_print_area(client, auth, org, app):
    """Each summary's chart is anchored inside its sheet's print area, far enough from the
    area's edge for the chart's whole size (so fit-to-one-page never cuts it)."""
    with app.app_context():
        _seed_month(org)
    auth.login("manager")
    _s, body, _ = download(client, "/admin/reports/monthly/?month=2026-11")
    wb = _book(body)
    checked = 0
    for ws in wb.worksheets:
        if ws.title in LIST_SHEETS:
            continue
        first_col, first_row, last_col, last_row = _cell_range(ws.print_area[0]
                                                               if isinstance(ws.print_area, list)
                                                               else ws.print_area)
        for chart in ws._charts:
            start = chart.anchor._from
            assert first_col - 1 <= start.col and start.row >= first_row - 1
            # the chart's size in cells, at 64 px a default column and 20 px a row
            px_wide = sum(int(ws.column_dimensions[get_column_letter(c + 1)].width * 7 + 5.5)
                          if ws.column_dimensions[get_column_letter(c + 1)].width else 64
                          for c in range(start.col, last_col))
            assert px_wide >= chart.width * 96 / 2.54 * 0.98, ws.title  # cm → px
            assert (last_row - start.row) * 20 >= chart.height * 96 / 2.54 * 0.98, ws.title
            checked += 1
    assert checked == 7


def test_empty_month_sheets_say_none_this_month(client, auth, org):
    """A month without complaints: every sheet but the summary holds one "本月无" row under
    its headers, and no empty chart."""
    auth.login("manager")
    status, body, _ = download(client, "/admin/reports/monthly/?month=2026-11", headers=ZH)
    assert status == 200
    wb = _book(body)
    for ws in wb.worksheets[1:]:
        assert ws["A5"].value == "本月无", ws.title
        assert ws["A6"].value is None, ws.title
        assert not ws._charts, ws.title


def test_chinese_workbook_wording(client, auth, org, app):
    """环比, not 修改; percentage points as 个百分点; rates with no space; the footer."""
    with app.app_context():
        _seed_month(org)
        # October: one resolved on time, so that the rates have a change to show.
        make_complaint(9, department_id=org.qa, received_at=D(2026, 10, 12, 9),
                       forwarded_at=D(2026, 10, 12, 10), resolved_at=D(2026, 10, 13, 9),
                       resolve_due=D(2026, 10, 20, 23, 59, 59), status="resolved")
        db.session.commit()
    auth.login("manager")
    _s, body, _ = download(client, "/admin/reports/monthly/?month=2026-11", headers=ZH)
    wb = _book(body)
    summary = wb["汇总"]
    assert summary["D4"].value == "环比"
    values = [c.value for row in ws_rows(wb) for c in row]
    assert "修改" not in values
    rate_row = next(r for r in summary.iter_rows(min_row=5) if r[0].value == "按时办结率")
    assert rate_row[1].number_format == "0.0%"
    assert "个百分点" in rate_row[3].number_format
    assert summary.oddFooter.center.text == "第 &P 页，共 &N 页"
    assert "：" in summary["A2"].value and ":" not in summary["A2"].value.split("docs")[0]


def ws_rows(wb):
    for ws in wb.worksheets:
        yield from ws.iter_rows()


def test_wrapped_rows_keep_memory_flat(tmp_path):
    """Row heights of wrapped text are forgotten once their row is in the file: the writer
    holds at most a couple of rows whatever the number of rows (constant memory)."""
    from services.export import ListSheet

    out = ListSheet.open(tmp_path / "x.xlsx", "List", "Title", ["Number", "Description"],
                         wrap={1: 20})
    for n in range(3000):
        out.write_row([f"TS-{n:05d}", LONG])
        assert len(out.sheet.row_info) <= 2 and len(out.sheet.row_sizes) <= 2
    assert out.close() == 3000
    ws = openpyxl.load_workbook(tmp_path / "x.xlsx").worksheets[0]
    assert ws.row_dimensions[4].height == ws.row_dimensions[3003].height > 15
