"""The five daily tasks, in a real browser, as the users do them (issue 11).

1. A clerk registers a complaint received by phone and forwards it (right first time, and
   with one typical mistake on the form);
2. the department head assigns it;
3. the handler resolves it;
4. the clerk calls the customer back and closes it;
5. the manager exports the list and the monthly workbook;
and task 1 again in English. Each task starts from a complaint brought to its step by the
services, signs in through the login page and counts its page loads (printed). Every page
is checked by axe-core: no critical or serious violation.
"""

from __future__ import annotations

import re

import openpyxl
import pytest

from tests.browser.flows import (
    complaint_in,
    login,
    task_assign,
    task_callback_and_close,
    task_export,
    task_register_and_forward,
    task_resolve,
)


def _done(browser, task):
    print(f"\n[page loads] {task}: {browser.loads.count} "
          f"(+{len(browser.loads.downloads)} downloads) — "
          + ", ".join(f"{m} {p}" for m, p in browser.loads.pages))
    blocking, other = browser.accessibility_report()
    if other:
        print("[axe, minor/moderate]\n  " + "\n  ".join(other))
    assert not blocking, "axe-core: critical/serious violations\n" + "\n".join(blocking)


def test_register_by_phone_and_forward_zh(browser):
    """A clerk registers a phone complaint and forwards it to the quality department."""
    login(browser, "intake")
    number = task_register_and_forward(browser, title="电水壶底部漏水")
    assert "质量管理部" in browser.text()
    _done(browser, f"1. register and forward ({number})")


def test_register_with_a_mistake_zh(browser):
    """The description forgotten is said at its field (by the browser or the server),
    what was typed is kept, and once written the complaint is registered and forwarded."""
    login(browser, "intake")
    task_register_and_forward(browser, title="冰箱噪音大", mistakes=1)
    _done(browser, "1b. register (one mistake) and forward")


def test_register_with_two_mistakes_zh(browser):
    """Two mistakes are both marked at their fields on the first answer: one correction."""
    login(browser, "intake")
    task_register_and_forward(browser, title="烤箱门玻璃破裂", mistakes=2)
    refused = [p for m, p in browser.loads.pages if m == "POST" and "/new/" in p]
    assert len(refused) == 1, browser.loads.pages
    _done(browser, "1c. register (two mistakes) and forward")


def test_head_assigns_zh(browser):
    """The head of the quality department assigns the forwarded complaint to a handler."""
    number = complaint_in(browser.app, "forwarded", title="洗衣机漏水")
    login(browser, "head_qa")
    task_assign(browser, number)
    _done(browser, f"2. assign ({number})")


def test_handler_resolves_zh(browser):
    """The handler records the result, compensation written as people write it."""
    number = complaint_in(browser.app, "in_progress", title="微波炉不加热")
    login(browser, "handler_qa")
    task_resolve(browser, number)
    _done(browser, f"3. resolve ({number})")


def test_clerk_calls_back_and_closes_zh(browser):
    """The clerk records the second callback the product-quality complaint needs, then
    closes it."""
    number = complaint_in(browser.app, "callback", title="空调异响", callbacks=1)
    login(browser, "intake")
    task_callback_and_close(browser, number)
    _done(browser, f"4. call back and close ({number})")


def test_manager_exports_zh(browser, downloads):
    """The manager downloads the complaint list and the monthly workbook as .xlsx: the
    complaint with its description, demand, cause and result; every sheet set to print
    landscape, one page wide."""
    number = complaint_in(browser.app, "in_progress", title="热水器温度不稳")
    login(browser, "manager")
    listed, monthly = task_export(browser, downloads)
    book = openpyxl.load_workbook(listed)
    rows = [[str(c) for c in row if c is not None]
            for row in book.active.iter_rows(values_only=True)]
    assert any(number in row and "热水器温度不稳" in row for row in rows), rows[:6]
    headers = next(row for row in rows if "单号" in row)
    for column in ("问题描述", "客户诉求", "原因分析", "处理结果"):  # what a meeting discusses
        assert column in headers, headers
    monthly_book = openpyxl.load_workbook(monthly)
    assert len(monthly_book.sheetnames) > 3, monthly_book.sheetnames
    for sheet in [book.active, *monthly_book.worksheets]:  # printed: one page wide, landscape
        assert sheet.page_setup.orientation == "landscape", sheet.title
        assert sheet.sheet_properties.pageSetUpPr.fitToPage, sheet.title
        assert sheet.page_setup.fitToWidth in (None, 1), sheet.title
    _done(browser, "5. export list and monthly workbook")


@pytest.mark.parametrize("lang", ["en"])
def test_register_and_forward_en(browser, lang):
    """The same registration in English: the pages say lang="en" and speak English."""
    login(browser, "clerk_en")
    if browser.el("html").get_attribute("lang") != "en":
        browser.switch_language("en")
    assert browser.el("html").get_attribute("lang") == "en"
    zh_pages = set(browser.axe)
    number = task_register_and_forward(browser, title="Kettle leaks", lang="en")
    assert not [k for k in set(browser.axe) - zh_pages if "[en" not in k], list(browser.axe)
    text = browser.text()
    assert "Forwarded" in text and "Details" in text, text[:400]
    assert re.search(r"\d+ working days? left", text), text[:600]
    _done(browser, f"1. register and forward, English ({number})")
