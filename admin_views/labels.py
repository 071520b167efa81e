"""Translated labels of every value set (status, role, channel, …) for screens and exports."""

from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

STATUS = {
    "registered": _l("Registered"),
    "accepted": _l("Accepted"),
    "rejected": _l("Rejected"),
    "forwarded": _l("Forwarded"),
    "in_progress": _l("In progress"),
    "resolved": _l("Resolved"),
    "callback": _l("Awaiting callback"),
    "closed": _l("Closed"),
}
ROLE = {
    "admin": _l("Administrator"),
    "intake": _l("Customer-service clerk"),
    "dept_head": _l("Department head"),
    "handler": _l("Handler"),
    "supervisor": _l("Supervisor"),
    "manager": _l("Manager"),
}
KIND = {"complaint": _l("Complaint"), "consultation": _l("Consultation"),
        "suggestion": _l("Suggestion")}
CHANNEL = {
    "phone": _l("Phone"), "hotline": _l("Hotline"), "email": _l("E-mail"), "web": _l("Web"),
    "social": _l("Social media"), "walk_in": _l("Walk-in"), "letter": _l("Letter"),
    "transferred": _l("Transferred by another department"),
}
SEVERITY = {"normal": _l("Normal"), "major": _l("Major"), "critical": _l("Critical")}
VALIDITY = {"pending": _l("Pending"), "valid": _l("Valid"), "invalid": _l("Invalid")}
RESPONSIBILITY = {"company": _l("Company"), "customer": _l("Customer"),
                  "third_party": _l("Third party"), "mixed": _l("Mixed")}
REMEDY = {"return": _l("Return"), "exchange": _l("Exchange"), "repair": _l("Repair"),
          "compensation": _l("Compensation"), "explanation": _l("Explanation"),
          "other": _l("Other")}
CALLBACK_METHOD = {"phone": _l("Phone"), "sms": _l("SMS"), "email": _l("E-mail"),
                   "visit": _l("Visit"), "messaging": _l("Messaging app")}
SATISFACTION = {"very_satisfied": _l("Very satisfied"), "satisfied": _l("Satisfied"),
                "average": _l("Average"), "unsatisfied": _l("Unsatisfied")}
CUSTOMER_CLASS = {c: c for c in "ABCD"}
ESCALATION = {0: _l("Handler"), 1: _l("Department head"), 2: _l("Customer-service manager"),
              3: _l("Senior management")}
ACTION = {
    "register": _l("Registered"), "accept": _l("Accept"), "reject": _l("Reject"),
    "forward": _l("Forward"), "return": _l("Return to customer service"),
    "assign": _l("Assign"), "resolve": _l("Resolve"), "review_approve": _l("Approve result"),
    "review_send_back": _l("Send back"), "callback": _l("Record callback"),
    "close": _l("Close"), "force_close": _l("Force-close"), "reopen": _l("Reopen"),
    "escalate": _l("Escalate"), "extend_request": _l("Request extension"),
    "extend_decide": _l("Decide extension"), "urge": _l("Urge"), "edit": _l("Edited"),
    "overdue": _l("Deadline missed"),
}


def choices(mapping, blank=None):
    """WTForms ``SelectField`` choices from a label mapping, after an optional blank choice.

    (WTForms 3.3 deprecates plain tuples as SelectField choices.)
    """
    first = [SelectChoice("", blank)] if blank is not None else []
    return first + [SelectChoice(value, label) for value, label in mapping.items()]


def options(mapping):
    """Flask-Admin filter options from a label mapping: [(value, label), …]."""
    return [(value, label) for value, label in mapping.items()]


def label(mapping, value):
    """The translated label of a value, or the value itself when unknown."""
    if value is None:
        return ""
    return mapping.get(value, value)
LOCALE = {"en": "English", "zh_Hans_CN": "中文"}


def formatter(mapping):
    """A Flask-Admin column formatter showing the translated label of the column's value."""

    def _format(view, context, model, name):
        return label(mapping, getattr(model, name.rsplit(".", 1)[-1]))

    return _format


def formatters(**mappings):
    """``column_formatters`` for several enum columns: ``formatters(status=STATUS, …)``."""
    return {name: formatter(mapping) for name, mapping in mappings.items()}
