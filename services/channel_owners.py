"""Channel owners (渠道负责人): reading and keeping the settings, and telling the owner.

:func:`notify_owner` runs inside the registration's transaction (services.complaints.register
→ services.notifications.write_for_registration), so the owner's ``new_in_channel``
notification exists exactly when the complaint does — whoever registered it: a clerk, the
public form's or the mailbox's channel account, or an API token's account.
"""

from __future__ import annotations

from sqlalchemy import select

from models import Setting, Staff, db
from models.engine import write_transaction
from rules import Channel
from rules.channel_owners import OWNER_ROLES, check_channel_owner, owner_key, parse_owner

from . import admin_events


def owners() -> dict[str, int | None]:
    """Every channel's owner (a staff id, or None), in Channel.ALL order: one query."""
    keys = {owner_key(channel): channel for channel in Channel.ALL}
    stored = dict(db.session.execute(
        select(Setting.key, Setting.value).where(Setting.key.in_(keys))).all())
    return {channel: parse_owner(stored.get(key)) for key, channel in keys.items()}


def owner_of(channel: str | None) -> int | None:
    """The staff id of this channel's owner, or None (no owner, or an unknown channel)."""
    if channel not in Channel.ALL:
        return None
    return parse_owner(db.session.scalar(
        select(Setting.value).where(Setting.key == owner_key(channel))))


def eligible() -> list[tuple[int, str, str]]:
    """Who may own a channel: (id, full name, username) of the active members of staff
    whose role sees every complaint (rules.channel_owners.OWNER_ROLES), by name."""
    return [tuple(row) for row in db.session.execute(
        select(Staff.id, Staff.full_name, Staff.username)
        .where(Staff.active.is_(True), Staff.role.in_(OWNER_ROLES))
        .order_by(Staff.full_name, Staff.id))]


def eligible_ids() -> set[int]:
    return {pk for pk, _, _ in eligible()}


def set_owner(channel: str, value: str | None, actor) -> bool:
    """Make ``value`` (a staff id as text; empty: nobody) the owner of ``channel``.

    The rules refuse another role than the administrator, an unknown channel or someone
    who is not an active member of staff (nothing changes then). The change and its
    AdminEvent are written together; True if it changed anything.
    """
    role, actor_id = actor.role, actor.id
    with write_transaction(db.session):
        owner = check_channel_owner(role, channel, value, eligible_ids())
        key = owner_key(channel)
        row = db.session.get(Setting, key)
        before = parse_owner(row.value if row is not None else None)
        if before == owner:
            return False
        if row is None:
            db.session.add(Setting(key=key, value=str(owner) if owner else ""))
        else:
            row.value = str(owner) if owner else ""
        admin_events.setting_changed(key, _name(before), _name(owner), actor_id=actor_id)
    return True


def _name(staff_id: int | None) -> str | None:
    """How the record names an owner: "full name (username)", or None for nobody."""
    if staff_id is None:
        return None
    row = db.session.execute(select(Staff.full_name, Staff.username)
                             .where(Staff.id == staff_id)).one_or_none()
    return f"{row.full_name} ({row.username})" if row else f"#{staff_id}"
