#!/usr/bin/env bash
# soak.sh: a bounded, mixed load through vnc-hooks-manager for a fixed time
# (default 10 minutes), on loopback only, watching the proxy for leaks.
#
#   bench/soak.sh [--duration 10m] [--warmup D] [--reload-every 1m] [--build-dir DIR] [--keep-tmp]
#
# The mix (see bench/README.md, "Soak"): handshake bursts, VNC logins with the
# right password to a real TigerVNC Xvnc, wrong passwords from "attacker"
# addresses 127.0.0.2... until they are banned (bans expire and recur),
# streaming viewers, stalled viewers, viewers that stall or send garbage in the
# handshake, Debian's Net::VNC viewer, `ctl kill`, and a SIGHUP reload every
# minute. The proxy's RSS, open fds, sessions and hook processes are sampled
# every few seconds; the run fails if one of them grows after the warm-up, does
# not drain back afterwards, or any session lacks its one `disconnect` event.
#
# Not a test (ctest never runs it) and not in CI. It builds nothing: build
# the proxy and the bench programs first (bench/README.md).
# Exit status: 0 pass, 1 fail, 2 usage error or something missing to run it,
# 130 interrupted.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

usage() {
    cat <<'EOF'
usage: bench/soak.sh [options]
  --duration D       how long the load runs (default 10m); D is 90, 90s, 10m, 1h, 1.5m
  --warmup D         samples before this are not judged (default 20% of --duration)
  --reload-every D   SIGHUP the proxy this often, alternating two configs (default 1m)
  --kill-every D     `ctl kill` one long session this often (default 10s)
  --sample-every D   sample RSS, fds, sessions, hook processes this often (default 5s)
  --attackers N      source addresses 127.0.0.2.. sending wrong passwords (default 4)
  --build-dir DIR    CMake build dir with app/vnc-hooks-manager and bench/ (default: build-bench
                     next to bench/, i.e. <repo>/build-bench)
  --out DIR          also copy samples.csv, run.json, summary.txt, events and the proxy log to DIR
  --keep-tmp         keep the work directory (all logs) instead of removing it
  --no-perl-viewer   leave Debian's Net::VNC viewer out of the mix
  -h, --help         this text
Exit status: 0 pass, 1 fail, 2 usage or missing prerequisites, 130 interrupted.
EOF
}

die_usage() {
    echo "soak.sh: $1" >&2
    echo "try: bench/soak.sh --help" >&2
    exit 2
}

# to_seconds TEXT: "90", "90s", "1.5m", "10m", "1h" -> seconds (may be fractional).
to_seconds() {
    [[ $1 =~ ^([0-9]+(\.[0-9]+)?)(s|m|h)?$ ]] || return 1
    awk -v n="${BASH_REMATCH[1]}" -v u="${BASH_REMATCH[3]}" \
        'BEGIN {f = (u == "m") ? 60 : (u == "h") ? 3600 : 1; printf "%g\n", n * f}'
}

duration=600
warmup=""
reload_every=60
kill_every=10
sample_every=5
attackers=4
build_dir=$repo/build-bench
out_dir=""
keep_tmp=0
perl_viewer=1

while (($#)); do
    option=$1 value=""
    if [[ $option == --*=* ]]; then
        value=${option#*=} option=${option%%=*}
    fi
    case "$option" in
    -h | --help) usage; exit 0 ;;
    --keep-tmp) keep_tmp=1; shift; continue ;;
    --no-perl-viewer) perl_viewer=0; shift; continue ;;
    --duration | --warmup | --reload-every | --kill-every | --sample-every | --attackers | --build-dir | --out)
        if [[ -z $value ]]; then
            (($# >= 2)) || die_usage "$option needs a value"
            value=$2
            shift
        fi
        ;;
    *) die_usage "unknown option $option" ;;
    esac
    shift
    case "$option" in
    --duration) duration=$(to_seconds "$value") || die_usage "bad duration '$value'" ;;
    --warmup) warmup=$(to_seconds "$value") || die_usage "bad warm-up '$value'" ;;
    --reload-every) reload_every=$(to_seconds "$value") || die_usage "bad --reload-every '$value'" ;;
    --kill-every) kill_every=$(to_seconds "$value") || die_usage "bad --kill-every '$value'" ;;
    --sample-every) sample_every=$(to_seconds "$value") || die_usage "bad --sample-every '$value'" ;;
    --attackers)
        [[ $value =~ ^[0-9]+$ ]] || die_usage "--attackers takes 0..50"
        ((value <= 50)) || die_usage "--attackers takes 0..50"
        attackers=$value
        ;;
    --build-dir) build_dir=$value ;;
    --out) out_dir=$value ;;
    esac
done

at_least() { awk -v v="$1" -v m="$2" 'BEGIN {exit !(v >= m)}'; }
at_least "$duration" 30 || die_usage "--duration must be at least 30s"
[[ -n $warmup ]] || warmup=$(awk -v d="$duration" 'BEGIN {printf "%g\n", d * 0.2}')
awk -v w="$warmup" -v d="$duration" 'BEGIN {exit !(w < d * 0.9)}' || die_usage "--warmup must be well below --duration"
at_least "$reload_every" 5 || die_usage "--reload-every must be at least 5s"
at_least "$kill_every" 1 || die_usage "--kill-every must be at least 1s"
at_least "$sample_every" 1 || die_usage "--sample-every must be at least 1s"

# --- prerequisites --------------------------------------------------------------
missing=()
for bin in app/vnc-hooks-manager bench/rfb-stream-server bench/rfb-load-client; do
    [[ -x $build_dir/$bin ]] || missing+=("$build_dir/$bin (build it: see bench/README.md)")
done
for tool in Xvnc:tigervnc-standalone-server vncpasswd:tigervnc-tools python3:python3; do
    command -v "${tool%%:*}" >/dev/null || missing+=("${tool%%:*} (apt-get install ${tool#*:})")
done
if command -v python3 >/dev/null && ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    missing+=("python3 >= 3.11")
fi
if ((${#missing[@]})); then
    echo "soak.sh: cannot run, missing:" >&2
    printf '  %s\n' "${missing[@]}" >&2
    exit 2
fi
if ((perl_viewer)) && ! perl -MNet::VNC -e 1 2>/dev/null; then
    echo "note: Net::VNC not installed (apt-get install libnet-vnc-perl): no Net::VNC viewer in the mix"
    perl_viewer=0
fi

ulimit -n "$(ulimit -Hn)" 2>/dev/null
tmp=$(mktemp -d /tmp/vhm-soak.XXXXXX)
driver_pid=""
interrupted=0

# alive_ours PID: still the process we started? Everything the engine starts
# leads its own session, so its session id equals its pid; a recycled pid
# would not (normally) be a session leader with that id.
# shellcheck disable=SC2317 # invoked from cleanup (the EXIT trap)
alive_ours() {
    local stat session
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    # fields after the command: state ppid pgrp session ...
    read -r _ _ _ session _ <<<"$stat"
    [[ $session == "$1" ]]
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
    local pid name i
    trap - INT TERM HUP
    if [[ -n $driver_pid ]] && kill -0 "$driver_pid" 2>/dev/null; then
        # It ends the load, drains, stops what it started and reports (bounded).
        kill -TERM "$driver_pid" 2>/dev/null
        for ((i = 0; i < 600; i++)); do
            kill -0 "$driver_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$driver_pid" 2>/dev/null
        wait "$driver_pid" 2>/dev/null
    fi
    # Safety net: whatever the engine started and did not stop (it died).
    if [[ -f $tmp/pids ]]; then
        while read -r pid name; do
            if ! [[ $pid =~ ^[0-9]+$ ]] || ! alive_ours "$pid"; then
                continue
            fi
            echo "soak.sh: stopping leftover $name (pid $pid)"
            kill -TERM "$pid" 2>/dev/null
            for ((i = 0; i < 50; i++)); do
                alive_ours "$pid" || break
                sleep 0.1
            done
            alive_ours "$pid" && kill -KILL "$pid" 2>/dev/null
        done <"$tmp/pids"
    fi
    if ((keep_tmp)); then
        echo "work directory kept: $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'interrupted=1; echo "soak.sh: interrupted"; exit 130' INT TERM HUP

echo "== vnc-hooks-manager soak ($(date -u +%FT%TZ)); build dir $build_dir; $(nproc) CPUs," \
    "load average $(cut -d' ' -f1-3 /proc/loadavg)"
driver_args=(--workdir "$tmp" --build-dir "$build_dir" --duration "$duration" --warmup "$warmup"
    --reload-every "$reload_every" --kill-every "$kill_every" --sample-every "$sample_every"
    --attackers "$attackers")
((perl_viewer)) || driver_args+=(--no-perl-viewer)
[[ -n $out_dir ]] && driver_args+=(--out "$out_dir")

python3 "$here/soak/soak.py" "${driver_args[@]}" &
driver_pid=$!
wait "$driver_pid"
status=$?
driver_pid=""
((interrupted)) && exit 130
case $status in
0 | 1) exit "$status" ;;
130) exit 130 ;;
*) echo "soak.sh: the soak engine failed (status $status)" >&2; exit 1 ;;
esac
