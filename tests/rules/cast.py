"""The cast of the status × action × role tables (tests/rules/test_transition_table.py,
test_plan_rules.py): one actor per role around one department, and the time they act."""

from __future__ import annotations

from datetime import datetime

from rules import Actor

# Column order of the matrices.
ROLES = ("intake", "manager", "admin", "dept_head", "handler", "supervisor", "executive")
STATUSES = ("registered", "accepted", "rejected", "forwarded", "in_progress", "resolved",
            "callback", "closed")

DEPT = 10          # the complaint's department
HEAD_ID = 11       # head of DEPT
HANDLER_ID = 12    # the complaint's assignee, a handler in DEPT
NOW = datetime(2026, 3, 5, 10, 0)  # a Thursday

ACTORS = {
    "intake": Actor(1, "intake", 1),
    "manager": Actor(2, "manager", 1),
    "admin": Actor(3, "admin", None),
    "dept_head": Actor(HEAD_ID, "dept_head", DEPT),
    "handler": Actor(HANDLER_ID, "handler", DEPT),
    "supervisor": Actor(4, "supervisor", 2),
    "executive": Actor(5, "executive", 3),
}
