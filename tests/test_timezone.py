"""The company clock: every time is company-local (COMPANY_TZ), whatever the process TZ is.

The tests switch the process's clock zone (``TZ`` + ``time.tzset()``) and check that
``services.clock`` still reads the company's wall clock, that a registration stores
company-local times, and that deadlines computed from a fixed moment do not move.
"""

from __future__ import annotations

import os
import re
import time
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import config
from app import create_app
from models import Complaint, ComplaintEvent, Staff, db
from rules import deadlines
from services import calendar_source, clock

ROOT = Path(__file__).resolve().parents[1]
SHANGHAI = ZoneInfo("Asia/Shanghai")
PROCESS_ZONES = ("UTC", "America/New_York", "Asia/Tokyo")
SLACK = timedelta(seconds=2)
DATA = {"customer_name": "张三", "customer_phone": "13800138000", "title": "冰箱不制冷",
        "description": "x", "category": "service"}


@contextmanager
def process_tz(name: str):
    """Run the block with the process's local clock zone set to ``name``."""
    saved = os.environ.get("TZ")
    os.environ["TZ"] = name
    time.tzset()
    try:
        # The switch took effect: the C library's local time is now in ``name``.
        offset = datetime.now(ZoneInfo(name)).utcoffset()
        assert time.localtime().tm_gmtoff == offset.total_seconds()
        yield
    finally:
        if saved is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = saved
        time.tzset()


@pytest.fixture(autouse=True)
def _no_company_tz_in_environment(monkeypatch):
    monkeypatch.delenv("COMPANY_TZ", raising=False)


def wall_clock(zone: ZoneInfo) -> datetime:
    return datetime.now(zone).replace(tzinfo=None)


def _app_config(**extra):
    return {"TESTING": True, "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": "sqlite://", **extra}


# --- clock.now() / clock.today() ---------------------------------------------------------


@pytest.mark.parametrize("process_zone", PROCESS_ZONES)
def test_now_is_shanghai_time_whatever_the_process_zone(process_zone):
    with process_tz(process_zone):
        local_before = datetime.now()  # the server's clock zone: what the old clock returned
        now = clock.now()
        expected = wall_clock(SHANGHAI)
        # What Shanghai is ahead of the server's zone right now (8 h on UTC, 12/13 h on
        # New York, -1 h on Tokyo).
        ahead = (datetime.now(SHANGHAI).utcoffset()
                 - datetime.now(ZoneInfo(process_zone)).utcoffset())
    assert now.tzinfo is None and now.microsecond == 0
    assert abs(now - expected) <= SLACK
    assert abs((now - local_before) - ahead) <= SLACK
    assert ahead != timedelta(0)  # the check above tells the two clocks apart


@pytest.mark.parametrize("process_zone", PROCESS_ZONES)
def test_today_is_the_shanghai_date(process_zone):
    with process_tz(process_zone):
        before = wall_clock(SHANGHAI).date()
        today = clock.today()
        after = wall_clock(SHANGHAI).date()
    assert today in (before, after)  # the same date unless Shanghai's midnight passed


def test_app_config_company_tz_decides_inside_an_app_context():
    app = create_app(_app_config(COMPANY_TZ="Europe/Berlin"))
    assert app.config["BABEL_DEFAULT_TIMEZONE"] == "Europe/Berlin"
    with process_tz("UTC"):
        with app.app_context():
            from flask_babel import get_timezone

            assert str(get_timezone()) == "Europe/Berlin"
            berlin = clock.now()
            assert abs(berlin - wall_clock(ZoneInfo("Europe/Berlin"))) <= SLACK
        # Outside the app context: the default zone again.
        assert abs(clock.now() - wall_clock(SHANGHAI)) <= SLACK
    # Berlin is 6 or 7 hours behind Shanghai: the config really changed the reading.
    assert abs(wall_clock(SHANGHAI) - berlin) >= timedelta(hours=6) - SLACK


def test_default_company_tz_is_shanghai_for_babel_too():
    app = create_app(_app_config())
    assert app.config["COMPANY_TZ"] == "Asia/Shanghai"
    assert app.config["BABEL_DEFAULT_TIMEZONE"] == "Asia/Shanghai"


def test_environment_company_tz_outside_an_app_context(monkeypatch):
    monkeypatch.setenv("COMPANY_TZ", "America/Sao_Paulo")
    assert config.from_environment()["COMPANY_TZ"] == "America/Sao_Paulo"
    with process_tz("Asia/Tokyo"):
        now = clock.now()
        assert abs(now - wall_clock(ZoneInfo("America/Sao_Paulo"))) <= SLACK
        assert abs(now - wall_clock(SHANGHAI)) >= timedelta(hours=10) - SLACK


@pytest.mark.parametrize("name", ["Mars/Olympus", "Asia/Beijing", ""])
def test_unknown_company_tz_is_refused_at_app_start(name):
    with pytest.raises(RuntimeError, match=rf"COMPANY_TZ='{re.escape(name)}' is not a known"):
        create_app(_app_config(COMPANY_TZ=name))


# --- what gets stored ----------------------------------------------------------------------


@pytest.mark.parametrize("process_zone", ["UTC", "America/New_York"])
def test_registration_stores_shanghai_time(app, org, process_zone):
    from services.complaints import register

    with process_tz(process_zone), app.app_context():
        staff = db.session.get(Staff, org.users["intake"])
        before = wall_clock(SHANGHAI)
        complaint = register(dict(DATA), staff)  # no injected now: the real clock
        after = wall_clock(SHANGHAI)  # (the first registration loads jieba: seconds)
        cid = complaint.id
        db.session.remove()  # a new session: the values come back from the database
        stored = db.session.get(Complaint, cid)
        received, accept_due, created = stored.received_at, stored.accept_due, stored.created_at
        number = stored.number
        event_at = db.session.query(ComplaintEvent.at).filter_by(complaint_id=cid).scalar()
        db.session.rollback()
    assert received.tzinfo is None
    assert before - SLACK <= received <= after + SLACK
    assert created == received and event_at == received
    # The accept deadline: 24 calendar hours (the seeded policy) from the Shanghai reception.
    assert accept_due == received + timedelta(hours=24)
    assert number.startswith(f"TS-{received:%Y%m%d}-")


# --- deadlines of a fixed moment -----------------------------------------------------------

MONDAY = datetime(2026, 11, 23, 9, 0)  # an ordinary working week
EVE_OF_NATIONAL_DAY = datetime(2026, 9, 30, 22, 0)  # holidays 10-01..10-07, Sat 10-10 works
FRIDAY_LATE = datetime(2026, 11, 27, 23, 30)

EXPECTED = {
    "resolve_7wd": datetime(2026, 12, 2, 23, 59, 59),
    "over_national_day_3wd": datetime(2026, 10, 10, 23, 59, 59),
    "friday_late_1wd": datetime(2026, 11, 30, 23, 59, 59),
    "due_soon_cutoff": datetime(2026, 11, 30, 23, 30),
    "accept_due": datetime(2026, 11, 28, 23, 30),
    "overdue_one_second_after": True,
    "due_soon": True,
}


def _deadlines():
    calendar = calendar_source.business_calendar()
    policy = deadlines.Policy()
    resolve = deadlines.resolve_due(MONDAY, policy, calendar)
    return {
        "resolve_7wd": resolve,
        "over_national_day_3wd": calendar.due_after(EVE_OF_NATIONAL_DAY, 3),
        "friday_late_1wd": calendar.due_after(FRIDAY_LATE, 1),
        "due_soon_cutoff": calendar.due_soon_cutoff(FRIDAY_LATE),
        "accept_due": deadlines.accept_due(FRIDAY_LATE, policy),
        "overdue_one_second_after": deadlines.is_overdue(resolve, resolve + timedelta(seconds=1)),
        "due_soon": deadlines.is_due_soon(datetime(2026, 11, 30, 12, 0), FRIDAY_LATE, calendar),
    }


def test_deadlines_of_a_fixed_moment_do_not_depend_on_the_process_zone(app):
    results = {}
    with app.app_context():
        for zone in (*PROCESS_ZONES, "Asia/Shanghai"):
            with process_tz(zone):
                results[zone] = _deadlines()
    for zone, got in results.items():
        assert got == EXPECTED, zone


# --- nothing else reads the clock or converts times ----------------------------------------

CLOCK_READS = re.compile(
    r"datetime\.(now|today|utcnow)\(|date\.today\(|time\.time\(|localtime|func\.now\b"
    r"|CURRENT_TIMESTAMP|(?<![\w.])now\(\)"  # the last two: SQL's clock (e.g. in triggers)
)
# Flask-Babel's datetime formatting takes naive values for UTC and shifts them into
# BABEL_DEFAULT_TIMEZONE: our naive company-local times must never go through it.
BABEL_SHIFTS = re.compile(
    r"format_datetime|format_time\b|to_user_timezone|to_utc\b|datetimeformat|timeformat"
    r"|flask_babel import[^\n]*format_date"
)


def _sources():
    for folder in ("admin_views", "api", "services", "models", "rules", "templates",
                   "migrations", "scripts"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix in (".py", ".html") and path.name != "clock.py":
                yield path
    yield ROOT / "app.py"
    yield ROOT / "config.py"


def test_only_services_clock_reads_the_clock_and_nothing_shifts_naive_times():
    offenders = []
    for path in _sources():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if CLOCK_READS.search(line) or BABEL_SHIFTS.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
    assert (ROOT / "services" / "clock.py").read_text(encoding="utf-8").count("datetime.now(") == 1
