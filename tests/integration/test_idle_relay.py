"""An idle session's relay parks after the handshake (no coroutine holds it:
proxy/relay/idle_relay.cpp) and wakes when bytes arrive. These sessions
pause after their handshake, so every byte here goes through the parked
relay: exact both ways under backpressure, many park/wake cycles, half-close
from either side, and a shutdown that closes idle sessions still fires each
one's disconnect."""
import hashlib
import os
import resource
import signal
import socket
import threading
import time
import unittest

from vhm_harness import (IntegrationTest, client_handshake_none, record_hooks, recv_exact, recv_until_eof,
                         serve_handshake_none, wait_session_done, wait_until)

DESKTOP = b"vhm-it idle desk"
HANDSHAKE_IN = 12 + 1 + 1  # version, security choice, ClientInit
HANDSHAKE_OUT = 12 + 2 + 4 + 24 + len(DESKTOP)
PAUSE = 0.5  # long enough for both directions to park


def serve_none_handshake(conn):
    serve_handshake_none(conn, 320, 240, DESKTOP)


def pattern(size: int, seed: int) -> bytes:
    return hashlib.shake_256(seed.to_bytes(4, "big")).digest(size)


def exchange(upload: bytes, download: bytes, received: dict, go: threading.Event):
    """A server that, once `go` is set (the session has parked by then),
    sends `download` while it reads `upload` (both directions at once), then
    reads until the viewer's EOF: what it read goes into received["upload"]
    and received["after"]."""
    def handler(conn, _index):
        serve_none_handshake(conn)
        go.wait(30)
        conn.settimeout(30)
        sender = threading.Thread(target=conn.sendall, args=(download,))
        sender.start()
        received["upload"] = recv_exact(conn, len(upload))
        sender.join()
        received["after"] = recv_until_eof(conn, timeout=30)
        conn.close()
    return handler


class IdleRelay(IntegrationTest):
    def start(self, handler, sessions: int = 1, global_=None):
        server = self.fake_server(handler)
        listener = {"listen": "127.0.0.1:0", "target": server.target}
        proxy = self.start_proxy(self.config([listener], record_hooks(self.events_file), global_=global_))
        clients = []
        for _ in range(sessions):
            client = self.client(proxy.port())
            self.assertEqual(client_handshake_none(client), (320, 240, DESKTOP))
            clients.append(client)
        time.sleep(PAUSE)
        return proxy, clients

    def disconnects(self, count: int = 1):
        sessions = wait_session_done(self.events_file, count=count)
        for records in sessions.values():
            self.assertEqual([r.event for r in records], ["connect", "auth_success", "disconnect"])
        return [records[-1] for records in sessions.values()]

    def test_bytes_after_a_pause_go_both_ways_exactly_under_backpressure(self):
        upload, download = pattern(3 << 20, 1), pattern(24 << 20, 2)
        received, go = {}, threading.Event()
        proxy, (client,) = self.start(exchange(upload, download, received, go))
        go.set()
        client.settimeout(30)
        threading.Thread(target=client.sendall, args=(upload,), daemon=True).start()
        got = bytearray()
        while len(got) < len(download):  # a slow reader: the proxy's writes hit a full socket
            chunk = client.recv(256 * 1024)
            self.assertTrue(chunk, "the proxy closed before the download was complete")
            got += chunk
            if len(got) < (4 << 20):
                time.sleep(0.005)
        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(download).hexdigest())
        client.shutdown(socket.SHUT_WR)
        self.assertEqual(recv_until_eof(client, timeout=30), b"")
        self.assertEqual(hashlib.sha256(received["upload"]).hexdigest(), hashlib.sha256(upload).hexdigest())
        self.assertEqual(received["after"], b"")
        (disconnect,) = self.disconnects()
        self.assertEqual(disconnect["reason"], "client_closed")
        self.assertEqual(disconnect["bytes_in"], str(HANDSHAKE_IN + len(upload)))
        self.assertEqual(disconnect["bytes_out"], str(HANDSHAKE_OUT + len(download)))
        self.assert_closed_logged(proxy, disconnect.session_id, "client_closed")

    def test_without_a_pipe_the_idle_relay_copies_exactly_and_says_why(self):
        upload, download = pattern(1 << 20, 3), pattern(8 << 20, 4)
        received, go = {}, threading.Event()
        proxy, (client,) = self.start(exchange(upload, download, received, go))
        # A viewer that leaves at once: the proxy meets an EOF before the
        # limit below. UBSan (in the sanitized test build) checks an object's
        # type the first time it sees it through a pipe of its own, which the
        # limit takes away; seen once, the type is known without one.
        early = self.client(proxy.port())
        self.assertEqual(recv_exact(early, 12)[:4], b"RFB ")
        early.close()
        # Its hooks (which need pipes too) are done and their descriptors closed.
        wait_session_done(self.events_file, count=1)
        proxy.log().wait_for(r"hook record_disconnect \[session \w+\] exited")
        pid = proxy.proc.pid

        def settled_fds():
            before = set(os.listdir(f"/proc/{pid}/fd"))
            time.sleep(0.2)
            return before if before == set(os.listdir(f"/proc/{pid}/fd")) else None

        open_fds = {int(fd) for fd in wait_until(settled_fds, what="the proxy's descriptors to settle")}
        # No room left for a splice pipe (two descriptors): below the new
        # limit only the lowest free descriptor number stays free.
        limits = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        lowest_free = min(set(range(len(open_fds) + 1)) - open_fds)
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (lowest_free + 1, limits[1]))
        go.set()  # the server sends only now: the parked relay meets every byte without a pipe
        client.settimeout(30)
        threading.Thread(target=client.sendall, args=(upload,), daemon=True).start()
        got = bytearray()
        while len(got) < len(download):
            chunk = client.recv(64 * 1024)
            self.assertTrue(chunk, "the proxy closed before the download was complete")
            got += chunk
            time.sleep(0.001)  # slower than the proxy: its writes wait for room
        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(download).hexdigest())
        wait_until(lambda: "upload" in received, what="the upload to reach the server")
        self.assertEqual(hashlib.sha256(received["upload"]).hexdigest(), hashlib.sha256(upload).hexdigest())
        proxy.log().wait_for(r"warning relay: no pipe for splice \(Too many open files\): copying")
        resource.prlimit(pid, resource.RLIMIT_NOFILE, limits)  # the disconnect hook needs its pipes
        client.close()
        # Two sessions end: the early viewer's (0 bytes in) and this one.
        sessions = wait_session_done(self.events_file, count=2)
        (records,) = [records for records in sessions.values() if records[-1]["bytes_in"] != "0"]
        self.assertEqual([r.event for r in records], ["connect", "auth_success", "disconnect"])
        disconnect = records[-1]
        self.assertEqual(disconnect["bytes_in"], str(HANDSHAKE_IN + len(upload)))
        self.assertEqual(disconnect["bytes_out"], str(HANDSHAKE_OUT + len(download)))

    def test_many_pauses_each_wake_the_relay_in_both_directions(self):
        rounds = 25

        def handler(conn, _index):  # an echo server that answers each message after a pause
            serve_none_handshake(conn)
            conn.settimeout(30)
            for _ in range(rounds):
                message = recv_exact(conn, 8)
                time.sleep(0.02)
                conn.sendall(message[::-1])
            recv_until_eof(conn, timeout=30)
            conn.close()

        _, (client,) = self.start(handler)
        client.settimeout(30)
        for i in range(rounds):
            message = b"ping%04d" % i
            client.sendall(message)
            self.assertEqual(recv_exact(client, 8), message[::-1], f"round {i}")
            time.sleep(0.03)
        client.close()
        (disconnect,) = self.disconnects()
        self.assertEqual(disconnect["bytes_in"], str(HANDSHAKE_IN + 8 * rounds))
        self.assertEqual(disconnect["bytes_out"], str(HANDSHAKE_OUT + 8 * rounds))

    def test_server_half_close_after_a_pause_passes_and_the_viewer_may_still_send(self):
        farewell, last_words = b"server is done sending", b"viewer's last words"
        received = []

        def handler(conn, _index):
            serve_none_handshake(conn)
            time.sleep(PAUSE)
            conn.sendall(farewell)
            conn.shutdown(socket.SHUT_WR)
            conn.settimeout(30)
            received.append(recv_until_eof(conn, timeout=30))
            conn.close()

        _, (client,) = self.start(handler)
        self.assertEqual(recv_until_eof(client, timeout=30), farewell, "the server's half-close was not relayed")
        client.sendall(last_words)  # the other direction still runs
        client.shutdown(socket.SHUT_WR)
        (disconnect,) = self.disconnects()
        self.assertEqual(received, [last_words])
        self.assertEqual(disconnect["reason"], "server_closed")
        self.assertEqual(disconnect["bytes_in"], str(HANDSHAKE_IN + len(last_words)))

    def test_shutdown_closes_idle_sessions_each_with_its_disconnect(self):
        def handler(conn, _index):
            serve_none_handshake(conn)
            conn.settimeout(30)
            recv_until_eof(conn, timeout=30)
            conn.close()

        proxy, clients = self.start(handler, sessions=3, global_={"shutdown_grace": "0s"})
        proxy.send_signal(signal.SIGTERM)
        self.assertEqual(proxy.wait_exit(), 0)
        for client in clients:
            self.assertEqual(recv_until_eof(client, timeout=10), b"")
        disconnects = self.disconnects(count=3)
        self.assertEqual(sorted(d["reason"] for d in disconnects), ["shutdown"] * 3)


if __name__ == "__main__":
    unittest.main()
