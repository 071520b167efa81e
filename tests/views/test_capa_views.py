"""纠正预防措施 screens: scope per role (list, details, edit, steps, export), creating with
numbers and links, the edit's optimistic lock, the steps and their timeline, CSRF, the
complaint page's panel, and the sweep of overdue actions.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta

import pytest
from complaint_helpers import NOW, flashes, form_data, login, make_complaint, text
from sqlalchemy import func, select

from models import (
    Category,
    CorrectiveAction,
    CorrectiveActionEvent,
    CorrectiveActionLink,
    Notification,
    db,
)
from rules import Status
from rules.capa import OVERDUE_NOTIFICATION, CapaKind, CapaStep
from rules.constants import CapaStatus
from services import capa as service
from services import clock
from services import sweep as sweep_service
from tests.factories import CSRF, export_file

URL = "/admin/corrective_action/"
QA_COMPLAINT = "TS-20261120-0901"
LOG_COMPLAINT = "TS-20261120-0902"


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


def _staff(username):
    from complaint_helpers import staff

    return staff(username)


@pytest.fixture
def cas(app, wide_org):
    """Two corrective actions opened by the manager: QA's (owner handler_qa, linked to a QA
    complaint) and LOG's (owner handler_log). Returns {"qa": (id, number), "log": …}."""
    org = wide_org
    with app.app_context():
        qa_c = make_complaint(status=Status.IN_PROGRESS, department_id=org.qa,
                              assignee_id=org.users["handler_qa"], number=QA_COMPLAINT)
        make_complaint(status=Status.IN_PROGRESS, department_id=org.log,
                       assignee_id=org.users["handler_log"], number=LOG_COMPLAINT)
        manager = _staff("manager")
        out = {}
        for key, dept, owner, number in (("qa", org.qa, "handler_qa", QA_COMPLAINT),
                                         ("log", org.log, "handler_log", LOG_COMPLAINT)):
            row = service.create({
                "kind": CapaKind.CORRECTIVE, "problem": f"{key} problem: seals leak",
                "cause": "worn mould", "action": f"{key} action: replace the mould",
                "owner_department_id": dept, "owner_id": org.users[owner],
                "category_id": None, "due_date": date(2026, 12, 15),
                "complaint_numbers": number}, manager)
            out[key] = (row.id, row.number)
        out["qa_complaint"] = qa_c
        return out


def _count(app, model):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _row(app, ca_id):
    with app.app_context():
        return db.session.get(CorrectiveAction, ca_id)


def _events(app, ca_id):
    with app.app_context():
        return [e.action for e in db.session.scalars(
            select(CorrectiveActionEvent)
            .where(CorrectiveActionEvent.corrective_action_id == ca_id)
            .order_by(CorrectiveActionEvent.id))]


def _open_and_post(client, url, **changes):
    page = client.get(url)
    assert page.status_code == 200, (url, page.status_code)
    data = form_data(text(page))
    data.update(changes)
    return client.post(url, data=data, follow_redirects=True)


# --- scope ----------------------------------------------------------------------------------

SEES = {"manager": {"qa", "log"}, "admin": {"qa", "log"}, "supervisor": {"qa", "log"},
        "executive": {"qa", "log"}, "head_qa": {"qa"}, "handler_qa": {"qa"},
        "handler_qa2": set(), "head_log": {"log"}, "handler_log": {"log"}, "head_hr": set()}


@pytest.mark.parametrize("user", sorted(SEES))
def test_list_and_details_are_scoped(app, cas, user):
    """Managers, administrators, supervisors and senior management list every corrective
    action; a head their department's; a handler those they own. Any other one is "not
    found" on its details, edit and step pages, and absent from the export."""
    client = login(app, user)
    page = text(client.get(URL))
    for key in ("qa", "log"):
        ca_id, number = cas[key]
        visible = key in SEES[user]
        assert (number in page) is visible, (user, key)
        details = client.get(f"{URL}details/?id={ca_id}")
        if visible:
            assert details.status_code == 200 and number in text(details)
        else:
            assert details.status_code == 302, (user, key)  # "Record does not exist."
            assert client.get(f"{URL}step/done/?id={ca_id}").status_code == 404
            edit = client.get(f"{URL}edit/?id={ca_id}")
            assert edit.status_code in (302, 403)
    from openpyxl import load_workbook

    export = export_file(client, f"{URL}export/xlsx/")
    assert export.status_code == 200
    data = export.data
    export.close()  # the streamed temporary file
    sheet = load_workbook(io.BytesIO(data)).active
    cells = {str(c) for row in sheet.iter_rows(values_only=True) for c in row if c}
    assert {k for k in ("qa", "log") if cas[k][1] in cells} == SEES[user]


def test_clerk_has_no_screen(app, cas):
    """A customer-service clerk: 403 on every URL of the screen, no menu entry, and no
    panel on the complaint page."""
    client = login(app, "intake")
    ca_id = cas["qa"][0]
    for url in (URL, f"{URL}details/?id={ca_id}", f"{URL}new/", f"{URL}edit/?id={ca_id}",
                f"{URL}step/done/?id={ca_id}", f"{URL}export/xlsx/"):
        assert client.get(url).status_code == 403, url
    assert "Corrective actions" not in text(client.get("/admin/"))
    complaint = text(client.get(f"/admin/complaint/details/?id={cas['qa_complaint']}"))
    assert "capa-panel" not in complaint


def test_menu_and_filters(app, cas):
    """The menu offers the screen; the status, department and overdue filters narrow it."""
    client = login(app, "manager")
    assert "Corrective actions" in text(client.get("/admin/"))
    page = text(client.get(f"{URL}?flt0_owner_department_equals={_dept(app, 'LOG')}"))
    assert cas["log"][1] in page and cas["qa"][1] not in page
    page = text(client.get(f"{URL}?flt0_status_equals={CapaStatus.DONE}"))
    assert cas["log"][1] not in page and cas["qa"][1] not in page
    page = text(client.get(f"{URL}?flt0_overdue_equals=0"))
    assert cas["log"][1] in page and cas["qa"][1] in page


def _dept(app, code):
    from models import Department

    with app.app_context():
        return db.session.scalar(select(Department.id).filter_by(code=code))


# --- create ---------------------------------------------------------------------------------


def test_manager_opens_one_for_a_complaint(app, cas):
    """From the complaint page: "Open a corrective action for this complaint" fills in the
    complaint's number and category; saved, it is numbered CA-2026-0003, linked, and its
    first event is written."""
    client = login(app, "manager")
    complaint_page = text(client.get(f"/admin/complaint/details/?id={cas['qa_complaint']}"))
    assert cas["qa"][1] in complaint_page  # the panel lists the linked one
    link = re.search(r'href="([^"]+)">Open a corrective action for this complaint',
                     complaint_page).group(1).replace("&amp;", "&")
    page = text(client.get(link))
    assert QA_COMPLAINT in page
    with app.app_context():
        category = db.session.scalar(select(Category.id).filter_by(code="product_quality"))
    assert f'<option selected value="{category}"' in page or \
        f'<option value="{category}" selected' in page
    response = _open_and_post(
        client, link, problem="lids crack", cause="cheap resin", action="change supplier",
        owner_department_id=str(_dept(app, "QA")), due_date="2026-12-31",
        complaint_numbers=f"{QA_COMPLAINT}, {LOG_COMPLAINT}")
    html = text(response)
    assert "Corrective action CA-2026-0003 opened." in html
    with app.app_context():
        row = db.session.scalar(select(CorrectiveAction).filter_by(number="CA-2026-0003"))
        assert row.status == CapaStatus.OPEN and row.created_by_id == wide_id(app, "manager")
        assert row.category_id == category and row.kind == CapaKind.CORRECTIVE
        linked = db.session.scalar(select(func.count()).select_from(CorrectiveActionLink)
                                   .filter_by(corrective_action_id=row.id))
        assert linked == 2
        row_id = row.id
    assert _events(app, row_id) == [CapaStep.CREATE]


def wide_id(app, username):
    return _staff(username).id


def test_refusals_at_their_fields_and_nothing_written(app, cas):
    """An incomplete form says what is missing next to each field (an unknown complaint
    number too); nothing is written."""
    client = login(app, "supervisor")
    before = _count(app, CorrectiveAction)
    response = _open_and_post(client, f"{URL}new/", kind="", problem="",
                              owner_department_id=str(_dept(app, "QA")),
                              owner_id=str(wide_id_in(app, "handler_log")),
                              due_date="2026-01-05", complaint_numbers="TS-19990101-0001")
    html = text(response)
    for message in ("Please fill in the kind of action.", "Please fill in the problem.",
                    "The owner must work in the owner department.",
                    "The due date must be today or later.",
                    "No complaint of yours has the number TS-19990101-0001."):
        assert message in html, message
    assert _count(app, CorrectiveAction) == before


def wide_id_in(app, username):
    with app.app_context():
        return _staff(username).id


@pytest.mark.parametrize("user", ["head_qa", "handler_qa", "executive"])
def test_only_creators_open_new_ones(app, cas, user):
    """Heads, handlers and senior management do not open corrective actions."""
    client = login(app, user)
    assert client.get(f"{URL}new/").status_code == 403
    assert client.post(f"{URL}new/", data={"problem": "x"}).status_code == 403


def test_create_without_csrf_token_is_refused(app, cas):
    """A create POST without the form's token writes nothing."""
    client = login(app, "manager")
    before = _count(app, CorrectiveAction)
    response = client.post(f"{URL}new/", data={
        "kind": CapaKind.PREVENTIVE, "problem": "p", "cause": "c", "action": "a",
        "owner_department_id": str(_dept(app, "QA")), "due_date": "2026-12-31"},
        follow_redirects=True)
    assert response.status_code == 200 and "nothing was saved" in text(response)
    assert _count(app, CorrectiveAction) == before


# --- edit -----------------------------------------------------------------------------------


def test_owner_head_edits_and_a_stale_form_is_refused(app, cas):
    """QA's head saves a new due date (an event names the change); the manager's form,
    opened before, is refused with the conflict message and changes nothing."""
    ca_id = cas["qa"][0]
    manager, head = login(app, "manager"), login(app, "head_qa")
    stale = form_data(text(manager.get(f"{URL}edit/?id={ca_id}")))
    response = _open_and_post(head, f"{URL}edit/?id={ca_id}", due_date="2026-12-20")
    assert "Record was successfully saved." in text(response)
    assert _row(app, ca_id).due_date == date(2026, 12, 20)
    assert _events(app, ca_id) == [CapaStep.CREATE, CapaStep.EDIT]
    assert "Due date: 2026-12-15 → 2026-12-20" in text(head.get(f"{URL}details/?id={ca_id}"))
    stale["problem"] = "overwritten"
    refused = text(manager.post(f"{URL}edit/?id={ca_id}", data=stale, follow_redirects=True))
    assert "This corrective action was changed by someone else after you opened it." in refused
    row = _row(app, ca_id)
    assert row.problem == "qa problem: seals leak" and row.due_date == date(2026, 12, 20)


def test_other_head_and_handlers_cannot_edit(app, cas):
    """LOG's head gets "not found" on QA's action; QA's handler (its owner) has no edit."""
    ca_id = cas["qa"][0]
    assert login(app, "head_log").get(f"{URL}edit/?id={ca_id}").status_code == 302
    owner = login(app, "handler_qa")
    assert owner.get(f"{URL}edit/?id={ca_id}").status_code == 403
    assert owner.post(f"{URL}edit/?id={ca_id}", data={"problem": "x"}).status_code == 403
    assert _row(app, ca_id).problem == "qa problem: seals leak"


# --- steps ----------------------------------------------------------------------------------


def test_done_check_not_effective_then_effective(app, cas):
    """The owner marks it done; a supervisor finds it not effective (open again, new due
    date); the head marks it done again; the manager finds it effective (closed). The
    timeline shows each step; a closed one can no longer be edited."""
    ca_id = cas["qa"][0]
    owner = login(app, "handler_qa")
    assert "step-check" not in text(owner.get(f"{URL}details/?id={ca_id}"))
    response = _open_and_post(owner, f"{URL}step/done/?id={ca_id}", note="mould replaced")
    assert _row(app, ca_id).status == CapaStatus.DONE, flashes(text(response))
    assert owner.get(f"{URL}step/check/?id={ca_id}").status_code == 302  # not theirs

    supervisor = login(app, "supervisor")
    response = _open_and_post(supervisor, f"{URL}step/check/?id={ca_id}", effective="no",
                              effect_check="two repeats", due_date="")
    assert "Please fill in the new due date." in text(response)
    assert _row(app, ca_id).status == CapaStatus.DONE
    _open_and_post(supervisor, f"{URL}step/check/?id={ca_id}", effective="no",
                   effect_check="two repeats", due_date="2027-01-15")
    row = _row(app, ca_id)
    assert row.status == CapaStatus.OPEN and row.due_date == date(2027, 1, 15)
    assert row.effective is False

    _open_and_post(login(app, "head_qa"), f"{URL}step/done/?id={ca_id}", note="new mould")
    manager = login(app, "manager")
    _open_and_post(manager, f"{URL}step/check/?id={ca_id}", effective="yes",
                   effect_check="no repeats in January")
    row = _row(app, ca_id)
    assert row.status == CapaStatus.EFFECTIVE and row.effective is True
    assert _events(app, ca_id) == [CapaStep.CREATE, CapaStep.DONE, CapaStep.CHECK,
                                   CapaStep.DONE, CapaStep.CHECK]
    page = text(manager.get(f"{URL}details/?id={ca_id}"))
    for shown in ("Marked done", "Effect checked", "mould replaced", "two repeats",
                  "Due date: 2026-12-15 → 2027-01-15", "no repeats in January"):
        assert shown in page, shown
    edit = manager.get(f"{URL}edit/?id={ca_id}", follow_redirects=True)
    assert "no longer open" in text(edit)


def test_cancel_by_a_manager_with_a_reason(app, cas):
    """Only a manager cancels, and says why; the head is refused."""
    ca_id = cas["log"][0]
    assert login(app, "head_log").get(f"{URL}step/cancel/?id={ca_id}").status_code == 302
    manager = login(app, "manager")
    response = _open_and_post(manager, f"{URL}step/cancel/?id={ca_id}", reason="")
    assert "Please fill in the reason." in text(response)
    _open_and_post(manager, f"{URL}step/cancel/?id={ca_id}", reason="merged into another")
    assert _row(app, ca_id).status == CapaStatus.CANCELLED
    assert "merged into another" in text(manager.get(f"{URL}details/?id={ca_id}"))


def test_step_without_csrf_or_with_a_stale_version_is_refused(app, cas):
    """A step posted without the token, or on a version changed since, writes nothing."""
    ca_id = cas["qa"][0]
    owner = login(app, "handler_qa")
    html = text(owner.get(f"{URL}step/done/?id={ca_id}"))
    form = form_data(html)
    no_token = {k: v for k, v in form.items() if k != "csrf_token"}
    owner.post(f"{URL}step/done/?id={ca_id}", data={**no_token, "note": "x"})
    assert _row(app, ca_id).status == CapaStatus.OPEN
    _open_and_post(login(app, "head_qa"), f"{URL}edit/?id={ca_id}", due_date="2026-12-20")
    response = owner.post(f"{URL}step/done/?id={ca_id}", data={**form, "note": "x"},
                          follow_redirects=True)
    assert "changed by someone else" in text(response)
    assert _row(app, ca_id).status == CapaStatus.OPEN
    assert CSRF.search(html)


# --- the complaint page's panel -------------------------------------------------------------


def test_panel_on_the_complaint_page(app, cas):
    """QA's head sees the linked action on the complaint page, without the link to open
    one; the manager sees both."""
    head = text(login(app, "head_qa").get(f"/admin/complaint/details/?id={cas['qa_complaint']}"))
    assert cas["qa"][1] in head and "capa-open-for-complaint" not in head
    manager = text(login(app, "manager").get(
        f"/admin/complaint/details/?id={cas['qa_complaint']}"))
    assert cas["qa"][1] in manager and "capa-open-for-complaint" in manager


# --- the sweep ------------------------------------------------------------------------------


def test_sweep_marks_overdue_once_and_tells_owner_and_head(app, cas):
    """Past its due date (company date), an open action is marked once: an event, and a
    notification to the owner and the owner department's head; the list marks it and the
    overdue filter finds it. Done or marked ones are left alone."""
    later = NOW + timedelta(days=30)  # 2026-12-24: both are past 2026-12-15
    with app.app_context():
        assert service.sweep(datetime(2026, 12, 15, 23, 59)) == 0  # due today: not yet
        owner = _staff("handler_log")
        service.take_step(cas["log"][0], CapaStep.DONE, {"note": "done"}, owner,
                          expected_version=1, now=NOW)
        result = sweep_service.sweep(later)
        assert result.corrective == 1
        assert service.sweep(later) == 0
        row = db.session.get(CorrectiveAction, cas["qa"][0])
        assert row.overdue_since == later
        told = set(db.session.scalars(select(Notification.recipient_id)
                                      .filter_by(kind=OVERDUE_NOTIFICATION)))
        assert told == {_staff("handler_qa").id, _staff("head_qa").id}
    assert _events(app, cas["qa"][0])[-1] == CapaStep.OVERDUE
    assert _events(app, cas["log"][0])[-1] == CapaStep.DONE
    client = login(app, "manager")
    page = text(client.get(f"{URL}?flt0_overdue_equals=1"))
    assert cas["qa"][1] in page and cas["log"][1] not in page and "capa-overdue" in page
    notes = text(login(app, "head_qa").get("/admin/notifications/"))
    assert "Corrective action past its due date" in notes
    assert f'<a href="{URL}details/?id={cas["qa"][0]}">{cas["qa"][1]}</a>' in notes


def test_chinese_screen(app, cas):
    """The screen, its labels and statuses in Chinese for a zh-CN browser."""
    client = login(app, "manager")
    html = text(client.get(f"{URL}details/?id={cas['qa'][0]}",
                           headers={"Accept-Language": "zh-CN"}))
    for shown in ("纠正预防措施", "责任部门", "未结", "纠正"):
        assert shown in html, shown


def test_never_deleted(app, cas):
    """No delete: the endpoint and the bulk action answer 403, even to the administrator."""
    client = login(app, "admin")
    ca_id = cas["qa"][0]
    token = form_data(text(client.get(f"{URL}edit/?id={ca_id}")))["csrf_token"]
    assert client.post(f"{URL}delete/", data={"id": ca_id, "csrf_token": token}
                       ).status_code == 403
    assert client.post(f"{URL}action/", data={"action": "delete", "rowid": ca_id,
                                               "csrf_token": token}).status_code == 403
    assert _row(app, ca_id) is not None


def test_list_queries_do_not_grow_with_rows(app, cas):
    """The list runs as many SELECTs for 2 actions as for 6 (owners and departments
    joined, no query per row)."""
    from tests.factories import recorded_statements

    client = login(app, "manager")
    client.get(URL)

    def selects():
        with recorded_statements(app) as statements:
            assert client.get(URL).status_code == 200
        return sum(1 for s in statements if s.lstrip().upper().startswith("SELECT"))

    few = selects()
    with app.app_context():
        manager = _staff("manager")
        for n in range(4):
            service.create({"kind": CapaKind.PREVENTIVE, "problem": f"p{n}", "cause": "c",
                            "action": "a", "owner_department_id": _staff("head_log").department_id,
                            "owner_id": _staff("handler_log").id, "category_id": None,
                            "due_date": date(2026, 12, 15)}, manager)
    assert selects() == few


def test_a_head_cannot_give_the_action_away(app, cas):
    """QA's head may not move QA's action to logistics (a manager may); nothing changes."""
    ca_id = cas["qa"][0]
    response = _open_and_post(login(app, "head_qa"), f"{URL}edit/?id={ca_id}",
                              owner_department_id=str(_dept(app, "LOG")), owner_id="")
    assert "A department head may not give a corrective action to another department" in \
        text(response)
    assert _row(app, ca_id).owner_department_id == _dept(app, "QA")
    _open_and_post(login(app, "manager"), f"{URL}edit/?id={ca_id}",
                   owner_department_id=str(_dept(app, "LOG")), owner_id="")
    row = _row(app, ca_id)
    assert row.owner_department_id == _dept(app, "LOG") and row.owner_id is None
    assert login(app, "head_qa").get(f"{URL}details/?id={ca_id}").status_code == 302
