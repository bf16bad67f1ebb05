"""The process as an operator sees it: graceful SIGTERM/SIGINT with live
sessions, --check-config, quick mode (--listen/--target) printing JSON events,
--version and --help."""
import json
import re
import signal
import subprocess
import unittest

from vhm_harness import (HOOKS_DIR, IntegrationTest, XvncTestCase, proxy_binary,
                         read_records, record_cmd, record_hooks, recv_exact, run_viewer,
                         wait_records, wait_session_done)


class GracefulShutdown(XvncTestCase):
    xvnc_options = {"security": "VncAuth", "desktop": "vhm-it shutdown desk"}

    def shutdown_with_live_sessions(self, sig):
        events = record_hooks(self.events_file, kinds=["connect", "auth_success"])
        # A slow disconnect hook: its records exist after exit only if the
        # proxy waited for running hooks before exiting.
        events["disconnect"] = [{"name": "slow_disconnect",
                                 "cmd": record_cmd(self.events_file, sleep=0.5)}]
        listener = {"listen": "127.0.0.1:0", "target": self.xvnc.target}
        # shutdown_grace 0: close at once (the grace itself: test_shutdown.py).
        proxy = self.start_proxy(self.config([listener], events, {"shutdown_grace": "0"}))
        viewers = [self.background_viewer(proxy.port(), password=self.xvnc.password, hold=30)
                   for _ in range(2)]
        for viewer in viewers:
            viewer.wait_for(r"^logged_in=1$")
        mid_handshake = self.client(proxy.port())
        self.assertEqual(recv_exact(mid_handshake, 12), b"RFB 003.008\n")
        wait_records(self.events_file,
                     lambda r: [x.event for x in r].count("connect") == 3, what="3 connects")

        self.stop_proxy_and_check_exit(proxy, sig)

        sessions = {}
        for record in read_records(self.events_file):
            sessions.setdefault(record.session_id, []).append(record)
        self.assertEqual(len(sessions), 3)
        for session_id, records in sessions.items():
            disconnects = [r for r in records if r.event == "disconnect"]
            self.assertEqual(len(disconnects), 1, f"session {session_id}: {records}")
            self.assertEqual(disconnects[0]["reason"], "shutdown")
        for viewer in viewers:
            result = viewer.result(timeout=10)
            self.assertEqual(result.values.get("eof"), "1", f"viewer not disconnected: {result}")

    def test_sigterm_fires_disconnect_with_reason_shutdown_for_every_session_and_exits_0(self):
        self.shutdown_with_live_sessions(signal.SIGTERM)

    def test_sigint_fires_disconnect_with_reason_shutdown_for_every_session_and_exits_0(self):
        self.shutdown_with_live_sessions(signal.SIGINT)

    def test_sigterm_with_no_sessions_exits_0(self):
        listener = {"listen": "127.0.0.1:0", "target": self.xvnc.target}
        proxy = self.start_proxy(self.config([listener], record_hooks(self.events_file)))
        self.stop_proxy_and_check_exit(proxy)

    def test_sigterm_after_a_finished_session_exits_0(self):
        listener = {"listen": "127.0.0.1:0", "target": self.xvnc.target}
        proxy = self.start_proxy(self.config([listener], record_hooks(self.events_file)))
        self.assert_healthy_login(proxy.port(), self.xvnc)
        wait_session_done(self.events_file)
        self.stop_proxy_and_check_exit(proxy)


class CheckConfig(IntegrationTest):
    GOOD = """\
global:
  hooks_dir: "{hooks}"
  log_level: "info"
  max_concurrent_hooks: 4
listeners:
  - listen: "127.0.0.1:0"
    target: "127.0.0.1:5901"
    user: "alice"
    handshake_timeout: "30s"
events:
  connect:
    - name: "record"
      cmd: "record_event.py /dev/null {{event}} {{session_id}}"
      timeout: "500ms"
  disconnect:
    - name: "audit"
      action: log
      path: "{tmp}/audit.jsonl"
"""

    def check(self, text):
        path = self.tmp / "check.yaml"
        path.write_text(text)
        done = subprocess.run([proxy_binary(), "--check-config", "--config", str(path)],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
        return path, done.returncode, (done.stdout + done.stderr).decode(errors="replace")

    def good_text(self):
        return self.GOOD.format(hooks=HOOKS_DIR, tmp=self.tmp)

    def bad_text(self, *replacements):
        text = self.good_text()
        for old, new in replacements:
            self.assertIn(old, text)
            text = text.replace(old, new, 1)
        return text

    @staticmethod
    def line_of(text, needle):
        return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)

    def assert_problem(self, output, path, line, key):
        self.assertRegex(output, rf"{re.escape(str(path))}:{line}: [^\s:]*{key}[^\s:]*: \S",
                         f"no '{path}:{line}: ...{key}...: message' in:\n{output}")

    def test_valid_config_exits_0_and_says_config_ok(self):
        _, code, output = self.check(self.good_text())
        self.assertEqual(code, 0, output)
        self.assertIn("config OK", output)

    def test_unknown_key_is_reported_with_file_line_and_key(self):
        text = self.bad_text(("  max_concurrent_hooks: 4\n",
                              "  max_concurrent_hooks: 4\n  colour_scheme: blue\n"))
        path, code, output = self.check(text)
        self.assertNotEqual(code, 0, output)
        self.assert_problem(output, path, self.line_of(text, "colour_scheme"), "colour_scheme")

    def test_bad_listen_address_is_reported_with_file_line_and_key(self):
        text = self.bad_text(('listen: "127.0.0.1:0"', 'listen: "127.0.0.1:99999"'))
        path, code, output = self.check(text)
        self.assertNotEqual(code, 0, output)
        self.assert_problem(output, path, self.line_of(text, "99999"), "listen")

    def test_missing_hook_executable_is_reported_with_file_line_and_key(self):
        text = self.bad_text(("record_event.py /dev/null", "no_such_hook.sh /dev/null"))
        path, code, output = self.check(text)
        self.assertNotEqual(code, 0, output)
        self.assert_problem(output, path, self.line_of(text, "no_such_hook.sh"), "cmd")
        self.assertIn("no_such_hook.sh", output)

    def test_all_problems_are_reported_together(self):
        text = self.bad_text(
            ("  max_concurrent_hooks: 4\n", "  max_concurrent_hooks: 4\n  colour_scheme: blue\n"),
            ('listen: "127.0.0.1:0"', 'listen: "not an address"'),
            ("record_event.py /dev/null", "no_such_hook.sh /dev/null"))
        path, code, output = self.check(text)
        self.assertNotEqual(code, 0, output)
        self.assert_problem(output, path, self.line_of(text, "colour_scheme"), "colour_scheme")
        self.assert_problem(output, path, self.line_of(text, "not an address"), "listen")
        self.assert_problem(output, path, self.line_of(text, "no_such_hook.sh"), "cmd")


class QuickMode(IntegrationTest):
    def test_listen_target_pairs_relay_and_print_one_json_object_per_event(self):
        first = self.start_xvnc(security="VncAuth", desktop="vhm-it quick one")
        second = self.start_xvnc(security="None", desktop="vhm-it quick two",
                                 geometry=(640, 480))
        proxy = self.start_proxy(args=["--listen", "127.0.0.1:0", "--target", first.target,
                                       "--listen", "127.0.0.1:0", "--target", second.target],
                                 listeners=2)
        ports = {port for _, port in proxy.endpoints}
        self.assertEqual(len(ports), 2)
        results = {port: run_viewer(port, password=first.password) for port in ports}
        for result in results.values():
            self.assert_viewer_ok(result)
        by_name = {r.name: port for port, r in results.items()}
        self.assertEqual(set(by_name), {first.desktop, second.desktop},
                         "each --listen must relay to its own --target")

        def objects():
            parsed = []
            for line in proxy.stdout.snapshot():
                if line.strip():
                    parsed.append(json.loads(line))  # every stdout line is one JSON object
            return parsed
        proxy.stdout.wait_for(r'"disconnect"', count=2)
        events = objects()
        sessions = {}
        for event in events:
            sessions.setdefault(event["session_id"], []).append(event)
        self.assertEqual(len(sessions), 2, events)
        for session in sessions.values():
            self.assertEqual([e["event"] for e in session],
                             ["connect", "auth_success", "disconnect"])
            final = session[-1]
            xvnc = first if final["desktop_name"] == first.desktop else second
            self.assertEqual(final["target_port"], str(xvnc.port))
            self.assertEqual(final["display"], xvnc.display)
            self.assertEqual(final["security_type"], xvnc.security)
            self.assertEqual(final["listen"], f"127.0.0.1:{by_name[xvnc.desktop]}")
            self.assertEqual(final["reason"], "client_closed")


class CommandLine(IntegrationTest):
    def run_cli(self, *args):
        done = subprocess.run([proxy_binary(), *args], stdin=subprocess.DEVNULL,
                              capture_output=True, timeout=20)
        return done.returncode, (done.stdout + done.stderr).decode(errors="replace")

    def test_version_prints_the_project_version_and_exits_0(self):
        code, output = self.run_cli("--version")
        self.assertEqual(code, 0, output)
        self.assertRegex(output, r"\b\d+\.\d+\.\d+\b")

    def test_help_lists_the_options_and_exits_0(self):
        code, output = self.run_cli("--help")
        self.assertEqual(code, 0, output)
        for option in ("--config", "--check-config", "--listen", "--target", "--version"):
            self.assertIn(option, output)


if __name__ == "__main__":
    unittest.main()
