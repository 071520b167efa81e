"""Complaint numbers: TS-YYYYMMDD-NNNN, unique and gap-free per day under concurrency."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from models import db

_UPSERT = text(
    "INSERT INTO number_counter (day, last) VALUES (:day, 1) "
    "ON CONFLICT (day) DO UPDATE SET last = number_counter.last + 1 "
    "RETURNING last"
)


def next_number(received_at: datetime) -> str:
    """Take the next number of the day inside the caller's transaction.

    The upsert locks the day's counter row (PostgreSQL) or runs under the write lock
    (SQLite, BEGIN IMMEDIATE), so two concurrent registrations never get the same number.
    """
    day = received_at.strftime("%Y%m%d")
    last = db.session.execute(_UPSERT, {"day": day}).scalar_one()
    return f"TS-{day}-{last:04d}"
