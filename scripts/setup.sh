#!/usr/bin/env bash
# Creates .venv and installs the pinned requirements (idempotent). Usage: scripts/setup.sh [dev]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
req=requirements.txt
[ "${1:-}" = "dev" ] && req=requirements-dev.txt
stamp=".venv/.installed-$(sha1sum requirements.txt requirements-dev.txt | sha1sum | cut -c1-12)-${1:-run}"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$req"
  touch "$stamp"
fi
# The Chinese catalogue: compile it when the .mo is missing or older than the .po.
mo=translations/zh_Hans_CN/LC_MESSAGES/messages.mo
if [ -f "${mo%.mo}.po" ] && { [ ! -f "$mo" ] || [ "${mo%.mo}.po" -nt "$mo" ]; }; then
  .venv/bin/pybabel compile -d translations -l zh_Hans_CN
fi
