"""The crash test of the delivery guarantee: a worker process killed exactly between
sending a message and marking it sent. The next pass after its lease ran out sends that
message again — with the same Message-ID — and every other message once; nothing is lost.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from models import Delivery, Staff, db
from services.delivery import run_pass
from tests.conftest import _config, make_app
from tests.factories import T0

REPO = Path(__file__).resolve().parents[2]
T = T0 + timedelta(minutes=5)

# The doomed worker: a real pass in its own process, whose _mark_sent — called right after
# the real send — ends the process on the spot (no cleanup, no commit, no exception).
CHILD = """
import json, os, sys
from datetime import datetime
from app import create_app
from services.delivery import worker

config, now = json.loads(sys.argv[1]), datetime.fromisoformat(sys.argv[2])
app = create_app(config)
with app.app_context():
    worker._mark_sent = lambda *args, **kwargs: os._exit(9)
    worker.run_pass(now=now, worker="doomed")
sys.exit(0)  # never reached while there is anything to send
"""


@pytest.fixture
def app(db_url, smtp_server):
    yield from make_app(db_url, **smtp_server.config)


def test_killed_between_send_and_mark_repeats_one_message_with_the_same_id(
        app, desk, db_url, smtp_server):
    for name, sid in desk.org.users.items():
        db.session.execute(update(Staff).where(Staff.id == sid)
                           .values(email=f"{name}@example.test"))
    db.session.commit()
    cid = desk.bring_to("in_progress")  # forward → head_qa, assign → handler_qa
    desk.act(cid, "urge", "supervisor", T0, note="hurry")  # → head_qa and handler_qa
    db.session.commit()

    config = {**_config(db_url), **smtp_server.config}
    child = subprocess.run([sys.executable, "-c", CHILD, json.dumps(config), T.isoformat()],
                           cwd=REPO, capture_output=True, text=True, timeout=120)
    assert child.returncode == 9, child.stderr

    # Exactly between sending and marking: the server has the first message, the database
    # still holds it pending under the dead worker's lease (with the three others).
    assert len(smtp_server.messages) == 1
    first_id = smtp_server.messages[0].message["Message-ID"]
    db.session.expire_all()
    leased = db.session.scalars(select(Delivery).order_by(Delivery.id)).all()
    assert len(leased) == 4
    assert {(d.status, d.leased_by, d.attempts) for d in leased} == {("pending", "doomed", 1)}

    # While the lease runs nobody takes the messages over.
    assert run_pass(now=T + timedelta(seconds=1)).claimed == 0
    assert len(smtp_server.messages) == 1

    lease = app.config["NOTIFY_LEASE_SECONDS"]
    result = run_pass(now=T + timedelta(seconds=lease))
    assert (result.claimed, result.sent, result.lost) == (4, 4, 0)

    ids = Counter(smtp_server.message_ids())
    assert len(smtp_server.messages) == 5
    assert ids[first_id] == 2  # the one repeat, recognisable by its Message-ID
    assert sorted(ids.values()) == [1, 1, 1, 2]  # every other message exactly once
    repeat = [m for m in smtp_server.messages if m.message["Message-ID"] == first_id]
    assert [(m.rcpt_tos, m.message["Subject"],
             m.message.get_body(("plain",)).get_content()) for m in repeat].count(
        (repeat[0].rcpt_tos, repeat[0].message["Subject"],
         repeat[0].message.get_body(("plain",)).get_content())) == 2  # the same message
    db.session.expire_all()
    done = db.session.scalars(select(Delivery)).all()
    assert {(d.status, d.attempts, d.leased_by) for d in done} == {("sent", 2, None)}
    assert run_pass(now=T + timedelta(days=1)).claimed == 0
    assert len(smtp_server.messages) == 5
