#!/usr/bin/env bash
# webhooks.sh: about 1,000 events a second with a webhook each, through
# vnc-hooks-manager to a local receiver, for a minute; then the receiver down;
# then relay throughput with and without that load. Loopback only; builds
# nothing. bench/README.md ("Webhooks") says how to read it.
#
#   bench/webhooks.sh [BUILD_DIR] [--seconds S] [--rate R] [--help]
set -euo pipefail
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec python3 "$(dirname "$0")/webhooks/run.py" "$@"
