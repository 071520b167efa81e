"""Merging duplicates: the master's facts for the rules, its event, and the merge links.

The action itself is the declared ``merge`` (rules.procedure), carried out by
``services.complaints.perform`` like any other; this module is its two hooks there:

- :func:`target_fields`: the master named by number, row-locked, as ``rules.MasterFacts``
  (read before anything changes, like the forward's department);
- :func:`after_action`: in the same transaction, the master's "merged in" event and a new
  version of the master (a form opened on it before the merge is stale).

and what the detail pages show (:func:`links`), scoped to the reader.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from models import Complaint, db
from rules import Action, Actor, can_see
from rules.facts import MasterFacts
from rules.merge import MAX_NUMBER, merged_in_note, normalize_number

from .queries import scope_clause

# How many merged complaints the master's page lists (a master has a handful at most).
MAX_LISTED = 200


def target_fields(inputs: Mapping) -> dict:
    """``Target`` keyword arguments for a merge: the typed number and the master found."""
    if "master_number" not in inputs:
        return {}
    raw = inputs.get("master_number")
    if not isinstance(raw, str) or not raw.strip() or len(raw) > MAX_NUMBER:
        return {}  # the rules ask for it, or say it is too long
    number = normalize_number(raw)
    row = db.session.scalars(
        select(Complaint).where(Complaint.number == number).with_for_update(of=Complaint)
    ).one_or_none()
    if row is None:
        return {"master_number": number}
    return {"master_number": number, "master": MasterFacts(
        row.id, row.number, row.status, row.department_id, row.assignee_id,
        row.registered_by_id, row.merged_into_id)}


def after_action(action: str, duplicate: Complaint, actor_id: int | None, note: str | None,
                 now: datetime) -> None:
    """After a merge: the event on the master, and the master's new version."""
    if action != Action.MERGE or duplicate.merged_into_id is None:
        return
    from .complaints import write_event  # (services.complaints imports this module)

    master = db.session.get(Complaint, duplicate.merged_into_id)  # locked by target_fields
    master.updated_at = now
    flag_modified(master, "updated_at")  # a new version, as for any accepted action
    db.session.flush()
    status = (master.status, master.department_id, master.assignee_id)
    write_event(master, actor_id, Action.MERGED_IN, now, before=status,
                note=merged_in_note(duplicate.number, note))


@dataclass
class MergeLinks:
    """What a complaint's page shows of merging: its master, and what was merged into it."""

    master: tuple[int, str] | None = None  # (id, number) of the master
    master_visible: bool = False  # whether the reader may open the master's page
    merged: list[tuple[int, str, str]] = field(default_factory=list)  # (id, number, title)


def links(complaint: Complaint, actor: Actor) -> MergeLinks:
    """The merge links of a complaint's page, for this reader (two indexed queries at most).

    The master's number is shown to whoever sees the duplicate (it is in the event note),
    linked only when the reader may see the master; the merged duplicates listed are those
    the reader may see.
    """
    out = MergeLinks()
    if complaint.merged_into_id is not None:
        row = db.session.execute(
            select(Complaint.id, Complaint.number, Complaint.department_id,
                   Complaint.assignee_id, Complaint.registered_by_id)
            .where(Complaint.id == complaint.merged_into_id)).one_or_none()
        if row is not None:
            out.master = (row.id, row.number)
            out.master_visible = can_see(actor, row.department_id, row.assignee_id,
                                         row.registered_by_id)
    rows = db.session.execute(
        select(Complaint.id, Complaint.number, Complaint.title)
        .where(Complaint.merged_into_id == complaint.id, scope_clause(actor))
        .order_by(Complaint.id).limit(MAX_LISTED))
    out.merged = [tuple(r) for r in rows]
    return out
