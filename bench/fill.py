"""Fast, deterministic bulk filler of complaints for benchmarks (not for tests, not for demos).

    python bench/fill.py --url sqlite:////tmp/x.sqlite --n 1000000 [--seed 1] [--open-only]
                         [--past-due 0.1] [--events] [--now 2026-11-23T09:00]

The database must already carry the schema (``flask init-db`` or this script's
``--init``). The rows bypass the services on purpose (speed): they are written with
batched Core inserts (SQLite) or COPY (PostgreSQL) in one transaction, with a realistic
spread over departments, statuses, due times, severities, channels and customer phones
(a third of the customers complain more than once); ids and numbers follow the time of
registration (all rows are generated in memory first: about 1.5 GB per million). Numbers
stay unique and the per-day counters are advanced, so registering through the services
afterwards continues the sequence. Past-due complaints are left unmarked
(``overdue_since`` NULL): the sweep's job. If the database has no departments yet, the
demo organisation is created (users of services.demo.USERS, password
services.demo.DEMO_PASSWORD) plus three more departments; otherwise the existing active
departments and their staff are used.

From Python: ``fill(engine_or_session, n, seed)`` returns a summary dict.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Boolean, DateTime, bindparam, create_engine, func, insert, select, text
from sqlalchemy.engine import Connection, Engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models import (  # noqa: E402
    Category,
    Complaint,
    ComplaintEvent,
    Department,
    NumberCounter,
    Staff,
)
from rules import Role  # noqa: E402
from rules.deadlines import PENDING_DEADLINE  # noqa: E402

# Statuses that wait on a deadline (the sweep's population) and the realistic mix of all.
DUE_STATUSES = {"registered": 10, "forwarded": 20, "in_progress": 45, "resolved": 10,
                "callback": 15}
ALL_STATUSES = {"registered": 3, "accepted": 2, "rejected": 5, "forwarded": 4,
                "in_progress": 12, "resolved": 3, "callback": 6, "closed": 65}

EXTRA_DEPARTMENTS = [("IT", "信息技术部"), ("HR", "人力资源部"), ("PR", "公共关系部")]
TITLES = [
    ("冰箱使用一周后不制冷", "客户反映新购冰箱使用一周后冷藏室不制冷。"),
    ("Kettle lid cracked after two days", "The lid of the electric kettle cracked."),
    ("快递延误五天未送达", "订单显示已发货五天，物流信息一直未更新。"),
    ("Parcel delivered to the wrong address", "Courier left the parcel next door."),
    ("门店店员态度恶劣", "客户在门店咨询时店员不耐烦，语气生硬。"),
    ("发票抬头开错", "客户收到的电子发票抬头与申请不一致。"),
    ("Charged twice for one order", "The card statement shows two charges."),
    ("包装破损导致商品划伤", "外箱破损，商品表面有明显划痕。"),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
CHANNELS = ["phone"] * 4 + ["hotline"] * 3 + ["email", "web", "web", "social", "walk_in",
                                              "letter", "transferred"]
SATISFACTION = ["very_satisfied", "satisfied", "satisfied", "satisfied", "average"]

COMPLAINT_COLUMNS = [
    "id", "number", "kind", "channel", "received_at", "registered_by_id", "customer_name",
    "customer_phone", "customer_phone_norm", "customer_email", "customer_class", "category_id",
    "severity", "title", "description", "demand", "validity", "validity_reason", "status",
    "department_id", "assignee_id", "escalation_level", "accept_due", "resolve_due",
    "callback_due", "due_at", "overdue_since", "was_overdue", "accepted_at", "rejected_at",
    "forwarded_at", "assigned_at", "resolved_at", "reviewed_at", "closed_at", "root_cause",
    "responsibility", "remedy", "compensation_amount", "resolution", "answered_on_the_spot",
    "reopen_count", "callbacks_required", "callbacks_reached", "last_satisfaction",
    "final_satisfaction", "extension_requested_until", "extension_reason",
    "extension_requested_by_id", "extension_count", "created_at", "updated_at", "version",
    "due_kind",
]
EVENT_COLUMNS = [
    "id", "complaint_id", "at", "actor_id", "action", "from_status", "to_status",
    "from_department_id", "to_department_id", "from_assignee_id", "to_assignee_id",
    "escalation_level", "note",
]
STEP_ACTION = {"registered": "register", "accepted": "accept", "rejected": "reject",
               "forwarded": "forward", "in_progress": "assign", "resolved": "resolve",
               "callback": "review_approve", "closed": "close"}


def _ensure_org(conn: Connection) -> None:
    if conn.scalar(select(func.count()).select_from(Department)):
        return
    from werkzeug.security import generate_password_hash

    from services.demo import DEMO_PASSWORD, DEPARTMENTS, USERS

    hashed = generate_password_hash(DEMO_PASSWORD)
    depts = [(code, name, is_cs) for code, name, is_cs in DEPARTMENTS]
    known = {code for code, _, _ in depts}
    extra = [(code, name) for code, name in EXTRA_DEPARTMENTS if code not in known]
    depts += [(code, name, False) for code, name in extra]
    conn.execute(insert(Department), [
        {"code": code, "name": name, "active": True, "is_customer_service": is_cs}
        for code, name, is_cs in depts
    ])
    ids = dict(conn.execute(select(Department.code, Department.id)).all())
    users = list(USERS)
    taken = {u[0] for u in users}
    for code, _ in extra:
        for name, label, role in ((f"head_{code.lower()}", f"Head {code}", Role.DEPT_HEAD),
                                  (f"handler_{code.lower()}", f"Handler {code}", Role.HANDLER)):
            if name not in taken:
                users.append((name, label, role, code))
    conn.execute(insert(Staff), [
        {"username": u, "full_name": full, "role": role, "department_id": ids[code],
         "active": True, "password_hash": hashed, "session_token": f"bench-{u}",
         "failed_logins": 0}
        for u, full, role, code in users
    ])


def _connection_of(target):
    """(connection, finish): a Connection in a transaction and how to end it."""
    if isinstance(target, Engine):
        conn = target.connect()
        trans = conn.begin()

        def finish(ok):
            (trans.commit if ok else trans.rollback)()
            conn.close()

        return conn, finish
    if isinstance(target, Connection):
        trans = None if target.in_transaction() else target.begin()

        def finish(ok):
            if trans is not None:
                (trans.commit if ok else trans.rollback)()

        return target, finish
    session = target  # a Session or a scoped_session

    def finish(ok):
        (session.commit if ok else session.rollback)()

    return session.connection(), finish


def fill(target, n: int, seed: int = 1, *, now: datetime | None = None,
         statuses: dict[str, int] | None = None, past_due: float = 0.1, events: bool = False,
         days: int = 365, batch: int = 20_000) -> dict:
    """Insert ``n`` complaints in one transaction; returns a summary of what was written.

    statuses: status -> weight (default ALL_STATUSES; DUE_STATUSES for open complaints that
    wait on a deadline). past_due: share of deadline-bound complaints whose deadline passed.
    events: also write a 'register' event and one event for the complaint's last step.
    The same (database state, n, seed, now, options) always writes the same rows.
    """
    now = (now or datetime(2026, 11, 23, 9, 0)).replace(microsecond=0)
    statuses = statuses or ALL_STATUSES
    rnd = random.Random(seed)
    conn, finish = _connection_of(target)
    ok = False
    try:
        _ensure_org(conn)
        summary = _fill(conn, n, rnd, now, statuses, past_due, events, days, batch)
        ok = True
    finally:
        finish(ok)
    return summary


def _fill(conn, n, rnd, now, statuses, past_due, events, days, batch):
    dialect = conn.dialect.name
    if dialect == "sqlite":  # the indexes of a million rows stay in memory while filling
        conn.exec_driver_sql("PRAGMA cache_size=-2000000")
    depts = [d for d in conn.execute(
        select(Department.id, Department.is_customer_service).where(Department.active.is_(True))
    ).all() if not d.is_customer_service]
    cs_staff = conn.scalars(select(Staff.id).where(Staff.role.in_(("intake", "manager")))).all()
    staff_rows = conn.execute(select(Staff.id, Staff.role, Staff.department_id)).all()
    handlers = {d.id: [s.id for s in staff_rows if s.department_id == d.id
                       and s.role in ("handler", "dept_head")] for d in depts}
    dept_ids = [d.id for d in depts if handlers[d.id]] or [d.id for d in depts]
    categories = dict(conn.execute(select(Category.id, Category.code)).all())
    cat_ids = sorted(categories) or [None]
    counters = dict(conn.execute(select(NumberCounter.day, NumberCounter.last)).all())
    next_id = (conn.scalar(select(func.max(Complaint.id))) or 0) + 1
    next_event = first_event = (conn.scalar(select(func.max(ComplaintEvent.id))) or 0) + 1
    registrar = cs_staff[0] if cs_staff else None

    names, weights = zip(*statuses.items(), strict=True)
    chosen = rnd.choices(names, weights=weights, k=n)
    phones = [f"1{rnd.choice('3456789')}{rnd.randrange(10**9):09d}"
              for _ in range(max(1, (2 * n) // 3))]
    written = Counter()
    overdue = 0
    generated = []
    for status in chosen:
        row, deadline_missed = _complaint(rnd, now, status, past_due, days, dept_ids, handlers,
                                          cat_ids, categories, phones, registrar)
        overdue += deadline_missed
        written[status] += 1
        generated.append(tuple(row[c] for c in COMPLAINT_COLUMNS))
    # Ids and numbers follow the registration time, as in a live system (this matters for
    # the page locality of anything that touches the oldest open complaints, like the sweep).
    received = COMPLAINT_COLUMNS.index("received_at")
    generated.sort(key=lambda values: values[received])
    day_count: Counter = Counter()
    for start in range(0, len(generated), batch):
        rows, event_rows = [], []
        for values in generated[start:start + batch]:
            row = dict(zip(COMPLAINT_COLUMNS, values, strict=True))
            day = row["received_at"].strftime("%Y%m%d")
            day_count[day] += 1
            row["id"] = next_id
            row["number"] = f"TS-{day}-{counters.get(day, 0) + day_count[day]:04d}"
            next_id += 1
            rows.append(row)
            if events:
                for ev in _events(row, registrar):
                    ev["id"] = next_event
                    next_event += 1
                    event_rows.append(ev)
        _write(conn, dialect, Complaint.__table__, COMPLAINT_COLUMNS, rows)
        _write(conn, dialect, ComplaintEvent.__table__, EVENT_COLUMNS, event_rows)
    _advance_counters(conn, counters, day_count)
    if dialect == "postgresql":
        for table in ("complaint", "complaint_event"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))
    return {"complaints": n, "by_status": dict(sorted(written.items())),
            "past_due_unmarked": overdue, "events": next_event - first_event}


def _complaint(rnd, now, status, past_due, days, dept_ids, handlers, cat_ids, categories,
               phones, registrar):
    h = timedelta(hours=1)
    cat = rnd.choice(cat_ids)
    kind = rnd.choices(("complaint", "consultation", "suggestion"), (85, 10, 5))[0]
    severity = rnd.choices(("normal", "major", "critical"), (85, 12, 3))[0]
    phone = rnd.choice(phones)
    title, description = rnd.choice(TITLES)
    required = 2 if kind == "complaint" and categories.get(cat) == "product_quality" else 1
    row = dict.fromkeys(COMPLAINT_COLUMNS)
    row.update(
        kind=kind, channel=rnd.choice(CHANNELS), registered_by_id=registrar,
        customer_name=rnd.choice(SURNAMES) + rnd.choice(GIVEN) + rnd.choice(GIVEN),
        customer_phone=f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}" if rnd.random() < 0.1
        else phone,
        customer_phone_norm=phone, customer_class=rnd.choice("AABBBCCCCD"), category_id=cat,
        severity=severity, title=title, description=description, validity="pending",
        status=status, escalation_level=2 if severity == "critical" else 0,
        was_overdue=False, answered_on_the_spot=False, reopen_count=0,
        callbacks_required=required, callbacks_reached=0, extension_count=0,
        customer_email=f"c{rnd.randrange(10**6)}@example.com" if rnd.random() < 0.3 else None,
    )
    missed = False
    if status in DUE_STATUSES:
        missed = rnd.random() < past_due
        # A missed deadline: 1 hour to 30 days ago; otherwise ahead, but never further than
        # the time allowed for the step (so that every step lies in the past).
        ahead = {"registered": 23 * 60, "forwarded": 8 * 24 * 60,
                 "in_progress": 8 * 24 * 60}.get(status, 6 * 24 * 60)
        due = (now - timedelta(minutes=rnd.randint(60, 30 * 24 * 60)) if missed
               else now + timedelta(minutes=rnd.randint(10, ahead)))
        due = due.replace(second=0)
        row["due_at"] = due
        # The clock due_at belongs to (rules.deadlines.PENDING_DEADLINE: the status's first).
        row["due_kind"] = PENDING_DEADLINE[status]
        if status == "registered":
            received = due - 24 * h
            row.update(accept_due=due)
        else:
            if status in ("forwarded", "in_progress"):
                forwarded = due - timedelta(days=9, hours=rnd.randint(0, 12))
                row.update(resolve_due=due)
            else:
                resolved = due - timedelta(days=7, hours=rnd.randint(0, 12))
                forwarded = resolved - timedelta(days=rnd.randint(1, 8))
                row.update(resolved_at=resolved, resolve_due=forwarded + timedelta(days=9),
                           callback_due=due, root_cause="batch defect",
                           responsibility="company", remedy="exchange",
                           resolution="replaced and apologised")
            received = forwarded - timedelta(hours=rnd.randint(2, 48))
            row.update(validity="valid", accepted_at=received + h, forwarded_at=forwarded,
                       department_id=rnd.choice(dept_ids))
            if status != "forwarded":
                row.update(assignee_id=rnd.choice(handlers[row["department_id"]] or [None]),
                           assigned_at=forwarded + 2 * h)
            if status == "callback":
                row.update(reviewed_at=row["resolved_at"] + 2 * h)
        row["accept_due"] = row["accept_due"] or received + 24 * h
    else:
        # A closed complaint went through every step (up to about 22 days) before now.
        low = 25 * 24 * 60 if status == "closed" else 60
        received = now - timedelta(minutes=rnd.randint(low, max(low, days * 24 * 60)))
        row["accept_due"] = received + 24 * h
        if status == "rejected":
            row.update(validity="invalid", validity_reason="duplicate", rejected_at=received + h)
        elif status == "accepted":
            row.update(validity="valid", accepted_at=received + h)
        elif status == "closed":
            _closed(rnd, row, received, dept_ids, handlers, required)
    row["received_at"] = received.replace(second=0)
    if severity != "critical" and rnd.random() < 0.05:
        row["escalation_level"] = 1
    steps = [v for v in (row["accepted_at"], row["rejected_at"], row["forwarded_at"],
                         row["assigned_at"], row["resolved_at"], row["reviewed_at"],
                         row["closed_at"]) if v]
    row.update(created_at=row["received_at"], updated_at=max(steps, default=row["received_at"]),
               version=1 + len(steps))
    return row, missed


def _closed(rnd, row, received, dept_ids, handlers, required):
    h = timedelta(hours=1)
    on_the_spot = row["kind"] == "consultation" and rnd.random() < 0.6
    if on_the_spot:
        resolved = received + h
        row.update(answered_on_the_spot=True)
    else:
        forwarded = received + timedelta(hours=rnd.randint(2, 30))
        dept = rnd.choice(dept_ids)
        resolved = forwarded + timedelta(hours=rnd.randint(20, 300))
        row.update(department_id=dept, forwarded_at=forwarded,
                   assignee_id=rnd.choice(handlers[dept] or [None]),
                   assigned_at=forwarded + 2 * h, resolve_due=forwarded + timedelta(days=9),
                   root_cause="batch defect", responsibility="company",
                   remedy=rnd.choice(("exchange", "repair", "explanation")))
        row["was_overdue"] = resolved > row["resolve_due"]
    satisfaction = rnd.choice(SATISFACTION[:4])
    closed = resolved + timedelta(hours=rnd.randint(24, 200))
    row.update(validity="valid", accepted_at=received + h, resolved_at=resolved,
               resolution="resolved", reviewed_at=resolved + 2 * h,
               callback_due=resolved + timedelta(days=7), callbacks_reached=required,
               last_satisfaction=satisfaction, final_satisfaction=satisfaction, closed_at=closed)


def _events(row, registrar):
    first = {c: None for c in EVENT_COLUMNS}
    first.update(complaint_id=row["id"], at=row["received_at"], actor_id=registrar,
                 action="register", to_status="registered",
                 escalation_level=row["escalation_level"])
    if row["status"] == "registered":
        return [first]
    last = dict(first)
    last.update(at=row["updated_at"], action=STEP_ACTION[row["status"]], actor_id=None,
                from_status="registered", to_status=row["status"],
                to_department_id=row["department_id"], to_assignee_id=row["assignee_id"])
    return [first, last]


def _write(conn, dialect, table, columns, rows):
    if not rows:
        return
    if dialect == "postgresql":
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row[c] for c in columns])
        return
    # SQLite: plain tuples through the driver, with the values already in the storage format
    # of SQLAlchemy's SQLite DateTime ("YYYY-MM-DD HH:MM:SS.ffffff"), so comparisons with the
    # services' bound datetimes stay exact; several times faster than per-value processors.
    sql = (f"INSERT INTO {table.name} ({', '.join(columns)}) "
           f"VALUES ({', '.join('?' * len(columns))})")
    stamps = [c for c in columns if isinstance(table.c[c].type, DateTime)]
    flags = [c for c in columns if isinstance(table.c[c].type, Boolean)]
    tuples = []
    for row in rows:
        for c in stamps:
            if row[c] is not None:
                row[c] = row[c].isoformat(" ", "microseconds")
        for c in flags:
            if row[c] is not None:
                row[c] = int(row[c])
        tuples.append(tuple(row[c] for c in columns))
    conn.exec_driver_sql(sql, tuples)


def _advance_counters(conn, counters, day_count):
    table = NumberCounter.__table__
    new = [{"day": d, "last": counters.get(d, 0) + k} for d, k in day_count.items()]
    for chunk in range(0, len(new), 500):
        part = new[chunk:chunk + 500]
        known = [r for r in part if r["day"] in counters]
        if known:
            stmt = table.update().where(table.c.day == bindparam("b_day"))
            conn.execute(stmt.values(last=bindparam("b_last")),
                         [{"b_day": r["day"], "b_last": r["last"]} for r in known])
        fresh = [r for r in part if r["day"] not in counters]
        if fresh:
            conn.execute(insert(table), fresh)


def _init_schema(url: str) -> None:
    from flask_migrate import upgrade

    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        upgrade()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--now", type=datetime.fromisoformat, default=None,
                        help="the 'now' the due times are spread around (default 2026-11-23 09:00)")
    parser.add_argument("--open-only", action="store_true",
                        help="only open complaints waiting on a deadline (the sweep's population)")
    parser.add_argument("--past-due", type=float, default=0.1)
    parser.add_argument("--events", action="store_true", help="also write two events each")
    parser.add_argument("--init", action="store_true", help="run the migrations first")
    args = parser.parse_args(argv)
    if args.init:
        _init_schema(args.url)
    engine = create_engine(args.url)
    if engine.dialect.name == "sqlite":
        from sqlalchemy import event

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")
            dbapi_connection.execute("PRAGMA foreign_keys=ON")

    started = time.perf_counter()
    summary = fill(engine, args.n, args.seed, now=args.now,
                   statuses=DUE_STATUSES if args.open_only else None, past_due=args.past_due,
                   events=args.events)
    print(f"filled in {time.perf_counter() - started:.1f} s: {summary}")


if __name__ == "__main__":
    main()
