"""SQLAlchemy models: data and small derived properties, no workflow decisions."""

from .base import db
from .complaint import CallbackRecord, Category, Complaint, ComplaintEvent, ExportLog, NumberCounter
from .org import Department, Staff
from .settings import CalendarDay, SlaPolicy

__all__ = [
    "db", "CalendarDay", "CallbackRecord", "Category", "Complaint", "ComplaintEvent",
    "Department", "ExportLog", "NumberCounter", "SlaPolicy", "Staff",
]
