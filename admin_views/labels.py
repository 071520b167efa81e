"""Translated labels of every value set (status, role, channel, …) for screens and exports.

Keyed by the constants of ``rules`` (one source for each value; no literal elsewhere).
"""

from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from rules import Action, Channel, Finding, Kind, Role, Severity, Validity
from rules.constants import AssistStatus, PlanState
from services.labels import CLOCK, STATUS  # noqa: F401 (shared with the messages)

ROLE = {
    Role.ADMIN: _l("Administrator"),
    Role.INTAKE: _l("Customer-service clerk"),
    Role.DEPT_HEAD: _l("Department head"),
    Role.HANDLER: _l("Handler"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.MANAGER: _l("Manager"),
    Role.EXECUTIVE: _l("Senior management"),
}
KIND = {Kind.COMPLAINT: _l("Complaint"), Kind.CONSULTATION: _l("Consultation"),
        Kind.SUGGESTION: _l("Suggestion")}
CHANNEL = {
    Channel.PHONE: _l("Phone"), "hotline": _l("Hotline"), "email": _l("E-mail"),
    "web": _l("Web"), "social": _l("Social media"), "walk_in": _l("Walk-in"),
    "letter": _l("Letter"), Channel.TRANSFERRED: _l("Relayed by a department"),
}
SEVERITY = {Severity.NORMAL: _l("Normal"), Severity.MAJOR: _l("Major"),
            Severity.CRITICAL: _l("Critical")}
VALIDITY = {Validity.PENDING: _l("Pending"), Validity.VALID: _l("Valid"),
            Validity.INVALID: _l("Invalid")}
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
# Who owns the complaint at each escalation level (rules.escalation.owner_role).
ESCALATION = {0: _l("Handler"), 1: _l("Department head"), 2: _l("Customer-service manager"),
              3: _l("Senior management")}
# Who owns a complaint now (rules.owner_role: level 1 is the customer-service manager's
# while the complaint waits on customer service).
ESCALATION_OWNER = {None: ESCALATION[0], Role.DEPT_HEAD: ESCALATION[1],
                    Role.MANAGER: ESCALATION[2], Role.EXECUTIVE: ESCALATION[3]}
# Which deadline a complaint waits on (Complaint.due_kind) — also the due columns' labels.
# 投诉对象: what the complaint is about (rules.constants.TargetKind).
TARGET_KIND = {"product": _l("Product"), "person": _l("Person"), "store": _l("Store"),
               "other": _l("Other")}
# Who sent the complaint down (rules.constants.UpstreamSource).
UPSTREAM_SOURCE = {"provincial": _l("Provincial centre"), "hotline_12345": _l("12345 hotline"),
                   "regulator": _l("Regulator"), "head_office": _l("Head office"),
                   "other": _l("Other")}
# A manager's finding on a missed deadline (AccountabilityFinding).
FINDING = {Finding.EXCUSED: _l("Excused"), Finding.RESPONSIBLE: _l("Responsible")}
ACTION = {
    Action.REGISTER: _l("Registered"), Action.ACCEPT: _l("Accept"), Action.REJECT: _l("Reject"),
    Action.REPLY: _l("Reply to customer (invalid)"),
    Action.FORWARD: _l("Forward"), Action.RETURN: _l("Return to customer service"),
    Action.ASSIGN: _l("Assign"), Action.RESOLVE: _l("Resolve"),
    Action.REVIEW_APPROVE: _l("Approve result"), Action.REVIEW_SEND_BACK: _l("Send back"),
    Action.CALLBACK: _l("Record callback"), Action.CLOSE: _l("Close"),
    Action.FORCE_CLOSE: _l("Force-close"), Action.REOPEN: _l("Reopen"),
    Action.ESCALATE: _l("Escalate"), Action.EXTEND_REQUEST: _l("Request extension"),
    Action.EXTEND_DECIDE: _l("Decide extension"), Action.URGE: _l("Urge"),
    Action.NOTE: _l("Progress note"), Action.INSTRUCT: _l("Instruction"),
    Action.EDIT: _l("Edited"), Action.OVERDUE: _l("Deadline missed"),
    Action.MESSAGE: _l("Message to the customer"),
    "attach": _l("File added"), "attachment_retire": _l("File retired"),
    "mail_in": _l("E-mail received"),  # rules.mail_intake.MAIL_IN: the complaints mailbox
    Action.MERGE: _l("Merge as duplicate"), Action.MERGED_IN: _l("Duplicate merged in"),
    Action.REPORT_UPSTREAM: _l("Report back upstream"),
    Action.PLAN_SUBMIT: _l("Submit handling plan"),
    Action.PLAN_APPROVE: _l("Approve handling plan"),
    Action.PLAN_RETURN: _l("Return handling plan"),
    Action.PLAN_ANSWER: _l("Record customer's answer to the plan"),
    Action.ASSIST_ADD: _l("Add assisting department"),
    Action.ASSIST_WITHDRAW: _l("Withdraw assisting part"),
    Action.ASSIST_REPORT: _l("Assisting part reported"),
    Action.PART_OVERDUE: _l("Assisting part past its deadline"),
    Action.UPSTREAM_OVERDUE: _l("Report back upstream past its deadline"),
    Action.ASSIST_ASSIGN: _l("Assisting part assigned"),
}
# 协办: where an assisting department's part stands (Assist.status).
ASSIST_STATUS = {AssistStatus.OPEN: _l("Open"), AssistStatus.REPORTED: _l("Reported"),
                 AssistStatus.WITHDRAWN: _l("Withdrawn")}
# 处理方案: where the handling plan stands (Complaint.plan_state).
PLAN_STATE = {
    PlanState.SUBMITTED: _l("Waiting for the department's approval"),
    PlanState.HEAD_APPROVED: _l("Approved by the department; waiting for senior management"),
    PlanState.APPROVED: _l("Approved; waiting for the customer's answer"),
    PlanState.AGREED: _l("Agreed by the customer"),
    PlanState.RETURNED: _l("Returned by the approver; a new plan is due"),
    PlanState.DECLINED: _l("Declined by the customer; a new plan is due"),
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
