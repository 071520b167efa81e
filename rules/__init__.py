"""Complaint desk's business rules: pure Python, standard library only.

Rules decide; services write; views show. Nothing here imports Flask or SQLAlchemy,
and nothing here reads the clock.
"""

from .calendar import BusinessCalendar
from .constants import (
    MAX_ESCALATION,
    Action,
    CallbackMethod,
    Channel,
    CustomerClass,
    Kind,
    Remedy,
    Responsibility,
    Role,
    Satisfaction,
    Severity,
    Status,
    Validity,
)
from .deadlines import Policy, match_policy
from .errors import (
    InvalidInput,
    MissingInput,
    PermissionDenied,
    RuleError,
    StaleVersion,
    TransitionNotAllowed,
)
from .intake import check_register, mask_email, mask_phone, normalize_phone
from .workflow import Actor, Decision, Facts, allowed_actions, can_see, check, check_version, may

__all__ = [
    "MAX_ESCALATION", "Action", "Actor", "BusinessCalendar", "CallbackMethod", "Channel",
    "CustomerClass", "Decision", "Facts", "InvalidInput", "Kind", "MissingInput",
    "PermissionDenied", "Policy", "Remedy", "Responsibility", "Role", "RuleError",
    "Satisfaction", "Severity", "StaleVersion", "Status", "TransitionNotAllowed", "Validity",
    "allowed_actions", "can_see", "check", "check_register", "check_version", "mask_email",
    "mask_phone", "match_policy", "may", "normalize_phone",
]
