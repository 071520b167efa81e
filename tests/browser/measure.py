"""Count the page loads of the daily tasks on a checkout (issue 11: before and after).

    .venv/bin/python tests/browser/measure.py [CHECKOUT]

CHECKOUT (default: this one) is a working tree of the project, e.g. an older commit made
with ``git worktree add /tmp/before <commit>``; its code is imported first, the flows
are this suite's (tests/browser/flows.py) with the checks of what issue 11 added turned
into notes. Prints one line per task and a Markdown table.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
MAIN = HERE.parent.parent


def main(checkout: Path):
    sys.path[:0] = [str(checkout), str(MAIN)]
    os.chdir(checkout)
    from tests.browser import flows
    from tests.browser.browser import Browser, chromium
    from tests.browser.flows import login
    from tests.browser.live import LiveServer

    server = LiveServer(tempfile.mkdtemp() + "/measure.sqlite").start()
    downloads = Path(tempfile.mkdtemp())
    driver = chromium(download_dir=str(downloads))
    tasks = [
        ("1. register by phone and forward", "intake", None,
         lambda b: flows.task_register_and_forward(b, title="电水壶底部漏水")),
        ("1b. the same, description forgotten", "intake", None,
         lambda b: flows.task_register_and_forward(b, title="冰箱噪音大", mistakes=1)),
        ("1c. the same, two mistakes (and the e-mail cut short)", "intake", None,
         lambda b: flows.task_register_and_forward(b, title="烤箱门玻璃破裂", mistakes=2)),
        ("2. head assigns", "head_qa", "forwarded", flows.task_assign),
        ("3. handler resolves", "handler_qa", "in_progress", flows.task_resolve),
        ("4. clerk calls back and closes", "intake", "callback", flows.task_callback_and_close),
        ("5. manager exports list + monthly workbook", "manager", "in_progress",
         lambda b, *_: flows.task_export(b, downloads)),
    ]
    rows = []
    try:
        for name, user, status, run in tasks:
            driver.delete_all_cookies()
            b = Browser(driver, server.url, server.loads)
            b.app, b.strict = server.app, False
            number = None
            if status:
                number = flows.complaint_in(server.app, status, title=name[:20],
                                            callbacks=1 if status == "callback" else 0)
            server.loads.reset()
            ok = "done"
            try:
                login(b, user)
                run(b, number) if number else run(b)
            except Exception as exc:  # noqa: BLE001 - reported, the count is still shown
                ok = f"FAILED: {str(exc).splitlines()[0][:120]}"
                traceback.print_exc()
            pages = server.loads.pages
            rows.append((name, len(pages), len(server.loads.downloads), ok))
            print(f"{name}: {len(pages)} page loads ({ok})\n    "
                  + "\n    ".join(f"{m} {p}" for m, p in pages), flush=True)
    finally:
        driver.quit()
        server.stop()
    print("\n| task | page loads | downloads | |\n|---|---|---|---|")
    for name, n, dl, ok in rows:
        print(f"| {name} | {n} | {dl} | {ok} |")


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else MAIN)
