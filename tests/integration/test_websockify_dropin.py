"""`vnc-hooks-manager websockify`: websockify 0.10's command line drives the
proxy (docs/browser-access.md, "Migrating from websockify").

The refusals need only the command line: --daemon, an option without an
equivalent, a missing target. The runtime cases start the drop-in the way a
websockify systemd unit does, fetch noVNC's vnc.html over HTTP, and log into
a real Xvnc through a WebSocket: with a static target, with a token file
(two tokens, an unknown one gets 404) and --config's hooks seeing the
browser sessions, and --idle-timeout / --timeout ending the process.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.request
from pathlib import Path

from vhm_harness import (FIELDS, VNC_PASSWORD, Proxy, Xvnc, make_config, proxy_binary, record_hooks,
                         wait_session_done)
from ws_client import WsClient, WsRefused, ws_rfb_handshake

NOVNC = Path("/usr/share/novnc")


def run_dropin(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([proxy_binary(), "websockify", *args], capture_output=True, text=True,
                          timeout=20, cwd=cwd, stdin=subprocess.DEVNULL)


class CommandLineRefusals(unittest.TestCase):
    """Usage errors exit 2 before anything listens, naming the option."""

    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="vhm-websockify-")
        self.addCleanup(self.dir.cleanup)

    def refused(self, *args: str) -> str:
        result = run_dropin(*args, cwd=self.dir.name)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertEqual(result.stdout, "")
        self.assertIn("Try 'vnc-hooks-manager websockify --help'", result.stderr)
        return result.stderr

    def test_daemon_is_refused_pointing_at_systemd(self):
        for spelling in ("--daemon", "-D"):
            stderr = self.refused(spelling, "0", "127.0.0.1:5901")
            self.assertIn("--daemon is refused: vnc-hooks-manager does not daemonize; run it under systemd",
                          stderr)

    def test_an_option_without_equivalent_is_named(self):
        stderr = self.refused("--unix-target", "/run/vnc.sock", "0")
        self.assertIn("--unix-target is not supported", stderr)
        stderr = self.refused("--auth-plugin=BasicHTTPAuth", "--auth-source", "u:p", "0", "127.0.0.1:5901")
        self.assertIn("--auth-plugin is not supported", stderr)
        self.assertNotIn("u:p", stderr)  # credentials are never echoed
        stderr = self.refused("--no-such-thing", "0", "127.0.0.1:5901")
        self.assertIn("no such option: --no-such-thing", stderr)

    def test_missing_target_and_bad_files(self):
        self.assertIn("too few arguments: expected [source_addr:]source_port target_addr:target_port",
                      self.refused("6080"))
        self.assertIn("SSL only and self.pem not found", self.refused("--ssl-only", "0", "127.0.0.1:5901"))
        self.assertIn("--web missing-dir: ", self.refused("--web", "missing-dir", "0", "127.0.0.1:5901"))

    def test_help_lists_the_supported_options(self):
        result = run_dropin("--help")
        self.assertEqual(result.returncode, 0, result.stderr)
        for option in ("--web DIR", "--cert FILE", "--token-plugin", "--idle-timeout", "--record FILE"):
            self.assertIn(option, result.stdout)


class DropInSessions(unittest.TestCase):
    """The drop-in serving noVNC and RFB over WebSocket to a real Xvnc."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory(prefix="vhm-websockify-")
        cls.xvnc = Xvnc(cls.dir.name, desktop="dropin desktop").start()

    @classmethod
    def tearDownClass(cls):
        cls.xvnc.stop()
        cls.dir.cleanup()

    def start_dropin(self, *args: str) -> Proxy:
        workdir = tempfile.mkdtemp(prefix="proxy-", dir=self.dir.name)
        proxy = Proxy(workdir)
        self.addCleanup(proxy.stop)
        proxy.start(args=["websockify", *args], listeners=1)
        return proxy

    def login(self, port: int, path: str = "/websockify") -> str:
        with WsClient.connect("127.0.0.1", port, path) as client:
            return ws_rfb_handshake(client, VNC_PASSWORD).name.decode()

    def test_web_and_heartbeat_as_a_websockify_unit_runs_it(self):
        proxy = self.start_dropin("--web", str(NOVNC), "--heartbeat", "30", "127.0.0.1:0", self.xvnc.target)
        port = proxy.port()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/vnc.html", timeout=10) as response:
            self.assertEqual(response.status, 200)
            self.assertIn("text/html", response.headers["Content-Type"])
            self.assertIn(b"noVNC", response.read())
        self.assertEqual(self.login(port), "dropin desktop")
        proxy.log().wait_for(r"websockify drop-in on 127\.0\.0\.1:0: ws, web ")

    def test_token_file_routes_and_unknown_tokens_get_404(self):
        other = Xvnc(self.dir.name, desktop="second desktop").start()
        self.addCleanup(other.stop)
        tokens = Path(self.dir.name) / "tokens.cfg"
        tokens.write_text(f"# websockify's format\nfirst: {self.xvnc.target}\nsecond: {other.target}\n")
        records = Path(self.dir.name) / "records.jsonl"
        hooks = Path(self.dir.name) / "hooks.yaml"
        hooks.write_text(make_config([], events=record_hooks(
            records, ["connect", "auth_success", "disconnect"], fields=FIELDS + ["transport", "token"])))
        proxy = self.start_dropin("--token-plugin", "TokenFile", "--token-source", str(tokens),
                                  "--config", str(hooks), "127.0.0.1:0")
        port = proxy.port()
        self.assertEqual(self.login(port, "/websockify?token=first"), "dropin desktop")
        self.assertEqual(self.login(port, "/websockify?token=second"), "second desktop")
        sessions = wait_session_done(records, count=2)
        targets = set()
        for session in sessions.values():
            by_event = {record.event: record for record in session}
            self.assertEqual(set(by_event), {"connect", "auth_success", "disconnect"}, session)
            self.assertEqual(by_event["connect"]["transport"], "ws")
            self.assertEqual(by_event["connect"]["client_ip"], "127.0.0.1")
            self.assertRegex(by_event["connect"]["token"], r"^sha256:[0-9a-f]{8}$")
            targets.add(by_event["connect"]["target_port"])
        self.assertEqual(targets, {str(self.xvnc.port), str(other.port)})
        with self.assertRaises(WsRefused) as refused:
            WsClient.connect("127.0.0.1", port, "/websockify?token=third")
        self.assertEqual(refused.exception.status, 404)
        self.assertNotIn("third", proxy.log().text())  # tokens are never logged
        # Without --web only upgrades are served.
        with self.assertRaises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/vnc.html", timeout=10)
        self.assertEqual(missing.exception.code, 404)

    def test_idle_timeout_ends_the_process_once_nobody_is_connected(self):
        proxy = self.start_dropin("--idle-timeout", "1", "127.0.0.1:0", self.xvnc.target)
        self.assertEqual(self.login(proxy.port()), "dropin desktop")
        self.assertEqual(proxy.wait_exit(timeout=10), 0)
        self.assertIn("--idle-timeout", proxy.log().text())

    def test_timeout_ends_the_process_when_nobody_connected(self):
        proxy = self.start_dropin("--timeout=1", "127.0.0.1:0", self.xvnc.target)
        self.assertEqual(proxy.wait_exit(timeout=10), 0)
        self.assertIn("--timeout", proxy.log().text())


if __name__ == "__main__":
    unittest.main()
