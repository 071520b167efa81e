"""The customer file: linking on register and edit, the scoped page and lookup, the rate
limit, the migration that builds customers from existing complaints, repeat complainants."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select, text

from models import Complaint, Customer, db
from rules import Action, Status
from rules import customers as rule
from services import customers, notifications
from services.edits import edit
from tests.factories import T0, insert_complaint


def _customer(cid) -> Customer:
    return db.session.get(Complaint, cid).customer


def _count(model=Customer) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_registration_makes_and_reuses_the_customer(desk):
    first = desk.register(customer_phone="138 0013 8000", customer_name="张三")
    second = desk.register(customer_phone="+86 138-0013-8000", customer_name="张三丰",
                           customer_class="A")
    other = desk.register(customer_phone="13900000000")
    assert _customer(first).id == _customer(second).id != _customer(other).id
    customer = _customer(first)
    assert customer.key == "13800138000"
    # The latest registration gives the name, class and contact (stored normalised, issue 11).
    assert (customer.name, customer.customer_class, customer.phone) == (
        "张三丰", "A", "13800138000")
    assert _count() == 2


def test_email_only_customers_and_the_phone_wins(desk):
    a = desk.register(customer_phone="", customer_email="Li.Na@Example.com")
    b = desk.register(customer_phone="", customer_email=" li.na@example.COM")
    c = desk.register(customer_phone="13700000000", customer_email="li.na@example.com")
    assert _customer(a).key == "li.na@example.com"
    assert _customer(a).id == _customer(b).id != _customer(c).id
    assert _customer(c).key == "13700000000"


def test_a_failed_registration_leaves_no_customer(desk, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the outbox is down")

    monkeypatch.setattr(notifications, "write_for_registration", broken)
    with pytest.raises(RuntimeError):
        desk.register(customer_phone="13611112222")
    db.session.rollback()
    assert _count() == 0 and _count(Complaint) == 0


def test_edit_relinks_and_updates_the_customer(desk):
    cid = desk.register(customer_phone="13800138000", customer_name="张三")
    old = _customer(cid).id
    row = db.session.get(Complaint, cid)
    edit(cid, {"customer_name": "张三丰"}, desk.staff("intake"),
         expected_version=row.version)
    assert _customer(cid).id == old and _customer(cid).name == "张三丰"
    edit(cid, {"customer_phone": "13911112222"}, desk.staff("intake"),
         expected_version=db.session.get(Complaint, cid).version)
    assert _customer(cid).id != old and _customer(cid).key == "13911112222"
    assert db.session.get(Customer, old) is not None  # never deleted
    # A save that changes nothing writes nothing (the customer's time stays).
    before = _customer(cid).updated_at
    edit(cid, {"title": "冰箱不制冷"}, desk.staff("intake"),
         expected_version=db.session.get(Complaint, cid).version, now=T0 + timedelta(1))
    assert _customer(cid).updated_at == before


def _three_complaints(desk):
    """One customer: an open complaint in QA (handler_qa), a closed one in LOG, one just
    registered by intake."""
    in_qa = desk.bring_to(Status.IN_PROGRESS)
    in_log = desk.register()
    desk.act(in_log, Action.ACCEPT, "intake", category="service")
    desk.act(in_log, Action.FORWARD, "intake", department_id="@log")
    registered = desk.register(now=T0 + timedelta(hours=1))
    return in_qa, in_log, registered


@pytest.mark.parametrize("user, seen", [
    ("intake", {0, 1, 2}), ("supervisor", {0, 1, 2}), ("manager", {0, 1, 2}),
    ("admin", {0, 1, 2}), ("head_qa", {0}), ("handler_qa", {0}), ("head_log", {1}),
    ("handler_log", set()), ("handler_qa2", set()),
])
def test_customer_file_is_scoped(desk, user, seen):
    ids = _three_complaints(desk)
    customer_id = _customer(ids[0]).id
    actor = desk.staff(user).actor
    got = customers.customer_file(customer_id, actor)
    if not seen:
        assert got is None  # not found: they may see none of the customer's complaints
        assert customers.find(actor, "13800138000") is None
        return
    assert {c.id for c in got.complaints} == {ids[i] for i in seen}
    assert customers.find(actor, "+86 13800138000").id == customer_id


def test_customer_file_of_nobody(desk):
    actor = desk.staff("intake").actor
    assert customers.customer_file(999, actor) is None
    assert customers.customer_file("x", actor) is None
    assert customers.customer_file(2**70, actor) is None


def test_lookup_warns_of_open_complaints_in_scope(desk):
    in_qa, in_log, registered = _three_complaints(desk)
    now = T0 + timedelta(days=1)
    found = customers.lookup(desk.staff("intake").actor, "138-0013-8000", None, now)
    assert found.level == "warning" and found.message == rule.OPEN_WARNING
    assert {c.id for c in found.open} == {registered, in_log, in_qa}
    assert found.open[0].id == registered  # newest first
    head = customers.lookup(desk.staff("head_qa").actor, "13800138000", None, now)
    assert [c.id for c in head.open] == [in_qa]
    nobody = customers.lookup(desk.staff("handler_log").actor, "13800138000", None, now)
    assert (nobody.customer_id, nobody.open, nobody.level) == (None, [], None)
    short = customers.lookup(desk.staff("intake").actor, "1380", None, now)
    assert (short.customer_id, short.open) == (None, [])


def test_lookup_notes_recent_closed_complaints(desk):
    cid = desk.bring_to("closed_invalid")
    found = customers.lookup(desk.staff("intake").actor, "13800138000", None,
                             T0 + timedelta(days=10))
    assert (found.level, [c.id for c in found.recent], found.open) == ("info", [cid], [])
    later = customers.lookup(desk.staff("intake").actor, "13800138000", None,
                             T0 + timedelta(days=200))
    assert (later.level, later.recent) == (None, [])


def test_lookup_rate_limit_per_user(desk):
    intake, head = desk.org.users["intake"], desk.org.users["head_qa"]
    results = [customers.count_lookup(intake, T0) for _ in range(rule.LOOKUP_LIMIT + 2)]
    assert all(ok for ok, _ in results[:rule.LOOKUP_LIMIT])
    assert results[-1] == (False, 60)
    assert customers.count_lookup(head, T0) == (True, 0)  # per user
    assert customers.count_lookup(intake, T0 + rule.LOOKUP_WINDOW) == (True, 0)


def test_repeat_complainants_group_by_customer(desk):
    """The monthly workbook's repeat complainants: by customer; complaints without a
    customer (not linked) by their phone, as before the customer file."""
    from services.reports.figures import monthly_report
    from services.reports.report import month

    for day in (2, 3, 4):
        insert_complaint(received_at=datetime(2026, 11, day, 9), customer_phone="13900000001",
                         customer_phone_norm="13900000001")
    for day in (5, 6):
        insert_complaint(received_at=datetime(2026, 11, day, 9), customer_phone=None,
                         customer_phone_norm="anon-abcdefghijklmno", customer_id=None)
    insert_complaint(received_at=datetime(2026, 11, 7, 9), customer_phone="13900000002",
                     customer_phone_norm="13900000002")
    db.session.commit()
    report = monthly_report(month("2026-11"))
    assert [(r[0], r[2]) for r in report.repeat_complainants] == [
        ("13900000001", 3), ("anon-abcdefghijklmno", 2)]


def test_migration_builds_customers_from_existing_complaints(app, desk):
    """Complaints from before the customer file: the migration makes one customer per
    phone (else e-mail), with the latest complaint's name, and links every complaint."""
    rows = [("13800138000", None, "张三", datetime(2026, 11, 1)),
            ("+86 138 0013 8000", None, "张三丰", datetime(2026, 11, 3)),
            (None, "Li@Example.com", "李四", datetime(2026, 11, 2)),
            (None, "li@example.com", "李四", datetime(2026, 11, 4)),
            ("13900000000", "li@example.com", "王五", datetime(2026, 11, 5)),
            (None, None, "已匿名 / anonymised", datetime(2026, 11, 6))]
    for phone, email, name, received in rows:
        norm = rule.customer_key(phone, None) if phone else (
            "anon-abcdefghijklmno" if email is None else None)
        insert_complaint(customer_phone=phone, customer_phone_norm=norm, customer_email=email,
                         customer_name=name, received_at=received, customer_id=None)
    db.session.commit()
    try:
        downgrade(revision="2c3d4e5f6071")
        upgrade(revision="3d4e5f607182")
    finally:
        upgrade()
    db.session.remove()
    got = {c.key: c.name for c in db.session.scalars(select(Customer))}
    assert got == {"13800138000": "张三丰", "li@example.com": "李四", "13900000000": "王五"}
    links = db.session.execute(text(
        "SELECT customer_name, customer.key FROM complaint "
        "LEFT JOIN customer ON customer.id = complaint.customer_id "
        "ORDER BY received_at")).all()
    assert [k for _, k in links] == ["13800138000", "li@example.com", "13800138000",
                                     "li@example.com", "13900000000", None]


def test_retention_unlinks_and_forgets_the_customer(desk):
    """Anonymised complaints leave the customer file; a customer with no complaint left
    loses name, contact and key; the month's repeat figure stays the same."""
    from services import retention
    from services.reports.figures import monthly_report
    from services.reports.report import month

    old = dict(status=Status.CLOSED, closed_at=datetime(2022, 1, 20), customer_name="王小明",
               customer_phone="13911110001", customer_phone_norm="13911110001",
               customer_email="wang@example.com")
    a = insert_complaint(received_at=datetime(2022, 1, 10, 9), **old).id
    b = insert_complaint(received_at=datetime(2022, 1, 12, 9), **old).id
    kept = insert_complaint(received_at=datetime(2022, 1, 12, 9), status=Status.CLOSED,
                            closed_at=datetime(2022, 1, 20), customer_phone="13922220002",
                            customer_phone_norm="13922220002").id
    recent = insert_complaint(received_at=datetime(2026, 11, 2, 9),
                              customer_phone="13922220002",
                              customer_phone_norm="13922220002").id
    customer_id = db.session.get(Complaint, a).customer_id
    db.session.commit()
    before = monthly_report(month("2022-01")).repeat_complainants
    retention.run(apply=True, now=datetime(2026, 11, 30, 9))
    db.session.expire_all()
    assert [db.session.get(Complaint, i).customer_id for i in (a, b)] == [None, None]
    gone = db.session.get(Customer, customer_id)
    assert (gone.key, gone.name, gone.phone, gone.email) == (
        f"anon-{customer_id}", retention.MARK_NAME, None, None)
    # The other customer still has a complaint not due: kept as it is.
    assert db.session.get(Complaint, kept).customer_id is None
    assert db.session.get(Complaint, recent).customer.key == "13922220002"
    after = monthly_report(month("2022-01")).repeat_complainants
    assert [(r[2], r[3], r[4]) for r in after] == [(r[2], r[3], r[4]) for r in before]
    assert [r[2] for r in after] == [2] and after[0][0].startswith("anon-")
