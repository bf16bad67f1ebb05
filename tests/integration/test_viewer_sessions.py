"""A real viewer (Net::VNC) through the proxy to a real server (TigerVNC Xvnc):
the events and every field the hooks see, for password success, password
failure, security None, the built-in log action and an IPv6 listener."""
import datetime
import json
import math
import time
import unittest

from vhm_harness import (FIELDS, SESSION_ID_RE, TIMESTAMP_RE, XvncTestCase, read_records,
                         record_hooks, run_viewer, wait_session_done, wait_until)

# Fields that the proxy cannot know at `connect` (before dialing the target);
# the counters (duration, bytes_*) are only known at `disconnect`.
UNKNOWN_AT_CONNECT = ["rfb_version", "security_type", "desktop_name", "width", "height",
                      "reason"]
COUNTERS = ["duration", "bytes_in", "bytes_out"]


def parse_timestamp(text: str) -> float:
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class SessionFieldChecks:
    """Assertions on one session's hook records (mixed into the test cases)."""

    def assert_argv_matches_env(self, record):
        for field in FIELDS:
            env_name = "VNC_" + field.upper()
            self.assertIn(field, record.args, f"{record.event}: argument {field}= missing")
            self.assertIn(env_name, record.env, f"{record.event}: {env_name} not exported")
            self.assertEqual(record.args[field], record.env[env_name],
                             f"{record.event}: {{{field}}} differs from ${env_name}")

    def assert_common_fields(self, record, proxy_port, viewer, user, listen_host="127.0.0.1",
                             client_ip="127.0.0.1"):
        listen = (f"[{listen_host}]" if ":" in listen_host else listen_host) + f":{proxy_port}"
        expected = {
            "client_ip": client_ip,
            "client_port": viewer.values["local_port"],
            "listen": listen,
            "target_host": "127.0.0.1",
            "target_port": str(self.xvnc.port),
            "display": self.xvnc.display,
            "user": user,
        }
        self.assertEqual({k: record[k] for k in expected}, expected, f"{record.event} fields")
        self.assertRegex(record["session_id"], SESSION_ID_RE)
        self.assertRegex(record["timestamp"], TIMESTAMP_RE)

    def assert_connect_fields(self, record):
        self.assertEqual(record["event"], "connect")
        for field in UNKNOWN_AT_CONNECT + COUNTERS:
            self.assertEqual(record[field], "", f"connect: {field} should be empty")

    def assert_after_auth_fields(self, record, security_type):
        """auth_success fires at the SecurityResult, before ServerInit: the
        ServerInit fields and the end-of-session counters are not known yet."""
        self.assertEqual(record["event"], "auth_success")
        self.assertEqual(record["rfb_version"], "3.8")
        self.assertEqual(record["security_type"], security_type)
        for field in ["reason", "desktop_name", "width", "height"] + COUNTERS:
            self.assertEqual(record[field], "", f"auth_success: {field} should be empty")

    def assert_disconnect_fields(self, record, viewer, security_type, min_duration,
                                 max_duration):
        self.assertEqual(record["event"], "disconnect")
        self.assertEqual(record["reason"], "client_closed")
        self.assertEqual(record["rfb_version"], "3.8")
        self.assertEqual(record["security_type"], security_type)
        self.assertEqual(record["desktop_name"], self.xvnc.desktop)
        self.assertEqual(record["desktop_name"], viewer.name)
        self.assertEqual(record["width"], str(self.xvnc.width))
        self.assertEqual(record["height"], str(self.xvnc.height))
        self.assertRegex(record["duration"], r"^\d+$")
        self.assertGreaterEqual(int(record["duration"]), min_duration)
        self.assertLessEqual(int(record["duration"]), max_duration)
        # bytes_in: viewer -> server, exactly what Net::VNC wrote.
        self.assertEqual(record["bytes_in"], viewer.values["bytes_sent"])
        # bytes_out: server -> viewer, at least what Net::VNC read.
        self.assertRegex(record["bytes_out"], r"^\d+$")
        self.assertGreater(int(record["bytes_out"]), 0)
        self.assertGreaterEqual(int(record["bytes_out"]), viewer.int("bytes_received"))

    def assert_timestamps_ordered_within(self, records, started, finished):
        stamps = [parse_timestamp(r["timestamp"]) for r in records]
        self.assertEqual(stamps, sorted(stamps), "timestamps out of order")
        self.assertGreaterEqual(stamps[0], started - 1.0)
        self.assertLessEqual(stamps[-1], finished + 1.0)


class VncAuthSessions(SessionFieldChecks, XvncTestCase):
    xvnc_options = {"security": "VncAuth", "geometry": (1024, 720),
                    "desktop": "vhm-it auth desk"}

    def listener(self, **extra):
        return dict({"listen": "127.0.0.1:0", "target": self.xvnc.target}, **extra)

    def run_full_session(self, user_setting, expected_user, hold):
        events = record_hooks(self.events_file)
        listener = self.listener(**({"user": user_setting} if user_setting else {}))
        proxy = self.start_proxy(self.config([listener], events))
        started = time.time()
        viewer = run_viewer(proxy.port(), password=self.xvnc.password, hold=hold)
        finished = time.time()
        self.assert_viewer_ok(viewer)
        self.assertEqual(viewer.values.get("captured"), f"{self.xvnc.width}x{self.xvnc.height}")
        (records,) = wait_session_done(self.events_file).values()
        self.assertEqual([r.event for r in records], ["connect", "auth_success", "disconnect"])
        self.assertEqual(len({r["session_id"] for r in records}), 1, "session_id changed")
        for record in records:
            self.assert_argv_matches_env(record)
            self.assert_common_fields(record, proxy.port(), viewer, expected_user)
        connect, auth, disconnect = records
        self.assert_connect_fields(connect)
        self.assert_after_auth_fields(auth, "VncAuth")
        self.assert_disconnect_fields(disconnect, viewer, "VncAuth", min_duration=int(hold),
                                      max_duration=math.ceil(finished - started) + 1)
        self.assert_timestamps_ordered_within(records, started, finished)
        return records

    def test_correct_password_captures_and_hooks_see_every_field_with_listener_user(self):
        # The viewer stays 2.2 s after its capture so the duration is measurable.
        self.run_full_session("alice", "alice", hold=2.2)

    def test_user_falls_back_to_the_owner_of_the_target_port_root(self):
        self.run_full_session(None, "root", hold=0)

    def test_each_session_gets_its_own_session_id(self):
        proxy = self.start_proxy(self.config([self.listener()], record_hooks(self.events_file)))
        for _ in range(3):
            self.assert_viewer_ok(run_viewer(proxy.port(), password=self.xvnc.password))
        sessions = wait_session_done(self.events_file, count=3)
        self.assertEqual(len(sessions), 3, f"expected 3 distinct session ids: {list(sessions)}")
        for session_id, records in sessions.items():
            self.assertRegex(session_id, SESSION_ID_RE)
            self.assertEqual([r.event for r in records], ["connect", "auth_success", "disconnect"])

    def test_wrong_password_fires_auth_failure_with_server_reason_then_disconnect(self):
        proxy = self.start_proxy(self.config([self.listener()], record_hooks(self.events_file)))
        viewer = run_viewer(proxy.port(), password="not-the-password")
        self.assertNotEqual(viewer.returncode, 0, f"viewer should fail: {viewer}")
        self.assertIn("login failed", viewer.values.get("error", ""))
        (records,) = wait_session_done(self.events_file).values()
        self.assertEqual([r.event for r in records], ["connect", "auth_failure", "disconnect"])
        self.assertEqual(len({r["session_id"] for r in records}), 1)
        for record in records:
            self.assert_argv_matches_env(record)
            self.assert_common_fields(record, proxy.port(), viewer, "root")
        failure, disconnect = records[1], records[2]
        self.assertEqual(failure["reason"], "Authentication failure")
        self.assertEqual(failure["rfb_version"], "3.8")
        self.assertEqual(failure["security_type"], "VncAuth")
        # Xvnc closes after the failure while Net::VNC exits: either may be first.
        self.assertIn(disconnect["reason"], ("client_closed", "server_closed"))
        self.assertEqual(disconnect["desktop_name"], "")
        self.assertEqual(disconnect["width"], "")
        self.assertEqual(disconnect["bytes_in"], viewer.values["bytes_sent"])
        self.assertGreaterEqual(int(disconnect["bytes_out"]), viewer.int("bytes_received"))

    def test_log_action_writes_one_json_line_per_event_with_all_fields(self):
        audit = self.tmp / "audit.jsonl"
        events = record_hooks(self.events_file)
        for kind in events:
            events[kind].append({"name": f"audit_{kind}", "action": "log", "path": str(audit)})
        proxy = self.start_proxy(self.config([self.listener(user="bob")], events))
        viewer = run_viewer(proxy.port(), password=self.xvnc.password)
        self.assert_viewer_ok(viewer)
        wait_session_done(self.events_file)
        wait_until(lambda: audit.exists() and audit.read_text().count("\n") >= 3, timeout=10,
                   what="3 lines in the log action's file")
        lines = audit.read_text().splitlines()
        self.assertEqual(len(lines), 3, f"audit log:\n{audit.read_text()}")
        logged = [json.loads(line) for line in lines]
        self.assertEqual([e.get("event") for e in logged],
                         ["connect", "auth_success", "disconnect"])
        recorded = read_records(self.events_file)
        for entry, record in zip(logged, recorded):
            for field in FIELDS:
                self.assertIn(field, entry, f"{entry.get('event')}: {field} missing")
                self.assertEqual(str(entry[field]), record[field],
                                 f"{entry.get('event')}: log action {field} != hook {field}")
        self.assertEqual(logged[2]["desktop_name"], self.xvnc.desktop)
        self.assertEqual(logged[2]["user"], "bob")

    def test_ipv6_listener_on_loopback_relays_a_real_session(self):
        listener = {"listen": "[::1]:0", "target": self.xvnc.target}
        proxy = self.start_proxy(self.config([listener], record_hooks(self.events_file)),
                                 listeners=1)
        host, port = proxy.endpoint()
        self.assertEqual(host, "::1")
        viewer = run_viewer(port, host="::1", password=self.xvnc.password)
        self.assert_viewer_ok(viewer)
        self.assertEqual(viewer.values.get("captured"), f"{self.xvnc.width}x{self.xvnc.height}")
        sessions = wait_session_done(self.events_file)
        (records,) = sessions.values()
        self.assertEqual([r.event for r in records], ["connect", "auth_success", "disconnect"])
        for record in records:
            self.assert_common_fields(record, port, viewer, "root", listen_host="::1",
                                      client_ip="::1")
        self.assertEqual(records[2]["reason"], "client_closed")
        self.assertEqual(records[2]["bytes_in"], viewer.values["bytes_sent"])


class NoneSecuritySessions(SessionFieldChecks, XvncTestCase):
    xvnc_options = {"security": "None", "geometry": (640, 400), "desktop": "vhm-it open desk"}

    def test_security_none_fires_auth_success_with_security_type_none(self):
        listener = {"listen": "127.0.0.1:0", "target": self.xvnc.target, "user": "carol"}
        proxy = self.start_proxy(self.config([listener], record_hooks(self.events_file)))
        started = time.time()
        viewer = run_viewer(proxy.port(), password=None)
        finished = time.time()
        self.assert_viewer_ok(viewer)
        (records,) = wait_session_done(self.events_file).values()
        self.assertEqual([r.event for r in records], ["connect", "auth_success", "disconnect"])
        for record in records:
            self.assert_argv_matches_env(record)
            self.assert_common_fields(record, proxy.port(), viewer, "carol")
        self.assert_connect_fields(records[0])
        self.assert_after_auth_fields(records[1], "None")
        self.assert_disconnect_fields(records[2], viewer, "None", min_duration=0,
                                      max_duration=math.ceil(finished - started) + 1)


if __name__ == "__main__":
    unittest.main()
