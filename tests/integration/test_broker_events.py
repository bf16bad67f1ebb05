"""The event stream (docs/fleet.md): real sessions (Net::VNC through the proxy
to Xvnc) arrive in a real redis-server's stream in order with the contract's
fields; while Redis is down they wait in the on-disk spool and arrive exactly
once, in order, when it is back, also after the proxy was killed with SIGKILL;
AUTH with an ACL user (a wrong password is named in the log, events wait);
rediss:// with a test CA; a full spool drops the oldest events and counts them.
"""
from __future__ import annotations

import json
import re
import signal
import socket
import unittest
import urllib.request

from redis_support import RedisServer
from vhm_harness import (DEFAULT_WAIT, XvncTestCase, make_config, run_viewer, wait_until)

STREAM = "it:events"
HOST = "it-proxy-a"
KINDS = ["connect", "auth_success", "auth_failure", "disconnect"]
PROXY_LISTENING_RE = r"(?<!admin: )listening on 127\.0\.0\.1:(\d+) -> "
ADMIN_LISTENING_RE = r"admin: listening on 127\.0\.0\.1:(\d+)"
METRIC_RE = re.compile(r"^(vnc_hooks_manager_broker_\w+) (\S+)$", re.MULTILINE)


class BrokerEventsTest(XvncTestCase):
    xvnc_options = {"security": "VncAuth", "desktop": "vhm-it broker desk"}

    def setUp(self):
        super().setUp()
        self.audit = self.tmp / "audit.jsonl"
        self.spool = self.tmp / "spool"

    # --- machinery ---------------------------------------------------------

    def redis(self, name: str = "redis", **kwargs) -> RedisServer:
        server = RedisServer(self.tmp / name, **kwargs)
        self.addCleanup(server.stop)
        return server

    def broker(self, redis: RedisServer, **extra) -> dict:
        section = {"url": redis.url, "stream": STREAM, "host_name": HOST, "spool_dir": str(self.spool),
                   "connect_timeout": "500ms", "command_timeout": "2s"}
        if redis.tls:
            section["tls"] = {"ca_file": str(redis.ca_file)}
        section.update(extra)
        return section

    def start_broker_proxy(self, broker: dict):
        """A proxy with `broker:`, a `log` hook writing every event to self.audit
        (the same JSON the stream carries) and the admin listener for /metrics."""
        events = {kind: [{"name": f"audit_{kind}", "action": "log", "path": str(self.audit)}] for kind in KINDS}
        config = make_config([{"listen": "127.0.0.1:0", "target": self.xvnc.target}], events,
                             sections={"broker": broker, "admin": {"listen": "127.0.0.1:0"}})
        proxy = self.start_proxy(config, listeners=0)
        proxy.vnc_port = int(proxy.log().wait_for(PROXY_LISTENING_RE)[0].group(1))
        proxy.admin_port = int(proxy.log().wait_for(ADMIN_LISTENING_RE)[0].group(1))
        return proxy

    def metrics(self, proxy) -> dict[str, float]:
        with urllib.request.urlopen(f"http://127.0.0.1:{proxy.admin_port}/metrics", timeout=5) as reply:
            text = reply.read().decode()
        return {name: float(value) for name, value in METRIC_RE.findall(text)}

    def wait_metric(self, proxy, name: str, predicate, what: str):
        return wait_until(lambda: predicate(self.metrics(proxy)[f"vnc_hooks_manager_broker_{name}"]),
                          what=what)

    def session(self, proxy, password: str | None = None) -> None:
        result = run_viewer(proxy.vnc_port, password=password or self.xvnc.password, capture=False)
        if password is None:
            self.assertTrue(result.ok, f"viewer failed: {result}")

    def wait_entries(self, redis: RedisServer, count: int, timeout: float = DEFAULT_WAIT) -> list[dict]:
        entries = wait_until(lambda: (lambda e: e if len(e) >= count else None)(redis.xrange(STREAM)),
                             timeout=timeout, what=f"{count} stream entries")
        return [fields for _, fields in entries]

    def audit_lines(self) -> list[str]:
        return self.audit.read_text().splitlines() if self.audit.exists() else []

    def assert_session_order(self, entries: list[dict]) -> list[str]:
        """Each session's events in the order the proxy published them; returns
        the session ids in the order their first event arrived."""
        sessions: dict[str, list[str]] = {}
        for entry in entries:
            sessions.setdefault(entry["session_id"], []).append(entry["event"])
        for session_id, kinds in sessions.items():
            self.assertEqual(kinds, ["connect", "auth_success", "disconnect"], f"session {session_id}")
        return list(sessions)

    # --- tests -------------------------------------------------------------

    def test_sessions_arrive_in_order_with_the_contract_fields(self):
        redis = self.redis(persistent=False).start()
        proxy = self.start_broker_proxy(self.broker(redis))
        self.session(proxy)
        self.session(proxy)
        entries = self.wait_entries(redis, 6)
        self.assertEqual(len(self.assert_session_order(entries)), 2)
        wait_until(lambda: len(self.audit_lines()) == 6, what="the log hook's 6 lines")
        audit = self.audit_lines()
        for entry in entries:
            self.assertEqual(set(entry), {"event", "session_id", "host", "json"})
            self.assertEqual(entry["host"], HOST)
            event = json.loads(entry["json"])
            self.assertEqual(event["event"], entry["event"])
            self.assertEqual(event["session_id"], entry["session_id"])
            self.assertEqual(event["proxy_host"], HOST)
            self.assertEqual(event["target_port"], str(self.xvnc.port))
            # Byte for byte the JSON the proxy's own `log` hook wrote.
            self.assertIn(entry["json"], audit)
        page = self.metrics(proxy)
        self.assertEqual(page["vnc_hooks_manager_broker_up"], 1)
        self.assertEqual(page["vnc_hooks_manager_broker_events_sent_total"], 6)
        self.assertEqual(page["vnc_hooks_manager_broker_events_dropped_total"], 0)

    def test_redis_down_events_spooled_then_each_arrives_once_in_order(self):
        redis = self.redis().start()
        proxy = self.start_broker_proxy(self.broker(redis))
        self.session(proxy)
        self.wait_entries(redis, 3)
        redis.kill()
        self.session(proxy)
        self.session(proxy)
        self.wait_metric(proxy, "spooled_events", lambda v: v == 6, "6 spooled events")
        self.wait_metric(proxy, "up", lambda v: v == 0, "broker_up 0")
        self.assertGreater(self.metrics(proxy)["vnc_hooks_manager_broker_spool_bytes"], 0)
        redis.restart()
        proxy.log().wait_for(r"event stream: Redis at 127\.0\.0\.1:\d+ is back; sending 6 spooled event", timeout=10)
        entries = self.wait_entries(redis, 9)
        self.assertEqual(len(self.assert_session_order(entries)), 3)
        self.assertEqual(len(entries), 9)
        # The spool's sessions in the order they happened: as the audit log has them.
        audit_sessions = list(dict.fromkeys(json.loads(line)["session_id"] for line in self.audit_lines()))
        self.assertEqual([e["session_id"] for e in entries][::3], audit_sessions)
        self.assertEqual(len(proxy.log().matching(r"event stream: Redis is down")), 1)
        self.wait_metric(proxy, "spooled_events", lambda v: v == 0, "an empty spool")
        self.assertEqual(self.metrics(proxy)["vnc_hooks_manager_broker_events_sent_total"], 9)

    def test_proxy_killed_with_events_spooled_sends_them_after_restart(self):
        redis = self.redis(persistent=False)  # not started yet: its port is closed
        proxy = self.start_broker_proxy(self.broker(redis))
        self.session(proxy)
        self.wait_metric(proxy, "spooled_events", lambda v: v == 3, "3 spooled events")
        proxy.send_signal(signal.SIGKILL)
        proxy.wait_exit()
        redis.start()
        again = self.start_broker_proxy(self.broker(redis))
        again.log().wait_for(r"event spool .*: 3 event\(s\) .* from an earlier run wait for Redis")
        entries = self.wait_entries(redis, 3)
        self.session(again)
        entries = self.wait_entries(redis, 6)
        self.assertEqual(len(entries), 6)
        first, second = self.assert_session_order(entries)
        audit_sessions = list(dict.fromkeys(json.loads(line)["session_id"] for line in self.audit_lines()))
        self.assertEqual([first, second], audit_sessions)

    def test_acl_user_with_password_file_and_a_wrong_password(self):
        acl = [f"user vnc-proxy on >right-pw-123 ~{STREAM} +xadd +ping"]
        redis = self.redis(acl=acl, persistent=False).start()
        wrong = self.tmp / "wrong.password"
        wrong.write_text("wrong-pw-456\n")
        wrong.chmod(0o600)
        proxy = self.start_broker_proxy(self.broker(redis, user="vnc-proxy", password_file=str(wrong)))
        self.session(proxy)
        line = proxy.log().wait_for(r"event stream: Redis is down \(.*WRONGPASS.*\)")[0].string
        self.assertIn(f"127.0.0.1:{redis.port}", line)
        self.wait_metric(proxy, "spooled_events", lambda v: v == 3, "3 spooled events")
        self.assertEqual(redis.xlen(STREAM), 0)
        self.assertNotIn("wrong-pw-456", proxy.log().text())
        proxy.send_signal(signal.SIGTERM)
        self.assertEqual(proxy.wait_exit(), 0)
        right = self.tmp / "right.password"
        right.write_text("right-pw-123\n")
        right.chmod(0o600)
        again = self.start_broker_proxy(self.broker(redis, user="vnc-proxy", password_file=str(right)))
        self.session(again)
        entries = self.wait_entries(redis, 6)
        self.assertEqual(len(self.assert_session_order(entries)), 2)
        self.assertNotIn("right-pw-123", again.log().text())

    def test_tls_with_a_ca_file(self):
        redis = self.redis(tls=True, persistent=False).start()
        self.assertTrue(redis.url.startswith("rediss://"))
        proxy = self.start_broker_proxy(self.broker(redis))
        self.session(proxy)
        entries = self.wait_entries(redis, 3)
        self.assert_session_order(entries)
        self.assertEqual(self.metrics(proxy)["vnc_hooks_manager_broker_up"], 1)

    def test_full_spool_drops_the_oldest_events_and_counts_them(self):
        redis = self.redis(persistent=False)  # down until the spool overflowed
        proxy = self.start_broker_proxy(self.broker(redis, spool_max_size="64KiB", events=["connect", "disconnect"]))
        ports = []
        for _ in range(60):  # 120 events of about 1 KiB: twice what the spool holds
            with socket.create_connection(("127.0.0.1", proxy.vnc_port), timeout=5) as sock:
                ports.append(str(sock.getsockname()[1]))
        def settled(page):
            spooled = page["vnc_hooks_manager_broker_spooled_events"]
            dropped = page["vnc_hooks_manager_broker_events_dropped_total"]
            return page if dropped > 0 and spooled + dropped == 120 else None
        page = wait_until(lambda: settled(self.metrics(proxy)), what="120 events spooled or dropped, some dropped")
        self.assertLessEqual(page["vnc_hooks_manager_broker_spool_bytes"], 64 * 1024)
        proxy.log().wait_for(r"event spool .* is full \(65536 bytes\): the oldest unsent events are dropped")
        redis.start()
        self.wait_metric(proxy, "spooled_events", lambda v: v == 0, "an empty spool")
        page = self.metrics(proxy)
        dropped = int(page["vnc_hooks_manager_broker_events_dropped_total"])
        self.assertEqual(page["vnc_hooks_manager_broker_events_sent_total"], 120 - dropped)
        entries = [fields for _, fields in redis.xrange(STREAM)]
        self.assertEqual(len(entries), 120 - dropped)
        # What is left is the newest: the last connections whole, the first ones gone.
        present = [ports.index(json.loads(e["json"])["client_port"]) for e in entries]
        # (a connection's disconnect follows the next few connections' connects)
        self.assertTrue(all(b >= a - 3 for a, b in zip(present, present[1:])), present)
        self.assertNotIn(0, present)
        self.assertEqual(present[-1], 59)
        self.assertEqual(present.count(59), 2)
        self.assertEqual(len(present), len(set(zip(present, (json.loads(e["json"])["event"] for e in entries)))))


if __name__ == "__main__":
    unittest.main()
