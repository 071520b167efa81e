"""协办: assisting departments' parts (issue 12)."""

from __future__ import annotations


def after_action(action, complaint, decision, actor_id, event, now) -> None:
    """Called by services.complaints.perform in the action's transaction."""


def sweep(now) -> int:
    """Mark the open parts past their sub-deadline; how many were marked."""
    return 0
