"""Graceful shutdown (issue 4, "SIGTERM with live sessions"): SIGTERM stops
accepting at once, lets sessions run for global.shutdown_grace, then closes
the rest with reason `shutdown`; every session's disconnect hook runs (and the
log action's file and the log are complete) before the process exits 0. A
session that ends by itself within the grace keeps its own reason; a second
SIGTERM/SIGINT cuts the grace short. Real Xvnc, real Net::VNC viewers."""
import json
import signal
import socket
import time
import unittest

from vhm_harness import XvncTestCase, read_records, record_cmd, recv_exact

SESSIONS = 4


class GracefulShutdown(XvncTestCase):
    xvnc_options = {"security": "VncAuth", "desktop": "vhm-it grace desk"}

    def audit_file(self):
        return self.tmp / "audit.jsonl"

    def start_with_grace(self, grace: str, slow_disconnect: float = 0.3, **global_):
        """Connect hooks record; the disconnect hook is slow (its record exists
        after exit only if the proxy waited for it), and a log action writes
        every disconnect to audit.jsonl."""
        events = {
            "connect": [{"name": "record_connect", "cmd": record_cmd(self.events_file)}],
            "disconnect": [
                {"name": "slow_disconnect", "cmd": record_cmd(self.events_file, sleep=slow_disconnect)},
                {"name": "audit", "action": "log", "path": str(self.audit_file())},
            ],
        }
        listener = {"listen": "127.0.0.1:0", "target": self.xvnc.target}
        return self.start_proxy(self.config([listener], events, {"shutdown_grace": grace, **global_}))

    def viewers(self, proxy, count: int, hold: float):
        viewers = [self.background_viewer(proxy.port(), password=self.xvnc.password, hold=hold)
                   for _ in range(count)]
        for viewer in viewers:
            viewer.wait_for(r"^logged_in=1$")
        return viewers

    def disconnects(self):
        return {r.session_id: r for r in read_records(self.events_file) if r.event == "disconnect"}

    def audit_lines(self):
        with open(self.audit_file(), encoding="utf-8") as audit:
            return [json.loads(line) for line in audit]

    def assert_refuses(self, port: int):
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()

    def test_busy_polling_loop_logs_viewers_in_and_still_shuts_down_cleanly(self):
        """global.busy_poll_us (app/event_loop.hpp): the loop that polls
        before it sleeps carries real VncAuth logins and a graceful shutdown."""
        proxy = self.start_with_grace("0s", slow_disconnect=0, busy_poll_us=200)
        self.viewers(proxy, 2, hold=60)
        proxy.send_signal(signal.SIGTERM)
        self.assertEqual(proxy.wait_exit(timeout=15), 0)
        disconnects = self.disconnects()
        self.assertEqual(len(disconnects), 2)
        self.assertEqual({r["reason"] for r in disconnects.values()}, {"shutdown"})
        self.assertTrue(proxy.log().matching(r" stopped$"), "the last log line is missing")

    def test_sigterm_with_live_sessions_runs_every_disconnect_hook_with_reason_shutdown_and_exits_0(self):
        proxy = self.start_with_grace("1500ms")
        viewers = self.viewers(proxy, SESSIONS, hold=60)
        mid_handshake = self.client(proxy.port())  # accepted, never logs in
        self.assertEqual(recv_exact(mid_handshake, 12), b"RFB 003.008\n")
        proxy.log().wait_for(r"session \w+: accepted", count=SESSIONS + 1)

        signalled = time.monotonic()
        proxy.send_signal(signal.SIGTERM)
        proxy.log().wait_for(r"SIGTERM received: closed 1 listener\(s\); 5 session\(s\) may run for up to 1500ms")
        self.assert_refuses(proxy.port())
        code = proxy.wait_exit(timeout=15)
        elapsed = time.monotonic() - signalled
        self.assertEqual(code, 0)
        self.assertGreaterEqual(elapsed, 1.5, "sessions were closed before the grace ended")

        disconnects = self.disconnects()
        connects = {r.session_id for r in read_records(self.events_file) if r.event == "connect"}
        self.assertEqual(len(connects), SESSIONS + 1)
        self.assertEqual(set(disconnects), connects, "a session lost its disconnect hook")
        self.assertEqual({r["reason"] for r in disconnects.values()}, {"shutdown"})
        audit = self.audit_lines()
        self.assertEqual(sorted(e["session_id"] for e in audit), sorted(connects))
        self.assertEqual({e["reason"] for e in audit}, {"shutdown"})
        self.assertTrue(proxy.log().matching(r" stopped$"), "the last log line is missing")
        for viewer in viewers:
            result = viewer.result(timeout=10)
            self.assertEqual(result.values.get("eof"), "1", f"viewer not disconnected: {result}")

    def test_sessions_that_end_within_the_grace_keep_their_own_reason(self):
        proxy = self.start_with_grace("4s")
        long = self.viewers(proxy, 1, hold=60)
        short = self.viewers(proxy, 2, hold=1.5)
        proxy.send_signal(signal.SIGTERM)
        proxy.log().wait_for(r"SIGTERM received: closed")
        for viewer in short:
            result = viewer.result(timeout=15)
            self.assertEqual(result.values.get("eof"), "0", f"ended by the proxy: {result}")
        self.assertEqual(proxy.wait_exit(timeout=15), 0)

        by_port = {r["client_port"]: r["reason"] for r in self.disconnects().values()}
        for viewer in short:
            port = viewer.result(timeout=1).values["local_port"]
            self.assertEqual(by_port.get(port), "client_closed")
        long_port = long[0].result(timeout=5).values["local_port"]
        self.assertEqual(by_port.get(long_port), "shutdown")
        self.assertEqual(len(by_port), 3)

    def test_sessions_all_ending_within_the_grace_end_the_wait_early(self):
        proxy = self.start_with_grace("60s")
        viewers = self.viewers(proxy, 2, hold=1.0)
        signalled = time.monotonic()
        proxy.send_signal(signal.SIGTERM)
        self.assertEqual(proxy.wait_exit(timeout=20), 0)
        self.assertLess(time.monotonic() - signalled, 20)
        self.assertEqual({r["reason"] for r in self.disconnects().values()}, {"client_closed"})
        self.assertEqual(len(self.disconnects()), len(viewers))

    def test_a_second_signal_cuts_the_grace_short(self):
        for second in (signal.SIGTERM, signal.SIGINT):
            with self.subTest(second=second.name):
                self.events_file.unlink(missing_ok=True)
                self.audit_file().unlink(missing_ok=True)
                proxy = self.start_with_grace("120s")
                viewers = self.viewers(proxy, 2, hold=60)
                proxy.send_signal(signal.SIGTERM)
                proxy.log().wait_for(r"may run for up to 2m")
                self.assert_refuses(proxy.port())
                self.assertTrue(proxy.alive())
                signalled = time.monotonic()
                proxy.send_signal(second)
                self.assertEqual(proxy.wait_exit(timeout=10), 0)
                self.assertLess(time.monotonic() - signalled, 10)
                proxy.log().wait_for(rf"{second.name} received again: closing 2 session\(s\) now")
                self.assertEqual([r["reason"] for r in self.disconnects().values()],
                                 ["shutdown", "shutdown"])
                self.assertEqual(len(self.audit_lines()), 2)
                for viewer in viewers:
                    self.assertEqual(viewer.result(timeout=10).values.get("eof"), "1")


if __name__ == "__main__":
    unittest.main()
