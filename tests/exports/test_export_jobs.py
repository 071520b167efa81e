"""Exports and workbooks as jobs (issue 13): the request checks, counts and hands over;
the job checks the owner's access and scope again when it runs, writes the file and the
export log, and reports its progress. Jobs that must wait for a change made in between are
held by an executor that runs nothing; the test then runs them with ``jobs.run_job``."""

from __future__ import annotations

import io
import json
from datetime import datetime

import openpyxl
import pytest
from sqlalchemy import func, select

from models import ExportLog, Job, Staff, db
from rules import Role
from services import jobs
from tests.exports.conftest import column, download, make_complaint, read_xlsx
from tests.factories import job_of
from tests.services.test_period_reports import seed, table

EXPORT = "/admin/complaint/export/xlsx/?queue=all&sort=0"
QUARTER = "/admin/reports/period/?kind=quarter&value=2026Q4"
PEOPLE = "/admin/reports/people/?kind=quarter&value=2026Q4"


class HoldEverything:
    """An executor that runs nothing: the job stays queued until the test runs it."""

    polls = False

    def enqueue(self, job_id: int) -> None:
        pass


@pytest.fixture
def held(app):
    app.extensions["desk_jobs"] = HoldEverything()
    return app


def _seed_two_departments(org, per_department: int = 3):
    """Complaints TS-…-1xxx in QA and TS-…-2xxx in LOG (inside an app context)."""
    for n in range(per_department):
        make_complaint(1000 + n, department_id=org.qa, status="in_progress",
                       received_at=datetime(2026, 11, 2, 9, n))
        make_complaint(2000 + n, department_id=org.log, status="in_progress",
                       received_at=datetime(2026, 11, 3, 9, n))
    db.session.commit()


def _ask(client, url) -> int:
    """GET an export or workbook URL; the id of the job it was handed to."""
    response = client.get(url)
    job_id = job_of(response)
    assert job_id is not None, (response.status_code, response.headers.get("Location"))
    return job_id


def _run(app, job_id: int) -> Job:
    with app.app_context():
        jobs.run_job(job_id)
        job = db.session.get(Job, job_id)
        db.session.expunge(job)
        return job


def _file(client, job_id: int) -> bytes:
    with client.get(f"/admin/jobs/{job_id}/download") as response:
        assert response.status_code == 200, response.headers.get("Location")
        return response.get_data()


def _move(app, username: str, **values) -> None:
    with app.app_context():
        staff = db.session.scalar(select(Staff).filter_by(username=username))
        for key, value in values.items():
            setattr(staff, key, value)
        db.session.commit()


def _export_logs(app) -> list[ExportLog]:
    with app.app_context():
        found = list(db.session.scalars(select(ExportLog)))
        db.session.expunge_all()
        return found


# --- list exports -------------------------------------------------------------------------


def test_export_job_runs_in_the_scope_of_the_moment_it_runs(client, auth, org, held):
    """A head asks for their list, then moves to another department before the job runs:
    the file holds the new department's complaints, none of the old one's."""
    app = held
    with app.app_context():
        _seed_two_departments(org)
    auth.login("head_qa")
    job_id = _ask(client, EXPORT)
    with app.app_context():
        assert db.session.get(Job, job_id).status == jobs.QUEUED
    _move(app, "head_qa", department_id=org.log)
    assert _run(app, job_id).status == jobs.DONE
    numbers = column(read_xlsx(_file(client, job_id)), "Number")
    assert numbers and all(n.endswith(("-2000", "-2001", "-2002")) for n in numbers), numbers


def test_export_job_of_a_deactivated_user_makes_nothing(client, auth, org, held):
    """The owner is deactivated before the job runs: it fails "not active", no file, no
    export logged."""
    app = held
    with app.app_context():
        _seed_two_departments(org)
    auth.login("head_qa")
    job_id = _ask(client, EXPORT)
    _move(app, "head_qa", active=False)
    job = _run(app, job_id)
    assert job.status == jobs.FAILED and "no longer active" in job.error
    assert job.result_key is None
    assert _export_logs(app) == []


def test_export_job_refused_when_the_list_is_no_longer_open_to_the_owner(
        client, auth, org, held):
    """An administrator asks for the staff list, then becomes a manager (the staff list is
    the administrators'): the job fails in words a clerk understands."""
    app = held
    auth.login("admin")
    job_id = _ask(client, "/admin/staff/export/xlsx/")
    _move(app, "admin", role=Role.MANAGER)
    job = _run(app, job_id)
    assert job.status == jobs.FAILED
    assert job.error == "You may no longer export this list."
    assert _export_logs(app) == []


def test_export_over_the_limit_is_refused_in_the_request_without_a_job(client, auth, org, app):
    """Over EXPORT_MAX_ROWS: the same message and redirect as before, and no job at all."""
    with app.app_context():
        _seed_two_departments(org)
    app.config["EXPORT_MAX_ROWS"] = 5
    auth.login("manager")
    status, _body, headers = download(client, EXPORT)
    assert status == 302 and "/admin/jobs/" not in headers["Location"]
    page = client.get(headers["Location"]).get_data(as_text=True)
    assert "6 rows match this list, more than the 5 one export may hold" in page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Job)) == 0


def test_export_grown_over_the_limit_before_the_job_runs_is_refused(client, auth, org, held):
    """Rows added between the request and the job: the job counts again and refuses, it
    never cuts the list."""
    app = held
    with app.app_context():
        _seed_two_departments(org, per_department=2)
    app.config["EXPORT_MAX_ROWS"] = 5
    auth.login("manager")
    job_id = _ask(client, EXPORT)
    with app.app_context():
        make_complaint(3000, department_id=org.qa, status="in_progress")
        make_complaint(3001, department_id=org.qa, status="in_progress")
        db.session.commit()
    job = _run(app, job_id)
    assert job.status == jobs.FAILED
    assert "6 rows match this list, more than the 5 one export may hold" in job.error
    assert _export_logs(app) == []


def test_export_log_is_written_by_the_job(client, auth, org, held):
    """Asking writes the job only; the export log (who, screen, criteria, rows) comes when
    the job has written the file; the job reports the rows it wrote."""
    app = held
    with app.app_context():
        _seed_two_departments(org)
    auth.login("supervisor")
    job_id = _ask(client, EXPORT + "&flt0_department_equals=" + str(org.qa))
    assert _export_logs(app) == []
    job = _run(app, job_id)
    assert job.status == jobs.DONE
    assert (job.rows_done, job.rows_total, job.progress) == (3, 3, 100)
    assert job.result_name.startswith("complaint-") and job.result_name.endswith(".xlsx")
    (log,) = _export_logs(app)
    assert (log.screen, log.row_count, log.staff_id) == ("complaint", 3,
                                                         org.users["supervisor"])
    assert json.loads(log.filters)["filters"] == {"flt0_department_equals": str(org.qa)}


def test_export_job_cancelled_while_it_writes_keeps_nothing(client, auth, org, held):
    """The owner cancels while the rows are written: the job stops at its next progress
    report, keeps no file and logs no export."""
    app = held
    with app.app_context():
        _seed_two_departments(org)
    auth.login("manager")
    job_id = _ask(client, EXPORT)
    with app.app_context():  # asked while running: seen at the first progress report
        db.session.get(Job, job_id).cancel_requested = True
        db.session.commit()
    job = _run(app, job_id)
    assert job.status == jobs.CANCELLED and job.result_key is None
    assert _export_logs(app) == []


def test_export_job_title_names_the_screen_and_criteria(client, auth, org, held):
    """The job list shows what was asked for, in the asker's words."""
    app = held
    auth.login("intake")
    job_id = _ask(client, "/admin/complaint/export/xlsx/?flt0_status_equals=in_progress")
    with app.app_context():
        title = db.session.get(Job, job_id).title
    assert title == "Excel export — Complaints (Status equals In progress)"
    client.get("/admin/complaint/export/xlsx/?queue=all",
               headers={"Accept-Language": "zh-CN"})
    with app.app_context():
        title = db.session.scalar(select(Job.title).order_by(Job.id.desc()).limit(1))
    assert title.startswith("Excel 导出 — ")


def test_export_job_progress_reaches_the_total(client, auth, org, app, monkeypatch):
    """Progress is reported from 0 to the total, in batches, as the rows are written."""
    import admin_views.export as export

    monkeypatch.setattr(export, "BATCH_SIZE", 2)
    seen = []
    original = jobs.JobContext.progress

    def spy(self, done, total=None, force=False):
        seen.append((done, total))
        return original(self, done, total, force)

    monkeypatch.setattr(jobs.JobContext, "progress", spy)
    with app.app_context():
        _seed_two_departments(org)
    auth.login("manager")
    status, _body, _headers = download(client, EXPORT)
    assert status == 200
    assert seen == [(0, 6), (2, 6), (4, 6), (6, 6), (6, 6)]


# --- workbooks ----------------------------------------------------------------------------


@pytest.fixture
def seeded(app, org):
    with app.app_context():
        seed(org)
    return org


def test_workbook_job_of_a_head_holds_their_department(client, auth, seeded, app):
    """A head asking for another department's workbook gets a job for their own."""
    auth.login("head_qa")
    status, body, headers = download(client, QUARTER + "&department=LOG")
    assert status == 200
    assert "period-report-2026Q4-QA.xlsx" in headers["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(body))
    assert table(wb["Summary"])["Received in the period"][0] == 4  # QA's, not LOG's
    with app.app_context():
        job = db.session.scalars(select(Job)).one()
        assert json.loads(job.params)["department"] == "QA"
        assert job.title == "Period workbook 2026Q4 — QA"
        log = db.session.scalars(select(ExportLog)).one()
        assert log.screen == "period_report" and '"department": "QA"' in log.filters


def test_workbook_job_refused_when_the_head_moved(client, auth, seeded, held):
    """The head moves to LOG before their QA workbook is made: refused, nothing logged."""
    app = held
    auth.login("head_qa")
    job_id = _ask(client, QUARTER)
    _move(app, "head_qa", department_id=seeded.log)
    job = _run(app, job_id)
    assert job.status == jobs.FAILED
    assert "your own department" in job.error
    assert _export_logs(app) == []


def test_per_person_workbook_refused_to_a_head_without_a_job(client, auth, seeded, app):
    """The per-person figures: 403 in the request for a head, and no job made."""
    auth.login("head_qa")
    assert client.get(PEOPLE).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Job)) == 0


def test_per_person_job_refused_when_the_owner_lost_the_right(client, auth, seeded, held):
    """A manager's per-person job, the manager made a department head before it runs: the
    job checks again and fails with the per-person refusal."""
    app = held
    auth.login("manager")
    job_id = _ask(client, PEOPLE)
    _move(app, "manager", role=Role.DEPT_HEAD, department_id=seeded.qa)
    job = _run(app, job_id)
    assert job.status == jobs.FAILED
    assert job.error.startswith("The per-person figures are for managers")
    assert _export_logs(app) == []


def test_monthly_workbook_job_title_and_file(client, auth, seeded, app):
    """The monthly workbook through its job: the title in the job list, the file's name."""
    auth.login("manager")
    status, _body, headers = download(client, "/admin/reports/monthly/?month=2026-11")
    assert status == 200
    assert "monthly-report-2026-11.xlsx" in headers["Content-Disposition"]
    with app.app_context():
        job = db.session.scalars(select(Job)).one()
        assert job.title == "Meeting workbook 2026-11 — all departments"
        assert (job.status, job.progress) == (jobs.DONE, 100)
