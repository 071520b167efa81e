"""The record's further fields, the report back upstream, who calls back, who caused it.

Pure rules (no app, no database): registration checks of location, target and the
upstream reference (each refusal at its field); REPORT_UPSTREAM over every status × role ×
(sent down or not); the supervisors' callbacks by company setting (Actor.calls_back);
the person who caused the complaint, recorded with the result.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from rules import (
    Action,
    Actor,
    Facts,
    PermissionDenied,
    PersonFacts,
    RuleError,
    Status,
    Target,
    TransitionNotAllowed,
    allowed_actions,
    check,
    check_register,
    may,
    unavailable_actions,
)
from rules.constants import TargetKind, UpstreamSource
from rules.errors import each_error

NOW = datetime(2026, 11, 24, 10, 0)
DEPT, HANDLER, HEAD = 10, 12, 11
ACTORS = {
    "intake": Actor(1, "intake", 1),
    "manager": Actor(2, "manager", 1),
    "admin": Actor(3, "admin", None),
    "dept_head": Actor(HEAD, "dept_head", DEPT),
    "handler": Actor(HANDLER, "handler", DEPT),
    "supervisor": Actor(4, "supervisor", 2),
    "executive": Actor(5, "executive", 3),
}
REPORTERS = {"intake", "manager", "admin"}
BASE = {"customer_name": "赵六", "customer_phone": "13911112222", "title": "门店服务差",
        "description": "店员态度不好"}


def _fields(err: RuleError) -> dict[str, str]:
    return {e.field: str(e) for e in each_error(err)}


def _register(**values):
    return check_register("intake", {**BASE, **values}, NOW)


# --- registration: where, what about, sent down by -----------------------------------------


def test_record_fields_are_cleaned_and_optional():
    """Empty fields are None; given ones kept, stripped; a due in the future is kept."""
    clean = _register()
    for name in ("location", "target_kind", "target_text", "upstream_source", "upstream_ref",
                 "upstream_due"):
        assert clean[name] is None
    due = NOW + timedelta(days=3)
    clean = _register(location=" 中山路店 ", target_kind="store", target_text="3号柜台",
                      upstream_source="hotline_12345", upstream_ref="GD-2026-001",
                      upstream_due=due)
    assert (clean["location"], clean["target_kind"], clean["target_text"]) == (
        "中山路店", "store", "3号柜台")
    assert (clean["upstream_source"], clean["upstream_ref"], clean["upstream_due"]) == (
        "hotline_12345", "GD-2026-001", due)


@pytest.mark.parametrize("values,field,words", [
    ({"location": "x" * 201}, "location", "too long: at most 200"),
    ({"target_text": "x" * 201}, "target_text", "too long: at most 200"),
    ({"target_kind": "planet"}, "target_kind", "not one of the allowed values"),
    ({"upstream_source": "moon", "upstream_ref": "A1"}, "upstream_source",
     "not one of the allowed values"),
    ({"upstream_source": "provincial", "upstream_ref": "x" * 65}, "upstream_ref",
     "too long: at most 64"),
    ({"upstream_source": "provincial"}, "upstream_ref", "reference number"),
    ({"upstream_ref": "A1"}, "upstream_source", "which upstream centre"),
    ({"upstream_due": NOW + timedelta(days=1)}, "upstream_due", "give its source"),
    ({"upstream_source": "provincial", "upstream_ref": "A1", "upstream_due": NOW},
     "upstream_due", "must be in the future"),
    ({"upstream_source": "provincial", "upstream_ref": "A1",
      "upstream_due": datetime(1900, 1, 1)}, "upstream_due", "between the years"),
])
def test_bad_record_values_are_refused_at_their_field(values, field, words, refusal_sentence):
    """Each bad value is refused next to its own field, in a plain sentence."""
    with pytest.raises(RuleError) as info:
        _register(**values)
    found = _fields(info.value)
    assert field in found, found
    assert words in found[field]
    for err in each_error(info.value):
        refusal_sentence(err)


def test_every_value_of_the_sets_is_accepted():
    for kind in TargetKind.ALL:
        assert _register(target_kind=kind)["target_kind"] == kind
    for source in UpstreamSource.ALL:
        assert _register(upstream_source=source, upstream_ref="R")["upstream_source"] == source


def test_an_unchanged_past_due_is_not_checked_on_edit():
    """upstream_now (the edit passes one no deadline is before) skips the future check."""
    clean = check_register("intake", {**BASE, "upstream_source": "regulator",
                                      "upstream_ref": "R", "upstream_due": NOW - timedelta(1)},
                           None, upstream_now=datetime.min)
    assert clean["upstream_due"] == NOW - timedelta(1)


# --- REPORT_UPSTREAM: every status × role, sent down or not ---------------------------------


def _facts(status, ref="GD-2026-001", reported=None):
    return Facts(status=status, department_id=DEPT, assignee_id=HANDLER, category="service",
                 upstream_ref=ref, upstream_reported_at=reported)


INPUTS = {"method": "phone", "note": "Told the hotline the store apologised."}


@pytest.mark.parametrize("status", Status.ALL)
@pytest.mark.parametrize("role", sorted(ACTORS))
@pytest.mark.parametrize("sent_down", [True, False])
def test_report_upstream_matrix(status, role, sent_down, refusal_sentence):
    """Customer service and managers, from every status (closed and rejected included),
    only on a complaint sent down by an upstream centre; everyone else never."""
    facts = _facts(status, "GD-2026-001" if sent_down else None)
    actor = ACTORS[role]
    want = role in REPORTERS and sent_down
    assert may(Action.REPORT_UPSTREAM, facts, actor) is want
    if want:
        d = check(Action.REPORT_UPSTREAM, facts, actor, INPUTS, NOW)
        assert d.to_status == status  # the status does not move
        assert d.changes["upstream_reported_at"] == NOW
        assert d.changes["upstream_overdue_since"] is None
        assert d.note == INPUTS["note"]
    else:
        with pytest.raises(RuleError) as info:
            check(Action.REPORT_UPSTREAM, facts, actor, INPUTS, NOW)
        refusal_sentence(info.value)
        if role in REPORTERS:
            assert isinstance(info.value, TransitionNotAllowed)
            assert "not sent down by an upstream centre" in str(info.value)
        else:
            assert isinstance(info.value, PermissionDenied)


def test_the_first_report_counts_and_later_ones_are_events_too():
    """A second report is allowed (another event); the first report's time is kept."""
    first = NOW - timedelta(days=2)
    d = check(Action.REPORT_UPSTREAM, _facts(Status.CLOSED, reported=first),
              ACTORS["intake"], INPUTS, NOW)
    assert d.changes["upstream_reported_at"] == first


def test_report_upstream_needs_method_and_note():
    with pytest.raises(RuleError) as info:
        check(Action.REPORT_UPSTREAM, _facts(Status.IN_PROGRESS), ACTORS["intake"],
              {"method": "pigeon", "note": ""}, NOW)
    assert set(_fields(info.value)) == {"method", "note"}


# --- who calls back --------------------------------------------------------------------------

CALLBACK_INPUTS = {"method": "phone", "reached": True, "satisfaction": "satisfied",
                   "solved": True}


def _callback_facts(status=Status.CALLBACK):
    return Facts(status=status, department_id=DEPT, assignee_id=HANDLER, category="service",
                 callbacks_required=1)


def test_supervisor_without_the_setting_does_not_call_back(refusal_sentence):
    """Setting off: refused with the settings hint, and not offered as an unavailable
    action either (it is not their action)."""
    supervisor = ACTORS["supervisor"]
    facts = _callback_facts()
    assert not may(Action.CALLBACK, facts, supervisor)
    with pytest.raises(PermissionDenied) as info:
        check(Action.CALLBACK, facts, supervisor, CALLBACK_INPUTS, NOW)
    assert "inspection department in Settings" in refusal_sentence(info.value)
    for status in Status.ALL:
        names = [u.action for u in unavailable_actions(_callback_facts(status), supervisor)]
        assert Action.CALLBACK not in names


def test_supervisor_with_the_setting_records_callbacks():
    """Setting on: the supervisor records a callback like customer service, only in the
    callback status; elsewhere it is explained like any other action of theirs."""
    supervisor = Actor(4, "supervisor", 2, calls_back=True)
    assert Action.CALLBACK in allowed_actions(_callback_facts(), supervisor)
    d = check(Action.CALLBACK, _callback_facts(), supervisor, CALLBACK_INPUTS, NOW)
    assert d.callback is not None and d.changes["callbacks_reached"] == 1
    waiting = unavailable_actions(_callback_facts(Status.RESOLVED), supervisor)
    assert Action.CALLBACK in [u.action for u in waiting]


def test_the_setting_changes_nothing_for_other_roles():
    for role in ("intake", "manager", "admin"):
        actor = ACTORS[role]
        assert may(Action.CALLBACK, _callback_facts(), actor)
    for role in ("dept_head", "handler", "executive"):
        flagged = Actor(ACTORS[role].id, role, ACTORS[role].department_id, calls_back=True)
        assert not may(Action.CALLBACK, _callback_facts(), flagged)


# --- who caused it -----------------------------------------------------------------------------

RESULT = {"root_cause": "Rude clerk.", "responsibility": "company", "remedy": "explanation",
          "resolution": "Apologised; clerk retrained."}


def _resolve(target=None, **inputs):
    facts = Facts(status=Status.IN_PROGRESS, department_id=DEPT, assignee_id=HANDLER,
                  category="service")
    return check(Action.RESOLVE, facts, ACTORS["handler"], {**RESULT, **inputs}, NOW,
                 target=target or Target())


def test_resolve_records_who_caused_it():
    person = PersonFacts(77, True, 30, "handler")
    d = _resolve(Target(caused_by_id=77, caused_by=person), caused_by_id="77",
                 caused_by_text="顺丰快递")
    assert d.changes["caused_by_id"] == 77
    assert d.changes["caused_by_text"] == "顺丰快递"
    plain = _resolve()
    assert plain.changes["caused_by_id"] is None and plain.changes["caused_by_text"] is None


@pytest.mark.parametrize("target", [
    Target(caused_by_id=77, caused_by=None),  # no such person
    Target(caused_by_id=77, caused_by=PersonFacts(77, False, 30, "handler")),  # inactive
])
def test_resolve_refuses_a_missing_or_inactive_person(target, refusal_sentence):
    with pytest.raises(RuleError) as info:
        _resolve(target, caused_by_id="77")
    assert info.value.field == "caused_by_id"
    refusal_sentence(info.value)


def test_outside_party_text_is_limited():
    with pytest.raises(RuleError) as info:
        _resolve(caused_by_text="x" * 201)
    assert "caused_by_text" in _fields(info.value)
