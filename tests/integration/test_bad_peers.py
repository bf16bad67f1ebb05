"""Fault injection: fake RFB peers that send garbage, lie about lengths, stall
or are unreachable, and a desktop name full of shell syntax. Each case must be
logged clearly, end with one disconnect carrying the right reason, and leave
the proxy alive and able to serve a healthy Net::VNC session to real Xvnc."""
import socket
import struct
import time
import unittest

from vhm_harness import (XvncTestCase, closed_port, record_hooks, recv_exact, server_init,
                         wait_peer_closed, wait_records, wait_session_done)

BAD, GOOD = 0, 1  # listener indexes: the faulty path and the healthy one to Xvnc


def drain_until_closed(conn: socket.socket, timeout: float = 30):
    """Fake-server tail: consume whatever comes until the proxy hangs up."""
    conn.settimeout(timeout)
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass


def none_handshake_server(name: bytes, name_length=None, then=drain_until_closed):
    """A fake RFB 3.8 server offering only None, sending `name` in ServerInit."""
    def handler(conn, _index):
        conn.sendall(b"RFB 003.008\n")
        recv_exact(conn, 12)
        conn.sendall(b"\x01\x01")
        recv_exact(conn, 1)
        conn.sendall(struct.pack(">I", 0))
        recv_exact(conn, 1)  # ClientInit
        conn.sendall(server_init(800, 600, name, name_length))
        then(conn)
    return handler


def none_handshake_client_until_init(sock: socket.socket):
    """Client side up to (and including) ClientInit."""
    assert recv_exact(sock, 12) == b"RFB 003.008\n"
    sock.sendall(b"RFB 003.008\n")
    count = recv_exact(sock, 1)[0]
    recv_exact(sock, count)
    sock.sendall(b"\x01")
    assert recv_exact(sock, 4) == b"\0\0\0\0"
    sock.sendall(b"\x01")


class BadPeers(XvncTestCase):
    xvnc_options = {"security": "VncAuth", "desktop": "vhm-it healthy desk"}

    def start_two_listeners(self, bad_target: str, handshake_timeout=None, events=None, connect_timeout=None):
        bad = {"listen": "127.0.0.1:0", "target": bad_target}
        if handshake_timeout is not None:
            bad["handshake_timeout"] = handshake_timeout
        if connect_timeout is not None:
            bad["connect_timeout"] = connect_timeout
        good = {"listen": "127.0.0.1:0", "target": self.xvnc.target}
        config = self.config([bad, good], events or record_hooks(self.events_file),
                             {"kill_grace": "500ms"})
        return self.start_proxy(config, listeners=2)

    def bad_session(self, proxy):
        """The single finished session of the bad listener: (session_id, records)."""
        sessions = wait_session_done(self.events_file, listen_port=proxy.port(BAD))
        self.assertEqual(len(sessions), 1, f"sessions on the bad listener: {sessions}")
        return next(iter(sessions.items()))

    def assert_bad_session_ended(self, proxy, reason, log_detail="", authenticated=False):
        """authenticated: the fault comes after a successful SecurityResult, so
        auth_success may (or may not yet) have fired; otherwise it must not."""
        session_id, records = self.bad_session(proxy)
        events = [r.event for r in records]
        self.assertEqual(events[0], "connect")
        self.assertEqual(events[-1], "disconnect")
        self.assertEqual(events.count("disconnect"), 1)
        if not authenticated:
            self.assertNotIn("auth_success", events)
        disconnect = [r for r in records if r.event == "disconnect"][0]
        self.assertEqual(disconnect["reason"], reason)
        self.assert_closed_logged(proxy, session_id, reason, log_detail)
        return session_id, records

    def assert_still_healthy(self, proxy):
        self.assert_healthy_login(proxy.port(GOOD), self.xvnc)
        self.assertTrue(proxy.alive(), "proxy died")

    # --- garbage -----------------------------------------------------------
    def test_garbage_version_from_server_is_protocol_error(self):
        def handler(conn, _index):
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            drain_until_closed(conn)
        server = self.fake_server(handler)
        proxy = self.start_two_listeners(server.target)
        client = self.client(proxy.port(BAD))
        # The proxy greets and dials only after a valid answer (scanner shield).
        self.assertEqual(recv_exact(client, 12), b"RFB 003.008\n")
        client.sendall(b"RFB 003.008\n")
        self.assertTrue(wait_peer_closed(client), "proxy kept the client connection open")
        self.assert_bad_session_ended(proxy, "protocol_error", "version")
        self.assert_still_healthy(proxy)

    def test_garbage_version_from_client_is_protocol_error(self):
        proxy = self.start_two_listeners(self.xvnc.target)
        client = self.client(proxy.port(BAD))
        self.assertEqual(recv_exact(client, 12), b"RFB 003.008\n")
        client.sendall(b"GET / HTTP/1.1\r\nHost: vnc\r\n\r\n")
        self.assertTrue(wait_peer_closed(client), "proxy kept the client connection open")
        self.assert_bad_session_ended(proxy, "protocol_error", "version")
        self.assert_still_healthy(proxy)

    # --- lengths -----------------------------------------------------------
    def test_oversized_desktop_name_length_from_server_is_protocol_error(self):
        server = self.fake_server(none_handshake_server(b"short", name_length=0xFFFFFFF0))
        proxy = self.start_two_listeners(server.target)
        client = self.client(proxy.port(BAD))
        none_handshake_client_until_init(client)
        self.assertTrue(wait_peer_closed(client), "proxy kept the client connection open")
        self.assert_bad_session_ended(proxy, "protocol_error", "name", authenticated=True)
        self.assert_still_healthy(proxy)

    def test_oversized_failure_reason_length_from_server_is_protocol_error(self):
        def handler(conn, _index):
            conn.sendall(b"RFB 003.008\n")
            recv_exact(conn, 12)
            conn.sendall(b"\x01\x02")  # VNC authentication only
            recv_exact(conn, 1)
            conn.sendall(bytes(range(16)))  # challenge
            recv_exact(conn, 16)
            conn.sendall(struct.pack(">II", 1, 0xFFFFFFFF) + b"Authentication failure")
            drain_until_closed(conn)
        server = self.fake_server(handler)
        proxy = self.start_two_listeners(server.target)
        client = self.client(proxy.port(BAD))
        self.assertEqual(recv_exact(client, 12), b"RFB 003.008\n")
        client.sendall(b"RFB 003.008\n")
        self.assertEqual(recv_exact(client, 2), b"\x01\x02")
        client.sendall(b"\x02")
        recv_exact(client, 16)
        client.sendall(b"\x55" * 16)
        self.assertTrue(wait_peer_closed(client), "proxy kept the client connection open")
        self.assert_bad_session_ended(proxy, "protocol_error", "reason")
        self.assert_still_healthy(proxy)

    # --- stalls --------------------------------------------------------------
    def test_client_stalling_mid_handshake_times_out(self):
        proxy = self.start_two_listeners(self.xvnc.target, handshake_timeout=1)
        client = self.client(proxy.port(BAD))
        connected = time.monotonic()
        self.assertEqual(recv_exact(client, 12), b"RFB 003.008\n")
        client.sendall(b"RFB 003.008\n")  # ...and then nothing more
        # While that session hangs, a healthy one is served at full speed.
        self.assert_healthy_login(proxy.port(GOOD), self.xvnc)
        self.assertTrue(wait_peer_closed(client, timeout=8), "stalled client never cut off")
        waited = time.monotonic() - connected
        self.assertGreaterEqual(waited, 0.9, "closed before handshake_timeout (1 s)")
        self.assert_bad_session_ended(proxy, "timeout")
        self.assert_still_healthy(proxy)

    def test_server_stalling_mid_handshake_times_out(self):
        def handler(conn, _index):
            conn.sendall(b"RFB 003.008\n")
            drain_until_closed(conn)  # never offers security types
        server = self.fake_server(handler)
        proxy = self.start_two_listeners(server.target, handshake_timeout=1)
        client = self.client(proxy.port(BAD))
        connected = time.monotonic()
        self.assertEqual(recv_exact(client, 12), b"RFB 003.008\n")
        client.sendall(b"RFB 003.008\n")
        self.assert_healthy_login(proxy.port(GOOD), self.xvnc)
        self.assertTrue(wait_peer_closed(client, timeout=8), "stalled session never cut off")
        self.assertGreaterEqual(time.monotonic() - connected, 0.9)
        self.assert_bad_session_ended(proxy, "timeout")
        self.assert_still_healthy(proxy)

    # --- unreachable -----------------------------------------------------------
    def test_refusing_target_is_target_unreachable(self):
        port = closed_port()
        proxy = self.start_two_listeners(f"127.0.0.1:{port}")
        client = self.client(proxy.port(BAD))
        self.assertEqual(recv_exact(client, 12), b"RFB 003.008\n")
        client.sendall(b"RFB 003.008\n")  # dialed only now (scanner shield)
        self.assertEqual(recv_exact(client, 1), b"\x00", "no RFB refusal for the viewer")
        self.assertTrue(wait_peer_closed(client), "proxy kept the client connection open")
        _, records = self.assert_bad_session_ended(proxy, "target_unreachable")
        self.assertEqual([r.event for r in records], ["connect", "disconnect"])
        self.assertEqual(records[0]["target_port"], str(port))
        self.assertEqual(records[0]["display"], "")  # not a 5900-5999 port
        self.assert_still_healthy(proxy)

    def test_silent_target_times_out_after_connect_timeout(self):
        # A target whose accept queue is full drops the proxy's SYN: the connect hangs.
        silent = socket.socket()
        self.addCleanup(silent.close)
        silent.bind(("127.0.0.1", 0))
        silent.listen(0)
        for _ in range(3):
            filler = socket.socket()
            self.addCleanup(filler.close)
            filler.setblocking(False)
            filler.connect_ex(silent.getsockname())
        time.sleep(0.2)
        port = silent.getsockname()[1]
        proxy = self.start_two_listeners(f"127.0.0.1:{port}", connect_timeout=1, handshake_timeout=30)
        client = self.client(proxy.port(BAD))
        self.assertEqual(recv_exact(client, 12), b"RFB 003.008\n")
        client.sendall(b"RFB 003.008\n")  # dialed only now (scanner shield)
        dialed = time.monotonic()
        # While that dial hangs, a healthy session is served.
        self.assert_healthy_login(proxy.port(GOOD), self.xvnc)
        self.assertEqual(recv_exact(client, 1), b"\x00", "no RFB refusal for the viewer")
        self.assertGreaterEqual(time.monotonic() - dialed, 0.9, "gave up before connect_timeout (1 s)")
        (length,) = struct.unpack(">I", recv_exact(client, 4))
        self.assertEqual(recv_exact(client, length), b"The VNC server cannot be reached.")
        self.assertTrue(wait_peer_closed(client), "proxy kept the client connection open")
        _, records = self.assert_bad_session_ended(proxy, "timeout", f"no connection to 127.0.0.1:{port} within 1s")
        self.assertEqual([r.event for r in records], ["connect", "disconnect"])
        self.assert_still_healthy(proxy)

    # --- hostile values ----------------------------------------------------------
    def test_desktop_name_with_shell_syntax_reaches_hook_as_one_literal_argument(self):
        marker = self.tmp / "pwned"
        nasty = (f"$(touch {marker}); `touch {marker}2` 'q' \"d\" \n\t|&; "
                 f"> {marker}3 \\ * ~ {{event}} \x01\x1b[31m\x7f end").encode()
        server = self.fake_server(none_handshake_server(nasty))
        events = {"disconnect": [{"name": "nasty", "cmd": f"record_event.py {self.events_file}"
                                  " {desktop_name} literal-tail"}]}
        proxy = self.start_two_listeners(server.target, events=events)
        client = self.client(proxy.port(BAD))
        none_handshake_client_until_init(client)
        width, height = struct.unpack(">HH", recv_exact(client, 4))
        recv_exact(client, 16)
        (length,) = struct.unpack(">I", recv_exact(client, 4))
        self.assertEqual(recv_exact(client, length), nasty, "proxy altered relayed bytes")
        client.close()
        (record,) = wait_records(self.events_file, lambda records: len(records) >= 1)
        self.assertEqual(record.raw["argv_hex"], [nasty.hex(), b"literal-tail".hex()],
                         f"hook argv: {record.argv!r}")
        self.assertEqual(record.raw["env_hex"].get("VNC_DESKTOP_NAME"), nasty.hex())
        for suffix in ("", "2", "3"):
            self.assertFalse((self.tmp / f"pwned{suffix}").exists(), "shell syntax was executed")
        self.assert_still_healthy(proxy)


if __name__ == "__main__":
    unittest.main()
