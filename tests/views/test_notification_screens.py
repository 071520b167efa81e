"""The bell, "My notifications" and the dashboard's unread list: per user, scoped at read
time, mark read / mark all read by POST with CSRF, a fixed number of queries per page."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from models import Notification, db
from services.complaints import perform
from tests.factories import recorded_statements
from tests.views.complaint_helpers import LIST, NOW, act, login, make_complaint, staff, token

PAGE = "/admin/notifications/"


def unread(html: str) -> int:
    match = re.search(r'class="badge badge-danger desk-unread">(\d+)<', html)
    return int(match.group(1)) if match else 0


def bell(client) -> int:
    response = client.get(LIST)
    assert response.status_code == 200
    return unread(response.get_data(as_text=True))


def forwarded(app, org, *, number, to="handler_qa") -> int:
    """A complaint forwarded to QA and assigned (the head and ``to`` are told)."""
    with app.app_context():
        cid = make_complaint(status="accepted", number=number, due_at=NOW + timedelta(days=1))
        perform(cid, "forward", staff("manager"),
                {"department_id": org.qa, "assignee_id": org.users[to]}, now=NOW)
        db.session.commit()
        return cid


def test_bell_and_page_show_each_user_their_own(app, org):
    forwarded(app, org, number="TS-20261124-0001")
    forwarded(app, org, number="TS-20261124-0002", to="handler_qa2")
    handler, head, intake = (login(app, u) for u in ("handler_qa", "head_qa", "intake"))
    assert (bell(handler), bell(head), bell(intake)) == (1, 2, 0)
    html = handler.get(PAGE).get_data(as_text=True)
    assert "TS-20261124-0001" in html and "TS-20261124-0002" not in html
    assert "Forwarded to your department" in html
    page = head.get(PAGE).get_data(as_text=True)
    # Newest first, each linked to its complaint.
    assert page.index("TS-20261124-0002") < page.index("TS-20261124-0001")
    assert page.count('href="/admin/complaint/details/?id=') == 2
    assert intake.get(PAGE).status_code == 200


def test_page_in_chinese(app, org):
    forwarded(app, org, number="TS-20261124-0003")
    handler = login(app, "handler_qa")
    handler.post("/language", data={"lang": "zh_Hans_CN", "csrf_token": token(handler),
                                    "next": PAGE})
    html = handler.get(PAGE).get_data(as_text=True)
    assert "我的通知" in html and "已转交至您的部门" in html


def _ids(app, username):
    with app.app_context():
        return db.session.scalars(select(Notification.id).where(
            Notification.recipient_id == staff(username).id).order_by(Notification.id)).all()


def test_mark_read_and_mark_all_read(app, org):
    forwarded(app, org, number="TS-20261124-0004")
    forwarded(app, org, number="TS-20261124-0005")
    head = login(app, "head_qa")
    first, second = _ids(app, "head_qa")
    # Without the CSRF token: nothing changes.
    head.post(f"{PAGE}read/", data={"id": first})
    assert bell(head) == 2
    # Someone else's notification: nothing changes.
    other = login(app, "handler_qa")
    other.post(f"{PAGE}read/", data={"id": first, "csrf_token": token(other, PAGE)})
    assert bell(head) == 2
    response = head.post(f"{PAGE}read/", data={"id": first, "csrf_token": token(head, PAGE)})
    assert response.status_code == 302
    assert bell(head) == 1
    head.post(f"{PAGE}read-all/", data={"csrf_token": token(head, PAGE)})
    assert bell(head) == 0
    assert bell(other) == 2
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Notification).where(
            Notification.id.in_((first, second)), Notification.read_at.is_(None))) == 0


def test_a_handler_reassigned_away_no_longer_sees_it(app, org):
    cid = forwarded(app, org, number="TS-20261124-0006")
    handler = login(app, "handler_qa")
    assert bell(handler) == 1
    with app.app_context():
        perform(cid, "assign", staff("head_qa"), {"assignee_id": org.users["handler_qa2"]},
                now=NOW)
        db.session.commit()
    assert bell(handler) == 0
    assert "TS-20261124-0006" not in handler.get(PAGE).get_data(as_text=True)
    assert "TS-20261124-0006" not in handler.get("/admin/").get_data(as_text=True)
    assert bell(login(app, "handler_qa2")) == 1


def test_dashboard_lists_the_unread(app, org):
    forwarded(app, org, number="TS-20261124-0007")
    handler = login(app, "handler_qa")
    html = handler.get("/admin/").get_data(as_text=True)
    assert "dash-notifications" in html and "TS-20261124-0007" in html
    handler.post(f"{PAGE}read-all/", data={"csrf_token": token(handler, PAGE)})
    assert "dash-notifications" not in handler.get("/admin/").get_data(as_text=True)


def _statements(app, client, url):
    client.get(url)  # the first page of a process reads the reference tables (a minute)
    with recorded_statements(app) as seen:
        response = client.get(url)
    assert response.status_code == 200
    return len(seen), unread(response.get_data(as_text=True))


def test_list_page_queries_do_not_grow_with_the_notifications(app, org):
    cid = forwarded(app, org, number="TS-20261124-0008")
    handler = login(app, "handler_qa")
    few = _statements(app, handler, LIST)
    with app.app_context():
        me = staff("handler_qa").id
        db.session.add_all(Notification(created_at=NOW, recipient_id=me, complaint_id=cid,
                                        kind="urge") for _ in range(40))
        db.session.commit()
    many = _statements(app, handler, LIST)
    assert few[1] == 1 and many[1] == 41
    assert few[0] == many[0]


def test_an_assignment_in_one_browser_shows_on_the_handlers_next_page(app, org):
    """The head assigns through the action form; the handler, signed in elsewhere, sees the
    bell go up on the next page they open, and the notification names the complaint."""
    with app.app_context():
        cid = make_complaint(status="forwarded", department_id=org.qa,
                             number="TS-20261124-0009", due_at=NOW + timedelta(days=3))
    handler, head = login(app, "handler_qa"), login(app, "head_qa")
    before = bell(handler)
    response = act(head, cid, "assign", assignee_id=org.users["handler_qa"])
    assert response.status_code in (200, 302)
    assert bell(handler) == before + 1
    html = handler.get(PAGE).get_data(as_text=True)
    assert "TS-20261124-0009" in html
