#!/usr/bin/env bash
# allocations.sh: heap allocations per handshake of a vnc-hooks-manager binary
# (heaptrack), one handshake at a time against the bench server, security
# None, no hooks. Two runs of different lengths; their difference divided by
# the extra handshakes leaves start-up and shutdown out.
#
#   bench/allocations.sh BUILD_DIR [PROXY_BINARY] [--count N]
#
# BUILD_DIR holds bench/rfb-stream-server and bench/rfb-load-client
# (-DVHM_BUILD_BENCH=ON); PROXY_BINARY defaults to BUILD_DIR/app/vnc-hooks-manager.
# Needs heaptrack (apt-get install heaptrack). Not a test: it prints a number.
set -euo pipefail
usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -ge 1 ] || usage
build=$1; shift
proxy_bin=$build/app/vnc-hooks-manager
if [ $# -ge 1 ] && [ "${1#--}" = "$1" ]; then proxy_bin=$1; shift; fi
count=1000
while [ $# -gt 0 ]; do
  case $1 in
    --count) count=$2; shift 2;;
    *) usage;;
  esac
done
command -v heaptrack > /dev/null || { echo "allocations.sh: heaptrack not found (apt-get install heaptrack)" >&2; exit 2; }
for bin in "$build/bench/rfb-stream-server" "$build/bench/rfb-load-client" "$proxy_bin"; do
  [ -x "$bin" ] || { echo "allocations.sh: not an executable: $bin" >&2; exit 2; }
done

tmp=$(mktemp -d)
server_pid=
cleanup() { [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
"$build/bench/rfb-stream-server" --listen 127.0.0.1:0 > "$tmp/server.out" 2> "$tmp/server.err" &
server_pid=$!
for _ in $(seq 100); do grep -q '"port"' "$tmp/server.out" 2>/dev/null && break; sleep 0.05; done
server_port=$(python3 -c "import json; print(json.loads(open('$tmp/server.out').readline())['port'])")

allocations() {  # handshakes -> allocation calls of the whole proxy run
  local n=$1 port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  printf 'global:\n  log_file: %s\nlisteners:\n  - listen: "127.0.0.1:%s"\n    target: "127.0.0.1:%s"\n' \
    "$tmp/vhm-$n.log" "$port" "$server_port" > "$tmp/vhm-$n.yaml"
  heaptrack -o "$tmp/heap-$n" "$proxy_bin" --config "$tmp/vhm-$n.yaml" > "$tmp/heaptrack-$n.out" 2>&1 &
  local pid=$!
  for _ in $(seq 400); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1',$port),0.1).close()" 2>/dev/null && break
    sleep 0.05
  done
  "$build/bench/rfb-load-client" --connect "127.0.0.1:$port" --mode latency --count "$n" > /dev/null
  pkill -INT -f -- "--config $tmp/vhm-$n.yaml" || true
  wait "$pid" || true
  heaptrack_print "$tmp"/heap-"$n".* 2>/dev/null | awk '/^calls to allocation functions:/ {print $5}'
}
short=$(allocations 200)
long=$(allocations $((200 + count)))
python3 -c "print(f'{($long - $short) / $count:.1f} allocations per handshake ($count handshakes: $short -> $long calls)')"
