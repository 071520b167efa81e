"""Value sets of the domain. Plain strings, stored as they are in the database."""

from .errors import N_


class Status:
    REGISTERED = "registered"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    FORWARDED = "forwarded"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CALLBACK = "callback"
    CLOSED = "closed"

    ALL = (REGISTERED, ACCEPTED, REJECTED, FORWARDED, IN_PROGRESS, RESOLVED, CALLBACK, CLOSED)
    OPEN = (REGISTERED, ACCEPTED, FORWARDED, IN_PROGRESS, RESOLVED, CALLBACK)
    FINAL = (REJECTED, CLOSED)


class Role:
    ADMIN = "admin"
    INTAKE = "intake"
    DEPT_HEAD = "dept_head"
    HANDLER = "handler"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"

    ALL = (ADMIN, INTAKE, DEPT_HEAD, HANDLER, SUPERVISOR, MANAGER)
    # Roles that see every complaint; the others see a scope (see permissions).
    SEE_ALL = (ADMIN, INTAKE, SUPERVISOR, MANAGER)


class Kind:
    COMPLAINT = "complaint"
    CONSULTATION = "consultation"
    SUGGESTION = "suggestion"
    ALL = (COMPLAINT, CONSULTATION, SUGGESTION)


class Channel:
    ALL = ("phone", "hotline", "email", "web", "social", "walk_in", "letter", "transferred")


class CustomerClass:
    ALL = ("A", "B", "C", "D")


class Severity:
    NORMAL = "normal"
    MAJOR = "major"
    CRITICAL = "critical"
    ALL = (NORMAL, MAJOR, CRITICAL)


class Validity:
    PENDING = "pending"
    VALID = "valid"
    INVALID = "invalid"
    ALL = (PENDING, VALID, INVALID)


class Responsibility:
    ALL = ("company", "customer", "third_party", "mixed")


class Remedy:
    ALL = ("return", "exchange", "repair", "compensation", "explanation", "other")


class CallbackMethod:
    ALL = ("phone", "sms", "email", "visit", "messaging")


class Satisfaction:
    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    AVERAGE = "average"
    UNSATISFIED = "unsatisfied"
    ALL = (VERY_SATISFIED, SATISFIED, AVERAGE, UNSATISFIED)
    # Enough to close the loop.
    GOOD = (VERY_SATISFIED, SATISFIED)


class Action:
    ACCEPT = "accept"
    REJECT = "reject"
    FORWARD = "forward"
    RETURN = "return"
    ASSIGN = "assign"
    RESOLVE = "resolve"
    REVIEW_APPROVE = "review_approve"
    REVIEW_SEND_BACK = "review_send_back"
    CALLBACK = "callback"
    CLOSE = "close"
    FORCE_CLOSE = "force_close"
    REOPEN = "reopen"
    ESCALATE = "escalate"
    EXTEND_REQUEST = "extend_request"
    EXTEND_DECIDE = "extend_decide"
    URGE = "urge"

    # Audit-only actions, written by services but not chosen by a user from the table.
    REGISTER = "register"
    EDIT = "edit"
    OVERDUE = "overdue"


MAX_ESCALATION = 3

# Human names used in refusal messages (translated by the screens).
STATUS_NAMES = {
    Status.REGISTERED: N_("registered"),
    Status.ACCEPTED: N_("accepted"),
    Status.REJECTED: N_("rejected"),
    Status.FORWARDED: N_("forwarded"),
    Status.IN_PROGRESS: N_("in progress"),
    Status.RESOLVED: N_("resolved"),
    Status.CALLBACK: N_("awaiting callback"),
    Status.CLOSED: N_("closed"),
}
