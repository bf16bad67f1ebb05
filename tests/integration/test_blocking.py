"""Auth-failure blocking (issue 3) with a real viewer (Net::VNC) and a real
server (Xvnc with a password): failures start a ban, a banned client is told
why in RFB's own words before any server is dialed, bans survive a restart
through the state file, allow-listed clients are never banned, concurrent
failures are counted exactly, and the fail2ban filter matches the failure
log lines."""
import concurrent.futures
import datetime
import json
import os
import re
import shutil
import stat
import subprocess
import threading
import time
import unittest
from pathlib import Path

from vhm_harness import (HERE, IntegrationTest, PolicyTestCase, TIMESTAMP_RE,
                         failing_vnc_auth_server, make_config, rfb_attempt, run_ctl, run_viewer,
                         wait_listening_in_file, wait_until)

BLOCKING = {"max_failures": 3, "window": "10m", "ban": "1h"}
BAN_SECONDS = 3600
BANNED_TEXT = "Too many authentication failures; try again in 60 minutes"
WRONG_PASSWORD = "wrong-pw"
XVNC_FAILURE = "Authentication failure"  # Xvnc's SecurityResult reason
SOURCE_DIR = Path(os.environ.get("VHM_SOURCE_DIR", HERE.parent.parent))
FAIL2BAN_FILTER = SOURCE_DIR / "packaging" / "fail2ban" / "filter.d" / "vnc-hooks-manager.conf"


def parse_iso(text: str) -> float:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class BlockingBase(PolicyTestCase):

    def fail_logins(self, port: int, count: int) -> list:
        """`count` Net::VNC logins with a wrong password, each failed by Xvnc."""
        viewers = [run_viewer(port, password=WRONG_PASSWORD, capture=False)
                   for _ in range(count)]
        for viewer in viewers:
            self.assert_viewer_refused(viewer, XVNC_FAILURE)
        return viewers

    def ban_localhost(self, proxy):
        """Three wrong passwords from 127.0.0.1; returns (viewers, ban record)."""
        viewers = self.fail_logins(proxy.port(), BLOCKING["max_failures"])
        (ban,) = self.wait_event_records("ban")
        return viewers, ban


class Blocking(BlockingBase):

    def test_third_failure_in_the_window_fires_one_ban_event_and_logs_it(self):
        proxy = self.start_proxy(self.policy_config(blocking=BLOCKING))
        started = time.time()
        viewers, ban = self.ban_localhost(proxy)
        finished = time.time()
        # The ban carries the fields of the session whose failure started it.
        failures = self.wait_event_records("auth_failure", 3)
        third = [r for r in failures if r["client_port"] == viewers[2].values["local_port"]]
        self.assertEqual(len(third), 1, f"auth_failure of the third viewer: {failures}")
        self.assertEqual(ban.session_id, third[0].session_id)
        expected = {"client_ip": "127.0.0.1", "client_port": viewers[2].values["local_port"],
                    "listen": f"127.0.0.1:{proxy.port()}", "target_host": "127.0.0.1",
                    "target_port": str(self.xvnc.port), "display": self.xvnc.display,
                    "rfb_version": "3.8", "security_type": "VncAuth",
                    "failures": "3", "reason": "too many authentication failures"}
        self.assertEqual({k: ban.get(k) for k in expected}, expected, repr(ban))
        self.assertRegex(ban["ban_until"], TIMESTAMP_RE)
        until = parse_iso(ban["ban_until"])
        self.assertGreaterEqual(until, started + BAN_SECONDS - 1)
        self.assertLessEqual(until, finished + BAN_SECONDS + 1)
        proxy.log().wait_for(
            rf"ban: client 127\.0\.0\.1 banned until {re.escape(ban['ban_until'])} "
            rf"\(3 failures, key 127\.0\.0\.1, {BAN_SECONDS}s\)$")
        self.stop_proxy_and_check_exit(proxy)
        self.assertEqual(len(self.records_of("ban")), 1)
        self.assertEqual(len(self.records_of("auth_failure")), 3)
        self.assertEqual(self.records_of("blocked"), [])

    def test_two_failures_do_not_ban_and_the_right_password_still_works(self):
        proxy = self.start_proxy(self.policy_config(blocking=BLOCKING))
        self.fail_logins(proxy.port(), BLOCKING["max_failures"] - 1)
        self.assert_healthy_login(proxy.port(), self.xvnc)
        self.stop_proxy_and_check_exit(proxy)
        self.assertEqual(self.records_of("ban"), [])
        self.assertEqual(self.records_of("blocked"), [])

    def test_banned_viewer_with_the_right_password_is_refused_and_no_server_is_dialed(self):
        proxy = self.start_proxy(self.policy_config(blocking=BLOCKING))
        _, ban = self.ban_localhost(proxy)
        self.xvnc.log_barrier()  # the three failed sessions' accepts are logged
        mark = len(self.xvnc.accepted_ports())
        viewer = run_viewer(proxy.port(), password=self.xvnc.password)
        self.assert_viewer_refused(viewer, BANNED_TEXT)
        (blocked,) = self.wait_event_records("blocked")
        self.assert_blocked_record(blocked, "banned", int(viewer.values["local_port"]),
                                   proxy.port())
        self.assertEqual((blocked["failures"], blocked["ban_until"]),
                         ("3", ban["ban_until"]))
        proxy.log().wait_for(rf"blocked: client 127\.0\.0\.1 refused \(banned\): "
                             rf"{re.escape(BANNED_TEXT)}$")
        self.assertEqual(self.xvnc.accepted_since(mark), [],
                         "Xvnc accepted a connection for a banned client")
        self.stop_proxy_and_check_exit(proxy)
        self.assertEqual(len(self.records_of("connect")), 3)
        self.assertEqual(len(self.records_of("disconnect")), 3)
        self.assert_never_a_session([blocked])

    def test_banned_raw_clients_get_the_reason_in_3_8_3_7_and_3_3_framing(self):
        proxy = self.start_proxy(self.policy_config(blocking=BLOCKING))
        self.ban_localhost(proxy)
        self.xvnc.log_barrier()
        mark = len(self.xvnc.accepted_ports())
        attempts = {}
        for version in (b"RFB 003.008\n", b"RFB 003.007\n", b"RFB 003.003\n"):
            attempt = rfb_attempt("127.0.0.1", proxy.port(), client_version=version)
            attempts[version] = attempt
            self.assertEqual(attempt.greeting, b"RFB 003.008\n", repr(attempt))
            self.assertTrue(attempt.refused, f"{version!r}: not refused: {attempt}")
            self.assertEqual(attempt.reason, BANNED_TEXT, repr(attempt))
            self.assertTrue(attempt.closed_after, f"{version!r}: proxy did not close")
        # The ban is per client address: 127.0.0.2 still reaches the server.
        other = rfb_attempt("127.0.0.1", proxy.port(), source="127.0.0.2")
        self.assertFalse(other.refused, repr(other))
        self.assertEqual(other.types, [2])
        blocked = self.wait_event_records("blocked", 3)
        self.assertEqual(sorted(int(r["client_port"]) for r in blocked),
                         sorted(a.client_port for a in attempts.values()))
        for record in blocked:
            self.assert_blocked_record(record, "banned", int(record["client_port"]),
                                       proxy.port())
        self.assertEqual(len(self.xvnc.accepted_since(mark)), 1,
                         "only the 127.0.0.2 client should have reached Xvnc")
        self.stop_proxy_and_check_exit(proxy)
        self.assert_never_a_session(blocked)
        self.assertEqual(len(self.records_of("blocked")), 3)


class BanPersistence(BlockingBase):

    def config_with_state(self) -> tuple[str, Path]:
        state = self.tmp / "bans.json"
        return self.policy_config(blocking=dict(BLOCKING, state_file=str(state))), state

    def test_ban_survives_a_restart_through_the_state_file(self):
        config, state = self.config_with_state()
        proxy = self.start_proxy(config)
        _, ban = self.ban_localhost(proxy)
        self.stop_proxy_and_check_exit(proxy)
        self.assertTrue(state.exists(), "no state file after a ban and a graceful stop")
        self.assertEqual(stat.S_IMODE(state.stat().st_mode), 0o600, "state file mode")
        saved = json.loads(state.read_text())  # valid JSON
        self.assertIn("127.0.0.1", json.dumps(saved), f"the ban is not in the file: {saved}")

        again = self.start_proxy(config)
        attempt = rfb_attempt("127.0.0.1", again.port())
        self.assertTrue(attempt.refused, f"not banned after the restart: {attempt}")
        (blocked,) = self.wait_event_records("blocked")
        self.assert_blocked_record(blocked, "banned", attempt.client_port, again.port())
        self.assertEqual(blocked["failures"], "3")
        self.assertEqual(blocked["ban_until"], ban["ban_until"],
                         "the restored ban ends at another time than the original")
        self.assertEqual(attempt.reason, BANNED_TEXT)

    def test_corrupt_state_file_is_logged_and_the_proxy_starts_without_bans(self):
        config, state = self.config_with_state()
        proxy = self.start_proxy(config)
        self.ban_localhost(proxy)
        self.stop_proxy_and_check_exit(proxy)
        data = state.read_bytes()
        self.assertIn(b"127.0.0.1", data)
        state.write_bytes(data[:len(data) // 2])  # a truncated write: not JSON

        again = self.start_proxy(config)
        again.log().wait_for(rf"(?=.*{re.escape(str(state))})(?=.* (warning|error|critical) )",
                             timeout=5)
        self.assertTrue(again.alive())
        self.assert_healthy_login(again.port(), self.xvnc)
        self.stop_proxy_and_check_exit(again)
        self.assertEqual(self.records_of("blocked"), [])


class AllowList(BlockingBase):

    def test_allow_listed_client_is_never_banned_while_others_are(self):
        blocking = dict(BLOCKING, allow=["127.0.0.1"])
        proxy = self.start_proxy(self.policy_config(blocking=blocking))
        self.fail_logins(proxy.port(), 2 * BLOCKING["max_failures"])
        # The same failures from an address that is not allowed start a ban.
        for _ in range(BLOCKING["max_failures"]):
            attempt = rfb_attempt("127.0.0.1", proxy.port(), source="127.0.0.2",
                                  vnc_response=bytes(16))
            self.assertEqual((attempt.result, attempt.reason), (1, XVNC_FAILURE), repr(attempt))
        (ban,) = self.wait_event_records("ban")
        self.assertEqual(ban["client_ip"], "127.0.0.2")
        refused = rfb_attempt("127.0.0.1", proxy.port(), source="127.0.0.2")
        self.assertTrue(refused.refused, repr(refused))
        self.assertEqual(refused.reason, BANNED_TEXT)
        # The allow-listed address still logs in.
        self.assert_healthy_login(proxy.port(), self.xvnc)
        self.stop_proxy_and_check_exit(proxy)
        self.assertEqual([r["client_ip"] for r in self.records_of("ban")], ["127.0.0.2"])
        local_failures = [r for r in self.records_of("auth_failure")
                          if r["client_ip"] == "127.0.0.1"]
        self.assertEqual(len(local_failures), 2 * BLOCKING["max_failures"])
        self.assertEqual([r["client_ip"] for r in self.records_of("blocked")], ["127.0.0.2"])


SOURCES = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]
PER_SOURCE = 50
FAKE_REASON = "fake: wrong password"


class ConcurrentFailures(IntegrationTest):
    """200 simultaneous wrong-password attempts from four client addresses
    against a fake server that fails every login (no Xvnc: the point is the
    proxy's counting, not real DES)."""

    def start(self, max_failures: int):
        server = self.fake_server(failing_vnc_auth_server(FAKE_REASON.encode()), backlog=512)
        self.audit = self.tmp / "audit.jsonl"
        self.socket_path = self.tmp / "control.sock"
        events = {kind: [{"name": f"audit_{kind}", "action": "log", "path": str(self.audit)}]
                  for kind in ("auth_failure", "ban", "blocked")}
        config = make_config([{"listen": "127.0.0.1:0", "target": server.target}], events, None,
                             {"blocking": {"max_failures": max_failures, "window": "10m",
                                           "ban": "1h"},
                              "control": {"socket": str(self.socket_path)}})
        return self.start_proxy(config)

    def attempt_all_at_once(self, port: int) -> list:
        sources = [s for s in SOURCES for _ in range(PER_SOURCE)]
        barrier = threading.Barrier(len(sources))

        def attempt(source):
            barrier.wait(timeout=30)
            return source, rfb_attempt("127.0.0.1", port, source=source,
                                       vnc_response=bytes(16), timeout=30)
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(sources)) as pool:
            results = list(pool.map(attempt, sources))
        for source, result in results:
            self.assertEqual((result.refused, result.result, result.reason),
                             (False, 1, FAKE_REASON), f"{source}: {result}")
        return results

    def ctl_bans(self) -> dict:
        done = run_ctl(["--json", "bans"], socket_path=self.socket_path)
        self.assertEqual(done.returncode, 0, f"ctl bans: {done}")
        response = json.loads(done.stdout)
        self.assertTrue(response.get("ok"), response)
        return {row["key"]: row for row in response["bans"]}

    def audit_records(self, kind: str) -> list[dict]:
        if not self.audit.exists():
            return []
        return [r for r in map(json.loads, self.audit.read_text().splitlines())
                if r["event"] == kind]

    def per_source(self, rows) -> dict:
        counts = {}
        for ip in rows:
            counts[ip] = counts.get(ip, 0) + 1
        return counts

    def test_parallel_failures_are_counted_exactly_per_address(self):
        # One below the threshold: an over-count (a failure counted twice)
        # would ban; then exactly one more failure per address must ban.
        proxy = self.start(max_failures=PER_SOURCE + 1)
        self.attempt_all_at_once(proxy.port())
        for source in SOURCES:
            proxy.log().wait_for(
                rf"authentication failed for client {re.escape(source)} \(VncAuth\)",
                count=PER_SOURCE)
        wait_until(lambda: len(self.audit_records("auth_failure")) >= len(SOURCES) * PER_SOURCE,
                   what="all auth_failure events")
        self.assertEqual(self.ctl_bans(), {}, "banned before max_failures")
        self.assertEqual(self.audit_records("ban"), [])
        for source in SOURCES:
            attempt = rfb_attempt("127.0.0.1", proxy.port(), source=source,
                                  vnc_response=bytes(16))
            self.assertEqual((attempt.result, attempt.reason), (1, FAKE_REASON), repr(attempt))
        wait_until(lambda: len(self.audit_records("ban")) >= len(SOURCES), timeout=10,
                   what="a ban event per address after one more failure each")
        bans = self.ctl_bans()
        self.assertEqual({key: row["failures"] for key, row in bans.items()},
                         {source: PER_SOURCE + 1 for source in SOURCES})
        self.stop_proxy_and_check_exit(proxy)
        for source in SOURCES:
            lines = proxy.log().matching(
                rf"authentication failed for client {re.escape(source)} \(VncAuth\)")
            self.assertEqual(len(lines), PER_SOURCE + 1, source)
        self.assertEqual(self.per_source(r["client_ip"] for r in self.audit_records(
            "auth_failure")), {source: PER_SOURCE + 1 for source in SOURCES})
        self.assertEqual(sorted(r["client_ip"] for r in self.audit_records("ban")), SOURCES)
        self.assertEqual(self.audit_records("blocked"), [])

    def test_parallel_failures_start_exactly_one_ban_per_address(self):
        proxy = self.start(max_failures=PER_SOURCE)
        self.attempt_all_at_once(proxy.port())
        wait_until(lambda: len(self.audit_records("ban")) >= len(SOURCES), timeout=10,
                   what="a ban event per address")
        bans = self.ctl_bans()
        self.assertEqual(sorted(bans), SOURCES)
        for key, row in bans.items():
            self.assertEqual(row["failures"], PER_SOURCE, f"{key}: {row}")
            self.assertTrue(row.get("banned_until"), f"{key}: not banned: {row}")
        for source in SOURCES:
            refused = rfb_attempt("127.0.0.1", proxy.port(), source=source)
            self.assertTrue(refused.refused, f"{source}: {refused}")
        self.stop_proxy_and_check_exit(proxy)
        ban_events = self.audit_records("ban")
        self.assertEqual(sorted(r["client_ip"] for r in ban_events), SOURCES)
        self.assertEqual({str(r["failures"]) for r in ban_events}, {str(PER_SOURCE)})
        self.assertEqual(len(proxy.log().matching(r"\bban: client ")), len(SOURCES))
        self.assertEqual(self.per_source(r["client_ip"] for r in self.audit_records("blocked")),
                         {source: 1 for source in SOURCES})


class Fail2banFilter(BlockingBase):

    def test_fail2ban_regex_matches_each_failure_with_the_client_address(self):
        self.assertIsNotNone(shutil.which("fail2ban-regex"),
                             "fail2ban-regex is missing: run scripts/install-deps.sh")
        self.assertTrue(FAIL2BAN_FILTER.exists(), f"missing filter {FAIL2BAN_FILTER}")
        log_file = self.tmp / "vnc-hooks-manager.log"
        proxy = self.start_proxy(self.policy_config(blocking=BLOCKING,
                                                    global_={"log_file": str(log_file)}),
                                 listeners=0)
        wait_listening_in_file(proxy, log_file)
        port = proxy.port()
        # Lines the filter must not match: a good session, a ban, a refusal.
        self.assert_healthy_login(port, self.xvnc)
        self.ban_localhost(proxy)
        self.assert_viewer_refused(run_viewer(port, password=self.xvnc.password), BANNED_TEXT)
        # And failures of a second client address.
        for _ in range(2):
            attempt = rfb_attempt("127.0.0.1", port, source="127.0.0.2", vnc_response=bytes(16))
            self.assertEqual(attempt.result, 1, repr(attempt))
        self.stop_proxy_and_check_exit(proxy)
        text = log_file.read_text()
        self.assertEqual(text.count("authentication failed for client"), 5, text)
        self.assertEqual(len(re.findall(r"\bban: client", text)), 1, text)
        self.assertEqual(len(re.findall(r"\bblocked: client", text)), 1, text)

        summary = subprocess.run(["fail2ban-regex", "-r", str(log_file), str(FAIL2BAN_FILTER)],
                                 capture_output=True, text=True, timeout=60)
        self.assertEqual(summary.returncode, 0, summary.stderr + summary.stdout)
        lines = re.search(r"Lines: (\d+) lines, (\d+) ignored, (\d+) matched", summary.stdout)
        self.assertIsNotNone(lines, summary.stdout)
        self.assertEqual(int(lines.group(3)), 5, summary.stdout)
        hosts = subprocess.run(["fail2ban-regex", "-r", "-o", "ip", str(log_file),
                                str(FAIL2BAN_FILTER)],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(hosts.returncode, 0, hosts.stderr)
        self.assertEqual(sorted(hosts.stdout.split()),
                         ["127.0.0.1"] * 3 + ["127.0.0.2"] * 2, hosts.stdout)


if __name__ == "__main__":
    unittest.main()
