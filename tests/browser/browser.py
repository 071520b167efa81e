"""A headless Debian chromium driven by Selenium, as a user works: open a page, click, type,
submit — each page it lands on checked by axe-core (read from tests/browser/node_modules and
injected with execute_script), its violations kept by page for the test to assert on."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

HERE = Path(__file__).parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("critical", "serious")
ARTIFACTS = Path(os.environ.get("BROWSER_ARTIFACTS", HERE / "artifacts"))  # failures, screens


def find_binary(*names):
    for name in names:
        path = shutil.which(name) or (f"/usr/bin/{name}" if os.path.exists(f"/usr/bin/{name}")
                                      else None)
        if path:
            return path
    return None


def chromium(width=1280, height=900, download_dir: str | None = None):
    options = webdriver.ChromeOptions()
    options.binary_location = find_binary("chromium", "chromium-browser")
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-extensions", "--no-first-run", "--password-store=basic",
                f"--window-size={width},{height}", "--lang=zh-CN"):
        options.add_argument(arg)
    prefs = {"intl.accept_languages": "zh-CN,zh", "credentials_enable_service": False}
    if download_dir:
        prefs.update({"download.default_directory": download_dir,
                      "download.prompt_for_download": False})
    options.add_experimental_option("prefs", prefs)
    driver = webdriver.Chrome(options=options,
                              service=Service(find_binary("chromedriver")))
    driver.set_page_load_timeout(30)
    return driver


class Browser:
    """One chromium; ``pages`` lists every page loaded (path), ``axe`` the violations by page."""

    def __init__(self, driver, base_url: str, loads):
        self.d = driver
        self.base = base_url
        self.loads = loads          # the server's page-load counter (live.PageLoads)
        self.axe_source = AXE.read_text(encoding="utf-8")
        self.axe: dict[str, list] = {}   # page key -> violations (dicts from axe)
        self.checked: set[str] = set()

    # --- navigation -------------------------------------------------------------------
    @property
    def path(self) -> str:
        return self.d.current_url.removeprefix(self.base)

    def open(self, path: str):
        self.d.get(self.base + path)
        self._landed()

    def click(self, element_or_css, *, by=By.CSS_SELECTOR):
        """Click something that loads a new page, wait for it, check it."""
        el = self.el(element_or_css, by=by) if isinstance(element_or_css, str) else element_or_css
        old = self.d.find_element(By.TAG_NAME, "html")
        el.click()
        self._wait_replaced(old)
        self._landed()

    def try_submit(self, css: str, wait: float = 2.0) -> bool:
        """Press a submit button that the browser itself may refuse (a ``required`` field
        left empty): True when a new page loaded, False when the browser kept the form."""
        button = next(x for x in self.els(css) if x.is_displayed())
        old = self.d.find_element(By.TAG_NAME, "html")
        button.click()
        try:
            WebDriverWait(self.d, wait, poll_frequency=0.05).until(
                lambda d: d.execute_script("return document.querySelector(':invalid') !== null")
                or not self._alive(old))
        except TimeoutException:
            pass
        if self._alive(old):
            return False
        self._landed()
        return True

    @staticmethod
    def _alive(element) -> bool:
        try:
            return bool(element.tag_name)
        except Exception:  # stale: the page it belonged to is gone
            return False

    def _wait_replaced(self, old):
        try:
            WebDriverWait(self.d, 20, poll_frequency=0.05).until(
                lambda _: not self._alive(old))
        except TimeoutException as exc:
            raise AssertionError(f"no new page after the click on {self.path}") from exc

    def _landed(self):
        WebDriverWait(self.d, 20, poll_frequency=0.05).until(
            lambda d: d.execute_script("return document.readyState") == "complete")
        self.check_accessibility()

    def switch_language(self, lang: str):
        """The navbar's language button (stored on the user)."""
        self.click(f"button[name=lang][value='{'zh_Hans_CN' if lang.startswith('zh') else 'en'}']")

    # --- reading ----------------------------------------------------------------------
    def el(self, css: str, *, by=By.CSS_SELECTOR):
        return self.d.find_element(by, css)

    def els(self, css: str):
        return self.d.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str = "body") -> str:
        return self.el(css).text

    def has(self, css: str) -> bool:
        return bool(self.els(css))

    # --- forms ------------------------------------------------------------------------
    def fill(self, fields: dict):
        """Type into fields by id (or name): text, textarea, select (by visible text or value),
        checkbox (True/False)."""
        from selenium.webdriver.support.ui import Select

        for key, value in fields.items():
            els = self.els(f"#{key}") or self.els(f"[name='{key}']")
            assert els, f"no field {key!r} on {self.path}"
            el = els[0]
            kind = (el.get_attribute("type") or "").lower()
            if el.tag_name == "select":
                select = Select(el)
                texts = [o.text.strip() for o in select.options]
                if value in texts:
                    select.select_by_visible_text(value)
                elif any(value in t for t in texts):
                    select.select_by_index(next(i for i, t in enumerate(texts) if value in t))
                else:
                    select.select_by_value(value)
            elif kind in ("checkbox", "radio"):
                if el.is_selected() != bool(value):
                    self.d.execute_script("arguments[0].click()", el)
            elif kind in ("datetime-local", "date", "hidden"):
                self.d.execute_script("arguments[0].value = arguments[1]", el, value)
            else:
                el.clear()
                el.send_keys(value)

    def submit(self, css: str = "form [type=submit]"):
        """Press the form's submit button and wait for the page it leads to."""
        buttons = [b for b in self.els(css) if b.is_displayed()]
        assert buttons, f"no submit button {css!r} on {self.path}"
        self.click(buttons[0])

    # --- accessibility ----------------------------------------------------------------
    def page_key(self) -> str:
        """The kind of page: path with ids as N, plus the language and whether it shows errors."""
        path = re.sub(r"\d+", "N", self.path.split("#")[0])
        lang = self.d.execute_script("return document.documentElement.lang || '?'")
        errors = self.d.execute_script(
            "return document.querySelectorAll('.is-invalid, .alert-danger').length > 0")
        width = f", {self.width} px" if getattr(self, "width", 1280) != 1280 else ""
        return f"{path} [{lang}{', errors' if errors else ''}{width}]"

    def check_accessibility(self):
        """Run axe-core on the page (once per kind of page)."""
        key = self.page_key()
        if key in self.checked:
            return
        self.checked.add(key)
        self.d.execute_script(self.axe_source)
        result = self.d.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']})"
            ".then(r => done(JSON.stringify(r.violations)))"
            ".catch(e => done(JSON.stringify([{id: 'axe-error', impact: 'critical',"
            " help: String(e), nodes: []}])));")
        self.axe[key] = json.loads(result)

    def accessibility_report(self) -> tuple[list[str], list[str]]:
        """(blocking, other): one line per violation and page."""
        blocking, other = [], []
        for key, violations in self.axe.items():
            for v in violations:
                targets = "; ".join(" ".join(n["target"]) if isinstance(n["target"], list)
                                    else str(n["target"]) for n in v["nodes"][:4])
                line = (f"{key}: {v['impact']} {v['id']} ({len(v['nodes'])}) {v['help']}"
                        f" — {targets}")
                (blocking if v["impact"] in BLOCKING else other).append(line)
        return blocking, other
