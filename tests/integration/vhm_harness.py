"""Shared machinery for the integration tests: real processes on loopback.

Starts TigerVNC `Xvnc` on a free display, the proxy with a generated YAML
config, the Net::VNC viewer (vnc_viewer.pl) and, for fault injection only,
fake RFB peers written with sockets. Everything waits by polling with a bound,
never by fixed sleeps, and everything started here is stopped by pid.
Python 3 standard library only.
"""
from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path
from typing import Callable, Iterable

HERE = Path(__file__).resolve().parent
HOOKS_DIR = HERE / "hooks"
RECORD_HOOK = "record_event.py"
VIEWER = HERE / "vnc_viewer.pl"
XVNC = "/usr/bin/Xvnc"
VNC_PASSWORD = "s3cret-pw"  # Net::VNC and TigerVNC only use the first 8 bytes

FIELDS = [
    "event", "session_id", "timestamp", "client_ip", "client_port", "listen",
    "target_host", "target_port", "display", "user", "rfb_version",
    "security_type", "desktop_name", "width", "height", "reason", "duration",
    "bytes_in", "bytes_out",
]
EVENT_KINDS = ["connect", "auth_success", "auth_failure", "disconnect"]
# Issue 3 (blocking and policy) adds two events and two fields.
POLICY_FIELDS = FIELDS + ["failures", "ban_until"]
POLICY_EVENT_KINDS = EVENT_KINDS + ["ban", "blocked"]
TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
SESSION_ID_RE = re.compile(r"^[0-9a-f]+$")

DEFAULT_WAIT = 10.0  # seconds; the bound for "should happen promptly"


def proxy_binary() -> str:
    path = os.environ.get("VHM_BINARY")
    if not path:
        source = Path(os.environ.get("VHM_SOURCE_DIR", HERE.parent.parent))
        path = str(source / "build-it" / "app" / "vnc-hooks-manager")
    path = os.path.abspath(path)  # the proxy starts in each test's own directory
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"proxy binary not found or not executable: {path} "
                           "(set VHM_BINARY)")
    return path


def wait_until(predicate: Callable[[], object], timeout: float = DEFAULT_WAIT,
               what: str = "condition", interval: float = 0.02):
    """Polls predicate until it returns something truthy; returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def closed_port() -> int:
    """A loopback port outside 5900-5999 that nothing listens on (right now)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if not 5900 <= port <= 5999:
            return port


def pid_alive(pid: int) -> bool:
    """True if the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z"


def kill_quietly(proc: subprocess.Popen | None, sig=signal.SIGTERM, grace: float = 5.0):
    """Stops one process we started, by pid: sig, then SIGKILL after grace."""
    if proc is None:
        return
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        except ProcessLookupError:
            pass


# --------------------------------------------------------------------------
# Xvnc
# --------------------------------------------------------------------------

def greets_with_rfb(port: int, host: str = "127.0.0.1") -> bool:
    """A VNC server listens on `port`: it sends an RFB ProtocolVersion."""
    try:
        with socket.create_connection((host, port), timeout=2) as probe:
            probe.settimeout(2)
            return recv_exact(probe, 12).startswith(b"RFB ")
    except OSError:
        return False


class Xvnc:
    """A TigerVNC Xvnc on display :N listening on 127.0.0.1:5900+N."""

    def __init__(self, workdir: str, security: str = "VncAuth",
                 password: str = VNC_PASSWORD, geometry=(800, 600),
                 desktop: str = "vhm-it desktop", blacklist: bool = False):
        """blacklist: keep Xvnc's own blacklist on its defaults (threshold 5,
        timeout 10 s doubling); off by default so tests may fail logins freely."""
        self.workdir = Path(workdir)
        self.blacklist = blacklist
        self.security = security
        self.password = password
        self.width, self.height = geometry
        self.desktop = desktop
        self.proc: subprocess.Popen | None = None
        self.number = -1
        self.port = 0
        self.log_path: Path | None = None
        self.probe_ports: set[int] = set()  # our own log_barrier() connections

    @property
    def display(self) -> str:
        return f":{self.number}"

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _password_file(self) -> Path:
        path = self.workdir / "xvnc-passwd"
        data = subprocess.run(["vncpasswd", "-f"], input=self.password.encode() + b"\n",
                              capture_output=True, check=True, timeout=10).stdout
        path.write_bytes(data)
        path.chmod(0o600)
        return path

    def start(self) -> "Xvnc":
        args_security = ["-SecurityTypes", self.security]
        if self.security == "VncAuth":
            args_security += ["-rfbauth", str(self._password_file())]
        candidates = list(range(20, 100))
        random.shuffle(candidates)
        last_log = ""
        for number in candidates[:8]:
            port = 5900 + number
            if (os.path.exists(f"/tmp/.X{number}-lock")
                    or os.path.exists(f"/tmp/.X11-unix/X{number}")
                    or not port_is_free(port)):
                continue
            log_path = self.workdir / f"xvnc-{number}.log"
            log = open(log_path, "wb")
            cmd = [XVNC, f":{number}", "-rfbport", str(port), "-interface", "127.0.0.1",
                   "-nolisten", "tcp", "-geometry", f"{self.width}x{self.height}",
                   "-depth", "24", "-desktop", self.desktop,
                   "-AlwaysShared"] + ([] if self.blacklist else ["-UseBlacklist=0"]) + args_security
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
            self.proc, self.number, self.port = proc, number, port
            self.log_path = log_path
            try:
                wait_until(lambda: proc.poll() is not None or self._greets(),
                           timeout=15, what=f"Xvnc :{number} to accept RFB")
            except AssertionError:
                self.stop()
                raise
            if proc.poll() is None:
                return self
            last_log = log_path.read_text(errors="replace")
            self.proc = None
        raise RuntimeError(f"could not start Xvnc on a free display; last log:\n{last_log}")

    def _greets(self) -> bool:
        return greets_with_rfb(self.port)

    def accepted_ports(self) -> list[int]:
        """Client ports of every connection Xvnc logged as accepted so far."""
        text = self.log_path.read_text(errors="replace") if self.log_path else ""
        return [int(p) for p in re.findall(r"Connections: accepted: [^\s]*::(\d+)", text)]

    def accepted_since(self, mark: int) -> list[int]:
        """Client ports of connections accepted after `mark` (a length of
        accepted_ports() taken earlier), without log_barrier() probes. Runs a
        barrier first, so every connection accepted before this call counts."""
        self.log_barrier()
        return [p for p in self.accepted_ports()[mark:] if p not in self.probe_ports]

    def log_barrier(self, timeout: float = DEFAULT_WAIT) -> int:
        """Connects directly and waits until Xvnc logs accepting that connection
        (Xvnc logs accepts in order): everything accepted earlier is logged."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as probe:
            port = probe.getsockname()[1]
            self.probe_ports.add(port)
            wait_until(lambda: port in self.accepted_ports(), timeout=timeout,
                       what=f"Xvnc to log accepting the probe from port {port}")
        return port

    def stop(self):
        kill_quietly(self.proc)
        self.proc = None


# --------------------------------------------------------------------------
# Proxy
# --------------------------------------------------------------------------

def yaml_scalar(value) -> str:
    """A YAML scalar: JSON strings are valid YAML double-quoted scalars (and a
    JSON array of strings is a valid YAML flow sequence)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_scalar(item) for item in value) + "]"
    return json.dumps(str(value))


def yaml_mapping(mapping: dict, indent: int) -> list[str]:
    """Block-style lines for a nested mapping (values: scalars, lists, dicts)."""
    lines = []
    for key, value in mapping.items():
        if isinstance(value, dict):
            lines.append(f"{' ' * indent}{key}:")
            lines += yaml_mapping(value, indent + 2)
        else:
            lines.append(f"{' ' * indent}{key}: {yaml_scalar(value)}")
    return lines


def make_config(listeners: Iterable[dict], events: dict | None = None,
                global_: dict | None = None, sections: dict | None = None) -> str:
    """Block-style YAML, one key per line (so file:line messages are testable).
    `sections`: further top-level sections, e.g. {"blocking": {...}}."""
    lines = ["global:"]
    settings = {"hooks_dir": str(HOOKS_DIR), "log_level": "info"}
    settings.update(global_ or {})
    for key, value in settings.items():
        lines.append(f"  {key}: {yaml_scalar(value)}")
    lines.append("listeners:")
    for listener in listeners:
        first = True
        for key, value in listener.items():
            if isinstance(value, dict):  # a listener's own section (session:, recording:)
                lines.append(f"  {'- ' if first else '  '}{key}:")
                lines += yaml_mapping(value, 6)
            else:
                lines.append(f"  {'- ' if first else '  '}{key}: {yaml_scalar(value)}")
            first = False
    if events:
        lines.append("events:")
        for kind, hooks in events.items():
            lines.append(f"  {kind}:")
            for hook in hooks:
                first = True
                for key, value in hook.items():
                    lines.append(f"    {'- ' if first else '  '}{key}: {yaml_scalar(value)}")
                    first = False
    for name, section in (sections or {}).items():
        lines.append(f"{name}:")
        lines += yaml_mapping(section, 2)
    return "\n".join(lines) + "\n"


def record_cmd(out_file, fields: Iterable[str] = FIELDS, sleep: float = 0) -> str:
    """cmd for the recording hook: every field as its own key={field} argument."""
    head = [RECORD_HOOK] + ([f"--sleep={sleep}"] if sleep else []) + [str(out_file)]
    return " ".join(head + [f"{f}={{{f}}}" for f in fields])


def record_hooks(out_file, kinds: Iterable[str] = EVENT_KINDS, *,
                 fields: Iterable[str] = FIELDS, **extra) -> dict:
    """events: section where every kind runs the recording hook."""
    return {kind: [dict({"name": f"record_{kind}", "cmd": record_cmd(out_file, fields)},
                        **extra)]
            for kind in kinds}


LISTENING_RE = re.compile(r"listening on (\[[0-9a-fA-F:.%\w]+\]|[^\s:\[\]]+):(\d+)")


class OutputCollector:
    """Reads a pipe line by line on a thread; lines can be awaited by regex."""

    def __init__(self, pipe, name: str):
        self.lines: list[str] = []
        self.closed = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, args=(pipe,), daemon=True,
                                        name=f"collect-{name}")
        self._thread.start()

    def _run(self, pipe):
        for raw in iter(pipe.readline, b""):
            with self._cond:
                self.lines.append(raw.decode("utf-8", errors="replace").rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self.closed = True
            self._cond.notify_all()

    def snapshot(self) -> list[str]:
        with self._cond:
            return list(self.lines)

    def text(self) -> str:
        return "\n".join(self.snapshot())

    def wait_for(self, pattern: str, timeout: float = DEFAULT_WAIT, count: int = 1,
                 flags: int = 0) -> list[re.Match]:
        """Waits until `count` lines match pattern (re.search); returns the matches."""
        regex = re.compile(pattern, flags)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                matches = [m for m in map(regex.search, self.lines) if m]
                if len(matches) >= count:
                    return matches
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    raise AssertionError(
                        f"no{'' if count == 1 else f' {count}'} line matching {pattern!r} "
                        f"within {timeout}s; output so far:\n" + "\n".join(self.lines[-60:]))
                self._cond.wait(min(left, 0.1))

    def matching(self, pattern: str, flags: int = 0) -> list[str]:
        regex = re.compile(pattern, flags)
        return [line for line in self.snapshot() if regex.search(line)]

    def join(self, timeout: float = 5.0):
        self._thread.join(timeout)


def close_pipes(proc: subprocess.Popen, *collectors: OutputCollector | None):
    for collector in collectors:
        if collector is not None:
            collector.join()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


class Proxy:
    """One vnc-hooks-manager process with its own temp dir and collected output."""

    def __init__(self, workdir: str):
        self.workdir = Path(workdir)
        self.proc: subprocess.Popen | None = None
        self.stdout: OutputCollector | None = None
        self.stderr: OutputCollector | None = None
        self.config_path: Path | None = None
        self.endpoints: list[tuple[str, int]] = []

    def write_config(self, text: str, name: str = "config.yaml") -> Path:
        path = self.workdir / name
        path.write_text(text)
        return path

    def start(self, config_text: str | None = None, args: list[str] | None = None,
              listeners: int | None = None, extra_env: dict | None = None) -> "Proxy":
        """Starts with a config (or raw args); waits for `listeners` ready lines."""
        cmd = [proxy_binary()]
        if config_text is not None:
            self.config_path = self.write_config(config_text)
            cmd += ["--config", str(self.config_path)]
            if listeners is None:
                listeners = config_text.count("\n  - listen:") + config_text.count(
                    "\n  - target:")
        cmd += args or []
        env = dict(os.environ)
        env.update(extra_env or {})
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=self.workdir, env=env)
        self.stdout = OutputCollector(self.proc.stdout, "stdout")
        self.stderr = OutputCollector(self.proc.stderr, "stderr")
        if listeners:
            self.wait_listening(listeners)
        return self

    def wait_listening(self, count: int, timeout: float = DEFAULT_WAIT):
        try:
            matches = self.stderr.wait_for(LISTENING_RE.pattern, timeout=timeout, count=count)
        except AssertionError as error:
            raise AssertionError(f"{error}\nproxy exit status: {self.proc.poll()}") from None
        self.endpoints = [(m.group(1).strip("[]"), int(m.group(2))) for m in matches]
        return self.endpoints

    def endpoint(self, index: int = 0) -> tuple[str, int]:
        return self.endpoints[index]

    def port(self, index: int = 0) -> int:
        return self.endpoints[index][1]

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> OutputCollector:
        return self.stderr

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float = DEFAULT_WAIT) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"proxy still running {timeout}s later") from None
        self.stdout.join()
        self.stderr.join()
        return code

    def stop(self):
        if self.proc is not None:
            kill_quietly(self.proc, grace=3)
            close_pipes(self.proc, self.stdout, self.stderr)


# --------------------------------------------------------------------------
# Hook records
# --------------------------------------------------------------------------

class Record:
    """One invocation of hooks/record_event.py."""

    def __init__(self, raw: dict):
        self.raw = raw
        self.argv: list[str] = raw["argv"]
        self.env: dict[str, str] = raw["env"]
        self.args: dict[str, str] = {}
        for arg in self.argv:
            key, sep, value = arg.partition("=")
            if sep:
                self.args[key] = value

    def __getitem__(self, field: str) -> str:
        return self.args[field]

    def get(self, field: str, default=None):
        return self.args.get(field, default)

    @property
    def event(self) -> str:
        return self.args.get("event") or self.env.get("VNC_EVENT", "")

    @property
    def session_id(self) -> str:
        return self.args.get("session_id") or self.env.get("VNC_SESSION_ID", "")

    def __repr__(self):
        return f"Record({self.args or self.argv}, env={self.env})"


def read_records(path) -> list[Record]:
    try:
        with open(path, encoding="ascii") as records:
            # A hook may be writing its line right now: parse complete lines only.
            return [Record(json.loads(line)) for line in records
                    if line.endswith("\n") and line.strip()]
    except FileNotFoundError:
        return []


def wait_records(path, predicate: Callable[[list[Record]], bool],
                 timeout: float = DEFAULT_WAIT, what: str = "hook records") -> list[Record]:
    last: list[Record] = []

    def check():
        nonlocal last
        last = read_records(path)
        return predicate(last)
    try:
        wait_until(check, timeout=timeout, what=what)
    except AssertionError as error:
        raise AssertionError(f"{error}; records so far: {last}") from None
    return last


def session_records(records: list[Record], session_id: str) -> list[Record]:
    return [r for r in records if r.session_id == session_id]


def wait_session_done(path, listen_port: int | None = None, count: int = 1,
                      timeout: float = DEFAULT_WAIT) -> dict[str, list[Record]]:
    """Waits until `count` sessions (optionally of one listener) recorded their
    disconnect; returns {session_id: that session's records in file order}."""
    def done(records):
        ids = [r.session_id for r in records if r.event == "disconnect"
               and (listen_port is None or r.get("listen", "").endswith(f":{listen_port}"))]
        return len(ids) >= count
    records = wait_records(path, done, timeout=timeout,
                           what=f"{count} disconnect record(s)")
    sessions: dict[str, list[Record]] = {}
    for record in records:
        if listen_port is not None and not record.get("listen", "").endswith(f":{listen_port}"):
            continue
        sessions.setdefault(record.session_id, []).append(record)
    return {sid: recs for sid, recs in sessions.items()
            if any(r.event == "disconnect" for r in recs)}


# --------------------------------------------------------------------------
# Viewer (Net::VNC)
# --------------------------------------------------------------------------

class ViewerResult:
    def __init__(self, returncode: int, stdout: str, stderr: str, elapsed: float):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.elapsed = elapsed
        self.values: dict[str, str] = {}
        for line in stdout.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                self.values[key] = value

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.values.get("result") == "ok"

    @property
    def name(self) -> str:
        return bytes.fromhex(self.values.get("name_hex", "")).decode("utf-8", "replace")

    def int(self, key: str) -> int:
        return int(self.values[key])

    def __repr__(self):
        return (f"ViewerResult(rc={self.returncode}, elapsed={self.elapsed:.2f}s, "
                f"stdout={self.stdout!r}, stderr={self.stderr!r})")


def viewer_command(port: int, host: str = "127.0.0.1", password: str | None = VNC_PASSWORD,
                   hold: float = 0, capture: bool = True, timeout: int = 20) -> list[str]:
    cmd = ["perl", str(VIEWER), "--host", host, "--port", str(port), "--timeout", str(timeout)]
    if password is not None:
        cmd += ["--password", password]
    if hold:
        cmd += ["--hold", str(hold)]
    if not capture:
        cmd.append("--no-capture")
    return cmd


def run_viewer(port: int, **kwargs) -> ViewerResult:
    """Runs Net::VNC to completion (bounded by its own alarm and a subprocess timeout)."""
    cmd = viewer_command(port, **kwargs)
    started = time.monotonic()
    done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=kwargs.get("timeout", 20) + 10)
    return ViewerResult(done.returncode, done.stdout.decode(errors="replace"),
                        done.stderr.decode(errors="replace"), time.monotonic() - started)


class BackgroundViewer:
    """A viewer running concurrently; its stdout lines can be awaited."""

    def __init__(self, port: int, **kwargs):
        self.started = time.monotonic()
        self.proc = subprocess.Popen(viewer_command(port, **kwargs), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.out = OutputCollector(self.proc.stdout, "viewer-out")
        self.err = OutputCollector(self.proc.stderr, "viewer-err")

    def wait_for(self, pattern: str, timeout: float = DEFAULT_WAIT):
        return self.out.wait_for(pattern, timeout=timeout)[0]

    def result(self, timeout: float = 30) -> ViewerResult:
        code = self.proc.wait(timeout=timeout)
        self.out.join()
        self.err.join()
        return ViewerResult(code, "\n".join(self.out.snapshot()), self.err.text(),
                            time.monotonic() - self.started)

    def stop(self):
        kill_quietly(self.proc, grace=2)
        close_pipes(self.proc, self.out, self.err)


# --------------------------------------------------------------------------
# Raw RFB helpers and fake peers (fault injection only)
# --------------------------------------------------------------------------

def recv_exact(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ConnectionError(f"peer closed after {len(data)} of {count} bytes")
        data += chunk
    return data


def recv_until_eof(sock: socket.socket, timeout: float = DEFAULT_WAIT) -> bytes:
    """Reads until EOF (or reset); raises socket.timeout if it does not come."""
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def server_init(width: int, height: int, name: bytes, name_length: int | None = None) -> bytes:
    pixel_format = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
    length = len(name) if name_length is None else name_length
    return struct.pack(">HH", width, height) + pixel_format + struct.pack(">I", length) + name


def connect_client(host: str, port: int, timeout: float = DEFAULT_WAIT,
                   source: str | None = None) -> socket.socket:
    """source: bind to this local address first (any of 127.0.0.0/8 works on
    Linux loopback, so one host can play several client addresses)."""
    sock = socket.create_connection((host, port), timeout=timeout,
                                    source_address=(source, 0) if source else None)
    sock.settimeout(timeout)
    return sock


def client_handshake_none(sock: socket.socket) -> tuple[int, int, bytes]:
    """RFB 3.8 client side with security None; returns ServerInit (w, h, name)."""
    version = recv_exact(sock, 12)
    if not version.startswith(b"RFB "):
        raise AssertionError(f"not an RFB greeting: {version!r}")
    sock.sendall(b"RFB 003.008\n")
    count = recv_exact(sock, 1)[0]
    types = recv_exact(sock, count)
    if 1 not in types:
        raise AssertionError(f"server does not offer None: {list(types)}")
    sock.sendall(b"\x01")
    result = struct.unpack(">I", recv_exact(sock, 4))[0]
    if result != 0:
        raise AssertionError(f"SecurityResult {result}")
    sock.sendall(b"\x01")  # ClientInit, shared
    width, height = struct.unpack(">HH", recv_exact(sock, 4))
    recv_exact(sock, 16)
    (length,) = struct.unpack(">I", recv_exact(sock, 4))
    return width, height, recv_exact(sock, length)


def serve_handshake_none(conn: socket.socket, width: int, height: int, name: bytes):
    """RFB 3.8 server side with security None, up to ServerInit (a FakeServer handler's start)."""
    conn.sendall(b"RFB 003.008\n")
    recv_exact(conn, 12)
    conn.sendall(b"\x01\x01")
    recv_exact(conn, 1)
    conn.sendall(struct.pack(">I", 0))
    recv_exact(conn, 1)
    conn.sendall(server_init(width, height, name))


class FakeServer:
    """A scripted RFB server on 127.0.0.1:0: handler(conn, index) per connection;
    the connection is closed when the handler returns."""

    def __init__(self, handler: Callable[[socket.socket, int], None], backlog: int = 16):
        self.handler = handler
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(backlog)
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.errors: list[BaseException] = []
        self.handled = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept_loop(self):
        index = 0
        while not self._stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            conn.settimeout(30)
            with self._lock:
                self.connections.append(conn)
            threading.Thread(target=self._serve, args=(conn, index), daemon=True).start()
            index += 1

    def _serve(self, conn: socket.socket, index: int):
        try:
            self.handler(conn, index)
        except (OSError, ConnectionError):
            pass  # the proxy closing on us is the point of most fault tests
        except BaseException as error:  # noqa: BLE001 - reported by the test
            self.errors.append(error)
        finally:
            conn.close()  # a handler that returns hangs up
            with self._lock:
                self.handled += 1

    def stop(self):
        self._stopping.set()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        with self._lock:
            for conn in self.connections:
                try:
                    conn.close()
                except OSError:
                    pass
        self._thread.join(5)


def wait_peer_closed(sock: socket.socket, timeout: float = DEFAULT_WAIT) -> bool:
    """True once the peer closed (EOF or reset); False if still open at timeout."""
    sock.settimeout(timeout)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


# --------------------------------------------------------------------------
# Policy helpers (issue 3): raw clients that read refusals, ctl, log files
# --------------------------------------------------------------------------

class RfbAttempt:
    """What a raw client saw: the greeting, then either a refusal (security
    types count 0 / 3.3 type 0, with its reason), or for VncAuth the
    SecurityResult (0 ok, else failed) and its 3.8 reason."""

    def __init__(self, greeting: bytes):
        self.greeting = greeting
        self.refused = False
        self.types: list[int] = []
        self.result: int | None = None
        self.reason = ""
        self.closed_after = False  # the peer closed right after (EOF/reset)
        self.client_port = 0

    def __repr__(self):
        return (f"RfbAttempt(greeting={self.greeting!r}, refused={self.refused}, "
                f"types={self.types}, result={self.result}, reason={self.reason!r}, "
                f"closed_after={self.closed_after}, client_port={self.client_port})")


def read_reason(sock: socket.socket, limit: int = 65536) -> str:
    (length,) = struct.unpack(">I", recv_exact(sock, 4))
    if length > limit:
        raise AssertionError(f"reason length {length} over {limit}")
    return recv_exact(sock, length).decode("utf-8", errors="replace")


def rfb_attempt(host: str, port: int, client_version: bytes = b"RFB 003.008\n",
                source: str | None = None, vnc_response: bytes | None = None,
                timeout: float = DEFAULT_WAIT) -> RfbAttempt:
    """A raw RFB client up to the security step. With vnc_response (16 bytes),
    picks VncAuth, answers the challenge with it and reads the SecurityResult
    (DES is not needed for a wrong password: any 16 bytes are wrong)."""
    with connect_client(host, port, timeout=timeout, source=source) as sock:
        attempt = RfbAttempt(recv_exact(sock, 12))
        attempt.client_port = sock.getsockname()[1]
        sock.sendall(client_version)
        if client_version == b"RFB 003.003\n":
            (kind,) = struct.unpack(">I", recv_exact(sock, 4))
            attempt.types = [kind]
            if kind == 0:
                attempt.refused = True
                attempt.reason = read_reason(sock)
        else:
            count = recv_exact(sock, 1)[0]
            if count == 0:
                attempt.refused = True
                attempt.reason = read_reason(sock)
            else:
                attempt.types = list(recv_exact(sock, count))
        if not attempt.refused and vnc_response is not None:
            if client_version != b"RFB 003.003\n":
                if 2 not in attempt.types:
                    raise AssertionError(f"VncAuth not offered: {attempt}")
                sock.sendall(b"\x02")
            recv_exact(sock, 16)  # challenge
            sock.sendall(vnc_response)
            (attempt.result,) = struct.unpack(">I", recv_exact(sock, 4))
            if attempt.result != 0 and client_version == b"RFB 003.008\n":
                attempt.reason = read_reason(sock)
        if attempt.refused or attempt.result:
            attempt.closed_after = wait_peer_closed(sock, timeout)
        return attempt


def failing_vnc_auth_server(reason: bytes = b"fake: wrong password"):
    """FakeServer handler: RFB 3.8, offers VncAuth only, fails every login with
    `reason`. Cheap stand-in for a real server when many failures are needed."""
    def handler(conn: socket.socket, _index: int):
        conn.sendall(b"RFB 003.008\n")
        recv_exact(conn, 12)
        conn.sendall(b"\x01\x02")
        if recv_exact(conn, 1) != b"\x02":
            return
        conn.sendall(os.urandom(16))
        recv_exact(conn, 16)
        conn.sendall(struct.pack(">II", 1, len(reason)) + reason)
    return handler  # returning closes the connection, as Xvnc does after a failure


def ctl_command(args: list[str], config=None, socket_path=None, as_nobody: bool = False
                ) -> list[str]:
    cmd = [proxy_binary(), "ctl"]
    if config is not None:
        cmd += ["--config", str(config)]
    if socket_path is not None:
        cmd += ["--socket", str(socket_path)]
    cmd += args
    if as_nobody:
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"] + cmd
    return cmd


def run_ctl(args: list[str], config=None, socket_path=None, as_nobody: bool = False,
            timeout: float = DEFAULT_WAIT) -> subprocess.CompletedProcess:
    """`vnc-hooks-manager ctl ...` to completion; text output."""
    return subprocess.run(ctl_command(args, config, socket_path, as_nobody),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=timeout)


def wait_listening_in_file(proxy: "Proxy", log_file, count: int = 1,
                           timeout: float = DEFAULT_WAIT) -> list[tuple[str, int]]:
    """For a proxy with global.log_file (nothing on stderr): waits for its
    listening lines in that file and records the endpoints."""
    path = Path(log_file)

    def listening():
        text = path.read_text(errors="replace") if path.exists() else ""
        found = LISTENING_RE.findall(text)
        return found if len(found) >= count or not proxy.alive() else None
    found = wait_until(listening, timeout=timeout, what=f"{count} listening line(s) in {path}")
    if len(found) < count:
        raise AssertionError(f"proxy exited ({proxy.proc.poll()}); stderr:\n"
                             + proxy.stderr.text())
    proxy.endpoints = [(host.strip("[]"), int(port)) for host, port in found[:count]]
    return proxy.endpoints


# --------------------------------------------------------------------------
# Test base class
# --------------------------------------------------------------------------

class IntegrationTest(unittest.TestCase):
    """Per-test temp dir and cleanup; subclasses start what they need."""

    maxDiff = None

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="vhm-it-")
        self.tmp = Path(self._tmp.name)
        self.addCleanup(self._tmp.cleanup)
        self.events_file = self.tmp / "events.jsonl"

    def start_proxy(self, config_text: str | None = None, **kwargs) -> Proxy:
        proxy = Proxy(str(self.tmp))
        self.addCleanup(self._dump_on_failure, proxy)
        self.addCleanup(proxy.stop)
        return proxy.start(config_text, **kwargs)

    def start_xvnc(self, **kwargs) -> Xvnc:
        xvnc = Xvnc(str(self.tmp), **kwargs)
        self.addCleanup(xvnc.stop)
        return xvnc.start()

    def fake_server(self, handler, **kwargs) -> FakeServer:
        server = FakeServer(handler, **kwargs)
        self.addCleanup(server.stop)
        return server

    def background_viewer(self, port: int, **kwargs) -> BackgroundViewer:
        viewer = BackgroundViewer(port, **kwargs)
        self.addCleanup(viewer.stop)
        return viewer

    def client(self, port: int, host: str = "127.0.0.1") -> socket.socket:
        sock = connect_client(host, port)
        self.addCleanup(sock.close)
        return sock

    def _dump_on_failure(self, proxy: Proxy):
        # Cleanups run inside their own outcome part, so ask the result object.
        result = getattr(getattr(self, "_outcome", None), "result", None)
        problems = getattr(result, "failures", []) + getattr(result, "errors", [])
        failed = any(test is self for test, _ in problems)
        if (failed or os.environ.get("VHM_IT_VERBOSE")) and proxy.stderr is not None:
            sys.stderr.write(f"\n----- proxy stderr ({self.id()}) -----\n"
                             + proxy.stderr.text() + "\n----- end proxy stderr -----\n")
            if proxy.stdout.snapshot():
                sys.stderr.write("----- proxy stdout -----\n" + proxy.stdout.text() + "\n")

    def config(self, listeners, events=None, global_=None) -> str:
        return make_config(listeners, events, global_)

    def stop_proxy_and_check_exit(self, proxy: Proxy, sig=signal.SIGTERM) -> None:
        """Graceful stop: exit status 0 within a bound; afterwards every hook has
        finished, so hook records are final."""
        proxy.send_signal(sig)
        code = proxy.wait_exit(timeout=10)
        self.assertEqual(code, 0, f"proxy exit status after {signal.Signals(sig).name}")

    # --- common assertions ---
    def assert_viewer_ok(self, result: ViewerResult):
        self.assertTrue(result.ok, f"viewer failed: {result}")

    def assert_healthy_login(self, port: int, xvnc: Xvnc, host: str = "127.0.0.1"):
        """A full Net::VNC login + capture through the proxy works."""
        result = run_viewer(port, host=host, password=xvnc.password)
        self.assert_viewer_ok(result)
        self.assertEqual(result.values.get("captured"), f"{xvnc.width}x{xvnc.height}")
        return result

    def assert_closed_logged(self, proxy: Proxy, session_id: str, reason: str,
                             detail_pattern: str = "") -> str:
        pattern = (rf"session {re.escape(session_id)}: closed \({re.escape(reason)}"
                   + (rf"[:)].*{detail_pattern}" if detail_pattern else r"[:)]"))
        return proxy.log().wait_for(pattern, flags=re.IGNORECASE)[0].string


class XvncTestCase(IntegrationTest):
    """Shares one Xvnc per test class (starting one takes ~0.2 s)."""

    xvnc_options: dict = {}
    xvnc: Xvnc

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        tmp = tempfile.TemporaryDirectory(prefix="vhm-it-xvnc-")
        cls.addClassCleanup(tmp.cleanup)
        cls.xvnc = Xvnc(tmp.name, **cls.xvnc_options)
        cls.addClassCleanup(cls.xvnc.stop)
        cls.xvnc.start()

    def setUp(self):
        super().setUp()
        if self.xvnc.proc is None or self.xvnc.proc.poll() is not None:
            self.fail(f"shared Xvnc {self.xvnc.display} is not running")


class PolicyTestCase(XvncTestCase):
    """Base for the issue 3 tests (blocking, limits, gates, control): a shared
    VncAuth Xvnc and a proxy whose hooks record all six events, with the two
    new fields, into self.events_file."""

    xvnc_options = {"security": "VncAuth", "desktop": "vhm-it policy desk"}

    def listener(self, **extra) -> dict:
        return dict({"listen": "127.0.0.1:0", "target": self.xvnc.target}, **extra)

    def recording_events(self, extra: dict | None = None) -> dict:
        """Recording hooks for every event kind, then `extra` hooks per kind."""
        events = record_hooks(self.events_file, POLICY_EVENT_KINDS, fields=POLICY_FIELDS)
        for kind, hooks in (extra or {}).items():
            events.setdefault(kind, [])
            events[kind] = list(hooks) + events[kind]
        return events

    def policy_config(self, listeners: list[dict] | None = None, events: dict | None = None,
                      blocking: dict | None = None, control: dict | None = None,
                      global_: dict | None = None) -> str:
        sections = {}
        if blocking is not None:
            sections["blocking"] = blocking
        if control is not None:
            sections["control"] = control
        return make_config(listeners or [self.listener()],
                           self.recording_events() if events is None else events,
                           global_, sections)

    def records_of(self, kind: str) -> list[Record]:
        return [r for r in read_records(self.events_file) if r.event == kind]

    def live_session(self, proxy, hold: float = 20):
        """A viewer that stays logged in; returns (viewer, session_id, local_port)."""
        viewer = self.background_viewer(proxy.port(), password=self.xvnc.password, hold=hold)
        local_port = viewer.wait_for(r"^local_port=(\d+)$").group(1)
        viewer.wait_for(r"^logged_in=1$")
        records = wait_records(self.events_file, lambda rs: any(
            r.event == "auth_success" and r.get("client_port") == local_port for r in rs),
            what="the session's auth_success record")
        (auth,) = [r for r in records if r.event == "auth_success" and r["client_port"] == local_port]
        return viewer, auth.session_id, local_port

    def wait_event_records(self, kind: str, count: int = 1,
                           timeout: float = DEFAULT_WAIT) -> list[Record]:
        wait_records(self.events_file,
                     lambda records: sum(r.event == kind for r in records) >= count,
                     timeout=timeout, what=f"{count} {kind} record(s)")
        return self.records_of(kind)

    def assert_viewer_refused(self, result: ViewerResult, text: str):
        """Net::VNC failed to log in and the reason it got is exactly `text`."""
        self.assertFalse(result.ok, f"viewer should have been refused: {result}")
        self.assertIn(f"(server reason: {text})", result.values.get("error", ""), str(result))
        self.assertEqual(bytes.fromhex(result.values.get("reason_hex", "")),
                         text.encode(), str(result))

    def assert_blocked_record(self, record: Record, reason: str, client_port: int,
                              proxy_port: int, client_ip: str = "127.0.0.1"):
        """A `blocked` event: fields of the refused connection, no session data."""
        self.assertEqual(record.event, "blocked")
        expected = {
            "client_ip": client_ip,
            "client_port": str(client_port),
            "listen": f"127.0.0.1:{proxy_port}",
            "target_host": "127.0.0.1",
            "target_port": str(self.xvnc.port),
            "display": self.xvnc.display,
            "reason": reason,
        }
        self.assertEqual({k: record.get(k) for k in expected}, expected, repr(record))
        self.assertRegex(record["session_id"], SESSION_ID_RE)
        self.assertRegex(record["timestamp"], TIMESTAMP_RE)
        for field in ["rfb_version", "security_type", "desktop_name", "width", "height",
                      "duration", "bytes_in", "bytes_out"]:
            self.assertEqual(record[field], "", f"blocked: {field} should be empty")
        if reason != "banned":
            self.assertEqual((record["failures"], record["ban_until"]), ("", ""),
                             f"blocked ({reason}): failures/ban_until should be empty")

    def assert_never_a_session(self, blocked: Iterable[Record]):
        """After a graceful stop: no connect/disconnect for refused connections,
        and their session ids are fresh (no other event uses them)."""
        records = read_records(self.events_file)
        for record in blocked:
            same_id = [r for r in records if r.session_id == record.session_id]
            self.assertEqual([r.event for r in same_id], ["blocked"],
                             f"session id {record.session_id} reused: {same_id}")
            same_port = [r for r in records if r.event in ("connect", "disconnect")
                         and r.get("client_port") == record["client_port"]
                         and r.get("client_ip") == record["client_ip"]]
            self.assertEqual(same_port, [], "a refused connection became a session")
