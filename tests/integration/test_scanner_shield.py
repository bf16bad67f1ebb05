"""Scanner shield (docs/scanner-shield.md): behind the proxy every viewer
reaches the server from the proxy's address, and TigerVNC's Xvnc on its default
blacklist settings locks that address out after a few connections that end
before authentication. The proxy greets viewers itself and dials only after a
valid ProtocolVersion, so scanners never reach the server; real logins, and
real authentication failures, still do. The versions a server speaks are
learned, and a server that disagrees with the greeting is handled in RFB's own
words."""
import os
import socket
import struct
import threading
import time
import unittest

from vhm_harness import (IntegrationTest, closed_port, connect_client, read_reason, record_hooks,
                         recv_exact, run_viewer, server_init, wait_peer_closed, wait_records,
                         wait_session_done)

HANDSHAKE_TIMEOUT = 2  # seconds; the silent scanners wait this long


def scanner_connect_and_close(port):
    with connect_client("127.0.0.1", port):
        pass


def scanner_http(port):
    with connect_client("127.0.0.1", port) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: vnc\r\nUser-Agent: scanner\r\n\r\n")
        wait_peer_closed(sock, timeout=10)


def scanner_silent(port):
    with connect_client("127.0.0.1", port) as sock:
        wait_peer_closed(sock, timeout=HANDSHAKE_TIMEOUT + 10)


def scanner_half_version(port):
    with connect_client("127.0.0.1", port) as sock:
        recv_exact(sock, 12)
        sock.sendall(b"RFB 003")


def scanner_random_bytes(port):
    with connect_client("127.0.0.1", port) as sock:
        sock.sendall(os.urandom(200))
        wait_peer_closed(sock, timeout=10)


SCANNERS = [scanner_connect_and_close, scanner_http, scanner_silent, scanner_half_version,
            scanner_random_bytes]


def run_scanners(port, count):
    """`count` scanner-like clients at once, cycling through SCANNERS."""
    errors = []

    def run(scanner):
        try:
            scanner(port)
        except OSError:
            pass  # a reset is what a scanner gets
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)
    threads = [threading.Thread(target=run, args=(SCANNERS[i % len(SCANNERS)],)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(HANDSHAKE_TIMEOUT + 20)
    return errors


def version_server(version: bytes, then):
    """FakeServer handler: sends `version`, reads the client's, then `then(conn, client_version)`."""
    def handler(conn, _index):
        conn.sendall(version)
        client_version = recv_exact(conn, 12)
        handler.client_versions.append(client_version)
        then(conn, client_version)
    handler.client_versions = []
    return handler


def none_33_then_init(conn, _client_version):
    """RFB 3.3 security None: the server sets type 1, no SecurityResult."""
    conn.sendall(struct.pack(">I", 1))
    recv_exact(conn, 1)  # ClientInit
    conn.sendall(server_init(640, 480, b"old server"))
    conn.settimeout(10)
    try:
        while conn.recv(4096):
            pass
    except OSError:
        pass


def serve_none_38(conn, width, height, name):
    """After the versions, as a 3.8 server: security None, SecurityResult, ServerInit."""
    conn.sendall(b"\x01\x01")
    recv_exact(conn, 1)
    conn.sendall(struct.pack(">I", 0))
    recv_exact(conn, 1)  # ClientInit
    conn.sendall(server_init(width, height, name))


def view_none_38(sock):
    """After the versions, as a 3.8 viewer: picks None; returns the ServerInit's size."""
    assert recv_exact(sock, 2) == b"\x01\x01"
    sock.sendall(b"\x01")
    assert recv_exact(sock, 4) == b"\0\0\0\0"
    sock.sendall(b"\x01")
    return struct.unpack(">HH", recv_exact(sock, 4))


class ScannerShield(IntegrationTest):
    def answer_greeting(self, sock, greeting: bytes, answer: bytes | None = None):
        """Expects the proxy's greeting and answers it (with the same version by default)."""
        self.assertEqual(recv_exact(sock, 12), greeting)
        sock.sendall(answer or greeting)

    def refusal_reason(self, sock) -> str:
        """A 3.7/3.8 refusal: no security types (count 0), then the reason."""
        self.assertEqual(recv_exact(sock, 1), b"\x00", "expected a refusal (count 0)")
        return read_reason(sock)

    def shielded_proxy(self, target, **listener):
        config = self.config([dict({"listen": "127.0.0.1:0", "target": target,
                                    "handshake_timeout": HANDSHAKE_TIMEOUT}, **listener)],
                             record_hooks(self.events_file))
        return self.start_proxy(config)

    def test_scanners_never_reach_xvnc_on_its_default_blacklist(self):
        xvnc = self.start_xvnc(blacklist=True, desktop="vhm-it shielded")
        proxy = self.shielded_proxy(xvnc.target)
        mark = len(xvnc.accepted_ports())
        self.assertEqual(run_scanners(proxy.port(), 20), [])
        sessions = wait_session_done(self.events_file, count=20, timeout=HANDSHAKE_TIMEOUT + 20)
        self.assertEqual(len(sessions), 20)
        for session_id, records in sessions.items():
            self.assertEqual([r.event for r in records], ["connect", "disconnect"], session_id)
            self.assertIn(records[-1]["reason"], ("client_closed", "protocol_error", "timeout"))
        reasons = sorted(records[-1]["reason"] for records in sessions.values())
        self.assertIn("timeout", reasons, "the silent scanners were not timed out")
        self.assertIn("protocol_error", reasons, "the HTTP / random-byte scanners were not refused")
        self.assertEqual(len(proxy.log().matching(r"not relayed to 127\.0\.0\.1:\d+: no valid RFB ProtocolVersion")),
                         20)
        # A real viewer with the right password, at once, is let in by Xvnc...
        result = run_viewer(proxy.port(), password=xvnc.password)
        self.assert_viewer_ok(result)
        self.assertEqual(result.name, "vhm-it shielded")
        # ...and Xvnc saw that one connection only, none of the scanners.
        self.assertEqual(len(xvnc.accepted_since(mark)), 1, xvnc.log_path.read_text(errors="replace"))

    def test_without_the_shield_scanners_lock_every_viewer_out(self):
        """The problem the shield solves, reproduced: the same kind of scanners
        passed straight through make Xvnc refuse the next real viewer."""
        xvnc = self.start_xvnc(blacklist=True)
        proxy = self.shielded_proxy(xvnc.target, scanner_shield=False)
        for _ in range(6):
            try:
                scanner_http(proxy.port())
            except OSError:
                pass
        wait_session_done(self.events_file, count=6)
        result = run_viewer(proxy.port(), password=xvnc.password)
        self.assertFalse(result.ok, f"Xvnc let the viewer in: {result}")
        self.assertIn("Too many security failures", result.stdout + result.stderr)

    def test_wrong_password_still_reaches_the_server(self):
        xvnc = self.start_xvnc()
        proxy = self.shielded_proxy(xvnc.target)
        mark = len(xvnc.accepted_ports())
        result = run_viewer(proxy.port(), password="not-the-password")
        self.assertFalse(result.ok)
        records = wait_records(self.events_file, lambda rs: any(r.event == "disconnect" for r in rs))
        failure = [r for r in records if r.event == "auth_failure"]
        self.assertEqual(len(failure), 1, records)
        self.assertIn("Authentication failure", failure[0]["reason"])
        self.assertEqual(len(xvnc.accepted_since(mark)), 1)

    def test_an_older_server_is_learned_and_the_viewer_told_to_reconnect(self):
        handler = version_server(b"RFB 003.003\n", none_33_then_init)
        server = self.fake_server(handler)
        proxy = self.shielded_proxy(server.target)
        # First viewer: greeted with 3.8 (nothing learned yet), answers 3.8.
        with connect_client("127.0.0.1", proxy.port()) as sock:
            self.assertEqual(recv_exact(sock, 12), b"RFB 003.008\n")
            sock.sendall(b"RFB 003.008\n")
            self.assertEqual(recv_exact(sock, 1), b"\x00", "expected a 3.8 refusal (count 0)")
            self.assertIn("connect again", read_reason(sock))
            self.assertTrue(wait_peer_closed(sock))
        proxy.log().wait_for(r"speaks \"RFB 003\.003\": viewers are greeted with it from now on")
        self.assertEqual(handler.client_versions, [b"RFB 003.003\n"], "the server was asked in its own version")
        # Second viewer: greeted with the learned 3.3, the handshake goes through untouched.
        with connect_client("127.0.0.1", proxy.port()) as sock:
            self.assertEqual(recv_exact(sock, 12), b"RFB 003.003\n")
            sock.sendall(b"RFB 003.003\n")
            self.assertEqual(struct.unpack(">I", recv_exact(sock, 4))[0], 1)
            sock.sendall(b"\x01")
            width, height = struct.unpack(">HH", recv_exact(sock, 4))
            self.assertEqual((width, height), (640, 480))
        sessions = wait_session_done(self.events_file, count=2)
        reasons = sorted(records[-1]["reason"] for records in sessions.values())
        self.assertEqual(reasons, ["client_closed", "protocol_error"])
        self.assertEqual(handler.client_versions[1], b"RFB 003.003\n")

    def test_server_version_setting_is_the_first_greeting(self):
        handler = version_server(b"RFB 003.003\n", none_33_then_init)
        server = self.fake_server(handler)
        proxy = self.shielded_proxy(server.target, server_version="3.3")
        with connect_client("127.0.0.1", proxy.port()) as sock:
            self.assertEqual(recv_exact(sock, 12), b"RFB 003.003\n")
            sock.sendall(b"RFB 003.003\n")
            self.assertEqual(struct.unpack(">I", recv_exact(sock, 4))[0], 1)
        self.assertEqual(handler.client_versions, [b"RFB 003.003\n"])

    def test_a_newer_server_takes_the_viewers_answer(self):
        """Greeted 3.8 (learned nothing), the server says 5.0 (RealVNC): the
        viewer's 3.8 suits it and is passed on, the session goes on."""
        def then(conn, _client_version):
            serve_none_38(conn, 320, 200, b"new server")
            time.sleep(0.5)
        handler = version_server(b"RFB 005.000\n", then)
        server = self.fake_server(handler)
        proxy = self.shielded_proxy(server.target)
        with connect_client("127.0.0.1", proxy.port()) as sock:
            self.assertEqual(recv_exact(sock, 12), b"RFB 003.008\n")
            sock.sendall(b"RFB 003.008\n")
            self.assertEqual(view_none_38(sock), (320, 200))
        self.assertEqual(handler.client_versions, [b"RFB 003.008\n"])
        # Learned: the next viewer is greeted exactly as RealVNC would greet it.
        with connect_client("127.0.0.1", proxy.port()) as sock:
            self.assertEqual(recv_exact(sock, 12), b"RFB 005.000\n")

    def test_a_learned_server_has_the_viewers_answer_before_it_speaks(self):
        """Once a target's version is learned, the viewer's answer goes out
        right after the dial: the server finds it waiting when it has written
        its own version (one wait less in every handshake). The first viewer,
        with nothing learned, is answered only after the server spoke."""
        waiting, answers = [], []

        def handler(conn, _index):
            time.sleep(0.3)  # the proxy has dialed and done what it does before reading
            conn.setblocking(False)
            try:
                waiting.append(conn.recv(12, socket.MSG_PEEK))
            except BlockingIOError:
                waiting.append(b"")
            conn.setblocking(True)
            conn.sendall(b"RFB 003.008\n")
            answers.append(recv_exact(conn, 12))
            serve_none_38(conn, 320, 200, b"learned")
            time.sleep(0.3)
        server = self.fake_server(handler)
        proxy = self.shielded_proxy(server.target)
        for _ in range(2):
            with connect_client("127.0.0.1", proxy.port()) as sock:
                self.answer_greeting(sock, b"RFB 003.008\n")
                self.assertEqual(view_none_38(sock), (320, 200))
        self.assertEqual(waiting, [b"", b"RFB 003.008\n"])
        self.assertEqual(answers, [b"RFB 003.008\n"] * 2)
        sessions = wait_session_done(self.events_file, count=2)
        self.assertEqual([records[-1]["reason"] for records in sessions.values()], ["client_closed"] * 2)

    def test_a_learned_server_that_starts_refusing_is_passed_on_and_forgotten(self):
        """A target learned as 3.7 gets the viewer's answer early; when it
        then refuses in 3.3 and hangs up (a blacklisting Xvnc), the refusal
        still reaches the viewer in its version, and the target is forgotten:
        the next viewer is greeted in the default 3.8 again."""
        reason = b"Too many security failures"

        def handler(conn, index):
            if index == 1:
                conn.sendall(b"RFB 003.003\n" + struct.pack(">II", 0, len(reason)) + reason)
                return
            conn.sendall(b"RFB 003.007\n")
            recv_exact(conn, 12)
            conn.sendall(b"\x01\x01")
            time.sleep(0.5)
        server = self.fake_server(handler)
        proxy = self.shielded_proxy(server.target)
        # Learned from the first viewer, which is told to connect again.
        with connect_client("127.0.0.1", proxy.port()) as sock:
            self.answer_greeting(sock, b"RFB 003.008\n")
            self.assertIn("connect again", self.refusal_reason(sock))
        proxy.log().wait_for(r"speaks \"RFB 003\.007\": viewers are greeted with it from now on")
        with connect_client("127.0.0.1", proxy.port()) as sock:
            self.answer_greeting(sock, b"RFB 003.007\n")
            self.assertEqual(self.refusal_reason(sock), reason.decode())
            self.assertTrue(wait_peer_closed(sock))
        with connect_client("127.0.0.1", proxy.port()) as sock:
            self.assertEqual(recv_exact(sock, 12), b"RFB 003.008\n")
        sessions = wait_session_done(self.events_file, count=3)
        reasons = sorted(records[-1]["reason"] for records in sessions.values())
        self.assertEqual(reasons, ["client_closed", "protocol_error", "server_closed"])

    def test_a_blacklisting_servers_refusal_reaches_the_viewer_and_teaches_nothing(self):
        """A blacklisting Xvnc greets with 3.3 and refuses at once, whatever it
        normally speaks: the viewer gets the reason in its own version, and the
        next greeting is still 3.8."""
        reason = b"Too many security failures"

        def handler(conn, _index):
            conn.sendall(b"RFB 003.003\n" + struct.pack(">II", 0, len(reason)) + reason)
            time.sleep(0.5)
        server = self.fake_server(handler)
        proxy = self.shielded_proxy(server.target)
        for _ in range(2):
            with connect_client("127.0.0.1", proxy.port()) as sock:
                self.answer_greeting(sock, b"RFB 003.008\n")
                self.assertEqual(self.refusal_reason(sock), reason.decode())
                self.assertTrue(wait_peer_closed(sock))
        sessions = wait_session_done(self.events_file, count=2)
        self.assertEqual([records[-1]["reason"] for records in sessions.values()], ["server_closed"] * 2)

    def test_a_real_blacklisting_xvnc_refusal_reaches_the_viewer(self):
        """Xvnc blacklisted by clients that bypassed the proxy: its unasked
        3.3 refusal reaches a 3.8 viewer in the viewer's own version."""
        xvnc = self.start_xvnc(blacklist=True)
        for _ in range(6):
            try:
                scanner_http(xvnc.port)
            except OSError:
                pass
        proxy = self.shielded_proxy(xvnc.target)
        with connect_client("127.0.0.1", proxy.port()) as sock:
            self.assertEqual(recv_exact(sock, 12), b"RFB 003.008\n")
            sock.sendall(b"RFB 003.008\n")
            self.assertEqual(recv_exact(sock, 1), b"\x00", "expected a 3.8 refusal (count 0)")
            self.assertEqual(read_reason(sock), "Too many security failures")
        (records,) = wait_session_done(self.events_file).values()
        self.assertEqual(records[-1]["reason"], "server_closed")

    def test_unreachable_server_is_told_to_the_viewer(self):
        proxy = self.shielded_proxy(f"127.0.0.1:{closed_port()}")
        with connect_client("127.0.0.1", proxy.port()) as sock:
            self.assertEqual(recv_exact(sock, 12), b"RFB 003.008\n")
            sock.sendall(b"RFB 003.007\n")
            self.assertEqual(recv_exact(sock, 1), b"\x00", "expected a 3.7 refusal (count 0)")
            self.assertIn("cannot be reached", read_reason(sock))
        sessions = wait_session_done(self.events_file)
        (records,) = sessions.values()
        self.assertEqual(records[-1]["reason"], "target_unreachable")


if __name__ == "__main__":
    unittest.main()
