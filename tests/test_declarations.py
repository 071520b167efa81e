"""Every declared action is complete, and rules is the one source of roles and statuses.

A new workflow step is one declaration in rules/procedure.py plus its form
(admin_views/complaint_forms.py), its label (admin_views/labels.py) and its Chinese
translation; these tests fail when one of them is missing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import rules
from rules.actions import RECIPIENTS

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"


@pytest.fixture(scope="module")
def catalog():
    with PO.open("rb") as f:
        return read_po(f)


def translated(catalog, msgid: str) -> bool:
    message = catalog.get(str(msgid))
    return bool(message and message.string and not message.fuzzy)


@pytest.mark.parametrize("spec", rules.all_specs(), ids=lambda s: s.name)
def test_action_has_rows_roles_and_known_recipients(spec):
    assert spec.who and all(status in rules.Status.ALL for status in spec.who)
    assert spec.roles and spec.roles <= set(rules.Role.ALL)
    if not callable(spec.notify):  # a function's answers are checked by the action's tests
        assert set(spec.notify) <= set(RECIPIENTS)


@pytest.mark.parametrize("spec", rules.all_specs(), ids=lambda s: s.name)
def test_action_has_a_form_with_its_fields(app, spec):
    from admin_views.complaint_forms import ACTION_FORMS

    assert spec.name in ACTION_FORMS, f"no form for {spec.name}"
    with app.test_request_context():
        form = ACTION_FORMS[spec.name](meta={"csrf": False})
        produced = set(form.inputs())
    # Every field the action reads is one the form sends (targets: department / person).
    assert {f.name for f in spec.fields} <= produced, spec.name


@pytest.mark.parametrize("spec", rules.all_specs(), ids=lambda s: s.name)
def test_action_has_a_label_and_chinese_for_label_and_verb(catalog, spec):
    from admin_views.labels import ACTION

    assert spec.name in ACTION, f"no label for {spec.name}"
    label = ACTION[spec.name]
    assert translated(catalog, label._args[0] if hasattr(label, "_args") else label), spec.name
    assert translated(catalog, spec.verb), spec.verb


def test_every_rules_message_is_translated(catalog):
    """Every N_() message of the rules package has a Chinese translation."""
    missing = []
    for path in sorted((ROOT / "rules").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "N_"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                if not translated(catalog, node.args[0].value):
                    missing.append(f"{path.name}: {node.args[0].value}")
    assert missing == []


# Role and status values that are not also ordinary words of the code (endpoint names,
# action names): a string literal equal to one of these outside rules/ and labels.py is a
# role or status spelled out instead of taken from rules.
LITERALS = {"dept_head", "handler", "supervisor", "executive", "intake", "in_progress",
            "registered", "forwarded"}
SCANNED = ("app.py", "admin_views", "api", "services", "models")
# labels.py names every value; the demo's user names happen to equal role names.
ALLOWED = {"admin_views/labels.py", "services/demo.py"}


def test_no_role_or_status_literal_outside_rules_and_labels():
    found = []
    for top in SCANNED:
        paths = [ROOT / top] if top.endswith(".py") else sorted((ROOT / top).rglob("*.py"))
        for path in paths:
            rel = path.relative_to(ROOT).as_posix()
            if rel in ALLOWED:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and node.value in LITERALS:
                    found.append(f"{rel}:{node.lineno}: {node.value!r}")
    assert found == []
