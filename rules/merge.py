"""Merging duplicates (重复件合并): which master a duplicate may be merged into, and how.

A clerk names the master by its number; the services look it up (``Target.master``) and
these rules decide. The duplicate closes as "merged into TS-…" (``merged_into_id``); its
own events, callbacks and attachments stay with it; the figures count the master only.
"""

from __future__ import annotations

import re

from .actions import Context
from .constants import Status
from .errors import N_, InvalidInput
from .scope import can_see

NUMBER_PREFIX = "TS-"
MAX_NUMBER = 40  # what the form accepts; a complaint number is 16 characters
_BARE = re.compile(r"^\d{8}-\d{4,}$")


def normalize_number(raw) -> str:
    """The number as stored: trimmed, upper case, "TS-" added to a bare "YYYYMMDD-NNNN"."""
    text = str(raw or "").strip().upper()
    if _BARE.match(text):
        return NUMBER_PREFIX + text
    return text


def check_master(ctx: Context) -> None:
    """The master exists, is visible to the actor, is not the duplicate, not itself merged,
    and still being handled (not closed, not rejected)."""
    master = ctx.target.master
    actor = ctx.actor
    if master is None or not can_see(actor, master.department_id, master.assignee_id,
                                     master.registered_by_id):
        # The same answer for "no such complaint" and "not yours to see": no existence leak.
        raise InvalidInput(N_("No complaint you may see has that number; type the full "
                              "number of the complaint to merge into."))
    if ctx.facts.id is not None and master.id == ctx.facts.id:
        raise InvalidInput(N_("A complaint cannot be merged into itself."))
    if master.merged_into_id is not None:
        raise InvalidInput(N_("That complaint was itself merged into another one; merge into "
                              "the complaint it was merged into."))
    if master.status not in Status.ACTIVE:
        raise InvalidInput(N_("That complaint is closed or rejected; merge only into a "
                              "complaint that is still being handled."))


def merge_note(ctx: Context) -> str:
    """The duplicate's event note: the master's number, then the clerk's note if any."""
    number = ctx.target.master.number
    note = ctx.inputs.get("note")
    return f"→ {number}" + (f" · {note}" if note else "")


def merged_in_note(duplicate_number: str, note: str | None) -> str:
    """The master's event note: which duplicate was merged in, and the clerk's note."""
    return f"← {duplicate_number}" + (f" · {note}" if note else "")
