"""Complaint desk's business rules: pure Python, standard library only.

Rules decide; services write; views show. Nothing here imports Flask or SQLAlchemy,
and nothing here reads the clock.
"""

from . import procedure as _procedure  # noqa: F401, I001  (declares the actions; then these:)
from . import plan as _plan  # noqa: F401  (处理方案: its actions, after the procedure's)
from . import assist as _assist  # noqa: F401, I001  (协办: the parts' actions)
from .actions import (
    ROLE_NAMES,
    ActionSpec,
    Context,
    Decision,
    all_specs,
    allowed_actions,
    check,
    is_final,
    may,
    refusal,
    spec_of,
    unavailable_actions,
)
from .calendar import BusinessCalendar
from .constants import (
    MAX_ESCALATION,
    Action,
    CallbackMethod,
    Channel,
    Clock,
    CustomerClass,
    Finding,
    Kind,
    Remedy,
    Responsibility,
    Role,
    Satisfaction,
    Severity,
    Status,
    Validity,
)
from .deadlines import Countdown, Policy, countdown, match_policy
from .errors import (
    InvalidInput,
    MissingInput,
    PermissionDenied,
    RuleError,
    StaleVersion,
    TransitionNotAllowed,
)
from .escalation import escalated, escalated_to, initial_escalation_level, owner_role
from .facts import Actor, DepartmentFacts, Facts, PersonFacts, Target
from .intake import check_register, mask_email, mask_phone, normalize_phone
from .procedure import CallbackProgress, callback_progress
from .scope import can_act, can_see, check_version

# Every action a user may take, in declaration order; the roles that may take each one
# from some status (the screens' coarse gate; the full check is check/may).
ACTIONS: tuple[str, ...] = tuple(spec.name for spec in all_specs())
ACTION_ROLES: dict[str, frozenset[str]] = {spec.name: spec.roles for spec in all_specs()}

__all__ = [
    "ACTIONS", "ACTION_ROLES", "MAX_ESCALATION", "ROLE_NAMES", "Action", "ActionSpec",
    "Actor", "BusinessCalendar", "CallbackMethod", "Channel", "Clock", "Context",
    "CustomerClass", "Decision", "DepartmentFacts", "Facts", "Finding", "InvalidInput",
    "Kind", "MissingInput", "PermissionDenied", "PersonFacts", "Policy", "Remedy",
    "Responsibility", "Role", "RuleError", "Satisfaction", "Severity", "StaleVersion",
    "Status", "Target", "TransitionNotAllowed", "Validity", "all_specs", "allowed_actions",
    "can_act", "can_see", "check", "check_register", "check_version", "escalated", "escalated_to",
    "initial_escalation_level", "mask_email", "mask_phone", "match_policy", "may",
    "normalize_phone", "owner_role", "refusal", "spec_of",
    "CallbackProgress", "Countdown", "callback_progress", "countdown", "is_final",
    "unavailable_actions",
]
