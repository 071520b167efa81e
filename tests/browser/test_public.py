"""Issue 14 "done when", in a real browser at a phone's width (390 px): a customer submits
a complaint on the public form (no login), gets its number and answer deadline; customer
service forwards it; the customer looks it up and sees it with the department, with the
department's deadline — and nothing of the staff. Every page is checked by axe-core and
for horizontal scrolling.
"""

from __future__ import annotations

import re

from selenium.webdriver.support.ui import Select

PHONE = "13912345678"


def _fits(browser):
    width = browser.d.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"wider than the phone: {width} on {browser.path}"


def _forward(app, number: str):
    """Customer service accepts and forwards it to quality (the services, as the desk does)."""
    from sqlalchemy import select

    from models import Complaint, Department, Staff, db
    from services.complaints import perform

    with app.app_context():
        intake = db.session.scalar(select(Staff).filter_by(username="intake"))
        c = db.session.scalar(select(Complaint).filter_by(number=number))
        qa = db.session.scalar(select(Department.id).filter_by(code="QA"))
        assert (c.channel, c.status) == ("web", "registered")
        perform(c.id, "accept", intake, {})
        perform(c.id, "forward", intake, {"department_id": qa})
        return db.session.get(Complaint, c.id).resolve_due


def test_customer_submits_on_a_phone_and_looks_it_up(browser):
    browser.d.delete_all_cookies()
    browser.d.set_window_size(390, 844)
    browser.open("/complaint/new")
    assert browser.el("html").get_attribute("lang").startswith("zh")
    _fits(browser)
    question = browser.el("label[for=challenge]").text
    a, b = (int(n) for n in re.findall(r"\d+", question)[:2])
    browser.fill({"customer_name": "张小凤", "customer_phone": PHONE,
                  "description": "新买的电饭煲内胆涂层脱落，煮饭有黑色碎屑。",
                  "location": "杭州西湖银泰门店", "demand": "退货退款",
                  "challenge": str(a + b), "consent": True})
    category = Select(browser.el("#category"))
    category.select_by_index(1)
    browser.submit("main form [type=submit]")
    number = browser.el("#complaint-number").text.strip()
    assert re.fullmatch(r"TS-\d{8}-\d{4}", number), browser.text()[:400]
    _fits(browser)

    resolve_due = _forward(browser.app, number)

    browser.open("/complaint/status")
    browser.fill({"number": number, "contact": PHONE[-4:]})
    browser.submit("main form [type=submit]")
    assert browser.text("#complaint-status") == "责任部门正在处理。", browser.text()[:400]
    assert f"{resolve_due:%Y-%m-%d %H:%M}" in browser.text("#complaint-due")
    page = browser.text()
    for staff_word in ("王小红", "质量管理部", "刘工", "处理记录"):
        assert staff_word not in page, staff_word
    _fits(browser)

    # A wrong phone reads exactly like a wrong number.
    browser.open("/complaint/status")
    browser.fill({"number": number, "contact": "0000"})
    browser.submit("main form [type=submit]")
    wrong_phone = browser.text("main").replace(number, "N")
    other = number[:-1] + ("1" if number[-1] != "1" else "2")
    browser.open("/complaint/status")
    browser.fill({"number": other, "contact": PHONE[-4:]})
    browser.submit("main form [type=submit]")
    assert browser.text("main").replace(other, "N") == wrong_phone

    blocking, other = browser.accessibility_report()
    if other:
        print("[axe, minor/moderate]\n  " + "\n  ".join(other))
    assert not blocking, "axe-core: critical/serious violations\n" + "\n".join(blocking)
