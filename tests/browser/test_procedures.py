"""Issue 12 "done when", in a real browser: a critical product complaint shared by two
departments goes from forward through the plan's approval (the head, then senior
management), the customer's agreement, the assisting department's part, the resolution,
two callbacks and closing; then the manager downloads the quarter's workbook and finds it
in the right rows. Each person signs in through the login page and works from their
dashboard and the complaint page; every page is checked by axe-core.
"""

from __future__ import annotations

import openpyxl
from selenium.webdriver.common.by import By

from tests.browser.flows import (
    CUSTOMER,
    act,
    errors,
    flash,
    job_file,
    login,
    open_complaint,
    tile,
)

# (code, name, (head username, name), (handler username, name))
DEPARTMENTS = [("EQ", "电器质量部", ("head_eq", "钱主任"), ("handler_eq", "赵工")),
               ("WH", "仓储部", ("head_wh", "冯主任"), ("handler_wh", "蒋师傅"))]
PLAN = "上门检测并更换新机；同批次产品排查；按规定补偿客户 ¥300。"
TASK = "核查该批次产品的运输与仓储记录"
PART_REPORT = "运输途中无异常，仓储温湿度正常"


def _critical_accepted(app, title: str) -> tuple[str, str]:
    """A critical product-quality complaint registered and accepted by the services, with
    the company's policy that such a complaint's plan is approved before it is carried
    out; (its number, the quarter it came in, as 2026Q4)."""
    from sqlalchemy import select

    from models import Complaint, Department, SlaPolicy, Staff, db
    from services.auth import create_user
    from services.complaints import perform, register
    from tests.browser.live import PASSWORD

    with app.app_context():
        # Two departments of their own, so that the workbook's rows count this complaint
        # alone whatever the other browser tests registered.
        for code, name, head, handler in DEPARTMENTS:
            if db.session.scalar(select(Department).filter_by(code=code)):
                continue
            d = Department(code=code, name=name, is_customer_service=False, active=True)
            db.session.add(d)
            db.session.commit()
            head_id = create_user(head[0], head[1], "dept_head", PASSWORD,
                                  department_id=d.id).id
            create_user(handler[0], handler[1], "handler", PASSWORD, department_id=d.id)
            db.session.get(Department, d.id).head_id = head_id
            db.session.commit()
        if not db.session.scalar(select(SlaPolicy).filter_by(name="重大产品质量投诉")):
            db.session.add(SlaPolicy(name="重大产品质量投诉", kind="complaint",
                                     category_code="product_quality", severity="critical",
                                     callbacks_required=2, plan_required=True, active=True))
            db.session.commit()
        intake = db.session.scalar(select(Staff).filter_by(username="intake"))
        c = register({**CUSTOMER, "title": title, "description": f"{title}，客户来电反映。",
                      "demand": "更换新机并赔偿", "category": "product_quality",
                      "channel": "phone", "severity": "critical", "location": "客户家中",
                      "target_kind": "product", "target_text": "电热水器"}, intake)
        perform(c.id, "accept", intake, {})
        c = db.session.get(Complaint, c.id)
        quarter = f"{c.received_at.year}Q{(c.received_at.month - 1) // 3 + 1}"
        return c.number, quarter


def _done(browser):
    blocking, other = browser.accessibility_report()
    if other:
        print("[axe, minor/moderate]\n  " + "\n  ".join(other))
    assert not blocking, "axe-core: critical/serious violations\n" + "\n".join(blocking)


def _state(app, number):
    from sqlalchemy import select

    from models import Complaint, db

    with app.app_context():
        c = db.session.scalar(select(Complaint).filter_by(number=number))
        db.session.expire_all()
        return c.status, c.plan_state, c.assists_open


def test_critical_complaint_shared_by_two_departments_zh(browser, downloads):
    app = browser.app
    number, quarter = _critical_accepted(app, "电热水器漏电跳闸")

    # 1. The clerk forwards it to quality and asks logistics to assist.
    login(browser, "intake")
    open_complaint(browser, number)
    act(browser, "forward", {"department_id": "电器质量部"})
    act(browser, "assist_add", {"department_id": "仓储部", "task": TASK})
    assert "仓储部" in browser.text(".assist-panel"), errors(browser)

    # 2. The quality head assigns it; 3. the handler submits the plan.
    login(browser, "head_eq")
    open_complaint(browser, number)
    act(browser, "assign", {"assignee_id": "赵工"})
    login(browser, "handler_eq")
    open_complaint(browser, number)
    act(browser, "plan_submit", {"plan": PLAN})
    assert _state(app, number)[1] == "submitted", errors(browser)

    # 4. The head approves it from their plans tile; 5. senior management, as it is critical.
    for who in ("head_eq", "executive"):
        login(browser, who)
        waiting = tile(browser, "dash-plans")
        assert waiting is not None and waiting >= 1, f"{who}: plans tile {waiting}"
        open_complaint(browser, number)
        assert PLAN in browser.text(), "the plan is shown to its approver"
        act(browser, "plan_approve", {"note": "同意"})
    assert _state(app, number)[1] == "approved", errors(browser)

    # 6. The clerk records that the customer agreed.
    login(browser, "intake")
    open_complaint(browser, number)
    act(browser, "plan_answer", {"agreed": "yes", "note": "客户电话确认同意方案"})
    assert _state(app, number)[1] == "agreed", errors(browser)

    # 7. The handler cannot resolve before the warehouse reports its part ...
    login(browser, "handler_eq")
    open_complaint(browser, number)
    assert "协办" in browser.text() or "assisting" in browser.text().lower()
    assert not [x for x in browser.els(".action-resolve") if x.is_displayed()
                and x.is_enabled()], "resolve offered while a part is open"

    # ... which the warehouse head does, seeing the complaint but nothing else to take.
    login(browser, "head_wh")
    waiting = tile(browser, "dash-assisting")
    assert waiting is not None and waiting >= 1, f"assisting tile {waiting}"
    open_complaint(browser, number)
    for name in ("resolve", "assign", "plan_submit", "assist_add", "note", "escalate",
                 "extend_request", "return"):
        assert not [x for x in browser.els(f".action-{name}") if x.is_displayed()
                    and x.is_enabled()], f"{name} offered to the assisting head"
    form = browser.el(".assist-part-mine .part-report, .part-report-form")
    assert form is not None
    box = browser.d.find_element(By.CSS_SELECTOR, ".part-report-form textarea")
    box.send_keys(PART_REPORT)
    browser.click(".part-report")
    assert _state(app, number)[2] == 0, errors(browser)

    # 8. The handler resolves it now.
    login(browser, "handler_eq")
    open_complaint(browser, number)
    act(browser, "resolve", {"root_cause": "漏电保护器批次不良", "responsibility": "公司",
                             "remedy": "换货", "resolution": "已上门更换新机并补偿 300 元",
                             "compensation_amount": "300"})
    assert _state(app, number)[0] == "resolved", flash(browser) + errors(browser)

    # 9. The clerk reviews it, calls back twice and closes it.
    login(browser, "intake")
    open_complaint(browser, number)
    act(browser, "review_approve")
    for _ in range(2):
        act(browser, "callback", {"method": "电话", "reached": "是", "satisfaction": "满意",
                                  "solved": "是", "notes": "客户对新机满意"})
    act(browser, "close", confirm=True)
    assert _state(app, number)[0] == "closed", flash(browser) + errors(browser)
    _done(browser)

    # 10. The manager downloads the quarter's workbook from the Reports page.
    login(browser, "manager")
    browser.open("/admin/reports/")
    browser.fill({"report-kind": "quarter", "report-value": quarter})
    before = set(downloads.iterdir())
    browser.el("#report-period-form [type=submit]").click()
    book = openpyxl.load_workbook(job_file(browser, downloads, before))
    rows = {ws.title: [[c for c in row] for row in ws.iter_rows(values_only=True)]
            for ws in book.worksheets}

    def row(sheet, first):
        """The row of ``sheet`` whose first cell is ``first`` (its cells without blanks)."""
        found = [r for r in rows[sheet] if r and r[0] == first]
        assert found, f"no row {first!r} on {sheet}: {rows[sheet][:8]}"
        return list(found[0])

    # The part: lead 电器质量部, assisting 仓储部, reported on time.
    part = [c for c in row("协办事项", number) if c is not None]
    assert part[1:3] == ["电器质量部", "仓储部"] and "已报告" in part and part[-1] == "是", part
    # The department figures credit the lead: it received and resolved it; the assisting
    # department counts nothing.
    header = rows["按部门"][3]
    lead, helper = row("按部门", "电器质量部 (EQ)"), row("按部门", "仓储部 (WH)")
    received, resolved = header.index("本期受理"), header.index("本期办结")
    assert (lead[received], lead[resolved]) == (1, 1), (header, lead)
    assert (helper[received], helper[resolved]) == (0, 0), (header, helper)
    # The handler's figures on the per-person sheet (the manager reads them).
    header = rows["个人指标"][3]
    handler = row("个人指标", "赵工")
    assert handler[header.index("办结件数")] == 1, (header, handler)
    _done(browser)
