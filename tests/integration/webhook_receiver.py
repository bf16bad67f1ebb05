"""A local HTTP and HTTPS receiver for the webhook tests and benchmark: every
request is recorded (method, target, headers, body, which connection it came
on); what it answers is scripted per request. HTTP/1.1 with keep-alive, one
thread per connection (ThreadingHTTPServer), loopback only. Certificates are
made with the `openssl` command in a scratch directory: a CA, a server
certificate for 127.0.0.1 and localhost, and one for another name.
Python 3 standard library only."""
from __future__ import annotations

import http.server
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


@dataclass
class Received:
    method: str
    target: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    connection: int  # the n-th connection the receiver accepted
    at: float = field(default_factory=time.monotonic)


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok\n"
    delay: float = 0.0  # seconds before answering
    close: bool = False  # Connection: close


class TestPki:
    """openssl CLI certificates in `directory`."""

    def __init__(self, directory: Path):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ca_key = self.dir / "ca.key"
        self.ca_cert = self.dir / "ca.pem"
        self._openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-keyout", self.ca_key, "-out", self.ca_cert, "-days", "2",
                      "-subj", "/CN=vhm webhook test CA")
        self.server_cert, self.server_key = self._leaf("server", "IP:127.0.0.1,DNS:localhost")
        self.other_cert, self.other_key = self._leaf("other", "DNS:other.example")

    def _openssl(self, *args):
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=30)

    def _leaf(self, name: str, san: str) -> tuple[Path, Path]:
        key, csr, cert = (self.dir / f"{name}.key", self.dir / f"{name}.csr", self.dir / f"{name}.pem")
        ext = self.dir / f"{name}.ext"
        ext.write_text(f"subjectAltName={san}\nbasicConstraints=CA:FALSE\n"
                       "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n")
        self._openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                      "-keyout", key, "-out", csr, "-subj", f"/CN={name}")
        self._openssl("x509", "-req", "-in", csr, "-CA", self.ca_cert, "-CAkey", self.ca_key,
                      "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", ext)
        return cert, key


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "_Server"

    def log_message(self, *args):  # quiet: the test reads self.server.receiver
        pass

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        receiver = self.server.receiver
        request = Received(self.command, self.path,
                           {k.lower(): v for k, v in self.headers.items()}, body,
                           self.connection_index)
        answer = receiver._record(request)
        if answer.delay:
            time.sleep(answer.delay)
        self.send_response(answer.status)
        self.send_header("Content-Length", str(len(answer.body)))
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        if answer.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(answer.body)
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, receiver: "Receiver", tls: ssl.SSLContext | None):
        self.receiver = receiver
        self.tls = tls
        super().__init__(("127.0.0.1", 0), _Handler)

    def finish_request(self, request, client_address):
        index = self.receiver._connected()
        if self.tls is not None:
            try:
                request.settimeout(10)
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as error:
                self.receiver._tls_failed(error)
                return
        try:
            handler = _Handler.__new__(_Handler)
            handler.connection_index = index
            handler.__init__(request, client_address, self)
        finally:
            if self.tls is not None:
                request.close()  # the TLS wrapper; socketserver closes only the plain socket

    def handle_error(self, request, client_address):
        pass  # a client that hangs up mid-reply (a proxy stopped by a test) is not news


class Receiver:
    """answer(index, request) -> Answer decides each reply (default: 200 "ok")."""

    def __init__(self, answer: Callable[[int, Received], Answer] | None = None,
                 pki: TestPki | None = None, cert: str = "server"):
        self.answer = answer or (lambda index, request: Answer())
        self.requests: list[Received] = []
        self.connections = 0
        self.tls_failures: list[str] = []
        self._lock = threading.Condition()
        context = None
        if pki is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            chain, key = ((pki.server_cert, pki.server_key) if cert == "server"
                          else (pki.other_cert, pki.other_key))
            context.load_cert_chain(chain, key)
        self.scheme = "https" if context else "http"
        self._server = _Server(self, context)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def origin(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def _connected(self) -> int:
        with self._lock:
            self.connections += 1
            return self.connections - 1

    def _tls_failed(self, error: Exception):
        with self._lock:
            self.tls_failures.append(str(error))
            self._lock.notify_all()

    def _record(self, request: Received) -> Answer:
        with self._lock:
            index = len(self.requests)
            self.requests.append(request)
            self._lock.notify_all()
        return self.answer(index, request)

    def received(self) -> list[Received]:
        with self._lock:
            return list(self.requests)

    def wait_requests(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.requests)} webhook request(s) within {timeout}s, "
                                         f"expected {count}: {self.requests}")
                self._lock.wait(left)
            return list(self.requests)

    def wait_tls_failure(self, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not self.tls_failures:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no failed TLS handshake within {timeout}s")
                self._lock.wait(left)
            return self.tls_failures[0]

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


def closed_local_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
