"""Messages to the customer (R8): when they go out, what the timeline says of them, the
deadline the acknowledgement promises. Pure: no database, no clock.

By which media a message goes is ``rules.delivery.customer_media``; the text is rendered
by ``services.delivery.render.customer_message``; ``services.customer_messages`` writes
the timeline event and the deliveries in the transaction of the action.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from .calendar import BusinessCalendar
from .constants import Action, Channel
from .deadlines import Policy
from .delivery import CUSTOMER_ACK, CUSTOMER_RESULT, EMAIL, SMS, customer_key
from .delivery_settings import shown_address

# The action after which the customer is told something (registration sends the
# acknowledgement). Only the normal close sends the result: a force-close ends a complaint
# the customer was not satisfied with or could not be reached on (its reason is written
# for the record, not for the customer), and a rejection is told to the customer by a
# person (the ``reply`` action records how).
AFTER_ACTION = {Action.CLOSE: CUSTOMER_RESULT}

# Intake channels whose customers get messages unless the administrator says otherwise
# (Setting ``customer_message_channels``): not a complaint relayed by a department (the
# customer spoke to someone else, who answers them) and not a walk-in (answered there).
WITHOUT_MESSAGES = (Channel.TRANSFERRED, "walk_in")
DEFAULT_CHANNELS = tuple(c for c in Channel.ALL if c not in WITHOUT_MESSAGES)


def after_action(action: str) -> str | None:
    """The purpose of the message to the customer this action sends, if any."""
    return AFTER_ACTION.get(action)


def parse_channels(value: str | None) -> frozenset[str]:
    """The intake channels of the comma-separated setting; unknown names are ignored."""
    names = {part.strip() for part in (value or "").split(",")}
    return frozenset(names & set(Channel.ALL))


def format_channels(channels: Iterable[str]) -> str:
    """The setting's value: known channels only, in Channel.ALL order."""
    chosen = set(channels)
    return ",".join(c for c in Channel.ALL if c in chosen)


def answer_deadline(received_at: datetime, now: datetime, policy: Policy,
                    calendar: BusinessCalendar) -> datetime:
    """The answer the acknowledgement promises: forwarded by the end of the forward window
    of receipt (or now, for a complaint registered after that window), then resolved
    within the department's working days (rules.deadlines)."""
    forwarded = max(received_at + timedelta(hours=policy.forward_hours), now)
    return calendar.due_after(forwarded, policy.resolve_days)


def message_key(complaint_id: int, purpose: str, medium: str,
                again_for_event: int | None = None) -> str:
    """The delivery's idempotency key: ``rules.delivery.customer_key``; a complaint
    reopened and closed again sends its new result under the key of that close's event."""
    key = customer_key(complaint_id, purpose, medium)
    return key if again_for_event is None else f"{key}:{again_for_event}"


_WHAT = {CUSTOMER_ACK: "Acknowledgement", CUSTOMER_RESULT: "Result"}
_HOW = {EMAIL: "e-mail", SMS: "SMS"}


def timeline_note(purpose: str, media: Iterable[tuple[str, str]]) -> str:
    """The timeline note of a message to the customer, every address masked (English, as
    every stored note; the screens show the purpose and each delivery's status translated).

    ``media``: (medium, address) pairs — ``[("email", "li.na@example.com")]`` →
    ``"Acknowledgement to the customer: e-mail to l***@example.com"``.
    """
    parts = []
    for medium, address in media:
        if medium not in _HOW:
            raise ValueError(f"unknown medium {medium!r}")
        parts.append(f"{_HOW[medium]} to {shown_address(purpose, medium, address)}")
    if not parts:
        raise ValueError("a message goes by at least one medium")
    return f"{_WHAT[purpose]} to the customer: {', '.join(parts)}"

