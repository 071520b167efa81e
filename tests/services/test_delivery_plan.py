"""Planning: notifications become e-mail and robot deliveries by each person's choices (the
defaults without a saved choice), robot posts once per department and event, digests once
a day; batched (a fixed number of statements per batch), idempotent, safe when two
planners race."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from models import Delivery, Department, Notification, NotificationPreference, Staff, db
from rules import delivery as R
from services.delivery import plan, plan_digests
from tests.conftest import make_app
from tests.factories import T0, recorded_statements

T = T0 + timedelta(minutes=5)


@pytest.fixture
def app(db_url, smtp_server):
    """The test app, sending mail through the test's SMTP server."""
    yield from make_app(db_url, **{**smtp_server.config,
                      "NOTIFY_BASE_URL": "https://desk.example.test"})


def addresses(desk, **locales):
    """Every org user gets <username>@example.test; ``locales`` sets some Staff.locale."""
    for name, sid in desk.org.users.items():
        db.session.execute(update(Staff).where(Staff.id == sid).values(
            email=f"{name}@example.test", locale=locales.get(name)))
    db.session.commit()


def prefer(desk, username, *, email=None, robot=None, digest=False, sent_on=None):
    db.session.add(NotificationPreference(
        staff_id=desk.org.users[username],
        email_kinds=R.format_kinds(R.STAFF_KINDS if email is None else email),
        robot_kinds=R.format_kinds(robot or ()), digest=digest, digest_sent_on=sent_on))
    db.session.commit()


def robot(desk, code_id, kind="wecom", url="https://robot.example.test/send?key=k"):
    db.session.execute(update(Department).where(Department.id == code_id)
                       .values(robot_kind=kind, robot_url=url))
    db.session.commit()


def deliveries() -> list[Delivery]:
    db.session.expire_all()
    return list(db.session.scalars(select(Delivery).order_by(Delivery.id)))


def unplanned() -> int:
    return db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.planned_at.is_(None)))


def urged(desk, now=T0) -> int:
    """An in-progress complaint (QA, handler_qa) that the supervisor urges: head_qa and
    handler_qa are told of one event."""
    cid = desk.bring_to("in_progress", now=now)
    desk.act(cid, "urge", "supervisor", now, note="hurry up")
    return cid


def test_defaults_email_every_kind_to_the_staff_address(desk):
    addresses(desk, head_qa="zh_Hans_CN")
    cid = desk.bring_to("forwarded")
    note = db.session.scalar(select(Notification).where(Notification.kind == "forward"))
    done = plan(T)
    assert (done.notifications, done.deliveries) == (1, 1)
    [d] = deliveries()
    assert (d.channel, d.purpose, d.key) == ("email", "forward", f"n:{note.id}:email")
    assert (d.address, d.locale, d.recipient_id) == (
        "head_qa@example.test", "zh_Hans_CN", desk.org.users["head_qa"])
    assert (d.notification_id, d.complaint_id, d.event_id) == (note.id, cid, note.event_id)
    assert (d.status, d.attempts, d.next_attempt_at, d.created_at) == ("pending", 0, T, T)
    number = db.session.get(Notification, note.id).complaint.number
    assert number in d.subject and number in d.body and d.html
    assert f"https://desk.example.test/admin/complaint/details/?id={cid}" in d.body
    assert unplanned() == 0


def test_language_falls_back_to_the_server_default(desk):
    addresses(desk)
    desk.bring_to("forwarded")
    plan(T)
    assert [d.locale for d in deliveries()] == ["en"]


def test_nobody_without_an_address_gets_mail_but_the_notification_is_planned(desk):
    desk.bring_to("forwarded")  # the org users have no e-mail address
    assert plan(T).deliveries == 0
    assert deliveries() == [] and unplanned() == 0


def test_a_kind_left_out_is_not_mailed(desk):
    addresses(desk)
    prefer(desk, "head_qa", email=[k for k in R.STAFF_KINDS if k != "forward"])
    prefer(desk, "handler_qa", email=[])
    cid = desk.bring_to("in_progress")  # forward → head_qa, assign → handler_qa
    desk.act(cid, "urge", "supervisor", T0, note="hurry")
    plan(T)
    got = {(d.purpose, d.address) for d in deliveries()}
    assert got == {("urge", "head_qa@example.test")}


def test_inactive_recipient_gets_nothing(desk):
    addresses(desk)
    desk.bring_to("forwarded")
    db.session.execute(update(Staff).where(Staff.id == desk.org.users["head_qa"])
                       .values(active=False))
    db.session.commit()
    assert plan(T).notifications == 1
    assert deliveries() == []


def test_mail_off_plans_no_email(app, desk):
    addresses(desk)
    prefer(desk, "head_qa", robot=["forward"])
    robot(desk, desk.org.qa)
    app.config["MAIL_SERVER"] = None
    desk.bring_to("forwarded")
    plan(T)
    assert [d.channel for d in deliveries()] == ["wecom"]


def test_robot_post_once_per_department_and_event(desk):
    addresses(desk)
    robot(desk, desk.org.qa, kind="dingtalk")
    for name in ("head_qa", "handler_qa"):
        prefer(desk, name, email=[], robot=["urge"])
    cid = urged(desk)
    event = db.session.scalar(select(Notification.event_id).where(Notification.kind == "urge"))
    assert db.session.scalar(select(func.count()).select_from(Notification)
                             .where(Notification.kind == "urge")) == 2
    plan(T)
    [d] = deliveries()
    assert (d.channel, d.purpose, d.key) == ("dingtalk", "urge", f"r:{desk.org.qa}:{event}:urge")
    assert (d.department_id, d.recipient_id, d.address, d.complaint_id) == (
        desk.org.qa, None, None, cid)
    assert d.body and d.html is None


def test_robot_posts_of_one_event_across_batches_are_one(desk):
    addresses(desk)
    robot(desk, desk.org.qa)
    for name in ("head_qa", "handler_qa"):
        prefer(desk, name, email=[], robot=["urge"])
    urged(desk)
    done = plan(T, batch=1)
    assert done.notifications == 4  # forward, assign, 2 × urge, one per batch
    assert [d.purpose for d in deliveries()] == ["urge"]


def test_no_robot_when_the_department_has_none_or_nobody_wants_it(desk):
    addresses(desk)
    prefer(desk, "head_qa", email=[], robot=["urge"])  # QA has no robot
    robot(desk, desk.org.log)
    urged(desk)
    plan(T)
    assert [(d.channel, d.address) for d in deliveries()] == [
        ("email", "handler_qa@example.test"), ("email", "handler_qa@example.test")]


def test_planning_again_plans_nothing_and_a_racing_repeat_writes_no_duplicate(desk):
    addresses(desk)
    robot(desk, desk.org.qa)
    prefer(desk, "head_qa", robot=["urge"])
    urged(desk)
    first = plan(T)
    assert first.deliveries == 5  # e-mails: forward, assign, 2 × urge; one robot post
    before = [(d.key, d.id) for d in deliveries()]
    assert plan(T).notifications == 0
    # Another planner that read the same notifications before this one marked them:
    db.session.execute(update(Notification).values(planned_at=None))
    db.session.commit()
    again = plan(T)
    assert (again.notifications, again.deliveries) == (first.notifications, 0)
    assert [(d.key, d.id) for d in deliveries()] == before


def _bulk_notifications(desk, count, kind="urge"):
    cid = desk.bring_to("in_progress")
    people = list(desk.org.users.values())
    db.session.execute(
        Notification.__table__.insert(),
        [{"created_at": T0, "recipient_id": people[i % len(people)], "complaint_id": cid,
          "kind": kind, "key": f"bulk:{i}"} for i in range(count)])
    db.session.commit()
    return cid


def test_a_batch_costs_the_same_statements_whatever_its_size(app, desk):
    """No query per notification: recipients, preferences, departments in one query,
    complaints in one more, one INSERT, one UPDATE."""
    addresses(desk)
    robot(desk, desk.org.qa)
    prefer(desk, "head_qa", robot=["urge"])
    prefer(desk, "manager", digest=True)
    _bulk_notifications(desk, 400)
    db.session.execute(update(Notification).values(planned_at=T))  # the walk's own ones
    db.session.execute(update(Notification).where(Notification.key.like("bulk:%"))
                       .values(planned_at=None))
    db.session.commit()
    counts = []
    for size in (10, 200):
        with recorded_statements(app) as statements:
            done = plan(T, batch=size, limit=size)
        assert done.notifications == size
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 8, counts
    plan(T)
    assert unplanned() == 0
    # Every notification of a person with an address and e-mail on: one e-mail each.
    mailed = db.session.scalar(select(func.count()).select_from(Delivery)
                               .where(Delivery.channel == "email"))
    no_mail = {desk.org.users["manager"]}  # digest
    wanted = db.session.scalar(select(func.count()).select_from(Notification)
                               .where(Notification.key.like("bulk:%"),
                                      Notification.recipient_id.not_in(no_mail)))
    assert mailed == wanted
    # head_qa's robot posts: one per notification (bulk rows have keys, no event).
    assert db.session.scalar(select(func.count()).select_from(Delivery)
                             .where(Delivery.channel == "wecom")) == len(
        [i for i in range(400) if list(desk.org.users.values())[i % 9]
         == desk.org.users["head_qa"]])


def test_two_planners_at_once_plan_each_notification_once(app, desk):
    addresses(desk)
    _bulk_notifications(desk, 300)
    results, errors = [], []

    def planner():
        try:
            with app.app_context():
                results.append(plan(T, batch=7))
        except Exception as err:  # reported below: a thread's failure must fail the test
            errors.append(err)

    threads = [threading.Thread(target=planner) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    total = db.session.scalar(select(func.count()).select_from(Notification))
    assert sum(r.notifications for r in results) >= total  # a repeat is possible, not a gap
    assert unplanned() == 0
    keys = db.session.scalars(select(Delivery.key)).all()
    assert len(keys) == len(set(keys)) == total  # every org user has an address


# --- digest ---------------------------------------------------------------------------------


def test_digest_replaces_single_mails_and_goes_once_a_day_after_the_hour(desk, smtp_server):
    addresses(desk)
    prefer(desk, "head_qa", digest=True, email=[k for k in R.STAFF_KINDS if k != "assign"])
    cid = urged(desk, now=datetime(2026, 11, 22, 10, 0))  # Sunday: forward, assign, urge
    plan(datetime(2026, 11, 22, 10, 5))
    assert {d.address for d in deliveries()} == {"handler_qa@example.test"}
    assert plan_digests(datetime(2026, 11, 23, 7, 59)) == 0  # before the hour
    assert plan_digests(datetime(2026, 11, 23, 8, 0)) == 1
    digest = [d for d in deliveries() if d.purpose == "digest"]
    assert len(digest) == 1
    d = digest[0]
    assert (d.channel, d.key, d.address) == (
        "email", f"d:{desk.org.users['head_qa']}:2026-11-23", "head_qa@example.test")
    number = db.session.get(Notification, 1).complaint.number
    assert number in d.body and d.body.count(number) >= 2  # forward and urge
    assert db.session.get(NotificationPreference,
                          desk.org.users["head_qa"]).digest_sent_on == date(2026, 11, 23)
    assert plan_digests(datetime(2026, 11, 23, 18, 0)) == 0  # once a day
    # Next day: only what arrived since the last cut-off.
    desk.act(cid, "urge", "manager", datetime(2026, 11, 23, 12, 0), note="again")
    plan(datetime(2026, 11, 23, 12, 1))
    assert plan_digests(datetime(2026, 11, 24, 9, 0)) == 1
    second = [d for d in deliveries() if d.purpose == "digest"][1]
    assert second.body.count(number) < d.body.count(number)


def test_digest_leaves_out_what_went_by_its_own_mail_and_writes_none_when_empty(desk):
    addresses(desk)
    desk.bring_to("forwarded", now=datetime(2026, 11, 22, 10, 0))
    plan(datetime(2026, 11, 22, 10, 1))  # head_qa's forward went by its own e-mail
    prefer(desk, "head_qa", digest=True)
    assert plan_digests(datetime(2026, 11, 23, 9, 0)) == 0
    assert [d.purpose for d in deliveries()] == ["forward"]
    assert db.session.get(NotificationPreference,
                          desk.org.users["head_qa"]).digest_sent_on == date(2026, 11, 23)


def test_no_digest_while_mail_is_off(app, desk):
    addresses(desk)
    prefer(desk, "head_qa", digest=True)
    desk.bring_to("forwarded", now=datetime(2026, 11, 22, 10, 0))
    app.config["MAIL_SERVER"] = None
    assert plan_digests(datetime(2026, 11, 23, 9, 0)) == 0
    assert db.session.get(NotificationPreference,
                          desk.org.users["head_qa"]).digest_sent_on is None
