"""The generic edit form's service: only what the user changed, checked, audited.

Status, level, deadlines and results move only through the workflow actions; this edits
the registration fields. A closed complaint belongs to past monthly figures: only a
manager may change it, with a reason (rules.intake.check_edit).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.orm.exc import StaleDataError

import rules
from models import Category, Complaint, db
from models.engine import write_transaction
from rules import Action
from rules.errors import N_, StaleVersion, each_error, refuse_all
from rules.intake import check_edit

from . import clock, customers
from .complaints import RECORD_FIELDS, load_checked, write_event

# An upstream_now no deadline is before: an unchanged report-back deadline is not checked.
_NEVER = datetime.min

# Fields the generic edit form may change.
EDITABLE_FIELDS = (
    "kind", "channel", "received_at", "customer_name", "customer_phone", "customer_email",
    "customer_class", "category_id", "severity", "title", "description", "demand",
    *RECORD_FIELDS,
)
_OPTIONAL_TEXT = ("customer_phone", "customer_email", "demand", "location", "target_kind",
                  "target_text", "upstream_source", "upstream_ref")
_CUSTOMER_FIELDS = {"customer_name", "customer_phone", "customer_email", "customer_class"}


def _same_minute(a: datetime | None, b: datetime | None) -> bool:
    """The form shows times to the minute: a time it sends back unchanged is no change."""
    if a is None or b is None:
        return a is b
    return a.replace(second=0, microsecond=0) == b.replace(second=0, microsecond=0)


def _changes(complaint: Complaint, clean: Mapping, wanted: Mapping) -> dict:
    changes = {}
    for name in EDITABLE_FIELDS:
        old = getattr(complaint, name)
        new = clean.get(name)
        if name in _OPTIONAL_TEXT:
            new = new or None
        elif name == "received_at":
            if new is None or (name in wanted and _same_minute(new, old)):
                continue  # the receipt time cannot be cleared; seconds are kept
        elif name == "description":
            new = new or ""
        elif name == "upstream_due" and _same_minute(new, old):
            continue  # shown to the minute: sent back unchanged
        if new != old:
            changes[name] = (old, new)
    return changes


def edit(complaint_id, values: Mapping, actor, *, expected_version=None,
         reason: str | None = None, now: datetime | None = None) -> Complaint:
    """Save the generic edit form: EDITABLE_FIELDS only, checked as at registration, audited.

    Refused (RuleError, nothing written) when the complaint is outside the actor's scope,
    when the form was opened on an older version, when the values are not valid, or when
    the complaint is closed and the actor is not a manager giving a reason. A save that
    changes nothing writes nothing.
    """
    now = now or clock.now()
    actor_id, role = actor.id, actor.role
    try:
        with write_transaction(db.session):
            complaint = load_checked(complaint_id, actor, expected_version)
            current = {name: getattr(complaint, name) for name in EDITABLE_FIELDS}
            wanted = {k: v for k, v in values.items() if k in EDITABLE_FIELDS}
            merged = {**current, **wanted}
            if "received_at" in wanted and _same_minute(wanted["received_at"],
                                                        current["received_at"]):
                merged["received_at"] = current["received_at"]
            # The receipt-time checks (not in the future; over 30 days needs a reason) apply
            # when that time is what changes.
            moved = merged["received_at"] != current["received_at"]
            # The report-back deadline must be in the future when it is what changes.
            due_moved = not _same_minute(merged.get("upstream_due"), current["upstream_due"])
            # Every problem at once: the values' (check_register) and the edit's own.
            check_edit_first = None
            try:
                check_edit(role, complaint.status, merged.get("category_id") is not None,
                           reason)
            except rules.PermissionDenied:
                raise
            except rules.RuleError as err:
                check_edit_first = err
            try:
                clean = rules.check_register(role, {**merged, "late_reason": reason},
                                             now if moved else None,
                                             kept_phone=current["customer_phone"],
                                             upstream_now=now if due_moved else _NEVER)
            except rules.RuleError as err:
                refuse_all([*each_error(err), *([check_edit_first] if check_edit_first
                                                 else [])])
            if check_edit_first is not None:
                raise check_edit_first
            clean["channel"] = merged.get("channel") or clean["channel"]
            if clean.get("category_id") is not None and (
                db.session.get(Category, clean["category_id"]) is None
            ):
                raise rules.InvalidInput(N_("The %(field_name)s is not one of the allowed "
                                            "values."), field_name=N_("category"))
            changes = _changes(complaint, clean, wanted)
            if not changes:
                return complaint
            for name, (_old, new) in changes.items():
                setattr(complaint, name, new)
            if "customer_phone" in changes:
                complaint.customer_phone_norm = rules.normalize_phone(complaint.customer_phone)
            if changes.keys() & _CUSTOMER_FIELDS:  # the customer file follows the edit
                customers.link(complaint, now)
            complaint.updated_at = now
            write_event(complaint, actor_id, Action.EDIT, now,
                        before=(complaint.status, complaint.department_id,
                                complaint.assignee_id),
                        note=_note(changes, reason))
    except StaleDataError:
        raise StaleVersion() from None
    return complaint


# Customers' contact data never goes into the append-only audit trail (it could not be
# masked for every reader, nor anonymised when retention ends): the note says it changed.
CONTACT_FIELDS = ("customer_phone", "customer_email")


def _change(name, old, new) -> str:
    if name in CONTACT_FIELDS:
        return f"{name}: changed"
    return f"{name}: {old!s} → {new!s}"


def _note(changes: Mapping, reason: str | None) -> str:
    text = "; ".join(_change(name, old, new) for name, (old, new) in sorted(changes.items()))
    if reason:
        text = f"{reason.strip()} — {text}"
    return text[:4000]



