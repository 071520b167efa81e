#!/usr/bin/env bash
# Translation catalogue: extract our strings, merge them into the zh_Hans_CN catalogue, compile.
# Usage: scripts/i18n.sh [extract|update|compile|all]   (default: all)
# After "update", translate every new or fuzzy entry in
# translations/zh_Hans_CN/LC_MESSAGES/messages.po, then run "scripts/i18n.sh compile".
set -euo pipefail
cd "$(dirname "$0")/.."
PYBABEL="${PYBABEL:-.venv/bin/pybabel}"
POT=translations/messages.pot
LOCALE=zh_Hans_CN
PO="translations/$LOCALE/LC_MESSAGES/messages.po"

extract() {
  "$PYBABEL" extract -F babel.cfg -o "$POT" --no-location --sort-output \
    --project "Complaint desk" --copyright-holder "Complaint desk" \
    -k _ -k _l -k N_ -k gettext -k lazy_gettext -k ngettext:1,2 -k lazy_ngettext:1,2 \
    .
}

update() {
  if [ -f "$PO" ]; then
    "$PYBABEL" update -i "$POT" -d translations -l "$LOCALE" --no-wrap --ignore-obsolete
  else
    "$PYBABEL" init -i "$POT" -d translations -l "$LOCALE" --no-wrap
  fi
}

compile() {
  "$PYBABEL" compile -d translations -l "$LOCALE" --statistics
}

case "${1:-all}" in
  extract) extract ;;
  update) extract; update ;;
  compile) compile ;;
  all) extract; update; compile ;;
  *) echo "usage: $0 [extract|update|compile|all]" >&2; exit 2 ;;
esac
