"""The flask commands: init-db, demo, create-user, sweep (through Flask's CLI test runner)."""

from __future__ import annotations

import os
import re
from collections import Counter
from datetime import timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select
from werkzeug.security import check_password_hash

from app import create_app
from models import (
    CallbackRecord,
    Category,
    Complaint,
    ComplaintEvent,
    Department,
    SlaPolicy,
    Staff,
    db,
)

PG_URL = os.environ.get("TEST_DATABASE_URL", "")


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


# --- init-db ----------------------------------------------------------------------------


def test_init_db_creates_the_schema_and_is_idempotent(app):
    """init-db on an empty database migrates it; a second run changes nothing."""
    with app.app_context():
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    runner = app.test_cli_runner()
    first = runner.invoke(args=["init-db"])
    assert first.exit_code == 0, first.output
    assert "Database schema is up to date." in first.output
    with app.app_context():
        assert {"complaint", "complaint_event", "staff"} <= set(
            inspect(db.engine).get_table_names())
        seeded = (count(Category), count(SlaPolicy))
        assert seeded == (6, 2)
    second = runner.invoke(args=["init-db"])
    assert second.exit_code == 0, second.output
    with app.app_context():
        assert (count(Category), count(SlaPolicy)) == seeded


# --- demo (slow: loaded once for the module, then only read) ---------------------------


def _demo_facts() -> dict:
    from services.auth import authenticate
    from services.demo import DEMO_PASSWORD, USERS

    complaints = db.session.scalars(select(Complaint)).all()
    events_per = Counter(db.session.scalars(select(ComplaintEvent.complaint_id)))
    callbacks_per = Counter(db.session.scalars(select(CallbackRecord.complaint_id)))
    logins = {}
    for username, *_ in USERS:
        logins[username] = authenticate(username, DEMO_PASSWORD).role
    return {
        "complaints": len(complaints),
        "statuses": Counter(c.status for c in complaints),
        "numbers": len({c.number for c in complaints}),
        "events": sum(events_per.values()),
        "events_per": events_per,
        "actions": set(db.session.scalars(select(ComplaintEvent.action).distinct())),
        "callbacks": sum(callbacks_per.values()),
        "closed_valid": sum(1 for c in complaints
                            if c.status == "closed" and c.validity == "valid"),
        "closed_callbacks_ok": all(
            callbacks_per[c.id] >= c.callbacks_required and c.callbacks_reached
            >= c.callbacks_required for c in complaints if c.status == "closed"
            and c.validity == "valid" and c.closed_at is not None
            and not c.answered_on_the_spot and c.final_satisfaction is not None),
        "ids": [c.id for c in complaints],
        "steps": {c.id: c.status for c in complaints},
        "titles": [c.title for c in complaints],
        "overdue": sum(1 for c in complaints if c.overdue_since is not None),
        "staff": count(Staff),
        "roles": {s.role for s in db.session.scalars(select(Staff))},
        "hashes_plain": any(DEMO_PASSWORD in s.password_hash
                            for s in db.session.scalars(select(Staff))),
        "logins": logins,
        "departments": count(Department),
        "customer_service": db.session.scalar(
            select(func.count()).where(Department.is_customer_service.is_(True))),
        # What a reader sees: every text of the complaints, their history and the org.
        "texts": [t for c in complaints for t in (c.title, c.description, c.demand,
                                                   c.root_cause, c.resolution,
                                                   c.validity_reason, c.extension_reason)
                  if t]
        # (the sweep's system notes are stored as message ids, translated when shown; so is
        # the customer's answer to a plan, "agreed: <what they said>")
        + [_shown(a, n) for a, n in db.session.execute(
            select(ComplaintEvent.action, ComplaintEvent.note).where(
                ComplaintEvent.action.not_in(("overdue", "part_overdue", "upstream_overdue"))))
           if n and _shown(a, n)]
        + [n for n in db.session.scalars(select(CallbackRecord.notes)) if n]
        + list(db.session.scalars(select(Staff.full_name)))
        + list(db.session.scalars(select(Department.name))),
        "results": [(c.category.code, c.department.code, c.responsibility, c.remedy,
                     c.compensation_amount, c.root_cause, c.resolution)
                    for c in complaints if c.resolution],
        "heads": {d.code: bool(d.head and d.head.active)
                  for d in db.session.scalars(select(Department))},
        "headless": _headless(),
        "extensions": sum(1 for c in complaints if c.extension_requested_by_id),
        "satisfaction": Counter(db.session.scalars(select(CallbackRecord.satisfaction))),
    }


def _headless():
    from services.queues import headless_departments

    return headless_departments()


@pytest.fixture(scope="module")
def demo(db_template, tmp_path_factory):
    """Run `flask demo` twice on a fresh database; what the database held after each run."""
    url = PG_URL or f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.sqlite'}"
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": url,
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        if PG_URL:  # the shared test database: empty it (the next test resets it again)
            downgrade(revision="base")
        upgrade()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    with app.app_context():
        after_first = _demo_facts()
    second = runner.invoke(args=["demo"])
    with app.app_context():
        after_second = _demo_facts()
        db.session.remove()
        db.engine.dispose()
    return {"first": first, "second": second, "after_first": after_first,
            "after_second": after_second}


def test_demo_loads_about_300_complaints_in_every_status(demo):
    """The demo holds ~300 complaints with unique numbers, in each status of the workflow."""
    from rules import Status

    assert demo["first"].exit_code == 0, demo["first"].output
    assert "Demo data loaded" in demo["first"].output
    facts = demo["after_first"]
    assert 280 <= facts["complaints"] <= 320
    assert facts["numbers"] == facts["complaints"]
    assert set(facts["statuses"]) == set(Status.ALL)
    assert min(facts["statuses"].values()) >= 10


def test_demo_complaints_carry_their_history(demo):
    """Each demo complaint has its events from registration on; closed ones their callbacks."""
    facts = demo["after_first"]
    assert set(facts["events_per"]) == set(facts["ids"])
    for cid, status in facts["steps"].items():
        assert facts["events_per"][cid] >= (1 if status == "registered" else 2)
    assert {"register", "accept", "reject", "reply", "forward", "assign", "resolve",
            "review_approve", "callback", "close", "escalate", "note",
            "overdue"} <= facts["actions"]
    assert facts["callbacks"] >= facts["closed_valid"]
    assert facts["closed_callbacks_ok"]
    assert facts["overdue"] > 0 and "marked overdue" in demo["first"].output


def _shown(action, note):
    """The part of a stored note a reader sees as it was typed (the plan answer's marker
    is shown translated: admin_views.timeline)."""
    from rules.plan import parse_answer_note

    parsed = parse_answer_note(note) if action == "plan_answer" else None
    return parsed[1] if parsed else note


def test_demo_text_is_chinese_without_english_sentences(demo):
    """Titles, descriptions, results, notes, names: Chinese, with no English sentence."""
    texts = demo["after_first"]["texts"]
    assert len(texts) > 1000
    for t in texts:
        assert any("\u4e00" <= ch <= "\u9fff" for ch in t), t
        assert not re.search(r"[A-Za-z]{3,}", t), t  # no English word (TS-… numbers aside)


# Which causes each department finds (a logistics complaint has a logistics cause, …).
CAUSE_WORDS = {"QA": ("批次", "供应商", "安装", "装配", "保修", "螺栓"),
               "LOG": ("仓库", "承运商", "配送", "包装", "送货"),
               "SALES": ("店员", "销售", "会员", "价格保护"),
               "FIN": ("开票", "支付", "退款"),
               "HR": ("安装人员", "外包")}


def test_demo_results_are_consistent(demo):
    """Each resolved complaint: its department's kind of cause, its category's department,
    and compensation (with an amount) only where the company is responsible."""
    results = demo["after_first"]["results"]
    assert len(results) > 100
    departments = {"product_quality": {"QA"}, "delivery": {"LOG"}, "packaging": {"LOG"},
                   "billing": {"FIN"}, "service": {"SALES", "HR"}, "other": {"SALES"}}
    remedies = Counter()
    for category, dept, responsibility, remedy, amount, cause, resolution in results:
        assert dept in departments[category], (category, dept)
        assert any(word in cause for word in CAUSE_WORDS[dept]), (dept, cause)
        remedies[remedy] += 1
        if remedy == "compensation":
            assert responsibility in ("company", "mixed") and amount and amount > 0
            assert f"{amount.normalize():f} 元" in resolution, (amount, resolution)
        else:
            assert amount is None, (remedy, amount)
    assert {"compensation", "exchange", "explanation", "repair", "return"} <= set(remedies)


def test_demo_departments_have_heads_and_some_work_waits_for_decisions(demo):
    """Every department has an active head (none is shown as headless); extension requests
    and a less than perfect satisfaction give heads and managers something to decide."""
    facts = demo["after_first"]
    assert all(facts["heads"].values()), facts["heads"]
    assert facts["headless"] == []
    assert facts["extensions"] >= 5
    assert facts["satisfaction"]["average"] > 0 and facts["satisfaction"][None] > 0


def test_demo_users_one_per_role_with_the_documented_password(demo):
    """Every role has a demo user who logs in with the documented password, stored hashed."""
    from rules import Role

    facts = demo["after_first"]
    assert facts["roles"] == set(Role.ALL)
    assert set(facts["logins"].values()) == set(Role.ALL)
    assert not facts["hashes_plain"]
    assert facts["customer_service"] == 1 and facts["departments"] >= 4


def test_demo_second_run_adds_nothing(demo):
    """Running demo again reports the data present and adds no row."""
    assert demo["second"].exit_code == 0, demo["second"].output
    assert "already present" in demo["second"].output
    first, second = demo["after_first"], demo["after_second"]
    for key in ("complaints", "events", "callbacks", "staff", "departments", "statuses"):
        assert second[key] == first[key], key


# --- create-user ------------------------------------------------------------------------

PASSWORD = "correct-horse-7"


def staff_named(app, username):
    with app.app_context():
        return db.session.scalar(select(Staff).filter_by(username=username))


def test_create_user_prompts_for_the_password_and_stores_a_hash(app, org):
    """The password is asked twice (hidden), never echoed, and only its hash is stored."""
    result = app.test_cli_runner().invoke(
        args=["create-user", "--username", "zhao", "--full-name", "Zhao Lei", "--role",
              "intake", "--department", "CS"],
        input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "Created zhao (intake)." in result.output
    assert "Password" in result.output and PASSWORD not in result.output
    staff = staff_named(app, "zhao")
    assert staff.department_id == org.cs and staff.role == "intake"
    assert PASSWORD not in staff.password_hash
    assert check_password_hash(staff.password_hash, PASSWORD)


def test_create_user_prompts_for_everything_left_out(app, org):
    """Without options, create-user asks for user name, full name, role and password."""
    result = app.test_cli_runner().invoke(
        args=["create-user"], input=f"qian\n钱 Qian\nsupervisor\n{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert staff_named(app, "qian").full_name == "钱 Qian"


def test_create_user_refuses_a_short_password(app, org):
    """A password under 10 characters is refused and no account is created."""
    result = app.test_cli_runner().invoke(
        args=["create-user", "--username", "sun", "--full-name", "Sun", "--role", "intake"],
        input="short\nshort\n")
    assert result.exit_code != 0
    assert "at least 10 characters" in result.output
    assert staff_named(app, "sun") is None


def test_create_user_never_takes_the_password_as_an_argument(app, org):
    """--password does not exist: a password on the command line would land in shell history."""
    result = app.test_cli_runner().invoke(
        args=["create-user", "--username", "li", "--full-name", "Li", "--role", "intake",
              "--password", PASSWORD])
    assert result.exit_code == 2
    assert "No such option" in result.output
    assert staff_named(app, "li") is None


def test_create_user_refuses_mismatched_confirmation(app, org):
    """Two different entries are not accepted; without a matching pair no account is made."""
    result = app.test_cli_runner().invoke(
        args=["create-user", "--username", "wu", "--full-name", "Wu", "--role", "intake"],
        input=f"{PASSWORD}\n{PASSWORD}x\n")
    assert result.exit_code != 0
    assert "do not match" in result.output
    assert staff_named(app, "wu") is None


def test_create_user_refuses_an_unknown_department(app, org):
    """An unknown department code is refused with a message; nothing is created."""
    result = app.test_cli_runner().invoke(
        args=["create-user", "--username", "zhou", "--full-name", "Zhou", "--role", "handler",
              "--department", "NOPE"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 1
    assert "No department with code 'NOPE'" in result.output
    assert staff_named(app, "zhou") is None


def test_create_user_refuses_a_taken_user_name(app, org):
    """A user name already in use is refused with a message, and the account is unchanged."""
    before = staff_named(app, "intake").password_hash
    result = app.test_cli_runner().invoke(
        args=["create-user", "--username", "intake", "--full-name", "Other", "--role",
              "admin"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 1
    assert "already" in result.output
    staff = staff_named(app, "intake")
    assert (staff.role, staff.password_hash) == ("intake", before)


# --- sweep ------------------------------------------------------------------------------


def test_sweep_prints_what_it_did(app, org):
    """sweep reports the complaints it marked, by status; a second run reports none."""
    from services import clock
    from services.complaints import register

    with app.app_context():
        intake = db.session.get(Staff, org.users["intake"])
        three_days_ago = clock.now() - timedelta(days=3)
        for _ in range(2):
            register({"customer_name": "王五", "customer_phone": "13700000000", "title": "t",
                      "description": "d"},
                     intake, now=three_days_ago)
    runner = app.test_cli_runner()
    first = runner.invoke(args=["sweep"])
    assert first.exit_code == 0, first.output
    assert first.output.strip() == "Marked 2 overdue complaint(s) (registered: 2)."
    second = runner.invoke(args=["sweep"])
    assert second.output.strip() == "Marked 0 overdue complaint(s) (none)."
