"""Messages to the customer (R8): the acknowledgement on registration, the result on close.

Written inside the transaction of the action that causes them (services.complaints), so a
message exists exactly when its action does: one timeline event (``Action.MESSAGE``, no
actor: the desk sends it; its note names the media with every address masked) and one
Delivery row per medium, rendered at once (services.delivery.render.customer_message, in
``CUSTOMER_LOCALE``), which the delivery worker sends. Nothing is written when no medium
applies (rules.delivery.customer_media): the intake channel is not in the setting
``customer_message_channels``, the customer gave no address for a medium that is on
(e-mail: ``MAIL_SERVER``; SMS: ``SMS_WEBHOOK_URL``). With both off it costs no query.

:func:`shown_deliveries` gives the timeline each message event's deliveries and states.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import insert, select

from models import Complaint, ComplaintEvent, Delivery, db
from models.settings import CUSTOMER_MESSAGE_CHANNELS
from rules import Action, normalize_phone
from rules.customer_messages import (
    after_action,
    answer_deadline,
    message_key,
    parse_channels,
    timeline_note,
)
from rules.deadlines import Policy
from rules.delivery import CUSTOMER_ACK, EMAIL, PENDING, SMS, customer_media
from rules.delivery_settings import shown_address

from .calendar_source import business_calendar
from .delivery.render import customer_message
from .queues import setting


def _switched_on() -> tuple[bool, bool]:
    """(e-mail on, SMS on) on this server."""
    config = current_app.config
    return bool(config.get("MAIL_SERVER")), bool(config.get("SMS_WEBHOOK_URL"))


def allowed_channels() -> frozenset[str]:
    """The intake channels whose customers get messages (the company setting)."""
    return parse_channels(setting(CUSTOMER_MESSAGE_CHANNELS))


def _addresses(complaint: Complaint) -> dict[str, str | None]:
    email = (complaint.customer_email or "").strip() or None
    phone = complaint.customer_phone_norm or normalize_phone(complaint.customer_phone)
    return {EMAIL: email, SMS: phone}


def _write(purpose: str, complaint: Complaint, now: datetime,
           deadline: Callable[[], datetime | None]) -> ComplaintEvent | None:
    """The message event and its deliveries, or None when the customer gets no message."""
    mail_on, sms_on = _switched_on()
    addresses = _addresses(complaint)
    if not ((mail_on and addresses[EMAIL]) or (sms_on and addresses[SMS])):
        return None  # decided without a query: nothing could be sent
    media = customer_media(purpose, complaint.channel, allowed_channels(), addresses[EMAIL],
                           addresses[SMS], sms_on=sms_on, mail_on=mail_on)
    if not media:
        return None
    locale = current_app.config.get("CUSTOMER_LOCALE") or "zh_Hans_CN"
    text = customer_message(purpose, complaint, locale=locale, deadline=deadline())
    event = ComplaintEvent(
        complaint_id=complaint.id, at=now, actor_id=None, action=Action.MESSAGE,
        from_status=complaint.status, to_status=complaint.status,
        from_department_id=complaint.department_id, to_department_id=complaint.department_id,
        from_assignee_id=complaint.assignee_id, to_assignee_id=complaint.assignee_id,
        escalation_level=complaint.escalation_level,
        note=timeline_note(purpose, [(medium, addresses[medium]) for medium in media]),
    )
    db.session.add(event)
    db.session.flush()
    keys = {medium: message_key(complaint.id, purpose, medium) for medium in media}
    sent_before = set(db.session.scalars(select(Delivery.key).where(
        Delivery.key.in_(keys.values()))))  # an earlier close of a reopened complaint
    db.session.execute(insert(Delivery), [{
        "created_at": now, "channel": medium, "purpose": purpose,
        "key": (message_key(complaint.id, purpose, medium, event.id)
                if keys[medium] in sent_before else keys[medium]),
        "complaint_id": complaint.id, "event_id": event.id, "address": addresses[medium],
        "locale": locale, "subject": text.subject, "body": text.body,
        "html": text.html if medium == EMAIL else None, "status": PENDING, "attempts": 0,
        "next_attempt_at": now,
    } for medium in media])
    return event


def on_registration(complaint: Complaint, policy: Policy, now: datetime
                    ) -> ComplaintEvent | None:
    """The acknowledgement: number, what happens next and the answer's deadline."""
    return _write(CUSTOMER_ACK, complaint, now,
                  lambda: answer_deadline(complaint.received_at, now, policy,
                                          business_calendar()))


def on_action(action: str, complaint: Complaint, now: datetime) -> ComplaintEvent | None:
    """The message this action sends the customer (the result, on close), if any."""
    purpose = after_action(action)
    if purpose is None:
        return None
    return _write(purpose, complaint, now, lambda: None)


# --- the timeline -------------------------------------------------------------------------


@dataclass(frozen=True)
class ShownDelivery:
    purpose: str
    channel: str
    address: str | None  # masked
    status: str
    attempts: int
    sent_at: datetime | None


def shown_deliveries(complaint_id: int) -> dict[int, tuple[ShownDelivery, ...]]:
    """{message event id: its deliveries}, addresses masked (one query)."""
    rows = db.session.execute(
        select(Delivery.event_id, Delivery.purpose, Delivery.channel, Delivery.address,
               Delivery.status, Delivery.attempts, Delivery.sent_at)
        .where(Delivery.complaint_id == complaint_id, Delivery.event_id.is_not(None))
        .order_by(Delivery.id)).all()
    out: dict[int, list[ShownDelivery]] = {}
    for event_id, purpose, channel, address, status, attempts, sent_at in rows:
        out.setdefault(event_id, []).append(ShownDelivery(
            purpose, channel, shown_address(purpose, channel, address), status, attempts, sent_at))
    return {event_id: tuple(items) for event_id, items in out.items()}
