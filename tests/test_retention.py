"""Retention: complaints closed more than RETENTION_YEARS ago lose their personal data, the
reports keep every figure, nothing is deleted, a second run changes nothing.

The complaints are walked through the real services at old dates (January 2022); "now" is
1 December 2026, so with the default 3 years everything closed before 1 December 2023 is due.
"""

from __future__ import annotations

import io
from datetime import datetime

import openpyxl
import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from models import CallbackRecord, Complaint, ComplaintEvent, db
from rules import Action, Status
from services import clock
from services.retention import (
    MARK_NAME,
    MARK_TEXT,
    RetentionError,
    cutoff_for,
    phone_token,
    retention_years,
    run,
)
from tests.factories import RESOLUTION, SATISFIED, Desk

NOW = datetime(2026, 12, 1, 10, 0)
JAN = datetime(2022, 1, 10, 9, 0)


def at(day, hour=9):
    return datetime(2022, 1, day, hour, 0)


def _closed(desk: Desk, now: datetime, *, notes=None, **fields) -> int:
    """A complaint registered, handled, called back (with ``notes``) and closed at ``now``."""
    cid = desk.register(now=now, **fields)
    desk.act(cid, Action.ACCEPT, "intake", now)
    desk.act(cid, Action.FORWARD, "intake", now, department_id="@qa")
    desk.act(cid, Action.ASSIGN, "head_qa", now, assignee_id="@handler_qa")
    desk.act(cid, Action.RESOLVE, "handler_qa", now, **RESOLUTION)
    desk.act(cid, Action.REVIEW_APPROVE, "intake", now)
    for _ in range(db.session.get(Complaint, cid).callbacks_required):
        desk.act(cid, Action.CALLBACK, "intake", now, **SATISFIED, notes=notes)
    desk.act(cid, Action.CLOSE, "intake", now)
    return cid


@pytest.fixture
def old(app, org, monkeypatch):
    """January 2022: complaints due for retention and complaints that are not."""
    monkeypatch.setattr(clock, "now", lambda: NOW)
    with app.app_context():
        desk = Desk(org)
        ids = {
            # due: closed in January 2022; one customer twice (a repeat complainant)
            "a": _closed(desk, at(10), customer_name="王小明", customer_phone="139 1111 0001",
                         customer_email="wang@example.com", demand="退货并赔偿",
                         notes="王小明 13911110001 表示满意"),
            "b": _closed(desk, at(12), customer_name="王小明", customer_phone="13911110001",
                         notes="回访王先生"),
            "c": _closed(desk, at(13), customer_name="李四", customer_phone="13922220002",
                         category="product_quality"),
            "invalid": desk.bring_to("closed_invalid", now=at(14), customer_name="赵六",
                                     customer_phone=None, customer_email="zhao@example.com"),
            # not due: open, rejected (not closed), or closed less than 3 years before now
            "open": desk.bring_to(Status.IN_PROGRESS, now=at(17), customer_name="钱七",
                                  customer_phone="13933330003"),
            "rejected": desk.bring_to(Status.REJECTED, now=at(18), customer_name="孙八",
                                      customer_phone="13944440004"),
            "late": desk.register(now=at(19), customer_name="周九",
                                  customer_phone="13955550005"),
            "recent": _closed(desk, datetime(2024, 3, 5, 9), customer_name="吴十",
                              customer_phone="13966660006", notes="吴十 满意"),
        }
        # Received in January 2022, closed in February 2024: not due yet.
        late, t = ids["late"], datetime(2024, 2, 1, 9)
        for action, who, inputs in (
                (Action.ACCEPT, "intake", {}), (Action.FORWARD, "intake", {"department_id": "@qa"}),
                (Action.ASSIGN, "head_qa", {"assignee_id": "@handler_qa"}),
                (Action.RESOLVE, "handler_qa", RESOLUTION), (Action.REVIEW_APPROVE, "intake", {}),
                (Action.CALLBACK, "intake", SATISFIED), (Action.CLOSE, "intake", {})):
            desk.act(late, action, who, t, **inputs)
        desk.act(ids["open"], Action.URGE, "supervisor", at(20), note="钱七 又来电催促")
    return ids


def _row(cid: int) -> dict:
    return Desk(None).row(cid)


def _rows(model, **where) -> list[dict]:
    table = model.__table__
    stmt = select(table).order_by(table.c.id)
    for name, value in where.items():
        stmt = stmt.where(table.c[name] == value)
    return [dict(r) for r in db.session.execute(stmt).mappings()]


def _everything() -> tuple:
    db.session.expire_all()
    return tuple(_rows(model) for model in (Complaint, ComplaintEvent, CallbackRecord))


def _workbook(month_text: str, department=None) -> dict:
    """Every cell value of every sheet of the monthly workbook, sheet by sheet."""
    from admin_views.reports import value_labels
    from services.reports import month, monthly_report, write_monthly_workbook

    buffer = io.BytesIO()
    with force_locale("en"):
        report = monthly_report(month(month_text), department, now=NOW)
        write_monthly_workbook(report, buffer, value_labels(), mask_phones=False,
                               made_by="test")
    db.session.rollback()
    book = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))
    return {ws.title: [[cell.value for cell in row] for row in ws.iter_rows()]
            for ws in book.worksheets}


REPEAT_SHEET = "Repeat complainants"
HEADER = 3  # 0-based row of the column headers of each table


def _comparable(book: dict) -> dict:
    """The workbook without the customers' phones and names (repeat complainants: columns A
    and B of the rows under the header). Those rows are compared as a set: the list is
    sorted by count, then phone, so rows with the same count may change places."""
    out = dict(book)
    rows = book[REPEAT_SHEET]
    out[REPEAT_SHEET] = (rows[:HEADER + 1],
                         sorted((tuple(r[2:]) for r in rows[HEADER + 1:]), key=repr))
    return out


def test_dry_run_changes_nothing_and_counts(app, old):
    """The dry run writes nothing and counts the complaints due, their notes and range."""
    with app.app_context():
        before = _everything()
        result = run(apply=False)
        assert _everything() == before
    assert not result.applied
    assert result.cutoff == datetime(2023, 12, 1, 10, 0)
    assert result.complaints == 4  # a, b, c, invalid
    assert result.held_back == 0
    assert (result.oldest_closed, result.newest_closed) == (at(10), at(14))
    assert result.callbacks == 2  # the notes of a and b (c's callbacks have none)
    assert result.events >= 3  # the callback notes copied into the events, the rejection


def test_apply_anonymises_exactly_the_complaints_closed_long_ago(app, old):
    """Closed > 3 years ago: name, contacts, texts and notes anonymised; the rest untouched;
    nothing deleted; one stable token per customer and month for the repeat grouping."""
    due = [old[k] for k in ("a", "b", "c", "invalid")]
    kept = [old[k] for k in ("open", "rejected", "late", "recent")]
    with app.app_context():
        before = {cid: _row(cid) for cid in due + kept}
        counts = tuple(len(rows) for rows in _everything())
        result = run(apply=True)
        db.session.expire_all()
        assert tuple(len(rows) for rows in _everything()) == counts  # nothing deleted
        assert result.applied and result.complaints == 4
        assert (result.oldest_closed, result.newest_closed) == (at(10), at(14))

        for cid in kept:
            assert _row(cid) == before[cid]
        open_events = _rows(ComplaintEvent, complaint_id=old["open"])
        assert "钱七 又来电催促" in [e["note"] for e in open_events]
        recent_callbacks = _rows(CallbackRecord, complaint_id=old["recent"])
        assert [cb["notes"] for cb in recent_callbacks] == ["吴十 满意"]

        rows = {cid: _row(cid) for cid in due}
        for cid, row in rows.items():
            assert row["customer_name"] == MARK_NAME
            assert row["customer_phone"] is None and row["customer_email"] is None
            assert row["description"] == MARK_TEXT
            assert row["version"] == before[cid]["version"] + 1
            unchanged = {k for k in row if k not in (
                "customer_name", "customer_phone", "customer_email", "customer_phone_norm",
                "description", "demand", "version", "updated_at", "customer_id")}
            assert row["customer_id"] is None  # out of the customer file (issue 10)
            assert {k: row[k] for k in unchanged} == {k: before[cid][k] for k in unchanged}
            for event in _rows(ComplaintEvent, complaint_id=cid):
                assert event["note"] in (None, MARK_TEXT)
            for callback in _rows(CallbackRecord, complaint_id=cid):
                assert callback["notes"] in (None, MARK_TEXT)
        assert rows[old["a"]]["demand"] == MARK_TEXT
        assert rows[old["b"]]["demand"] is None  # nothing to anonymise
        # One customer, one month: one token, shared; another customer: another token.
        token = rows[old["a"]]["customer_phone_norm"]
        assert token == rows[old["b"]]["customer_phone_norm"]
        assert token == phone_token("13911110001", at(10), app.config["SECRET_KEY"])
        assert token.startswith("anon-") and len(token) == 20
        assert not any(ch.isdigit() for ch in token)
        assert rows[old["c"]]["customer_phone_norm"] not in (token, "13922220002")
        assert rows[old["invalid"]]["customer_phone_norm"] is None  # e-mail only
        # No trace of the customers in the rows of the anonymised complaints.
        text = repr([rows] + [_rows(m, complaint_id=cid) for cid in due
                              for m in (ComplaintEvent, CallbackRecord)])
        for trace in ("王小明", "王先生", "1391111", "wang@", "李四", "赵六", "zhao@",
                      "退货并赔偿", "13922220002"):
            assert trace not in text


def test_the_reports_keep_every_figure(app, old):
    """The monthly workbook of January 2022 (all departments and QA) and of the months of
    the later closures is the same before and after, but for the customers' names/phones."""
    from models import Department

    with app.app_context():
        qa = db.session.scalar(select(Department).filter_by(code="QA"))
        cases = [("2022-01", None), ("2022-01", qa), ("2022-02", None), ("2024-02", None),
                 ("2024-03", None)]
        before = [_workbook(m, d) for m, d in cases]
        repeat = before[0][REPEAT_SHEET][HEADER + 1:]
        assert [r[2] for r in repeat] == [2]  # 王小明 twice in January 2022
        assert run(apply=True).complaints == 4
        after = [_workbook(m, d) for m, d in cases]
        for (m, _d), b, a in zip(cases, before, after, strict=True):
            assert _comparable(a) == _comparable(b), m
        assert after[0][REPEAT_SHEET][HEADER + 1][1] == MARK_NAME


def test_second_apply_changes_nothing(app, old):
    """Idempotent: a second --apply finds nothing due and writes nothing."""
    with app.app_context():
        first = run(apply=True)
        assert first.complaints == 4
        state = _everything()
        events = _admin_events()
        second = run(apply=True)
        assert (second.complaints, second.events, second.callbacks) == (0, 0, 0)
        assert _everything() == state
        assert _admin_events() == events
        assert run(apply=False).complaints == 0


def _admin_events() -> list | None:
    """The AdminEvent rows, once that table exists (another part of the app adds it)."""
    try:
        from models import AdminEvent
    except ImportError:
        return None
    return _rows(AdminEvent)


def test_apply_is_recorded_as_one_admin_event(app, old):
    """--apply writes one AdminEvent with the counts (when the administrative record exists)."""
    with app.app_context():
        before = _admin_events()
        if before is None:
            run(apply=True)
            return
        run(apply=True)
        new = _admin_events()[len(before):]
    assert len(new) == 1
    assert new[0]["action"].lower() == "retention_applied"
    assert new[0]["actor_id"] is None
    assert "4 complaint(s)" in new[0]["detail"]


def test_a_repeat_group_is_anonymised_whole_or_not_at_all(app, org, monkeypatch):
    """A due complaint received in the same month from the same phone as one not yet due is
    held back (the repeat figure would split); once both are due, both get one token."""
    monkeypatch.setattr(clock, "now", lambda: NOW)
    with app.app_context():
        desk = Desk(org)
        first = _closed(desk, at(10), customer_name="郑一", customer_phone="13977770007")
        second = desk.bring_to(Status.IN_PROGRESS, now=at(11), customer_name="郑一",
                               customer_phone="13977770007")
        other_month = _closed(desk, datetime(2022, 2, 7, 9), customer_name="郑一",
                              customer_phone="13977770007")
        result = run(apply=True)
        assert (result.complaints, result.held_back) == (1, 1)  # February's is alone
        db.session.expire_all()
        assert desk.row(first)["customer_name"] == "郑一"
        assert desk.row(other_month)["customer_name"] == MARK_NAME
        for action, who, inputs in (
                (Action.RESOLVE, "handler_qa", RESOLUTION),
                (Action.REVIEW_APPROVE, "intake", {}), (Action.CALLBACK, "intake", SATISFIED),
                (Action.CLOSE, "intake", {})):
            desk.act(second, action, who, datetime(2022, 3, 1, 9), **inputs)
        result = run(apply=True)
        assert (result.complaints, result.held_back) == (2, 0)
        db.session.expire_all()
        tokens = {desk.row(cid)["customer_phone_norm"] for cid in (first, second)}
        assert len(tokens) == 1
        assert tokens != {desk.row(other_month)["customer_phone_norm"]}  # another month


def test_retention_years_setting(app, monkeypatch):
    """RETENTION_YEARS: app config, else the environment, else 3; fewer than 3 is refused."""
    with app.app_context():
        monkeypatch.delenv("RETENTION_YEARS", raising=False)
        assert retention_years() == 3
        monkeypatch.setenv("RETENTION_YEARS", "5")
        assert retention_years() == 5
        app.config["RETENTION_YEARS"] = 7
        assert retention_years() == 7
        for bad in (2, 0, "three"):
            with pytest.raises(RetentionError):
                retention_years(bad)
    assert cutoff_for(datetime(2028, 2, 29, 8), 3) == datetime(2025, 2, 28, 8)


def test_the_command(app, old, monkeypatch):
    """`flask retention` is a dry run; `--apply` anonymises; the summary gives count and range."""
    runner = app.test_cli_runner()
    with app.app_context():
        before = _everything()
    dry = runner.invoke(args=["retention"])
    assert dry.exit_code == 0, dry.output
    assert "Dry run, nothing written: 4 complaint(s)" in dry.output
    assert "2022-01-10 09:00 … 2022-01-14 09:00" in dry.output
    assert "--apply" in dry.output
    with app.app_context():
        assert _everything() == before
    applied = runner.invoke(args=["retention", "--apply"])
    assert applied.exit_code == 0, applied.output
    assert "Anonymised 4 complaint(s)" in applied.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Complaint).where(
            Complaint.customer_name == MARK_NAME)) == 4
    again = runner.invoke(args=["retention", "--apply"])
    assert "Anonymised 0 complaint(s)" in again.output
    monkeypatch.setenv("RETENTION_YEARS", "1")
    refused = runner.invoke(args=["retention", "--apply"])
    assert refused.exit_code == 1
    assert "at least 3 years" in refused.output
