"""rules: merging a duplicate into its master (the declared ``merge``), every refusal."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules import (
    Action,
    Actor,
    Facts,
    InvalidInput,
    MissingInput,
    PermissionDenied,
    RuleError,
    Status,
    Target,
    TransitionNotAllowed,
    allowed_actions,
    check,
    may,
)
from rules.facts import MasterFacts
from rules.merge import check_master, merged_in_note, normalize_number

NOW = datetime(2026, 11, 30, 10, 0)
INTAKE = Actor(1, "intake", 99)
MANAGER = Actor(2, "manager", 99)
HEAD = Actor(11, "dept_head", 10)
HANDLER = Actor(12, "handler", 10)
DUP = Facts(status=Status.IN_PROGRESS, id=5, department_id=10, assignee_id=12,
            category="service", resolve_due=datetime(2026, 12, 4, 18, 0),
            due_at=datetime(2026, 12, 4, 18, 0), due_kind="resolve")
MASTER = MasterFacts(7, "TS-20261130-0007", Status.ACCEPTED)


def target(master=MASTER, number=None):
    return Target(master_number=number or (master.number if master else "TS-20261130-9999"),
                  master=master)


def merge(facts=DUP, actor=INTAKE, master=MASTER, **inputs):
    inputs = {"master_number": master.number if master else "TS-20261130-9999", **inputs}
    return check(Action.MERGE, facts, actor, inputs, NOW, target=target(master))


def test_merge_closes_the_duplicate_as_merged_into_the_master():
    d = merge(note="same customer, same kettle")
    assert d.to_status == Status.CLOSED
    assert d.changes["merged_into_id"] == MASTER.id
    assert d.changes["closed_at"] == NOW
    # Closed: it waits on nothing, and nothing more is asked of anyone on it.
    assert d.changes["due_at"] is None and d.changes["due_kind"] is None
    assert d.note == "→ TS-20261130-0007 · same customer, same kettle"
    assert d.notify == ()


def test_merge_note_without_a_note_is_the_masters_number():
    assert merge().note == "→ TS-20261130-0007"
    assert merged_in_note("TS-1", None) == "← TS-1"
    assert merged_in_note("TS-1", "x") == "← TS-1 · x"


@pytest.mark.parametrize("status", Status.OPEN)
@pytest.mark.parametrize("actor", [INTAKE, MANAGER, Actor(3, "admin", None)],
                         ids=lambda a: a.role)
def test_customer_service_merges_from_every_open_status(status, actor):
    facts = replace(DUP, status=status)
    assert Action.MERGE in allowed_actions(facts, actor)
    assert merge(facts, actor).to_status == Status.CLOSED


def test_a_closed_complaint_is_not_merged():
    with pytest.raises(TransitionNotAllowed):
        merge(replace(DUP, status=Status.CLOSED))


@pytest.mark.parametrize("actor", [HEAD, HANDLER, Actor(4, "supervisor", None),
                                   Actor(5, "executive", None)], ids=lambda a: a.role)
def test_only_customer_service_merges(actor, refusal_sentence):
    assert not may(Action.MERGE, DUP, actor)
    with pytest.raises(PermissionDenied) as info:
        merge(actor=actor)
    refusal_sentence(info.value)


@pytest.mark.parametrize("status", [Status.CLOSED, Status.REJECTED])
def test_refused_for_a_closed_or_rejected_master(status, refusal_sentence):
    with pytest.raises(InvalidInput, match="closed or rejected") as info:
        merge(master=replace(MASTER, status=status))
    refusal_sentence(info.value)


@pytest.mark.parametrize("status", Status.ACTIVE)
def test_any_master_still_being_handled_will_do(status):
    assert merge(master=replace(MASTER, status=status)).changes["merged_into_id"] == 7


def test_refused_for_a_missing_master(refusal_sentence):
    with pytest.raises(InvalidInput, match="No complaint you may see") as info:
        merge(master=None)
    refusal_sentence(info.value)


def test_refused_into_itself(refusal_sentence):
    with pytest.raises(InvalidInput, match="itself") as info:
        merge(master=replace(MASTER, id=DUP.id))
    refusal_sentence(info.value)


def test_refused_into_a_merged_duplicate(refusal_sentence):
    # (closed as it is, the message names the better choice: its own master)
    merged = replace(MASTER, status=Status.CLOSED, merged_into_id=3)
    with pytest.raises(InvalidInput, match="itself merged") as info:
        merge(master=merged)
    refusal_sentence(info.value)


def test_refused_across_scopes_with_the_same_words_as_missing():
    """A master outside the actor's scope is refused exactly like one that does not exist
    (no existence leak). Customer service sees everything today; a scoped actor is checked
    through the rule itself, as a future role would be."""
    from rules.actions import Context
    from rules.calendar import BusinessCalendar
    from rules.deadlines import Policy

    elsewhere = replace(MASTER, department_id=20)  # another department's complaint
    ctx = Context(DUP, HEAD, {"master_number": MASTER.number}, target(elsewhere), NOW,
                  Policy(), BusinessCalendar())
    with pytest.raises(InvalidInput) as out_of_scope:
        check_master(ctx)
    with pytest.raises(InvalidInput) as missing:
        check_master(replace(ctx, target=target(None)))
    assert str(out_of_scope.value) == str(missing.value)
    check_master(replace(ctx, target=target(replace(MASTER, department_id=10))))  # own dept


def test_the_number_is_required(refusal_sentence):
    with pytest.raises(MissingInput) as info:
        check(Action.MERGE, DUP, INTAKE, {}, NOW, target=Target())
    refusal_sentence(info.value)


def test_the_number_has_a_length_limit():
    with pytest.raises(InvalidInput, match="too long"):
        check(Action.MERGE, DUP, INTAKE, {"master_number": "9" * 41}, NOW, target=Target())


def test_reopening_a_merged_duplicate_undoes_the_merge():
    closed = replace(DUP, status=Status.CLOSED, merged_into_id=7, due_at=None, due_kind=None)
    d = check(Action.REOPEN, closed, MANAGER, {"reason": "not the same problem after all"},
              NOW)
    assert d.changes["merged_into_id"] is None
    assert d.to_status in Status.OPEN
    # A reopened complaint that was never merged keeps no merge key in its changes.
    plain = replace(closed, merged_into_id=None)
    assert "merged_into_id" not in check(Action.REOPEN, plain, MANAGER,
                                         {"reason": "again"}, NOW).changes


@pytest.mark.parametrize("raw, number", [
    ("TS-20261130-0010", "TS-20261130-0010"),
    ("  ts-20261130-0010 ", "TS-20261130-0010"),
    ("20261130-0010", "TS-20261130-0010"),
    ("0010", "0010"),  # a tail is not a number: the search box finds tails, merge does not
    ("", ""),
    (None, ""),
])
def test_normalize_number(raw, number):
    assert normalize_number(raw) == number


@given(st.text(max_size=60))
def test_any_typed_number_is_decided_never_crashes(raw):
    """Whatever is typed, the rules decide (allowed into the master named, or a RuleError)."""
    found = MASTER if normalize_number(raw) == MASTER.number else None
    try:
        d = check(Action.MERGE, DUP, INTAKE, {"master_number": raw}, NOW,
                  target=Target(master_number=normalize_number(raw), master=found))
    except RuleError:
        return
    assert found is not None and d.changes["merged_into_id"] == MASTER.id
