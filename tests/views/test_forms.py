"""The complaint forms as a clerk, a handler, a head and an administrator meet them (issue 11,
parts 1, 5 and 11): every error at once next to its field, required markers, hints,
autofocus, amounts and phones as people write them, a form that outlives its token, the
forward form's suggested department and its people, and the slips (one success flash, no
"。;", no ASCII colon in Chinese)."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from complaint_helpers import (
    LIST,
    NOW,
    act,
    act_url,
    flashes,
    login,
    make_complaint,
    snapshot,
    text,
    token,
)
from complaint_helpers import form_data as _form
from sqlalchemy import select

from models import Category, Complaint, Department, Staff, db
from services import clock

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)


def _input(html, name) -> str:
    """The opening tag of the field ``name`` (input, select or textarea)."""
    match = re.search(r'<(?:input|select|textarea)[^>]*name="' + name + r'"[^>]*>', html)
    assert match, f"no field {name}"
    return match.group(0)


def _error(html, name) -> str:
    """The error shown next to the field ``name`` ('' when none)."""
    match = re.search(r'<div class="invalid-feedback[^"]*" id="' + name + r'-error">(.*?)</div>',
                      html, re.S)
    return match.group(1).strip() if match else ""


def _registration(client, headers=None, **values):
    data = _form(text(client.get(f"{LIST}new/", headers=headers)))
    data.update(customer_name="王五", customer_phone="13912345678", title="冰箱不制冷",
                description="买了三天就坏了")
    data.update(values)
    return client.post(f"{LIST}new/", data=data, headers=headers)


# --- part 1: every error at once, next to its field ---------------------------------------


def test_registration_shows_every_error_next_to_its_field_at_once(app, org):
    """A bad phone, a bad e-mail and no title: one page with three errors, each next to its
    field (is-invalid, aria-invalid, aria-describedby), the entries kept, focus on the first
    wrong field, nothing saved, and no "Failed to create record."."""
    client = login(app, "intake")
    page = _registration(client, customer_phone="12345", customer_email="wang@", title="")
    html = text(page)
    assert page.status_code == 200
    for name in ("customer_phone", "customer_email", "title"):
        tag = _input(html, name)
        assert "is-invalid" in tag and 'aria-invalid="true"' in tag, name
        assert f'aria-describedby="{name}-error' in tag, name
        assert _error(html, name), name
    assert "11-digit mobile" in _error(html, "customer_phone")
    assert "autofocus" in _input(html, "customer_phone")  # the first wrong field
    assert "autofocus" not in _input(html, "kind")
    assert 'value="王五"' in _input(html, "customer_name")  # the entries are kept
    assert "is-invalid" not in _input(html, "customer_name")
    assert "Nothing was saved: 3 fields need correcting." in flashes(html)
    assert "Failed to create record" not in html
    with app.app_context():
        assert db.session.scalar(select(Complaint)) is None


def test_the_same_errors_in_chinese_with_chinese_colons(app, org):
    """In Chinese: the phone's expected format in words, and the summary with ：."""
    client = login(app, "intake")
    html = text(_registration(client, headers=ZH, customer_phone="abc"))
    assert "11 位手机号" in _error(html, "customer_phone")
    summary = flashes(html)
    assert "未保存：有 1 处需要更正。" in summary
    assert "客户电话：电话号码格式不正确" in summary
    assert not re.search(r"[\u4e00-\u9fff]:", summary)


def test_a_clerk_relaying_from_a_department_gets_the_same_field_errors(app, org):
    """A handler registering a relayed complaint: the missing description next to its field."""
    client = login(app, "handler_qa")
    html = text(_registration(client, description=""))
    assert "Please fill in the description." in _error(html, "description")
    with app.app_context():
        assert db.session.scalar(select(Complaint)) is None


def test_required_markers_hints_and_autofocus_on_the_empty_form(app, org):
    """Required fields are marked (visible * and required / aria-required), the phone has
    its format hint linked by aria-describedby, the first field has the focus."""
    html = text(login(app, "intake").get(f"{LIST}new/"))
    for name in ("customer_name", "title", "description"):
        tag = _input(html, name)
        assert "required" in tag and 'aria-required="true"' in tag, name
        assert re.search(r'<label for="' + name + r'">[^<]*<span class="desk-required', html)
    assert "required" not in _input(html, "demand")
    phone = _input(html, "customer_phone")
    assert 'aria-describedby="customer_phone-hint"' in phone
    assert 'id="customer_phone-hint">11-digit mobile, or a landline with its area code' in html
    assert "autofocus" in _input(html, "kind")
    assert "novalidate" in html  # the server's errors, all at once, not the browser's one


def test_phone_with_country_code_and_separators_is_stored_normalised_and_masked(app, org):
    """"+86 (139) 1234-5678" is stored as 13912345678; a supervisor sees 139****5678."""
    client = login(app, "intake")
    page = _registration(client, customer_phone="+86 (139) 1234-5678")
    assert page.status_code == 302
    with app.app_context():
        c = db.session.scalar(select(Complaint))
        assert c.customer_phone == c.customer_phone_norm == "13912345678"
        cid = c.id
    html = text(login(app, "supervisor").get(f"{LIST}details/?id={cid}"))
    assert "139****5678" in html and "13912345678" not in html


def test_one_success_message_after_registering(app, org):
    """Registering says "Complaint … registered." once, and not also Flask-Admin's message."""
    client = login(app, "intake")
    page = client.get(_registration(client).headers["Location"])
    html = text(page)
    assert len(re.findall(r"Complaint TS-\d{8}-\d{4} registered\.", html)) == 1
    assert "Record was successfully created" not in html


def test_closed_complaint_edit_asks_for_the_reason_next_to_its_field(app, org):
    """A manager's save of a closed complaint without a reason (and an empty description):
    both fields say so at once."""
    with app.app_context():
        cid = make_complaint(status="closed", department_id=org.qa, closed_at=NOW,
                             description="")
    client = login(app, "manager")
    data = _form(text(client.get(f"{LIST}edit/?id={cid}")))
    data.update(title="Corrected", reason="")
    html = text(client.post(f"{LIST}edit/?id={cid}", data=data))
    assert "please give the reason for the change" in _error(html, "reason")
    assert "Please fill in the description." in _error(html, "description")  # both at once
    assert "autofocus" in _input(html, "description")  # the first wrong field
    assert "Failed to save record" not in html


def test_edit_summary_uses_chinese_colons(app, org):
    """The edit page's status line reads 状态：已登记, not 状态: 已登记."""
    with app.app_context():
        cid = make_complaint()
    html = text(login(app, "intake").get(f"{LIST}edit/?id={cid}", headers=ZH))
    assert "状态：" in html and "状态:" not in html


# --- part 1: a form left open through a long call --------------------------------------


def _old_token(app, client, minutes_ago):
    """The token a form rendered ``minutes_ago`` with WTForms' 30-minute limit would carry."""
    with client.session_transaction() as session:
        secret_id = session["csrf"]
    expires = (datetime.now() - timedelta(minutes=minutes_ago - 30)).strftime("%Y%m%d%H%M%S")
    mac = hmac.new(app.secret_key.encode(), (secret_id + expires).encode(), hashlib.sha1)
    return f"{expires}##{mac.hexdigest()}"


def test_a_registration_form_open_for_two_hours_still_saves(app, org):
    """A token issued two hours ago (before: "CSRF token expired") is still good while the
    session lasts."""
    client = login(app, "intake")
    data = _form(text(client.get(f"{LIST}new/")))
    data.update(customer_name="王五", customer_phone="13912345678", title="t", description="d",
                csrf_token=_old_token(app, client, 120))
    page = client.post(f"{LIST}new/", data=data)
    assert page.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Complaint.title)) == "t"


def test_a_refused_token_keeps_every_entry_and_says_why_in_chinese(app, org):
    """A token from another session: a Chinese message, every entry kept, a fresh token,
    nothing saved; sending again then works."""
    client = login(app, "intake")
    page = _registration(client, headers=ZH, csrf_token="20200101000000##forged")
    html = text(page)
    assert page.status_code == 200
    assert "尚未保存任何内容" in flashes(html) and "您填写的内容已保留" in flashes(html)
    assert "Failed to create record" not in html and "CSRF" not in flashes(html)
    assert 'value="王五"' in _input(html, "customer_name")
    assert "买了三天就坏了" in html
    with app.app_context():
        assert db.session.scalar(select(Complaint)) is None
    again = client.post(f"{LIST}new/", data=_form(html), headers=ZH)
    assert again.status_code == 302


def test_an_action_form_with_a_refused_token_keeps_its_entries(app, org):
    """The reject form sent with a bad token: the reason typed is still there."""
    with app.app_context():
        cid = make_complaint()
    client = login(app, "intake")
    page = client.post(act_url(cid, "reject"),
                       data={"csrf_token": "x##y", "version": "1", "reason": "重复来电"})
    html = text(page)
    assert "nothing was saved" in flashes(html) and "重复来电" in html


# --- part 1: amounts as people write them, every error of an action at once --------------


@pytest.fixture
def in_progress(app, org):
    with app.app_context():
        return make_complaint(status="in_progress", department_id=org.qa,
                              assignee_id=org.users["handler_qa"])


def test_resolve_accepts_an_amount_with_separator_and_currency_sign(app, org, in_progress):
    """A handler writes "￥1,200.50": the compensation is 1200.50."""
    page = act(login(app, "handler_qa"), in_progress, "resolve", root_cause="批次缺陷",
               responsibility="company", remedy="compensation",
               compensation_amount="￥1,200.50", resolution="已赔偿")
    assert page.request.path == f"{LIST}details/"
    with app.app_context():
        amount = db.session.scalar(select(Complaint.compensation_amount))
        assert amount == Decimal("1200.50")


def test_resolve_shows_every_wrong_input_next_to_its_field(app, org, in_progress):
    """No root cause, no responsibility and the amount "1,2": three errors at once, the
    amount's hint saying what is expected, nothing changed."""
    client = login(app, "handler_qa")
    with app.app_context():
        before = snapshot()
    page = act(client, in_progress, "resolve", root_cause="", responsibility="",
               remedy="compensation", compensation_amount="1,2", resolution="已赔偿")
    html = text(page)
    assert "Please fill in the root cause." in _error(html, "root_cause")
    assert "Please fill in the responsibility." in _error(html, "responsibility")
    assert "1,200.50" in _error(html, "compensation_amount")
    assert "autofocus" in _input(html, "root_cause")
    assert 'value="1,2"' in _input(html, "compensation_amount")
    assert "required" in _input(html, "resolution")
    assert "required" not in _input(html, "compensation_amount")  # optional but for compensation
    with app.app_context():
        assert snapshot() == before


def test_a_refusal_about_no_field_stays_at_the_top(app, org, in_progress):
    """A stale version is about the whole form: it is shown at the top of it."""
    client = login(app, "handler_qa")
    data = {"csrf_token": token(client), "version": "99", "root_cause": "a",
            "responsibility": "company", "remedy": "repair", "resolution": "b"}
    html = text(client.post(act_url(in_progress, "resolve"), data=data))
    assert "changed by someone else" in flashes(html)
    assert "is-invalid" not in html


# --- part 5: forward ---------------------------------------------------------------------


@pytest.fixture
def accepted(app, wide_org):
    """An accepted delivery complaint; the delivery category's usual department is LOG."""
    with app.app_context():
        category = db.session.scalar(select(Category).filter_by(code="delivery"))
        category.default_department_id = wide_org.log
        db.session.commit()
        return make_complaint(status="accepted", category="delivery",
                              category_id=category.id)


def _options(html, name):
    body = re.search(r'<select[^>]*name="' + name + r'"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r"<option([^>]*)>([^<]*)</option>", body)


def test_forward_form_suggests_the_categorys_department(app, wide_org, accepted):
    """The department of the category is pre-selected and named as the suggestion."""
    html = text(login(app, "intake").get(act_url(accepted, "forward")))
    selected = [attrs for attrs, _label in _options(html, "department_id") if "selected" in attrs]
    assert selected and f'value="{wide_org.log}"' in selected[0]
    assert "Suggested for the category" in html and "物流部" in html


def test_forward_people_name_their_department_and_the_script_is_loaded(app, wide_org, accepted):
    """Each person carries data-department (forward.js filters on it); forward.js is loaded
    with the page's nonce on the forward form only."""
    client = login(app, "intake")
    html = text(client.get(act_url(accepted, "forward")))
    people = [attrs for attrs, _l in _options(html, "assignee_id") if "data-department" in attrs]
    with app.app_context():
        handler_log = db.session.get(Staff, wide_org.users["handler_log"])
        assert any(f'data-department="{wide_org.log}"' in a and f'value="{handler_log.id}"' in a
                   for a in people)
    assert re.search(r'<script nonce="[^"]+" src="/static/desk/forward.js">', html)
    script = client.get("/static/desk/forward.js")
    assert script.status_code == 200 and b"data-department" in script.data
    script.close()
    other = text(client.get(act_url(accepted, "reject")))
    assert "forward.js" not in other


def test_forward_to_a_person_of_another_department_is_refused_next_to_the_field(
        app, wide_org, accepted):
    """LOG chosen, QA's handler posted: refused beside the person field, nothing changed."""
    client = login(app, "intake")
    with app.app_context():
        before = snapshot()
    html = text(act(client, accepted, "forward", department_id=str(wide_org.log),
                    assignee_id=str(wide_org.users["handler_qa"])))
    assert "does not work in the responsible department" in _error(html, "assignee_id")
    with app.app_context():
        assert snapshot() == before


def test_department_without_an_active_head_is_marked_and_refused(app, wide_org, accepted):
    """LOG's head is deactivated: LOG is shown disabled with the reason, and a forward
    posted to it anyway is refused beside the department field; nothing changes."""
    with app.app_context():
        db.session.get(Staff, wide_org.users["head_log"]).active = False
        db.session.commit()
        before = snapshot()
    client = login(app, "intake")
    html = text(client.get(act_url(accepted, "forward")))
    log = [(a, label) for a, label in _options(html, "department_id")
           if f'value="{wide_org.log}"' in a]
    assert log and "disabled" in log[0][0] and "no active head" in log[0][1]
    assert "selected" not in log[0][0]  # not suggested any more
    html = text(act(client, accepted, "forward", department_id=str(wide_org.log)))
    assert "no active head" in _error(html, "department_id")
    with app.app_context():
        assert snapshot() == before


def test_forward_done_with_the_suggested_department_and_its_person(app, wide_org, accepted):
    """Sent as suggested, with LOG's handler: forwarded to LOG, in progress with them."""
    page = act(login(app, "intake"), accepted, "forward", department_id=str(wide_org.log),
               assignee_id=str(wide_org.users["handler_log"]))
    assert page.request.path == f"{LIST}details/"
    with app.app_context():
        c = db.session.get(Complaint, accepted)
        assert (c.department_id, c.assignee_id) == (wide_org.log, wide_org.users["handler_log"])


def test_admin_sets_a_categorys_usual_department(app, wide_org):
    """The category form has the usual department; the administrator's choice is saved."""
    client = login(app, "admin")
    with app.app_context():
        cat = db.session.scalar(select(Category).filter_by(code="billing"))
        cat_id = cat.id
    url = f"/admin/category/edit/?id={cat_id}"
    data = _form(text(client.get(url)))
    assert "default_department" in data
    data["default_department"] = str(wide_org.qa)
    client.post(url, data=data)
    with app.app_context():
        assert db.session.get(Category, cat_id).default_department_id == wide_org.qa
    assert login(app, "intake").post(url, data=data).status_code == 403


def test_head_assigning_a_person_of_another_department_is_told_beside_the_field(app, org):
    """A head's assign form posted with LOG's handler: refused next to the handler field."""
    with app.app_context():
        cid = make_complaint(status="forwarded", department_id=org.qa)
    html = text(act(login(app, "head_qa"), cid, "assign",
                    assignee_id=str(org.users["handler_log"])))
    assert "does not work in the responsible department" in _error(html, "assignee_id")


# --- bulk ----------------------------------------------------------------------------------


def test_bulk_forward_without_department_is_shown_next_to_the_field(app, org):
    """Bulk forward with no department: the form again, the error beside the field."""
    with app.app_context():
        ids = [make_complaint(status="accepted") for _ in range(2)]
    client = login(app, "intake")
    data = {"csrf_token": token(client), "rowid": [str(i) for i in ids], "department_id": ""}
    html = text(client.post(f"{LIST}bulk/forward/", data=data))
    assert "Please fill in the target department." in _error(html, "department_id")
    assert "required" in _input(html, "department_id")


def test_bulk_refusals_in_chinese_have_no_semicolon_after_the_full_stop(app, org):
    """Two refused closes in Chinese: "TS-…：原因。TS-…：原因。", never "。;"."""
    with app.app_context():
        ids = [make_complaint(status="registered") for _ in range(2)]
    client = login(app, "intake")
    page = client.post(f"{LIST}bulk/close/", headers=ZH, follow_redirects=True,
                       data={"csrf_token": token(client), "confirm": "y",
                             "rowid": [str(i) for i in ids]})
    refused = flashes(text(page))
    assert "TS-" in refused and "。;" not in refused and "。；" not in refused
    assert re.search(r"TS-\d{8}-\d{4}：", refused)


def test_department_choice_counts_only_active_departments(app, wide_org):
    """A department made inactive is not offered at all (not even marked)."""
    with app.app_context():
        db.session.get(Department, wide_org.hr).active = False
        db.session.commit()
        cid = make_complaint(status="accepted")
    html = text(login(app, "intake").get(act_url(cid, "forward")))
    values = [attrs for attrs, _label in _options(html, "department_id")]
    assert not any(f'value="{wide_org.hr}"' in attrs for attrs in values)
    assert any(f'value="{wide_org.qa}"' in attrs for attrs in values)


def test_a_settings_form_open_for_two_hours_still_saves(app, wide_org):
    """Every generated form shares the session-long token: the administrator's category
    form opened two hours ago still saves."""
    client = login(app, "admin")
    with app.app_context():
        cat_id = db.session.scalar(select(Category.id).filter_by(code="billing"))
    url = f"/admin/category/edit/?id={cat_id}"
    data = _form(text(client.get(url)))
    data.update(name="账单与发票", csrf_token=_old_token(app, client, 120))
    assert client.post(url, data=data).status_code == 302
    with app.app_context():
        assert db.session.get(Category, cat_id).name == "账单与发票"


def test_editing_a_complaint_with_an_old_style_number_keeps_it(app, org):
    """A number on file from before (7 digits, no area code) does not block an edit of the
    title; the clerk is not made to fix what she did not touch."""
    with app.app_context():
        cid = make_complaint(phone="5550172", category="delivery")
    client = login(app, "intake")
    data = _form(text(client.get(f"{LIST}edit/?id={cid}")))
    data.update(title="标题更正", description="d")
    assert client.post(f"{LIST}edit/?id={cid}", data=data).status_code == 302
    with app.app_context():
        c = db.session.get(Complaint, cid)
        assert (c.title, c.customer_phone) == ("标题更正", "5550172")


def test_typing_through_a_long_call_keeps_the_session_and_the_form_saves(app, org, monkeypatch):
    """The form pages load form_activity.js; its keep-alive (sent while the clerk types)
    counts as activity: a registration sent 50 minutes after the form was opened, with a
    keep-alive at 25 minutes, is saved. Without it the idle timeout (30 min) ends the
    session; an anonymous keep-alive gets the login page, not a 204."""
    from tests.views.login_helpers import freeze

    frozen = freeze(monkeypatch, NOW)
    client = login(app, "intake")
    html = text(client.get(f"{LIST}new/"))
    assert "form_activity.js" in html
    url = re.search(r'data-keepalive-url="([^"]+)"', html).group(1)
    data = _form(html)
    data.update(customer_name="王五", customer_phone="13912345678", title="t", description="d")
    frozen.advance(minutes=25)
    assert client.get(url).status_code == 204
    frozen.advance(minutes=25)
    assert client.post(f"{LIST}new/", data=data).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Complaint.title)) == "t"
    assert app.test_client().get(url).status_code == 302


# --- the phone rings: register, accept and forward without the pages between ---------------


def test_save_accept_and_forward_goes_straight_to_the_forward_form(app, org):
    """Customer service's "Save, accept and forward": registered, accepted by the rules as
    the button would, and the forward form next (the detail page and the accept click
    skipped); the category's usual department is suggested there."""
    with app.app_context():
        category = db.session.scalar(select(Category.id).order_by(Category.id).limit(1))
    client = login(app, "intake")
    page = _registration(client, then="forward", category_id=str(category))
    assert page.status_code == 302
    with app.app_context():
        complaint = db.session.scalars(select(Complaint).order_by(Complaint.id.desc())).first()
        assert complaint.status == "accepted" and complaint.customer_name == "王五"
        cid = complaint.id
    assert page.location.endswith(f"/admin/complaint/act/forward/?id={cid}")
    form = client.get(page.location)
    assert form.status_code == 200 and 'name="department_id"' in text(form)


def test_save_and_forward_without_a_category_says_why_on_the_complaint(app, org):
    """No category yet: registered, not accepted (the rules' reason on its page)."""
    client = login(app, "intake")
    page = _registration(client, then="forward", category_id="")
    assert page.status_code == 302 and "/details/" in page.location
    html = text(client.get(page.location))
    assert "Choose the complaint&#39;s category before accepting it." in html
    with app.app_context():
        complaint = db.session.scalars(select(Complaint).order_by(Complaint.id.desc())).first()
        assert complaint.status == "registered"


def test_only_roles_that_accept_are_offered_save_and_forward(app, org):
    """A handler relays what they registered to customer service: no such button, and a
    forged ``then=forward`` registers only (customer service accepts it)."""
    assert 'value="forward"' in text(login(app, "intake").get(f"{LIST}new/"))
    handler = login(app, "handler_qa")
    assert 'value="forward"' not in text(handler.get(f"{LIST}new/"))
    page = _registration(handler, then="forward")
    assert page.status_code == 302 and "/act/" not in page.location
    with app.app_context():
        complaint = db.session.scalars(select(Complaint).order_by(Complaint.id.desc())).first()
        assert complaint.status == "registered"


def test_the_received_time_is_filled_in_with_now(app, org):
    """The call came in as the form was opened: 接收时间 is filled in (company time)."""
    html = text(login(app, "intake").get(f"{LIST}new/"))
    assert f'value="{clock.now():%Y-%m-%dT%H:%M}"' in _input(html, "received_at")
