"""The measurements of bench/relay.sh, one function per section. Each returns
rows for the summary table (report.py) and prints one progress line per run.
Paths: "direct" (load client to bench server), "vhm" (through
vnc-hooks-manager, default settings), "vhm+hook" (the same with a /bin/true
command hook on connect), "haproxy" (TCP mode); latency and rate also measure
vhm without its default handshake polling ("vhm+sleep": handshake_poll_us 0)
and each proxy with busy polling always ("vhm+poll": global.busy_poll_us,
"haproxy+poll": busy-polling; rate leaves haproxy's out, as it spins even
while another path is measured). The rate section also measures against a
real VNC server (TigerVNC's Xvnc) next to the bench server.
"""
from __future__ import annotations

import signal
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from procs import (Tools, Unmeasured, context_switches, cpu_seconds, open_fds, pss_anon_kib, read_json_line, rss_kib, say, socket_slab_kib,
                   tcp_mem_limit_pages, tcp_mem_pages, user_cpu_seconds)

GIB = 1 << 30
LABEL = {"direct": "direct", "vhm": "vnc-hooks-manager", "vhm+hook": "vhm + connect hook",
         "vhm+sleep": "vhm handshake_poll_us 0", "vhm+poll": "vhm busy_poll_us 50", "haproxy": "haproxy",
         "haproxy+poll": "haproxy busy-polling"}
# Busy polling (vhm's global.busy_poll_us, haproxy's busy-polling): both trade CPU for wake-ups;
# the latency and rate sections measure each proxy with it too. vhm polls by
# default only while a handshake is in flight (global.handshake_poll_us, 50 us);
# "vhm+sleep" turns that off.
BUSY_POLL_US = 50
# Xvnc listens with a backlog of 5 (`ss -ltn`): with more connectors than that
# its accept queue overflows, a SYN is dropped and a handshake waits 1 s for
# the retransmit, whichever path it came by.
XVNC_CONNECTORS = 4
VHM_VARIANTS = ("vhm+hook", "vhm+sleep", "vhm+poll")


def with_busy_poll(paths) -> list[str]:
    """`paths` with vhm's no-polling variant and each proxy's busy-polling variant after it."""
    out: list[str] = []
    for path in paths:
        out.append(path)
        if path == "vhm":
            out.append("vhm+sleep")
        if path in ("vhm", "haproxy"):
            out.append(path + "+poll")
    return out


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


@dataclass
class Settings:
    reps: int = 5
    seconds: float = 5.0           # per throughput run
    latency_count: int = 1000      # sequential handshakes per latency run
    rate_seconds: float = 5.0
    connectors: int = 16           # concurrent connectors of the rate section
    scale_sessions: int = 9000
    scale_streaming: int = 900     # 10%
    scale_reps: int = 3
    settle: float = 2.0
    tls_subtypes: tuple[str, ...] = ("x509-none", "tls-none")
    paths: tuple[str, ...] = ("direct", "vhm", "haproxy")


@dataclass
class Row:
    """One line of the summary: a value per path, how to compare, a target."""
    section: str
    metric: str
    values: dict[str, float | None] = field(default_factory=dict)
    unit: str = ""
    ratio_to: str | None = "direct"     # ratios against this path's value (None: no ratio column)
    ratios: dict[str, float | None] = field(default_factory=dict)  # median of per-repetition ratios, if kept
    target: str = ""
    verdict: str = ""                   # "ok", "MISS" or ""
    decimals: int = 1


class Section:
    def __init__(self, tools: Tools, settings: Settings, problems: list[str]):
        self.tools = tools
        self.s = settings
        self.problems = problems

    def problem(self, text: str):
        self.problems.append(text)
        say(f"!! {text}")

    def have(self, path: str) -> bool:
        return path in self.s.paths or (path in VHM_VARIANTS and "vhm" in self.s.paths) or \
            (path == "haproxy+poll" and "haproxy" in self.s.paths)

    def start_proxy(self, path: str, server_port: int, **kwargs) -> tuple[subprocess.Popen, int]:
        if path.startswith("haproxy"):
            return self.tools.start_haproxy(server_port, maxconn=kwargs.get("maxconn", 2000),
                                            busy_polling=path == "haproxy+poll")
        return self.tools.start_vhm(server_port, hook=(path == "vhm+hook"), tls=kwargs.get("tls"),
                                    busy_poll_us=BUSY_POLL_US if path == "vhm+poll" else 0,
                                    handshake_poll_us=0 if path == "vhm+sleep" else None)

    def start_proxies(self, paths: list[str], server_port: int, what: str,
                      **kwargs) -> dict[str, tuple[subprocess.Popen, int]]:
        """A proxy per path of `paths` but direct, in front of server_port; one
        that does not start is a problem of `what` and is left out."""
        proxies = {}
        for path in paths:
            if path == "direct":
                continue
            try:
                proxies[path] = self.start_proxy(path, server_port, **kwargs)
            except Unmeasured as e:
                self.problem(f"{what}: {e}")
        return proxies

    def stop(self, proc: subprocess.Popen, path: str):
        self.tools.started.stop(proc, name=LABEL[path])


# --- 1. raw stream throughput and CPU per GiB -------------------------------------

def stream_runs(sec: Section, section: str, security: str, server_kwargs: dict, tls_config: dict | None) -> list[Row]:
    """Alternating 1-session throughput runs per path; each proxy run is also
    divided by the direct run of the same repetition."""
    s = sec.s
    tools = sec.tools
    server, server_port = tools.start_server(security=security, **server_kwargs)
    paths = [p for p in s.paths]
    proxies = sec.start_proxies(paths, server_port, section, tls=tls_config)  # haproxy passes TLS through
    mbps: dict[str, list[float]] = {p: [] for p in paths}
    ratios: dict[str, list[float]] = {p: [] for p in paths}
    cpu_proxy: dict[str, list[float]] = {p: [] for p in paths}
    cpu_server: dict[str, list[float]] = {p: [] for p in paths}
    cpu_client: dict[str, list[float]] = {p: [] for p in paths}
    proxy_share: dict[str, list[float]] = {p: [] for p in paths}
    for rep in range(1, s.reps + 1):
        # Each repetition starts one path later: a server that drifts within a
        # repetition (Xvnc's rate wanders by 10-20% between runs here) favours
        # no path, and direct is not always the one measured first.
        shift = (rep - 1) % len(paths)
        hps_of: dict[str, float] = {}
        for path in paths[shift:] + paths[:shift]:
            if path != "direct" and path not in proxies:
                continue
            port = server_port if path == "direct" else proxies[path][1]
            proxy_pid = proxies[path][0].pid if path != "direct" else None
            try:
                p0 = cpu_seconds(proxy_pid) if proxy_pid else 0.0
                s0 = cpu_seconds(server.pid)
                t0 = time.monotonic()
                result = tools.run_client(port, "throughput", s.seconds + 60, "--seconds", str(s.seconds),
                                          "--security", security)
                wall = time.monotonic() - t0
                p1 = cpu_seconds(proxy_pid) if proxy_pid else 0.0
                s1 = cpu_seconds(server.pid)
            except Unmeasured as e:
                sec.problem(f"{section} via {LABEL[path]}: {e}")
                continue
            gib = result["bytes"] / GIB
            mbps[path].append(result["mb_per_s"])
            cpu_server[path].append((s1 - s0) / gib)
            cpu_client[path].append(result["cpu_s"] / gib)
            note = ""
            if path == "direct":
                direct = result["mb_per_s"]
            else:
                cpu_proxy[path].append((p1 - p0) / gib)
                proxy_share[path].append((p1 - p0) / wall * 100)
                if direct:
                    ratios[path].append(result["mb_per_s"] / direct)
                    note = f" ({result['mb_per_s'] / direct:.3f}x direct)"
                note += f"; proxy CPU {(p1 - p0) / gib:.3f} s/GiB ({(p1 - p0) / wall * 100:.0f}% of a core)"
            say(f"[{section}] rep {rep}/{s.reps} {LABEL[path]:<18} {result['mb_per_s']:8.1f} MB/s{note};"
                f" server {(s1 - s0) / gib:.3f}, client {result['cpu_s'] / gib:.3f} CPU s/GiB")
    for path, (proc, _) in proxies.items():
        sec.stop(proc, path)
    tools.started.stop(server)

    med = {p: median(v) for p, v in mbps.items()}
    rows = [
        Row(section, "MB/s, 1 session (median)", med, "MB/s", ratios={p: median(v) for p, v in ratios.items()}),
        Row(section, "proxy CPU s per GiB relayed", {p: median(cpu_proxy[p]) for p in paths[1:]}, "s/GiB",
            ratio_to=None, decimals=3),
        Row(section, "proxy CPU, % of one core", {p: median(proxy_share[p]) for p in paths[1:]}, "%",
            ratio_to=None, decimals=0),
        Row(section, "load server CPU s per GiB", {p: median(cpu_server[p]) for p in paths}, "s/GiB",
            ratio_to=None, decimals=3),
        Row(section, "load client CPU s per GiB", {p: median(cpu_client[p]) for p in paths}, "s/GiB",
            ratio_to=None, decimals=3),
    ]
    return rows


def throughput(sec: Section) -> list[Row]:
    rows = stream_runs(sec, "throughput", "none", {}, None)
    rows[0].target = ">= 0.5x direct"
    rows[0].verdict = verdict(rows[0].ratios.get("vhm"), ">=", 0.5)
    return rows


# --- 2. VeNCrypt TLS: terminate vs direct TLS ---------------------------------------

def make_certificate(tools: Tools) -> tuple[Path, Path, str]:
    """A self-signed P-256 certificate for the bench server and the proxy's
    viewer leg; returns (cert, key, sha256 fingerprint)."""
    cert = tools.tmp / "bench-cert.pem"
    key = tools.tmp / "bench-key.pem"
    if not cert.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    out = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", str(cert)], check=True,
                         capture_output=True, text=True).stdout
    return cert, key, "sha256:" + out.strip().split("=", 1)[1]


def tls(sec: Section) -> list[Row]:
    rows: list[Row] = []
    try:
        cert, key, fingerprint = make_certificate(sec.tools)
    except (OSError, subprocess.CalledProcessError) as e:
        sec.problem(f"tls: cannot make a certificate with openssl: {e}")
        return rows
    for subtype in sec.s.tls_subtypes:
        if subtype == "x509-none":
            server_kwargs = {"cert": cert, "key": key}
            config = {"cert": str(cert), "key": str(key), "server_fingerprint": f'"{fingerprint}"'}
        else:
            server_kwargs = {}
            config = {"server_anonymous": "true"}
        name = f"tls {subtype}"
        sub_rows = stream_runs(sec, name, subtype, server_kwargs, config)
        sub_rows[0].metric = "MB/s, 1 session, vhm terminates (median)"
        sub_rows[0].target = ">= 0.25x direct TLS"
        sub_rows[0].verdict = verdict(sub_rows[0].ratios.get("vhm"), ">=", 0.25)
        rows += sub_rows[:3]
    return rows


# --- 3. handshake latency -------------------------------------------------------------

def latency(sec: Section) -> list[Row]:
    s = sec.s
    tools = sec.tools
    rows: list[Row] = []
    paths = ["direct"] + (["vhm", "vhm+hook", "vhm+sleep", "vhm+poll"] if "vhm" in s.paths else []) + \
        (["haproxy", "haproxy+poll"] if "haproxy" in s.paths else [])
    for security in ("none", "vnc"):
        server, server_port = tools.start_server(security=security)
        p50: dict[str, list[float]] = {p: [] for p in paths}
        p99: dict[str, list[float]] = {p: [] for p in paths}
        first: dict[str, list[float]] = {p: [] for p in paths}
        added: dict[str, list[float]] = {p: [] for p in paths}
        for rep in range(1, s.reps + 1):
            direct_p50 = None
            for path in paths:
                proc = None
                try:
                    # A fresh proxy per repetition: its first session is timed on its own.
                    port = server_port
                    if path != "direct":
                        proc, port = sec.start_proxy(path, server_port)
                    one = tools.run_client(port, "latency", 60, "--count", "1", "--security", security)
                    many = tools.run_client(port, "latency", 60 + s.latency_count * 0.05, "--count",
                                            str(s.latency_count), "--security", security)
                except Unmeasured as e:
                    sec.problem(f"latency ({security}) via {LABEL[path]}: {e}")
                    continue
                finally:
                    if proc:
                        sec.stop(proc, path)
                first[path].append(one["first_ms"])
                p50[path].append(many["p50_ms"])
                p99[path].append(many["p99_ms"])
                note = ""
                if path == "direct":
                    direct_p50 = many["p50_ms"]
                elif direct_p50 is not None:
                    added[path].append(many["p50_ms"] - direct_p50)
                    note = f" (+{many['p50_ms'] - direct_p50:.3f} ms)"
                say(f"[latency {security}] rep {rep}/{s.reps} {LABEL[path]:<18} {many['count']} handshakes:"
                    f" p50 {many['p50_ms']:.3f}{note} p99 {many['p99_ms']:.3f} ms; first after start"
                    f" {one['first_ms']:.3f} ms; client CPU {many['cpu_s']:.2f} s")
        tools.started.stop(server)
        title = f"latency {security}"
        rows.append(Row(title, "handshake p50 ms (version..ServerInit)", {p: median(v) for p, v in p50.items()},
                        "ms", decimals=3))
        rows.append(Row(title, "handshake p99 ms", {p: median(v) for p, v in p99.items()}, "ms", decimals=3))
        add_row = Row(title, "p50 added by the path, ms", {p: median(v) for p, v in added.items() if v}, "ms",
                      ratio_to=None, decimals=3)
        if security == "none":
            # The verdict is the default's (handshake polling on); the variants are told beside it.
            others = ", ".join(f"{short}: {verdict(add_row.values.get(p), '<=', 0.2)}"
                               for p, short in (("vhm+sleep", "vhm+sleep"), ("vhm+poll", "vhm+poll")) if p in paths)
            add_row.target = "vhm <= 0.2 ms" + (f" ({others})" if others else "")
            add_row.verdict = verdict(add_row.values.get("vhm"), "<=", 0.2)
        rows.append(add_row)
        rows.append(Row(title, "first session after start, ms", {p: median(v) for p, v in first.items()}, "ms",
                        decimals=3))
    return rows


# --- 4. connection rate ---------------------------------------------------------------

def rate(sec: Section) -> list[Row]:
    """Against the bench server, which answers a handshake in a few µs, the
    proxy's own cost shows; against Xvnc, what a real server's users see."""
    tools = sec.tools
    server, server_port = tools.start_server()
    # haproxy's busy-polling spins even when idle, and the proxies here all run
    # through the whole section: it would take a core from the others.
    paths = [p for p in with_busy_poll(sec.s.paths) if p != "haproxy+poll"]
    try:
        rows = rate_runs(sec, server_port, paths, "rate", sec.s.connectors, "")
    finally:
        tools.started.stop(server)
    try:
        xvnc, xvnc_port = tools.start_xvnc()
    except Unmeasured as e:
        sec.problem(f"rate against Xvnc: {e}")
        return rows
    try:
        # vhm+sleep too: whether handshake polling pays when the server, not the proxy, is the slow part.
        rows += rate_runs(sec, xvnc_port, [p for p in ("direct", "vhm", "vhm+sleep", "haproxy") if sec.have(p)],
                          "rate Xvnc", XVNC_CONNECTORS, " (Xvnc)")
    finally:
        tools.started.stop(xvnc)
    return rows


def rate_runs(sec: Section, server_port: int, paths: list[str], title: str, connectors: int,
              tag: str) -> list[Row]:
    """Alternating rate runs of `paths` in front of the server on server_port."""
    s = sec.s
    tools = sec.tools
    proxies = sec.start_proxies(paths, server_port, title)
    per_s: dict[str, list[float]] = {p: [] for p in paths}
    ratios: dict[str, list[float]] = {p: [] for p in paths}
    p99: dict[str, list[float]] = {p: [] for p in paths}
    cpu: dict[str, list[float]] = {p: [] for p in paths}
    user_cpu: dict[str, list[float]] = {p: [] for p in paths}  # the proxy's own code, without the kernel's part
    switches: dict[str, list[float]] = {p: [] for p in paths}
    client_cpu: dict[str, list[float]] = {p: [] for p in paths}
    for rep in range(1, s.reps + 1):
        # Each repetition starts one path later: a server that drifts within a
        # repetition (Xvnc's rate wanders by 10-20% between runs here) favours
        # no path, and direct is not always the one measured first.
        shift = (rep - 1) % len(paths)
        hps_of: dict[str, float] = {}
        for path in paths[shift:] + paths[:shift]:
            if path != "direct" and path not in proxies:
                continue
            port = server_port if path == "direct" else proxies[path][1]
            pid = proxies[path][0].pid if path != "direct" else None
            try:
                c0, u0, x0 = (cpu_seconds(pid), user_cpu_seconds(pid), context_switches(pid)) if pid else (0, 0, 0)
                result = tools.run_client(port, "rate", s.rate_seconds + 60, "--sessions", str(connectors),
                                          "--seconds", str(s.rate_seconds))
                c1, u1, x1 = (cpu_seconds(pid), user_cpu_seconds(pid), context_switches(pid)) if pid else (0, 0, 0)
            except Unmeasured as e:
                sec.problem(f"{title} via {LABEL[path]}: {e}")
                continue
            hps = result["handshakes_per_s"]
            hps_of[path] = hps
            per_s[path].append(hps)
            client_cpu[path].append(result["cpu_s"] / max(result["count"], 1) * 1e6)
            p99[path].append(result["p99_ms"])
            note = ""
            if path != "direct":
                cpu[path].append((c1 - c0) / max(result["count"], 1) * 1e6)
                user_cpu[path].append((u1 - u0) / max(result["count"], 1) * 1e6)
                switches[path].append((x1 - x0) / max(result["count"], 1))
                note = f"; proxy {(c1 - c0) / max(result['count'], 1) * 1e6:.0f} CPU us per handshake"
            say(f"[{title}] rep {rep}/{s.reps} {LABEL[path]:<18} {hps:8.0f} handshakes/s with {connectors}"
                f" connectors{note}; p50 {result['p50_ms']:.3f} p99 {result['p99_ms']:.3f} ms;"
                f" client CPU {result['cpu_s']:.2f} s")
        # Ratios against this repetition's own direct run, wherever it came in the order.
        direct = hps_of.get("direct")
        if direct:
            for path, hps in hps_of.items():
                if path != "direct":
                    ratios[path].append(hps / direct)
            say(f"[{title}] rep {rep}/{s.reps} x direct: " +
                ", ".join(f"{LABEL[p]} {h / direct:.3f}" for p, h in hps_of.items() if p != "direct"))
    for path, (proc, _) in proxies.items():
        sec.stop(proc, path)
    row = Row(title, f"handshakes/s, {connectors} connectors{tag}", {p: median(v) for p, v in per_s.items()},
              "/s", ratios={p: median(v) for p, v in ratios.items()}, target=">= 0.8x direct", decimals=0)
    row.verdict = verdict(row.ratios.get("vhm"), ">=", 0.8)
    return [row,
            Row(title, f"handshake p99 ms under that load{tag}", {p: median(v) for p, v in p99.items()}, "ms",
                decimals=3),
            Row(title, f"proxy CPU us per handshake{tag}", {p: median(v) for p, v in cpu.items() if v}, "us",
                ratio_to=None, decimals=0),
            Row(title, f"proxy user-space CPU us per handshake{tag}", {p: median(v) for p, v in user_cpu.items() if v}, "us",
                ratio_to=None, decimals=0),
            Row(title, f"proxy context switches per handshake{tag}", {p: median(v) for p, v in switches.items() if v},
                "", ratio_to=None, decimals=1),
            Row(title, f"load client CPU us per handshake{tag}",
                {p: median(v) for p, v in client_cpu.items() if v}, "us", ratio_to=None, decimals=0)]


# --- 5. scale: N sessions, idle, then 10% streaming ----------------------------------------

def scale(sec: Section) -> list[Row]:
    s = sec.s
    tools = sec.tools
    n, m = s.scale_sessions, s.scale_streaming
    idle_n = n - m
    # Kernel buffers capped as in compare.sh's memory phases, so hundreds of
    # streams stay below the host's tcp_mem limit.
    server, server_port = tools.start_server(sndbuf=262144)
    stream_args = ["--seconds", str(s.seconds), "--rcvbuf", "65536", "--read-buffer", "65536"]
    rows_idle: dict[str, float | None] = {}
    rows_pss: dict[str, float | None] = {}
    rows_up: dict[str, float | None] = {}
    rows_slab: dict[str, float | None] = {}
    with_idle: dict[str, list[float]] = {}
    without_idle: dict[str, list[float]] = {}
    ratios: dict[str, list[float]] = {}
    for path in s.paths:
        proc = None
        with_idle[path], without_idle[path], ratios[path] = [], [], []
        try:
            port = server_port
            if path != "direct":
                proc, port = sec.start_proxy(path, server_port, maxconn=n + 500)
            pid = proc.pid if proc else server.pid
            for rep in range(1, s.scale_reps + 1):
                rss0, pss0, slab0 = rss_kib(pid), pss_anon_kib(pid), socket_slab_kib()
                mem0 = tcp_mem_pages()
                t0 = time.monotonic()
                idle = tools.start_client(port, "idle", idle_n, "--hold", "900", ready_timeout=300)
                streamers = tools.start_client(port, "throughput", m, "--defer", *stream_args, ready_timeout=300)
                up = time.monotonic() - t0
                time.sleep(s.settle)  # the proxy finishes per-session work (event logging)
                rss1, pss1, fds, slab1 = rss_kib(pid), pss_anon_kib(pid), open_fds(pid), socket_slab_kib()
                who = "proxy" if proc else "server"
                if rep == 1:
                    rows_up[path] = n / up
                    rows_slab[path] = (slab1 - slab0) / n
                    if proc:  # the proxy's memory; direct has none
                        rows_idle[path] = (rss1 - rss0) / n
                        rows_pss[path] = (pss1 - pss0) / n
                say(f"[scale] {LABEL[path]} rep {rep}: {n} sessions up in {up:.1f} s ({n / up:.0f}/s);"
                    f" {who} RSS {rss0} -> {rss1} KiB ({(rss1 - rss0) / n:.2f} KiB/session),"
                    f" Pss_Anon {pss0} -> {pss1} KiB, {fds} fds; kernel socket slabs +{(slab1 - slab0) / n:.2f}"
                    f" KiB/session (all processes)")
                c0 = cpu_seconds(pid)
                streamers.send_signal(signal.SIGUSR1)
                time.sleep(s.seconds / 2)  # mid-stream: descriptors and memory while streaming
                rss2, mem2, fds2 = rss_kib(pid), tcp_mem_pages(), open_fds(pid)
                result = read_json_line(streamers, s.seconds + 60)
                c1 = cpu_seconds(pid)
                if not result or not result.get("ok"):
                    raise Unmeasured(f"{m} streams among {idle_n} idle sessions failed: {result}")
                per = result["mb_per_s"] / m
                with_idle[path].append(per)
                tools.started.stop(streamers)
                tools.started.stop(idle)
                say(f"[scale] {LABEL[path]} rep {rep}: {m} streaming among {idle_n} idle: {result['mb_per_s']:.1f}"
                    f" MB/s, {per:.2f} MB/s per session; {who} CPU {c1 - c0:.2f} s, RSS {rss2} KiB, {fds2} fds; host TCP"
                    f" memory {mem0} -> {mem2} pages (limit {tcp_mem_limit_pages()}); client CPU"
                    f" {result['cpu_s']:.2f} s")
                time.sleep(0.5)
                # The same streams with no idle session beside them, started the same way.
                streamers = tools.start_client(port, "throughput", m, "--defer", *stream_args, ready_timeout=300)
                streamers.send_signal(signal.SIGUSR1)
                alone = read_json_line(streamers, s.seconds + 60)
                tools.started.stop(streamers)
                if not alone or not alone.get("ok"):
                    raise Unmeasured(f"{m} streams alone failed: {alone}")
                per_alone = alone["mb_per_s"] / m
                without_idle[path].append(per_alone)
                ratios[path].append(per / per_alone)
                say(f"[scale] {LABEL[path]} rep {rep}: {m} streaming alone: {alone['mb_per_s']:.1f} MB/s,"
                    f" {per_alone:.2f} MB/s per session; with idle / alone = {per / per_alone:.3f}")
        except Unmeasured as e:
            sec.problem(f"scale via {LABEL[path]}: {e}")
        finally:
            if proc:
                sec.stop(proc, path)
    tools.started.stop(server)
    idle_row = Row("scale", f"RSS KiB per idle session ({n})", rows_idle, "KiB", ratio_to=None,
                   target="vhm <= 4 KiB", decimals=2)
    idle_row.verdict = verdict(rows_idle.get("vhm"), "<=", 4)
    slow = Row("scale", "streams with idle / alone (per session)",
               {p: median(v) for p, v in ratios.items() if v}, "x", ratio_to=None, target="not slowed (~1.0)",
               decimals=3)
    slow.verdict = verdict(slow.values.get("vhm"), ">=", 0.9)
    return [
        Row("scale", f"{n} sessions up, handshakes/s", rows_up, "/s", decimals=0),
        idle_row,
        Row("scale", f"Pss_Anon KiB per idle session ({n})", rows_pss, "KiB", ratio_to=None, decimals=2),
        Row("scale", "kernel socket slabs KiB/session, all sockets", rows_slab, "KiB", decimals=1),
        Row("scale", f"MB/s per stream, {m} among {n - m} idle", {p: median(v) for p, v in with_idle.items()},
            "MB/s", decimals=2),
        Row("scale", f"MB/s per stream, {m} alone", {p: median(v) for p, v in without_idle.items()}, "MB/s",
            decimals=2),
        slow,
    ]


def verdict(value: float | None, op: str, limit: float) -> str:
    if value is None:
        return "n/a"
    good = value >= limit if op == ">=" else value <= limit
    return "ok" if good else "MISS"


SECTIONS = {"throughput": throughput, "tls": tls, "latency": latency, "rate": rate, "scale": scale}
