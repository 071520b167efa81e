"""The sweep's SQL building blocks: its batch table, who answers for a complaint's current
deadline, who owns it at an escalation level, and the set-based notification inserts.

Each function here is the SQL twin of a rule, for statements over many complaints at once
(services.sweep, services.due_soon): ``responsible`` of ``rules.deadlines.RESPONSIBLE``,
``owner_role_clause`` of ``rules.escalation.owner_role``, ``due_soon_key_clause`` of
``rules.notify.due_soon_key`` (tests prove each pair agrees).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import (
    Integer,
    String,
    and_,
    case,
    cast,
    column,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    table,
    text,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite

from models import Department, Notification, Staff, db
from rules import Role, Status
from rules.deadlines import RESPONSIBLE
from rules.notify import DUE_SOON, ESCALATED

SWEEP_LOCK_KEY = 0x436F6D70  # "Comp": the advisory lock id of the sweep
# The candidates of a batch (ids read before it, in id order), checked again in the batch.
IDS = table("sweep_ids", column("id", Integer))
# The batch: the complaints' ids; the sweep also keeps, per complaint, who answers for its
# missed clock (``responsible``, ``_answering``) and its new event, computed once per batch
# so that the notification statements read them instead of re-deriving them per recipient.
BATCH = table("sweep_batch", column("id", Integer), column("department", Integer),
              column("person", Integer), column("who", Integer), column("no_head", Integer),
              column("event_id", Integer), column("level", Integer))


def postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def begin_batch() -> None:
    """Inside a write transaction: take the sweep's turn (PostgreSQL's advisory lock) and
    empty the per-connection batch table (no list of bound ids: SQLite builds cap the
    number of variables of a statement, psycopg at 65,535)."""
    if postgres():
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SWEEP_LOCK_KEY})
    db.session.execute(text(
        "CREATE TEMPORARY TABLE IF NOT EXISTS sweep_batch (id INTEGER PRIMARY KEY, "
        "department INTEGER, person INTEGER, who INTEGER, no_head INTEGER, event_id INTEGER, "
        "level INTEGER)"))
    db.session.execute(BATCH.delete())
    db.session.execute(text(
        "CREATE TEMPORARY TABLE IF NOT EXISTS sweep_ids (id INTEGER PRIMARY KEY)"))
    db.session.execute(IDS.delete())


def chosen(c):
    """The complaints of the current batch."""
    return c.c.id.in_(select(BATCH.c.id))


def responsible(c):
    """(department, person) answering for the current clock (rules.deadlines.RESPONSIBLE).

    Customer service's clocks → the customer-service department; the resolve clock → the
    complaint's department and its assignee, else its head; the extension decision → the
    department's head.
    """
    d = Department.__table__
    cs_dept = (select(func.min(d.c.id)).where(d.c.is_customer_service.is_(True))
               .scalar_subquery())
    # correlate_except: tied to the enclosing complaint row at any depth of nesting.
    head = (select(d.c.head_id).where(d.c.id == c.c.department_id).correlate_except(d)
            .scalar_subquery())
    by = {kind: [k for k, v in RESPONSIBLE.items() if v == kind]
          for kind in set(RESPONSIBLE.values())}
    department = case((c.c.due_kind.in_(by["customer_service"]), cs_dept),
                      else_=c.c.department_id)
    person = case((c.c.due_kind.in_(by["assignee"]), func.coalesce(c.c.assignee_id, head)),
                  (c.c.due_kind.in_(by["department_head"]), head),
                  else_=null())
    return department, person


def owner_role_clause(level, department_id, status):
    """SQL twin of ``rules.escalation.owner_role``: the role owning a complaint at ``level``
    (NULL at level 0: its normal queue)."""
    with_department = and_(department_id.is_not(None),
                           or_(status.is_(None), status.in_(Status.IN_DEPARTMENT)))
    return case(
        (level <= 0, null()),
        (level == 1, case((with_department, literal(Role.DEPT_HEAD)),
                          else_=literal(Role.MANAGER))),
        (level == 2, literal(Role.MANAGER)),
        else_=literal(Role.EXECUTIVE),
    )


def due_soon_key_clause(c, recipient):
    """SQL twin of ``rules.notify.due_soon_key``: ``due_soon:<id>:<clock>:<due iso>:<person>``."""
    if postgres():
        iso = func.to_char(c.c.due_at, 'YYYY-MM-DD"T"HH24:MI:SS')
    else:
        iso = func.strftime("%Y-%m-%dT%H:%M:%S", c.c.due_at)
    return (literal(f"{DUE_SOON}:") + cast(c.c.id, String) + literal(":")
            + func.coalesce(c.c.due_kind, literal("")) + literal(":") + iso + literal(":")
            + cast(recipient, String))


def _insert(keyed: bool):
    n = Notification.__table__
    if not keyed:
        return insert(n)
    dialect = postgresql if postgres() else sqlite
    return dialect.insert(n).on_conflict_do_nothing(index_elements=["key"])


def _write(rows, keyed: bool) -> int:
    """INSERT … SELECT of (created_at, recipient_id, complaint_id, kind, event_id[, key])."""
    columns = ["created_at", "recipient_id", "complaint_id", "kind", "event_id"]
    if keyed:
        columns.append("key")
    statement = (_insert(keyed).from_select(columns, rows)
                 .execution_options(preserve_rowcount=True))  # (INSERT: kept on request)
    return db.session.execute(statement).rowcount


def _answering(department, person):
    """(who, no_head): the person answering for the clock (the assignee, else the head of
    record, for the department's clocks; else the responsible department's head of
    record) while active, and whether that department has no active department head."""
    d, s = Department.__table__, Staff.__table__
    head = select(d.c.head_id).where(d.c.id == department).correlate_except(d).scalar_subquery()
    h = s.alias("any_head")
    no_head = ~select(h.c.id).where(h.c.role == Role.DEPT_HEAD, h.c.active.is_(True),
                                    h.c.department_id == department).exists()
    # Only someone still active is told: a departed assignee or head of record leaves it
    # to the department's active heads (then the managers).
    a = s.alias("answering")
    # Correlated to the statement's own complaint row (every table but ``answering`` is
    # the enclosing statement's: without this, the nested head look-up would not be).
    who = (select(a.c.id).where(a.c.id == func.coalesce(person, head), a.c.active.is_(True))
           .correlate_except(a).scalar_subquery())
    return who, no_head


def answering(department, person):
    """(who, no_head) as plain values for a SELECT list: the person answering (or NULL)
    and 1 when the department has no active department head, else 0 (stored in the
    batch table by the sweep, then passed as ``answered=`` below)."""
    who, no_head = _answering(department, person)
    return who, case((no_head, 1), else_=0)


def _answered(department, person, answered):
    if answered is None:
        return _answering(department, person)
    who, no_head = answered
    return who, no_head == 1


def told_responsible(staff, department, person, answered=None):
    """Whether the active member of staff ``staff`` (a staff table or alias) is one of
    those :func:`tell_responsible` tells: the same three cases, as a condition.
    ``answered``: (who, no_head) columns already computed (:func:`answering`)."""
    who, no_head = _answered(department, person, answered)
    return or_(and_(who.is_not(None), staff.c.id == who),
               and_(who.is_(None), staff.c.role == Role.DEPT_HEAD,
                    staff.c.department_id == department),
               and_(who.is_(None), no_head, staff.c.role == Role.MANAGER))


def tell_responsible(c, source, where, department, person, kind: str, now: datetime, *,
                     event_id=None, key: Callable | None = None, answered=None) -> int:
    """One ``kind`` notification per complaint of ``source`` matching ``where``, to whoever
    answers for its clock; set-based (three INSERT … SELECT); how many rows were written.

    To the person (the assignee, else the head of record, for the department's clocks),
    else the head of record of the responsible department, else its active department
    heads, else (customer service's clocks, no head) every active customer-service
    manager. ``event_id`` names the event told of; ``key(recipient)`` gives each row its
    dedupe key (inserted ON CONFLICT DO NOTHING: never twice); ``answered``: (who,
    no_head) columns already computed (:func:`answering`).
    """
    s = Staff.__table__
    who, no_head = _answered(department, person, answered)
    event = event_id if event_id is not None else null()

    def values(recipient):
        cols = [literal(now), recipient, c.c.id, literal(kind), event]
        return cols + [key(recipient)] if key is not None else cols

    heads = and_(s.c.role == Role.DEPT_HEAD, s.c.active.is_(True),
                 s.c.department_id == department)
    managers = and_(s.c.role == Role.MANAGER, s.c.active.is_(True))
    keyed = key is not None
    return (
        _write(select(*values(who)).select_from(source).where(where, who.is_not(None)), keyed)
        + _write(select(*values(s.c.id)).select_from(source.join(s, heads))
                 .where(where, who.is_(None)), keyed)
        + _write(select(*values(s.c.id)).select_from(source.join(s, managers))
                 .where(where, who.is_(None), no_head), keyed)
    )


def tell_owner(c, source, where, level, event_id, now: datetime, *,
               told=None) -> int:
    """One ``escalated`` notification per complaint of ``source`` matching ``where``, to its
    owner at ``level`` (rules.escalation.owner_role): the department's head of record
    (active), else its active department heads; the active managers; the active senior
    managers. Set-based (four INSERT … SELECT); how many rows were written.

    ``told(staff)``: a condition on a staff row, true for whoever was told of the same
    event already (the sweep: ``told_responsible``, those told ``overdue``): not told
    twice. A condition, not a look-up of the notifications just written, so the plan
    never depends on the statistics of a table the same transaction filled.
    """
    d, s = Department.__table__, Staff.__table__
    owner = owner_role_clause(level, c.c.department_id, c.c.status)
    hs = s.alias("head_of_record")
    head = (select(hs.c.id).join(d, d.c.head_id == hs.c.id)
            .where(d.c.id == c.c.department_id, hs.c.active.is_(True)).scalar_subquery())

    def untold(staff):
        return true() if told is None else ~told(staff)

    def values(recipient):
        return select(literal(now), recipient, c.c.id, literal(ESCALATED), event_id)

    # (An alias: the department table of the subqueries must not correlate to this one.)
    dr = d.alias("department_of_record")
    with_head = source.join(dr, dr.c.id == c.c.department_id).join(
        hs, and_(hs.c.id == dr.c.head_id, hs.c.active.is_(True)))
    written = _write(values(hs.c.id).select_from(with_head)
                     .where(where, owner == Role.DEPT_HEAD, untold(hs)), False)
    heads = and_(s.c.role == Role.DEPT_HEAD, s.c.active.is_(True),
                 s.c.department_id == c.c.department_id)
    written += _write(values(s.c.id).select_from(source.join(s, heads)).where(
        where, owner == Role.DEPT_HEAD, head.is_(None), untold(s)), False)
    for role in (Role.MANAGER, Role.EXECUTIVE):
        people = and_(s.c.role == role, s.c.active.is_(True))
        written += _write(values(s.c.id).select_from(source.join(s, people)).where(
            where, owner == role, untold(s)), False)
    return written
