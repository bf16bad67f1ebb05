"""Network namespaces for the transparent-interception tests (issue 4).

One Topology is three namespaces made fresh with unique names, wired like a
real site: viewers in `client`, the proxy on the router in `gateway`, VNC
servers in `server`. Nothing is added to the namespace the tests run in (the
veth pairs are created inside the gateway namespace), so a crashed run leaves
at most named namespaces behind, and those are removed by the next run once
the process that made them is gone.

    client 10.77.1.2 fd77:1::2 --(eth0 | gw-c)-- 10.77.1.1 fd77:1::1 gateway
    gateway 10.77.2.1 fd77:2::1 --(gw-s | eth0)-- 10.77.2.2 fd77:2::2 server

Processes are started inside a namespace with `ip netns exec NAME cmd`, which
execs cmd: the pid we get is the process itself, so everything is stopped by
pid. Python standard library only; needs root (CI runs as root).
"""
from __future__ import annotations

import os
import random
import re
import secrets
import subprocess
from pathlib import Path

from vhm_harness import kill_quietly, pid_alive, wait_until

CLIENT_IP = "10.77.1.2"
GATEWAY_CLIENT_SIDE_IP = "10.77.1.1"
GATEWAY_SERVER_SIDE_IP = "10.77.2.1"
SERVER_IP = "10.77.2.2"
CLIENT_IP6 = "fd77:1::2"
GATEWAY_CLIENT_SIDE_IP6 = "fd77:1::1"
SERVER_IP6 = "fd77:2::2"
GATEWAY_CLIENT_IF = "gw-c"  # the gateway's interface toward the client

PREFIX = "vhmtp"
NAME_RE = re.compile(rf"^{PREFIX}-(\d+)-[0-9a-f]+-\w+$")


def run(cmd: list[str], check: bool = True, input_text: str | None = None,
        timeout: float = 20) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, input=input_text, capture_output=True, text=True,
                          timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): "
                           f"{done.stderr.strip() or done.stdout.strip()}")
    return done


def remove_stale_namespaces():
    """Namespaces of earlier runs whose creating process is gone."""
    for name in run(["ip", "netns", "list"]).stdout.split():
        match = NAME_RE.match(name)
        if match and not pid_alive(int(match.group(1))):
            run(["ip", "netns", "del", name], check=False)


class Topology:
    """client -- gateway -- server; see the module docstring."""

    def __init__(self):
        tag = f"{PREFIX}-{os.getpid()}-{secrets.token_hex(3)}"
        self.client = f"{tag}-client"
        self.gateway = f"{tag}-gateway"
        self.server = f"{tag}-server"
        self.namespaces = [self.client, self.gateway, self.server]
        self.processes: list[subprocess.Popen] = []
        self.created: list[str] = []

    # --- lifecycle ---
    def create(self) -> "Topology":
        remove_stale_namespaces()
        try:
            for name in self.namespaces:
                run(["ip", "netns", "add", name])
                self.created.append(name)
            self._wire()
        except BaseException:
            self.destroy()
            raise
        return self

    def _wire(self):
        c, g, s = self.client, self.gateway, self.server
        self.ip(g, "link", "add", GATEWAY_CLIENT_IF, "type", "veth", "peer", "name", "eth0", "netns", c)
        self.ip(g, "link", "add", "gw-s", "type", "veth", "peer", "name", "eth0", "netns", s)
        # nodad: addresses usable at once instead of after duplicate detection.
        for ns, dev, v4, v6 in [(c, "eth0", f"{CLIENT_IP}/24", f"{CLIENT_IP6}/64"),
                                (g, GATEWAY_CLIENT_IF, f"{GATEWAY_CLIENT_SIDE_IP}/24",
                                 f"{GATEWAY_CLIENT_SIDE_IP6}/64"),
                                (g, "gw-s", f"{GATEWAY_SERVER_SIDE_IP}/24", "fd77:2::1/64"),
                                (s, "eth0", f"{SERVER_IP}/24", f"{SERVER_IP6}/64")]:
            self.ip(ns, "addr", "add", v4, "dev", dev)
            self.ip(ns, "addr", "add", v6, "dev", dev, "nodad")
            self.ip(ns, "link", "set", dev, "up")
        for ns in self.namespaces:
            self.ip(ns, "link", "set", "lo", "up")
        self.ip(c, "route", "add", "default", "via", GATEWAY_CLIENT_SIDE_IP)
        self.ip(c, "-6", "route", "add", "default", "via", GATEWAY_CLIENT_SIDE_IP6)
        self.ip(s, "route", "add", "default", "via", GATEWAY_SERVER_SIDE_IP)
        self.ip(s, "-6", "route", "add", "default", "via", "fd77:2::1")
        # A router: anything not intercepted is forwarded as usual.
        self.exec(g, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1")

    def destroy(self):
        """Stops what we started (by pid), then whatever our proxy started in
        our namespaces (hooks), then removes the namespaces. Never raises."""
        for proc in reversed(self.processes):
            try:
                kill_quietly(proc, grace=3)
            except Exception:  # noqa: BLE001 - cleanup must go on
                pass
        for name in self.created:
            pids = run(["ip", "netns", "pids", name], check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), 9)
                except (ProcessLookupError, ValueError):
                    pass
            run(["ip", "netns", "del", name], check=False)
        self.created = []

    # --- commands ---
    def ip(self, ns: str, *args: str) -> subprocess.CompletedProcess:
        return run(["ip", "-n", ns, *args])

    def exec(self, ns: str, *cmd: str, check: bool = True,
             input_text: str | None = None) -> subprocess.CompletedProcess:
        return run(["ip", "netns", "exec", ns, *cmd], check=check, input_text=input_text)

    def prefix(self, ns: str) -> list[str]:
        return ["ip", "netns", "exec", ns]

    def popen(self, ns: str, cmd: list[str], **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen(self.prefix(ns) + cmd, **kwargs)
        self.processes.append(proc)
        return proc

    def nft(self, ns: str, ruleset: str):
        self.exec(ns, "nft", "-f", "-", input_text=ruleset)

    def listening(self, ns: str, port: int) -> bool:
        out = self.exec(ns, "ss", "-Htln", f"sport = :{port}").stdout
        return bool(out.strip())

    def established_peers(self, ns: str, local_port: int) -> list[str]:
        """Peer addresses of established TCP connections to local_port."""
        out = self.exec(ns, "ss", "-Htn", "state", "established", f"sport = :{local_port}").stdout
        peers = []
        for line in out.splitlines():
            fields = line.split()
            if len(fields) >= 4:
                peers.append(fields[-1].rsplit(":", 1)[0].strip("[]"))
        return peers


class NsXvnc:
    """TigerVNC Xvnc inside a namespace, on a chosen RFB port (the X display
    number is any free one: lock files and /tmp/.X11-unix are shared by all
    namespaces, TCP ports are not)."""

    def __init__(self, topology: Topology, ns: str, port: int, workdir: Path,
                 desktop: str, geometry=(800, 600), as_user: str | None = None,
                 as_group: str = "nogroup", interface: str | None = None):
        self.topology = topology
        self.ns = ns
        self.port = port
        self.workdir = workdir
        self.desktop = desktop
        self.width, self.height = geometry
        self.as_user = as_user
        self.as_group = as_group
        self.interface = interface
        self.proc: subprocess.Popen | None = None
        self.log_path = workdir / f"xvnc-{ns.rsplit('-', 1)[-1]}-{port}.log"

    def start(self) -> "NsXvnc":
        candidates = list(range(20, 100))
        random.shuffle(candidates)
        for number in candidates[:10]:
            if os.path.exists(f"/tmp/.X{number}-lock") or os.path.exists(f"/tmp/.X11-unix/X{number}"):
                continue
            cmd = ["/usr/bin/Xvnc", f":{number}", "-rfbport", str(self.port), "-nolisten", "tcp",
                   "-geometry", f"{self.width}x{self.height}", "-depth", "24",
                   "-desktop", self.desktop, "-SecurityTypes", "None", "-UseBlacklist=0",
                   "-AlwaysShared"]
            if self.interface:
                cmd += ["-interface", self.interface]
            if self.as_user:
                # Xvnc makes its socket there; root's Xvnc would create it, nobody cannot.
                os.makedirs("/tmp/.X11-unix", exist_ok=True)
                os.chmod("/tmp/.X11-unix", 0o1777)
                cmd = ["setpriv", f"--reuid={self.as_user}", f"--regid={self.as_group}",
                       "--clear-groups"] + cmd
            with open(self.log_path, "wb") as log:
                proc = self.topology.popen(self.ns, cmd, stdin=subprocess.DEVNULL, stdout=log,
                                           stderr=subprocess.STDOUT, start_new_session=True)
            self.proc = proc
            try:
                wait_until(lambda: proc.poll() is not None or self.topology.listening(self.ns, self.port),
                           timeout=15, what=f"Xvnc :{number} listening on port {self.port}")
            except AssertionError:
                self.stop()
                raise
            if proc.poll() is None:
                return self
        raise RuntimeError(f"could not start Xvnc on port {self.port}; log:\n"
                           + self.log_text())

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def accepted_from(self) -> list[str]:
        """Peer addresses of every connection Xvnc logged as accepted."""
        return [m.strip("[]") for m in
                re.findall(r"Connections: accepted: (\S+)::\d+", self.log_text())]

    def stop(self):
        kill_quietly(self.proc)
        self.proc = None
