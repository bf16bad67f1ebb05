"""Machinery for the VeNCrypt termination tests (test_vencrypt.py): TigerVNC's
own viewer under a virtual X server, Xvnc with arbitrary security options, a
test CA and server certificate made with `openssl`, a throwaway system user
for Plain authentication, and raw VeNCrypt clients for fault injection.
Everything started here is stopped by pid; waits poll with a bound.
Python 3 standard library only.
"""
from __future__ import annotations

import json
import os
import random
import socket
import struct
import subprocess
from pathlib import Path

from vhm_harness import (DEFAULT_WAIT, VNC_PASSWORD, XVNC, OutputCollector, close_pipes, greets_with_rfb,
                         kill_quietly, make_config, port_is_free, recv_exact, wait_until)

VIEWER = "/usr/bin/xtigervncviewer"
XVFB = "/usr/bin/Xvfb"


def display_is_free(number: int) -> bool:
    return not (os.path.exists(f"/tmp/.X{number}-lock")
                or os.path.exists(f"/tmp/.X11-unix/X{number}"))


def password_file(directory: Path, password: str, name: str) -> Path:
    path = directory / name
    data = subprocess.run(["vncpasswd", "-f"], input=password.encode() + b"\n",
                          capture_output=True, check=True, timeout=10).stdout
    path.write_bytes(data)
    path.chmod(0o600)
    return path


class XvncServer:
    """Xvnc on a free display, listening on 127.0.0.1:5900+N, with exactly the
    security options given (no -SecurityTypes unless asked for)."""

    def __init__(self, workdir: Path, security_args: list[str]):
        self.workdir = workdir
        self.security_args = security_args
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log_path: Path | None = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "XvncServer":
        candidates = list(range(20, 100))
        random.shuffle(candidates)
        for number in candidates[:8]:
            port = 5900 + number
            if not display_is_free(number) or not port_is_free(port):
                continue
            self.log_path = self.workdir / f"xvnc-{number}.log"
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(
                    [XVNC, f":{number}", "-rfbport", str(port), "-interface", "127.0.0.1",
                     "-nolisten", "tcp", "-geometry", "640x480", "-depth", "24",
                     "-desktop", "vhm vencrypt", "-UseBlacklist=0", "-AlwaysShared"]
                    + self.security_args,
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True)
            self.port = port
            wait_until(lambda: self.proc.poll() is not None or self._greets(), timeout=15,
                       what=f"Xvnc :{number} to greet")
            if self.proc.poll() is None:
                return self
        raise RuntimeError("could not start Xvnc; last log:\n"
                           + (self.log_path.read_text(errors="replace") if self.log_path else ""))

    def _greets(self) -> bool:
        return greets_with_rfb(self.port)

    def stop(self):
        kill_quietly(self.proc)
        self.proc = None


class VirtualDisplay:
    """An Xvfb for the viewer's window."""

    def __init__(self):
        self.proc: subprocess.Popen | None = None
        self.display = ""

    def start(self) -> "VirtualDisplay":
        candidates = list(range(150, 250))
        random.shuffle(candidates)
        for number in candidates[:8]:
            if not display_is_free(number):
                continue
            self.proc = subprocess.Popen([XVFB, f":{number}", "-nolisten", "tcp", "-screen", "0",
                                          "1024x768x24"], stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True)
            socket_path = f"/tmp/.X11-unix/X{number}"
            wait_until(lambda: self.proc.poll() is not None or os.path.exists(socket_path),
                       timeout=15, what=f"Xvfb :{number}")
            if self.proc.poll() is None:
                self.display = f":{number}"
                return self
        raise RuntimeError("could not start Xvfb on a free display")

    def stop(self):
        kill_quietly(self.proc)
        self.proc = None


class TigerViewer:
    """TigerVNC's vncviewer with its log on stderr (level 100), exiting instead
    of showing a dialog when the connection fails."""

    def __init__(self, display: str, home: Path, port: int, args: list[str] | None = None,
                 env: dict | None = None):
        environment = dict(os.environ, DISPLAY=display, HOME=str(home))
        environment.update(env or {})
        cmd = [VIEWER, "-Log", "*:stderr:100", "-AlertOnFatalError=0", "-ReconnectOnError=0",
               *(args or []), f"127.0.0.1::{port}"]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=environment,
                                     start_new_session=True)
        self.log = OutputCollector(self.proc.stderr, "tigervnc-viewer")

    def wait_for(self, pattern: str, timeout: float = DEFAULT_WAIT):
        return self.log.wait_for(pattern, timeout=timeout)[0]

    def stop(self):
        kill_quietly(self.proc, grace=3)
        close_pipes(self.proc, self.log)


def openssl(*args: str, cwd: Path):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    """A self-signed CA (EC P-256); returns (certificate, key)."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN=vhm test {name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    return cert, key


def make_server_cert(directory: Path, ca: tuple[Path, Path], name: str = "server"
                     ) -> tuple[Path, Path]:
    """A server certificate for 127.0.0.1 and localhost signed by `ca`;
    returns (certificate, key): the pair Xvnc -X509Cert/-X509Key takes."""
    cert, key, csr = directory / f"{name}.pem", directory / f"{name}.key", directory / f"{name}.csr"
    extensions = directory / f"{name}.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n"
                          "keyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1", cwd=directory)
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
            "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(extensions),
            cwd=directory)
    return cert, key


class PlainUser:
    """A throwaway system account with a password, for Xvnc -PlainUsers with
    PAM (CI runs as root); removed again by stop()."""

    def __init__(self):
        self.name = f"vhmtls{random.randrange(10**6):06d}"
        self.password = f"Pl41n-{random.randrange(10**9)}"
        self.created = False

    def start(self) -> "PlainUser":
        subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", self.name],
                       check=True, capture_output=True, timeout=30)
        self.created = True
        subprocess.run(["chpasswd"], input=f"{self.name}:{self.password}\n", text=True,
                       check=True, capture_output=True, timeout=30)
        return self

    def stop(self):
        if self.created:
            subprocess.run(["userdel", self.name], capture_output=True, timeout=30)
            self.created = False


def vencrypt_config(target: str, events: dict, vencrypt: str | None = None,
                    tls: dict | None = None, **listener_keys) -> str:
    """make_config() with one listener on 127.0.0.1:0 and its `vencrypt:`/`tls:`
    keys (the tls map as a JSON flow mapping, which is valid YAML)."""
    listener = {"listen": "127.0.0.1:0", "target": target, **listener_keys}
    if vencrypt is not None:
        listener["vencrypt"] = vencrypt
    text = make_config([listener], events)
    if tls is not None:
        text = text.replace("\nevents:\n", f"\n    tls: {json.dumps(tls)}\nevents:\n", 1)
    return text


# --------------------------------------------------------------------------
# Raw VeNCrypt client (fault injection)
# --------------------------------------------------------------------------

def vencrypt_until_tls(sock: socket.socket, subtype: int) -> list[int]:
    """RFB 3.8 + VeNCrypt 0.2 up to the server's TLS ack, choosing `subtype`;
    returns the subtypes offered. Raises if the ack is not 1."""
    recv_exact(sock, 12)
    sock.sendall(b"RFB 003.008\n")
    count = recv_exact(sock, 1)[0]
    types = list(recv_exact(sock, count))
    if 19 not in types:
        raise AssertionError(f"VeNCrypt not offered: {types}")
    sock.sendall(b"\x13")
    if recv_exact(sock, 2) != b"\x00\x02":
        raise AssertionError("not VeNCrypt 0.2")
    sock.sendall(b"\x00\x02")
    if recv_exact(sock, 1) != b"\x00":
        raise AssertionError("VeNCrypt 0.2 refused")
    count = recv_exact(sock, 1)[0]
    subtypes = list(struct.unpack(f">{count}I", recv_exact(sock, 4 * count)))
    sock.sendall(struct.pack(">I", subtype))
    ack = recv_exact(sock, 1)
    if ack != b"\x01":
        raise AssertionError(f"TLS ack {ack!r}")
    return subtypes


__all__ = ["XvncServer", "VirtualDisplay", "TigerViewer", "PlainUser", "make_ca",
           "make_server_cert", "vencrypt_config", "vencrypt_until_tls", "password_file",
           "VNC_PASSWORD"]
