"""Streaming .xlsx writing for list exports, independent of Flask-Admin.

- Memory stays flat: xlsxwriter's ``constant_memory`` mode flushes each row to a temporary
  file as soon as the next one starts, and callers feed rows from ``yield_per`` batches.
- Nothing in a cell runs: every string goes through ``write_string`` and the workbook has
  ``strings_to_formulas`` / ``strings_to_urls`` off, so ``=HYPERLINK(…)``, ``+1``,
  ``@SUM(…)``, ``http://…`` or ``mailto:…`` stay plain text (no ``<f>``, no ``<hyperlink>``).
- Cells keep their type: datetimes and dates are Excel dates, ``Decimal`` amounts are
  numbers shown with two decimals, integers are numbers.
- Contacts are masked (``138****5678``) when ``rules.privacy`` says the role may not see them,
  and so are phones and e-mails inside free-text columns (``ContactMasker.text``).
- Every export leaves an :class:`~models.ExportLog` row (:func:`record_export`).
- Every sheet prints (:func:`print_setup`): A4 landscape, one page wide, the header rows
  repeated on each page, the title in the page header and "page n of m" in the footer.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter

import xlsxwriter
from sqlalchemy import inspect, select
from sqlalchemy.orm import MANYTOONE

from models import ExportLog, db
from models.engine import write_transaction
from rules import mask_email, mask_phone
from rules.admin_events import EXPORT, TARGET_EXPORT, describe_values
from rules.privacy import mask_text, may_see_contact

from . import admin_events
from . import xlsx_formats as xf

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# The formats are shared with the period workbook (services.xlsx_formats); the names stay
# importable from here.
WORKBOOK_OPTIONS = xf.WORKBOOK_OPTIONS
DATE_FORMAT = xf.DATE_FORMAT
DATETIME_FORMAT = xf.DATETIME_FORMAT
MONEY_FORMAT = xf.MONEY_FORMAT
INTEGER_FORMAT = xf.INTEGER_FORMAT
OVERDUE_FILL = xf.OVERDUE_FILL
OVERDUE_FONT = xf.OVERDUE_FONT

PAPER_A4 = 9
MARGINS = {"left": 0.4, "right": 0.4, "top": 0.7, "bottom": 0.6}  # inches
HEADER_MARGIN = 0.3
HEADER_TEXT_MAX = 120  # characters of the title shown in the page header

TITLE_ROW = 0
HEADER_ROW = 2
FIRST_DATA_ROW = HEADER_ROW + 1
MIN_WIDTH, MAX_WIDTH = 6, 40
HEADER_WIDTH_MAX = 12  # a longer header wraps in its cell rather than widen the column
WIDTH_SAMPLE_ROWS = 500  # widths follow the header and the first rows' content
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


def page_text(text: str, limit: int = HEADER_TEXT_MAX) -> str:
    """Text for a page header or footer: at most ``limit`` characters (Excel refuses more
    than 255 with the codes), ``&`` doubled so that it is not read as a code."""
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[:limit - 1] + "…"
    return text.replace("&", "&&")


def print_setup(sheet, title: str, repeat: tuple[int, int] | None, footer: str,
                fit_height: int = 0) -> None:
    """How a sheet prints: A4 landscape, one page wide (``fit_height`` pages high, 0: as
    many as needed), rows ``repeat`` (first, last; 0-based) on top of every page, ``title``
    in the page header and ``footer`` (with Excel's codes, e.g. ``Page &P of &N``) at the
    bottom."""
    sheet.set_paper(PAPER_A4)
    sheet.set_landscape()
    sheet.fit_to_pages(1, fit_height)
    sheet.set_margins(**MARGINS)
    sheet.set_header("&C" + page_text(title), {"margin": HEADER_MARGIN})
    sheet.set_footer("&C" + footer, {"margin": HEADER_MARGIN})
    if repeat is not None:
        sheet.repeat_rows(*repeat)


LINE_HEIGHT = 15  # points: one line of the default font
MAX_LINES = 10  # a wrapped cell shows at most this many lines (the rest stays in the cell)


def wrapped_lines(text: str, width: int) -> int:
    """Lines a text takes wrapped in a column ``width`` characters wide: an estimate that
    costs no Python loop per character (it runs for every long-text cell of an export).
    A CJK character is 3 UTF-8 bytes, an ASCII one 1, so the bytes count the CJK ones;
    printed, a CJK character takes about 1.7 digit widths and a letter 0.85."""
    size = len(text.encode())
    wide = (size - len(text)) // 2
    columns = 0.85 * (len(text) - wide) + 1.7 * wide
    return min(int(columns / max(width - 1, 1)) + 1 + text.count("\n"), MAX_LINES)


def row_height(values: Sequence, wrap: dict) -> float | None:
    """The height (points) a row of wrapped cells needs, or None for one line: spreadsheets
    do not all size such rows when they open a file, so the writer sets it."""
    lines = 1
    for col, width in wrap.items():
        if col < len(values):
            value = values[col]
            if isinstance(value, str) and value:
                lines = max(lines, wrapped_lines(value, width))
    return lines * LINE_HEIGHT if lines > 1 else None


def release_flushed_rows(sheet) -> None:
    """Forget the heights of the rows already written to the file. xlsxwriter keeps every
    ``set_row`` in memory (``row_info``, and ``row_sizes`` for placing images), even in
    ``constant_memory`` mode where it is needed only until its row is flushed: without
    this, memory would grow with the rows of wrapped text. (No image is placed on a list.)"""
    info = getattr(sheet, "row_info", None)
    if info and len(info) > 2:  # the row being written and the one before stay
        sizes = getattr(sheet, "row_sizes", {})
        for row in [r for r in info if r < sheet.previous_row]:
            del info[row]
            sizes.pop(row, None)


def display_width(text: str) -> int:
    """Columns a text needs in Excel: wide (CJK) characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def sheet_title(name: str) -> str:
    """A valid worksheet name: at most 31 characters, none of []:*?/\\."""
    clean = _SHEET_NAME_BAD.sub(" ", str(name)).strip().strip("'") or "Sheet"
    return clean[:31]


class ContactMasker:
    """Masks customer contact values unless ``rules.privacy`` lets the role see them:
    ``"phone"`` and ``"email"`` columns as a whole, ``"text"`` columns (notes, reasons)
    where a phone or an e-mail appears inside them (``rules.privacy.mask_text``)."""

    def __init__(self, role: str | None):
        self.visible = may_see_contact(role)

    def phone(self, value):
        return value if self.visible else mask_phone(value)

    def email(self, value):
        return value if self.visible else mask_email(value)

    def text(self, value):
        return value if self.visible else mask_text(value)

    def __call__(self, kind: str, value):
        if kind == "text":
            return self.text(value)
        return self.email(value) if kind == "email" else self.phone(value)


class _Formats:
    """The workbook's cell formats, created once, plain and highlighted (overdue)."""

    KINDS = {
        "text": xf.TEXT,
        "date": xf.DATE,
        "datetime": xf.DATETIME,
        "money": xf.MONEY,
        "integer": xf.INTEGER,
        "number": xf.NUMBER,
        "wrap": xf.WRAP,  # long free text
    }

    def __init__(self, workbook):
        kinds = self.KINDS
        self.plain = {k: workbook.add_format(dict(v)) for k, v in kinds.items()}
        self.overdue = {k: workbook.add_format({**v, **xf.OVERDUE}) for k, v in kinds.items()}
        self.title = workbook.add_format(dict(xf.TITLE))
        self.header = workbook.add_format(dict(xf.HEADER))


class _CellWriter:
    """Writes one non-empty value with the right Excel type; dispatch on the exact type.

    Strings always go through ``write_string`` (never a formula or a link); booleans become
    the given words (e.g. Yes / No in the user's language); unknown types their text.
    """

    def __init__(self, sheet, bool_text: tuple[str, str]):
        self.sheet = sheet
        self.bool_text = bool_text
        s = sheet
        self.dispatch = {
            str: lambda r, c, v, f: s.write_string(r, c, v, f["text"]),
            int: lambda r, c, v, f: s.write_number(r, c, v, f["integer"]),
            float: lambda r, c, v, f: s.write_number(r, c, v, f["number"]),
            Decimal: lambda r, c, v, f: s.write_number(r, c, float(v), f["money"]),
            datetime: lambda r, c, v, f: s.write_datetime(r, c, v, f["datetime"]),
            date: lambda r, c, v, f: s.write_datetime(
                r, c, datetime(v.year, v.month, v.day), f["date"]),
            bool: lambda r, c, v, f: s.write_string(r, c, bool_text[0 if v else 1], f["text"]),
        }

    def __call__(self, row: int, col: int, value, formats: dict) -> None:
        write = self.dispatch.get(type(value))
        if write is None:  # a subclass (Markup, lazy text, IntEnum…) or another type
            for kind in (bool, datetime, date, Decimal, int, float):
                if isinstance(value, kind):
                    write = self.dispatch[kind]
                    break
            else:
                value = value.striptags() if hasattr(value, "striptags") else str(value)
                write = self.dispatch[str]
        write(row, col, value, formats)


_KIND_WIDTH = {datetime: 16, date: 10}


def cell_width(value, bool_text=("", "")) -> int:
    """Display width of a value as written (for the column widths)."""
    if isinstance(value, bool):
        return display_width(bool_text[0 if value else 1])
    if isinstance(value, (datetime, date)):
        return _KIND_WIDTH[datetime if isinstance(value, datetime) else date]
    if isinstance(value, Decimal):
        return len(f"{value:.2f}")
    if isinstance(value, (int, float)):
        return len(f"{value:g}") if isinstance(value, float) else len(str(value))
    return display_width(str(value)[:200])


@dataclass
class ListSheet:
    """One exported list: a title line, a frozen header with autofilter, then typed rows.

    Rows must be written in order (``constant_memory``); :meth:`close` sets the column
    widths (from the header and the first rows) and the autofilter range, then writes the
    file. Columns in ``wrap`` ({column index: width}) hold long free text: a fixed width,
    the text wrapped inside it. The sheet prints one page wide with the header row on
    every page (:func:`print_setup`).
    """

    workbook: xlsxwriter.Workbook
    sheet: object
    formats: _Formats
    headers: Sequence[str]
    widths: list[int]
    write: _CellWriter
    wrap: dict = field(default_factory=dict)
    rows: int = 0

    @classmethod
    def open(cls, target, sheet_name: str, title: str, headers: Sequence[str],
             bool_text: tuple[str, str] = ("Yes", "No"), wrap: dict | None = None,
             footer: str = "Page &P of &N", page_title: str | None = None) -> ListSheet:
        """Start a workbook at ``target`` (a path or a binary file object)."""
        workbook = xlsxwriter.Workbook(target, WORKBOOK_OPTIONS)
        sheet = workbook.add_worksheet(sheet_title(sheet_name))
        formats = _Formats(workbook)
        sheet.write_string(TITLE_ROW, 0, title, formats.title)
        for col, header in enumerate(headers):
            sheet.write_string(HEADER_ROW, col, str(header), formats.header)
        sheet.freeze_panes(FIRST_DATA_ROW, 0)
        print_setup(sheet, page_title or title, (HEADER_ROW, HEADER_ROW), footer)
        widths = [min(max(display_width(str(h)) + 2, MIN_WIDTH), HEADER_WIDTH_MAX)
                  for h in headers]
        return cls(workbook, sheet, formats, list(headers), widths,
                   _CellWriter(sheet, bool_text), dict(wrap or {}))

    def __post_init__(self):
        self._wrap_items = tuple(self.wrap.items())
        self._columns = 0
        self._text_formats = {}  # overdue → per column: the format of its text
        self._grow(len(self.headers))

    def _grow(self, columns: int) -> None:
        self._columns = columns
        for overdue, formats in ((False, self.formats.plain), (True, self.formats.overdue)):
            self._text_formats[overdue] = [formats["wrap"] if col in self.wrap
                                           else formats["text"] for col in range(columns)]

    def write_row(self, values: Sequence, overdue: bool = False) -> None:
        """Write the next row. The common types are dispatched inline and each column's
        text format is looked up once per sheet (this runs once per cell of every export);
        dates, booleans and anything else go through the writer."""
        formats = self.formats.overdue if overdue else self.formats.plain
        row = FIRST_DATA_ROW + self.rows
        sheet = self.sheet
        if self._wrap_items:
            lines, count = 1, len(values)
            for col, width in self._wrap_items:
                if col < count:
                    value = values[col]
                    if value and isinstance(value, str):
                        needed = wrapped_lines(value, width)
                        if needed > lines:
                            lines = needed
            if lines > 1:  # spreadsheets do not all size such rows when they open a file
                sheet.set_row(row, lines * LINE_HEIGHT)
                release_flushed_rows(sheet)
        if len(values) > self._columns:
            self._grow(len(values))
        text = self._text_formats[bool(overdue)]
        f_blank = formats["text"]
        write_string, write_blank = sheet.write_string, sheet.write_blank
        for col, value in enumerate(values):
            kind = type(value)
            if kind is str:
                if value:
                    write_string(row, col, value, text[col])
                elif overdue:  # keep the highlight continuous across empty cells
                    write_blank(row, col, None, f_blank)
            elif value is None:
                if overdue:
                    write_blank(row, col, None, f_blank)
            elif kind is datetime:
                sheet.write_datetime(row, col, value, formats["datetime"])
            elif kind is int:
                sheet.write_number(row, col, value, formats["integer"])
            elif kind is Decimal:
                sheet.write_number(row, col, float(value), formats["money"])
            elif value == "":
                if overdue:
                    write_blank(row, col, None, f_blank)
            elif col in self.wrap:
                self.write(row, col, value, {**formats, "text": text[col]})
            else:
                self.write(row, col, value, formats)
        if self.rows < WIDTH_SAMPLE_ROWS:
            for col, value in enumerate(values):
                if value is not None and col not in self.wrap:
                    width = cell_width(value, self.write.bool_text) + 1
                    if width > self.widths[col]:
                        self.widths[col] = min(width, MAX_WIDTH)
        self.rows += 1

    def close(self) -> int:
        last_col = max(len(self.headers) - 1, 0)
        for col, width in enumerate(self.widths):
            self.sheet.set_column(col, col, self.wrap.get(col, width))
        self.sheet.autofilter(HEADER_ROW, 0, HEADER_ROW + self.rows, last_col)
        self.workbook.close()
        return self.rows


def write_list(target, sheet_name: str, title: str, headers: Sequence[str],
               rows: Iterable[tuple[Sequence, bool]],
               bool_text: tuple[str, str] = ("Yes", "No"), wrap: dict | None = None) -> int:
    """Write ``(values, overdue)`` rows as one list sheet; returns the number of rows."""
    out = ListSheet.open(target, sheet_name, title, headers, bool_text, wrap)
    for values, overdue in rows:
        out.write_row(values, overdue)
    return out.close()


def record_type(fields: Sequence[str], load) -> type:
    """The class of the rows :func:`stream_records` yields: a tuple of the ``fields``'
    values, each readable as an attribute (``row.status``; a C-level getter, no dict per
    row), so that to formatters and hooks it looks like the model. An attribute that was not
    read is taken from the full object, ``load(row)`` (correct, but one query per row: list
    it in the view's ``export_extra_columns`` instead)."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        full = self.__dict__.get("_full")
        if full is None:
            full = self.__dict__["_full"] = load(self)
        return getattr(full, name)

    def __repr__(self):
        return "Record(" + ", ".join(f"{f}={v!r}" for f, v in zip(fields, self, strict=True)) + ")"

    namespace = {name: property(itemgetter(i)) for i, name in enumerate(fields)}
    namespace.update(__getattr__=__getattr__, __repr__=__repr__, _fields=tuple(fields))
    return type("Record", (tuple,), namespace)


RELATED_CACHE_LIMIT = 5000


def stream_records(query, model, names: Iterable[str], batch: int = 1000):
    """The rows of ``query`` (a legacy ORM Query over ``model``, filtered, scoped, sorted)
    as light records (:func:`record_type`) holding only ``names``, without building ORM
    objects: the bulk of an export's time would otherwise go to the ORM, not to the file.

    The query's statement is run on the session's connection (Core rows, read in batches
    of ``batch`` with ``yield_per``). Column attributes are selected as columns; a
    many-to-one relationship through its foreign key, its targets loaded by one ``IN``
    query per batch (cached while few). Returns None when a name is neither: the caller
    then reads ORM objects.
    """
    mapper = inspect(model)
    keys = {mapper.get_property_by_column(col).key for col in mapper.primary_key}
    pk_keys = sorted(keys)
    related = {}  # name -> (foreign key attribute, target class, target key attribute)
    for name in names:
        if name in mapper.column_attrs:
            keys.add(name)
            continue
        prop = mapper.relationships.get(name)
        if (prop is None or prop.direction is not MANYTOONE or prop.secondary is not None
                or len(prop.local_remote_pairs) != 1):
            return None
        local, remote = prop.local_remote_pairs[0]
        fk = mapper.get_property_by_column(local).key
        target_key = prop.mapper.get_property_by_column(remote).key
        keys.add(fk)
        related[name] = (fk, prop.mapper.class_, target_key)
    columns = sorted(keys)
    session = query.session
    statement = query.enable_eagerloads(False).with_entities(
        *(getattr(model, key) for key in columns)).statement
    position = {key: i for i, key in enumerate(columns)}
    pk_getter = itemgetter(*(position[k] for k in pk_keys))
    single_pk = len(pk_keys) == 1

    def load(record):
        key = pk_getter(record)
        return session.get(model, key if single_pk else tuple(key))

    record = record_type([*columns, *related], load)
    new = tuple.__new__

    def generate():
        caches = {name: {} for name in related}
        result = session.connection().execution_options(yield_per=batch).execute(statement)
        with result:
            for chunk in result.partitions(batch):
                if not related:
                    for r in chunk:
                        yield new(record, r)
                    continue
                found = []
                for name, (fk, target, target_key) in related.items():
                    cache = caches[name]
                    index = position[fk]
                    fks = [r[index] for r in chunk]
                    missing = set(fks) - cache.keys()
                    missing.discard(None)
                    if missing:
                        if len(cache) + len(missing) > RELATED_CACHE_LIMIT:
                            cache.clear()
                            missing = set(fks) - {None}
                        key_attr = getattr(target, target_key)
                        for obj in session.scalars(select(target).where(key_attr.in_(missing))):
                            cache[getattr(obj, target_key)] = obj
                    get = cache.get
                    found.append([get(fk) for fk in fks])
                for r, *objects in zip(chunk, *found, strict=True):
                    yield new(record, (*r, *objects))

    return generate()


def record_export(staff_id: int | None, screen: str, filters, row_count: int, at: datetime,
                  truncated: bool = False) -> ExportLog:
    """The audit record of one export: who, which screen, which criteria, how many rows."""
    text = filters if isinstance(filters, str) or filters is None else json.dumps(
        filters, ensure_ascii=False, default=str, sort_keys=True)
    with write_transaction(db.session):
        entry = ExportLog(at=at, staff_id=staff_id, screen=screen[:50], filters=text,
                          row_count=row_count, truncated=truncated)
        db.session.add(entry)
        db.session.flush()  # its id, for the administrative record
        admin_events.record(
            EXPORT, actor_id=staff_id, target=(TARGET_EXPORT, entry.id, entry.screen), now=at,
            detail=describe_values({"screen": entry.screen, "rows": row_count,
                                    "truncated": truncated, "filters": text}))
    return entry
