"""The customer file: linking complaints to customers, the customer page, the lookup.

``link`` runs inside the caller's write transaction (registration, edit), so a complaint
and its customer are written together or not at all. The reads take the actor and apply
the complaints' scope in SQL (``services.queries.scope_clause``): a customer none of whose
complaints the user may see does not exist for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import selectinload

from models import Complaint, Customer, db
from models.engine import write_transaction
from models.org import LoginAttempt
from rules import Actor, Role
from rules import customers as rule
from rules.bounds import MAX_ID

from .queries import scope_clause

# --- linking (inside the caller's transaction) ------------------------------------------


def _insert_ignoring_duplicates(model, values: dict) -> None:
    """INSERT the row unless a concurrent request already did (same unique ``key``)."""
    dialect = db.session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    stmt = module.insert(model).values(**values).on_conflict_do_nothing(
        index_elements=["key"])
    db.session.execute(stmt)


def link(complaint: Complaint, now: datetime) -> Customer | None:
    """Link the complaint to its customer (made if new), whose name, class and contact
    become the complaint's; no key (neither phone nor e-mail): no customer."""
    key = rule.customer_key(complaint.customer_phone, complaint.customer_email)
    if key is None:
        complaint.customer_id = None
        return None
    values = dict(name=complaint.customer_name, customer_class=complaint.customer_class,
                  phone=complaint.customer_phone, email=complaint.customer_email)
    # No autoflush: the complaint's own changes and its link are written in one UPDATE
    # (one new version), not two.
    with db.session.no_autoflush:
        customer = db.session.scalar(select(Customer).where(Customer.key == key))
        if customer is None:
            _insert_ignoring_duplicates(Customer, dict(key=key, created_at=now,
                                                       updated_at=now, **values))
            customer = db.session.scalar(select(Customer).where(Customer.key == key))
        else:
            for name, value in values.items():
                setattr(customer, name, value)
            customer.updated_at = now
    complaint.customer_id = customer.id
    return customer


def forget_unlinked(customer_ids, name: str, now: datetime) -> int:
    """Retention: of these customers, those no complaint links any more lose their name,
    contact and key (``anon-<id>``: no phone or e-mail key looks like it). The row stays."""
    ids = set(customer_ids)
    if not ids:
        return 0
    linked = set(db.session.scalars(
        select(Complaint.customer_id).where(Complaint.customer_id.in_(ids)).distinct()))
    gone = sorted(ids - linked)
    t = Customer.__table__
    if gone:
        db.session.execute(
            update(t).where(t.c.id == bindparam("row_id")).values(
                key=bindparam("new_key"), name=name, phone=None, email=None, updated_at=now),
            [{"row_id": pk, "new_key": f"anon-{pk}"} for pk in gone])
    return len(gone)


# --- the customer page ------------------------------------------------------------------


@dataclass
class CustomerFile:
    customer: Customer
    complaints: list[Complaint]  # those the actor may see, newest first, callbacks loaded


def _visible(actor: Actor, customer_id: int):
    return (select(Complaint)
            .where(Complaint.customer_id == customer_id, scope_clause(actor))
            .order_by(Complaint.received_at.desc(), Complaint.id.desc()))


def customer_file(customer_id, actor: Actor) -> CustomerFile | None:
    """The customer and every complaint of theirs the actor may see; None when there is no
    such customer or the actor may see none of their complaints (the same to them).

    Three queries whatever the number of complaints: the customer, the complaints (scoped),
    their callbacks."""
    pk = _pk(customer_id)
    if pk is None:
        return None
    customer = db.session.get(Customer, pk)
    if customer is None:
        return None
    complaints = list(db.session.scalars(
        _visible(actor, pk).options(selectinload(Complaint.callbacks))))
    if not complaints and actor.role not in Role.SEE_ALL:
        return None
    return CustomerFile(customer, complaints)


def _pk(value) -> int | None:
    try:
        pk = int(value)
    except (TypeError, ValueError):
        return None
    return pk if 1 <= pk <= MAX_ID else None


def find(actor: Actor, phone: str | None, email: str | None = None) -> Customer | None:
    """The customer with this phone (or e-mail) if the actor may see one of their
    complaints (anyone who sees every complaint: any customer)."""
    key = rule.lookup_key(phone, email)
    if key is None:
        return None
    customer = db.session.scalar(select(Customer).where(Customer.key == key))
    if customer is None or actor.role in Role.SEE_ALL:
        return customer
    seen = db.session.scalar(_visible(actor, customer.id).with_only_columns(Complaint.id)
                             .limit(1))
    return customer if seen is not None else None


# --- the registration form's lookup -----------------------------------------------------


@dataclass
class Lookup:
    customer_id: int | None = None
    open: list[Complaint] = None
    recent: list[Complaint] = None
    level: str | None = None
    message: str | None = None


def lookup(actor: Actor, phone: str | None, email: str | None, now: datetime) -> Lookup:
    """The customer's open and recent complaints the actor may see (two queries at most:
    the customer, their complaints in scope)."""
    key = rule.lookup_key(phone, email)
    if key is None:
        return Lookup(open=[], recent=[])
    customer_id = db.session.scalar(select(Customer.id).where(Customer.key == key))
    if customer_id is None:
        return Lookup(open=[], recent=[])
    rows = list(db.session.scalars(_visible(actor, customer_id)))
    if not rows:  # nothing they may see: no customer, as far as they know
        return Lookup(open=[], recent=[])
    by_id = {c.id: c for c in rows}
    open_, recent = rule.split_history(
        (rule.Seen(c.id, c.status, c.received_at) for c in rows), now)
    level, message = rule.lookup_message(len(open_), len(recent))
    return Lookup(customer_id, [by_id[s.id] for s in open_], [by_id[s.id] for s in recent],
                  level, message)


def count_lookup(staff_id: int, now: datetime) -> tuple[bool, int]:
    """Count one lookup of this user (the login throttle's table, key ``lookup:<id>``):
    (allowed, seconds to wait when refused). Its own short write transaction."""
    key = f"{rule.LOOKUP_PREFIX}{int(staff_id)}"
    with write_transaction(db.session):
        _insert_ignoring_duplicates(LoginAttempt, dict(key=key, failures=0))
        row = db.session.scalar(select(LoginAttempt).where(LoginAttempt.key == key)
                                .with_for_update())
        counter = rule.LookupCounter(row.failures or 0, row.last_failure_at)
        after, allowed = rule.count_lookup(counter, now)
        row.failures, row.last_failure_at = after.count, after.window_start
    return allowed, (0 if allowed else rule.retry_after(after, now))


def log_contact_search(actor: Actor, screen: str, phone: str | None,
                       email: str | None) -> None:
    """A role that sees contacts masked looked a customer up by phone or e-mail: one
    AdminEvent (``contact_searched``), the number or address in it masked."""
    from rules.admin_events import CONTACT_SEARCHED
    from rules.intake import mask_email, mask_phone
    from rules.privacy import may_see_contact

    from .admin_events import record_now

    key = rule.lookup_key(phone, email)
    if key is None or may_see_contact(actor.role):
        return
    shown = mask_email(key) if "@" in key else mask_phone(key)
    record_now(CONTACT_SEARCHED, actor_id=actor.id, detail=f"{screen}: {shown}")
