"""Browser access (issue 13) with real parts: Debian's chromium (headless)
runs noVNC from the proxy's `web:` and connects through the proxy to Xvnc
with a VNC password, over ws and over wss with a self-signed certificate;
the screenshot shows the desktop's colour and the hooks saw a browser
session. Tokens route to two Xvnc displays; raw RFB still works on the same
port; malformed HTTP and WebSocket input ends cleanly with the right status
or close code and the proxy stays up.

One chromium serves the whole file, driven over the DevTools protocol
(ws_client speaks it), so screenshots are taken once the session is up,
polled with a bound. Needs Debian's chromium, novnc, tigervnc-standalone-server,
x11-xserver-utils (xsetroot) and openssl.
"""
from __future__ import annotations

import base64
import json
import os
import socket
import struct
import subprocess
import tempfile
import time
import unittest
import zlib
from pathlib import Path

from vhm_harness import (DEFAULT_WAIT, IntegrationTest, Xvnc, kill_quietly, run_viewer,
                         wait_until)
from ws_client import OP_BINARY, WsClient, WsRefused, http_get, open_stream, ws_rfb_handshake

NOVNC = "/usr/share/novnc"
CHROMIUM = "chromium"
DESK_A, COLOUR_A = "vhm-it browser A", (0x33, 0x66, 0xCC)
DESK_B, COLOUR_B = "vhm-it browser B", (0xCC, 0x66, 0x33)
TOKEN_A, TOKEN_B = "tok1-7f3c9d2e5a", "tok2-81b04c66e3"
REQUEST_TIMEOUT = 2.0  # seconds: websocket.request_timeout in these configs
MAX_MESSAGE = 4096     # websocket.max_message (the loader's minimum)
EVENT_KINDS = ["connect", "auth_success", "auth_failure", "disconnect"]


# --------------------------------------------------------------------------
# PNG (chromium's screenshots: 8-bit RGB or RGBA, not interlaced)
# --------------------------------------------------------------------------

def png_pixels(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """(width, height, bytes per pixel, unfiltered rows)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise AssertionError("not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
    width, height, depth, colour_type, _, _, interlace = header
    if depth != 8 or colour_type not in (2, 6) or interlace:
        raise AssertionError(f"unsupported PNG: depth {depth} colour type {colour_type}")
    bpp = 3 if colour_type == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    rows, prior = [], bytes(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prior[i], prior[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        prior = bytes(line)
        rows.append(prior)
    return width, height, bpp, rows


def count_colour(png: bytes, colour: tuple[int, int, int]) -> int:
    _, _, bpp, rows = png_pixels(png)
    needle = bytes(colour) + (b"\xff" if bpp == 4 else b"")
    total = 0
    for row in rows:
        # Pixel-aligned matches only.
        start = row.find(needle)
        while start != -1:
            if start % bpp == 0:
                total += 1
                start = row.find(needle, start + bpp)
            else:
                start = row.find(needle, start + 1)
    return total


# --------------------------------------------------------------------------
# Chromium over the DevTools protocol
# --------------------------------------------------------------------------

class Chromium:
    """One headless chromium (root in a container: --no-sandbox), pages
    opened and screenshotted over its DevTools WebSocket."""

    def __init__(self, workdir: Path):
        self.profile = workdir / "chromium-profile"
        self.proc: subprocess.Popen | None = None
        self.cdp: WsClient | None = None
        self._id = 0

    def start(self) -> "Chromium":
        self.profile.mkdir()
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--disable-background-networking", "--mute-audio",
             "--ignore-certificate-errors",  # the wss test's self-signed certificate
             f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
             "--window-size=1024,768", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        port_file = self.profile / "DevToolsActivePort"

        def endpoint():
            if self.proc.poll() is not None:
                raise AssertionError(f"chromium exited with {self.proc.returncode}")
            lines = port_file.read_text().split() if port_file.exists() else []
            return lines if len(lines) >= 2 else None
        port, path = wait_until(endpoint, timeout=20, what="chromium's DevTools port")[:2]
        self.cdp = WsClient.connect("127.0.0.1", int(port), path, subprotocols=(), timeout=20)
        return self

    def call(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.cdp.send_text(json.dumps(message))
        while True:  # events of the pages come in between: skipped
            reply = json.loads(self.cdp.recv_message()[1])
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise AssertionError(f"DevTools {method}: {reply['error']}")
                return reply["result"]

    def open(self, url: str) -> tuple[str, str]:
        """A new tab on url; returns (target id, session id)."""
        target = self.call("Target.createTarget", {"url": url})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        return target, session

    def evaluate(self, session: str, expression: str):
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                           session)
        return result["result"].get("value")

    def screenshot_centre(self, session: str, size: int) -> bytes:
        """A PNG of the size x size square at the middle of the page (inside
        noVNC's 800x600 canvas; small, so decoding it is quick)."""
        width, height = self.evaluate(session, "[window.innerWidth, window.innerHeight]")
        clip = {"x": width // 2 - size // 2, "y": height // 2 - size // 2,
                "width": size, "height": size, "scale": 1}
        result = self.call("Page.captureScreenshot", {"format": "png", "clip": clip}, session)
        return base64.b64decode(result["data"])

    def close_tab(self, target: str):
        self.call("Target.closeTarget", {"targetId": target})

    def stop(self):
        if self.cdp is not None:
            self.cdp.close()
        kill_quietly(self.proc)


def self_signed_certificate(workdir: Path) -> tuple[Path, Path]:
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def read_events(path: Path) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as lines:
            return [json.loads(line) for line in lines if line.endswith("\n")]
    except FileNotFoundError:
        return []


class BrowserTestBase(IntegrationTest):
    """Two Xvnc displays with solid colours, a self-signed certificate and a
    token file, shared by the class; a proxy per test."""

    xvnc_a: Xvnc
    xvnc_b: Xvnc

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        tmp = tempfile.TemporaryDirectory(prefix="vhm-it-browser-")
        cls.addClassCleanup(tmp.cleanup)
        cls.shared = Path(tmp.name)
        cls.xvnc_a = Xvnc(str(cls.shared), desktop=DESK_A)
        cls.addClassCleanup(cls.xvnc_a.stop)
        cls.xvnc_a.start()
        cls.xvnc_b = Xvnc(str(cls.shared), desktop=DESK_B)
        cls.addClassCleanup(cls.xvnc_b.stop)
        cls.xvnc_b.start()
        for xvnc, colour in ((cls.xvnc_a, COLOUR_A), (cls.xvnc_b, COLOUR_B)):
            subprocess.run(["xsetroot", "-display", xvnc.display, "-solid",
                            "#%02x%02x%02x" % colour], check=True, timeout=10,
                           env=dict(os.environ, XAUTHORITY="/dev/null"))
        cls.cert, cls.key = self_signed_certificate(cls.shared)
        cls.token_file = cls.shared / "tokens.cfg"
        cls.token_file.write_text(f"# websockify's format\n{TOKEN_A}: {cls.xvnc_a.target}\n"
                                  f"{TOKEN_B}: {cls.xvnc_b.target}\n")

    def events(self) -> dict:
        return {kind: [{"name": f"log_{kind}", "action": "log", "path": str(self.events_file)}]
                for kind in EVENT_KINDS}

    def browser_listener(self, **extra) -> dict:
        """raw RFB, TLS, ws and wss on one port, noVNC's files, small limits."""
        return dict({"listen": "127.0.0.1:0", "target": self.xvnc_a.target,
                     "protocols": ["rfb", "tls", "ws", "wss"],
                     "frontend_tls": {"cert": str(self.cert), "key": str(self.key)},
                     "web": NOVNC,
                     "websocket": {"max_message": "4KiB",
                                   "request_timeout": f"{int(REQUEST_TIMEOUT * 1000)}ms"}},
                    **extra)

    def start_browser_proxy(self, listeners: list[dict] | None = None):
        return self.start_proxy(self.config(listeners or [self.browser_listener()], self.events()))

    def wait_events(self, predicate, what: str, timeout: float = DEFAULT_WAIT) -> list[dict]:
        last: list[dict] = []

        def check():
            nonlocal last
            last = read_events(self.events_file)
            return predicate(last)
        try:
            wait_until(check, timeout=timeout, what=what)
        except AssertionError as error:
            raise AssertionError(f"{error}; events so far: {last}") from None
        return last

    def session_events(self, client_port: int) -> list[dict]:
        return [e for e in read_events(self.events_file) if e.get("client_port") == str(client_port)]

    def wait_disconnect(self, client_port: int) -> dict:
        self.wait_events(lambda evs: any(e["event"] == "disconnect" and e.get("client_port") == str(client_port)
                                         for e in evs), f"the disconnect of client port {client_port}")
        return [e for e in self.session_events(client_port) if e["event"] == "disconnect"][0]

    def ws_login(self, port: int, path: str = "/websockify", tls=None) -> tuple[WsClient, str]:
        """A WebSocket session logged in with the VNC password; returns it and
        the desktop name."""
        client = WsClient.connect("127.0.0.1", port, path, tls=tls)
        self.addCleanup(client.close)
        init = ws_rfb_handshake(client, self.xvnc_a.password)
        return client, init.name.decode()

    def assert_still_serving(self, proxy, port: int):
        """The proxy is alive and a good WebSocket login works; once that
        session's disconnect is logged, it is the only session there was
        (the bad input before it never became one)."""
        self.assertTrue(proxy.alive(), "the proxy died")
        client, name = self.ws_login(port)
        self.assertEqual(name, DESK_A)
        client_port = client.local_port()
        client.close()
        self.wait_disconnect(client_port)
        sessions = {e["client_port"] for e in read_events(self.events_file) if e["event"] == "connect"}
        return sessions - {str(client_port)}


class NoVncInChromiumTest(BrowserTestBase):
    """The real browser: one chromium for both tests."""

    chromium: Chromium

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.chromium = Chromium(cls.shared)
        cls.addClassCleanup(cls.chromium.stop)
        cls.chromium.start()

    def novnc_session(self, scheme: str, transport: str):
        proxy = self.start_browser_proxy()
        port = proxy.port()
        query = (f"host=127.0.0.1&port={port}&path=websockify&password={self.xvnc_a.password}"
                 f"&autoconnect=true&resize=off&reconnect=false"
                 + ("&encrypt=1" if scheme == "https" else ""))
        target, page = self.chromium.open(f"{scheme}://127.0.0.1:{port}/vnc.html?{query}")
        closed = False
        try:
            events = self.wait_events(lambda evs: any(e["event"] == "auth_success" for e in evs),
                                      f"auth_success of the {transport} browser session", timeout=20)
            (auth,) = [e for e in events if e["event"] == "auth_success"]
            self.assertEqual((auth["client_ip"], auth["transport"], auth["security_type"]),
                             ("127.0.0.1", transport, "VncAuth"), auth)
            # noVNC names the tab after the desktop and draws the framebuffer once
            # it arrives: polled, then the middle of the page in Xvnc's colour.
            wait_until(lambda: DESK_A in (self.chromium.evaluate(page, "document.title") or ""),
                       timeout=15, what="noVNC's title with the desktop name", interval=0.1)
            square = 200
            wait_until(lambda: count_colour(self.chromium.screenshot_centre(page, square), COLOUR_A)
                       == square * square, timeout=15, interval=0.2,
                       what="the desktop's colour filling the screenshot's middle")
            self.chromium.close_tab(target)
            closed = True
            disconnect = self.wait_disconnect(int(auth["client_port"]))
        finally:
            if not closed:
                self.chromium.close_tab(target)
        (connect,) = [e for e in self.session_events(int(auth["client_port"])) if e["event"] == "connect"]
        self.assertEqual(connect["transport"], transport)
        self.assertEqual((disconnect["session_id"], disconnect["transport"], disconnect["desktop_name"]),
                         (auth["session_id"], transport, DESK_A))
        self.assertEqual([e["event"] for e in read_events(self.events_file)
                          if e["event"] == "auth_failure"], [])
        self.assertTrue(proxy.alive())

    def test_novnc_over_ws_shows_the_desktop_and_hooks_see_a_ws_session(self):
        self.novnc_session("http", "ws")

    def test_novnc_over_wss_with_a_self_signed_certificate(self):
        self.novnc_session("https", "wss")


class TokensAndTransportsTest(BrowserTestBase):

    def test_tokens_reach_their_display_and_an_unknown_token_gets_404_and_no_dial(self):
        proxy = self.start_browser_proxy([
            {"listen": "127.0.0.1:0", "protocols": ["ws"], "tokens": str(self.token_file)}])
        port = proxy.port()
        names = {}
        for token in (TOKEN_A, TOKEN_B):
            client = WsClient.connect("127.0.0.1", port, f"/websockify?token={token}")
            self.addCleanup(client.close)
            names[token] = ws_rfb_handshake(client, self.xvnc_a.password).name.decode()
            client.close()
        self.assertEqual(names, {TOKEN_A: DESK_A, TOKEN_B: DESK_B})

        marks = [len(x.accepted_ports()) for x in (self.xvnc_a, self.xvnc_b)]
        with self.assertRaises(WsRefused) as refused:
            WsClient.connect("127.0.0.1", port, "/websockify?token=tok3-unknown00")
        self.assertEqual(refused.exception.status, 404)
        self.assertEqual([x.accepted_since(m) for x, m in zip((self.xvnc_a, self.xvnc_b), marks)],
                         [[], []], "an unknown token reached a display")
        records = self.wait_events(lambda evs: sum(e["event"] == "auth_success" for e in evs) >= 2,
                                   "two auth_success events")
        for record in [e for e in records if e["event"] == "auth_success"]:
            self.assertEqual(record["transport"], "ws")
            self.assertTrue(record["token"], "{token} is empty for a token session")
            self.assertNotIn(record["token"], (TOKEN_A, TOKEN_B), "{token} is not redacted")
        for token in (TOKEN_A, TOKEN_B, "tok3-unknown00"):
            self.assertNotIn(token, proxy.log().text(), "a token reached the log in full")
        self.assertTrue(proxy.alive())

    def test_a_raw_rfb_viewer_on_the_same_port_still_works(self):
        proxy = self.start_browser_proxy()
        result = run_viewer(proxy.port(), password=self.xvnc_a.password)
        self.assertTrue(result.ok, result)
        self.assertEqual(result.name, DESK_A)
        port = int(result.values["local_port"])
        disconnect = self.wait_disconnect(port)
        auth = [e for e in self.session_events(port) if e["event"] == "auth_success"]
        self.assertEqual(len(auth), 1, self.session_events(port))
        self.assertEqual((auth[0]["transport"], disconnect["transport"]), ("tcp", "tcp"))

    def test_noVNC_files_are_served_and_path_traversal_never_leaves_web(self):
        proxy = self.start_browser_proxy()
        port = proxy.port()
        page = http_get("127.0.0.1", port, "/vnc.html")
        self.assertEqual(page.status, 200)
        self.assertTrue(page.headers.get("content-type", "").startswith("text/html"), page.headers)
        self.assertIn(b"noVNC", page.body)
        script = http_get("127.0.0.1", port, "/app/ui.js")
        self.assertEqual(script.status, 200)
        self.assertIn("javascript", script.headers.get("content-type", ""))
        for path in ("/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/app/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                     "/..%2f..%2f..%2fetc%2fpasswd", "/app/../../../etc/passwd"):
            answer = http_get("127.0.0.1", port, path)
            self.assertIn(answer.status, (400, 403, 404), f"{path}: {answer.status}")
            self.assertNotIn(b"root:", answer.body, path)
        self.assertEqual(self.assert_still_serving(proxy, port), set(), "a file request became a session")


class MalformedInputTest(BrowserTestBase):
    """Each bad input ends its connection cleanly; the proxy keeps serving."""

    def test_an_upgrade_without_a_key_gets_400(self):
        proxy = self.start_browser_proxy()
        with self.assertRaises(WsRefused) as refused:
            WsClient.connect("127.0.0.1", proxy.port(), omit=("Sec-WebSocket-Key",))
        self.assertEqual(refused.exception.status, 400)
        self.assertEqual(self.assert_still_serving(proxy, proxy.port()), set(), "a refused upgrade became a session")

    def test_9_kib_of_headers_get_431(self):
        proxy = self.start_browser_proxy()
        with self.assertRaises(WsRefused) as refused:
            WsClient.connect("127.0.0.1", proxy.port(), headers={"X-Filler": "a" * 9216})
        self.assertEqual(refused.exception.status, 431)
        self.assertEqual(self.assert_still_serving(proxy, proxy.port()), set(), "a refused upgrade became a session")

    def close_code_after(self, send, expected: int):
        """Logs in over ws, then `send(client)`: the proxy closes with
        `expected`; the client answers the close as a browser does; the TCP
        connection ends and the session's disconnect hook runs."""
        proxy = self.start_browser_proxy()
        client, _ = self.ws_login(proxy.port())
        send(client)
        self.assertEqual(client.wait_close(DEFAULT_WAIT), expected)
        try:
            client.send_close(expected)
        except OSError:
            pass  # the proxy may have closed the connection already
        self.assertTrue(client.wait_eof(DEFAULT_WAIT), "the connection stayed open after the close")
        disconnect = self.wait_disconnect(client.local_port())
        self.assertEqual(disconnect["transport"], "ws")
        self.assert_still_serving(proxy, proxy.port())

    def test_an_unmasked_client_frame_closes_with_1002(self):
        self.close_code_after(lambda c: c.send_binary(b"\x05\x00\x00\x10\x00\x10", mask=False), 1002)

    def test_a_text_frame_closes_with_1003(self):
        self.close_code_after(lambda c: c.send_text("hello"), 1003)

    def test_an_oversized_message_closes_with_1009(self):
        self.close_code_after(lambda c: c.send_binary(bytes(2 * MAX_MESSAGE)), 1009)

    def test_a_frame_claiming_a_huge_length_closes_with_1009(self):
        self.close_code_after(lambda c: c.send_frame(OP_BINARY, b"\x00" * 16, forged_length=1 << 40), 1009)

    def test_a_slowloris_client_is_closed_within_the_request_timeout(self):
        proxy = self.start_browser_proxy()
        sock = open_stream("127.0.0.1", proxy.port(), timeout=0.5)
        self.addCleanup(sock.close)
        started = time.monotonic()
        # The request line at once (so the port knows it is HTTP), then one
        # header byte every half second, never finishing the headers.
        sock.sendall(f"GET /websockify HTTP/1.1\r\nHost: 127.0.0.1:{proxy.port()}\r\n".encode())
        ended_at = None
        for byte in b"X-Slow: " + b"x" * 64:
            try:
                sock.sendall(bytes([byte]))
                if sock.recv(4096) == b"":
                    ended_at = time.monotonic()
                    break
            except socket.timeout:
                continue
            except OSError:  # reset, or a 408 answer read above then a reset
                ended_at = time.monotonic()
                break
            if time.monotonic() - started > REQUEST_TIMEOUT + 3:
                break
        self.assertIsNotNone(ended_at, "the slow request was still open well after request_timeout")
        self.assertLess(ended_at - started, REQUEST_TIMEOUT + 2.0)
        self.assertGreater(ended_at - started, REQUEST_TIMEOUT * 0.5, "closed before request_timeout")
        self.assertEqual(self.session_events(sock.getsockname()[1]), [], "a slow request became a session")
        self.assertEqual(self.assert_still_serving(proxy, proxy.port()), set(), "the slow request became a session")


if __name__ == "__main__":
    unittest.main()
