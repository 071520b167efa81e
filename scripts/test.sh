#!/usr/bin/env bash
# Sets everything up and runs the whole test suite, on SQLite and then on PostgreSQL; between
# them the browser suite (tests/browser: headless chromium, SQLite, under three minutes).
# PostgreSQL: TEST_PG_URL (default postgresql+psycopg://postgres@127.0.0.1) names the server;
# a fresh database is created for the run and dropped after it. SKIP_PG=1 runs SQLite only.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh dev
PY=.venv/bin/python

# The export tests open the workbooks in LibreOffice (Debian's package; ~40 s to install).
if ! command -v soffice >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing LibreOffice Calc (for the workbook-opens-in-LibreOffice tests)"
    apt-get update -qq && apt-get install -y -qq --no-install-recommends libreoffice-calc >/dev/null
  else
    echo "!! LibreOffice (soffice) is missing: tests/exports/test_libreoffice.py will fail" >&2
  fi
fi

# The browser suite (tests/browser) drives Debian's chromium through chromedriver, with CJK
# fonts for the screenshots, and injects axe-core from the npm registry (package-lock.json).
browser_pkgs=()
for pkg in chromium chromium-driver fonts-noto-cjk; do
  dpkg -s "$pkg" >/dev/null 2>&1 || browser_pkgs+=("$pkg")
done
command -v npm >/dev/null 2>&1 || browser_pkgs+=(npm)
if [ "${#browser_pkgs[@]}" -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing ${browser_pkgs[*]} (for the browser suite)"
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${browser_pkgs[@]}" >/dev/null
  else
    echo "!! missing for the browser suite: ${browser_pkgs[*]}: tests/browser will fail" >&2
  fi
fi
if [ ! -f tests/browser/node_modules/axe-core/axe.min.js ] && command -v npm >/dev/null 2>&1; then
  echo "== npm ci (axe-core for the browser suite)"
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

# PostgreSQL and Redis run beside the suite (the jobs' RQ tests and the production-shape
# test use Redis; the PostgreSQL pass needs its server): started here when they are not.
if ! redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
  if command -v redis-server >/dev/null 2>&1; then
    redis-server --daemonize yes >/dev/null
    for _ in $(seq 30); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.2; done
  else
    echo "!! redis-server is missing: the RQ tests will fail" >&2
  fi
fi

# The server's clock zone must not matter (COMPANY_TZ decides every time): the whole suite
# runs with the process in UTC, then the time-sensitive tests again in New York.
export TZ=UTC

# The PostgreSQL pass runs in the background, beside the SQLite passes (two cores: the
# whole run takes the longer of the two instead of their sum); its output follows at the end.
pg_pid=""
pg_log=""
if [ "${SKIP_PG:-0}" != "1" ]; then
  server="${TEST_PG_URL:-postgresql+psycopg://postgres@127.0.0.1}"
  if ! pg_isready -h 127.0.0.1 -q 2>/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    for _ in $(seq 30); do pg_isready -h 127.0.0.1 -q && break; sleep 1; done
  fi
  dbname="complaintdesk_test_$$_$(date +%s)"
  "$PY" scripts/pgdb.py "$server" "$dbname" create
  pg_log="$(mktemp -t complaintdesk-pg-XXXXXX.log)"
  cleanup() {
    if [ -n "$pg_pid" ]; then kill "$pg_pid" 2>/dev/null || true; wait "$pg_pid" 2>/dev/null || true; fi
    "$PY" scripts/pgdb.py "$server" "$dbname" drop || true
  }
  trap cleanup EXIT
  echo "== test suite on PostgreSQL ($dbname, TZ=$TZ): in the background, output at the end"
  # Its own temporary folder and Redis database: the two passes never share a file or a key.
  pg_tmp="$(mktemp -d -t complaintdesk-pg-tmp-XXXXXX)"
  # The hostile-input fuzz tests run a quarter of their (derandomised, same) examples there
  # (FUZZ_SCALE): the SQLite pass runs them all, and the whole run must stay within 30 min.
  ( TEST_DATABASE_URL="$server/$dbname" TEST_REDIS_URL="redis://127.0.0.1:6379/7" FUZZ_SCALE=0.25 \
      "$PY" -m pytest --ignore=tests/browser --basetemp="$pg_tmp/pytest" "$@" \
      >"$pg_log" 2>&1 ) &
  pg_pid=$!
fi

status=0
pg_start=$(date +%s)
echo "== test suite on SQLite (TZ=$TZ)"
"$PY" -m pytest --ignore=tests/browser "$@" || status=$?

tz_tests=()
for path in tests/rules tests/services/test_deadlines.py tests/services/test_sweep.py \
            tests/test_timezone.py; do
  if [ -e "$path" ]; then tz_tests+=("$path"); fi
done
if [ "${#tz_tests[@]}" -gt 0 ]; then
  echo "== time-sensitive tests on SQLite (TZ=America/New_York)"
  # Exit code 5 (nothing collected, e.g. a -k that selects none of them) is not a failure.
  TZ=America/New_York "$PY" -m pytest "${tz_tests[@]}" "$@" || [ $? -eq 5 ] || status=1
fi

# The five daily tasks in a real browser against a live server on SQLite (budget: 3 minutes);
# a failing test leaves its screenshot and page source in tests/browser/artifacts/.
echo "== browser suite: headless chromium, axe-core on every page (SQLite)"
start=$(date +%s)
"$PY" -m pytest tests/browser -s "$@" || [ $? -eq 5 ] || status=1
echo "== browser suite took $(( $(date +%s) - start )) s"

if [ -n "$pg_pid" ]; then
  pg_status=0
  wait "$pg_pid" || pg_status=$?
  pg_pid=""
  echo "== test suite on PostgreSQL: its output (finished $(( $(date +%s) - pg_start )) s after the start)"
  cat "$pg_log"
  rm -rf "$pg_log" "$pg_tmp"
  [ "$pg_status" -eq 0 ] || [ "$pg_status" -eq 5 ] || status=1
else
  echo "== PostgreSQL run skipped (SKIP_PG=1)"
fi
exit "$status"
