"""Processes and /proc figures for bench/relay.sh: the bench server, the
proxies under test (vnc-hooks-manager, haproxy), load-client runs, and the
CPU time, memory and descriptors of a process read from /proc.
Python standard library only; loopback only.
"""
from __future__ import annotations

import json
import os
import random
import select
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


class Unmeasured(Exception):
    """A measurement could not be taken (a process did not start, a run failed)."""


def say(message: str):
    print(message, flush=True)


# --- /proc --------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """utime + stime of a running process (clock ticks, so 10 ms steps)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def user_cpu_seconds(pid: int) -> float:
    """utime alone: the process's own code, without the kernel's work for it."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLOCK_TICKS


def context_switches(pid: int) -> int:
    """Voluntary and involuntary context switches of all the process's threads (haproxy runs several)."""
    total = 0
    for status in Path(f"/proc/{pid}/task").glob("*/status"):
        try:
            for line in status.read_text().splitlines():
                if "ctxt_switches:" in line:
                    total += int(line.split()[1])
        except OSError:  # a thread that ended meanwhile
            pass
    return total


def status_kib(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def rss_kib(pid: int) -> int:
    return status_kib(pid, "VmRSS")


def pss_anon_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss_Anon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def tcp_mem_pages() -> int:
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                parts = line.split()
                return int(parts[parts.index("mem") + 1])
    return 0


def tcp_mem_limit_pages() -> int:
    return int(Path("/proc/sys/net/ipv4/tcp_mem").read_text().split()[2])


SOCKET_SLABS = ("TCP", "sock_inode_cache", "filp", "eventpoll_epi", "eventpoll_pwq")


def socket_slab_kib() -> int:
    """Kernel memory of open TCP sockets and their files and epoll entries
    (active objects x size of those slab caches), machine-wide; 0 if unreadable."""
    total = 0
    try:
        with open("/proc/slabinfo") as f:
            for line in f:
                parts = line.split()
                if parts and parts[0] in SOCKET_SLABS:
                    total += int(parts[1]) * int(parts[3])
    except OSError:
        return 0
    return total // 1024


def listening(port: int) -> bool:
    """Is 127.0.0.1:port in LISTEN state? (Looks, never connects: a probe
    connection would be the proxy's first session.)"""
    wanted = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            if parts[1] == wanted and parts[3] == "0A":
                return True
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def can_bind(port: int) -> bool:
    """Is 127.0.0.1:port free for a server to listen on?"""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


# --- processes ------------------------------------------------------------------

class Started:
    """Every process this run started, stopped by pid at the end."""

    def __init__(self):
        self.procs: list[subprocess.Popen] = []

    def add(self, proc: subprocess.Popen) -> subprocess.Popen:
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, grace: float = 5.0, name: str = "") -> None:
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                if name:
                    say(f"note: {name} (pid {proc.pid}) did not exit within {grace:g} s of SIGTERM; killed")
                proc.kill()
                proc.wait()
        if proc in self.procs:
            self.procs.remove(proc)

    def stop_all(self):
        for proc in list(reversed(self.procs)):
            self.stop(proc, grace=3.0)


def read_json_line(proc: subprocess.Popen, timeout: float) -> dict | None:
    """The next JSON line of proc's stdout within timeout, or None."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if not ready:
            return None
        line = proc.stdout.readline()
        if not line:
            return None
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)


class Tools:
    """Paths and the temp dir shared by every section."""

    def __init__(self, build_dir: Path, proxy_bin: Path, haproxy_bin: str | None, tmp: Path):
        self.server_bin = build_dir / "bench" / "rfb-stream-server"
        self.client_bin = build_dir / "bench" / "rfb-load-client"
        self.proxy_bin = proxy_bin
        self.haproxy_bin = haproxy_bin
        self.tmp = tmp
        self.started = Started()
        self.count = 0

    def path(self, name: str) -> Path:
        self.count += 1
        return self.tmp / f"{self.count:03d}.{name}"

    # The bench server: its "ready" line carries the port the kernel picked.
    def start_server(self, security: str = "none", sndbuf: int = 0, cert: Path | None = None,
                     key: Path | None = None) -> tuple[subprocess.Popen, int]:
        argv = [str(self.server_bin), "--listen", "127.0.0.1:0", "--security", security, "--sndbuf", str(sndbuf)]
        if cert:
            argv += ["--cert", str(cert), "--key", str(key)]
        err = open(self.path("server.err"), "w")
        proc = self.started.add(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True,
                                                 stdin=subprocess.DEVNULL))
        ready = read_json_line(proc, 10)
        if not ready or "port" not in ready:
            self.started.stop(proc)
            raise Unmeasured(f"rfb-stream-server did not start (see {err.name})")
        return proc, int(ready["port"])

    # A real VNC server for the rate section: TigerVNC's Xvnc, security None.
    # -BlacklistThreshold: every handshake reaches Xvnc from one address, and
    # under load Xvnc counts some as failed attempts and would blacklist it.
    def start_xvnc(self) -> tuple[subprocess.Popen, int]:
        if not shutil.which("Xvnc"):
            raise Unmeasured("Xvnc not found (apt-get install tigervnc-standalone-server)")
        for number in random.sample(range(20, 100), 10):
            port = 5900 + number
            display_taken = Path(f"/tmp/.X{number}-lock").exists() or Path(f"/tmp/.X11-unix/X{number}").exists()
            if display_taken or not can_bind(port):
                continue
            err = open(self.path("xvnc.err"), "w")
            proc = self.started.add(subprocess.Popen(
                ["Xvnc", f":{number}", "-rfbport", str(port), "-interface", "127.0.0.1", "-nolisten", "tcp",
                 "-geometry", "1024x768", "-depth", "24", "-desktop", "vhm-bench", "-SecurityTypes", "None",
                 "-AlwaysShared", "-BlacklistThreshold", "1000000", "-Log", "*:stderr:0"],
                stdout=err, stderr=err, stdin=subprocess.DEVNULL))
            deadline = time.monotonic() + 10
            while not listening(port) and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            if listening(port):
                return proc, port
            self.started.stop(proc)
        raise Unmeasured("Xvnc did not start on a free display (see the xvnc.err files)")

    def start_vhm(self, server_port: int, hook: bool = False, tls: dict | None = None,
                  max_sessions: int = 30000, busy_poll_us: int = 0,
                  handshake_poll_us: int | None = None) -> tuple[subprocess.Popen, int]:
        port = free_port()
        config = self.path("vhm.yaml")
        log = config.with_suffix(".log")
        lines = ["global:", f"  log_file: {log}", "  log_level: info", f"  max_sessions: {max_sessions}",
                 f"  busy_poll_us: {busy_poll_us}"]
        if handshake_poll_us is not None:  # else the default
            lines += [f"  handshake_poll_us: {handshake_poll_us}"]
        lines += ["listeners:", f"  - listen: \"127.0.0.1:{port}\"", f"    target: \"127.0.0.1:{server_port}\""]
        if tls:
            lines += ["    vencrypt: terminate", "    tls:"] + [f"      {k}: {v}" for k, v in tls.items()]
        if hook:
            lines += ["events:", "  connect:", "    - name: bench_true", "      cmd: /bin/true"]
        config.write_text("\n".join(lines) + "\n")
        err = open(config.with_suffix(".err"), "w")
        proc = self.started.add(subprocess.Popen([str(self.proxy_bin), "--config", str(config)],
                                                 stdout=err, stderr=err, stdin=subprocess.DEVNULL))
        self._wait_listening(proc, port, "vnc-hooks-manager", config.with_suffix(".err"))
        return proc, port

    def start_haproxy(self, server_port: int, maxconn: int = 2000,
                      busy_polling: bool = False) -> tuple[subprocess.Popen, int]:
        port = free_port()
        config = self.path("haproxy.cfg")
        busy = "    busy-polling\n" if busy_polling else ""
        config.write_text(f"""global
    maxconn {maxconn}
{busy}defaults
    mode tcp
    maxconn {maxconn}
    timeout connect 5s
    timeout client 10m
    timeout server 10m
frontend bench
    bind 127.0.0.1:{port}
    default_backend bench_server
backend bench_server
    server s1 127.0.0.1:{server_port}
""")
        err = open(config.with_suffix(".err"), "w")
        proc = self.started.add(subprocess.Popen([self.haproxy_bin, "-db", "-f", str(config)],
                                                 stdout=err, stderr=err, stdin=subprocess.DEVNULL))
        self._wait_listening(proc, port, "haproxy", config.with_suffix(".err"))
        return proc, port

    def _wait_listening(self, proc: subprocess.Popen, port: int, name: str, err: Path):
        deadline = time.monotonic() + 10
        while not listening(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                self.started.stop(proc)
                raise Unmeasured(f"{name} did not listen on 127.0.0.1:{port}: {err.read_text()[-300:]!r}")
            time.sleep(0.005)

    # A load-client run to completion; returns its result line.
    def run_client(self, port: int, mode: str, timeout: float, *args: str) -> dict:
        argv = [str(self.client_bin), "--connect", f"127.0.0.1:{port}", "--mode", mode, *args]
        err = self.path("client.err")
        with open(err, "w") as errf:
            try:
                done = subprocess.run(argv, stdout=subprocess.PIPE, stderr=errf, text=True, timeout=timeout,
                                      stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                raise Unmeasured(f"rfb-load-client --mode {mode} did not finish within {timeout:g} s")
        results = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
        if not results or not results[-1].get("ok"):
            why = results[-1] if results else err.read_text()[-300:]
            raise Unmeasured(f"rfb-load-client --mode {mode} failed: {why}")
        return results[-1]

    # A load client left running (idle sessions, deferred streams); waits for "ready".
    def start_client(self, port: int, mode: str, sessions: int, *args: str,
                     ready_timeout: float = 180) -> subprocess.Popen:
        argv = [str(self.client_bin), "--connect", f"127.0.0.1:{port}", "--mode", mode,
                "--sessions", str(sessions), *args]
        err = open(self.path("client.err"), "w")
        proc = self.started.add(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True,
                                                 stdin=subprocess.DEVNULL))
        proc.ready = read_json_line(proc, ready_timeout)  # type: ignore[attr-defined]
        ready = proc.ready  # type: ignore[attr-defined]
        if not ready or ready.get("event") != "ready" or ready.get("connected") != sessions:
            self.started.stop(proc)
            raise Unmeasured(f"{sessions} {mode} sessions did not all come up: {ready} {Path(err.name).read_text()[-300:]}")
        return proc
