#!/usr/bin/env bash
# relay.sh: the relay's throughput (plain and VeNCrypt TLS), CPU per GiB,
# handshake latency, connection rate and 9,000-session scale, next to a direct
# connection and haproxy (TCP mode), in one run, as ratios. Loopback only.
#
#   bench/relay.sh [BUILD_DIR] [--quick] [--only SECTION[,SECTION]] [--strict] ...
#
# Sections: throughput, tls, latency, rate, scale. See docs/performance.md for
# what each number means; --help for the options. It builds nothing and is not
# a test: exit 0 = all measured, 1 = something could not be measured (or, with
# --strict, a target was missed), 2 = usage error or the load generator is not built.
exec python3 "$(dirname "$0")/relay/main.py" "$@"
