"""How hooks run next to real sessions: a hanging hook is killed on timeout
without slowing the relay, a flooding hook cannot stall the proxy or the log,
output and exit codes are logged per hook and session, and max_sessions caps
concurrent sessions."""
import json
import re
import time
import unittest

from vhm_harness import (XvncTestCase, pid_alive, read_records, record_cmd, recv_exact,
                         recv_until_eof, run_viewer, wait_records, wait_session_done,
                         wait_until)


class HookExecution(XvncTestCase):
    xvnc_options = {"security": "VncAuth", "desktop": "vhm-it hooks desk"}

    def listener(self, **extra):
        return dict({"listen": "127.0.0.1:0", "target": self.xvnc.target}, **extra)

    def start_hanging_hook_session(self):
        """A connect hook that ignores SIGTERM and never ends (timeout 1 s)."""
        pid_file = self.tmp / "hang.json"
        events = {
            "connect": [{"name": "hang_connect", "cmd": f"hang.py {pid_file}", "timeout": 1}],
            "disconnect": [{"name": "record_disconnect", "cmd": record_cmd(self.events_file)}],
        }
        proxy = self.start_proxy(self.config([self.listener()], events,
                                             {"kill_grace": "500ms"}))
        viewer = run_viewer(proxy.port(), password=self.xvnc.password)
        viewer_done = time.time()
        self.assert_viewer_ok(viewer)
        info = wait_until(lambda: pid_file.exists() and json.loads(pid_file.read_text()),
                          timeout=5, what="the hanging hook to start")
        return proxy, viewer, viewer_done, info

    def test_hanging_hook_is_killed_after_timeout_while_the_relay_stays_fast(self):
        proxy, viewer, viewer_done, info = self.start_hanging_hook_session()
        # The whole login + capture finished while the hook was still running
        # (it cannot be killed before started + timeout).
        self.assertLess(viewer_done, info["started"] + 1.0,
                        f"viewer finished {viewer_done - info['started']:.2f}s after the hook "
                        "started: the relay waited for the hook")
        self.assertLess(viewer.elapsed, 1.0, f"login through the proxy was slow: {viewer}")
        # SIGTERM is ignored by the hook, so this needs SIGKILL to its group.
        wait_until(lambda: not pid_alive(info["pid"]) and not pid_alive(info["child_pid"]),
                   timeout=1.0 + 0.5 + 5, what="the timed-out hook and its child to be killed")
        (records,) = wait_session_done(self.events_file).values()
        session_id = records[0].session_id
        proxy.log().wait_for(rf"(?=.*hang_connect)(?=.*{session_id})(?=.*(timed out|timeout))",
                             flags=re.IGNORECASE)
        self.assertTrue(proxy.alive())

    def test_disconnect_hook_starts_only_after_the_timed_out_connect_hook(self):
        _, _, _, info = self.start_hanging_hook_session()
        (records,) = wait_session_done(self.events_file).values()
        self.assertGreaterEqual(records[-1].raw["time"], info["started"] + 1.0 - 0.05,
                                "disconnect hook ran before the connect hook timed out")

    def test_flooding_hook_output_is_capped_and_the_proxy_stays_responsive(self):
        max_lines = 20
        markers = self.tmp / "flood-done"
        events = {
            "connect": [{"name": "flood_connect", "cmd": f"flood.py {markers}", "timeout": 30}],
            "disconnect": [{"name": "record_disconnect", "cmd": record_cmd(self.events_file)}],
        }
        proxy = self.start_proxy(self.config([self.listener()], events,
                                             {"hook_output_max_lines": max_lines}))
        first = run_viewer(proxy.port(), password=self.xvnc.password)
        self.assert_viewer_ok(first)
        # While the first session's hook floods, more sessions are served promptly.
        for _ in range(2):
            later = run_viewer(proxy.port(), password=self.xvnc.password)
            self.assert_viewer_ok(later)
            self.assertLess(later.elapsed, 3.0, f"proxy sluggish during a flood: {later}")
        # The hook could write all 100000 lines: its output was drained, not blocked.
        wait_until(markers.exists, timeout=30, what="the flooding hook to finish writing")
        sessions = wait_session_done(self.events_file, count=3, timeout=30)
        self.assertTrue(proxy.alive())
        for session_id in sessions:
            flood_lines = proxy.log().matching(rf"{session_id}.*FLOOD|FLOOD.*{session_id}")
            self.assertGreater(len(flood_lines), 0, "hook output was not logged at all")
            self.assertLessEqual(len(flood_lines), max_lines,
                                 f"{len(flood_lines)} output lines logged for {session_id}")

    def test_hook_output_and_exit_code_are_logged_with_hook_name_and_session(self):
        events = {
            "connect": [{"name": "say_bye", "cmd": "exit_with.py 7"}],
            "disconnect": [{"name": "record_disconnect", "cmd": record_cmd(self.events_file)}],
        }
        proxy = self.start_proxy(self.config([self.listener()], events))
        self.assert_viewer_ok(run_viewer(proxy.port(), password=self.xvnc.password))
        (session_id,) = wait_session_done(self.events_file).keys()
        log = proxy.log()
        log.wait_for(rf"(?=.*say_bye)(?=.*{session_id})(?=.*exit_with hook says goodbye with 7)")
        log.wait_for(rf"(?=.*say_bye)(?=.*{session_id})(?=.*(exit|status|code)\D*7\b)",
                     flags=re.IGNORECASE)

    def test_max_sessions_closes_connections_over_the_cap_without_events(self):
        events = {kind: [{"name": f"record_{kind}", "cmd": record_cmd(self.events_file)}]
                  for kind in ("connect", "disconnect")}
        proxy = self.start_proxy(self.config([self.listener()], events, {"max_sessions": 1}))
        holder = self.client(proxy.port())
        self.assertEqual(recv_exact(holder, 12), b"RFB 003.008\n")  # session 1 is live
        wait_records(self.events_file, lambda r: len(r) == 1, what="the first connect")

        extra = self.client(proxy.port())
        self.assertEqual(recv_until_eof(extra, timeout=5), b"",
                         "over-the-cap connection got data")
        proxy.log().wait_for(r"max.?sessions|session limit|too many sessions",
                             flags=re.IGNORECASE)
        holder.close()
        wait_session_done(self.events_file)
        # The slot is free again: a real session works, and the refused
        # connection never produced an event.
        self.assert_healthy_login(proxy.port(), self.xvnc)
        wait_session_done(self.events_file, count=2)
        self.assertEqual([r.event for r in read_records(self.events_file)],
                         ["connect", "disconnect"] * 2)


if __name__ == "__main__":
    unittest.main()
