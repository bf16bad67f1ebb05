#!/usr/bin/env bash
# A/B of two proxies side by side: two vnc-hooks-manager binaries (a change
# and the commit before it), or one binary with two global settings. Both run
# at once in front of one bench server and are measured in alternating rounds,
# so the machine's drift hits both alike (docs/performance.md quotes these).
#
#   bench/ab.sh BUILD_DIR A_BINARY B_BINARY [options]
#     --a-global 'KEY: VALUE'   a global setting for A (repeatable), e.g. 'busy_poll_us: 0'
#     --b-global 'KEY: VALUE'   the same for B
#     --rounds N                alternating rounds (default 8)
#     --count N                 sequential handshakes per latency round (default 2000)
#     --seconds S               per rate round, 16 connectors (default 4)
#     --security none|vnc       (default none)
#     --only latency|rate       one of the two measures
#
# BUILD_DIR must hold bench/rfb-stream-server and bench/rfb-load-client
# (-DVHM_BUILD_BENCH=ON). Prints, per proxy, the medians over the rounds:
# latency p50, proxy CPU µs and context switches per handshake; handshakes/s
# and proxy CPU µs per handshake with 16 connectors. The direct server's
# latency is measured in the same rounds.
set -euo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -ge 3 ] || usage
build=$(cd "$1" && pwd); a_bin=$2; b_bin=$3; shift 3
a_global=(); b_global=(); rounds=8; count=2000; seconds=4; security=none; only=""
while [ $# -gt 0 ]; do
  case $1 in
    --a-global) a_global+=("$2"); shift 2;;
    --b-global) b_global+=("$2"); shift 2;;
    --rounds) rounds=$2; shift 2;;
    --count) count=$2; shift 2;;
    --seconds) seconds=$2; shift 2;;
    --security) security=$2; shift 2;;
    --only) only=$2; shift 2;;
    *) usage;;
  esac
done
server_bin=$build/bench/rfb-stream-server
client_bin=$build/bench/rfb-load-client
for bin in "$server_bin" "$client_bin" "$a_bin" "$b_bin"; do
  [ -x "$bin" ] || { echo "ab.sh: not an executable: $bin" >&2; exit 2; }
done

tmp=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_listening() {
  for _ in $(seq 200); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.1).close()" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "ab.sh: nothing listens on $1 (see $tmp)" >&2; exit 1
}

"$server_bin" --listen 127.0.0.1:0 --security "$security" > "$tmp/server.out" 2> "$tmp/server.err" &
pids+=($!)
server_pid=$!
for _ in $(seq 100); do grep -q '"port"' "$tmp/server.out" 2>/dev/null && break; sleep 0.05; done
server_port=$(python3 -c "import json; print(json.loads(open('$tmp/server.out').readline())['port'])")

start_proxy() {  # name binary settings...
  local name=$1 bin=$2; shift 2
  local port; port=$(free_port)
  {
    echo "global:"
    echo "  log_file: $tmp/$name.log"
    echo "  max_sessions: 30000"
    for setting in "$@"; do echo "  $setting"; done
    echo "listeners:"
    echo "  - listen: \"127.0.0.1:$port\""
    echo "    target: \"127.0.0.1:$server_port\""
  } > "$tmp/$name.yaml"
  "$bin" --config "$tmp/$name.yaml" > "$tmp/$name.err" 2>&1 &
  pids+=($!)
  eval "${name}_pid=$! ${name}_port=$port"
  wait_listening "$port"
}
start_proxy a "$a_bin" "${a_global[@]}"
start_proxy b "$b_bin" "${b_global[@]}"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
switches() { awk '/ctxt_switches/ {s += $2} END {print s}' "/proc/$1/status"; }
ticks_per_s=$(getconf CLK_TCK)
field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }

measure() {  # mode name pid port -> one result line
  local mode=$1 name=$2 pid=$3 port=$4 out c0 c1 x0 x1
  c0=$(cpu_ticks "$pid"); x0=$(switches "$pid")
  if [ "$mode" = latency ]; then
    out=$("$client_bin" --connect "127.0.0.1:$port" --mode latency --count "$count" --security "$security")
  else
    out=$("$client_bin" --connect "127.0.0.1:$port" --mode rate --sessions 16 --seconds "$seconds" --security "$security")
  fi
  c1=$(cpu_ticks "$pid"); x1=$(switches "$pid")
  local n; n=$(echo "$out" | field count)
  echo "$mode $name $(echo "$out" | field p50_ms) $(echo "$out" | field handshakes_per_s 2>/dev/null || echo 0)" \
       "$(python3 -c "print(($c1 - $c0) * 1e6 / $ticks_per_s / max($n, 1))")" \
       "$(python3 -c "print(($x1 - $x0) / max($n, 1))")"
}

for round in $(seq "$rounds"); do
  for mode in latency rate; do
    [ -z "$only" ] || [ "$only" = "$mode" ] || continue
    [ "$mode" = rate ] || measure latency direct "$server_pid" "$server_port"
    measure "$mode" a "$a_pid" "$a_port"
    measure "$mode" b "$b_pid" "$b_port"
  done
  echo "round $round of $rounds done" >&2
done > "$tmp/results"

python3 - "$tmp/results" "$a_bin ${a_global[*]:-}" "$b_bin ${b_global[*]:-}" <<'EOF'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
names = {"direct": "direct (server CPU)", "a": "A: " + sys.argv[2], "b": "B: " + sys.argv[3]}
for mode in ("latency", "rate"):
    for who in ("direct", "a", "b"):
        got = [r for r in rows if r[0] == mode and r[1] == who]
        if not got:
            continue
        med = lambda i: statistics.median(float(r[i]) for r in got)
        if mode == "latency":
            print(f"latency  {names[who]}: p50 {med(2):.3f} ms, CPU {med(4):.0f} us and"
                  f" {med(5):.1f} context switches per handshake ({len(got)} rounds)")
        else:
            print(f"rate     {names[who]}: {med(3):.0f} handshakes/s, proxy CPU {med(4):.0f} us per handshake"
                  f" ({len(got)} rounds)")
EOF
