"""Fixtures of the export tests: a hand-built set of complaints and xlsx reading helpers.

Complaints are inserted directly (every field chosen by the test), not walked through the
workflow, so that each expected figure can be worked out by hand from the rows below.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from decimal import Decimal

import openpyxl
import pytest

from models import CallbackRecord, Category, Complaint, ComplaintEvent, db
from tests.factories import export_file, insert_complaint

HEADER_ROW = 3  # 1-based row of the column headers (row 1: the title line)


def make_complaint(n: int, **fields) -> Complaint:
    """A complaint with the export tests' defaults (tests.factories.insert_complaint)."""
    received = fields.pop("received_at", datetime(2026, 11, 2, 9, 0))
    values = dict(number=f"TS-{received:%Y%m%d}-{n:04d}", received_at=received,
                  customer_name=f"客户{n}", customer_email=f"user{n}@example.com",
                  title=f"Complaint {n}")
    values.update(fields)
    if "customer_phone" in fields and "customer_phone_norm" not in fields:
        values["customer_phone_norm"] = "".join(ch for ch in fields["customer_phone"] or ""
                                                if ch.isdigit()) or None
    return insert_complaint(**values)


def add_event(complaint: Complaint, action: str, at: datetime, **fields) -> ComplaintEvent:
    event = ComplaintEvent(complaint_id=complaint.id, at=at, action=action,
                           from_status=fields.pop("from_status", complaint.status),
                           to_status=fields.pop("to_status", complaint.status), **fields)
    db.session.add(event)
    return event


def add_callback(complaint: Complaint, at: datetime, satisfaction: str | None,
                 reached: bool = True) -> CallbackRecord:
    record = CallbackRecord(complaint_id=complaint.id, at=at, method="phone", reached=reached,
                            satisfaction=satisfaction, solved=satisfaction is not None)
    db.session.add(record)
    return record


def category_id(code: str) -> int:
    return db.session.query(Category.id).filter_by(code=code).scalar()


def read_xlsx(data: bytes):
    """The first worksheet of an xlsx file (openpyxl, values as stored)."""
    return openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]


def table(sheet) -> tuple[list, list[list]]:
    """(headers, data rows) of an exported list sheet."""
    rows = list(sheet.iter_rows(min_row=HEADER_ROW, values_only=True))
    return list(rows[0]), [list(r) for r in rows[1:]]


def column(sheet, header: str) -> list:
    headers, rows = table(sheet)
    idx = headers.index(header)
    return [r[idx] for r in rows]


def sheet_xml(data: bytes) -> str:
    """All worksheet XML of an xlsx file, concatenated."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return "".join(zf.read(n).decode() for n in zf.namelist()
                       if n.startswith("xl/worksheets/") and n.endswith(".xml"))


@pytest.fixture
def money():
    return Decimal


def download(client, url, **kwargs):
    """GET ``url`` through its job to the file (tests.factories.export_file); returns
    (status, body, headers) and closes the streamed file."""
    with export_file(client, url, **kwargs) as response:
        return response.status_code, response.get_data(), response.headers
