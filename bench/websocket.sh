#!/usr/bin/env bash
# websocket.sh: RFB over WebSocket through vnc-hooks-manager and through
# Debian's websockify, in one run, on loopback only (bench/README.md,
# "WebSocket").
#
#   bench/websocket.sh [BUILD_DIR] [--quick] [options]
#
# Measures:
#   a) throughput: one noVNC-like viewer (rfb-ws-load-client: masked PointerEvent
#      messages up every 10 ms, raw 1024x768 FramebufferUpdates down in binary
#      messages) reads as fast as it can; paths alternate, ratio proxy/websockify
#   b) idle memory: N WebSocket sessions after ServerInit; per session:
#      the proxy's RSS delta / N; websockify forks a process per session, so its
#      figure is the delta of the process tree's summed Pss (shared pages
#      counted once) and summed RSS
#   c) stalled browsers: K viewers ask for updates and never read while the
#      server streams; memory sampled for --stall-seconds; websockify is killed
#      once its tree passes --cap-mib (it has no backpressure)
# It builds nothing and is not a test: it exits 1 only if something could not
# be measured, or with --strict when the proxy misses a target.
set -uo pipefail

usage() {
    cat <<'EOF'
usage: bench/websocket.sh [BUILD_DIR] [options]
  BUILD_DIR            CMake build dir (default build-bench in the repository)
  --quick              sanity run: 1 x 1 s throughput, 20 idle, 4 stalled for 3 s
  --strict             exit 1 when vnc-hooks-manager misses a target
  --reps N             throughput repetitions per path (default 3; medians)
  --seconds S          seconds per throughput run (default 5)
  --sessions N         idle sessions (default 300; websockify forks one process each)
  --stalled K          stalled viewers (default 16)
  --stall-seconds S    how long the stalled viewers are watched (default 15)
  --cap-mib M          kill websockify when its tree's RSS passes M MiB (default 2048)
  --proxy-bin PATH     vnc-hooks-manager (default BUILD_DIR/app/vnc-hooks-manager)
  --websockify-bin P   websockify (default: websockify on PATH)
  --keep-tmp           keep the temp dir (configs, logs)
EOF
}

repo_dir=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$repo_dir/build-bench
quick=0 strict=0 reps=3 run_seconds=5 sessions=300 stalled=16 stall_seconds=15 cap_mib=2048
proxy_bin="" websockify_bin="" keep_tmp=0
while (($#)); do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --quick) quick=1 ;;
    --strict) strict=1 ;;
    --reps) reps=$2; shift ;;
    --seconds) run_seconds=$2; shift ;;
    --sessions) sessions=$2; shift ;;
    --stalled) stalled=$2; shift ;;
    --stall-seconds) stall_seconds=$2; shift ;;
    --cap-mib) cap_mib=$2; shift ;;
    --proxy-bin) proxy_bin=$2; shift ;;
    --websockify-bin) websockify_bin=$2; shift ;;
    --keep-tmp) keep_tmp=1 ;;
    -*) echo "websocket.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) build_dir=$1 ;;
    esac
    shift
done
if ((quick)); then
    reps=1 run_seconds=1 sessions=20 stalled=4 stall_seconds=3
fi
for number in "$reps" "$sessions" "$stalled" "$stall_seconds" "$cap_mib"; do
    [[ $number =~ ^[1-9][0-9]*$ ]] || { echo "websocket.sh: expected a positive integer, got '$number'" >&2; exit 2; }
done

server_bin=$build_dir/bench/rfb-stream-server
ws_client_bin=$build_dir/bench/rfb-ws-load-client
tcp_client_bin=$build_dir/bench/rfb-load-client
proxy_bin=${proxy_bin:-$build_dir/app/vnc-hooks-manager}
websockify_bin=${websockify_bin:-$(command -v websockify || true)}
for bin in "$server_bin" "$ws_client_bin" "$tcp_client_bin"; do
    if [[ ! -x $bin ]]; then
        echo "websocket.sh: $bin is not built:" >&2
        echo "  cmake -S $repo_dir -B $build_dir -G Ninja -DCMAKE_BUILD_TYPE=Release -DVHM_BUILD_BENCH=ON" >&2
        echo "  cmake --build $build_dir --target bench vnc-hooks-manager" >&2
        exit 2
    fi
done

problems=()
problem() {
    problems+=("$1")
    echo "!! $1"
}
kinds=()
[[ -x $proxy_bin ]] && kinds+=(vhm) || problem "vnc-hooks-manager is NOT BUILT ($proxy_bin)"
[[ -n $websockify_bin && -x $websockify_bin ]] && kinds+=(websockify) ||
    problem "websockify not found (apt-get install websockify)"

ulimit -n "$(ulimit -Hn)" 2>/dev/null
tmp=$(mktemp -d /tmp/vhm-wsbench.XXXXXX)
started_pids=()

# Every process started here, by pid: the proxies, the server, websockify's
# per-session children (listed by tree_pids before the parent is stopped).
stop_pid() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}
# pid and all its descendants (websockify: the listener and one child per session).
tree_pids() {
    local pid=$1 child
    echo "$pid"
    for child in $(pgrep -P "$pid" 2>/dev/null); do
        tree_pids "$child"
    done
}
stop_tree() {
    local pid
    for pid in $(tree_pids "$1" | tac); do
        stop_pid "$pid"
    done
}
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
    local pid
    for pid in "${started_pids[@]}"; do
        stop_tree "$pid"
    done
    ((keep_tmp)) && echo "temp dir kept: $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "websocket.sh: interrupted"; exit 130' INT TERM HUP

json_field() { sed -n 's/.*"'"$2"'":\("[^"]*"\|[^,}]*\).*/\1/p' <<<"$1"; }
free_port() {
    local i port
    for ((i = 0; i < 100; i++)); do
        port=$((20000 + RANDOM % 10000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}
# Memory of a process tree in KiB: "RSS_SUM PSS_SUM PSS_ANON_SUM".
tree_mem() {
    local pid rss=0 pss=0 anon=0 r p a
    for pid in $(tree_pids "$1"); do
        r=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
        p=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null)
        a=$(awk '/^Pss_Anon:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null)
        rss=$((rss + ${r:-0})) pss=$((pss + ${p:-0})) anon=$((anon + ${a:-0}))
    done
    echo "$rss $pss $anon"
}
# The tree's summed VmRSS only: cheap even for gigabytes (smaps_rollup walks
# every mapping and took seconds per sample on a growing websockify).
tree_rss() {
    local pid rss=0 r
    for pid in $(tree_pids "$1"); do
        r=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
        rss=$((rss + ${r:-0}))
    done
    echo "$rss"
}
per_session() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {printf "%.1f", (b - a) / n}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
label() { [[ $1 == vhm ]] && echo "vnc-hooks-manager" || echo "$1"; }

# --- the bench server (streams raw updates once asked) ----------------------
server_pid="" server_port="" server_fd=""
start_server() {
    local line
    exec {server_fd}< <(exec "$server_bin" --listen 127.0.0.1:0 2>>"$tmp/server.err")
    server_pid=$!
    started_pids+=("$server_pid")
    read -r -t 10 -u "$server_fd" line || { echo "websocket.sh: rfb-stream-server did not start" >&2; exit 1; }
    server_port=$(json_field "$line" port)
}


# --- the two WebSocket proxies -----------------------------------------------
# vnc-hooks-manager: a listener speaking raw RFB and WebSocket on one port, no
# hooks (the same work websockify does).
proxy_pid="" proxy_port=""
start_proxy() {
    local kind=$1 log=$tmp/$1.$RANDOM
    proxy_port=$(free_port) || { problem "no free port"; return 1; }
    case "$kind" in
    vhm)
        cat >"$log.yaml" <<EOF
global:
  log_level: warn
listeners:
  - listen: 127.0.0.1:$proxy_port
    target: 127.0.0.1:$server_port
    protocols: [rfb, ws]
EOF
        "$proxy_bin" --config "$log.yaml" >"$log.out" 2>"$log.err" &
        ;;
    websockify)
        "$websockify_bin" "127.0.0.1:$proxy_port" "127.0.0.1:$server_port" >"$log.out" 2>"$log.err" &
        ;;
    esac
    proxy_pid=$!
    started_pids+=("$proxy_pid")
    if ! "$ws_client_bin" --connect "127.0.0.1:$proxy_port" --mode probe --wait 10 >"$log.probe" 2>&1; then
        problem "$(label "$kind") did not become ready: $(tail -c 300 "$log.probe" | tr '\n' ' ') $(tail -c 300 "$log.err" | tr '\n' ' ')"
        stop_tree "$proxy_pid"
        return 1
    fi
    wait_settled "$proxy_pid"
}
# websockify's probe child exits shortly after the probe: wait until only the
# listener is left, so the next measurement starts from the idle tree.
wait_settled() {
    local i
    for ((i = 0; i < 50; i++)); do
        [[ $(tree_pids "$1" | wc -l) -le 1 ]] && return 0
        sleep 0.1
    done
}

echo "== WebSocket benchmark: vnc-hooks-manager vs websockify ($(date -u +%FT%TZ))"
echo "build dir: $build_dir; $(nproc) CPUs; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "websockify: $websockify_bin ($("$websockify_bin" --help 2>&1 | head -1 | cut -c1-60)...)"
echo "throughput: $reps x $run_seconds s per path; idle: $sessions sessions; stalled: $stalled viewers for $stall_seconds s"
echo
start_server

# --- a) throughput -----------------------------------------------------------
declare -A tp_runs=() ports=() pids=()
for kind in "${kinds[@]}"; do
    start_proxy "$kind" && ports[$kind]=$proxy_port pids[$kind]=$proxy_pid
done
direct_runs=()
ratios=()
for ((rep = 1; rep <= reps; rep++)); do
    line=$("$tcp_client_bin" --connect "127.0.0.1:$server_port" --seconds "$run_seconds" 2>>"$tmp/client.err" | tail -n 1)
    [[ $(json_field "$line" ok) == true ]] && direct_runs+=("$(json_field "$line" mb_per_s)")
    printf '[throughput] rep %d/%d %-18s %8s MB/s (raw TCP, for scale)\n' "$rep" "$reps" direct "${direct_runs[-1]:-?}"
    declare -A rep_mbps=()
    for kind in "${kinds[@]}"; do
        [[ -n ${ports[$kind]:-} ]] || continue
        line=$(timeout $((run_seconds + 60)) "$ws_client_bin" --connect "127.0.0.1:${ports[$kind]}" \
            --seconds "$run_seconds" 2>>"$tmp/client.err" | tail -n 1)
        if [[ $(json_field "$line" ok) == true ]]; then
            rep_mbps[$kind]=$(json_field "$line" mb_per_s)
            tp_runs[$kind]+="${rep_mbps[$kind]} "
            printf '[throughput] rep %d/%d %-18s %8.1f MB/s (%s messages, %s inputs sent)\n' "$rep" "$reps" \
                "$(label "$kind")" "${rep_mbps[$kind]}" "$(json_field "$line" messages)" "$(json_field "$line" inputs_sent)"
        else
            problem "throughput via $(label "$kind") failed: ${line:-no result (see $tmp/client.err)}"
        fi
        wait_settled "${pids[$kind]}"
    done
    if [[ -n ${rep_mbps[vhm]:-} && -n ${rep_mbps[websockify]:-} ]]; then
        ratios+=("$(awk -v a="${rep_mbps[vhm]}" -v b="${rep_mbps[websockify]}" 'BEGIN {printf "%.2f", a / b}')")
    fi
    unset rep_mbps
done
for kind in "${kinds[@]}"; do
    [[ -n ${pids[$kind]:-} ]] && stop_tree "${pids[$kind]}"
done

# --- b) idle memory ----------------------------------------------------------
declare -A idle_rss=() idle_pss=()
for kind in "${kinds[@]}"; do
    start_proxy "$kind" || continue
    read -r rss0 pss0 anon0 <<<"$(tree_mem "$proxy_pid")"
    out=$tmp/idle.$kind.out
    "$ws_client_bin" --connect "127.0.0.1:$proxy_port" --mode idle --sessions "$sessions" --hold 300 >"$out" 2>>"$tmp/client.err" &
    client_pid=$!
    started_pids+=("$client_pid")
    for ((i = 0; i < 1200; i++)); do
        grep -q '"event"' "$out" 2>/dev/null && break
        sleep 0.1
    done
    line=$(head -n 1 "$out")
    if [[ $(json_field "$line" event) != '"ready"' || $(json_field "$line" failed) != 0 ]]; then
        problem "idle via $(label "$kind"): ${line:-no ready line}"
    else
        sleep 1  # let websockify's last children finish starting up
        read -r rss1 pss1 anon1 <<<"$(tree_mem "$proxy_pid")"
        idle_rss[$kind]=$(per_session "$rss0" "$rss1" "$sessions")
        idle_pss[$kind]=$(per_session "$pss0" "$pss1" "$sessions")
        printf '[idle] %-18s %d sessions up in %s ms; RSS %s -> %s KiB, Pss %s -> %s KiB, Pss_Anon %s -> %s KiB: %s KiB RSS / %s KiB Pss per session (%d processes)\n' \
            "$(label "$kind")" "$sessions" "$(json_field "$line" handshake_ms)" "$rss0" "$rss1" "$pss0" "$pss1" \
            "$anon0" "$anon1" "${idle_rss[$kind]}" "${idle_pss[$kind]}" "$(tree_pids "$proxy_pid" | wc -l)"
    fi
    stop_pid "$client_pid"
    stop_tree "$proxy_pid"
done

# --- c) stalled browsers -----------------------------------------------------
declare -A stall_peak=() stall_last=() stall_note=() stall_start=()
for kind in "${kinds[@]}"; do
    start_proxy "$kind" || continue
    read -r rss0 _ _ <<<"$(tree_mem "$proxy_pid")"
    out=$tmp/stalled.$kind.out
    "$ws_client_bin" --connect "127.0.0.1:$proxy_port" --mode stalled --sessions "$stalled" --hold 600 >"$out" 2>>"$tmp/client.err" &
    client_pid=$!
    started_pids+=("$client_pid")
    read -r _ pss0 _ <<<"$(tree_mem "$proxy_pid")"
    peak=$rss0 rss=$rss0 pss_peak=$pss0 note="" series=""
    started=$(date +%s.%N)
    while :; do
        rss=$(tree_rss "$proxy_pid")
        elapsed=$(awk -v s="$started" -v n="$(date +%s.%N)" 'BEGIN {printf "%.1f", n - s}')
        ((rss > peak)) && peak=$rss
        series+="${elapsed}s:$((rss / 1024))M "
        if ((rss > cap_mib * 1024)); then
            note="killed at ${elapsed} s: RSS passed the ${cap_mib} MiB cap"
            stop_tree "$proxy_pid"
            break
        fi
        if awk -v e="$elapsed" -v d="$stall_seconds" 'BEGIN {exit !(e >= d)}'; then
            read -r _ pss_peak _ <<<"$(tree_mem "$proxy_pid")"  # Pss once, at the end
            break
        fi
        sleep 0.5
    done
    stall_peak[$kind]=$peak stall_last[$kind]=$rss stall_note[$kind]=$note stall_start[$kind]=$rss0
    printf '[stalled] %-18s %d viewers: RSS %s KiB at start, peak %s KiB (%s KiB per viewer); Pss %s -> %s KiB at the end (%s KiB per viewer) %s\n' \
        "$(label "$kind")" "$stalled" "$rss0" "$peak" "$(per_session "$rss0" "$peak" "$stalled")" \
        "$pss0" "$pss_peak" "$(per_session "$pss0" "$pss_peak" "$stalled")" "$note"
    echo "[stalled]   series (MiB): $series"
    grep -q '"ready"' "$out" || problem "stalled via $(label "$kind"): the viewers never all came up ($(head -c 300 "$out"))"
    stop_pid "$client_pid"
    stop_tree "$proxy_pid"
done

# --- summary -----------------------------------------------------------------
echo
echo "== summary (MB = 10^6 bytes; KiB per session = (after - before) / sessions)"
printf '%-20s %14s %16s %16s %22s\n' path "MB/s (median)" "idle KiB RSS/s" "idle KiB Pss/s" "stalled peak KiB/viewer"
printf '%-20s %14s\n' "direct (raw TCP)" "$(median "${direct_runs[@]}")"
for kind in "${kinds[@]}"; do
    # shellcheck disable=SC2086 # the runs are a space-separated list
    printf '%-20s %14s %16s %16s %22s\n' "$(label "$kind")" "$(median ${tp_runs[$kind]:-})" "${idle_rss[$kind]:-?}" \
        "${idle_pss[$kind]:-?}" "$([[ -n ${stall_peak[$kind]:-} ]] && per_session "${stall_start[$kind]}" "${stall_peak[$kind]}" "$stalled")${stall_note[$kind]:+ (killed at cap)}"
done
missed=0
if ((${#ratios[@]})); then
    ratio=$(median "${ratios[@]}")
    verdict=$(awk -v r="$ratio" 'BEGIN {print (r >= 1.5) ? "met" : "MISSED"}')
    [[ $verdict == met ]] || missed=1
    echo "throughput ratio vnc-hooks-manager / websockify: ${ratio}x (per rep: ${ratios[*]}); target >= 1.5x: $verdict"
fi
if [[ -n ${idle_rss[vhm]:-} ]]; then
    verdict=$(awk -v k="${idle_rss[vhm]}" 'BEGIN {print (k <= 32) ? "met" : "MISSED"}')
    [[ $verdict == met ]] || missed=1
    echo "idle memory vnc-hooks-manager: ${idle_rss[vhm]} KiB RSS per WebSocket session; target <= 32 KiB: $verdict"
fi
if [[ -n ${stall_peak[vhm]:-} ]]; then
    echo "stalled: vnc-hooks-manager peak $((stall_peak[vhm] / 1024)) MiB for $stalled viewers (bounded: last sample $((stall_last[vhm] / 1024)) MiB)${stall_peak[websockify]:+; websockify peak $((stall_peak[websockify] / 1024)) MiB ${stall_note[websockify]}}"
fi
if ((${#problems[@]})); then
    echo "problems:"
    printf '  - %s\n' "${problems[@]}"
    exit 1
fi
((strict && missed)) && exit 1
exit 0
