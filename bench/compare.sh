#!/usr/bin/env bash
# compare.sh: vnc-hooks-manager side by side with a direct connection and with
# haproxy (TCP mode), in one run, on loopback only.
#
#   bench/compare.sh [BUILD_DIR] [--quick] [--strict] [options]
#
# Measures (see bench/README.md for how to read the output):
#   a) throughput of one RFB stream: direct vs vnc-hooks-manager vs haproxy
#   b) proxy RSS/Pss per session with N idle sessions (after ServerInit)
#   c) proxy RSS/Pss per session with N stalled sessions (server streams,
#      viewer never reads), sampled twice to show it does not grow
# bench/relay.sh (docs/performance.md) adds CPU per GiB, VeNCrypt TLS,
# handshake latency, connection rate and 9,000 sessions to the comparison.
# It builds nothing: build the targets first (README). It is not a test; it
# exits non-zero only when something could not be measured (a binary is
# missing, a session failed) or, with --strict, when a target is missed.
set -uo pipefail

usage() {
    cat <<'EOF'
usage: bench/compare.sh [BUILD_DIR] [options]
  BUILD_DIR            CMake build dir (default build-bench in the repository)
  --quick              sanity run: 1 x 1 s throughput, 50 sessions, short waits
  --strict             also exit non-zero when vnc-hooks-manager misses a target
  --reps N             throughput repetitions per path (default 5; medians reported)
  --seconds S          seconds per throughput run (default 5)
  --sessions N         idle/stalled sessions (default 1000)
  --tp-sessions N      concurrent sessions per throughput run (default 1)
  --stall-gap S        seconds between the two stalled samples (default 5)
  --proxy-bin PATH     vnc-hooks-manager binary (default BUILD_DIR/app/vnc-hooks-manager)
  --haproxy-bin PATH   haproxy binary (default: haproxy on PATH)
  --keep-tmp           keep the temp dir (proxy logs, haproxy config)
EOF
}

repo_dir=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$repo_dir/build-bench
quick=0
strict=0
reps=5
run_seconds=5
sessions=1000
tp_sessions=1
stall_gap=5
settle=1
proxy_bin=""
haproxy_bin=""
keep_tmp=0
# Kernel buffer caps for the memory phases only (see README: keeps 1000
# stalled sessions below the host's global tcp_mem limit).
server_sndbuf=262144
client_rcvbuf=65536

while (($#)); do
    case "$1" in
    -h | --help) usage; exit 0 ;;
    --quick) quick=1 ;;
    --strict) strict=1 ;;
    --reps) reps=$2; shift ;;
    --seconds) run_seconds=$2; shift ;;
    --sessions) sessions=$2; shift ;;
    --tp-sessions) tp_sessions=$2; shift ;;
    --stall-gap) stall_gap=$2; shift ;;
    --proxy-bin) proxy_bin=$2; shift ;;
    --haproxy-bin) haproxy_bin=$2; shift ;;
    --keep-tmp) keep_tmp=1 ;;
    -*) echo "compare.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) build_dir=$1 ;;
    esac
    shift
done
if ((quick)); then
    reps=1 run_seconds=1 sessions=50 stall_gap=1 settle=0.2
fi
for number in "$reps" "$sessions" "$tp_sessions"; do
    [[ $number =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: expected a positive integer, got '$number'" >&2; exit 2; }
done

server_bin=$build_dir/bench/rfb-stream-server
client_bin=$build_dir/bench/rfb-load-client
proxy_bin=${proxy_bin:-$build_dir/app/vnc-hooks-manager}
haproxy_bin=${haproxy_bin:-$(command -v haproxy || true)}

problems=()
problem() {
    problems+=("$1")
    echo "!! $1"
}

for bin in "$server_bin" "$client_bin"; do
    if [[ ! -x $bin ]]; then
        echo "compare.sh: $bin is not built. Build the load generator first:" >&2
        echo "  cmake -S $repo_dir -B $build_dir -G Ninja -DCMAKE_BUILD_TYPE=Release -DVHM_BUILD_BENCH=ON" >&2
        echo "  cmake --build $build_dir --target bench vnc-hooks-manager" >&2
        exit 2
    fi
done

# Paths under test: direct always; the proxies when their binary exists.
have_vhm=0
have_haproxy=0
if [[ -x $proxy_bin ]]; then
    have_vhm=1
else
    problem "vnc-hooks-manager is NOT BUILT ($proxy_bin): its rows below are empty. Build target vnc-hooks-manager."
fi
if [[ -n $haproxy_bin && -x $haproxy_bin ]]; then
    have_haproxy=1
else
    problem "haproxy not found (apt-get install haproxy): its rows below are empty."
fi

# A proxy holds two descriptors per session.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
fd_limit=$(ulimit -n)
if [[ $fd_limit != unlimited ]] && ((fd_limit < 2 * sessions + 64)); then
    echo "compare.sh: open-file limit $fd_limit is too low for $sessions sessions through a proxy" >&2
    exit 2
fi

tmp=$(mktemp -d /tmp/vhm-bench.XXXXXX)
started_pids=()

# stop_pid PID [NAME]: SIGTERM, up to 5 s grace, then SIGKILL (said aloud
# when NAME is given: a proxy that ignores SIGTERM is worth knowing about).
stop_pid() {
    local pid=$1 name=${2:-} i
    kill -TERM "$pid" 2>/dev/null || { forget_pid "$pid"; return 0; }
    for ((i = 0; i < 50; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -KILL "$pid" 2>/dev/null && [[ -n $name ]]; then
        echo "note: $name (pid $pid) did not exit within 5 s of SIGTERM; killed"
    fi
    wait "$pid" 2>/dev/null
    forget_pid "$pid"
    return 0
}
# Stopped processes leave the cleanup list, so a reused PID is never signalled.
forget_pid() {
    local kept=() p
    for p in "${started_pids[@]}"; do
        [[ $p == "$1" ]] || kept+=("$p")
    done
    started_pids=("${kept[@]}")
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
    local pid
    for pid in "${started_pids[@]}"; do
        stop_pid "$pid"
    done
    if ((keep_tmp)); then
        echo "temp dir kept: $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'echo "compare.sh: interrupted"; exit 130' INT TERM HUP

# json_field LINE KEY: the raw value of "KEY" in a one-line JSON object.
json_field() {
    sed -n 's/.*"'"$2"'":\("[^"]*"\|[^,}]*\).*/\1/p' <<<"$1"
}

# A free loopback port outside the ephemeral range (nothing answers on it).
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

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
# Pss_Anon: the proportional share of anonymous memory. Plain Pss also counts
# shared library pages, whose share moves when unrelated processes map or
# unmap the same libraries, which swamps a per-session delta.
pss_kib() { awk '/^Pss_Anon:/ {print $2; found = 1} END {if (!found) exit 1}' "/proc/$1/smaps_rollup" 2>/dev/null; }
tcp_mem_pages() { awk '/^TCP:/ {for (i = 1; i < NF; i++) if ($i == "mem") print $(i + 1)}' /proc/net/sockstat; }
per_session() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN {printf "%.1f", (b - a) / n}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# --- the bench server ------------------------------------------------------
# Started through a pipe: its "ready" line carries the port the kernel picked.
server_pid=""
server_fd=""
server_port=""
start_server() {
    local sndbuf=$1 line
    exec {server_fd}< <(exec "$server_bin" --listen 127.0.0.1:0 --sndbuf "$sndbuf" 2>>"$tmp/server.err")
    server_pid=$!
    started_pids+=("$server_pid")
    if ! read -r -t 10 -u "$server_fd" line; then
        echo "compare.sh: rfb-stream-server did not start:" >&2
        cat "$tmp/server.err" >&2
        exit 1
    fi
    server_port=$(json_field "$line" port)
}
stop_server() {
    stop_pid "$server_pid"
    exec {server_fd}<&-
}
# Prints "BYTES_SENT STREAMING_SESSIONS" from the server's SIGUSR1 stats line.
server_stats() {
    local line
    kill -USR1 "$server_pid" 2>/dev/null || return 1
    read -r -t 5 -u "$server_fd" line || return 1
    echo "$(json_field "$line" bytes_sent) $(json_field "$line" streaming)"
}

# --- proxies ---------------------------------------------------------------
proxy_pid=""
proxy_port=""
proxy_count=0
start_proxy() {
    local kind=$1 log
    proxy_count=$((proxy_count + 1))
    log=$tmp/$kind.$proxy_count
    proxy_port=$(free_port) || { problem "no free loopback port for $kind"; return 1; }
    case "$kind" in
    vhm)
        "$proxy_bin" --listen "127.0.0.1:$proxy_port" --target "127.0.0.1:$server_port" >"$log.out" 2>"$log.err" &
        ;;
    haproxy)
        cat >"$log.cfg" <<EOF
global
    maxconn $((sessions + 1000))
defaults
    mode tcp
    maxconn $((sessions + 1000))
    timeout connect 5s
    timeout client 10m
    timeout server 10m
frontend bench
    bind 127.0.0.1:$proxy_port
    default_backend bench_server
backend bench_server
    server s1 127.0.0.1:$server_port
EOF
        "$haproxy_bin" -db -f "$log.cfg" >"$log.out" 2>"$log.err" &
        ;;
    esac
    proxy_pid=$!
    started_pids+=("$proxy_pid")
    # Readiness: one full RFB handshake through the proxy (retried up to 10 s).
    if ! "$client_bin" --connect "127.0.0.1:$proxy_port" --mode probe --wait 10 >"$log.probe" 2>&1; then
        problem "$kind did not become ready on 127.0.0.1:$proxy_port: $(tail -c 300 "$log.probe" | tr '\n' ' ') stderr: $(tail -c 300 "$log.err" | tr '\n' ' ')"
        stop_pid "$proxy_pid" "$(label "$kind")"
        return 1
    fi
}
stop_proxy() { stop_pid "$proxy_pid" "$(label "$1")"; }

target_port() {
    case "$1" in
    direct) echo "$server_port" ;;
    vhm | haproxy) echo "${proxy_ports[$1]}" ;;
    esac
}
label() {
    case "$1" in
    direct) echo "direct" ;;
    vhm) echo "vnc-hooks-manager" ;;
    haproxy) echo "haproxy" ;;
    esac
}

paths=(direct)
((have_vhm)) && paths+=(vhm)
((have_haproxy)) && paths+=(haproxy)
proxies=("${paths[@]:1}")

echo "== vnc-hooks-manager benchmark ($(date -u +%FT%TZ))"
echo "build dir: $build_dir; $(nproc) CPUs; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
load1=$(cut -d' ' -f1 /proc/loadavg)
if awk -v l="$load1" 'BEGIN {exit !(l > 0.5)}'; then
    echo "note: the machine is busy (load $load1): throughput numbers will be noisy"
fi
echo "throughput: $reps x $run_seconds s per path, $tp_sessions session(s); memory: $sessions sessions"
echo

# --- a) throughput ---------------------------------------------------------
declare -A proxy_ports=() tp_runs=() tp_ratios=() tp_pids=()
start_server 0
for kind in "${proxies[@]}"; do
    if start_proxy "$kind"; then
        proxy_ports[$kind]=$proxy_port
        tp_pids[$kind]=$proxy_pid
    fi
done
# Paths alternate within each repetition, and each proxy run is also divided by
# the direct run of the same repetition: other load on the machine then skews
# both sides of a ratio alike.
for ((rep = 1; rep <= reps; rep++)); do
    rep_direct=""
    for path in "${paths[@]}"; do
        [[ $path == direct || -n ${proxy_ports[$path]:-} ]] || continue
        line=$(timeout $((run_seconds + 60)) "$client_bin" --connect "127.0.0.1:$(target_port "$path")" \
            --mode throughput --seconds "$run_seconds" --sessions "$tp_sessions" 2>>"$tmp/client.err" | tail -n 1)
        if [[ $(json_field "$line" ok) == true ]]; then
            mbps=$(json_field "$line" mb_per_s)
            tp_runs[$path]+="$mbps "
            [[ $path == direct ]] && rep_direct=$mbps
            rep_ratio=""
            if [[ $path != direct && -n $rep_direct ]]; then
                rep_ratio=$(awk -v a="$mbps" -v b="$rep_direct" 'BEGIN {printf "%.3f", a / b}')
                tp_ratios[$path]+="$rep_ratio "
            fi
            printf '[throughput] rep %d/%d %-18s %8.1f MB/s %s\n' "$rep" "$reps" "$(label "$path")" "$mbps" \
                "${rep_ratio:+(${rep_ratio}x direct)}"
        else
            problem "throughput via $(label "$path") failed: ${line:-no result (see $tmp/client.err)}"
        fi
    done
done
for kind in "${proxies[@]}"; do
    [[ -n ${tp_pids[$kind]:-} ]] && stop_pid "${tp_pids[$kind]}" "$(label "$kind")"
done
stop_server

# --- b) idle and c) stalled memory --------------------------------------------
# A fresh proxy per phase so its baseline is not inflated by earlier sessions.
# The server streams only to viewers that ask, so idle sessions get nothing
# after ServerInit and stalled ones get an endless stream.
declare -A up_ms=() idle_rss=() idle_pss=() stall_rss1=() stall_rss2=() stall_pss1=() stall_pss2=()
start_server "$server_sndbuf"

# start_client MODE KIND: starts the load client against the running proxy;
# sets client_pid/client_fd; waits for its "ready" line.
client_pid=""
client_fd=""
start_client() {
    local mode=$1 kind=$2 line
    exec {client_fd}< <(exec "$client_bin" --connect "127.0.0.1:$proxy_port" --mode "$mode" \
        --sessions "$sessions" --rcvbuf "$client_rcvbuf" --hold 600 2>>"$tmp/client.err")
    client_pid=$!
    started_pids+=("$client_pid")
    if ! read -r -t 120 -u "$client_fd" line || [[ $(json_field "$line" ok) == false ]] ||
        [[ $(json_field "$line" connected) != "$sessions" ]]; then
        problem "$mode sessions via $(label "$kind") did not all come up: ${line:-no output} $(tail -c 300 "$tmp/client.err" | tr '\n' ' ')"
        return 1
    fi
    up_ms[$mode.$kind]=$(json_field "$line" handshake_ms)
    echo "[$mode] $(label "$kind"): $sessions sessions up in ${up_ms[$mode.$kind]} ms"
}
# stop_client: SIGTERM, then checks the "done" line (no session closed early).
stop_client() {
    local mode=$1 kind=$2 line
    kill -TERM "$client_pid" 2>/dev/null
    if ! read -r -t 10 -u "$client_fd" line || [[ $(json_field "$line" ok) != true ]]; then
        problem "$mode sessions via $(label "$kind") did not all survive: ${line:-no output}"
    fi
    stop_pid "$client_pid"
    exec {client_fd}<&-
}

for kind in "${proxies[@]}"; do
    # b) idle
    if start_proxy "$kind"; then
        rss0=$(rss_kib "$proxy_pid") pss0=$(pss_kib "$proxy_pid")
        if start_client idle "$kind"; then
            sleep "$settle"  # let the proxy finish post-handshake work (event logging)
            rss1=$(rss_kib "$proxy_pid") pss1=$(pss_kib "$proxy_pid")
            idle_rss[$kind]=$(per_session "$rss0" "$rss1" "$sessions")
            idle_pss[$kind]=$(per_session "$pss0" "$pss1" "$sessions")
            echo "[idle] $(label "$kind"): RSS $rss0 -> $rss1 KiB, Pss_Anon $pss0 -> $pss1 KiB:" \
                "${idle_rss[$kind]} KiB RSS / ${idle_pss[$kind]} KiB Pss_Anon per session"
            stop_client idle "$kind"
        fi
        stop_proxy "$kind"
    fi

    # c) stalled
    if start_proxy "$kind"; then
        rss0=$(rss_kib "$proxy_pid") pss0=$(pss_kib "$proxy_pid")
        read -r sent0 _ < <(server_stats) || sent0=0
        if start_client stalled "$kind"; then
            # Full when the server has every session streaming and its byte count
            # stops moving (every socket on the path is at its limit).
            filled=0
            read -r prev streaming < <(server_stats) || prev=0
            for ((i = 0; i < 60; i++)); do
                sleep 0.5
                read -r now streaming < <(server_stats) || break
                if ((streaming >= sessions && now - prev < 65536)); then
                    filled=1
                    break
                fi
                prev=$now
            done
            if ((!filled)); then
                problem "stalled via $(label "$kind"): server output never stopped growing within 30 s (not measured)"
            else
                rss1=$(rss_kib "$proxy_pid") pss1=$(pss_kib "$proxy_pid") mem1=$(tcp_mem_pages)
                sleep "$stall_gap"
                rss2=$(rss_kib "$proxy_pid") pss2=$(pss_kib "$proxy_pid") mem2=$(tcp_mem_pages)
                read -r after _ < <(server_stats) || after=$now
                stall_rss1[$kind]=$(per_session "$rss0" "$rss1" "$sessions")
                stall_rss2[$kind]=$(per_session "$rss0" "$rss2" "$sessions")
                stall_pss1[$kind]=$(per_session "$pss0" "$pss1" "$sessions")
                stall_pss2[$kind]=$(per_session "$pss0" "$pss2" "$sessions")
                echo "[stalled] $(label "$kind"): server sent $(((now - sent0) / 1048576)) MiB until full" \
                    "($(((now - sent0) / sessions / 1024)) KiB/session in kernel buffers and proxy);" \
                    "+$(((after - now) / 1024)) KiB during the ${stall_gap} s gap"
                echo "[stalled] $(label "$kind"): RSS $rss0 -> $rss1 -> $rss2 KiB, Pss_Anon $pss0 -> $pss1 -> $pss2 KiB;" \
                    "host TCP memory $mem1 -> $mem2 pages (limit $(awk '{print $3}' /proc/sys/net/ipv4/tcp_mem))"
            fi
            stop_client stalled "$kind"
        fi
        stop_proxy "$kind"
    fi
done
stop_server

# --- summary -------------------------------------------------------------------
cell() { [[ -n ${1:-} ]] && echo "$1" || echo "-"; }
as_ratio() { [[ -n ${1:-} ]] && awk -v r="$1" 'BEGIN {printf "%.2fx", r}' || echo "-"; }
verdict() { # verdict VALUE OP LIMIT
    [[ -n ${1:-} ]] || { echo "n/a"; return; }
    if awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {exit !((op == "<=") ? v <= l : v >= l)}'; then echo "ok"; else echo "MISS"; fi
}

declare -A tp_median=() ratio_median=()
for path in "${paths[@]}"; do
    # shellcheck disable=SC2086 # word splitting of the run lists is intended
    tp_median[$path]=$(median ${tp_runs[$path]:-})
    # shellcheck disable=SC2086
    ratio_median[$path]=$(median ${tp_ratios[$path]:-})
done
direct_mbps=${tp_median[direct]:-}
vhm_ratio=${ratio_median[vhm]:-}
vhm_growth=""
[[ -n ${stall_rss1[vhm]:-} ]] && vhm_growth=$(awk -v a="${stall_rss1[vhm]}" -v b="${stall_rss2[vhm]}" 'BEGIN {printf "%.1f", b - a}')
haproxy_growth=""
[[ -n ${stall_rss1[haproxy]:-} ]] && haproxy_growth=$(awk -v a="${stall_rss1[haproxy]}" -v b="${stall_rss2[haproxy]}" 'BEGIN {printf "%.1f", b - a}')
vhm_col() { ((have_vhm)) && cell "${1:-}" || echo "NOT BUILT"; }

echo
echo "== summary (MB = 10^6 bytes; KiB per session = (proxy after - before) / $sessions)"
row() { printf '%-36s %10s %18s %12s   %-26s %s\n' "$@"; }
row "metric" "direct" "vnc-hooks-manager" "haproxy" "target (vnc-hooks-manager)" "verdict"
row "throughput MB/s (median of $reps)" "$(cell "$direct_mbps")" "$(vhm_col "${tp_median[vhm]:-}")" \
    "$(cell "${tp_median[haproxy]:-}")" "" ""
row "throughput / direct (median ratio)" "1.00x" "$(vhm_col "$(as_ratio "$vhm_ratio")")" \
    "$(as_ratio "${ratio_median[haproxy]:-}")" ">= 0.5x (haproxy ~0.3x)" "$(verdict "$vhm_ratio" '>=' 0.5)"
row "idle KiB/session RSS" "-" "$(vhm_col "${idle_rss[vhm]:-}")" "$(cell "${idle_rss[haproxy]:-}")" \
    "<= 16 (haproxy ~3)" "$(verdict "${idle_rss[vhm]:-}" '<=' 16)"
row "idle KiB/session Pss_Anon" "-" "$(vhm_col "${idle_pss[vhm]:-}")" "$(cell "${idle_pss[haproxy]:-}")" "" ""
row "idle: ms until all sessions up" "-" "$(vhm_col "${up_ms[idle.vhm]:-}")" "$(cell "${up_ms[idle.haproxy]:-}")" \
    "(64 handshakes in flight)" ""
row "stalled KiB/session RSS, sample 1" "-" "$(vhm_col "${stall_rss1[vhm]:-}")" \
    "$(cell "${stall_rss1[haproxy]:-}")" "<= 160" "$(verdict "${stall_rss1[vhm]:-}" '<=' 160)"
row "stalled KiB/session RSS, sample 2" "-" "$(vhm_col "${stall_rss2[vhm]:-}")" \
    "$(cell "${stall_rss2[haproxy]:-}")" "<= 160" "$(verdict "${stall_rss2[vhm]:-}" '<=' 160)"
row "stalled growth, sample 2 - 1" "-" "$(vhm_col "$vhm_growth")" "$(cell "$haproxy_growth")" \
    "not growing (<= 1 KiB)" "$(verdict "$vhm_growth" '<=' 1)"
row "stalled KiB/session Pss_Anon s1 / s2" "-" \
    "$(vhm_col "${stall_pss1[vhm]:+${stall_pss1[vhm]} / ${stall_pss2[vhm]}}")" \
    "$(cell "${stall_pss1[haproxy]:+${stall_pss1[haproxy]} / ${stall_pss2[haproxy]}}")" "" ""

missed=0
if ((have_vhm)); then
    for v in "$(verdict "$vhm_ratio" '>=' 0.5)" "$(verdict "${idle_rss[vhm]:-}" '<=' 16)" \
        "$(verdict "${stall_rss2[vhm]:-}" '<=' 160)" "$(verdict "$vhm_growth" '<=' 1)"; do
        [[ $v == ok ]] || missed=1
    done
fi
echo
if ((${#problems[@]})); then
    echo "INCOMPLETE: ${#problems[@]} problem(s):"
    printf '  - %s\n' "${problems[@]}"
    exit 1
fi
if ((missed)); then
    echo "vnc-hooks-manager misses at least one target (see verdict column)"
    ((strict)) && exit 1
fi
echo "all paths measured"
exit 0
