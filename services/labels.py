"""Translated labels shared by the screens (admin_views) and the messages the services
render (services.delivery.render): one copy of each, keyed by the constants of ``rules``.
admin_views.labels re-exports STATUS and CLOCK with the other value sets."""

from flask_babel import lazy_gettext as _l

from rules import Action, Clock, Status
from rules.assist import ASSIST_CLOCK, PART_OVERDUE
from rules.capa import OVERDUE_NOTIFICATION as CAPA_OVERDUE
from rules.capa import CapaKind
from rules.channel_owners import NEW_IN_CHANNEL
from rules.constants import CapaStatus
from rules.delivery import DUE_SOON, ESCALATED
from rules.notify import CRITICAL_REGISTERED, OVERDUE, REOPENED, UPSTREAM_OVERDUE

STATUS = {
    Status.REGISTERED: _l("Registered"),
    Status.ACCEPTED: _l("Accepted"),
    Status.REJECTED: _l("Rejected"),
    Status.FORWARDED: _l("Forwarded"),
    Status.IN_PROGRESS: _l("In progress"),
    Status.RESOLVED: _l("Resolved"),
    Status.CALLBACK: _l("Awaiting callback"),
    Status.CLOSED: _l("Closed"),
}
CLOCK = {
    Clock.ACCEPT: _l("Accept by"),
    Clock.FORWARD: _l("Forward by"),
    Clock.RESOLVE: _l("Resolve by"),
    Clock.EXTENSION: _l("Extension decision by"),
    Clock.REVIEW: _l("Review by"),
    Clock.CALLBACK: _l("Next callback by"),
    Clock.FOLLOWUP: _l("Follow-up limit"),
    Clock.REPLY: _l("Reply to customer by"),
    Clock.PLAN: _l("Approve the plan by"),
    Clock.PLAN_ANSWER: _l("Customer's answer to the plan by"),
    ASSIST_CLOCK: _l("Assisting part by"),  # an accountability record's clock (协办)
}

# What each kind of notification says to its reader.
NOTIFICATION_KIND = {
    Action.FORWARD: _l("Forwarded to your department"),
    Action.ASSIGN: _l("Assigned to you"),
    Action.RETURN: _l("Returned to customer service"),
    Action.RESOLVE: _l("Resolved: waiting for review"),
    Action.REJECT: _l("Rejected as invalid"),
    Action.REVIEW_SEND_BACK: _l("Sent back for more work"),
    Action.CALLBACK: _l("Callback recorded"),
    Action.ESCALATE: _l("Escalated to you"),
    Action.EXTEND_REQUEST: _l("Extension requested"),
    Action.EXTEND_DECIDE: _l("Extension decided"),
    Action.URGE: _l("Urged"),
    Action.INSTRUCT: _l("Instruction from senior management"),
    Action.REOPEN: _l("Reopened by management"),
    REOPENED: _l("Reopened: the customer is not satisfied"),
    OVERDUE: _l("Deadline missed"),
    ESCALATED: _l("Escalated to you after a missed deadline"),
    DUE_SOON: _l("Due within one working day"),
    CRITICAL_REGISTERED: _l("Critical complaint registered"),
    Action.ASSIST_ADD: _l("Your department is asked to assist"),
    Action.ASSIST_WITHDRAW: _l("Assisting part withdrawn"),
    Action.ASSIST_REPORT: _l("Assisting part reported"),
    Action.ASSIST_ASSIGN: _l("Assisting part assigned to you"),
    PART_OVERDUE: _l("Assisting part past its deadline"),
    Action.PLAN_SUBMIT: _l("Handling plan to approve"),
    Action.PLAN_APPROVE: _l("Handling plan approved"),
    Action.PLAN_RETURN: _l("Handling plan returned"),
    Action.PLAN_ANSWER: _l("Customer's answer to the handling plan"),
    CAPA_OVERDUE: _l("Corrective action past its due date"),
    UPSTREAM_OVERDUE: _l("Report back upstream past its deadline"),
    NEW_IN_CHANNEL: _l("New complaint from a channel you own"),
    "job_done": _l("Your file is ready"),
    "job_failed": _l("Your file could not be made"),
}

# 纠正预防措施 (rules.capa): status and kind, for the screen and the period workbook.
CAPA_STATUS = {
    CapaStatus.OPEN: _l("Open"),
    CapaStatus.DONE: _l("Done: effect to check"),
    CapaStatus.EFFECTIVE: _l("Effective"),
    CapaStatus.CANCELLED: _l("Cancelled"),
}
CAPA_KIND = {CapaKind.CORRECTIVE: _l("Corrective"), CapaKind.PREVENTIVE: _l("Preventive")}
