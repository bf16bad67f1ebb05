"""The admin HTTP listener (issue 12, docs/admin-api.md) against a live proxy
with Net::VNC sessions to Xvnc: health, readiness and metrics; the bearer
token on /sessions and /bans; killing a session and lifting a ban over HTTP;
malformed HTTP (huge headers, a garbage request line, slowloris) answered or
closed while VNC sessions and other admin requests go on; the token file's
mode checked by --check-config; a new token applied by a reload."""
import http.client
import json
import os
import re
import select
import signal
import socket
import subprocess
import time

from vhm_harness import (PolicyTestCase, make_config, proxy_binary, run_viewer,
                         wait_session_done)

TOKEN = "test-admin-token-0123456789abcdef"
BLOCKING = {"max_failures": 3, "window": "10m", "ban": "1h"}
REQUEST_TIMEOUT = 2.0  # admin.request_timeout in these tests (the default is 10 s)
ADMIN_RE = r"admin: listening on [0-9.]+:(\d+)"


class Reply:
    def __init__(self, response: http.client.HTTPResponse):
        self.status = response.status
        self.headers = response.headers
        self.body = response.read()

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"Reply({self.status}, {dict(self.headers)!r}, {self.body[:300]!r})"


class AdminApi(PolicyTestCase):

    def write_token(self, text: str = TOKEN, mode: int = 0o600, name: str = "admin.token"):
        path = self.tmp / name
        path.write_text(text + "\n")
        os.chmod(path, mode)
        return path

    def start(self, blocking=None, admin=None, global_=None, token=True):
        section = {"listen": "127.0.0.1:0", "request_timeout": f"{REQUEST_TIMEOUT:g}s"}
        if token:
            section["token_file"] = str(self.write_token())
        section.update(admin or {})
        sections = {"admin": section}
        if blocking is not None:
            sections["blocking"] = blocking
        proxy = self.start_proxy(make_config([self.listener()], self.recording_events(), global_, sections))
        self.admin_port = int(proxy.log().wait_for(ADMIN_RE)[0].group(1))
        self.assertNotEqual(self.admin_port, proxy.port(), "the VNC port must be the first 'listening on' line")
        return proxy

    def request(self, method: str, path: str, token: str | None = None, headers: dict | None = None) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=5)
        try:
            sent = dict(headers or {})
            if token is not None:
                sent["Authorization"] = f"Bearer {token}"
            conn.request(method, path, headers=sent)
            return Reply(conn.getresponse())
        finally:
            conn.close()

    def raw(self, data: bytes, timeout: float = 5) -> bytes:
        """Sends bytes on a fresh connection; everything until the server closes."""
        with socket.create_connection(("127.0.0.1", self.admin_port), timeout=timeout) as sock:
            try:
                sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer and close before reading it all
            received = b""
            try:
                while chunk := sock.recv(65536):
                    received += chunk
            except ConnectionResetError:
                pass
            return received

    def assert_token_never_logged(self, proxy, *tokens):
        for token in tokens or (TOKEN,):
            self.assertNotIn(token, proxy.log().text(), "a token reached the log")

    def test_health_readiness_and_metrics_are_open(self):
        proxy = self.start()
        health = self.request("GET", "/healthz")
        self.assertEqual((health.status, health.body), (200, b"ok\n"), health)
        ready = self.request("GET", "/readyz")
        self.assertEqual((ready.status, ready.body), (200, b"ready\n"), ready)
        metrics = self.request("GET", "/metrics")
        self.assertEqual(metrics.status, 200, metrics)
        self.assertEqual(metrics.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        self.assertRegex(metrics.body.decode(), r"(?m)^# TYPE \w+ (counter|gauge|histogram)$")
        head = self.request("HEAD", "/metrics")
        self.assertEqual((head.status, head.body), (200, b""), head)
        self.assertGreater(int(head.headers["Content-Length"]), 0)
        self.assertEqual(self.request("POST", "/healthz").status, 405)
        self.assertEqual(self.request("GET", "/nowhere").status, 404)
        self.assertTrue(proxy.alive())

    def test_sessions_need_the_token_and_delete_kills_the_session(self):
        proxy = self.start()
        viewer, session_id, local_port = self.live_session(proxy)

        missing = self.request("GET", "/sessions")
        self.assertEqual(missing.status, 401, missing)
        self.assertTrue(missing.headers["WWW-Authenticate"].startswith("Bearer"), missing)
        self.assertIn("error", missing.json())
        wrong = self.request("GET", "/sessions", token=TOKEN[:-1] + "X")
        self.assertEqual(wrong.status, 401, wrong)
        self.assertEqual(self.request("DELETE", f"/sessions/{session_id}", token="nope-nope-nope-nope").status, 401)
        self.assertTrue(viewer.proc.poll() is None, "a refused DELETE ended the session")

        listed = self.request("GET", "/sessions", token=TOKEN)
        self.assertEqual(listed.status, 200, listed)
        self.assertEqual(listed.headers["Content-Type"], "application/json")
        (row,) = [s for s in listed.json() if s["session_id"] == session_id]
        self.assertEqual((row["client_ip"], row["client_port"]), ("127.0.0.1", local_port))
        self.assertEqual((row["target_host"], row["target_port"]), ("127.0.0.1", str(self.xvnc.port)))
        self.assertEqual(set(row), {"session_id", "client_ip", "client_port", "target_host", "target_port",
                                    "listen", "user", "security_type", "state", "age_seconds", "bytes_in",
                                    "bytes_out", "recording_path", "view_only", "tracking", "transport"})
        self.assertEqual(row["transport"], "tcp")

        started = time.monotonic()
        killed = self.request("DELETE", f"/sessions/{session_id}", token=TOKEN)
        self.assertEqual(killed.status, 200, killed)
        self.assertIn(session_id, killed.json()["message"])
        result = viewer.result(timeout=10)
        self.assertLess(time.monotonic() - started, 5, "the killed session lingered")
        self.assertEqual(result.values.get("eof"), "1", f"viewer was not cut off: {result}")
        (records,) = wait_session_done(self.events_file).values()
        self.assertEqual((records[-1].session_id, records[-1]["reason"]), (session_id, "killed"))
        proxy.log().wait_for(rf"admin: 127\.0\.0\.1:\d+: DELETE /sessions/{session_id}: killed session")
        proxy.log().wait_for(r"admin: 127\.0\.0\.1:\d+: GET /sessions: refused \(wrong bearer token\)")

        again = self.request("DELETE", f"/sessions/{session_id}", token=TOKEN)
        self.assertEqual(again.status, 404, again)
        self.assertEqual([s for s in self.request("GET", "/sessions", token=TOKEN).json()
                          if s["session_id"] == session_id], [])
        self.assert_token_never_logged(proxy)

    def test_bans_lists_a_ban_and_delete_lifts_it(self):
        proxy = self.start(blocking=BLOCKING)
        self.assertEqual(self.request("GET", "/bans", token=TOKEN).json(), [])
        for _ in range(BLOCKING["max_failures"]):
            self.assertFalse(run_viewer(proxy.port(), password="wrong-pw").ok)
        (ban,) = self.wait_event_records("ban")
        self.assertFalse(run_viewer(proxy.port(), password=self.xvnc.password).ok, "the ban is not in force")

        self.assertEqual(self.request("GET", "/bans").status, 401)
        bans = self.request("GET", "/bans", token=TOKEN)
        self.assertEqual(bans.status, 200, bans)
        (row,) = [b for b in bans.json() if b["key"].split("/")[0] == "127.0.0.1"]
        self.assertEqual((row["failures"], row["level"]), (3, 1), row)
        self.assertEqual(row["banned_until"], ban["ban_until"])

        lifted = self.request("DELETE", "/bans/127%2E0%2E0%2E1", token=TOKEN)  # percent-decoded
        self.assertEqual(lifted.status, 200, lifted)
        proxy.log().wait_for(r"admin: 127\.0\.0\.1:\d+: DELETE /bans/127%2E0%2E0%2E1: unbanned 127\.0\.0\.1")
        self.assert_healthy_login(proxy.port(), self.xvnc)
        self.assertEqual(self.request("GET", "/bans", token=TOKEN).json(), [])
        self.assertEqual(self.request("DELETE", "/bans/127.0.0.1", token=TOKEN).status, 404)
        self.assertEqual(self.request("DELETE", "/bans/2001:db8::7", token=TOKEN).status, 404)
        self.assertEqual(self.request("DELETE", "/bans/%zz", token=TOKEN).status, 400)
        self.assert_token_never_logged(proxy)

    def test_malformed_http_is_answered_or_closed_and_everything_else_goes_on(self):
        proxy = self.start()
        viewer, session_id, _ = self.live_session(proxy, hold=25)

        huge = self.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 20 * 1024 + b"\r\n\r\n")
        self.assertRegex(huge, rb"^HTTP/1\.1 431 ", huge[:200])
        garbage = self.raw(b"\x16\x03\x01 this is not HTTP\r\n\r\n")
        self.assertRegex(garbage, rb"^HTTP/1\.1 400 ", garbage[:200])
        self.assertRegex(self.raw(b"GET /healthz HTTP/9.9\r\n\r\n"), rb"^HTTP/1\.1 400 ")
        too_big = self.raw(b"DELETE /bans/1.2.3.4 HTTP/1.1\r\nContent-Length: 100000\r\n\r\n")
        self.assertRegex(too_big, rb"^HTTP/1\.1 413 ", too_big[:200])
        # Two requests in one write (pipelining) get two responses, in order.
        both = self.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n"
                        b"Connection: close\r\n\r\n")
        self.assertEqual(re.findall(rb"HTTP/1\.1 (\d+)", both), [b"200", b"200"], both)

        # Slowloris: a header dribbled out a byte at a time is cut off after
        # request_timeout, and other admin requests are answered meanwhile.
        slow = socket.create_connection(("127.0.0.1", self.admin_port), timeout=5)
        self.addCleanup(slow.close)
        started = time.monotonic()
        closed_after = None
        answered_meanwhile = 0
        for byte in b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"z" * 100:
            try:
                slow.send(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - started
                break
            readable, _, _ = select.select([slow], [], [], 0.25)
            if readable:
                try:
                    data = slow.recv(4096)
                except ConnectionResetError:
                    data = b""
                self.assertEqual(data, b"", "the slow client got an answer instead of a close")
                closed_after = time.monotonic() - started
                break
            answered_meanwhile += self.request("GET", "/healthz").status == 200
            if time.monotonic() - started > REQUEST_TIMEOUT + 4:
                break
        self.assertIsNotNone(closed_after, "the slow request was never cut off")
        self.assertGreaterEqual(closed_after, REQUEST_TIMEOUT - 0.2)
        self.assertLess(closed_after, REQUEST_TIMEOUT + 2)
        self.assertGreaterEqual(answered_meanwhile, 2)
        proxy.log().wait_for(r"admin: 127\.0\.0\.1:\d+: no complete request within 2s; closed")

        # The VNC session went on throughout, and new ones work.
        self.assertIsNone(viewer.proc.poll(), "the VNC session ended")
        listed = self.request("GET", "/sessions", token=TOKEN).json()
        self.assertIn(session_id, [s["session_id"] for s in listed])
        self.assert_healthy_login(proxy.port(), self.xvnc)
        self.assertTrue(proxy.alive())

    def test_connections_over_the_cap_are_closed_at_accept_and_idle_ones_make_room(self):
        proxy = self.start()
        cap = 64  # AdminServerOptions::max_connections
        silent = []
        for _ in range(cap):
            sock = socket.create_connection(("127.0.0.1", self.admin_port), timeout=5)
            self.addCleanup(sock.close)
            silent.append(sock)
        # Every slot holds a request in progress (none sent yet): the next ones are closed unanswered.
        for _ in range(2):
            self.assertEqual(self.raw(b"GET /healthz HTTP/1.1\r\n\r\n", timeout=2), b"")
        proxy.log().wait_for(r"admin: 64 connection\(s\) open \(the limit\): closed the connection from 127\.0\.0\.1")
        self.assertEqual(len(proxy.log().matching(r"connection\(s\) open \(the limit\)")), 1,
                         "the refusal line is logged at most once a second")
        # request_timeout frees the slots; then kept-alive idle connections fill them...
        for sock in silent:
            self.assertEqual(sock.recv(100), b"")
        kept = []
        for _ in range(cap):
            conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=5)
            self.addCleanup(conn.close)
            conn.request("GET", "/healthz")
            self.assertEqual(conn.getresponse().read(), b"ok\n")
            kept.append(conn)
        # ...and one of them is closed to make room for a new client.
        self.assertEqual(self.request("GET", "/healthz").status, 200)
        readable, _, _ = select.select([conn.sock for conn in kept], [], [], 1)
        self.assertEqual([sock.recv(100) for sock in readable], [b""], "not exactly one idle connection closed")
        self.assertTrue(proxy.alive())

    def test_readyz_is_503_during_the_shutdown_grace(self):
        proxy = self.start(global_={"shutdown_grace": "20s"})
        self.live_session(proxy, hold=25)
        proxy.send_signal(signal.SIGTERM)
        proxy.log().wait_for("SIGTERM received")
        ready = self.request("GET", "/readyz")
        self.assertEqual((ready.status, ready.body), (503, b"shutting down\n"), ready)
        self.assertEqual(self.request("GET", "/healthz").status, 200)
        self.assertEqual(len(self.request("GET", "/sessions", token=TOKEN).json()), 1)
        self.stop_proxy_and_check_exit(proxy)  # the second signal ends the session now
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", self.admin_port), timeout=2).close()

    def test_without_a_token_file_the_api_answers_403_and_an_open_listen_is_warned_about(self):
        proxy = self.start(token=False, admin={"listen": "0.0.0.0:0"})
        proxy.log().wait_for(r"admin: 0\.0\.0\.0:\d+ is reachable from other hosts and admin\.token_file is not set")
        refused = self.request("GET", "/sessions", token="anything-at-all-here")
        self.assertEqual(refused.status, 403, refused)
        self.assertIn("admin.token_file", refused.json()["error"])
        self.assertEqual(self.request("GET", "/healthz").status, 200)

    def test_a_reload_applies_a_new_token(self):
        proxy = self.start()
        self.assertEqual(self.request("GET", "/bans", token=TOKEN).status, 200)
        new_token = "another-token-fedcba9876543210"
        self.write_token(new_token)
        proxy.send_signal(signal.SIGHUP)
        proxy.log().wait_for("reload done")
        proxy.log().wait_for(r"reload: admin: the token changed")
        self.assertEqual(self.request("GET", "/bans", token=TOKEN).status, 401)
        self.assertEqual(self.request("GET", "/bans", token=new_token).status, 200)
        self.assert_token_never_logged(proxy, TOKEN, new_token)

    def test_a_token_file_others_may_read_fails_check_config(self):
        token_file = self.write_token(mode=0o644)
        config = self.tmp / "check.yaml"
        config.write_text(make_config([self.listener()], sections={"admin": {"token_file": str(token_file)}}))
        done = subprocess.run([proxy_binary(), "--check-config", "--config", str(config)],
                              capture_output=True, text=True, timeout=30)
        output = done.stdout + done.stderr
        self.assertNotEqual(done.returncode, 0, output)
        self.assertRegex(output, r"check\.yaml:\d+: admin\.token_file: .*mode 0644.*chmod 600")
        self.assertNotIn(TOKEN, output)
        os.chmod(token_file, 0o600)
        fixed = subprocess.run([proxy_binary(), "--check-config", "--config", str(config)],
                               capture_output=True, text=True, timeout=30)
        self.assertEqual(fixed.returncode, 0, fixed.stdout + fixed.stderr)

    def test_a_busy_admin_port_is_a_startup_error_naming_admin_listen(self):
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            port = holder.getsockname()[1]
            proxy = self.start_proxy(make_config([self.listener()], sections={"admin": {
                "listen": f"127.0.0.1:{port}"}}), listeners=0)
            code = proxy.wait_exit(timeout=10)
            self.assertNotEqual(code, 0)
            self.assertRegex(proxy.log().text(), rf"admin\.listen \(line \d+\): cannot listen on 127\.0\.0\.1:{port}")
