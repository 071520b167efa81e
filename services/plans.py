"""处理方案: the handling plans' own rows, written with the plan actions (issue 12).

The decisions are ``rules.plan``'s; ``services.complaints.perform`` applies them and calls
:func:`after_action` in the same transaction, which keeps each submitted plan's text
(append-only ``HandlingPlan``, tied to its event). :func:`panel` reads what the complaint
page shows: the current plan, the decisions on it, the earlier plans.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from models import ComplaintEvent, HandlingPlan, Staff, db
from rules import Action

# The events of a plan's life after its submission, shown under it.
DECISIONS = (Action.PLAN_APPROVE, Action.PLAN_RETURN, Action.PLAN_ANSWER)


def after_action(action, complaint, decision, actor_id, event, now) -> None:
    """Called by services.complaints.perform in the action's transaction."""
    if action != Action.PLAN_SUBMIT:
        return
    db.session.flush()  # the event's id
    db.session.add(HandlingPlan(complaint_id=complaint.id, submitted_at=now,
                                submitted_by_id=actor_id, text=decision.inputs["plan"],
                                event_id=event.id))


@dataclass(frozen=True)
class Step:
    """A decision on a plan: approved, returned, the customer's answer."""

    action: str
    at: datetime
    actor: str | None
    note: str | None


@dataclass(frozen=True)
class ShownPlan:
    id: int
    text: str
    submitted_at: datetime
    submitted_by: str | None
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class Panel:
    current: ShownPlan | None
    earlier: tuple[ShownPlan, ...] = field(default_factory=tuple)


def panel(complaint_id: int) -> Panel:
    """The complaint's plans, newest first, each with the decisions taken on it (two
    statements whatever the number of plans)."""
    plans = db.session.scalars(
        select(HandlingPlan).where(HandlingPlan.complaint_id == complaint_id)
        .options(joinedload(HandlingPlan.submitted_by))
        .order_by(HandlingPlan.id)).all()
    if not plans:
        return Panel(None)
    rows = db.session.execute(
        select(ComplaintEvent.id, ComplaintEvent.action, ComplaintEvent.at,
               ComplaintEvent.note, Staff.full_name)
        .outerjoin(Staff, Staff.id == ComplaintEvent.actor_id)
        .where(ComplaintEvent.complaint_id == complaint_id,
               ComplaintEvent.action.in_(DECISIONS))
        .order_by(ComplaintEvent.id)).all()
    shown = []
    for n, plan in enumerate(plans):
        start = plan.event_id or 0
        end = plans[n + 1].event_id if n + 1 < len(plans) else None
        steps = tuple(Step(action, at, name, note) for event_id, action, at, note, name in rows
                      if event_id > start and (end is None or event_id < end))
        shown.append(ShownPlan(plan.id, plan.text, plan.submitted_at,
                               plan.submitted_by.full_name if plan.submitted_by else None,
                               steps))
    shown.reverse()
    return Panel(shown[0], tuple(shown[1:]))
