"""Shared bans (issue 14, docs/shared-bans.md): two proxies on one real
redis-server, each in front of the same real Xvnc with a VncAuth password.
Five wrong passwords (Net::VNC) through the first and the second refuses that
address in RFB's words within a second; `ctl unban` on one lifts it on both;
Redis killed: each proxy still bans on its own and says so (log, metrics);
Redis back: a ban made while it was away reaches the other proxy."""
import re
import time
import urllib.request

from redis_support import RedisServer
from vhm_harness import (POLICY_EVENT_KINDS, POLICY_FIELDS, PolicyTestCase, Proxy, make_config,
                         record_hooks, rfb_attempt, run_ctl, run_viewer, wait_until)

MAX_FAILURES = 5
BANNED_TEXT = "Too many authentication failures; try again in 60 minutes"
XVNC_FAILURE = "Authentication failure"  # Xvnc's SecurityResult reason
PROXY_LISTENING_RE = r"(?<!admin: )listening on 127\.0\.0\.1:(\d+) -> "
ADMIN_LISTENING_RE = r"admin: listening on 127\.0\.0\.1:(\d+)"
DOWN_RE = (r"blocking: shared bans: Redis \(127\.0\.0\.1:\d+\) is not reachable: .*; "
           r"failures are counted and bans made on this proxy alone")
UP_RE = r"blocking: shared bans through Redis \(127\.0\.0\.1:\d+\)"
BACK_RE = r"blocking: shared bans: Redis \(127\.0\.0\.1:\d+\) is back"
GAUGE = "vnc_hooks_manager_shared_bans_up"


class SharedBans(PolicyTestCase):

    def setUp(self):
        super().setUp()
        self.redis = RedisServer(self.tmp / "redis", persistent=False).start()
        self.addCleanup(self.redis.stop)
        self.a = self.start_shared_proxy("a")
        self.b = self.start_shared_proxy("b")
        for proxy in (self.a, self.b):
            proxy.log().wait_for(UP_RE)

    def start_shared_proxy(self, name: str) -> Proxy:
        """A proxy in its own directory: blocking shared through self.redis,
        a control socket, the admin listener (metrics), hooks recording every
        event into the one events file (`listen` says which proxy)."""
        workdir = self.tmp / name
        workdir.mkdir()
        socket_path = workdir / "control.sock"
        blocking = {"max_failures": MAX_FAILURES, "window": "10m", "ban": "1h",
                    "shared": self.redis.url}
        config = make_config([self.listener()],
                             record_hooks(self.events_file, POLICY_EVENT_KINDS, fields=POLICY_FIELDS),
                             sections={"blocking": blocking, "control": {"socket": str(socket_path)},
                                       "admin": {"listen": "127.0.0.1:0"}})
        proxy = Proxy(str(workdir))
        self.addCleanup(self._dump_on_failure, proxy)
        self.addCleanup(proxy.stop)
        proxy.start(config, listeners=0)
        proxy.endpoints = [("127.0.0.1", int(proxy.log().wait_for(PROXY_LISTENING_RE)[0].group(1)))]
        proxy.admin_port = int(proxy.log().wait_for(ADMIN_LISTENING_RE)[0].group(1))
        proxy.control_socket = socket_path
        return proxy

    # ---- helpers ----

    def gauge(self, proxy: Proxy) -> float:
        with urllib.request.urlopen(f"http://127.0.0.1:{proxy.admin_port}/metrics", timeout=5) as reply:
            text = reply.read().decode()
        found = re.findall(rf"^{GAUGE} (\S+)$", text, re.MULTILINE)
        self.assertEqual(len(found), 1, f"{GAUGE} on the page:\n{text}")
        return float(found[0])

    def refuses(self, proxy: Proxy, source: str = "127.0.0.1") -> bool:
        """One raw RFB attempt from `source`: True when refused as banned."""
        attempt = rfb_attempt("127.0.0.1", proxy.port(), source=source)
        if attempt.refused:
            self.assertEqual(attempt.reason, BANNED_TEXT, repr(attempt))
        else:
            self.assertEqual(attempt.types, [2], repr(attempt))
        return attempt.refused

    def fail_raw(self, proxy: Proxy, source: str):
        """MAX_FAILURES wrong VncAuth answers from `source`, each failed by Xvnc."""
        for _ in range(MAX_FAILURES):
            attempt = rfb_attempt("127.0.0.1", proxy.port(), source=source, vnc_response=bytes(16))
            self.assertEqual((attempt.result, attempt.reason), (1, XVNC_FAILURE), repr(attempt))

    def ban_records(self) -> list:
        return self.records_of("ban")

    # ---- tests ----

    def test_a_ban_through_one_proxy_is_refused_by_the_other_and_unbanned_on_both(self):
        for _ in range(MAX_FAILURES):
            viewer = run_viewer(self.a.port(), password="wrong-pw", capture=False)
            self.assert_viewer_refused(viewer, XVNC_FAILURE)
        fifth_failed = time.monotonic()
        wait_until(lambda: self.refuses(self.b), timeout=1.0, interval=0.02,
                   what="the second proxy refusing 127.0.0.1")
        self.assertLess(time.monotonic() - fifth_failed, 1.0)
        # A real viewer with the right password, told why in RFB's words.
        viewer = run_viewer(self.b.port(), password=self.xvnc.password)
        self.assert_viewer_refused(viewer, BANNED_TEXT)
        self.b.log().wait_for(r"blocking: 127\.0\.0\.1 banned through another proxy until ")
        self.b.log().wait_for(rf"blocked: client 127\.0\.0\.1 refused \(banned\): {re.escape(BANNED_TEXT)}$")
        # One `ban` event, from the proxy where it started; ctl lists it on both.
        (ban,) = self.wait_event_records("ban")
        self.assertEqual((ban["listen"], ban["failures"]), (f"127.0.0.1:{self.a.port()}", str(MAX_FAILURES)))
        for proxy in (self.a, self.b):
            listed = run_ctl(["bans"], socket_path=proxy.control_socket)
            self.assertEqual(listed.returncode, 0, listed.stderr)
            self.assertIn("127.0.0.1", listed.stdout)
            self.assertIn(ban["ban_until"], listed.stdout)

        unbanned = run_ctl(["unban", "127.0.0.1"], socket_path=self.b.control_socket)
        self.assertEqual(unbanned.returncode, 0, unbanned.stdout + unbanned.stderr)
        self.assertFalse(self.refuses(self.b))
        wait_until(lambda: not self.refuses(self.a), timeout=1.0, interval=0.02,
                   what="the first proxy lifting the ban")
        self.a.log().wait_for(r"blocking: 127\.0\.0\.1 unbanned through another proxy$")
        self.assert_healthy_login(self.a.port(), self.xvnc)
        self.assertEqual(len(self.ban_records()), 1)
        self.assertEqual((self.gauge(self.a), self.gauge(self.b)), (1.0, 1.0))
        # SIGTERM ends a proxy promptly with its Redis connections open.
        for proxy in (self.a, self.b):
            self.stop_proxy_and_check_exit(proxy)

    def test_redis_down_each_proxy_bans_alone_and_merges_when_it_is_back(self):
        self.redis.kill()
        for proxy in (self.a, self.b):
            proxy.log().wait_for(DOWN_RE)
            wait_until(lambda: self.gauge(proxy) == 0.0, what="the shared bans gauge at 0")
        # Each proxy still counts and bans, on its own.
        self.fail_raw(self.a, "127.0.0.2")
        wait_until(lambda: self.refuses(self.a, "127.0.0.2"), timeout=2, what="a banning 127.0.0.2")
        self.fail_raw(self.b, "127.0.0.3")
        wait_until(lambda: self.refuses(self.b, "127.0.0.3"), timeout=2, what="b banning 127.0.0.3")
        self.assertFalse(self.refuses(self.b, "127.0.0.2"))
        self.assertFalse(self.refuses(self.a, "127.0.0.3"))
        bans = self.wait_event_records("ban", 2)
        self.assertEqual(sorted((r["client_ip"], r["listen"]) for r in bans),
                         [("127.0.0.2", f"127.0.0.1:{self.a.port()}"),
                          ("127.0.0.3", f"127.0.0.1:{self.b.port()}")])

        self.redis.start()  # on the same port, empty
        for proxy in (self.a, self.b):
            proxy.log().wait_for(BACK_RE, timeout=5)
            self.assertEqual(len(proxy.log().matching(DOWN_RE)), 1, "down is said once")
            self.assertEqual(self.gauge(proxy), 1.0)
        wait_until(lambda: self.refuses(self.b, "127.0.0.2") and self.refuses(self.a, "127.0.0.3"),
                   timeout=2, what="each proxy refusing the other's ban")
        # Both bans are in Redis now, under the documented keys.
        for source in ("127.0.0.2", "127.0.0.3"):
            fields = self.redis.command("HGETALL", f"vnc-hooks-manager:bans:ban:{source}")
            self.assertEqual(dict(zip(fields[0::2], fields[1::2]))["failures"], str(MAX_FAILURES))
        self.assertEqual(len(self.ban_records()), 2, "merged bans are not announced again")
        # SIGTERM ends a proxy promptly while it waits to try Redis again.
        self.redis.kill()
        for proxy in (self.a, self.b):
            proxy.log().wait_for(DOWN_RE, count=2)
            self.stop_proxy_and_check_exit(proxy)
