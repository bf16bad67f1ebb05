#!/usr/bin/env bash
# broker.sh: events per second from the proxy's publisher (broker-load: the
# proxy's StreamPublisher with its fsync'ed spool) through a real redis-server
# to one `vnc-hooks-manager worker` whose hooks do nothing (`action: log` to
# /dev/null, on connect and disconnect: no process per event), and the delay
# from each event's timestamp to its hooks done on the worker (p50, p99; the
# worker's own 1 ms histogram, printed at its exit). Loopback only; builds
# nothing: configure a Release build with -DVHM_BUILD_BENCH=ON and build
# vnc-hooks-manager and broker-load. bench/README.md ("Event stream") has figures.
#
#   bench/broker.sh [BUILD_DIR] [--events N] [--rate R]...
#     BUILD_DIR   default build-bench
#     --events N  events per run (default 50000)
#     --rate R    a paced run at R events/s (repeatable; default: 5000, then 0 = unpaced)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-bench events=50000 rates=()
while (($#)); do
  case $1 in
    --events) events=$2; shift 2 ;;
    --rate) rates+=("$2"); shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "broker.sh: unknown option $1" >&2; exit 2 ;;
    *) build=$(cd "$1" && pwd); shift ;;
  esac
done
((${#rates[@]})) || rates=(5000 0)
binary=$build/app/vnc-hooks-manager load=$build/bench/broker-load
for program in "$binary" "$load" /usr/bin/redis-server /usr/bin/redis-cli; do
  [ -x "$program" ] || { echo "broker.sh: $program not found (see the header)" >&2; exit 1; }
done

work=$(mktemp -d /tmp/vhm-broker-bench.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" --daemonize no \
  --logfile "$work/redis.log" &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
cli() { redis-cli -p "$port" "$@"; }

echo "# $(date -u +%FT%TZ) $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $events events per run"
echo "# rate: asked | published/s (publisher, spool included) | end-to-end/s (first event -> last ack) | event->hooks done p50 p99"
run=0
for rate in "${rates[@]}"; do
  # A stream per run: a repeated rate must not count the previous run's entries.
  run=$((run + 1))
  stream=bench:$run:$rate
  cat >"$work/worker.yaml" <<YAML
global:
  log_level: info
  max_concurrent_hooks: 10
events:
  connect:
    - name: nothing
      action: log
      path: /dev/null
  disconnect:
    - name: nothing
      action: log
      path: /dev/null
broker:
  url: redis://127.0.0.1:$port
  stream: "$stream"
  group: bench
YAML
  "$binary" worker --config "$work/worker.yaml" --stats-interval 0 2>"$work/worker-$run.log" &
  worker=$!
  pids+=("$worker")
  for _ in $(seq 200); do grep -q "worker: consuming" "$work/worker-$run.log" && break; sleep 0.05; done
  for _ in $(seq 200); do [ "$(cli xinfo groups "$stream" 2>/dev/null | head -1)" = name ] && break; sleep 0.05; done

  start=$(date +%s.%N)
  "$load" --redis "redis://127.0.0.1:$port" --stream "$stream" --spool-dir "$work/spool-$run" --events "$events" \
    --rate "$rate" >"$work/load-$run.out" 2>"$work/load-$run.log"
  # Done when the group has read every entry and none is pending.
  while :; do
    info=$(cli xinfo groups "$stream" | tr '\n' ' ')
    pending=$(echo "$info" | sed -E 's/.* pending ([0-9]+) .*/\1/')
    read_count=$(echo "$info" | sed -E 's/.* entries-read ([0-9]+) .*/\1/')
    [ "$pending" = 0 ] && [ "$read_count" = "$events" ] && break
    sleep 0.02
  done
  end=$(date +%s.%N)
  kill -TERM "$worker"
  wait "$worker" || true
  published=$(sed -nE 's/.* rate=([0-9]+) .*/\1/p' "$work/load-$run.out")
  summary=$(grep "worker stopped:" "$work/worker-$run.log" | sed -E 's/.*p50 ([0-9-]+( ms)?) p99 ([0-9-]+( ms)?).*/\1 \3/')
  e2e=$(python3 -c "print(round($events / ($end - $start)))")
  echo "$rate | $published | $e2e | $summary"
done
