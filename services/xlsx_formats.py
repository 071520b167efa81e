"""The one set of cell formats of every Excel file the desk writes: the list exports
(``services.export``) and the period workbook (``services.reports.workbook``).

Each format is a plain dict of xlsxwriter properties; a writer turns the ones it uses into
formats of its workbook once (``workbook.add_format``). Change a look here and both kinds of
file follow: a date is a date, a header a header, whichever file it is in.
"""

from __future__ import annotations

WORKBOOK_OPTIONS = {
    "constant_memory": True,  # rows are flushed as written: memory does not grow with rows
    "strings_to_formulas": False,  # "=…" is text, never a formula
    "strings_to_urls": False,  # "http://…", "mailto:…", "external:…" are text, never links
    "strings_to_numbers": False,
    "remove_timezone": True,
}

# Number formats.
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MONEY_FORMAT = "0.00"
INTEGER_FORMAT = "0"
RATE_FORMAT = "0.0%"
DAYS_FORMAT = "0.0"

# Colours.
HEADER_FILL = "#E9ECEF"  # Bootstrap's light grey: the lists' header row
NOTE_FONT = "#555555"
OVERDUE_FILL = "#F8D7DA"  # Bootstrap's "danger" background: the same red as the list
OVERDUE_FONT = "#721C24"

# Cell formats.
TITLE = {"bold": True, "font_size": 12}  # the first line of a sheet: what it is, for whom
NOTE = {"italic": True, "font_color": NOTE_FONT}  # an explanation under the title
HEADER = {"bold": True, "bg_color": HEADER_FILL, "bottom": 1, "text_wrap": True,
          "valign": "top"}
TEXT = {"valign": "top"}
WRAP = {"text_wrap": True, "valign": "top"}  # long free text, wrapped in a fixed width
DATE = {"num_format": DATE_FORMAT, "valign": "top"}
DATETIME = {"num_format": DATETIME_FORMAT, "valign": "top"}
MONEY = {"num_format": MONEY_FORMAT, "valign": "top"}
INTEGER = {"num_format": INTEGER_FORMAT, "valign": "top"}
NUMBER = {"valign": "top"}
RATE = {"num_format": RATE_FORMAT}
DAYS = {"num_format": DAYS_FORMAT}
TOTAL = {"bold": True, "top": 1}  # added to a total line's formats
OVERDUE = {"bg_color": OVERDUE_FILL, "font_color": OVERDUE_FONT}  # added to an overdue row's


def total(fmt: dict) -> dict:
    """The format of the same cell on a total line."""
    return {**fmt, **TOTAL}
