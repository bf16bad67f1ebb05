"""The hook-manager guide's example configuration (tests/data/guide/, see its
README) runs as a new user would run it: `--config guide.yaml --listen ADDR
--target :N`, with real Xvnc and Net::VNC. Only its hook paths (and the
other machine-specific values the README lists) are replaced.
"""
from __future__ import annotations

import getpass
import json
import signal
import subprocess
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from vhm_harness import (HOOKS_DIR, IntegrationTest, RECORD_HOOK, Proxy, proxy_binary,
                         read_records, run_viewer, wait_listening_in_file, wait_until)

GUIDE = Path(__file__).resolve().parent.parent / "data" / "guide" / "guide.yaml"

NO_LISTENERS = (
    "vnc-hooks-manager: invalid configuration (1 problem):\n"
    "{path}: listeners: no listeners: nothing to do. Add a listeners: section, e.g.\n"
    "  listeners:\n"
    "    - { listen: \":5900\", target: \"127.0.0.1:5901\" }\n"
    "or give --listen ADDR --target ADDR on the command line.\n")


class WebhookReceiver:
    """A local HTTP receiver that keeps every request (method, path, headers, body)."""

    def __init__(self):
        self.requests: list[dict] = []
        lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with lock:
                    owner.requests.append({"path": self.path, "headers": dict(self.headers),
                                           "body": body})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class GuideConfigTest(IntegrationTest):
    def setUp(self):
        super().setUp()
        self.hooks = self.tmp / "hooks"
        self.hooks.mkdir()
        self.connect_out = self.tmp / "connect.jsonl"
        self.end_out = self.tmp / "end.jsonl"
        self.log_file = self.tmp / "vnc-hooks-manager.log"
        self.audit = self.tmp / "vnc-audit.jsonl"
        self.receiver = WebhookReceiver()
        self.addCleanup(self.receiver.stop)
        self.script(self.hooks / "log_connect.sh", self.connect_out)
        self.script(self.tmp / "record_end.sh", self.end_out)
        self.config_path = self.tmp / "guide.yaml"
        self.config_path.write_text(self.guide_copy())

    def script(self, path: Path, out: Path):
        path.write_text(f'#!/bin/sh\nexec python3 {HOOKS_DIR / RECORD_HOOK} {out} "$@"\n')
        path.chmod(0o755)

    def guide_copy(self) -> str:
        """guide.yaml with exactly the replacements tests/data/guide/README.md lists."""
        text = GUIDE.read_text()
        replacements = {
            "hooks_dir: /etc/vnc-hooks-manager/hooks": f"hooks_dir: {self.hooks}",
            "/usr/local/bin/record_end.sh": str(self.tmp / "record_end.sh"),
            "log_file: /var/log/vnc-hooks-manager.log": f"log_file: {self.log_file}",
            "path: /var/log/vnc-audit.jsonl": f"path: {self.audit}",
            "url: https://hooks.example.com/vnc": f"url: http://127.0.0.1:{self.receiver.port}/vnc",
            "run_as: vnc": f"run_as: {getpass.getuser()}",
        }
        for old, new in replacements.items():
            self.assertEqual(text.count(old), 1, old)
            text = text.replace(old, new)
        return text

    def run_cli(self, *args) -> subprocess.CompletedProcess:
        return subprocess.run([proxy_binary(), *args], capture_output=True, text=True, timeout=30,
                              cwd=self.tmp)

    def test_the_guide_runs_with_a_listener_from_the_command_line(self):
        xvnc = self.start_xvnc()
        proxy = Proxy(str(self.tmp))
        self.addCleanup(proxy.stop)
        proxy.start(args=["--config", str(self.config_path),
                          "--listen", "127.0.0.1:0", "--target", xvnc.display])
        [(_, port)] = wait_listening_in_file(proxy, self.log_file)

        self.assertTrue(run_viewer(port).ok)
        self.assertFalse(run_viewer(port, password="wrong-pw").ok)

        wait_until(lambda: len(read_records(self.end_out)) == 2, what="2 record_session_end runs")
        connects = read_records(self.connect_out)
        ends = read_records(self.end_out)
        self.assertEqual(len(connects), 2)
        for record in connects:
            self.assertEqual(record.argv, [xvnc.display, record.env["VNC_USER"], "127.0.0.1"])
            self.assertEqual(record.env["VNC_TARGET_PORT"], str(xvnc.port))
            self.assertEqual(record.env["VNC_LISTEN"], f"127.0.0.1:{port}")
        sessions = sorted(r.env["VNC_SESSION_ID"] for r in connects)
        self.assertEqual(sorted(r.argv[1] for r in ends), sessions)
        for record in ends:
            self.assertEqual(record.argv[0::2], ["--session", "--secs"])
            self.assertEqual(record.argv[3], record.env["VNC_DURATION"])
            self.assertEqual(record.env["VNC_EVENT"], "disconnect")

        wait_until(lambda: self.audit.exists() and self.audit.read_text().strip(), what="audit")
        [failure] = [json.loads(line) for line in self.audit.read_text().splitlines()]
        self.assertEqual(failure["event"], "auth_failure")
        self.assertIn(failure["session_id"], sessions)
        self.assertEqual(failure["display"], xvnc.display)

        wait_until(lambda: len(self.receiver.requests) == 2, what="2 webhook requests")
        users = {r.env["VNC_USER"] for r in connects}
        for request in self.receiver.requests:
            self.assertEqual(request["path"], "/vnc")
            self.assertEqual(request["headers"]["Authorization"], "Bearer XYZ")
            body = json.loads(request["body"])
            self.assertEqual(body["display"], xvnc.display)
            self.assertEqual(body["ip"], "127.0.0.1")
            self.assertIn(body["user"], users)

        log = self.log_file.read_text()
        self.assertIn(f"listening on 127.0.0.1:{port} -> {xvnc.target}", log)
        self.assertIn("hook record_session_end", log)

        # SIGHUP reads the file again and keeps the command line's listener.
        proxy.send_signal(signal.SIGHUP)
        wait_until(lambda: "reload done" in self.log_file.read_text(), what="reload done")
        self.assertRegex(self.log_file.read_text(), r"reload done: .*1 listener\(s\) \(1 kept, 0 opened, 0 closed\)")
        self.assertTrue(run_viewer(port).ok)
        wait_until(lambda: len(read_records(self.connect_out)) == 3, what="a third connect hook")

    def test_check_config_with_and_without_listen(self):
        done = self.run_cli("--check-config", "--config", str(self.config_path),
                            "--listen", "127.0.0.1:5910", "--target", ":1")
        self.assertEqual((done.returncode, done.stdout, done.stderr),
                         (0, "config OK: 1 listener(s), 4 hook(s)\n", ""))
        done = self.run_cli("--check-config", "--config", str(self.config_path))
        self.assertEqual((done.returncode, done.stdout, done.stderr),
                         (1, "", NO_LISTENERS.replace("{path}", str(self.config_path))))

    def test_without_listeners_the_proxy_says_how_to_add_them(self):
        done = self.run_cli("--config", str(self.config_path))
        self.assertEqual(done.returncode, 1)
        self.assertEqual(done.stderr, NO_LISTENERS.replace("{path}", str(self.config_path)))
        self.assertFalse(self.log_file.exists())


if __name__ == "__main__":
    unittest.main()
