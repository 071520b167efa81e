"""The workbook of a month or any period: one sheet per summary, each with a native chart,
and the lists (repeat complainants, overdue complaints; per person, assisting parts,
corrective actions when the report holds them); written row by row (xlsxwriter
``constant_memory``), in the formats shared with the list exports (``services.xlsx_formats``).
No SQL here but the streamed overdue list (``figures.overdue_rows``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import xlsxwriter
from flask_babel import gettext as _

from rules import Satisfaction, mask_phone
from rules.constants import CustomerClass, Kind
from rules.privacy import mask_text

from .. import xlsx_formats as xf
from ..export import (
    WORKBOOK_OPTIONS,
    display_width,
    print_setup,
    release_flushed_rows,
    row_height,
    sheet_title,
)
from .figures import overdue_rows
from .report import Figures, MonthlyReport, Period, PersonFigures

NONE_ROW_FORMAT = "note"
ROW_PX, DEFAULT_COL_PX = 20, 64  # Excel's default row height and column width, in pixels


def _col_px(width: float) -> int:
    """A column's width in pixels, from its width in characters (as Excel and xlsxwriter)."""
    return int(width * 12 + 0.5) if width < 1 else int(width * 7 + 0.5) + 5


class _Words:
    """The sheets' words for the period: a month's workbook speaks of "the month", any
    other of "the period" (a quarter, a half-year, a range of days)."""

    def __init__(self, period: Period):
        month = period.is_month
        self.received = _("Received in the month") if month else _("Received in the period")
        self.resolved = _("Resolved in the month") if month else _("Resolved in the period")
        self.closed = _("Closed in the month") if month else _("Closed in the period")
        self.open_at_end = _("Open at month end") if month else _("Open at the period's end")
        self.change = (_("Change on the previous month") if month
                       else _("Change on the previous period"))
        self.both = (_("This month and the previous month") if month
                     else _("This period and the previous period"))
        self.none = _("None this month") if month else _("None in this period")
        self.modes = (_("Complaints resolved in the month, each in exactly one mode.") if month
                      else _("Complaints resolved in the period, each in exactly one mode."))
        self.callbacks = (_("Callbacks in the month that reached the customer. "
                            "Satisfaction rate: %(rate)s") if month
                          else _("Callbacks in the period that reached the customer. "
                                 "Satisfaction rate: %(rate)s"))
        self.repeat = _("Complaints in the month") if month else _("Complaints in the period")


class _Book:
    """The workbook, its formats, and a small table writer (rows in order: constant memory).

    Every sheet prints on A4 landscape, one page wide, its header row repeated, the sheet's
    title in the page header and the page number in the footer; a summary sheet (a table
    and its chart) prints on exactly one page, its print area covering the chart whole.
    """

    def __init__(self, target, report: MonthlyReport, subtitle: str):
        self.wb = xlsxwriter.Workbook(target, WORKBOOK_OPTIONS)
        self.report = report
        self.subtitle = subtitle
        self.words = _Words(report.period)
        self.extents = {}  # sheet name -> [last row, last column] of a one-page sheet
        self.widths = {}  # sheet name -> {column: width in characters}
        add = self.wb.add_format
        unit = _("pp")  # percentage points: "个百分点" in Chinese
        # The shared formats of every workbook of the desk (services.xlsx_formats).
        self.fmt = {
            "title": add(dict(xf.TITLE)),
            "note": add(dict(xf.NOTE)),
            "header": add(dict(xf.HEADER)),
            "text": add(dict(xf.TEXT)),
            "wrap": add(dict(xf.WRAP)),
            "bold": add(dict(xf.TOTAL)),
            "int": add(dict(xf.INTEGER)),
            "int_total": add(xf.total(xf.INTEGER)),
            "rate": add(dict(xf.RATE)),
            "rate_total": add(xf.total(xf.RATE)),
            "days": add(dict(xf.DAYS)),
            "days_total": add(xf.total(xf.DAYS)),
            "delta_int": add({"num_format": "+0;-0;0"}),
            "delta_pp": add({"num_format": f'+0.0" {unit}";-0.0" {unit}";0.0" {unit}"'}),
            "delta_days": add({"num_format": "+0.0;-0.0;0.0"}),
            "datetime": add(dict(xf.DATETIME)),
            "date": add(dict(xf.DATE)),
        }

    def sheet(self, name: str, header_row: int = 3, one_page: bool = True):
        """A new sheet with its title lines and print setup. ``one_page``: a summary that
        prints on one page (else a list: one page wide, as many pages high as needed)."""
        ws = self.wb.add_worksheet(sheet_title(name))
        title = f"{name} — {self.subtitle}"
        ws.write_string(0, 0, title, self.fmt["title"])
        ws.write_string(1, 0, _("Definitions of every figure: Reports → How every figure is "
                                "computed (docs/metrics.md)"), self.fmt["note"])
        print_setup(ws, title, (header_row, header_row),
                    _("Page %(page)s of %(pages)s", page="&P", pages="&N"),
                    fit_height=1 if one_page else 0)
        if one_page:
            self.extents[ws.get_name()] = [header_row, 0]
        self.widths[ws.get_name()] = {}
        return ws

    def extend(self, ws, row: int, col: int) -> None:
        extent = self.extents.get(ws.get_name())
        if extent is not None:
            extent[0], extent[1] = max(extent[0], row), max(extent[1], col)

    def set_widths(self, ws, widths) -> None:
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)
            self.widths[ws.get_name()][col] = width

    def none_row(self, ws, row: int) -> int:
        """The "none this month" line of an empty table; returns its row."""
        ws.write_string(row, 0, self.words.none, self.fmt[NONE_ROW_FORMAT])
        self.extend(ws, row, 0)
        return row

    def table(self, ws, top: int, headers, rows, kinds, total=None, widths=None) -> int:
        """Write headers and rows from row ``top``; returns the last data row written.
        No rows: one "none this month" line, no total."""
        for col, header in enumerate(headers):
            ws.write_string(top, col, str(header), self.fmt["header"])
        row = top
        for values in rows:
            row += 1
            self._row(ws, row, values, kinds)
        if not rows:
            row = self.none_row(ws, row + 1)
        elif total is not None:
            row += 1
            self._row(ws, row, total, kinds, suffix="_total", first="bold")
        sizes = widths or [max(display_width(str(h)) + 2, 10) for h in headers]
        self.set_widths(ws, sizes)
        self.extend(ws, row, len(headers) - 1)
        return row

    def _row(self, ws, row, values, kinds, suffix="", first="text", widths=None):
        if widths is not None:  # wrapped text: the row as high as its lines
            height = row_height(values, {c: widths[c] for c, k in enumerate(kinds)
                                         if k == "wrap"})
            if height is not None:
                ws.set_row(row, height)
                release_flushed_rows(ws)
        for col, (value, kind) in enumerate(zip(values, kinds, strict=True)):
            if value is None:
                continue
            if kind in ("text", "wrap"):
                fmt = self.fmt[first if col == 0 and kind == "text" else kind]
                ws.write_string(row, col, str(value), fmt)
            elif kind == "datetime":
                ws.write_datetime(row, col, value, self.fmt["datetime"])
            elif kind == "date":
                ws.write_datetime(row, col, datetime(value.year, value.month, value.day),
                                  self.fmt["date"])
            else:
                fmt = self.fmt.get(kind + suffix, self.fmt[kind])
                ws.write_number(row, col, value, fmt)

    def chart(self, ws, kind: str, title: str, categories, series, anchor: tuple[int, int],
              subtype=None, size=(640, 320)):
        """A native chart at cell ``anchor`` (row, column; 0-based); ``series`` is
        [(name, first row, last row, column)]. The sheet's print area grows to hold it."""
        options = {"type": kind}
        if subtype:
            options["subtype"] = subtype
        chart = self.wb.add_chart(options)
        name = ws.get_name()
        cat_first, cat_last, cat_col = categories
        for series_name, first, last, col in series:
            spec = {
                "name": str(series_name),
                "categories": [name, cat_first, cat_col, cat_last, cat_col],
                "values": [name, first, col, last, col],
            }
            if kind == "pie":
                spec["data_labels"] = {"percentage": True}
            chart.add_series(spec)
        chart.set_title({"name": str(title)})
        if kind == "pie" or len(series) == 1:
            chart.set_legend({"position": "right" if kind == "pie" else "none"})
        chart.set_size({"width": size[0], "height": size[1]})
        row, col = anchor
        ws.insert_chart(row, col, chart, {"object_position": 3})  # fixed size, not resized
        self.extend(ws, *self.chart_end(ws, anchor, size))

    def chart_end(self, ws, anchor: tuple[int, int], size) -> tuple[int, int]:
        """The cell (row, column) holding a chart's bottom-right corner."""
        widths = self.widths.get(ws.get_name(), {})
        row, col = anchor
        height, width = size[1], size[0]
        while width > 0:
            width -= _col_px(widths[col]) if col in widths else DEFAULT_COL_PX
            col += 1
        return row + -(-height // ROW_PX) - 1, col - 1

    def close(self):
        for ws in self.wb.worksheets():
            extent = self.extents.get(ws.get_name())
            if extent is not None:
                ws.print_area(0, 0, extent[0] + 1, extent[1])
        self.wb.close()


def _delta(cur, prev):
    if cur is None or prev is None:
        return None
    return cur - prev


def _share(part, whole):
    return part / whole if whole else None


def write_monthly_workbook(report: MonthlyReport, target, value_labels: Mapping[str, Mapping],
                           mask_phones: bool, made_by: str, people_only: bool = False) -> int:
    """Write the workbook to ``target`` (a path or a binary file); returns the list rows.

    ``mask_phones`` (for a role without ``rules.privacy.may_see_contact``, and the
    default of ``flask report``): repeat complainants' phones masked, and phones or
    e-mails typed into the overdue complaints' titles (and the parts' tasks, the
    corrective actions' problems) too (``rules.privacy.mask_text``). The per-person,
    assisting-parts and corrective-actions sheets are written when the report holds them
    (``services.reports.figures.period_report``); ``people_only``: the per-person sheet
    alone.
    """
    scope = (report.department_names.get(report.department.id, report.department.name)
             if report.department is not None else _("all departments"))
    subtitle = _("%(month)s · %(scope)s · made by %(user)s on %(when)s",
                 month=report.period.label, scope=scope, user=made_by,
                 when=report.made_at.strftime("%Y-%m-%d %H:%M"))
    book = _Book(target, report, subtitle)

    def text(kind, value):
        return str(value_labels.get(kind, {}).get(value, value))

    if people_only:
        if report.people is None:
            raise ValueError("a per-person workbook needs the per-person figures")
        rows = _people_sheet(book, report)
        book.close()
        return rows
    _summary_sheet(book, report)
    _department_sheet(book, report)
    _kind_category_sheet(book, report, text)
    _share_sheet(book, _("By channel"), _("Channel"),
                 [(text("channel", k), n) for k, n in sorted(
                     report.channels.items(), key=lambda kv: (-kv[1], kv[0]))],
                 "pie")
    _share_sheet(book, _("Customer class"), _("Customer class"),
                 [(k, report.classes.get(k, 0)) for k in CustomerClass.ALL]
                 + [(k, n) for k, n in report.classes.items() if k not in CustomerClass.ALL],
                 "column")
    t = report.total
    _share_sheet(book, _("Handling mode"), _("Handling mode"),
                 [(_("Answered on the spot"), t.on_the_spot),
                  (_("Within deadline"), t.within_deadline),
                  (_("Overdue"), t.late),
                  (_("Reopened"), t.reopened)], "pie",
                 note=book.words.modes)
    _share_sheet(book, _("Satisfaction"), _("Satisfaction"),
                 [(text("satisfaction", k), report.satisfaction.get(k, 0))
                  for k in Satisfaction.ALL], "pie",
                 note=book.words.callbacks % {"rate": _percent(t.satisfaction_rate)})
    rows = _repeat_sheet(book, report, mask_phones)
    rows += _overdue_sheet(book, report, text, mask_phones)
    if report.people is not None:
        rows += _people_sheet(book, report)
    if report.parts is not None:
        rows += _parts_sheet(book, report, text, mask_phones)
    if report.corrective is not None:
        rows += _corrective_sheet(book, report, text, mask_phones)
    book.close()
    return rows


def _percent(value) -> str:
    return "—" if value is None else f"{value:.1%}"


def _summary_sheet(book: _Book, report: MonthlyReport):
    ws = book.sheet(_("Summary"))
    cur, prev = report.total, report.previous_total
    metrics = [
        (book.words.received, cur.received, prev.received, "int"),
        (book.words.resolved, cur.resolved, prev.resolved, "int"),
        (book.words.closed, cur.closed, prev.closed, "int"),
        (book.words.open_at_end, cur.open_at_end, prev.open_at_end, "int"),
        (_("Overdue (missed a deadline)"), cur.overdue, prev.overdue, "int"),
        (_("On-time rate"), cur.on_time_rate, prev.on_time_rate, "rate"),
        (_("Reopen rate"), cur.reopen_rate, prev.reopen_rate, "rate"),
        (_("Satisfaction rate"), cur.satisfaction_rate, prev.satisfaction_rate, "rate"),
        (_("Average working days to resolve"), cur.avg_resolve_days, prev.avg_resolve_days,
         "days"),
    ]
    top = 3
    headers = [_("Figure"), report.period.label, report.period.previous.label,
               book.words.change]
    for col, header in enumerate(headers):
        ws.write_string(top, col, str(header), book.fmt["header"])
    for i, (name, a, b, kind) in enumerate(metrics, start=top + 1):
        ws.write_string(i, 0, str(name), book.fmt["text"])
        for col, value in ((1, a), (2, b)):
            if value is not None:
                ws.write_number(i, col, value, book.fmt[kind])
        change = _delta(a, b)
        if change is not None:
            delta_kind = {"int": "delta_int", "rate": "delta_pp", "days": "delta_days"}[kind]
            ws.write_number(i, 3, change * 100 if kind == "rate" else change,
                            book.fmt[delta_kind])
    book.set_widths(ws, [34, 12, 12, 12])
    book.extend(ws, top + len(metrics), len(headers) - 1)
    # Chart: the counts of both months side by side (rows Received … Overdue), right of
    # the table: the page is landscape.
    first, last = top + 1, top + 5
    book.chart(ws, "column", book.words.both, (first, last, 0),
               [(report.period.label, first, last, 1),
                (report.period.previous.label, first, last, 2)], (top, len(headers) + 1))


def _department_sheet(book: _Book, report: MonthlyReport):
    ws = book.sheet(_("By department"))
    headers = [_("Department"), book.words.received, book.words.resolved,
               _("Resolved within deadline"),
               _("On-time rate"), _("Overdue (missed a deadline)"), _("Extension requests"),
               _("Average handling working days"), _("Rated callbacks"),
               _("Satisfaction rate")]
    kinds = ["text", "int", "int", "int", "rate", "int", "int", "days", "int", "rate"]

    def line(name, f: Figures):
        return [name, f.received, f.resolved, f.on_time, f.on_time_rate, f.overdue,
                f.extension_requests, f.avg_handling_days, f.callbacks_rated,
                f.satisfaction_rate]

    rows = [line(report.department_names.get(d, str(d)), f) for d, f in report.by_department]
    if not any(any(r[1:]) for r in rows):  # every department at zero: none this month
        rows = []
    top = 3
    last = book.table(ws, top, headers, rows, kinds, total=line(_("Total"), report.total),
                      widths=[24] + [12] * (len(headers) - 1))
    if rows:  # the chart below the table (the table is a page wide)
        first, end = top + 1, last - 1
        book.chart(ws, "bar", _("Received and overdue by department"), (first, end, 0),
                   [(headers[1], first, end, 1), (headers[5], first, end, 5)],
                   (last + 2, 1), size=(720, max(300, 28 * len(rows) + 110)))


def _kind_category_sheet(book: _Book, report: MonthlyReport, text):
    ws = book.sheet(_("Kind × category"))
    kinds = list(Kind.ALL) + sorted({k for k, _c in report.kind_category} - set(Kind.ALL))
    cats = list(report.categories)
    if any(cat is None for _k, cat in report.kind_category):
        cats.append((None, _("(no category)")))
    headers = [_("Category")] + [text("kind", k) for k in kinds] + [_("Total")]
    rows = []
    for cat_id, name in cats:
        counts = [report.kind_category.get((k, cat_id), 0) for k in kinds]
        rows.append([name, *counts, sum(counts)])
    totals = [sum(r[i] for r in rows) for i in range(1, len(headers))]
    top = 3
    if not totals[-1]:  # nothing received in the month
        rows = []
    last = book.table(ws, top, headers, rows, ["text"] + ["int"] * (len(headers) - 1),
                      total=[_("Total"), *totals], widths=[24] + [12] * (len(headers) - 1))
    first, end = top + 1, last - 1
    if rows:  # the chart right of the table when it is narrow, else below it
        spec = ("column", _("Received by category and kind"), (first, end, 0),
                [(headers[i], first, end, i) for i in range(1, len(kinds) + 1)])
        anchor = (top, len(headers) + 1) if len(headers) <= 8 else (last + 2, 1)
        book.chart(ws, *spec, anchor, subtype="stacked",
                   size=(640, max(340, 22 * len(rows) + 120)))


def _share_sheet(book: _Book, title: str, first_header: str, items, chart_kind: str,
                 note: str | None = None):
    ws = book.sheet(title)
    total = sum(n for _k, n in items)
    rows = [[name, n, _share(n, total)] for name, n in items] if total else []
    top = 3
    last = book.table(ws, top, [first_header, _("Count"), _("Share")], rows,
                      ["text", "int", "rate"], total=[_("Total"), total, _share(total, total)],
                      widths=[28, 12, 12])
    row = last
    if note:
        row += 2
        ws.write_string(row, 0, note, book.fmt["note"])
    if rows:
        first, end = top + 1, last - 1
        book.chart(ws, chart_kind, title, (first, end, 0), [(_("Count"), first, end, 1)],
                   (top, 4), size=(520, 320))


def _repeat_sheet(book: _Book, report: MonthlyReport, mask_phones: bool) -> int:
    ws = book.sheet(_("Repeat complainants"), one_page=False)
    headers = [_("Phone"), _("Customer name"), book.words.repeat,
               _("First received"), _("Last received")]
    rows = [[mask_phone(phone) if mask_phones else phone, name, n, first, last]
            for phone, name, n, first, last in report.repeat_complainants]
    book.table(ws, 3, headers, rows, ["text", "text", "int", "datetime", "datetime"],
               widths=[16, 20, 14, 17, 17])
    ws.freeze_panes(4, 0)
    return len(rows)


def _overdue_sheet(book: _Book, report: MonthlyReport, text, mask_contacts: bool) -> int:
    ws = book.sheet(_("Overdue complaints"), one_page=False)
    headers = [_("Number"), _("Received at"), _("Department"), _("Kind"), _("Severity"),
               _("Title"), _("Status"), _("Due"), _("Resolve by"), _("Resolved at"),
               _("Escalation level"), _("Assignee")]
    top = 3
    for col, header in enumerate(headers):
        ws.write_string(top, col, str(header), book.fmt["header"])
    kinds = ["text", "datetime", "text", "text", "text", "wrap", "text", "datetime",
             "datetime", "datetime", "text", "text"]
    widths = [17, 16, 16, 10, 9, 28, 12, 16, 16, 16, 12, 12]
    row = top
    dept_id = report.department.id if report.department is not None else None
    for r in overdue_rows(report.period, dept_id):
        row += 1
        title = mask_text(r[5]) if mask_contacts else r[5]  # staff may type a phone in it
        values = [r[0], r[1], r[2], text("kind", r[3]), text("severity", r[4]), title,
                  text("status", r[6]), r[7], r[8], r[9], text("escalation", r[10]), r[11]]
        book._row(ws, row, values, kinds, widths=widths)
    listed = row - top
    if not listed:
        book.none_row(ws, top + 1)
    book.set_widths(ws, widths)
    ws.freeze_panes(top + 1, 0)
    if listed:
        ws.autofilter(top, 0, row, len(headers) - 1)
    return listed


def _yes_no(value) -> str | None:
    if value is None:
        return None
    return _("Yes") if value else _("No")


def _list_rows(book: _Book, ws, headers, kinds, widths, rows) -> int:
    """A list sheet's header and rows (wrapped text as high as it needs), frozen under
    the header, with an autofilter; "none" when empty. Returns the rows written."""
    top = 3
    for col, header in enumerate(headers):
        ws.write_string(top, col, str(header), book.fmt["header"])
    row = top
    for values in rows:
        row += 1
        book._row(ws, row, values, kinds, widths=widths)
    if row == top:
        book.none_row(ws, top + 1)
    book.set_widths(ws, widths)
    ws.freeze_panes(top + 1, 0)
    if row > top:
        ws.autofilter(top, 0, row, len(headers) - 1)
    return row - top


def _people_sheet(book: _Book, report: MonthlyReport) -> int:
    """Per person: only in the workbook of someone who reads the accountability records."""
    ws = book.sheet(_("Per person"), one_page=False)
    headers = [_("Person"), _("Department"), _("Handled (resolved)"),
               _("Resolved within deadline"), _("On-time rate"), _("Reopened"),
               _("Missed deadlines"), _("Found responsible"), _("Closed with a rating"),
               _("Satisfaction rate"), _("Complaints caused")]
    kinds = ["text", "text", "int", "int", "rate", "int", "int", "int", "int", "rate", "int"]

    def line(f):
        return [f.handled, f.on_time, f.on_time_rate, f.reopened, f.overdue, f.responsible,
                f.closed_rated, f.satisfaction_rate, f.caused]

    people = report.people or []
    rows = [[f.name, f.department, *line(f)] for f in people]
    total = PersonFigures(0, "", "")
    for f in people:
        for name in ("handled", "on_time", "reopened", "overdue", "responsible",
                     "closed_rated", "closed_good", "caused"):
            setattr(total, name, getattr(total, name) + getattr(f, name))
    book.table(ws, 3, headers, rows, kinds, total=[_("Total"), None, *line(total)],
               widths=[18, 20] + [11] * (len(headers) - 2))
    ws.freeze_panes(4, 1)
    return len(rows)


def _parts_sheet(book: _Book, report: MonthlyReport, text, mask_contacts: bool) -> int:
    """Assisting parts (协办) open during the period; the complaint counts for its lead
    department in every figure, never for the assisting one."""
    ws = book.sheet(_("Assisting parts"), one_page=False)
    headers = [_("Number"), _("Lead department"), _("Assisting department"), _("Task"),
               _("Assignee"), _("Added at"), _("Due"), _("Status"), _("Reported at"),
               _("Reported on time")]
    kinds = ["text", "text", "text", "wrap", "text", "datetime", "datetime", "text",
             "datetime", "text"]
    widths = [17, 16, 16, 30, 12, 16, 16, 10, 16, 10]
    rows = [[number, lead, helper, mask_text(task) if mask_contacts else task, assignee,
             created, due, text("assist_status", status), reported, _yes_no(on_time)]
            for number, lead, helper, task, assignee, created, due, status, reported, on_time
            in report.parts or []]
    return _list_rows(book, ws, headers, kinds, widths, rows)


def _corrective_sheet(book: _Book, report: MonthlyReport, text, mask_contacts: bool) -> int:
    """Corrective and preventive actions (纠正预防措施) open during the period."""
    ws = book.sheet(_("Corrective actions"), one_page=False)
    headers = [_("Number"), _("Kind"), _("Problem"), _("Owner department"), _("Owner"),
               _("Due date"), _("Status"), _("Done at"), _("Effective"),
               _("Effect checked at"), _("Overdue since"), _("Linked complaints")]
    kinds = ["text", "text", "wrap", "text", "text", "date", "text", "datetime", "text",
             "datetime", "datetime", "int"]
    widths = [13, 10, 30, 16, 12, 11, 10, 16, 9, 16, 16, 10]
    rows = [[number, text("capa_kind", kind), mask_text(problem) if mask_contacts else problem,
             owner_dept, owner, due, text("capa_status", status), done, _yes_no(effective),
             checked, overdue, linked]
            for number, kind, problem, owner_dept, owner, due, status, done, effective,
            checked, overdue, linked in report.corrective or []]
    return _list_rows(book, ws, headers, kinds, widths, rows)
