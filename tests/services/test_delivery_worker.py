"""The worker against a real SMTP server and a real webhook server: sends once, retries
while the server is down and drains when it is back, fails a refused address at once and a
message after its last try, never lets two workers send one message, never raises for a
failing sender, and gives back what its lease cannot cover."""

from __future__ import annotations

import smtplib
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from models import Complaint, Delivery, Department, NotificationPreference, Staff, db
from rules import delivery as R
from rules.delivery import UNREACHABLE_WAIT
from services.delivery import run_pass, senders, worker
from services.delivery.errors import Transient
from services.delivery.plan import delivery_row, insert_deliveries
from services.delivery.render import Rendered
from tests.conftest import make_app
from tests.factories import T0

T = T0 + timedelta(minutes=5)


@pytest.fixture
def app(db_url, smtp_server):
    yield from make_app(db_url, **smtp_server.config)


def addresses(desk):
    for name, sid in desk.org.users.items():
        db.session.execute(update(Staff).where(Staff.id == sid)
                           .values(email=f"{name}@example.test"))
    db.session.commit()


def queue(count: int, *, at=T0, channel="email", department_id=None, prefix="t") -> list[str]:
    """``count`` pending e-mails (or robot posts) due at ``at``; their keys."""
    rows = [delivery_row(at, channel=channel, purpose="urge", key=f"{prefix}:{i}",
                         rendered=Rendered(f"Subject {i}", f"Body {i}", None),
                         address=f"person{i}@example.test" if channel == "email" else None,
                         department_id=department_id, locale="en")
            for i in range(count)]
    assert insert_deliveries(rows) == count
    db.session.commit()
    return [r["key"] for r in rows]


def rows() -> dict[str, Delivery]:
    db.session.expire_all()
    return {d.key: d for d in db.session.scalars(select(Delivery))}


def received_keys(smtp_server) -> list[str]:
    """The key in each received Message-ID (``<n.7.email@domain>`` → ``n.7.email``)."""
    return [mid.strip("<>").split("@")[0] for mid in smtp_server.message_ids()]


def test_an_action_reaches_the_mail_server_once(desk, smtp_server):
    addresses(desk)
    cid = desk.bring_to("forwarded")
    result = run_pass(now=T)
    assert (result.planned, result.deliveries, result.claimed, result.sent) == (1, 1, 1, 1)
    [m] = smtp_server.messages
    assert m.rcpt_tos == ["head_qa@example.test"]
    number = db.session.get(Complaint, cid).number
    assert number in m.message["Subject"]
    [d] = rows().values()
    assert m.message["Message-ID"].startswith(f"<n.{d.notification_id}.email@")
    assert (d.status, d.attempts, d.sent_at, d.lease_until, d.leased_by) == (
        "sent", 1, T, None, None)
    again = run_pass(now=T + timedelta(hours=1))
    assert (again.claimed, again.sent) == (0, 0)
    assert len(smtp_server.messages) == 1


def test_nothing_is_due_before_its_time(desk, smtp_server):
    queue(2, at=T + timedelta(minutes=1))
    assert run_pass(now=T).claimed == 0
    assert run_pass(now=T + timedelta(minutes=1)).sent == 2


def test_server_down_waits_nothing_lost_drains_once_when_back(desk, smtp_server):
    """A stopped mail server: the first message finds it unreachable, the batch waits
    UNREACHABLE_WAIT without using up tries, and everything goes once it is back."""
    keys = queue(5)
    smtp_server.stop()
    first = run_pass(now=T)
    assert (first.claimed, first.waiting, first.sent, first.failed) == (5, 5, 0, 0)
    wait = T + UNREACHABLE_WAIT
    for d in rows().values():
        assert (d.status, d.attempts, d.next_attempt_at) == ("pending", 0, wait)
        assert "unreachable" in d.last_error and (d.lease_until, d.leased_by) == (None, None)
    assert run_pass(now=wait - timedelta(seconds=1)).claimed == 0  # waiting
    # A whole weekend down: a pass every 5 minutes, no message ever fails or is sent.
    at = wait
    for _ in range(2 * 24 * 12):
        assert run_pass(now=at).waiting == 5
        at += UNREACHABLE_WAIT
    assert {(d.status, d.attempts) for d in rows().values()} == {("pending", 0)}
    smtp_server.start()
    back = run_pass(now=at)
    assert back.sent == 5
    assert sorted(received_keys(smtp_server)) == sorted(k.replace(":", ".") for k in keys)
    assert {(d.status, d.attempts, d.last_error) for d in rows().values()} == {("sent", 1, None)}
    assert run_pass(now=at + timedelta(days=1)).claimed == 0
    assert len(smtp_server.messages) == 5


def test_transient_answers_back_off_and_count(desk, smtp_server, monkeypatch):
    """A server that answers but refuses for now (4xx): each try counts, with the backoff."""
    queue(2)

    def busy(*args, **kwargs):
        raise Transient("SMTP 451: try again later")

    monkeypatch.setattr(senders, "send", busy)
    first = run_pass(now=T)
    assert (first.retrying, first.waiting) == (2, 0)
    assert {(d.attempts, d.next_attempt_at) for d in rows().values()} == {
        (1, T + timedelta(minutes=1))}
    assert run_pass(now=T + timedelta(minutes=1)).retrying == 2
    assert {(d.attempts, d.next_attempt_at) for d in rows().values()} == {
        (2, T + timedelta(minutes=6))}
    monkeypatch.undo()
    assert run_pass(now=T + timedelta(minutes=6)).sent == 2
    assert len(smtp_server.messages) == 2


def test_refused_address_fails_at_once_and_leaves_the_action_alone(desk, smtp_server):
    addresses(desk)
    smtp_server.refuse.add("head_qa@example.test")
    cid = desk.bring_to("in_progress")  # forward → head_qa (refused), assign → handler_qa
    before = desk.row(cid)
    result = run_pass(now=T)
    assert (result.sent, result.failed, result.retrying) == (1, 1, 0)
    by_address = {d.address: d for d in rows().values()}
    bad = by_address["head_qa@example.test"]
    assert (bad.status, bad.attempts) == ("failed", 1)
    assert "550" in bad.last_error and "head_qa@example.test" not in bad.last_error  # masked
    assert by_address["handler_qa@example.test"].status == "sent"
    assert desk.row(cid) == before  # the complaint is as the action left it
    assert run_pass(now=T + timedelta(days=1)).claimed == 0  # never tried again


def test_after_the_last_try_the_message_is_failed(app, desk, smtp_server, monkeypatch):
    app.config["NOTIFY_MAX_ATTEMPTS"] = 3
    queue(1)

    def busy(*args, **kwargs):
        raise Transient("SMTP 451: try again later")

    monkeypatch.setattr(senders, "send", busy)
    at = T
    verdicts = []
    for _ in range(3):
        result = run_pass(now=at)
        verdicts.append((result.retrying, result.failed))
        [d] = rows().values()
        if d.status == "pending":
            at = d.next_attempt_at
    assert verdicts == [(1, 0), (1, 0), (0, 1)]
    [d] = rows().values()
    assert (d.status, d.attempts, d.lease_until) == ("failed", 3, None)
    assert "SMTP" in d.last_error
    assert run_pass(now=at + timedelta(days=1)).claimed == 0


def test_a_failing_sender_never_stops_the_pass(desk, smtp_server, monkeypatch):
    keys = queue(3)
    real = worker.senders.send

    def buggy(delivery, department=None, **kw):
        if delivery.key == keys[1]:
            raise RuntimeError("a bug in a sender")
        return real(delivery, department, **kw)

    monkeypatch.setattr(worker.senders, "send", buggy)
    result = run_pass(now=T)
    assert (result.sent, result.retrying) == (2, 1)
    assert result.errors and "a bug in a sender" in result.errors[0]
    bug = rows()[keys[1]]
    assert (bug.status, bug.last_error) == ("pending", "RuntimeError: a bug in a sender")


def test_robot_post_carries_the_key_and_reaches_the_department_robot(desk, webhook_server):
    db.session.execute(update(Department).where(Department.id == desk.org.qa)
                       .values(robot_kind="wecom", robot_url=webhook_server.url("/qa")))
    db.session.add(NotificationPreference(staff_id=desk.org.users["head_qa"], email_kinds="",
                                          robot_kinds="forward"))
    db.session.commit()
    desk.bring_to("forwarded")
    result = run_pass(now=T)
    assert result.sent == 1
    [req] = webhook_server.requests
    [d] = rows().values()
    assert req.path == "/qa" and req.headers["X-Request-Id"] == d.key
    assert req.json()["msgtype"] == "text" and d.channel == "wecom"


def test_robot_answering_500_is_retried(desk, webhook_server):
    db.session.execute(update(Department).where(Department.id == desk.org.qa)
                       .values(robot_kind="dingtalk", robot_url=webhook_server.url()))
    db.session.commit()
    [key] = queue(1, channel="dingtalk", department_id=desk.org.qa)
    webhook_server.status = 503
    assert run_pass(now=T).retrying == 1
    webhook_server.status = 200
    assert run_pass(now=T + timedelta(minutes=1)).sent == 1
    assert [r.headers["X-Request-Id"] for r in webhook_server.requests] == [key, key]


# --- leases -----------------------------------------------------------------------------


def test_a_leased_message_is_nobody_elses_until_the_lease_runs_out(app, desk, smtp_server):
    [key] = queue(1)
    [(claimed, _)] = worker._claim(T, "w1", 10)
    assert claimed.key == key and claimed.attempts == 1
    assert worker._claim(T + timedelta(seconds=299), "w2", 10) == []
    lease = app.config["NOTIFY_LEASE_SECONDS"]
    [(again, _)] = worker._claim(T + timedelta(seconds=lease), "w2", 10)
    assert again.attempts == 2
    # The first worker's late mark is refused: the second one holds the message now.
    assert worker._mark_sent(claimed.id, "w1", T) is False
    assert worker._mark_failure(claimed, "w1", T, "late", False) is None
    assert rows()[key].leased_by == "w2"
    assert worker._mark_sent(again.id, "w2", T) is True
    assert rows()[key].status == "sent"
    assert worker._mark_sent(again.id, "w2", T) is False  # once


def test_a_worker_gives_back_what_its_lease_cannot_cover(desk, smtp_server, monkeypatch):
    queue(3)
    monkeypatch.setattr(worker, "_safety_margin", lambda lease: lease + 1)  # already late
    result = run_pass(now=T)
    assert (result.claimed, result.released, result.sent) == (3, 3, 0)
    assert {(d.status, d.attempts, d.leased_by) for d in rows().values()} == {
        ("pending", 0, None)}
    monkeypatch.undo()
    assert run_pass(now=T).sent == 3


def test_one_smtp_connection_serves_a_batch(app, desk, smtp_server, monkeypatch):
    app.config["NOTIFY_BATCH"] = 10
    opened = []
    real = smtplib.SMTP.connect

    def connect(self, *args, **kwargs):
        opened.append(args)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "connect", connect)
    queue(25)
    assert run_pass(now=T).sent == 25
    assert len(opened) == 3  # batches of 10, 10 and 5
    assert len(smtp_server.messages) == 25


def test_claims_take_the_oldest_due_first_and_respect_the_limit(desk, smtp_server):
    queue(3, at=T0, prefix="old")
    queue(3, at=T0 - timedelta(hours=1), prefix="older")
    result = run_pass(now=T, limit=4)
    assert (result.claimed, result.sent) == (4, 4)
    assert sorted(received_keys(smtp_server)) == ["old.0", "older.0", "older.1", "older.2"]


def test_two_workers_at_once_never_send_one_message_twice(app, desk, smtp_server):
    app.config["NOTIFY_BATCH"] = 3
    keys = queue(40)
    results, errors = [], []
    start = threading.Barrier(3)

    def work(name):
        try:
            with app.app_context():
                start.wait()
                results.append(run_pass(now=T, worker=name))
        except Exception as err:  # reported below: a thread's failure must fail the test
            errors.append(err)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    got = received_keys(smtp_server)
    assert sorted(got) == sorted(k.replace(":", ".") for k in keys)  # each exactly once
    assert sum(r.sent for r in results) == 40 and sum(r.claimed for r in results) == 40
    assert sum(1 for r in results if r.sent) >= 2  # they really shared the work
    assert {(d.status, d.attempts) for d in rows().values()} == {("sent", 1)}


def test_the_notify_command_runs_a_pass(app, desk, smtp_server):
    addresses(desk)
    desk.bring_to("forwarded")
    db.session.commit()
    out = app.test_cli_runner().invoke(args=["notify"])
    assert out.exit_code == 0, out.output
    assert "planned 1 notification(s) into 1 delivery(ies)" in out.output
    assert "sent 1" in out.output
    assert len(smtp_server.messages) == 1
    looped = app.test_cli_runner().invoke(args=["notify", "--loop", "0.1", "--passes", "2"])
    assert looped.exit_code == 0 and looped.output.count("claimed 0") == 2
    assert db.session.scalar(select(func.count()).select_from(Delivery)
                             .where(Delivery.status == R.SENT)) == 1
