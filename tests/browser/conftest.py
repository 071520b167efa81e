"""Fixtures of the browser suite: one live server and one headless chromium per run.

A failing test leaves a screenshot and the page source in tests/browser/artifacts/<test>/
(BROWSER_ARTIFACTS names another folder). Every page is checked by axe-core as it loads;
each test asserts that the pages it visited have no critical or serious violation.
"""

from __future__ import annotations

import shutil

import pytest

from tests.browser.browser import ARTIFACTS, AXE, Browser, chromium, find_binary
from tests.browser.live import LiveServer


def _missing() -> str | None:
    if not find_binary("chromium", "chromium-browser"):
        return "Debian's chromium is not installed (apt-get install chromium)"
    if not find_binary("chromedriver"):
        return "chromedriver is not installed (apt-get install chromium-driver)"
    if not AXE.exists():
        return "axe-core is not installed (cd tests/browser && npm ci)"
    return None


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    missing = _missing()
    if missing:  # a missing tool is a failure, never a skip: the stage must run
        pytest.fail(missing)
    server = LiveServer(str(tmp_path_factory.mktemp("live") / "browser.sqlite")).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def downloads(tmp_path_factory):
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="session")
def driver(live_server, downloads):
    d = chromium(download_dir=str(downloads))
    yield d
    d.quit()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def browser(request, driver, live_server):
    """The session's chromium, logged out, at 1280×900; on failure its screen and source
    are saved. The test's page loads are printed at the end."""
    driver.delete_all_cookies()
    driver.set_window_size(1280, 900)
    b = Browser(driver, live_server.url, live_server.loads)
    b.app = live_server.app
    live_server.loads.reset()
    yield b
    failed = any(getattr(request.node, f"rep_{when}", None) is not None
                 and getattr(request.node, f"rep_{when}").failed for when in ("setup", "call"))
    if failed:
        folder = ARTIFACTS / request.node.name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(folder / "screen.png"))
        (folder / "page.html").write_text(driver.page_source, encoding="utf-8")
        (folder / "url.txt").write_text(driver.current_url + "\n", encoding="utf-8")
        print(f"\nscreenshot and page source: {folder}")
