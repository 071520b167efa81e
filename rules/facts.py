"""What the rules are told: who acts, the complaint as it stands, the target of an action.

Plain frozen dataclasses, filled by the services from the database *before* anything
changes; the rules read nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .constants import AssistStatus, Kind, Severity


@dataclass(frozen=True)
class Actor:
    """Who is acting: enough of a Staff row for the rules."""

    id: int
    role: str
    department_id: int | None = None
    # The company gives callbacks to the inspection department too (a setting): a
    # supervisor records them (rules.procedure CALLBACK).
    calls_back: bool = False


@dataclass(frozen=True)
class Facts:
    """A snapshot of the complaint as far as the rules need it."""

    status: str
    kind: str = Kind.COMPLAINT
    severity: str = Severity.NORMAL
    category: str | None = None
    department_id: int | None = None
    assignee_id: int | None = None
    registered_by_id: int | None = None
    escalation_level: int = 0
    reopen_count: int = 0
    callbacks_required: int = 1
    callbacks_reached: int = 0
    last_satisfaction: str | None = None
    extension_requested_by_id: int | None = None
    extension_requested_until: datetime | None = None
    extension_count: int = 0
    received_at: datetime | None = None
    resolved_at: datetime | None = None
    validity: str | None = None
    # The deadlines (rules.deadlines.DUE_FIELDS); ``due_at`` is the one waited on now.
    accept_due: datetime | None = None
    forward_due: datetime | None = None
    resolve_due: datetime | None = None
    extension_due: datetime | None = None
    review_due: datetime | None = None
    callback_due: datetime | None = None
    followup_until: datetime | None = None
    reply_due: datetime | None = None
    plan_due: datetime | None = None
    plan_answer_due: datetime | None = None
    due_at: datetime | None = None
    due_kind: str | None = None
    overdue_since: datetime | None = None
    # Merging duplicates: the complaint's own id, and its master once merged into one.
    id: int | None = None
    merged_into_id: int | None = None
    # The handling plan (rules.constants.PlanState; None: none submitted) and who wrote it.
    plan_state: str | None = None
    plan_submitted_by_id: int | None = None
    # The SLA policy asks for a plan the customer agreed to before resolving (filled by the
    # services from the matched policy: services.complaints.facts_of; rules.plan).
    plan_required: bool = False
    # Assisting departments' parts still open (协办): the lead resolves once it is 0.
    assists_open: int = 0
    # Sent down by an upstream centre with this reference (R45); None: not.
    upstream_ref: str | None = None
    upstream_reported_at: datetime | None = None  # the first report back to it

    @property
    def extension_pending(self) -> bool:
        return self.extension_requested_by_id is not None


@dataclass(frozen=True)
class DepartmentFacts:
    """The department an action names (forward's target)."""

    id: int
    active: bool = True
    is_customer_service: bool = False
    # Active people who could take the complaint there (a head or a handler).
    staffed: bool = True
    # An active department head there, to assign it (forwarding needs one).
    has_head: bool = True
    name: str | None = None  # for the event's note (协办: the assisting department)


@dataclass(frozen=True)
class PersonFacts:
    """The person an action names (forward's or assign's handler)."""

    id: int
    active: bool = True
    department_id: int | None = None
    role: str | None = None


@dataclass(frozen=True)
class PartFacts:
    """An assisting department's part of a complaint (协办; rules.assist)."""

    id: int
    department_id: int
    assignee_id: int | None = None
    status: str = AssistStatus.OPEN
    due_at: datetime | None = None
    department_name: str | None = None
    version: int = 1


@dataclass(frozen=True)
class MasterFacts:
    """The complaint a duplicate is to be merged into (merge's target)."""

    id: int
    number: str
    status: str
    department_id: int | None = None
    assignee_id: int | None = None
    registered_by_id: int | None = None
    merged_into_id: int | None = None


@dataclass(frozen=True)
class Target:
    """What the services found about the department and person an action names.

    ``department_id`` / ``assignee_id`` are what the user asked for (None: none named);
    ``department`` / ``person`` are None when no such row exists.
    """

    department_id: int | None = None
    department: DepartmentFacts | None = None
    assignee_id: int | None = None
    person: PersonFacts | None = None
    # merge: the number the user typed, and the complaint found with it (None: no such one)
    master_number: str | None = None
    master: MasterFacts | None = None
    # resolve: the staff member named as having caused the complaint (None: no such one)
    caused_by_id: int | None = None
    caused_by: PersonFacts | None = None
    # 协办: the part an action names (withdraw; None: no such part of this complaint), and
    # the complaint's parts not withdrawn (add: one open part per department)
    part_id: int | None = None
    part: PartFacts | None = None
    parts: tuple[PartFacts, ...] = ()
