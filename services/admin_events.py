"""Writing the administrative record (AdminEvent): configuration changes and security events.

- :func:`record` adds the event to the current session: the caller's transaction commits
  it together with the change it records (or rolls both back).
- :func:`record_now` writes it in a transaction of its own (``write_transaction``), for a
  security event that happens outside any other write (a failed login). Inside another
  write transaction it is a savepoint of that transaction.

The client address defaults to the current request's. The actions are the constants of
``rules.admin_events``; ``detail`` must never hold a password or a hash (build it with
``rules.admin_events.describe_changes``, which leaves secret fields' values out).
"""

from __future__ import annotations

from datetime import datetime

from flask import has_request_context, request

from models import AdminEvent, db
from models.engine import write_transaction
from rules.admin_events import SETTING_CHANGED, TARGET_SETTING, cut, describe_changes

from . import clock


def _target(target) -> tuple[str | None, int | None, str | None]:
    if target is None:
        return None, None, None
    kind, pk, label = target
    return kind, pk, (str(label)[:200] if label is not None else None)


def _client_ip() -> str | None:
    if not has_request_context():
        return None
    return (request.remote_addr or None) and request.remote_addr[:45]


def record(action: str, *, actor_id: int | None = None, target=None, detail: str | None = None,
           ip: str | None = None, now: datetime | None = None) -> AdminEvent:
    """Add one AdminEvent to the session; the caller's transaction commits it.

    ``target`` is ``None`` or ``(type, id, label)`` (``rules.admin_events.TARGET_*``);
    ``actor_id`` None means the system or a visitor who is not logged in.
    """
    target_type, target_id, target_label = _target(target)
    event = AdminEvent(at=now or clock.now(), actor_id=actor_id, action=action,
                       target_type=target_type, target_id=target_id,
                       target_label=target_label, detail=cut(detail),
                       ip=(ip[:45] if ip else _client_ip()))
    db.session.add(event)
    return event


def record_now(action: str, *, actor_id: int | None = None, target=None,
               detail: str | None = None, ip: str | None = None,
               now: datetime | None = None) -> AdminEvent:
    """Write one AdminEvent in its own write transaction (committed on return)."""
    with write_transaction(db.session):
        event = record(action, actor_id=actor_id, target=target, detail=detail, ip=ip, now=now)
    return event


def setting_changed(key: str, before, after, *, actor_id: int | None) -> AdminEvent | None:
    """Record a company setting's change (inside the caller's transaction); None if equal."""
    if before == after:
        return None
    return record(SETTING_CHANGED, actor_id=actor_id, target=(TARGET_SETTING, None, key),
                  detail=describe_changes({key: (before, after)}))
