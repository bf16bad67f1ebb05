#!/usr/bin/env bash
# Installs what vnc-hooks-manager needs on Debian 12, from Debian's own archive.
# Run as root (or through sudo).
#   scripts/install-deps.sh          everything: build, run, tests, fuzzing, benchmarks
#   scripts/install-deps.sh --run    only what building and running the proxy needs
set -euo pipefail

run_packages=(
  # build
  g++ cmake ninja-build ccache pkg-config mold
  libboost1.81-dev libboost-program-options1.81-dev libboost-json1.81-dev libssl-dev libyaml-cpp-dev libspdlog-dev
  # service: capabilities after the privilege drop, systemd readiness/watchdog
  libcap-dev libsystemd-dev
  # recording: zstd-compressed recordings, CRC-32 of every block (record/)
  libzstd-dev libdeflate-dev
  # rfb: the extended clipboard's zlib streams (rfb/cut_text.cpp)
  zlib1g-dev
  # browser access: crypt(3) for http_auth's htpasswd hashes; noVNC for `web:` (the example config serves it)
  libcrypt-dev novnc
  # fleet (docs/fleet.md): hiredis's RESP reply parser for the Redis client (broker/)
  libhiredis-dev
)
test_packages=(
  catch2
  # integration tests: a real VNC server and a real third-party viewer
  python3 tigervnc-standalone-server tigervnc-tools libnet-vnc-perl procps iproute2
  # TLS termination tests: TigerVNC's own viewer under a virtual X server, a test CA
  tigervnc-viewer xvfb xauth openssl
  # recording tests: known desktop content (xsetroot), screenshots of the replaying viewer (xwd),
  # recordings compressed by Debian's own zstd tool (an independent writer of the frames)
  x11-xserver-utils x11-apps zstd
  # message tracking tests: more real servers (x11vnc, QEMU's built-in VNC server showing SeaBIOS),
  # a person at the viewer (xdotool types and moves the mouse, into an xterm), the X clipboard (xsel)
  x11vnc qemu-system-x86 xdotool xsel xterm
  # transparent-mode tests: network namespaces with REDIRECT/TPROXY rules
  iptables nftables
  # packaging: cmake --install and CPack's .deb
  dpkg-dev file
  # service test: `systemd-analyze verify` on the shipped unit (not in minimal container images)
  systemd
  # benchmarks: the tool users would otherwise pick
  haproxy
  # events out: promtool checks the /metrics output, the alert rules and the dashboard's queries
  prometheus
  # browser access: a real browser running noVNC, and websockify to compare with (bench/websocket.sh)
  chromium websockify
  # packaging check: the fail2ban filter is tested with Debian's fail2ban-regex
  fail2ban
  # fuzzing: libFuzzer comes with Debian's clang; lld links its sanitized targets faster (scripts/fuzz.sh)
  clang libclang-rt-14-dev lld
  # fleet tests: a real Redis (event stream, workers, shared bans) and its CLI
  redis-server redis-tools
)

case "${1:-}" in
  --run) packages=("${run_packages[@]}") ;;
  "") packages=("${run_packages[@]}" "${test_packages[@]}") ;;
  *) echo "usage: $0 [--run]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}; run as root (sudo $0)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
