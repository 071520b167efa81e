"""The rules package is pure Python: standard library only, no framework, no calendar data."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
RULES_DIR = REPO / "rules"
FORBIDDEN = ("flask", "flask_admin", "wtforms", "sqlalchemy", "werkzeug", "chinese_calendar")

# Run in a fresh interpreter: import every module of the rules package, found by pkgutil
# (not a hand list, so a new module is checked the day it is added), then report which
# modules were imported and which forbidden ones got loaded on the way.
PROBE = """
import importlib, json, pkgutil, sys
{prelude}
import rules

def walk(package):
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        module = importlib.import_module(info.name)
        yield info.name
        if info.ispkg:
            yield from walk(module)

imported = sorted(walk(rules))
forbidden = {forbidden!r}
loaded = sorted(m for m in sys.modules
                if any(m == name or m.startswith(name + ".") for name in forbidden))
print(json.dumps({{"imported": imported, "loaded": loaded}}))
"""


def _probe(prelude: str = "") -> dict:
    code = PROBE.format(prelude=prelude, forbidden=FORBIDDEN)
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _rules_sources() -> list[Path]:
    files = sorted(RULES_DIR.rglob("*.py"))
    assert files, f"no sources found in {RULES_DIR}"
    return files


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.fixture(scope="module")
def probe() -> dict:
    return _probe()


def test_every_rules_module_is_imported(probe):
    """The probe really imports every module under rules/ (discovery missed none)."""
    on_disk = {_module_name(p) for p in _rules_sources()} - {"rules"}
    assert on_disk, "no rules modules found"
    assert set(probe["imported"]) == on_disk
    assert {"rules.actions", "rules.procedure", "rules.deadlines"} <= set(probe["imported"])


def test_importing_every_rules_module_loads_no_framework_or_calendar(probe):
    """Importing rules and every submodule in a fresh interpreter loads no Flask, Flask-Admin,
    WTForms, SQLAlchemy, Werkzeug or chinese_calendar module."""
    assert probe["loaded"] == []


def test_probe_would_see_a_forbidden_module():
    """The probe is not blind: a forbidden module loaded before rules is reported."""
    assert "chinese_calendar" in _probe(prelude="import chinese_calendar")["loaded"]


def _imported_names(tree: ast.AST):
    """(line, absolute module name) of every import statement; relative ones are skipped."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.lineno, node.module or ""


def test_rules_sources_have_no_forbidden_import_statement():
    """No module under rules/ has an ``import flask`` / ``from sqlalchemy import …`` (or
    flask_admin, wtforms, werkzeug, chinese_calendar) statement, even inside a function."""
    offenders = []
    for path in _rules_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, name in _imported_names(tree):
            if name.split(".")[0] in FORBIDDEN:
                offenders.append(f"{path.relative_to(REPO)}:{line} {name}")
    assert offenders == []


def test_rules_sources_import_only_stdlib_or_relative_modules():
    """Every import statement in rules/ names a standard-library module or is relative."""
    stdlib = set(sys.stdlib_module_names)
    offenders = []
    imports_seen = 0
    for path in _rules_sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            imports_seen += isinstance(node, (ast.Import, ast.ImportFrom))
        for line, name in _imported_names(tree):
            if name.split(".")[0] not in stdlib:
                offenders.append(f"{path.relative_to(REPO)}:{line} {name}")
    assert imports_seen > 0  # the scan really looked at import statements
    assert offenders == []


def test_rules_sources_never_call_dynamic_import():
    """No rules module sidesteps the import checks with __import__ or importlib."""
    for path in _rules_sources():
        text = path.read_text(encoding="utf-8")
        assert "__import__(" not in text, path.name
        assert "importlib" not in text, path.name
