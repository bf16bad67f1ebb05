"""A small RFC 6455 WebSocket client for the integration tests (stdlib only).

Speaks plain or TLS (an ssl.SSLContext), sends the upgrade with optional
subprotocols, Origin, Authorization and extra headers, and reports a refusal as
WsRefused (HTTP status, headers, body). Frames can be sent masked (the default),
unmasked or with a forged length, so tests can provoke the close codes; received
binary payloads can be read as a byte stream (recv_bytes) for RFB over
WebSocket, and rfb_handshake() logs into a VNC server through it.
"""
from __future__ import annotations

import base64
import hashlib
import os
import socket
import ssl
import struct
import subprocess
import time
from dataclasses import dataclass, field

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA

DEFAULT_TIMEOUT = 10.0


class WsRefused(Exception):
    """The server answered the upgrade with something other than 101."""

    def __init__(self, status: int, reason: str, headers: dict[str, str], body: bytes):
        super().__init__(f"HTTP {status} {reason}: {body[:200]!r}")
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body


class WsClosed(ConnectionError):
    """The peer sent a close frame (code, reason) or hung up (code None)."""

    def __init__(self, code: int | None, reason: str = ""):
        super().__init__(f"websocket closed: code={code} reason={reason!r}")
        self.code = code
        self.reason = reason


@dataclass
class Frame:
    opcode: int
    payload: bytes
    fin: bool = True
    masked: bool = False
    rsv: int = 0

    @property
    def close_code(self) -> int | None:
        if self.opcode != OP_CLOSE or len(self.payload) < 2:
            return None
        return struct.unpack(">H", self.payload[:2])[0]

    @property
    def close_reason(self) -> str:
        return self.payload[2:].decode("utf-8", "replace") if self.opcode == OP_CLOSE else ""


@dataclass
class HttpResponse:
    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def open_stream(host: str, port: int, tls: ssl.SSLContext | None = None,
                timeout: float = DEFAULT_TIMEOUT, source: str | None = None,
                server_hostname: str | None = None) -> socket.socket:
    """A TCP (or TLS over TCP) connection with a timeout on every operation."""
    sock = socket.create_connection((host, port), timeout=timeout,
                                    source_address=(source, 0) if source else None)
    sock.settimeout(timeout)
    if tls is not None:
        sock = tls.wrap_socket(sock, server_hostname=server_hostname or host)
    return sock


def insecure_tls_context() -> ssl.SSLContext:
    """TLS without certificate checks (the tests' self-signed certificates)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def read_http_head(sock: socket.socket, limit: int = 65536) -> tuple[bytes, bytes]:
    """Reads up to the blank line; returns (head, bytes already read past it)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"peer closed during the HTTP head: {data[:200]!r}")
        data += chunk
        if len(data) > limit:
            raise AssertionError("HTTP head over limit")
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def parse_http_head(head: bytes) -> HttpResponse:
    lines = head.decode("iso-8859-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise AssertionError(f"not an HTTP status line: {lines[0]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            key = name.strip().lower()
            value = value.strip()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return HttpResponse(int(parts[1]), parts[2] if len(parts) > 2 else "", headers)


def read_http_response(sock: socket.socket, rest: bytes = b"",
                       head_request: bool = False) -> HttpResponse:
    """One HTTP response; the body by Content-Length, else up to EOF."""
    if b"\r\n\r\n" in rest:
        head, _, rest = rest.partition(b"\r\n\r\n")
    else:
        head, more = read_http_head(sock)
        head, rest = rest + head, more
    response = parse_http_head(head)
    if head_request or response.status in (204, 304) or 100 <= response.status < 200:
        return response
    length = response.headers.get("content-length")
    body = rest
    try:
        if length is not None:
            while len(body) < int(length):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                body += chunk
        else:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                body += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    response.body = body
    return response


def http_exchange(host: str, port: int, request: bytes, tls: ssl.SSLContext | None = None,
                  timeout: float = DEFAULT_TIMEOUT) -> HttpResponse:
    """Sends raw request bytes (any malformed thing) and reads one response."""
    with open_stream(host, port, tls, timeout) as sock:
        sock.sendall(request)
        return read_http_response(sock, head_request=request.startswith(b"HEAD "))


def http_get(host: str, port: int, path: str, tls: ssl.SSLContext | None = None,
             headers: dict[str, str] | None = None, method: str = "GET",
             timeout: float = DEFAULT_TIMEOUT) -> HttpResponse:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return http_exchange(host, port, ("\r\n".join(lines) + "\r\n\r\n").encode(), tls, timeout)


class WsClient:
    """One WebSocket connection (client side)."""

    def __init__(self, sock: socket.socket, response: HttpResponse, leftover: bytes = b""):
        self.sock = sock
        self.response = response
        self.subprotocol = response.headers.get("sec-websocket-protocol")
        self._buf = leftover        # raw bytes read from the socket, not yet parsed
        self._stream = b""          # binary payload bytes not yet taken by recv_bytes
        self.close_frame: Frame | None = None  # the server's close frame, once seen
        self.pings: list[bytes] = []  # payloads of pings received (answered automatically)

    # --- connection ---
    @classmethod
    def connect(cls, host: str, port: int, path: str = "/websockify", *,
                tls: ssl.SSLContext | None = None, subprotocols=("binary",),
                origin: str | None = None, authorization: str | None = None,
                headers: dict[str, str] | None = None, host_header: str | None = None,
                timeout: float = DEFAULT_TIMEOUT, source: str | None = None,
                key: str | None = None, omit: tuple[str, ...] = ()) -> "WsClient":
        """Upgrades; raises WsRefused on any status but 101 (and AssertionError on a
        101 with a wrong Sec-WebSocket-Accept). `omit`: header names to leave out
        (e.g. "Sec-WebSocket-Key") for malformed-upgrade tests."""
        key = key or base64.b64encode(os.urandom(16)).decode()
        request = {
            "Host": host_header or f"{host}:{port}",
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Key": key,
            "Sec-WebSocket-Version": "13",
        }
        if subprotocols:
            request["Sec-WebSocket-Protocol"] = ", ".join(subprotocols)
        if origin is not None:
            request["Origin"] = origin
        if authorization is not None:
            request["Authorization"] = authorization
        request.update(headers or {})
        for name in omit:
            request.pop(name, None)
        text = f"GET {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in request.items())
        sock = open_stream(host, port, tls, timeout, source)
        try:
            sock.sendall((text + "\r\n").encode())
            head, rest = read_http_head(sock)
            response = parse_http_head(head)
            if response.status != 101:
                refused = read_http_response(sock, head + b"\r\n\r\n" + rest)
                raise WsRefused(refused.status, refused.reason, refused.headers, refused.body)
            if response.headers.get("sec-websocket-accept") != accept_key(key):
                raise AssertionError(f"bad Sec-WebSocket-Accept: {response.headers}")
        except BaseException:
            sock.close()
            raise
        return cls(sock, response, rest)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def local_port(self) -> int:
        return self.sock.getsockname()[1]

    def settimeout(self, timeout: float | None):
        self.sock.settimeout(timeout)

    # --- sending ---
    def send_frame(self, opcode: int, payload: bytes = b"", *, fin: bool = True,
                   mask: bool = True, rsv: int = 0, forged_length: int | None = None):
        """One frame. forged_length: the length field claims this instead of
        len(payload) (the payload sent is still `payload`)."""
        length = len(payload) if forged_length is None else forged_length
        head = bytes([(0x80 if fin else 0) | (rsv & 7) << 4 | opcode])
        mask_bit = 0x80 if mask else 0
        if length < 126:
            head += bytes([mask_bit | length])
        elif length < 1 << 16:
            head += bytes([mask_bit | 126]) + struct.pack(">H", length)
        else:
            head += bytes([mask_bit | 127]) + struct.pack(">Q", length)
        if mask:
            mask_key = os.urandom(4)
            head += mask_key
            payload = xor_mask(payload, mask_key)
        self.sock.sendall(head + payload)

    def send_binary(self, data: bytes, **kwargs):
        self.send_frame(OP_BINARY, data, **kwargs)

    def send_text(self, text: str | bytes, **kwargs):
        self.send_frame(OP_TEXT, text.encode() if isinstance(text, str) else text, **kwargs)

    def send_ping(self, data: bytes = b"", **kwargs):
        self.send_frame(OP_PING, data, **kwargs)

    def send_pong(self, data: bytes = b"", **kwargs):
        self.send_frame(OP_PONG, data, **kwargs)

    def send_close(self, code: int | None = 1000, reason: str = "", **kwargs):
        payload = b"" if code is None else struct.pack(">H", code) + reason.encode()
        self.send_frame(OP_CLOSE, payload, **kwargs)

    # --- receiving ---
    def _fill(self, count: int):
        while len(self._buf) < count:
            chunk = self.sock.recv(max(65536, count - len(self._buf)))
            if not chunk:
                raise WsClosed(None, "EOF")
            self._buf += chunk

    def _take(self, count: int) -> bytes:
        self._fill(count)
        data, self._buf = self._buf[:count], self._buf[count:]
        return data

    def recv_frame(self) -> Frame:
        """The next frame as sent (control frames included)."""
        first, second = self._take(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack(">H", self._take(2))
        elif length == 127:
            (length,) = struct.unpack(">Q", self._take(8))
        masked = bool(second & 0x80)
        mask_key = self._take(4) if masked else b""
        payload = self._take(length)
        if masked:
            payload = xor_mask(payload, mask_key)
        return Frame(first & 0x0F, payload, bool(first & 0x80), masked, (first >> 4) & 7)

    def recv_data_frame(self, answer_pings: bool = True) -> Frame:
        """The next data frame; pings are answered (and remembered), pongs skipped;
        a close frame raises WsClosed (and is kept in close_frame)."""
        while True:
            frame = self.recv_frame()
            if frame.opcode == OP_PING:
                self.pings.append(frame.payload)
                if answer_pings:
                    self.send_pong(frame.payload)
            elif frame.opcode == OP_PONG:
                continue
            elif frame.opcode == OP_CLOSE:
                self.close_frame = frame
                raise WsClosed(frame.close_code, frame.close_reason)
            else:
                return frame

    def recv_message(self) -> tuple[int, bytes]:
        """(opcode, payload) of the next complete message (fragments joined)."""
        frame = self.recv_data_frame()
        opcode, payload = frame.opcode, frame.payload
        while not frame.fin:
            frame = self.recv_data_frame()
            if frame.opcode != OP_CONT:
                raise AssertionError(f"expected a continuation frame, got {frame}")
            payload += frame.payload
        return opcode, payload

    def recv_bytes(self, count: int) -> bytes:
        """`count` bytes of the binary message stream (message boundaries ignored)."""
        while len(self._stream) < count:
            frame = self.recv_data_frame()
            if frame.opcode not in (OP_BINARY, OP_CONT):
                raise AssertionError(f"non-binary frame in the byte stream: {frame}")
            self._stream += frame.payload
        data, self._stream = self._stream[:count], self._stream[count:]
        return data

    def wait_close(self, timeout: float = DEFAULT_TIMEOUT) -> int | None:
        """Reads (dropping data) until the server's close frame; returns its code
        (None for a close frame without code). Raises WsClosed(None) on a bare EOF
        and socket.timeout if nothing ends the connection in time."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        while True:
            if time.monotonic() > deadline:
                raise socket.timeout("no close frame in time")
            try:
                frame = self.recv_frame()
            except ConnectionResetError:
                raise WsClosed(None, "reset") from None
            if frame.opcode == OP_CLOSE:
                self.close_frame = frame
                return frame.close_code

    def wait_eof(self, timeout: float = DEFAULT_TIMEOUT) -> bool:
        """True once the TCP (or TLS) connection ends after the close handshake."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, ssl.SSLError):
            return True
        except socket.timeout:
            return False


def xor_mask(data: bytes, key: bytes) -> bytes:
    if not data:
        return data
    repeated = (key * (len(data) // 4 + 1))[:len(data)]
    return (int.from_bytes(data, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(data), "big")


# --------------------------------------------------------------------------
# RFB over WebSocket
# --------------------------------------------------------------------------

def vnc_auth_response(password: str, challenge: bytes) -> bytes:
    """VNC authentication: DES-ECB of the challenge with the password's first 8
    bytes, each byte bit-reversed (openssl's legacy provider has single DES)."""
    key = (password.encode()[:8] + b"\0" * 8)[:8]
    key = bytes(int(f"{b:08b}"[::-1], 2) for b in key)
    done = subprocess.run(
        ["openssl", "enc", "-des-ecb", "-nopad", "-K", key.hex(),
         "-provider", "legacy", "-provider", "default"],
        input=challenge, capture_output=True, timeout=10)
    if done.returncode != 0 or len(done.stdout) != 16:
        raise RuntimeError(f"openssl des-ecb failed: {done.stderr!r}")
    return done.stdout


@dataclass
class RfbSession:
    version: bytes
    security_type: int
    width: int
    height: int
    pixel_format: bytes
    name: bytes


def rfb_handshake(recv_bytes, send, password: str | None = None,
                  shared: bool = True) -> RfbSession:
    """RFB 3.8 client handshake over any byte stream: recv_bytes(n) -> bytes and
    send(bytes). VncAuth (with password) or None. Raises AssertionError with
    the server's reason on a refusal or failed login."""
    version = recv_bytes(12)
    if not version.startswith(b"RFB "):
        raise AssertionError(f"not an RFB greeting: {version!r}")
    send(b"RFB 003.008\n")
    count = recv_bytes(1)[0]
    if count == 0:
        (length,) = struct.unpack(">I", recv_bytes(4))
        raise AssertionError(f"refused: {recv_bytes(length)!r}")
    types = list(recv_bytes(count))
    if password is not None and 2 in types:
        send(b"\x02")
        send(vnc_auth_response(password, recv_bytes(16)))
        chosen = 2
    elif 1 in types:
        send(b"\x01")
        chosen = 1
    else:
        raise AssertionError(f"no usable security type in {types}")
    (result,) = struct.unpack(">I", recv_bytes(4))
    if result != 0:
        (length,) = struct.unpack(">I", recv_bytes(4))
        raise AssertionError(f"SecurityResult {result}: {recv_bytes(length)!r}")
    send(b"\x01" if shared else b"\x00")
    width, height = struct.unpack(">HH", recv_bytes(4))
    pixel_format = recv_bytes(16)
    (length,) = struct.unpack(">I", recv_bytes(4))
    return RfbSession(version, chosen, width, height, pixel_format, recv_bytes(length))


def ws_rfb_handshake(client: WsClient, password: str | None = None) -> RfbSession:
    """rfb_handshake over a WebSocket: masked binary frames up, payloads down."""
    return rfb_handshake(client.recv_bytes, client.send_binary, password)


def request_full_update(send, width: int, height: int, incremental: bool = False):
    """FramebufferUpdateRequest for the whole screen."""
    send(struct.pack(">BBHHHH", 3, 1 if incremental else 0, 0, 0, width, height))
