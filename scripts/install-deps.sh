#!/usr/bin/env bash
# Installs everything vnc-hooks-manager needs to build, test and benchmark on
# Debian 12, from Debian's own archive. Run as root (or through sudo).
set -euo pipefail

packages=(
  # build
  g++ cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-program-options1.81-dev libboost-json1.81-dev libssl-dev libyaml-cpp-dev libspdlog-dev catch2
  # service: capabilities after the privilege drop, systemd readiness/watchdog
  libcap-dev libsystemd-dev
  # integration tests: a real VNC server and a real third-party viewer
  python3 tigervnc-standalone-server tigervnc-tools libnet-vnc-perl procps iproute2
  # TLS termination tests: TigerVNC's own viewer under a virtual X server, a test CA
  tigervnc-viewer xvfb xauth openssl
  # transparent-mode tests: network namespaces with REDIRECT/TPROXY rules
  iptables nftables
  # packaging: cmake --install and CPack's .deb
  dpkg-dev file
  # service test: `systemd-analyze verify` on the shipped unit (not in minimal container images)
  systemd
  # benchmarks: the tool users would otherwise pick
  haproxy
  # packaging check: the fail2ban filter is tested with Debian's fail2ban-regex
  fail2ban
)

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
