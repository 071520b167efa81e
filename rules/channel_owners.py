"""Channel owners (渠道负责人): one member of staff per intake channel, told of every new
complaint that comes in through it, whoever (or whatever) registers it — a clerk, the
public form, the mailbox or the API.

Kept as company settings (``channel_owner:<channel>`` → the staff id, empty for none) that
only the administrator changes. Pure: the services read the settings and the staff.
"""

from __future__ import annotations

from collections.abc import Collection

from .accountability import SETTING_ROLES
from .constants import Channel, Role
from .errors import N_, InvalidInput, PermissionDenied

KEY_PREFIX = "channel_owner:"
# Who may own a channel: the roles that see every complaint (rules.scope.can_see) — a
# department head or a handler could not open the new complaints they would be told of.
OWNER_ROLES = Role.SEE_ALL
# The notification kind of a new complaint, written to its channel's owner.
NEW_IN_CHANNEL = "new_in_channel"


def owner_key(channel: str) -> str:
    """The Setting key that holds this channel's owner."""
    if channel not in Channel.ALL:
        raise ValueError(f"unknown channel {channel!r}")
    return f"{KEY_PREFIX}{channel}"


def parse_owner(value: str | None) -> int | None:
    """The staff id a stored setting names, or None (empty, or not a number)."""
    text = (value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text)


def check_channel_owner(role: str, channel: str, value: str | None,
                        eligible_ids: Collection[int]) -> int | None:
    """The owner to store for ``channel`` (None: no owner), or a refusal.

    Only the administrator chooses; the owner must be an active member of staff of one of
    the OWNER_ROLES (``eligible_ids``); an empty value takes the channel's owner away.
    """
    if role not in SETTING_ROLES:
        raise PermissionDenied(N_("Only the administrator may change the company settings."))
    if channel not in Channel.ALL:
        raise InvalidInput(N_("The %(field_name)s is not one of the allowed values."),
                           field_name=N_("channel"))
    text = (value or "").strip()
    if not text:
        return None
    owner = parse_owner(text)
    if owner is None or owner not in eligible_ids:
        raise InvalidInput(N_("The %(field_name)s is not one of the allowed values."),
                           field_name=N_("channel owner"))
    return owner
