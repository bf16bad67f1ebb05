#!/usr/bin/env bash
# recording.sh: what session recording costs the relay, in one run, on loopback.
#
#   bench/recording.sh [BUILD_DIR] [--reps N] [--seconds S] [--quick] [--no-stall]
#
# a) throughput of one RFB stream (raw updates, as compare.sh): direct, through
#    vnc-hooks-manager without recording, recording uncompressed, recording
#    with zstd. Recordings go to a tmpfs, so the numbers are the proxy's cost,
#    not the disk's. Each recording path's median is divided by the
#    no-recording median (target: >= 0.80, i.e. recording costs at most 20%).
# b) the proxy's CPU time (user + system, all threads) per GiB relayed, with
#    and without recording, from /proc/PID/stat around each run.
# b2) sessions at a real link's pace: --rate-sessions N sessions (20) each
#    reading at most --rate MB/s (10, a 100 Mbit/s viewer): the aggregate
#    must not drop with recording on; the proxy's CPU share shows the cost.
# c) a stalled disk: the recording directory is an ext4 image on a loop
#    device frozen with fsfreeze; one session streams for S seconds; the
#    proxy's RSS must stay within its queue bound (queue_size, 8 MiB) of the
#    no-recording baseline. Needs root and a free loop device (--no-stall skips).
# Builds nothing: cmake -S . -B build-bench -DVHM_BUILD_BENCH=ON -DCMAKE_BUILD_TYPE=Release
# and cmake --build build-bench --target bench vnc-hooks-manager first.
set -uo pipefail

repo_dir=$(cd "$(dirname "$0")/.." && pwd)
build_dir=$repo_dir/build-bench
reps=3
run_seconds=4
stall=1
rate_sessions=20
rate=10
while (($#)); do
    case "$1" in
    --rate-sessions) rate_sessions=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --seconds) run_seconds=$2; shift 2 ;;
    --quick) reps=1; run_seconds=1; shift ;;
    --no-stall) stall=0; shift ;;
    -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "recording.sh: unknown option $1" >&2; exit 2 ;;
    *) build_dir=$1; shift ;;
    esac
done

proxy_bin=$build_dir/app/vnc-hooks-manager
server_bin=$build_dir/bench/rfb-stream-server
client_bin=$build_dir/bench/rfb-load-client
for bin in "$proxy_bin" "$server_bin" "$client_bin"; do
    [[ -x $bin ]] || { echo "recording.sh: $bin is not built (see bench/README.md)" >&2; exit 2; }
done

tmp=$(mktemp -d /tmp/vhm-bench-rec.XXXXXX)
pids=()
mounts=()
frozen=""
cleanup() {
    [[ -n $frozen ]] && fsfreeze -u "$frozen" 2>/dev/null
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    for m in "${mounts[@]}"; do umount "$m" 2>/dev/null; done
    [[ -n ${loop_dev:-} ]] && losetup -d "$loop_dev" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

json_field() { sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$1"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
ticks_per_s=$(getconf CLK_TCK)

exec {server_fd}< <(exec "$server_bin" --listen 127.0.0.1:0 2>>"$tmp/server.err")
pids+=($!)
read -r -t 10 -u "$server_fd" line || { echo "recording.sh: stream server did not start" >&2; exit 1; }
server_port=$(json_field "$line" port)

# A proxy with one listener; RECORDING is the listener's recording: map (YAML flow style) or "".
declare -A port_of=() pid_of=() dir_of=()
start_proxy() {
    local name=$1 recording=$2 port
    port=$(free_port)
    {
        echo "listeners:"
        echo "  - listen: 127.0.0.1:$port"
        echo "    target: 127.0.0.1:$server_port"
        echo "    scanner_shield: false"
        [[ -n $recording ]] && echo "    recording: $recording"
    } >"$tmp/$name.yaml"
    "$proxy_bin" --config "$tmp/$name.yaml" --log-level warn >"$tmp/$name.log" 2>&1 &
    pid_of[$name]=$!
    pids+=($!)
    port_of[$name]=$port
    "$client_bin" --connect "127.0.0.1:$port" --mode probe --wait 10 >/dev/null 2>&1 ||
        { echo "recording.sh: proxy $name did not start: $(tail -c 400 "$tmp/$name.log")" >&2; exit 1; }
}

recdir=$tmp/recordings
mkdir -p "$recdir"
mount -t tmpfs -o size=20g tmpfs "$recdir" 2>/dev/null && mounts+=("$recdir") ||
    echo "note: no tmpfs (not root?): recordings go to $recdir on $(df --output=source "$recdir" | tail -1)"
mkdir -p "$recdir/none" "$recdir/zstd"
start_proxy off ""
start_proxy none "{enabled: true, dir: $recdir/none, compression: none}"
start_proxy zstd "{enabled: true, dir: $recdir/zstd, compression: zstd}"
dir_of[none]=$recdir/none
dir_of[zstd]=$recdir/zstd

echo "== recording benchmark ($(date -u +%FT%TZ)); $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "throughput: $reps x $run_seconds s per path, one session, raw 1024x768x32 updates"
declare -A runs=() cpu_per_gib=()
paths=(direct off none zstd)
for ((rep = 1; rep <= reps; rep++)); do
    for path in "${paths[@]}"; do
        port=$server_port
        [[ $path != direct ]] && port=${port_of[$path]}
        before=0
        [[ $path != direct ]] && before=$(cpu_ticks "${pid_of[$path]}")
        line=$("$client_bin" --connect "127.0.0.1:$port" --mode throughput --seconds "$run_seconds" 2>>"$tmp/client.err" | tail -n 1)
        [[ $(json_field "$line" ok) == true ]] || { echo "recording.sh: run via $path failed: $line" >&2; exit 1; }
        mbps=$(json_field "$line" mb_per_s)
        runs[$path]+="$mbps "
        extra=""
        if [[ $path != direct ]]; then
            sleep 0.5  # the session's end: the writer flushes and closes the file
            ticks=$(($(cpu_ticks "${pid_of[$path]}") - before))
            gib=$(awk -v m="$mbps" -v s="$run_seconds" 'BEGIN {print m * 1e6 * s / 1073741824}')
            per=$(awk -v t="$ticks" -v hz="$ticks_per_s" -v g="$gib" 'BEGIN {printf "%.2f", t / hz / g}')
            cpu_per_gib[$path]+="$per "
            extra="cpu ${per} s/GiB"
            if [[ -n ${dir_of[$path]:-} ]]; then
                size=$(du -sb "${dir_of[$path]}" | cut -f1)
                extra+=", file $(awk -v b="$size" -v g="$gib" 'BEGIN {printf "%.0f MiB (%.0f%% of the stream)", b / 1048576, 100 * b / (g * 1073741824)}')"
                rm -f "${dir_of[$path]}"/*.vhmrec
            fi
        fi
        printf '[throughput] rep %d/%d %-6s %8.1f MB/s  %s\n' "$rep" "$reps" "$path" "$mbps" "$extra"
    done
done

echo
printf '%-34s %12s %12s %14s\n' "path" "MB/s" "vs no rec." "CPU s per GiB"
off=$(median ${runs[off]})
for path in "${paths[@]}"; do
    m=$(median ${runs[$path]})
    ratio=$(awk -v a="$m" -v b="$off" 'BEGIN {printf "%.2fx", a / b}')
    cpu="-"
    [[ -n ${cpu_per_gib[$path]:-} ]] && cpu=$(median ${cpu_per_gib[$path]})
    case $path in
    direct) label="direct (no proxy)" ;;
    off) label="proxy, recording off" ;;
    none) label="proxy, recording (none)" ;;
    zstd) label="proxy, recording (zstd)" ;;
    esac
    verdict=""
    [[ $path == none || $path == zstd ]] &&
        verdict=$(awk -v r="${ratio%x}" 'BEGIN {print (r >= 0.8 ? "ok (target >= 0.80x)" : "MISSED (target >= 0.80x)")}')
    printf '%-34s %12s %12s %14s  %s\n' "$label" "$m" "$ratio" "$cpu" "$verdict"
done

# --- b2) sessions at a real link's pace -----------------------------------------
echo
echo "real pace: $rate_sessions sessions x $rate MB/s for $run_seconds s per path"
printf '%-34s %12s %14s %s\n' "path" "total MB/s" "proxy CPU %" "  files / measured bytes (>= 100%: nothing lost; sessions run a little past the window)"
for path in off none zstd; do
    before=$(cpu_ticks "${pid_of[$path]}")
    line=$("$client_bin" --connect "127.0.0.1:${port_of[$path]}" --mode throughput --seconds "$run_seconds" \
        --sessions "$rate_sessions" --rate "$rate" 2>>"$tmp/client.err" | tail -n 1)
    [[ $(json_field "$line" ok) == true ]] || { echo "recording.sh: paced run via $path failed: $line" >&2; exit 1; }
    sleep 0.5
    ticks=$(($(cpu_ticks "${pid_of[$path]}") - before))
    cpu=$(awk -v t="$ticks" -v hz="$ticks_per_s" -v s="$run_seconds" 'BEGIN {printf "%.1f", 100 * t / hz / s}')
    case $path in
    off) label="proxy, recording off" ;;
    none) label="proxy, recording (none)" ;;
    zstd) label="proxy, recording (zstd)" ;;
    esac
    share="-"
    if [[ -n ${dir_of[$path]:-} ]]; then
        size=$(du -sb "${dir_of[$path]}" | cut -f1)
        share=$(awk -v b="$size" -v n="$(json_field "$line" bytes)" 'BEGIN {printf "%.0f%%", 100 * b / n}')
        rm -f "${dir_of[$path]}"/*.vhmrec
    fi
    printf '%-34s %12s %14s   %s\n' "$label" "$(json_field "$line" mb_per_s)" "$cpu" "$share"
done

# --- c) stalled disk ----------------------------------------------------------
if ((stall)); then
    echo
    if [[ $(id -u) -ne 0 ]] || ! command -v mkfs.ext4 >/dev/null || ! loop_dev=$(losetup -f 2>/dev/null); then
        echo "[stall] skipped: needs root, mkfs.ext4 and a free loop device"
        exit 0
    fi
    truncate -s 256M "$tmp/disk.img"
    mkfs.ext4 -q "$tmp/disk.img"
    losetup "$loop_dev" "$tmp/disk.img"
    mkdir -p "$tmp/stalled"
    mount "$loop_dev" "$tmp/stalled" && mounts+=("$tmp/stalled")
    start_proxy stall "{enabled: true, dir: $tmp/stalled, queue_size: 8MiB}"
    pid=${pid_of[stall]}
    base=$(rss_kib "$pid")
    fsfreeze -f "$tmp/stalled" && frozen=$tmp/stalled
    "$client_bin" --connect "127.0.0.1:${port_of[stall]}" --mode throughput --seconds "$run_seconds" >"$tmp/stall.out" 2>&1 &
    client=$!
    peak=$base
    for ((i = 0; i < run_seconds * 10; i++)); do
        sleep 0.1
        r=$(rss_kib "$pid")
        ((r > peak)) && peak=$r
    done
    wait "$client"
    stall_mbps=$(json_field "$(tail -n 1 "$tmp/stall.out")" mb_per_s)
    fsfreeze -u "$tmp/stalled" && frozen=""
    sleep 1
    growth=$((peak - base))
    printf '[stall] disk frozen for %s s: the session ran at %s MB/s; proxy RSS %d -> peak %d KiB (+%d KiB; queue bound 8192 KiB) %s\n' \
        "$run_seconds" "${stall_mbps:-?}" "$base" "$peak" "$growth" \
        "$( ((growth <= 8192 + 4096)) && echo ok || echo MISSED)"
    grep -m1 "recording failed" "$tmp/stall.log" | sed 's/^/[stall] proxy log: /'
fi
