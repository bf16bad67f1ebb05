#!/usr/bin/env bash
# tracking.sh: what message tracking (docs/session-policy.md) costs the relay,
# per encoding, in one run, on loopback.
#
#   bench/tracking.sh [BUILD_DIR] [--quick] [--reps N] [--seconds S]
#                     [--encodings raw,tight,zrle,hextile] [--sessions 1,8]
#                     [--no-track] [--strict] [--json FILE] [--keep-tmp] [--label TEXT]
#
# For each encoding (rfb-stream-server --encoding: Raw noise strips; Tight,
# ZRLE and Hextile of a desktop-like picture) and each session count, viewers
# read as fast as they can for S seconds through each path, in turn:
#   direct  viewer to server, no proxy (the ceiling)
#   off     vnc-hooks-manager, no session: section (the splice relay)
#   track   session: {track: true}: both directions followed, counters only
#   filter  session: {view_only: true, clipboard: log}: input dropped,
#           clipboard logged, both directions followed (the rules' path)
# Reported per row: MB/s (median of the repetitions), the median of the
# per-repetition ratios to `off` (target: track and filter >= 0.85x, i.e.
# tracking costs at most 15%), the proxy's CPU time (user + system, all
# threads, /proc/PID/stat) per GiB the server sent during the run, and its
# CPU share of one core. Then a table and one JSON line (also --json FILE).
# CPU vs off is the machine-independent cost: where the proxy is the
# bottleneck (it is not here: 2 cores for load server, viewers and proxy),
# its throughput would scale by about 1 / that ratio.
# Each proxy logs its sessions' disconnect events; the script checks that
# tracking was on (`tracking` field) where it should be and compares the
# proxy's update count with the viewers'.
# --no-track measures direct and off only (a proxy built before session:).
# Exit status: 0 all measured; 1 something could not be measured (or, with
# --strict, a ratio under target); 2 bad usage or binaries not built.
# Builds nothing: cmake -S . -B build-bench -G Ninja -DVHM_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=Release
# and cmake --build build-bench --target bench vnc-hooks-manager first.
set -uo pipefail

repo_dir=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$repo_dir/build-bench
reps=3
run_seconds=3
encodings=raw,tight,zrle,hextile
session_counts=1,8
with_track=1
strict=0
json_out=""
keep_tmp=0
label=""
target=0.85
track_session='{track: true}'
filter_session='{view_only: true, clipboard: log}'
while (($#)); do
    case "$1" in
    --reps) reps=$2; shift 2 ;;
    --seconds) run_seconds=$2; shift 2 ;;
    --encodings) encodings=$2; shift 2 ;;
    --sessions) session_counts=$2; shift 2 ;;
    --quick) reps=1; run_seconds=1; shift ;;
    --no-track) with_track=0; shift ;;
    --strict) strict=1; shift ;;
    --json) json_out=$2; shift 2 ;;
    --keep-tmp) keep_tmp=1; shift ;;
    --label) label=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "tracking.sh: unknown option $1" >&2; exit 2 ;;
    *) build_dir=$1; shift ;;
    esac
done
IFS=, read -r -a encoding_list <<<"$encodings"
IFS=, read -r -a session_list <<<"$session_counts"
[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "tracking.sh: --reps wants a positive integer" >&2; exit 2; }
[[ $run_seconds =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "tracking.sh: --seconds wants a number" >&2; exit 2; }
for e in "${encoding_list[@]}"; do
    [[ $e =~ ^(raw|tight|zrle|hextile)$ ]] || { echo "tracking.sh: unknown encoding '$e'" >&2; exit 2; }
done
for n in "${session_list[@]}"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "tracking.sh: --sessions wants positive integers" >&2; exit 2; }
done

proxy_bin=$build_dir/app/vnc-hooks-manager
server_bin=$build_dir/bench/rfb-stream-server
client_bin=$build_dir/bench/rfb-load-client
for bin in "$proxy_bin" "$server_bin" "$client_bin"; do
    [[ -x $bin ]] || { echo "tracking.sh: $bin is not built (see bench/README.md)" >&2; exit 2; }
done
"$server_bin" --help | grep -q -- --encoding ||
    { echo "tracking.sh: $server_bin predates --encoding; rebuild target bench" >&2; exit 2; }

ulimit -n "$(ulimit -Hn)" 2>/dev/null
tmp=$(mktemp -d /tmp/vhm-bench-track.XXXXXX)
pids=()
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
    local pid
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    if ((keep_tmp)); then echo "temp dir kept: $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'echo "tracking.sh: interrupted"; exit 130' INT TERM HUP

problems=()
problem() {
    problems+=("$1")
    echo "!! $1"
}
json_field() { sed -n 's/.*"'"$2"'":"\{0,1\}\([^,"}]*\).*/\1/p' <<<"$1"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {if (NR == 0) exit; if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
now() { date +%s.%N; }
ticks_per_s=$(getconf CLK_TCK)

# --- one stream server per encoding -----------------------------------------------
declare -A server_pid=() server_fd=() server_port=() server_info=()
for enc in "${encoding_list[@]}"; do
    exec {fd}< <(exec "$server_bin" --listen 127.0.0.1:0 --encoding "$enc" 2>>"$tmp/server-$enc.err")
    server_pid[$enc]=$!
    pids+=($!)
    server_fd[$enc]=$fd
    read -r -t 30 -u "$fd" line || { echo "tracking.sh: stream server ($enc) did not start: $(cat "$tmp/server-$enc.err")" >&2; exit 1; }
    server_port[$enc]=$(json_field "$line" port)
    server_info[$enc]="$(json_field "$line" update_cycle_bytes) B per screen, $(json_field "$line" rects_per_cycle) rects; $(sed -n 's/.*"mix":"\([^"]*\)".*/\1/p' <<<"$line")"
done
# bytes_sent of a server so far (its stats line on SIGUSR1).
server_bytes() {
    local enc=$1 line
    kill -USR1 "${server_pid[$enc]}"
    read -r -t 5 -u "${server_fd[$enc]}" line || { echo 0; return; }
    json_field "$line" bytes_sent
}

# --- proxies: one per path, one listener per encoding --------------------------------
paths=(direct off)
((with_track)) && paths+=(track filter)
declare -A proxy_pid=() port_of=()
session_of() {
    case $1 in
    off) echo "" ;;
    track) echo "$track_session" ;;
    filter) echo "$filter_session" ;;
    esac
}
write_config() { # write_config PATH FILE [PORT_PREFIX]: the config; ports chosen here
    local path=$1 file=$2 session enc port
    session=$(session_of "$path")
    {
        echo "events:"
        echo "  disconnect:"
        echo "    - name: bench_sessions"
        echo "      action: log"
        echo "      path: $tmp/$path.events.jsonl"
        echo "listeners:"
        for enc in "${encoding_list[@]}"; do
            port=$(free_port)
            port_of[$path.$enc]=$port
            echo "  - listen: 127.0.0.1:$port"
            echo "    target: 127.0.0.1:${server_port[$enc]}"
            echo "    scanner_shield: false"
            [[ -n $session ]] && echo "    session: $session"
        done
    } >"$file"
}
if ((with_track)); then
    write_config track "$tmp/check.yaml"
    if ! out=$("$proxy_bin" --check-config --config "$tmp/check.yaml" 2>&1); then
        problem "this vnc-hooks-manager does not accept 'session: $track_session' (built before message tracking?): track and filter not measured; --no-track measures direct and off only. It said: $(tr '\n' ' ' <<<"$out" | cut -c1-300)"
        paths=(direct off)
    fi
fi
for path in "${paths[@]}"; do
    [[ $path == direct ]] && continue
    write_config "$path" "$tmp/$path.yaml"
    "$proxy_bin" --config "$tmp/$path.yaml" --log-level warn >"$tmp/$path.log" 2>&1 &
    proxy_pid[$path]=$!
    pids+=($!)
    for enc in "${encoding_list[@]}"; do
        "$client_bin" --connect "127.0.0.1:${port_of[$path.$enc]}" --mode probe --wait 10 >/dev/null 2>&1 ||
            { echo "tracking.sh: proxy '$path' did not start: $(tail -c 600 "$tmp/$path.log")" >&2; exit 1; }
    done
done

# The proxy's source: the build dir's CMake source dir, its commit if it is a checkout.
source_dir=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$build_dir/CMakeCache.txt" 2>/dev/null)
commit=$(git -C "${source_dir:-$repo_dir}" rev-parse --short HEAD 2>/dev/null || echo "?")
[[ -n $label ]] || label="proxy from ${source_dir:-?} ($commit)"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== message tracking benchmark ($(date -u +%FT%TZ)); $label; $(nproc) CPUs; load $load_start"
echo "$reps x $run_seconds s per path; sessions: ${session_list[*]}; paths: ${paths[*]}"
echo "  track:  session: $track_session"
echo "  filter: session: $filter_session"
for enc in "${encoding_list[@]}"; do
    echo "  $enc: ${server_info[$enc]}"
done
awk -v l="${load_start%% *}" 'BEGIN {exit !(l > 0.5)}' &&
    echo "note: the machine is busy (load ${load_start%% *}): absolute MB/s will be low; trust the ratios more"

# --- the runs -----------------------------------------------------------------------
declare -A runs=() ratios=() cpu=() share=() client_updates=() last_off=()
for ((rep = 1; rep <= reps; rep++)); do
    for enc in "${encoding_list[@]}"; do
        for n in "${session_list[@]}"; do
            for path in "${paths[@]}"; do
                key=$enc.$n.$path
                port=${server_port[$enc]}
                [[ $path != direct ]] && port=${port_of[$path.$enc]}
                ticks0=0
                [[ $path != direct ]] && ticks0=$(cpu_ticks "${proxy_pid[$path]}")
                bytes0=$(server_bytes "$enc")
                t0=$(now)
                line=$("$client_bin" --connect "127.0.0.1:$port" --mode throughput --seconds "$run_seconds" \
                    --sessions "$n" --encoding "$enc" 2>>"$tmp/client.err" | tail -n 1)
                t1=$(now)
                bytes1=$(server_bytes "$enc")
                if [[ $(json_field "$line" ok) != true ]]; then
                    problem "$enc x$n via $path failed: $line"
                    continue
                fi
                mbps=$(json_field "$line" mb_per_s)
                runs[$key]+="$mbps "
                client_updates[$path.$enc]=$((${client_updates[$path.$enc]:-0} + $(json_field "$line" updates)))
                extra=""
                if [[ $path != direct ]]; then
                    ticks=$(($(cpu_ticks "${proxy_pid[$path]}") - ticks0))
                    per=$(awk -v t="$ticks" -v hz="$ticks_per_s" -v b="$((bytes1 - bytes0))" \
                        'BEGIN {printf "%.2f", (b > 0) ? t / hz / (b / 1073741824) : 0}')
                    pct=$(awk -v t="$ticks" -v hz="$ticks_per_s" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", 100 * t / hz / (b - a)}')
                    cpu[$key]+="$per "
                    share[$key]+="$pct "
                    extra="proxy $per s/GiB, $pct% of a core"
                    if [[ $path != off && -n ${last_off[$enc.$n]:-} ]]; then
                        r=$(awk -v a="$mbps" -v b="${last_off[$enc.$n]}" 'BEGIN {printf "%.3f", a / b}')
                        ratios[$key]+="$r "
                        extra="$(printf '%.2fx off' "$r"), $extra"
                    fi
                fi
                [[ $path == off ]] && last_off[$enc.$n]=$mbps
                printf '[%s x%d] rep %d/%d %-6s %8.1f MB/s  %s\n' "$enc" "$n" "$rep" "$reps" "$path" "$mbps" "$extra"
            done
        done
    done
done

# --- what the proxies saw: disconnect events ----------------------------------------
sleep 1  # the last sessions' disconnect events
# Per proxy: sessions by their `tracking` field, and per encoding (listener)
# the FramebufferUpdates the proxy counted against those the viewers read.
declare -A tracking_seen=() updates_seen=()
for path in "${paths[@]}"; do
    [[ $path == direct ]] && continue
    file=$tmp/$path.events.jsonl
    [[ -s $file ]] || { problem "proxy '$path' logged no disconnect events"; continue; }
    listeners=()
    for enc in "${encoding_list[@]}"; do
        listeners+=("127.0.0.1:${port_of[$path.$enc]}=$enc=${client_updates[$path.$enc]:-0}")
    done
    result=$(python3 - "$file" "${listeners[@]}" <<'EOF'
import collections, json, sys
encoding_of, viewers = {}, {}
for arg in sys.argv[2:]:
    listen, encoding, count = arg.split("=")
    encoding_of[listen] = encoding
    viewers[encoding] = int(count)
kinds = collections.Counter()
updates = collections.Counter()
for line in open(sys.argv[1]):
    event = json.loads(line)
    kinds[str(event.get("tracking", "(no field)"))] += 1
    try:
        updates[encoding_of.get(event.get("listen"), "?")] += int(event.get("updates") or 0)
    except ValueError:
        pass
print(", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
print(", ".join(f"{e} {updates[e]}/{viewers[e]}" for e in viewers))
# A tracking proxy relayed at least every update its viewers read.
print(" ".join(e for e in viewers if updates[e] < viewers[e]))
EOF
)
    tracking_seen[$path]=$(sed -n 1p <<<"$result")
    updates_seen[$path]=$(sed -n 2p <<<"$result")
    short=$(sed -n 3p <<<"$result")
    [[ $path != off && -n $short ]] &&
        problem "proxy '$path' counted fewer updates than its viewers read ($short): ${updates_seen[$path]}"
done

# --- summary ------------------------------------------------------------------------
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
echo
echo "== summary (MB = 10^6 bytes; vs off = median of per-repetition ratios; CPU = proxy user+system per GiB sent,"
echo "   its ratio to off's, and the proxy's share of one core)"
printf '%-8s %8s  %-7s %10s %8s %10s %10s %6s  %s\n' encoding sessions path "MB/s" "vs off" "CPU s/GiB" "CPU vs off" "CPU %" verdict
rows_json=""
missed=0
for enc in "${encoding_list[@]}"; do
    for n in "${session_list[@]}"; do
        # shellcheck disable=SC2086 # the run lists are split on purpose
        off_median=$(median ${runs[$enc.$n.off]:-})
        # shellcheck disable=SC2086
        off_cpu=$(median ${cpu[$enc.$n.off]:-})
        for path in "${paths[@]}"; do
            key=$enc.$n.$path
            # shellcheck disable=SC2086
            m=$(median ${runs[$key]:-})
            [[ -n $m ]] || { printf '%-8s %8s  %-7s %10s\n' "$enc" "$n" "$path" "failed"; continue; }
            ratio="" c="" p="" cr="" verdict=""
            # shellcheck disable=SC2086
            case $path in
            direct) [[ -n $off_median ]] && ratio=$(awk -v a="$m" -v b="$off_median" 'BEGIN {printf "%.2f", a / b}') ;;
            off) ratio=1.00 ;;
            *) ratio=$(median ${ratios[$key]:-}) ;;
            esac
            # shellcheck disable=SC2086
            [[ -n ${cpu[$key]:-} ]] && c=$(median ${cpu[$key]}) && p=$(median ${share[$key]})
            [[ -n $c && -n $off_cpu ]] && cr=$(awk -v a="$c" -v b="$off_cpu" 'BEGIN {if (b > 0) printf "%.2f", a / b}')
            if [[ $path == track || $path == filter ]] && [[ -n $ratio ]]; then
                if awk -v r="$ratio" -v t="$target" 'BEGIN {exit !(r >= t)}'; then verdict="ok (>= ${target}x)"; else verdict="MISSED (>= ${target}x)"; missed=1; fi
            fi
            printf '%-8s %8s  %-7s %10.1f %8s %10s %10s %6s  %s\n' "$enc" "$n" "$path" "$m" \
                "$([[ -n $ratio ]] && printf '%.2fx' "$ratio" || echo -)" "${c:--}" "${cr:+${cr}x}" "${p:--}" "$verdict"
            rows_json+="${rows_json:+,}{\"encoding\":\"$enc\",\"sessions\":$n,\"path\":\"$path\",\"mb_per_s\":$m"
            rows_json+=",\"vs_off\":${ratio:-null},\"cpu_s_per_gib\":${c:-null},\"cpu_vs_off\":${cr:-null},\"cpu_pct\":${p:-null}}"
        done
    done
done
echo
for path in "${paths[@]}"; do
    [[ $path == direct || -z ${tracking_seen[$path]:-} ]] && continue
    echo "proxy '$path': sessions by {tracking}: ${tracking_seen[$path]}; updates counted by the proxy / read by the viewers: ${updates_seen[$path]}"
    case $path in
    off) [[ ${tracking_seen[$path]} =~ (^|, )on\  ]] && problem "proxy 'off' tracked sessions: ${tracking_seen[$path]}" ;;
    *) [[ ${tracking_seen[$path]} =~ ^on\ [0-9]+$ ]] || problem "proxy '$path' did not track every session: ${tracking_seen[$path]}" ;;
    esac
done
echo "load average at the start $load_start, at the end $load_end"
json="{\"event\":\"tracking_bench\",\"date\":\"$(date -u +%FT%TZ)\",\"label\":\"${label//\"/\\\"}\",\"cpus\":$(nproc)"
json+=",\"load_start\":\"$load_start\",\"load_end\":\"$load_end\",\"reps\":$reps,\"seconds\":$run_seconds"
json+=",\"target_vs_off\":$target,\"track\":\"$track_session\",\"filter\":\"$filter_session\",\"rows\":[$rows_json]}"
echo "$json"
[[ -n $json_out ]] && echo "$json" >"$json_out"

if ((${#problems[@]})); then
    echo "INCOMPLETE: ${#problems[@]} problem(s):"
    printf '  - %s\n' "${problems[@]}"
    exit 1
fi
if ((missed)); then
    echo "tracking misses the target on at least one row (see verdict)"
    ((strict)) && exit 1
fi
exit 0
