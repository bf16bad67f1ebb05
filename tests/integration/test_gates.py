"""Gate hooks (issue 3) with Net::VNC and Xvnc: a `gate: true` hook on
connect decides before the server is dialed, one on auth_success holds the
server's SecurityResult back until it answers. A refusal shows the gate's
first output line to the viewer (or a default text), a timeout refuses, and
the session ends with disconnect reason `refused`."""
import re
import struct
import unittest

from vhm_harness import PolicyTestCase, run_viewer, wait_session_done, wait_until

DEFAULT_TEXT = "Connection refused by policy"


def gate(kind: str, cmd: str, timeout: float = 5) -> dict:
    return {kind: [{"name": f"{kind}_gate", "cmd": cmd, "gate": True, "timeout": timeout}]}


class Gates(PolicyTestCase):

    def start(self, gates: dict, **global_):
        events = self.recording_events(gates)
        return self.start_proxy(self.policy_config(events=events,
                                                   global_=global_ or None))

    def mark_server(self) -> int:
        self.xvnc.log_barrier()
        return len(self.xvnc.accepted_ports())

    def only_session(self) -> list:
        (records,) = wait_session_done(self.events_file).values()
        return records

    def assert_refused_before_dialing(self, proxy, viewer, text: str, mark: int):
        """The viewer got the proxy's own refusal (greeting, count 0, reason),
        Xvnc never saw a connection, and the session ended `refused`."""
        self.assert_viewer_refused(viewer, text)
        self.assertEqual(bytes.fromhex(viewer.values["received_hex"]),
                         b"RFB 003.008\n\x00" + struct.pack(">I", len(text)) + text.encode())
        self.assertEqual(self.xvnc.accepted_since(mark), [], "Xvnc was dialed")
        records = self.only_session()
        self.assertEqual([r.event for r in records], ["connect", "disconnect"])
        self.assertEqual(records[-1]["reason"], "refused")
        self.assertEqual(records[-1]["client_port"], viewer.values["local_port"])
        self.stop_proxy_and_check_exit(proxy)
        self.assertEqual(self.records_of("blocked"), [], "a gate refusal is a session, "
                         "not a blocked connection")

    def test_refusing_connect_gate_shows_its_first_line_and_never_dials(self):
        proxy = self.start(gate("connect", "gate.py 1 'Office closed' 'not shown'"))
        mark = self.mark_server()
        viewer = run_viewer(proxy.port(), password=self.xvnc.password)
        self.assert_refused_before_dialing(proxy, viewer, "Office closed", mark)

    def test_silent_refusing_gate_shows_the_default_text(self):
        proxy = self.start(gate("connect", "gate.py 3"))
        mark = self.mark_server()
        viewer = run_viewer(proxy.port(), password=self.xvnc.password)
        self.assert_refused_before_dialing(proxy, viewer, DEFAULT_TEXT, mark)

    def test_passing_connect_gate_lets_the_session_work(self):
        proxy = self.start(gate("connect", "gate.py 0 'welcome'"))
        self.assert_healthy_login(proxy.port(), self.xvnc)
        records = self.only_session()
        self.assertEqual([r.event for r in records], ["connect", "auth_success", "disconnect"])
        self.assertEqual(records[-1]["reason"], "client_closed")

    def test_gate_that_times_out_refuses_and_the_log_says_so(self):
        # The gate would let the session in (exit 0), but only after 30 s.
        proxy = self.start(gate("connect", "gate.py --sleep=30 0 'too late'", timeout=1),
                           kill_grace="500ms")
        mark = self.mark_server()
        viewer = run_viewer(proxy.port(), password=self.xvnc.password)
        self.assertGreaterEqual(viewer.elapsed, 0.9, "refused before the gate timed out")
        self.assertLess(viewer.elapsed, 1 + 0.5 + 3, f"the timed-out gate held too long: {viewer}")
        records = self.only_session()
        session_id = records[0].session_id
        proxy.log().wait_for(rf"(?=.*connect_gate)(?=.*{session_id})(?=.*(timed out|timeout))",
                             flags=re.IGNORECASE)
        self.assert_refused_before_dialing(proxy, viewer, DEFAULT_TEXT, mark)

    def test_passing_auth_success_gate_lets_the_session_work(self):
        proxy = self.start(gate("auth_success", "gate.py 0"))
        self.assert_healthy_login(proxy.port(), self.xvnc)
        records = self.only_session()
        self.assertEqual([r.event for r in records], ["connect", "auth_success", "disconnect"])
        self.assertEqual(records[-1]["reason"], "client_closed")

    def test_refusing_auth_success_gate_fails_the_login_with_its_reason(self):
        proxy = self.start(gate("auth_success", "gate.py 1 'Not during backups'"))
        mark = self.mark_server()
        viewer = run_viewer(proxy.port(), password=self.xvnc.password)
        # Net::VNC (right password) is not logged in: the proxy replaced Xvnc's
        # SecurityResult OK with a failed one (3.8: u32 1, u32 length, reason).
        self.assert_viewer_refused(viewer, "Not during backups")
        self.assertNotIn("logged_in", viewer.values)
        self.assertNotIn("name_hex", viewer.values)
        received = bytes.fromhex(viewer.values["received_hex"])
        failed = struct.pack(">II", 1, len("Not during backups")) + b"Not during backups"
        self.assertTrue(received.endswith(failed), f"viewer received {received!r}")
        # greeting 12 + types 2 + challenge 16 + the failed result: nothing of
        # Xvnc's SecurityResult (or anything after it) reached the viewer.
        self.assertEqual(len(received), 12 + 2 + 16 + len(failed), f"viewer received {received!r}")
        records = self.only_session()
        self.assertEqual([r.event for r in records[:2]], ["connect", "auth_success"])
        self.assertEqual(records[-1].event, "disconnect")
        self.assertEqual(records[-1]["reason"], "refused")
        # Xvnc was dialed once, and the proxy closed that side too.
        (server_side,) = self.xvnc.accepted_since(mark)
        wait_until(lambda: f"Connections: closed: 127.0.0.1::{server_side}"
                   in self.xvnc.log_path.read_text(errors="replace"),
                   what="Xvnc to see the proxy close the refused session")
        self.stop_proxy_and_check_exit(proxy)


if __name__ == "__main__":
    unittest.main()
