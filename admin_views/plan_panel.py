"""处理方案 on the complaint page (templates/_plan_panel.html): the current handling plan,
where it stands, who wrote and decided it, its clock's countdown, the earlier plans."""

from __future__ import annotations

from dataclasses import replace

from rules.constants import Clock, PlanState
from rules.deadlines import DUE_FIELDS, countdown, is_overdue
from services import plans

from . import labels
from .complaint_columns import _countdown_words, request_calendar, request_now
from .privacy import shown_text
from .timeline import shown_note

# Which clock the plan waits on in each state.
_CLOCK = {PlanState.SUBMITTED: Clock.PLAN, PlanState.HEAD_APPROVED: Clock.PLAN,
          PlanState.APPROVED: Clock.PLAN_ANSWER}


def _shown(p):
    """A plan with its decisions' notes in the reader's language (the customer's answer)."""
    if p is None:
        return None
    return replace(p, steps=tuple(replace(s, note=shown_note(s.action, s.note))
                                  for s in p.steps))


def plan_panel(complaint) -> dict | None:
    """What the panel shows, or None for a complaint that never had a plan (no query)."""
    if complaint.plan_state is None:
        return None
    found = plans.panel(complaint.id)
    clock = _CLOCK.get(complaint.plan_state)
    due = getattr(complaint, DUE_FIELDS[clock]) if clock else None
    words = overdue = None
    if due is not None and complaint.is_open:
        now = request_now()
        c = countdown(due, now, request_calendar())
        words, overdue = _countdown_words(c.state, c.days), is_overdue(due, now)
    return {
        "state": complaint.plan_state,
        "state_label": labels.label(labels.PLAN_STATE, complaint.plan_state),
        "due": due,
        "due_label": labels.CLOCK.get(clock),
        "countdown": words,
        "overdue": overdue,
        "agreed": complaint.plan_state == PlanState.AGREED,
        "current": _shown(found.current),
        "earlier": tuple(_shown(p) for p in found.earlier),
        "text": shown_text,
    }
