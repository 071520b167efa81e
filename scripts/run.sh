#!/usr/bin/env bash
# Sets everything up and runs Complaint desk on SQLite with demo data: http://127.0.0.1:5000/
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export FLASK_APP=app:create_app
.venv/bin/flask init-db
.venv/bin/flask demo
.venv/bin/flask sweep
exec .venv/bin/flask run --host "${HOST:-127.0.0.1}" --port "${PORT:-5000}"
