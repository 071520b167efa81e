"""The rules package is pure Python: standard library only, no framework, no calendar data."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RULES_DIR = REPO / "rules"
FORBIDDEN_PREFIXES = ("flask", "sqlalchemy", "werkzeug", "chinese_calendar")

PROBE = """
import json, sys
import rules
import rules.calendar, rules.constants, rules.deadlines, rules.errors, rules.workflow
bad = sorted(m for m in sys.modules if m.lower().startswith({prefixes!r}))
print(json.dumps(bad))
"""


def _rules_sources() -> list[Path]:
    files = sorted(RULES_DIR.glob("*.py"))
    assert files, f"no sources found in {RULES_DIR}"
    return files


def test_import_rules_loads_no_framework_or_calendar_module():
    """Importing rules (and every submodule) in a fresh interpreter loads no Flask, SQLAlchemy, Werkzeug or chinese_calendar module."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE.format(prefixes=FORBIDDEN_PREFIXES)],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == []


def test_rules_sources_import_only_stdlib_or_relative_modules():
    """Every import statement in rules/*.py names a standard-library module or is relative."""
    stdlib = set(sys.stdlib_module_names)
    offenders = []
    imports_seen = 0
    for path in _rules_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    imports_seen += 1
                    top = alias.name.split(".")[0]
                    if top not in stdlib:
                        offenders.append(f"{path.name}:{node.lineno} import {alias.name}")
            elif isinstance(node, ast.ImportFrom):
                imports_seen += 1
                if node.level > 0:
                    continue  # relative: inside the rules package
                top = (node.module or "").split(".")[0]
                if top not in stdlib:
                    offenders.append(f"{path.name}:{node.lineno} from {node.module} import ...")
    assert imports_seen > 0  # the scan really looked at import statements
    assert offenders == []


def test_rules_sources_never_call_dynamic_import():
    """No rules module sidesteps the import check with __import__ or importlib."""
    for path in _rules_sources():
        text = path.read_text(encoding="utf-8")
        assert "__import__(" not in text, path.name
        assert "importlib" not in text, path.name
