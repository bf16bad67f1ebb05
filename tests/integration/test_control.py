"""The control socket and `vnc-hooks-manager ctl` (issue 3), against a live
proxy with Net::VNC sessions to Xvnc: list sessions, kill one (disconnect
reason `killed`), list bans and lift one, and who may use the socket (mode
0600 and SO_PEERCRED: only root or the proxy's own user)."""
import grp
import json
import os
import pwd
import stat
import subprocess
import time
import unittest

from vhm_harness import (PolicyTestCase, run_ctl, run_viewer, wait_session_done,
                         wait_until)

BLOCKING = {"max_failures": 3, "window": "10m", "ban": "1h"}
NOBODY_UID = pwd.getpwnam("nobody").pw_uid
NOBODY_GID = grp.getgrnam("nogroup").gr_gid
# argv: socket path, request line. Prints the response line (empty if none).
RAW_REQUEST = """
import socket, sys
with socket.socket(socket.AF_UNIX) as sock:
    sock.settimeout(5)
    sock.connect(sys.argv[1])  # must work: the file mode lets anyone in
    data = b""
    try:  # a server that refuses may answer and close before reading
        sock.sendall(sys.argv[2].encode() + b"\\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    try:
        while not data.endswith(b"\\n"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
print(data.decode(errors="replace").strip())
"""


class Control(PolicyTestCase):

    def start(self, blocking=None):
        self.socket_path = self.tmp / "control.sock"
        proxy = self.start_proxy(self.policy_config(
            blocking=blocking, control={"socket": str(self.socket_path)}))
        wait_until(lambda: self.socket_path.exists(), what="the control socket")
        return proxy

    def ctl(self, *args, as_nobody=False, via_config=True):
        if via_config and not as_nobody:
            return run_ctl(list(args), config=self.tmp / "config.yaml")
        return run_ctl(list(args), socket_path=self.socket_path, as_nobody=as_nobody)

    def assert_ok(self, done, what):
        self.assertEqual(done.returncode, 0, f"{what}: {done}")

    def test_sessions_lists_a_live_session_and_kill_ends_it_as_killed(self):
        proxy = self.start()
        viewer, session_id, local_port = self.live_session(proxy)
        listed = self.ctl("sessions")
        self.assert_ok(listed, "ctl sessions")
        rows = [line for line in listed.stdout.splitlines() if session_id in line]
        self.assertEqual(len(rows), 1, listed.stdout)
        self.assertIn(f"127.0.0.1:{local_port}", rows[0])
        self.assertIn(self.xvnc.target, rows[0])
        as_json = self.ctl("--json", "sessions")
        self.assert_ok(as_json, "ctl --json sessions")
        response = json.loads(as_json.stdout)
        self.assertTrue(response["ok"], response)
        (session,) = [s for s in response["sessions"] if s["session_id"] == session_id]
        self.assertEqual((session["client_ip"], str(session["client_port"])),
                         ("127.0.0.1", local_port))

        started = time.monotonic()
        killed = self.ctl("kill", session_id)
        self.assert_ok(killed, "ctl kill")
        self.assertEqual(len(killed.stdout.strip().splitlines()), 1, killed.stdout)
        result = viewer.result(timeout=10)
        self.assertLess(time.monotonic() - started, 5, "the killed session lingered")
        self.assertEqual(result.values.get("eof"), "1", f"viewer was not cut off: {result}")
        (records,) = wait_session_done(self.events_file).values()
        self.assertEqual(records[-1]["reason"], "killed")
        self.assertEqual(records[-1].session_id, session_id)
        proxy.log().wait_for(rf"session {session_id}: closed \(killed")
        after = self.ctl("sessions")
        self.assert_ok(after, "ctl sessions after kill")
        self.assertNotIn(session_id, after.stdout)
        unknown = self.ctl("kill", "0123456789abcdef")
        self.assertEqual(unknown.returncode, 1, f"kill of an unknown session: {unknown}")
        self.assertTrue(proxy.alive())

    def test_bans_lists_a_ban_and_unban_lifts_it(self):
        proxy = self.start(blocking=BLOCKING)
        for _ in range(BLOCKING["max_failures"]):
            self.assertFalse(run_viewer(proxy.port(), password="wrong-pw").ok)
        (ban,) = self.wait_event_records("ban")
        refused = run_viewer(proxy.port(), password=self.xvnc.password)
        self.assertFalse(refused.ok, "the ban is not in force")
        bans = self.ctl("bans")
        self.assert_ok(bans, "ctl bans")
        rows = [line.split() for line in bans.stdout.splitlines()]
        matching = [row for row in rows if row and row[0] == "127.0.0.1"]
        self.assertEqual(len(matching), 1, bans.stdout)
        self.assertEqual(matching[0][1], "3", f"failures column: {bans.stdout}")
        self.assertIn(ban["ban_until"], bans.stdout)

        lifted = self.ctl("unban", "127.0.0.1")
        self.assert_ok(lifted, "ctl unban")
        self.assertEqual(len(lifted.stdout.strip().splitlines()), 1, lifted.stdout)
        self.assert_healthy_login(proxy.port(), self.xvnc)
        after = self.ctl("--json", "bans")
        self.assert_ok(after, "ctl --json bans")
        self.assertEqual([b for b in json.loads(after.stdout)["bans"]
                          if b["key"] == "127.0.0.1"], [], after.stdout)
        # unban forgot the failures too: two more failures do not ban again.
        for _ in range(BLOCKING["max_failures"] - 1):
            self.assertFalse(run_viewer(proxy.port(), password="wrong-pw").ok)
        self.assert_healthy_login(proxy.port(), self.xvnc)
        self.assertEqual(len(self.records_of("ban")), 1)

    def test_socket_file_is_mode_0600(self):
        self.start()
        mode = self.socket_path.stat().st_mode
        self.assertTrue(stat.S_ISSOCK(mode), "not a socket")
        self.assertEqual(stat.S_IMODE(mode), 0o600)

    def test_non_root_caller_is_refused_even_when_the_file_mode_lets_it_connect(self):
        proxy = self.start()
        viewer, session_id, _ = self.live_session(proxy)
        # 1. The file mode (and the private temp dir) keep nobody out.
        denied = self.ctl("kill", session_id, as_nobody=True)
        self.assertNotEqual(denied.returncode, 0, f"nobody could use the socket: {denied}")
        # 2. With the path opened up, the server's SO_PEERCRED check refuses.
        os.chmod(self.tmp, 0o711)
        os.chmod(self.socket_path, 0o666)
        for args in (["sessions"], ["kill", session_id]):
            refused = self.ctl(*args, as_nobody=True)
            self.assertEqual(refused.returncode, 1, f"nobody ran ctl {args}: {refused}")
            self.assertNotIn(session_id, refused.stdout, "sessions were shown to nobody")
        # The same with the raw protocol: nobody can connect now (so the
        # refusal above is the server's), but is not served.
        raw = subprocess.run(["/usr/bin/python3", "-c", RAW_REQUEST, str(self.socket_path),
                              json.dumps({"command": "kill", "session_id": session_id})],
                             user=NOBODY_UID, group=NOBODY_GID, extra_groups=[],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(raw.returncode, 0, f"nobody could not connect: {raw.stderr}")
        if raw.stdout.strip():
            self.assertFalse(json.loads(raw.stdout)["ok"], raw.stdout)
        # The session is untouched and root is still served.
        listed = self.ctl("sessions")
        self.assert_ok(listed, "ctl sessions as root")
        self.assertIn(session_id, listed.stdout)
        self.assertIsNone(viewer.proc.poll(), "the session ended")
        self.assertTrue(proxy.alive())


if __name__ == "__main__":
    unittest.main()
