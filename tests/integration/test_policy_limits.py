"""Per-listener connection policy (issue 3) with Net::VNC and Xvnc: allow and
deny lists, concurrent session limits (per listener and per client address)
and the per-address connection rate. A refused viewer is told why in RFB's
own words, a `blocked` event fires with the reason code, and the connection
never becomes a session: no connect/disconnect, and Xvnc is never dialed."""
import re
import unittest

from vhm_harness import PolicyTestCase, rfb_attempt, run_viewer, wait_records


class ListenerPolicy(PolicyTestCase):

    def start(self, **limits):
        return self.start_proxy(self.policy_config([self.listener(**limits)]))

    def mark_server(self) -> int:
        self.xvnc.log_barrier()
        return len(self.xvnc.accepted_ports())

    def assert_refused(self, proxy, viewer, code: str, text: str, client_ip="127.0.0.1"):
        """The viewer got `text`, and a matching blocked event and log line exist."""
        self.assert_viewer_refused(viewer, text)
        port = viewer.values["local_port"]
        records = wait_records(self.events_file, lambda rs: any(
            r.event == "blocked" and r.get("client_port") == port for r in rs),
            what=f"a blocked record for client port {port}")
        (record,) = [r for r in records if r.event == "blocked" and r["client_port"] == port]
        self.assert_blocked_record(record, code, int(port), proxy.port(), client_ip)
        proxy.log().wait_for(rf"blocked: client {re.escape(client_ip)} refused \({code}\): "
                             rf"{re.escape(text)}$")
        return record

    def finish(self, proxy, sessions: int):
        """Graceful stop, then: refused connections never became sessions and
        exactly `sessions` sessions happened."""
        self.stop_proxy_and_check_exit(proxy)
        self.assert_never_a_session(self.records_of("blocked"))
        self.assertEqual(len(self.records_of("connect")), sessions)
        self.assertEqual(len(self.records_of("disconnect")), sessions)

    def test_denied_block_is_refused_with_the_reason_and_never_dialed(self):
        proxy = self.start(deny=["127.0.0.0/24"])
        mark = self.mark_server()
        viewer = run_viewer(proxy.port(), password=self.xvnc.password)
        self.assert_refused(proxy, viewer, "denied", "Connections from 127.0.0.1 are not allowed")
        self.assertEqual(self.xvnc.accepted_since(mark), [], "Xvnc was dialed for a denied client")
        # Outside the denied /24 the listener works.
        allowed = rfb_attempt("127.0.0.1", proxy.port(), source="127.0.1.1")
        self.assertFalse(allowed.refused, repr(allowed))
        self.finish(proxy, sessions=1)
        self.assertEqual(len(self.records_of("blocked")), 1)

    def test_deny_wins_over_allow(self):
        proxy = self.start(allow=["127.0.0.0/8"], deny=["127.0.0.1"])
        viewer = run_viewer(proxy.port(), password=self.xvnc.password)
        self.assert_refused(proxy, viewer, "denied", "Connections from 127.0.0.1 are not allowed")
        allowed = rfb_attempt("127.0.0.1", proxy.port(), source="127.0.0.2")
        self.assertFalse(allowed.refused, repr(allowed))
        self.finish(proxy, sessions=1)

    def test_allow_list_without_the_client_refuses_it(self):
        proxy = self.start(allow=["10.0.0.0/8", "127.0.0.2"])
        mark = self.mark_server()
        viewer = run_viewer(proxy.port(), password=self.xvnc.password)
        self.assert_refused(proxy, viewer, "denied", "Connections from 127.0.0.1 are not allowed")
        self.assertEqual(self.xvnc.accepted_since(mark), [])
        allowed = rfb_attempt("127.0.0.1", proxy.port(), source="127.0.0.2")
        self.assertFalse(allowed.refused, repr(allowed))
        self.assertEqual(allowed.types, [2])
        self.finish(proxy, sessions=1)

    def test_second_concurrent_session_from_one_address_is_refused_first_unaffected(self):
        proxy = self.start(max_sessions_per_ip=1)
        first = self.background_viewer(proxy.port(), password=self.xvnc.password, hold=2)
        first.wait_for(r"^logged_in=1$")
        mark = self.mark_server()
        second = run_viewer(proxy.port(), password=self.xvnc.password)
        self.assert_refused(proxy, second, "per_ip_limit", "Too many sessions from 127.0.0.1")
        self.assertEqual(self.xvnc.accepted_since(mark), [])
        # Another address is not limited by 127.0.0.1's session.
        other = rfb_attempt("127.0.0.1", proxy.port(), source="127.0.0.2")
        self.assertFalse(other.refused, repr(other))
        result = first.result()
        self.assert_viewer_ok(result)
        self.assertEqual(result.values.get("eof"), "0", f"the first session was cut: {result}")
        # Once the first session is over, its slot is free again.
        wait_records(self.events_file, lambda rs: sum(
            r.event == "disconnect" and r.get("client_ip") == "127.0.0.1" for r in rs) >= 1,
            what="the first session's disconnect")
        self.assert_healthy_login(proxy.port(), self.xvnc)
        self.finish(proxy, sessions=3)
        first_disconnect = [r for r in self.records_of("disconnect")
                            if r["client_port"] == result.values["local_port"]]
        self.assertEqual([r["reason"] for r in first_disconnect], ["client_closed"])

    def test_fourth_connection_within_a_minute_is_refused(self):
        proxy = self.start(max_connects_per_minute=3)
        for _ in range(3):
            self.assert_healthy_login(proxy.port(), self.xvnc)
        mark = self.mark_server()
        fourth = run_viewer(proxy.port(), password=self.xvnc.password)
        self.assert_refused(proxy, fourth, "rate_limit",
                            "Too many connections from 127.0.0.1; try again in a minute")
        self.assertEqual(self.xvnc.accepted_since(mark), [])
        # The rate is per client address.
        other = rfb_attempt("127.0.0.1", proxy.port(), source="127.0.0.2")
        self.assertFalse(other.refused, repr(other))
        self.finish(proxy, sessions=4)

    def test_listener_max_sessions_refuses_the_next_session(self):
        proxy = self.start(max_sessions=2)
        held = [self.background_viewer(proxy.port(), password=self.xvnc.password, hold=2)
                for _ in range(2)]
        for viewer in held:
            viewer.wait_for(r"^logged_in=1$")
        mark = self.mark_server()
        third = run_viewer(proxy.port(), password=self.xvnc.password)
        self.assert_refused(proxy, third, "session_limit", "Too many sessions; try again later")
        raw = rfb_attempt("127.0.0.1", proxy.port(), source="127.0.0.2")
        self.assertTrue(raw.refused, f"the limit is per listener, not per address: {raw}")
        self.assertEqual(raw.reason, "Too many sessions; try again later")
        self.assertEqual(self.xvnc.accepted_since(mark), [])
        for viewer in held:
            result = viewer.result()
            self.assert_viewer_ok(result)
            self.assertEqual(result.values.get("eof"), "0", f"a held session was cut: {result}")
        self.finish(proxy, sessions=2)
        self.assertEqual(sorted(r["reason"] for r in self.records_of("blocked")),
                         ["session_limit", "session_limit"])


if __name__ == "__main__":
    unittest.main()
