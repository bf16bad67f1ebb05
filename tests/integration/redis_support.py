"""A real redis-server for the fleet tests (docs/fleet.md): started on a free
loopback port in its own temp dir, with an optional password (requirepass),
ACL users and TLS (a test CA and server certificate made with `openssl`);
stopped, killed and restarted on the same port with the same data. RespClient
is a small RESP2 client (XRANGE, XLEN, anything) with AUTH and TLS.
Everything started here is stopped by pid; waits poll with a bound.
Python 3 standard library only.
"""
from __future__ import annotations

import signal
import socket
import ssl
import subprocess
from pathlib import Path

from vencrypt_support import make_ca, make_server_cert
from vhm_harness import DEFAULT_WAIT, closed_port, kill_quietly, wait_until

REDIS_SERVER = "/usr/bin/redis-server"


class RedisError(Exception):
    """An error reply (-ERR ..., -NOAUTH ..., -WRONGPASS ...)."""


class RespClient:
    """One blocking RESP2 connection. Replies: str (status and bulk, decoded
    as UTF-8 with replacement), int, list, None; error replies raise RedisError."""

    def __init__(self, port: int, host: str = "127.0.0.1", password: str | None = None,
                 user: str | None = None, tls_ca: Path | None = None, timeout: float = 5.0):
        raw = socket.create_connection((host, port), timeout=timeout)
        if tls_ca is not None:
            context = ssl.create_default_context(cafile=str(tls_ca))
            raw = context.wrap_socket(raw, server_hostname=host)
        self.sock = raw
        self.buffer = b""
        if password is not None:
            self.command("AUTH", *([user] if user else []), password)

    def close(self):
        self.sock.close()

    def __enter__(self) -> "RespClient":
        return self

    def __exit__(self, *exc):
        self.close()

    def command(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(parts))
        return self._reply()

    def _line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("redis closed the connection")
        self.buffer += chunk

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode(errors="replace")
        if kind == b"-":
            raise RedisError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            length = int(rest)
            if length < 0:
                return None
            while len(self.buffer) < length + 2:
                self._fill()
            data, self.buffer = self.buffer[:length], self.buffer[length + 2:]
            return data.decode(errors="replace")
        if kind == b"*":
            count = int(rest)
            return None if count < 0 else [self._reply() for _ in range(count)]
        raise ConnectionError(f"unexpected RESP line {line!r}")

    # Streams -----------------------------------------------------------------

    def xrange(self, stream: str, start: str = "-", end: str = "+") -> list[tuple[str, dict]]:
        """Every entry as (id, {field: value})."""
        entries = self.command("XRANGE", stream, start, end) or []
        return [(entry_id, dict(zip(fields[0::2], fields[1::2]))) for entry_id, fields in entries]

    def xlen(self, stream: str) -> int:
        return self.command("XLEN", stream)


class RedisServer:
    """redis-server on 127.0.0.1 in `workdir`. persistent=True keeps the data
    over kill() (appendonly, fsync always); password: requirepass; acl: extra
    ACL lines ("user NAME on >PW ~keys +cmds"); tls=True serves TLS only
    (tls-port) with a certificate of a test CA (ca_file)."""

    def __init__(self, workdir, password: str | None = None, acl: list[str] | None = None,
                 tls: bool = False, persistent: bool = True):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.password = password
        self.acl = acl or []
        self.tls = tls
        self.persistent = persistent
        self.port = closed_port()
        self.proc: subprocess.Popen | None = None
        self.log_path = self.dir / "redis.log"
        self.ca_file: Path | None = None
        self.cert: tuple[Path, Path] | None = None
        if tls:
            ca = make_ca(self.dir, "redis-ca")
            self.ca_file = ca[0]
            self.cert = make_server_cert(self.dir, ca, "redis-server")

    @property
    def url(self) -> str:
        return f"{'rediss' if self.tls else 'redis'}://127.0.0.1:{self.port}"

    def _config(self) -> str:
        lines = [f"dir {self.dir}", "bind 127.0.0.1", f"logfile {self.log_path}",
                 "save ''", "protected-mode no", "daemonize no"]
        if self.persistent:
            lines += ["appendonly yes", "appendfsync always"]
        else:
            lines += ["appendonly no"]
        if self.tls:
            lines += ["port 0", f"tls-port {self.port}", f"tls-cert-file {self.cert[0]}",
                      f"tls-key-file {self.cert[1]}", f"tls-ca-cert-file {self.ca_file}",
                      "tls-auth-clients no"]
        else:
            lines += [f"port {self.port}"]
        if self.password is not None:
            lines.append(f"requirepass {self.password}")
        lines += self.acl
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = DEFAULT_WAIT) -> "RedisServer":
        config = self.dir / "redis.conf"
        config.write_text(self._config())
        self.proc = subprocess.Popen([REDIS_SERVER, str(config)], cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._answers, timeout=timeout, what=f"redis-server on port {self.port}")
        return self

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"redis-server exited ({self.proc.returncode}): "
                                 f"{self.log_path.read_text(errors='replace')[-2000:]}")
        try:
            with self.client() as client:
                return client.command("PING") == "PONG"
        except (OSError, ConnectionError, RedisError):
            return False

    def client(self, password: str | None = None, user: str | None = None) -> RespClient:
        """A connection as the default user (with the server's password), or as `user`."""
        if user is None and password is None:
            password = self.password
        return RespClient(self.port, password=password, user=user,
                          tls_ca=self.ca_file if self.tls else None)

    def command(self, *args):
        with self.client() as client:
            return client.command(*args)

    def xrange(self, stream: str) -> list[tuple[str, dict]]:
        with self.client() as client:
            return client.xrange(stream)

    def xlen(self, stream: str) -> int:
        with self.client() as client:
            return client.xlen(stream)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM (redis-server saves what its config says), then wait."""
        kill_quietly(self.proc, grace=5)
        self.proc = None

    def kill(self):
        """SIGKILL: as a crash; a persistent server keeps every acknowledged write."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=5)
        self.proc = None

    def restart(self, timeout: float = DEFAULT_WAIT) -> "RedisServer":
        """Starts again on the same port with the same data directory."""
        if self.alive():
            self.stop()
        return self.start(timeout=timeout)
