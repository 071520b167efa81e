"""The monthly meeting workbook: one sheet per summary, each with a native chart, and the
two lists; written row by row (xlsxwriter ``constant_memory``)."""

from __future__ import annotations

from collections.abc import Mapping

import xlsxwriter
from flask_babel import gettext as _

from rules import Satisfaction, mask_phone
from rules.constants import CustomerClass, Kind
from rules.privacy import mask_text

from ..export import WORKBOOK_OPTIONS, display_width, sheet_title
from .figures import overdue_rows
from .report import Figures, MonthlyReport


class _Book:
    """The workbook, its formats, and a small table writer (rows in order: constant memory)."""

    def __init__(self, target, report: MonthlyReport, subtitle: str):
        self.wb = xlsxwriter.Workbook(target, WORKBOOK_OPTIONS)
        self.report = report
        self.subtitle = subtitle
        add = self.wb.add_format
        self.fmt = {
            "title": add({"bold": True, "font_size": 13}),
            "note": add({"italic": True, "font_color": "#555555"}),
            "header": add({"bold": True, "bg_color": "#E9ECEF", "bottom": 1, "text_wrap": True,
                           "valign": "top"}),
            "text": add({}),
            "bold": add({"bold": True, "top": 1}),
            "int": add({"num_format": "0"}),
            "int_total": add({"num_format": "0", "bold": True, "top": 1}),
            "rate": add({"num_format": "0.0%"}),
            "rate_total": add({"num_format": "0.0%", "bold": True, "top": 1}),
            "days": add({"num_format": "0.0"}),
            "days_total": add({"num_format": "0.0", "bold": True, "top": 1}),
            "delta_int": add({"num_format": "+0;-0;0"}),
            "delta_pp": add({"num_format": '+0.0" pp";-0.0" pp";0.0" pp"'}),
            "delta_days": add({"num_format": "+0.0;-0.0;0.0"}),
            "datetime": add({"num_format": "yyyy-mm-dd hh:mm"}),
        }

    def sheet(self, name: str):
        ws = self.wb.add_worksheet(sheet_title(name))
        ws.write_string(0, 0, f"{name} — {self.subtitle}", self.fmt["title"])
        ws.write_string(1, 0, _("Definitions of every figure: docs/metrics.md"), self.fmt["note"])
        return ws

    def table(self, ws, top: int, headers, rows, kinds, total=None, widths=None) -> int:
        """Write headers and rows from row ``top``; returns the last data row written."""
        for col, header in enumerate(headers):
            ws.write_string(top, col, str(header), self.fmt["header"])
        row = top
        for values in rows:
            row += 1
            self._row(ws, row, values, kinds)
        if total is not None:
            row += 1
            self._row(ws, row, total, kinds, suffix="_total", first="bold")
        sizes = widths or [max(display_width(str(h)) + 2, 10) for h in headers]
        for col, width in enumerate(sizes):
            ws.set_column(col, col, width)
        return row

    def _row(self, ws, row, values, kinds, suffix="", first="text"):
        for col, (value, kind) in enumerate(zip(values, kinds, strict=True)):
            if value is None:
                continue
            if kind == "text":
                ws.write_string(row, col, str(value), self.fmt[first if col == 0 else "text"])
            elif kind == "datetime":
                ws.write_datetime(row, col, value, self.fmt["datetime"])
            else:
                fmt = self.fmt.get(kind + suffix, self.fmt[kind])
                ws.write_number(row, col, value, fmt)

    def chart(self, ws, kind: str, title: str, categories, series, anchor: str, subtype=None,
              size=(640, 320)):
        """A native chart; ``series`` is [(name, first row, last row, column)]."""
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
        ws.insert_chart(anchor, chart)

    def close(self):
        self.wb.close()


def _delta(cur, prev):
    if cur is None or prev is None:
        return None
    return cur - prev


def _share(part, whole):
    return part / whole if whole else None


def write_monthly_workbook(report: MonthlyReport, target, value_labels: Mapping[str, Mapping],
                           mask_phones: bool, made_by: str) -> int:
    """Write the workbook to ``target`` (a path or a binary file); returns the list rows.

    ``mask_phones`` (for a role without ``rules.privacy.may_see_contact``, and the
    default of ``flask report``): repeat complainants' phones masked, and phones or
    e-mails typed into the overdue complaints' titles too (``rules.privacy.mask_text``).
    """
    scope = (report.department_names.get(report.department.id, report.department.name)
             if report.department is not None else _("all departments"))
    subtitle = _("%(month)s · %(scope)s · made by %(user)s on %(when)s",
                 month=report.period.label, scope=scope, user=made_by,
                 when=report.made_at.strftime("%Y-%m-%d %H:%M"))
    book = _Book(target, report, subtitle)

    def text(kind, value):
        return str(value_labels.get(kind, {}).get(value, value))

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
                 note=_("Complaints resolved in the month, each in exactly one mode."))
    _share_sheet(book, _("Satisfaction"), _("Satisfaction"),
                 [(text("satisfaction", k), report.satisfaction.get(k, 0))
                  for k in Satisfaction.ALL], "pie",
                 note=_("Callbacks in the month that reached the customer. "
                        "Satisfaction rate: %(rate)s",
                        rate=_percent(t.satisfaction_rate)))
    rows = _repeat_sheet(book, report, mask_phones)
    rows += _overdue_sheet(book, report, text, mask_phones)
    book.close()
    return rows


def _percent(value) -> str:
    return "—" if value is None else f"{value:.1%}"


def _summary_sheet(book: _Book, report: MonthlyReport):
    ws = book.sheet(_("Summary"))
    cur, prev = report.total, report.previous_total
    metrics = [
        (_("Received in the month"), cur.received, prev.received, "int"),
        (_("Resolved in the month"), cur.resolved, prev.resolved, "int"),
        (_("Closed in the month"), cur.closed, prev.closed, "int"),
        (_("Open at month end"), cur.open_at_end, prev.open_at_end, "int"),
        (_("Overdue (missed a deadline)"), cur.overdue, prev.overdue, "int"),
        (_("On-time rate"), cur.on_time_rate, prev.on_time_rate, "rate"),
        (_("Reopen rate"), cur.reopen_rate, prev.reopen_rate, "rate"),
        (_("Satisfaction rate"), cur.satisfaction_rate, prev.satisfaction_rate, "rate"),
        (_("Average working days to resolve"), cur.avg_resolve_days, prev.avg_resolve_days,
         "days"),
    ]
    top = 3
    headers = [_("Figure"), report.period.label, report.period.previous.label, _("Change")]
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
    ws.set_column(0, 0, 34)
    ws.set_column(1, 3, 12)
    # Chart: the counts of both months side by side (rows Received … Overdue).
    first, last = top + 1, top + 5
    book.chart(ws, "column", _("This month and the previous month"), (first, last, 0),
               [(report.period.label, first, last, 1),
                (report.period.previous.label, first, last, 2)], "F4")


def _department_sheet(book: _Book, report: MonthlyReport):
    ws = book.sheet(_("By department"))
    headers = [_("Department"), _("Received in the month"), _("Resolved in the month"),
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
    top = 3
    last = book.table(ws, top, headers, rows, kinds, total=line(_("Total"), report.total),
                      widths=[30] + [13] * (len(headers) - 1))
    if rows:
        first, end = top + 1, last - 1
        book.chart(ws, "bar", _("Received and overdue by department"), (first, end, 0),
                   [(headers[1], first, end, 1), (headers[5], first, end, 5)],
                   f"B{last + 4}", size=(720, max(320, 40 * len(rows) + 120)))


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
    last = book.table(ws, top, headers, rows, ["text"] + ["int"] * (len(headers) - 1),
                      total=[_("Total"), *totals], widths=[24] + [13] * (len(headers) - 1))
    first, end = top + 1, last - 1
    if rows:
        book.chart(ws, "column", _("Received by category and kind"), (first, end, 0),
                   [(headers[i], first, end, i) for i in range(1, len(kinds) + 1)],
                   f"B{last + 4}", subtype="stacked", size=(720, 340))


def _share_sheet(book: _Book, title: str, first_header: str, items, chart_kind: str,
                 note: str | None = None):
    ws = book.sheet(title)
    total = sum(n for _k, n in items)
    rows = [[name, n, _share(n, total)] for name, n in items]
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
                   "E4", size=(520, 320))


def _repeat_sheet(book: _Book, report: MonthlyReport, mask_phones: bool) -> int:
    ws = book.sheet(_("Repeat complainants"))
    headers = [_("Phone"), _("Customer name"), _("Complaints in the month"),
               _("First received"), _("Last received")]
    rows = [[mask_phone(phone) if mask_phones else phone, name, n, first, last]
            for phone, name, n, first, last in report.repeat_complainants]
    book.table(ws, 3, headers, rows, ["text", "text", "int", "datetime", "datetime"],
               widths=[16, 20, 14, 17, 17])
    ws.freeze_panes(4, 0)
    return len(rows)


def _overdue_sheet(book: _Book, report: MonthlyReport, text, mask_contacts: bool) -> int:
    ws = book.sheet(_("Overdue complaints"))
    headers = [_("Number"), _("Received at"), _("Department"), _("Kind"), _("Severity"),
               _("Title"), _("Status"), _("Due"), _("Resolve by"), _("Resolved at"),
               _("Escalation level"), _("Assignee")]
    top = 3
    for col, header in enumerate(headers):
        ws.write_string(top, col, str(header), book.fmt["header"])
    kinds = ["text", "datetime", "text", "text", "text", "text", "text", "datetime",
             "datetime", "datetime", "text", "text"]
    row = top
    dept_id = report.department.id if report.department is not None else None
    for r in overdue_rows(report.period, dept_id):
        row += 1
        title = mask_text(r[5]) if mask_contacts else r[5]  # staff may type a phone in it
        values = [r[0], r[1], r[2], text("kind", r[3]), text("severity", r[4]), title,
                  text("status", r[6]), r[7], r[8], r[9], text("escalation", r[10]), r[11]]
        book._row(ws, row, values, kinds)
    for col, width in enumerate([18, 17, 20, 12, 10, 40, 16, 17, 17, 17, 18, 16]):
        ws.set_column(col, col, width)
    ws.freeze_panes(top + 1, 0)
    if row > top:
        ws.autofilter(top, 0, row, len(headers) - 1)
    return row - top
