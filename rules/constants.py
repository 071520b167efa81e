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
    # Every status but closed waits on someone, with a deadline ("no stage without a
    # clock"): a rejected complaint waits for customer service to tell the customer why.
    OPEN = (REGISTERED, ACCEPTED, REJECTED, FORWARDED, IN_PROGRESS, RESOLVED, CALLBACK)
    # Still being worked on (not rejected as invalid, not closed).
    ACTIVE = (REGISTERED, ACCEPTED, FORWARDED, IN_PROGRESS, RESOLVED, CALLBACK)
    # What a manager (or an executive) may reopen.
    FINAL = (REJECTED, CLOSED)
    # With a responsible department working on it.
    IN_DEPARTMENT = (FORWARDED, IN_PROGRESS)


class Role:
    ADMIN = "admin"
    INTAKE = "intake"
    DEPT_HEAD = "dept_head"
    HANDLER = "handler"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    EXECUTIVE = "executive"

    ALL = (ADMIN, INTAKE, DEPT_HEAD, HANDLER, SUPERVISOR, MANAGER, EXECUTIVE)
    # Roles that see every complaint; the others see a scope (rules.scope.can_see).
    SEE_ALL = (ADMIN, INTAKE, SUPERVISOR, MANAGER, EXECUTIVE)
    # Customer service: the clerk's work (register, accept, forward, review, call back).
    CUSTOMER_SERVICE = (INTAKE, MANAGER, ADMIN)
    MANAGERS = (MANAGER, ADMIN)
    # Who can be named as the person responsible in a department.
    ASSIGNABLE = (HANDLER, DEPT_HEAD)
    # Roles that work inside one department (their scope is that department or themselves).
    DEPARTMENTAL = (DEPT_HEAD, HANDLER)


class Kind:
    COMPLAINT = "complaint"
    CONSULTATION = "consultation"
    SUGGESTION = "suggestion"
    ALL = (COMPLAINT, CONSULTATION, SUGGESTION)


class Channel:
    PHONE = "phone"
    # Relayed by another department: what a staff member outside customer service registers.
    TRANSFERRED = "transferred"
    # Issue 14: the public web form and the complaint mailbox (services.channels).
    WEB = "web"
    EMAIL = "email"
    ALL = (PHONE, "hotline", EMAIL, WEB, "social", "walk_in", "letter", TRANSFERRED)


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


class Finding:
    """A manager's finding on a missed deadline (AccountabilityRecord)."""

    EXCUSED = "excused"
    RESPONSIBLE = "responsible"
    ALL = (EXCUSED, RESPONSIBLE)


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
    NOTE = "note"  # a progress note (办理进展): no status change
    INSTRUCT = "instruct"  # an executive's instruction (批示)
    REPLY = "reply"  # the reason of a rejection told to the customer: closed as invalid
    MERGE = "merge"  # a duplicate closed as merged into its master (重复件合并)
    # 处理方案: the handling plan, approved before it is carried out (R25/R26).
    PLAN_SUBMIT = "plan_submit"
    PLAN_APPROVE = "plan_approve"
    PLAN_RETURN = "plan_return"
    PLAN_ANSWER = "plan_answer"  # the customer's answer to the approved plan
    # 协办: assisting departments, each with its part (R27).
    ASSIST_ADD = "assist_add"
    ASSIST_WITHDRAW = "assist_withdraw"
    REPORT_UPSTREAM = "report_upstream"  # 反馈上级: reported back to the upstream centre (R45)

    # Audit-only actions, written by services but not chosen by a user from the table.
    REGISTER = "register"
    EDIT = "edit"
    OVERDUE = "overdue"
    MESSAGE = "message"  # a message to the customer (acknowledgement, result) went out
    MERGED_IN = "merged_in"  # on the master: a duplicate was merged into it
    # Taken by an assisting department on its own part (rules.assist), not from the table.
    ASSIST_REPORT = "assist_report"
    ASSIST_ASSIGN = "assist_assign"
    # Written by the sweep beside OVERDUE, for deadlines that are not the complaint's own
    # (they neither escalate it nor count as its missed deadline in the figures):
    PART_OVERDUE = "part_overdue"  # an assisting department's part
    UPSTREAM_OVERDUE = "upstream_overdue"  # the report back to the upstream centre


class Clock:
    """Which deadline a complaint is waiting on (``Complaint.due_kind``)."""

    ACCEPT = "accept"  # customer service: accept or reject, within hours of receipt
    FORWARD = "forward"  # customer service: forward, within the same window of receipt
    RESOLVE = "resolve"  # the department: resolve
    EXTENSION = "extension"  # the approver: decide an extension request
    REVIEW = "review"  # customer service: review the department's result
    CALLBACK = "callback"  # customer service: the next callback (or closing, once enough)
    FOLLOWUP = "followup"  # all follow-up within a month of the resolution
    REPLY = "reply"  # customer service: tell the customer why the complaint is invalid
    PLAN = "plan"  # the approver (head, then senior management if critical): the plan
    PLAN_ANSWER = "plan_answer"  # customer service: the customer's answer to the plan
    ALL = (ACCEPT, FORWARD, RESOLVE, EXTENSION, REVIEW, CALLBACK, FOLLOWUP, REPLY, PLAN,
           PLAN_ANSWER)
    # Deadlines customer service answers for; the others are the department's.
    CUSTOMER_SERVICE = (ACCEPT, FORWARD, REVIEW, CALLBACK, FOLLOWUP, REPLY, PLAN_ANSWER)


class PlanState:
    """Where a complaint's handling plan stands (``Complaint.plan_state``; None: no plan)."""

    SUBMITTED = "submitted"  # waiting for the department head
    HEAD_APPROVED = "head_approved"  # critical: waiting for senior management
    APPROVED = "approved"  # waiting for the customer's answer
    AGREED = "agreed"  # the customer agreed: it may be carried out
    RETURNED = "returned"  # the approver returned it: a new plan is due
    DECLINED = "declined"  # the customer declined it: a new plan is due
    ALL = (SUBMITTED, HEAD_APPROVED, APPROVED, AGREED, RETURNED, DECLINED)
    WAITING = (SUBMITTED, HEAD_APPROVED, APPROVED)
    # A new plan may be submitted (none yet, or the last one sent back).
    OPEN_TO_SUBMIT = (None, RETURNED, DECLINED)


class AssistStatus:
    """An assisting department's part (``Assist.status``)."""

    OPEN = "open"
    REPORTED = "reported"
    WITHDRAWN = "withdrawn"
    ALL = (OPEN, REPORTED, WITHDRAWN)


class TargetKind:
    """投诉对象: what the complaint is about."""

    ALL = ("product", "person", "store", "other")


class UpstreamSource:
    """Who sent the complaint down (R45): its reference must be reported back."""

    ALL = ("provincial", "hotline_12345", "regulator", "head_office", "other")


class CapaStatus:
    """纠正预防措施: a corrective or preventive action's life."""

    OPEN = "open"  # agreed, being carried out
    DONE = "done"  # carried out by its owner: its effect is to be checked
    EFFECTIVE = "effective"  # the check found it worked: closed (not effective: open again)
    CANCELLED = "cancelled"
    ALL = (OPEN, DONE, EFFECTIVE, CANCELLED)
    FINAL = (EFFECTIVE, CANCELLED)


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
