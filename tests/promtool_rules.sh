#!/usr/bin/env bash
# ctest promtool_rules: deploy/prometheus/ checked and unit-tested with Debian's promtool
# (package prometheus): the scrape configuration, the recording and alert rules, and
# alerts_test.yml (a firing and a quiet case for every alert). Skipped (exit 77) without promtool.
set -euo pipefail
cd "$(dirname "$0")/../deploy/prometheus"
if ! command -v promtool >/dev/null; then
  echo "SKIPPED: promtool not found (Debian package prometheus; \`make deps\` installs it)"
  exit 77
fi
promtool check config prometheus.yml prometheus-compose.yml
promtool check rules rules.yml alerts.yml
promtool test rules alerts_test.yml
# Every alert has a test.
missing=0
for a in $(sed -n 's/^ *- alert: *//p' alerts.yml); do
  grep -q "alertname: $a\b" alerts_test.yml || { echo "no test for alert $a in alerts_test.yml"; missing=1; }
done
exit $missing
