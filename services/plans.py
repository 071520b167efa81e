"""处理方案: the handling plans' own rows, written with the plan actions (issue 12)."""

from __future__ import annotations


def after_action(action, complaint, decision, actor_id, event, now) -> None:
    """Called by services.complaints.perform in the action's transaction."""
