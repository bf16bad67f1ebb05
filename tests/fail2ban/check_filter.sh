#!/usr/bin/env bash
# Runs Debian's fail2ban-regex with packaging/fail2ban/filter.d/vnc-hooks-manager.conf
# on tests/data/fail2ban/sample.log (lines in the proxy's exact log format) and
# checks that exactly the "authentication failed" lines match, with the right
# client address (IPv4 and IPv6) and time (the spdlog +HH:MM offset honoured);
# successful logins, the proxy's ban:/blocked: lines and look-alike text inside
# other lines must not match. Then checks that the example jail loads with
# fail2ban-client -t against a scratch copy of /etc/fail2ban.
# Usage: check_filter.sh FILTER SAMPLE_LOG JAIL
set -euo pipefail

filter=$1
sample=$2
jail=$3

if ! command -v fail2ban-regex >/dev/null; then
  echo "check_filter: fail2ban-regex not found; install Debian's fail2ban (scripts/install-deps.sh)" >&2
  exit 1
fi

fail=0
check() {  # check WHAT EXPECTED ACTUAL
  if [[ "$2" != "$3" ]]; then
    printf 'check_filter: %s\n--- expected\n%s\n--- actual\n%s\n' "$1" "$2" "$3" >&2
    fail=1
  fi
}

summary=$(fail2ban-regex "$sample" "$filter" | grep -E '^Lines: ')
check "line counts" "Lines: 19 lines, 0 ignored, 5 matched, 14 missed" "$summary"

# One row per match: ['ADDRESS', UNIX_TIME, {...}],
rows=$(fail2ban-regex --out row "$sample" "$filter" | sed -E "s/^\['([^']+)',[[:space:]]*([0-9]+),.*/\1 \2/")
expected_rows="192.0.2.7 1795436682
192.0.2.7 1795436683
2001:db8:1:2::7 1795436684
2001:db8:1:2::7 1795436685
198.51.100.23 1795433085"
check "matched addresses and times" "$expected_rows" "$rows"

# The example jail, with its log path pointed at the sample, in a scratch
# configuration that holds only this jail.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp -r /etc/fail2ban "$scratch/conf"
rm -f "$scratch/conf/jail.d/"*
cp "$filter" "$scratch/conf/filter.d/vnc-hooks-manager.conf"
sed "s|^logpath .*|logpath  = $sample|" "$jail" >"$scratch/conf/jail.d/vnc-hooks-manager.local"
if ! fail2ban-client --conf "$scratch/conf" -t >"$scratch/test.out" 2>&1; then
  echo "check_filter: the example jail does not load:" >&2
  cat "$scratch/test.out" >&2
  fail=1
fi
dump=$(fail2ban-client --conf "$scratch/conf" -d 2>/dev/null)
check "jail uses the filter" "1" \
  "$(grep -cF "'addfailregex', '^\\\\s*\\\\w+ session [0-9a-f]+: authentication failed for client <ADDR>" <<<"$dump" || true)"
check "jail is the only one" "['start', 'vnc-hooks-manager']" "$(grep -F "['start'," <<<"$dump" || true)"

if ((fail)); then exit 1; fi
echo "check_filter: 5 of 19 lines matched as expected; the example jail loads"
