"""GET /metrics on the admin listener (docs/metrics.md) with a real Xvnc and
real Net::VNC viewers: the page is valid for `promtool check metrics`, every
metric on it is documented, and its numbers match what happened: a good
login, a wrong password and a client that leaves during the handshake."""
import re
import socket
import subprocess
import sys
import unittest
import urllib.request
from pathlib import Path

from vhm_harness import (XvncTestCase, make_config, read_records, record_hooks, run_viewer,
                         wait_session_done, wait_until)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "packaging"))
from check_monitoring import documented_metrics  # noqa: E402  (the metric list of docs/metrics.md)

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
PROXY_LISTENING_RE = r"(?<!admin: )listening on 127\.0\.0\.1:(\d+) -> "
ADMIN_LISTENING_RE = r"admin: listening on 127\.0\.0\.1:(\d+)"


class Page:
    """One scraped /metrics page: its text and its samples."""

    def __init__(self, text: str):
        self.text = text
        self.samples: dict[tuple[str, frozenset], float] = {}
        for line in text.splitlines():
            if not line or line.startswith("#"):
                continue
            match = SAMPLE_RE.match(line)
            if not match:
                raise AssertionError(f"unparsable sample line: {line!r}")
            name, labels, value = match.groups()
            self.samples[(name, frozenset(LABEL_RE.findall(labels or "")))] = float(value)

    def value(self, name: str, **labels) -> float:
        key = (name, frozenset(labels.items()))
        if key not in self.samples:
            raise AssertionError(f"no sample {name}{labels} on the page:\n{self.text}")
        return self.samples[key]

    def total(self, name: str) -> float:
        return sum(value for (sample, _), value in self.samples.items() if sample == name)

    def families(self) -> set[str]:
        return set(re.findall(r"^# TYPE (\S+) ", self.text, re.MULTILINE))


class MetricsTest(XvncTestCase):
    xvnc_options = {"security": "VncAuth", "desktop": "vhm-it metrics desk"}

    def start_metrics_proxy(self):
        config = make_config([{"listen": "127.0.0.1:0", "target": self.xvnc.target}],
                             record_hooks(self.events_file),
                             sections={"admin": {"listen": "127.0.0.1:0"}})
        # Both lines say "listening on": wait for each by its own pattern.
        proxy = self.start_proxy(config, listeners=0)
        self.port = int(proxy.log().wait_for(PROXY_LISTENING_RE)[0].group(1))
        self.admin_port = int(proxy.log().wait_for(ADMIN_LISTENING_RE)[0].group(1))
        self.listener = f"127.0.0.1:{self.port}"
        return proxy

    def scrape(self) -> Page:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/metrics", timeout=5) as reply:
            self.assertEqual(reply.status, 200)
            self.assertTrue(reply.headers["Content-Type"].startswith("text/plain; version=0.0.4"),
                            reply.headers["Content-Type"])
            text = reply.read().decode()
        checked = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
        self.assertEqual(checked.returncode, 0, f"promtool check metrics:\n{checked.stderr}\n{text}")
        return Page(text)

    def close_during_handshake(self) -> Page:
        """Reads the server's ProtocolVersion through the proxy, then leaves;
        returns the page scraped in between."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            greeting = b""
            while len(greeting) < 12:
                chunk = sock.recv(12 - len(greeting))
                self.assertTrue(chunk, "proxy closed before the RFB greeting")
                greeting += chunk
            self.assertTrue(greeting.startswith(b"RFB "), greeting)
            return self.scrape()

    def test_metrics_follow_sessions(self):
        proxy = self.start_metrics_proxy()
        documented = documented_metrics(ROOT / "docs" / "metrics.md")

        idle = self.scrape()
        self.assertEqual(idle.value("vnc_hooks_manager_sessions_active", listener=self.listener), 0)
        self.assertEqual(idle.value("vnc_hooks_manager_sessions_total", listener=self.listener), 0)
        self.assertEqual(idle.value("vnc_hooks_manager_auth_failures_total", listener=self.listener), 0)
        self.assertEqual(idle.value("vnc_hooks_manager_listeners"), 1)
        self.assertEqual(idle.total("vnc_hooks_manager_build_info"), 1)
        self.assertEqual(idle.value("vnc_hooks_manager_sessions_in_handshake"), 0)

        # A wrong password, then a client that leaves during the handshake.
        refused = run_viewer(self.port, password="wrong-pw")
        self.assertFalse(refused.ok, refused)
        wait_session_done(self.events_file, count=1)
        # The leaver is in its handshake while it waits (the io loop polls for it: global.handshake_poll_us).
        self.assertEqual(self.close_during_handshake().value("vnc_hooks_manager_sessions_in_handshake"), 1)
        wait_session_done(self.events_file, count=2)
        before_login = self.scrape()
        self.assertEqual(before_login.value("vnc_hooks_manager_sessions_in_handshake"), 0)

        # A good login that stays connected while we look.
        viewer = self.background_viewer(self.port, password=self.xvnc.password, hold=30)
        viewer.wait_for(r"^logged_in=1$")
        live = self.scrape()
        self.assertEqual(live.value("vnc_hooks_manager_sessions_active", listener=self.listener), 1)
        self.assertEqual(live.value("vnc_hooks_manager_sessions_in_handshake"), 0)  # past ServerInit
        self.assertEqual(live.value("vnc_hooks_manager_sessions_total", listener=self.listener), 3)
        self.assertEqual(live.value("vnc_hooks_manager_auth_successes_total", listener=self.listener), 1)
        for direction in ("viewer_to_server", "server_to_viewer"):
            # The live session counts before it ends (its handshake and first update went by).
            self.assertGreater(live.value("vnc_hooks_manager_bytes_total", direction=direction),
                               before_login.value("vnc_hooks_manager_bytes_total", direction=direction), direction)
        self.assertEqual(live.value("vnc_hooks_manager_session_duration_seconds_count"), 2)

        viewer.stop()
        sessions = wait_session_done(self.events_file, count=3)
        disconnects = [r for records in sessions.values() for r in records if r.event == "disconnect"]
        self.assertEqual(len(disconnects), 3)
        records = read_records(self.events_file)
        # Each record is one finished hook run; the dispatcher counts it just after the process exits.
        wait_until(lambda: self.scrape().value("vnc_hooks_manager_hook_runs_total", action="command",
                                               result="ok") == len(records),
                   what=f"{len(records)} ok hook runs on /metrics")

        after = self.scrape()
        value = after.value
        self.assertEqual(value("vnc_hooks_manager_sessions_active", listener=self.listener), 0)
        self.assertEqual(value("vnc_hooks_manager_sessions_total", listener=self.listener), 3)
        self.assertEqual(value("vnc_hooks_manager_auth_successes_total", listener=self.listener), 1)
        self.assertEqual(value("vnc_hooks_manager_auth_failures_total", listener=self.listener), 1)
        self.assertEqual(value("vnc_hooks_manager_events_total", event="connect"), 3)
        self.assertEqual(value("vnc_hooks_manager_events_total", event="disconnect"), 3)
        self.assertEqual(value("vnc_hooks_manager_events_total", event="auth_failure"), 1)

        # Handshakes by outcome: the early leaver counts under its disconnect reason.
        by_session = {sid: {r.event: r for r in recs} for sid, recs in sessions.items()}
        leaver = [recs["disconnect"]["reason"] for recs in by_session.values()
                  if "auth_success" not in recs and "auth_failure" not in recs]
        self.assertEqual(leaver, ["client_closed"])
        self.assertEqual(value("vnc_hooks_manager_handshakes_total", outcome="authenticated"), 1)
        self.assertEqual(value("vnc_hooks_manager_handshakes_total", outcome="auth_failed"), 1)
        self.assertEqual(value("vnc_hooks_manager_handshakes_total", outcome="client_closed"), 1)
        self.assertEqual(after.total("vnc_hooks_manager_handshakes_total"), 3)
        reasons = {}
        for record in disconnects:
            reasons[record["reason"]] = reasons.get(record["reason"], 0) + 1
        for reason, count in reasons.items():
            self.assertEqual(value("vnc_hooks_manager_disconnects_total", reason=reason), count, reason)

        # With no session live, bytes_total is exactly the disconnect events' bytes.
        self.assertEqual(value("vnc_hooks_manager_bytes_total", direction="viewer_to_server"),
                         sum(int(r["bytes_in"]) for r in disconnects))
        self.assertEqual(value("vnc_hooks_manager_bytes_total", direction="server_to_viewer"),
                         sum(int(r["bytes_out"]) for r in disconnects))
        self.assertGreaterEqual(value("vnc_hooks_manager_bytes_total", direction="server_to_viewer"),
                                live.value("vnc_hooks_manager_bytes_total", direction="server_to_viewer"))
        self.assertEqual(value("vnc_hooks_manager_session_duration_seconds_count"), 3)
        self.assertEqual(value("vnc_hooks_manager_session_duration_seconds_sum"),
                         sum(int(r["duration"]) for r in disconnects))

        # Every event had one command hook: 8 events, 8 runs, each timed.
        self.assertEqual(len(records), 8)
        self.assertEqual(value("vnc_hooks_manager_hook_events_published_total"), 8)
        self.assertEqual(value("vnc_hooks_manager_hook_duration_seconds_count", action="command"), 8)
        self.assertEqual(after.total("vnc_hooks_manager_hook_runs_total"), 8)
        self.assertEqual(value("vnc_hooks_manager_hook_events_dropped_total"), 0)
        self.assertEqual(value("vnc_hooks_manager_hook_queue_depth"), 0)

        # What the proxy exports is what docs/metrics.md lists (the dashboard and alerts are checked against it).
        undocumented = sorted(name for name in after.families()
                              if name not in documented and name + "_bucket" not in documented)
        self.assertEqual(undocumented, [], "metrics missing from docs/metrics.md")
        self.assertTrue(proxy.alive())


if __name__ == "__main__":
    unittest.main()
