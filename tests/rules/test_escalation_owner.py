"""Who owns a complaint at each escalation level, status by status (written out by hand)."""

from __future__ import annotations

import pytest

from rules import Actor, Role, Status, escalated_to, owner_role

QA = 10
IN_QA = (Status.FORWARDED, Status.IN_PROGRESS)
WITH_CS = (Status.REGISTERED, Status.ACCEPTED, Status.REJECTED, Status.RESOLVED,
           Status.CALLBACK)


@pytest.mark.parametrize("status", IN_QA)
def test_level_one_in_the_department_is_its_heads(status):
    assert owner_role(1, QA, status) == Role.DEPT_HEAD
    assert escalated_to(Actor(1, Role.DEPT_HEAD, QA), status, 1, QA, "normal")
    assert not escalated_to(Actor(2, Role.DEPT_HEAD, 20), status, 1, QA, "normal")
    assert not escalated_to(Actor(3, Role.MANAGER, 1), status, 1, QA, "normal")


@pytest.mark.parametrize("status", WITH_CS)
@pytest.mark.parametrize("department", [None, QA])
def test_level_one_waiting_on_customer_service_is_the_managers(status, department):
    """Customer service's own desks (also a result QA sent back for review) escalate to the
    customer-service manager, never to a department head who could not act on it."""
    assert owner_role(1, department, status) == Role.MANAGER
    assert escalated_to(Actor(3, Role.MANAGER, 1), status, 1, department, "normal")
    assert not escalated_to(Actor(1, Role.DEPT_HEAD, QA), status, 1, department, "normal")


@pytest.mark.parametrize("status", Status.OPEN)
def test_levels_two_and_three(status):
    assert owner_role(0, QA, status) is None
    assert owner_role(2, QA, status) == Role.MANAGER
    assert owner_role(3, QA, status) == Role.EXECUTIVE
    assert escalated_to(Actor(5, Role.EXECUTIVE), status, 3, QA, "normal")
    assert not escalated_to(Actor(5, Role.EXECUTIVE), status, 2, QA, "normal")
    assert escalated_to(Actor(5, Role.EXECUTIVE), status, 2, QA, "critical")


def test_closed_is_nobodys():
    for role in Role.ALL:
        assert not escalated_to(Actor(1, role, QA), Status.CLOSED, 3, QA, "critical")
