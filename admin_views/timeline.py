"""The timeline's notes in the reader's language.

The audit trail is append-only and stores what the services wrote, in English codes:
the sweep's "accept deadline missed", an edit's "received_at: 2026-11-20 09:00:00 →
2026-11-20 10:00:00; customer_phone: changed", the retention mark "[anonymised]". They
are translated here, when shown, from those stored keys; a note staff typed is shown
as it is (and any note that does not parse exactly is shown as stored).
"""

from __future__ import annotations

import re
from dataclasses import replace

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from models import Category, db
from rules import Action
from rules.assist import parse_missed_note
from rules.customer_messages import _HOW, _WHAT  # the words timeline_note writes
from rules.plan import parse_answer_note
from services.retention import MARK_TEXT
from services.sweep import NOTES as MISSED_NOTES
from services.upstream import NOTE as UPSTREAM_MISSED

from . import labels
from .complaint_columns import LABELS as FIELD_LABELS
from .deliveries import CHANNEL, PURPOSE

_MISSED_CLOCK = {text: clock for clock, text in MISSED_NOTES.items()}
_MISSED_ANY = "deadline missed"

# Value sets of the editable fields whose stored values are codes.
_VALUE_LABELS = {"kind": labels.KIND, "channel": labels.CHANNEL, "severity": labels.SEVERITY,
                 "target_kind": labels.TARGET_KIND, "upstream_source": labels.UPSTREAM_SOURCE}
_EDIT_FIELDS = {*FIELD_LABELS, "category_id"}
_CHANGE = re.compile(r"^(?P<name>[a-z_]+): (?P<rest>.*)$", re.S)
_SEPARATOR = " — "  # services.edits: "<reason> — <changes>"
_CHANGED = "changed"  # services.edits: a contact field's change, its values left out
_ARROW = " → "


def _field_label(name: str) -> str:
    if name == "category_id":
        return str(FIELD_LABELS["category"])
    return str(FIELD_LABELS[name])


def _value(name: str, value: str, categories) -> str:
    if name in _VALUE_LABELS:
        return str(labels.label(_VALUE_LABELS[name], value))
    if name == "category_id" and value.isdigit():
        return categories.get(int(value), value)
    return value


def _changes(text: str, categories) -> str | None:
    """"name: old → new; name: changed" with labels and values translated, or None."""
    parts = []
    for item in text.split("; "):
        m = _CHANGE.match(item)
        if m is None or m.group("name") not in _EDIT_FIELDS:
            return None
        name, rest = m.group("name"), m.group("rest")
        if rest == _CHANGED:
            shown = _("changed")
        elif _ARROW in rest:
            old, new = rest.split(_ARROW, 1)
            shown = f"{_value(name, old, categories)}{_ARROW}{_value(name, new, categories)}"
        else:
            return None
        parts.append(_("%(field)s: %(change)s", field=_field_label(name), change=shown))
    locale = get_locale()
    return ("；" if locale is not None and locale.language == "zh" else "; ").join(parts)


# rules.customer_messages.timeline_note: "Acknowledgement to the customer: e-mail to
# l***@example.com, SMS to 138****5678" (every address masked when written).
_MESSAGE = re.compile(r"^(?P<what>[A-Za-z]+) to the customer: (?P<how>.+)$", re.S)
_MEDIUM = re.compile(r"^(?P<medium>e-mail|SMS) to (?P<address>\S+)$")


_PURPOSE_OF = {text: key for key, text in _WHAT.items()}
_MEDIUM_OF = {text: key for key, text in _HOW.items()}


def _message_note(note: str) -> str:
    m = _MESSAGE.match(note)
    purpose = _PURPOSE_OF.get(m.group("what")) if m else None
    if purpose is None:
        return note
    media = _MEDIUM_OF
    shown = []
    for part in m.group("how").split(", "):
        medium = _MEDIUM.match(part)
        if medium is None or medium.group("medium") not in media:
            return note
        shown.append(f"{labels.label(CHANNEL, media[medium.group('medium')])} "
                     f"{medium.group('address')}")
    return _("%(field)s: %(change)s", field=labels.label(PURPOSE, purpose),
             change=", ".join(shown))


def _plan_answer_note(note: str) -> str:
    """rules.plan.answer_note: "agreed: <what the customer said>" in the reader's words."""
    parsed = parse_answer_note(note)
    if parsed is None:
        return note
    agreed, said = parsed
    answer = _("The customer agreed") if agreed else _("The customer declined")
    return _("%(field)s: %(change)s", field=answer, change=said) if said else answer


def edit_category_ids(notes) -> set[int]:
    """The category ids named in edit notes (to look their names up in one query)."""
    ids = set()
    for note in notes:
        for m in re.finditer(r"category_id: (\d+|None) → (\d+|None)", note or ""):
            ids.update(int(v) for v in m.groups() if v.isdigit())
    return ids


def shown_note(action: str | None, note: str | None, categories=None) -> str | None:
    """The stored note of an event, translated where the services wrote it."""
    if not note:
        return note
    if note == MARK_TEXT:
        return _("[anonymised]")
    if action == Action.OVERDUE:
        clock = _MISSED_CLOCK.get(note)
        if clock is not None:
            return _("Deadline missed: %(clock)s", clock=labels.label(labels.CLOCK, clock))
        if note == _MISSED_ANY:
            return _("Deadline missed")
        return note
    if action == Action.UPSTREAM_OVERDUE and note == UPSTREAM_MISSED:
        return _("Deadline missed: %(clock)s", clock=_("Report back upstream"))
    if action == Action.PART_OVERDUE:
        part = parse_missed_note(note)  # 协办: an assisting department's part
        if part is not None:
            return _("Assisting part of %(department)s missed its deadline (%(due)s)",
                     department=part[0], due=part[1])
        return note
    if action == Action.MESSAGE:
        return _message_note(note)
    if action == Action.PLAN_ANSWER:
        return _plan_answer_note(note)
    if action == Action.EDIT:
        categories = categories or {}
        translated = _changes(note, categories)
        if translated is not None:
            return translated
        # "<reason> — <changes>": the reason as typed, the changes translated. The reason
        # may itself hold the separator: the changes are what follows the last one.
        reason, sep, changes = note.rpartition(_SEPARATOR)
        if sep:
            translated = _changes(changes, categories)
            if translated is not None:
                return f"{reason}{_SEPARATOR}{translated}"
    return note


def shown_notes(entries):
    """The timeline entries with their notes as :func:`shown_note` shows them (one query
    for the category names when an edit changed a category)."""
    ids = edit_category_ids(e.note for e in entries if e.action == Action.EDIT)
    categories = {}
    if ids:
        categories = dict(db.session.execute(
            select(Category.id, Category.name).where(Category.id.in_(ids))).all())
    out = []
    for e in entries:
        if e.note and e.kind == "event":
            shown = shown_note(e.action, e.note, categories)
            if shown != e.note:
                e = replace(e, note=shown)
        out.append(e)
    return out
