"""The main screens in Chinese at a desk's width (1280 px) and a phone's (390 px): each
checked by axe-core at both widths, and photographed into tests/browser/artifacts/screens/
for a person to look at (the run prints the folder)."""

from __future__ import annotations

from tests.browser.browser import ARTIFACTS
from tests.browser.flows import complaint_in, login, open_complaint

WIDTHS = (1280, 390)
KNOWN = {"Excel", "English", "SLA", "CSV", "xlsx", "Admin", "Clerk", "Mary", "admin", "intake",
         "manager", "supervisor", "head_qa", "handler_qa", "handler_log", "head_log",
         "clerk_en", "handler_qa2", "TOTP", "SMTP", "SMS", "OSS", "URL", "Webhook"}


def english_words(text: str) -> set[str]:
    """Runs of Latin letters (3 or more) in a page's text: on a Chinese page, candidates for
    a missing translation."""
    import re

    return {w for w in re.findall(r"[A-Za-z][A-Za-z ]{2,}[A-Za-z]", text)
            if w.strip() not in KNOWN and not re.fullmatch(r"[A-Z]{2,4}", w.strip())}


def test_main_screens_zh_at_desk_and_phone_width(browser):
    """Dashboard, list, complaint page, registration form and callback form, in Chinese at
    1280 and 390 px: none wider than the window, no critical or serious axe violation."""
    number = complaint_in(browser.app, "callback", title="电饭煲内胆涂层脱落", callbacks=1)
    login(browser, "intake")
    folder = ARTIFACTS / "screens"
    folder.mkdir(parents=True, exist_ok=True)
    open_complaint(browser, number)
    details = browser.path
    callback = browser.els(".action-callback")[0].get_attribute("href").removeprefix(browser.base)
    pages = {"dashboard": "/admin/", "list": "/admin/complaint/", "detail": details,
             "register": "/admin/complaint/new/", "callback": callback}
    overflow = []  # a page wider than the window scrolls sideways: unusable on a phone
    for width in WIDTHS:
        browser.d.set_window_size(width, 900)
        browser.width = width
        for name, path in pages.items():
            browser.open(path)
            assert browser.el("html").get_attribute("lang") == "zh-CN"
            browser.d.save_screenshot(str(folder / f"{name}-{width}.png"))
            wide = browser.d.execute_script(
                "return [document.documentElement.scrollWidth, window.innerWidth]")
            if wide[0] > wide[1]:
                overflow.append(f"{name} at {width} px: {wide[0]} px wide")
    print(f"\nscreenshots: {folder}")
    assert not overflow, overflow
    blocking, other = browser.accessibility_report()
    if other:
        print("[axe, minor/moderate]\n  " + "\n  ".join(other))
    assert not blocking, "axe-core: critical/serious violations\n" + "\n".join(blocking)


def test_keyboard_skip_link_focus_ring_and_first_field(browser):
    """From the top of a page one Tab reaches the skip link (drawn with a visible focus
    ring), Enter moves to the main content and the next Tab is inside it; the registration
    form starts with the focus in its first field."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    login(browser, "intake")
    browser.open("/admin/")

    def focused(prop="id"):
        return browser.d.execute_script(f"return document.activeElement.{prop}")

    ActionChains(browser.d).send_keys(Keys.TAB).perform()
    assert "desk-skip-link" in focused("className")
    assert focused("textContent").strip() == "跳到主要内容"
    ring = browser.d.execute_script(
        "const s = getComputedStyle(document.activeElement);"
        "return [s.outlineStyle, parseFloat(s.outlineWidth)];")
    assert ring[0] == "solid" and ring[1] >= 2, ring
    ActionChains(browser.d).send_keys(Keys.ENTER).perform()
    assert focused() == "desk-main"
    ActionChains(browser.d).send_keys(Keys.TAB).perform()
    inside = browser.d.execute_script(
        "return document.getElementById('desk-main').contains(document.activeElement)")
    assert inside, focused("outerHTML")[:200]

    browser.open("/admin/complaint/new/")
    assert focused() == "kind", f"focus on {focused('outerHTML')[:120]}"


def test_every_menu_page_in_both_languages(browser):
    """Every page of the administrator's menu (and a page not found), in Chinese and in
    English: no critical or serious axe violation, lang set, one <main> and an <h1>."""
    complaint_in(browser.app, "in_progress", title="燃气灶点火困难")
    browser.d.delete_all_cookies()
    browser.open("/no-such-page")  # not signed in: the plain error page
    assert browser.els("main") and browser.els("h1"), browser.d.page_source[:500]
    login(browser, "admin")
    browser.open("/admin/")
    links = browser.d.execute_script(
        "return Array.from(document.querySelectorAll('nav a[href^=\"/\"]'))"
        ".map(a => a.getAttribute('href'))")
    browser.open("/admin/reports/")
    links += [a.get_attribute("href").removeprefix(browser.base)
              for a in browser.els("main a[href*='metrics']")]  # how figures are computed
    paths = sorted({p for p in links if p.startswith("/admin")} | {"/admin/no-such-page/"})
    problems, english = [], set()
    for lang in ("en", "zh"):
        if lang == "en":
            browser.switch_language("en")
        else:
            browser.switch_language("zh")
        for path in paths:
            browser.open(path)
            html = browser.el("html").get_attribute("lang")
            if html != ("en" if lang == "en" else "zh-CN"):
                problems.append(f"{path}: lang={html!r}")
            if len(browser.els("main")) != 1:
                problems.append(f"{path}: {len(browser.els('main'))} <main>")
            if not browser.els("h1"):
                problems.append(f"{path}: no <h1>")
            words = sorted(english_words(browser.text())) if lang == "zh" else []
            if words:
                english.add(f"{path}: {len(words)} — " + "; ".join(words[:6]))
    login(browser, "supervisor")  # a reader's pages: dashboard, lists, a 403
    browser.open("/admin/")
    for path in ("/admin/complaint/", "/admin/reports/", "/admin/staff/new/"):
        browser.open(path)
        if not browser.els("h1") or len(browser.els("main")) != 1:
            problems.append(f"{path} (supervisor): no <h1> or not one <main>")
    blocking, other = browser.accessibility_report()
    if other:
        print("[axe, minor/moderate]\n  " + "\n  ".join(other))
    if english:  # shown for a person to judge (names, codes and data may be English)
        print("[English words on Chinese pages]\n  " + "\n  ".join(sorted(english)))
    assert not problems, problems
    assert not blocking, "axe-core: critical/serious violations\n" + "\n".join(blocking)
