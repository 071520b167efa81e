"""Both kinds of workbook open in LibreOffice: `soffice --headless --convert-to pdf` succeeds.

LibreOffice is a requirement of this test, not an option: where it is missing the test
fails and says how to install it (Debian: ``apt-get install -y --no-install-recommends
libreoffice-calc``), in CI as on a workstation.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import datetime
from decimal import Decimal

import pytest

from models import db
from tests.exports.conftest import add_callback, add_event, download, make_complaint

INSTALL = "apt-get install -y --no-install-recommends libreoffice-calc"


def soffice() -> str:
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if not found:
        where = "CI" if os.environ.get("CI") else "this machine"
        pytest.fail(f"LibreOffice (soffice) is not installed on {where}; install it with: "
                    f"{INSTALL}")
    return found


def test_list_export_and_monthly_workbook_convert_to_pdf(client, auth, org, app, tmp_path):
    """LibreOffice converts a complaint export and a monthly workbook to PDF without error."""
    binary = soffice()
    titles = ["=1+1", "冰箱不制冷", "http://x.example", "@A1", "普通"]
    with app.app_context():
        for n in range(1, 6):
            c = make_complaint(n, department_id=org.qa if n % 2 else org.log,
                               received_at=datetime(2026, 11, n + 1, 9),
                               title=titles[n - 1],
                               resolved_at=datetime(2026, 11, n + 3, 9),
                               forwarded_at=datetime(2026, 11, n + 1, 10),
                               compensation_amount=Decimal("12.30"), due_at=datetime(2020, 1, 1))
            add_callback(c, datetime(2026, 11, n + 4, 9), "satisfied")
            add_event(c, "overdue", datetime(2026, 11, n + 2, 0, 5))
        db.session.commit()
    auth.login("manager")
    files = []
    for name, url in (("list.xlsx", "/admin/complaint/export/xlsx/?queue=all"),
                      ("monthly.xlsx", "/admin/reports/monthly/?month=2026-11")):
        status, body, _ = download(client, url)
        assert status == 200
        path = tmp_path / name
        path.write_bytes(body)
        files.append(path)
    profile = tmp_path / "lo-profile"
    result = subprocess.run(
        [binary, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(tmp_path), *map(str, files)],
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert result.returncode == 0, result.stderr
    for path in files:
        pdf = path.with_suffix(".pdf")
        assert pdf.exists(), result.stdout + result.stderr
        assert pdf.read_bytes().startswith(b"%PDF")
        assert pdf.stat().st_size > 1000


def pdf_pages(path) -> int:
    """Pages of a PDF written by LibreOffice (its page objects are not compressed)."""
    import re

    return len(re.findall(rb"/Type\s*/Page(?![s\w])", path.read_bytes()))


def convert(binary, tmp_path, *files):
    profile = tmp_path / "lo-profile"
    result = subprocess.run(
        [binary, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(tmp_path), *map(str, files)],
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert result.returncode == 0, result.stderr
    return [path.with_suffix(".pdf") for path in files]


def test_printed_meeting_workbook_is_one_page_per_sheet(client, auth, org, app, tmp_path):
    """Printed by LibreOffice, the monthly workbook of a month with complaints in every
    sheet is twelve pages for its twelve sheets (one each, charts whole; the manager's has
    the per-person, assisting-parts and corrective-actions sheets of issue 12), and a short
    complaint list with every column one page."""
    binary = soffice()
    with app.app_context():
        for n in range(1, 13):
            c = make_complaint(n, department_id=(org.qa, org.log)[n % 2],
                               received_at=datetime(2026, 11, n + 1, 9),
                               customer_phone="13900000001" if n < 4 else f"139000000{n:02d}",
                               title=f"冰箱不制冷，第 {n} 次反映", description="描述" * 40,
                               demand="退货", root_cause="批次缺陷", resolution="更换" * 20,
                               forwarded_at=datetime(2026, 11, n + 1, 10),
                               resolved_at=datetime(2026, 11, n + 3, 9), status="resolved",
                               due_at=datetime(2020, 1, 1))
            add_callback(c, datetime(2026, 11, n + 4, 9), "satisfied")
            if n % 3 == 0:
                add_event(c, "overdue", datetime(2026, 11, n + 2, 0, 5))
        db.session.commit()
    auth.login("manager")
    zh = {"Accept-Language": "zh-CN"}
    files = []
    for name, url in (("list.xlsx", "/admin/complaint/export/xlsx/?queue=all"),
                      ("monthly.xlsx", "/admin/reports/monthly/?month=2026-11")):
        status, body, _ = download(client, url, headers=zh)
        assert status == 200
        (tmp_path / name).write_bytes(body)
        files.append(tmp_path / name)
    listed, monthly = convert(binary, tmp_path, *files)
    assert pdf_pages(monthly) == 12  # 9, and per person, assisting parts, corrective actions
    assert pdf_pages(listed) == 1
