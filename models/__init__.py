"""SQLAlchemy models: data and small derived properties, no workflow decisions."""

from .admin_event import AdminEvent
from .attachment import Attachment
from .base import db
from .complaint import (
    AccountabilityFinding,
    AccountabilityRecord,
    CallbackRecord,
    Category,
    Complaint,
    ComplaintEvent,
    ExportLog,
    NumberCounter,
)
from .customer import Customer
from .intake import ApiRequest, ApiToken, InboundMessage
from .job import Job
from .notification import Delivery, Notification, NotificationPreference
from .org import Department, Staff
from .procedure import (
    Assist,
    CorrectiveAction,
    CorrectiveActionEvent,
    CorrectiveActionLink,
    HandlingPlan,
)
from .settings import CalendarDay, Setting, SlaPolicy

__all__ = [
    "db", "AccountabilityFinding", "AccountabilityRecord", "AdminEvent", "ApiRequest",
    "ApiToken", "Assist", "InboundMessage",
    "Attachment", "CorrectiveAction", "CorrectiveActionEvent", "CorrectiveActionLink",
    "HandlingPlan", "Job",
    "CalendarDay", "CallbackRecord", "Category", "Complaint", "ComplaintEvent", "Customer",
    "Delivery", "Department", "ExportLog", "Notification", "NotificationPreference",
    "NumberCounter", "Setting", "SlaPolicy", "Staff",
]
