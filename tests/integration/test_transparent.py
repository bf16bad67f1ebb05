"""Issue 4, transparent interception: iptables/nftables REDIRECT and TPROXY.

Each class builds its own three network namespaces (netns.py): a client with
a real viewer (Net::VNC), a gateway running the proxy behind firewall rules,
and a server running TigerVNC Xvnc on ports 5901, 5902 and 5903 (displays
:1, :2, :3; only :1 and :2 are in allow_targets). The viewer connects to the
server's own address; the gateway's rules hand the connection to the proxy,
which must reach the display the viewer asked for, report the right client,
target and display to its hooks, refuse what allow_targets does not list,
and refuse loops. Under TPROXY the server must see the client's own address.
Needs root (CI runs as root): nothing is skipped.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from netns import (CLIENT_IP, CLIENT_IP6, GATEWAY_CLIENT_IF, GATEWAY_CLIENT_SIDE_IP,
                   GATEWAY_SERVER_SIDE_IP, SERVER_IP, SERVER_IP6, NsXvnc, Topology)
from vhm_harness import (POLICY_FIELDS, SESSION_ID_RE, IntegrationTest, OutputCollector, Proxy,
                         ViewerResult, make_config, proxy_binary, read_records, record_hooks,
                         viewer_command, wait_records, wait_until)

EVENT_KINDS = ["connect", "auth_success", "auth_failure", "disconnect", "blocked"]
DISPLAYS = {1: ("vhm-tp display one", (800, 600)),
            2: ("vhm-tp display two", (640, 480)),
            3: ("vhm-tp display three", (320, 240))}
REDIRECT_PORT = 15900
TPROXY_PORT = 15901
LOCAL_PORT = 5907  # a VNC server on the gateway itself (owned by nobody)
LOOPED_PORT = 5904  # the gateway's OUTPUT chain sends the proxy's own dial here back to it


class NetnsProxy(Proxy):
    """The proxy inside the gateway namespace (ip netns exec execs it: the pid
    we hold is the proxy's own)."""

    def __init__(self, workdir: str, topology: Topology):
        super().__init__(workdir)
        self.topology = topology

    def start(self, config_text: str | None = None, args: list[str] | None = None,
              listeners: int | None = 1, extra_env: dict | None = None) -> "NetnsProxy":
        self.config_path = self.write_config(config_text)
        cmd = self.topology.prefix(self.topology.gateway) + [proxy_binary(), "--config",
                                                              str(self.config_path)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=self.workdir)
        self.stdout = OutputCollector(self.proc.stdout, "stdout")
        self.stderr = OutputCollector(self.proc.stderr, "stderr")
        self.wait_listening(listeners)
        return self


class TransparentCase(IntegrationTest):
    """Topology, three Xvnc, the firewall rules of the subclass; a fresh
    proxy (and hook record file) per test."""

    mode = "redirect"
    proxy_port = REDIRECT_PORT
    allow_targets = [f"{SERVER_IP}/32:5901-5902", f"[{SERVER_IP6}]:5901-5902"]
    topology: Topology
    servers: dict[int, NsXvnc]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if os.geteuid() != 0:
            raise RuntimeError("test_transparent needs root (network namespaces, firewall rules)")
        tmp = tempfile.TemporaryDirectory(prefix="vhm-it-tp-")
        cls.addClassCleanup(tmp.cleanup)
        cls.class_dir = Path(tmp.name)
        cls.topology = Topology()
        cls.addClassCleanup(cls.topology.destroy)  # also when create() half-failed
        cls.topology.create()
        cls.servers = {}
        for number, (desktop, geometry) in DISPLAYS.items():
            cls.servers[number] = NsXvnc(cls.topology, cls.topology.server, 5900 + number,
                                         cls.class_dir, desktop, geometry).start()
        cls.install_rules(cls.topology)

    @classmethod
    def install_rules(cls, topology: Topology):
        raise NotImplementedError

    def listener(self, **extra) -> dict:
        return dict({"listen": f":{self.proxy_port}", "transparent": self.mode,
                     "allow_targets": self.allow_targets, "user": "alice"}, **extra)

    def start_gateway_proxy(self, listener: dict | None = None) -> NetnsProxy:
        config = make_config([listener or self.listener()],
                             record_hooks(self.events_file, EVENT_KINDS, fields=POLICY_FIELDS))
        proxy = NetnsProxy(str(self.tmp), self.topology)
        self.addCleanup(self._dump_on_failure, proxy)
        self.addCleanup(proxy.stop)
        return proxy.start(config)

    # --- viewers in the client namespace ---
    def view(self, host: str, port: int, **kwargs) -> ViewerResult:
        cmd = self.topology.prefix(self.topology.client) + viewer_command(
            port, host=host, password=None, timeout=15, **kwargs)
        started = time.monotonic()
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        return ViewerResult(done.returncode, done.stdout.decode(errors="replace"),
                            done.stderr.decode(errors="replace"), time.monotonic() - started)

    def background_view(self, host: str, port: int, hold: float) -> subprocess.Popen:
        cmd = viewer_command(port, host=host, password=None, timeout=15, hold=hold)
        proc = self.topology.popen(self.topology.client, cmd, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: (proc.kill(), proc.communicate()) if proc.poll() is None else None)
        return proc

    # --- assertions ---
    def assert_reached(self, result: ViewerResult, display: int):
        """The viewer logged in to exactly that display (its desktop name and size)."""
        self.assertTrue(result.ok, f"viewer failed: {result}")
        desktop, (width, height) = DISPLAYS[display]
        self.assertEqual(result.name, desktop)
        self.assertEqual((result.int("width"), result.int("height")), (width, height))
        self.assertEqual(result.values.get("captured"), f"{width}x{height}")

    def assert_refused(self, result: ViewerResult, text: str):
        self.assertFalse(result.ok, f"viewer should have been refused: {result}")
        self.assertIn(f"(server reason: {text})", result.values.get("error", ""), str(result))

    def session_records(self, count: int = 1) -> list:
        """Waits for `count` disconnects; returns the records of the sessions."""
        records = wait_records(self.events_file,
                               lambda rs: sum(r.event == "disconnect" for r in rs) >= count,
                               what=f"{count} disconnect record(s)")
        return records

    def assert_session_fields(self, records, client_ip: str, target_host: str, port: int,
                              user: str = "alice"):
        """connect, auth_success, disconnect of one session, each with these fields."""
        events = [r.event for r in records]
        self.assertEqual(events, ["connect", "auth_success", "disconnect"], repr(records))
        expected = {"client_ip": client_ip, "target_host": target_host,
                    "target_port": str(port), "display": f":{port - 5900}",
                    "listen": f"[::]:{self.proxy_port}", "user": user}
        for record in records:
            self.assertEqual({k: record.get(k) for k in expected}, expected, repr(record))
            self.assertEqual(record.env.get("VNC_TARGET_HOST"), target_host)
            self.assertEqual(record.env.get("VNC_DISPLAY"), f":{port - 5900}")
        self.assertRegex(records[0].session_id, SESSION_ID_RE)
        self.assertEqual(len({r.session_id for r in records}), 1)
        if port - 5900 in DISPLAYS:
            self.assertEqual(records[-1]["desktop_name"], DISPLAYS[port - 5900][0])

    def assert_blocked(self, reason: str, client_ip: str, target_host: str, port: int) -> None:
        records = wait_records(self.events_file, lambda rs: any(r.event == "blocked" for r in rs),
                               what="a blocked record")
        blocked = [r for r in records if r.event == "blocked"]
        self.assertEqual(len(blocked), 1, repr(records))
        record = blocked[0]
        expected = {"reason": reason, "client_ip": client_ip, "target_host": target_host,
                    "target_port": str(port),
                    "display": f":{port - 5900}" if 5900 <= port <= 5999 else ""}
        self.assertEqual({k: record.get(k) for k in expected}, expected, repr(record))

    def assert_never_a_session(self):
        records = read_records(self.events_file)
        self.assertEqual([r.event for r in records if r.event != "blocked"], [], repr(records))

    def assert_server_saw(self, display: int, address: str, since: int):
        """Xvnc of `display` logged accepting exactly one connection, from `address`."""
        server = self.servers[display]
        accepted = wait_until(lambda: server.accepted_from()[since:] or None,
                              what=f"Xvnc :{display} to log the connection")
        self.assertEqual(accepted, [address], server.log_text()[-2000:])

    def accepted_count(self, display: int) -> int:
        return len(self.servers[display].accepted_from())


class RedirectTests:
    """Tests every REDIRECT variant passes (mixed into a TransparentCase)."""

    def test_one_listener_reaches_each_display_the_viewer_asked_for(self):
        self.start_gateway_proxy()
        for display in (1, 2):
            with self.subTest(display=display):
                mark = self.accepted_count(display)
                result = self.view(SERVER_IP, 5900 + display)
                self.assert_reached(result, display)
                # REDIRECT: the proxy dials from the gateway, so that is what Xvnc sees.
                self.assert_server_saw(display, GATEWAY_SERVER_SIDE_IP, mark)
        records = self.session_records(count=2)
        by_port = {}
        for record in records:
            by_port.setdefault(record["target_port"], []).append(record)
        for display in (1, 2):
            self.assert_session_fields(by_port[str(5900 + display)], CLIENT_IP, SERVER_IP,
                                       5900 + display)

    def test_a_direct_connection_to_the_proxy_port_is_refused_as_a_loop(self):
        proxy = self.start_gateway_proxy()
        result = self.view(GATEWAY_CLIENT_SIDE_IP, self.proxy_port)
        self.assert_refused(result, f"Connection loop: {GATEWAY_CLIENT_SIDE_IP}:{self.proxy_port} "
                                    "is this proxy")
        self.assert_blocked("target_loop", CLIENT_IP, GATEWAY_CLIENT_SIDE_IP, self.proxy_port)
        proxy.log().wait_for(r"blocked: client 10\.77\.1\.2 refused \(target_loop\)")
        self.stop_proxy_and_check_exit(proxy)
        self.assert_never_a_session()


class RedirectIptablesTest(RedirectTests, TransparentCase):
    """iptables/ip6tables -t nat PREROUTING ... REDIRECT, as in docs/transparent.md."""

    @classmethod
    def install_rules(cls, topology: Topology):
        g = topology.gateway
        for tool in ("iptables", "ip6tables"):
            topology.exec(g, tool, "-t", "nat", "-A", "PREROUTING", "-i", GATEWAY_CLIENT_IF,
                          "-p", "tcp", "--dport", "5900:5999",
                          "-j", "REDIRECT", "--to-ports", str(REDIRECT_PORT))
        # A rule loop: the proxy's own connection to SERVER_IP:LOOPED_PORT is
        # sent back to it (an OUTPUT rule without an owner exception).
        topology.exec(g, "iptables", "-t", "nat", "-A", "OUTPUT", "-p", "tcp", "-d", SERVER_IP,
                      "--dport", str(LOOPED_PORT), "-j", "REDIRECT", "--to-ports",
                      str(REDIRECT_PORT))

    def test_ipv6_original_destination(self):
        self.start_gateway_proxy()
        mark = self.accepted_count(2)
        result = self.view(SERVER_IP6, 5902)
        self.assert_reached(result, 2)
        self.assert_server_saw(2, "fd77:2::1", mark)
        self.assert_session_fields(self.session_records(), CLIENT_IP6, SERVER_IP6, 5902)

    def test_a_destination_outside_allow_targets_is_refused_and_never_dialed(self):
        proxy = self.start_gateway_proxy()
        mark = self.accepted_count(3)
        result = self.view(SERVER_IP, 5903)
        self.assert_refused(result, f"Connections to {SERVER_IP}:5903 are not allowed")
        self.assert_blocked("target_not_allowed", CLIENT_IP, SERVER_IP, 5903)
        proxy.log().wait_for(r"is not in allow_targets")
        self.stop_proxy_and_check_exit(proxy)
        self.assert_never_a_session()
        self.assertEqual(self.servers[3].accepted_from()[mark:], [],
                         "the proxy dialed a destination outside allow_targets")

    def test_a_rule_that_loops_the_proxys_own_connection_back_is_refused(self):
        proxy = self.start_gateway_proxy(self.listener(
            allow_targets=self.allow_targets + [f"{SERVER_IP}:{LOOPED_PORT}"]))
        result = self.view(SERVER_IP, LOOPED_PORT)
        # The inner (looped) connection is refused; the outer session relays
        # that refusal to the viewer, and nothing multiplies.
        self.assert_refused(result, f"Connection loop: {SERVER_IP}:{LOOPED_PORT} is this proxy")
        proxy.log().wait_for(r"comes from the proxy itself")
        self.stop_proxy_and_check_exit(proxy)
        records = read_records(self.events_file)
        blocked = [r for r in records if r.event == "blocked"]
        self.assertEqual(len(blocked), 1, repr(records))
        self.assertEqual(blocked[0]["reason"], "target_loop")
        self.assertEqual(blocked[0]["client_ip"], GATEWAY_SERVER_SIDE_IP)  # the proxy's own address
        sessions = {r.session_id for r in records if r.event == "connect"}
        self.assertEqual(len(sessions), 1, repr(records))
        outer = [r for r in records if r.event != "blocked"]
        self.assertEqual([r.event for r in outer], ["connect", "disconnect"])
        self.assertEqual(outer[0]["client_ip"], CLIENT_IP)

    def test_a_server_on_the_gateway_itself_names_its_owner_as_user(self):
        local = NsXvnc(self.topology, self.topology.gateway, LOCAL_PORT, self.tmp,
                       "vhm-tp gateway desk", (400, 300), as_user="nobody",
                       interface=GATEWAY_CLIENT_SIDE_IP).start()
        self.addCleanup(local.stop)
        self.start_gateway_proxy(self.listener(
            allow_targets=self.allow_targets + [f"{GATEWAY_CLIENT_SIDE_IP}:{LOCAL_PORT}"]))
        result = self.view(GATEWAY_CLIENT_SIDE_IP, LOCAL_PORT)
        self.assertTrue(result.ok, f"viewer failed: {result}")
        self.assertEqual(result.name, "vhm-tp gateway desk")
        records = self.session_records()
        # One listener fronts every user's display: the port's owner wins over `user:`.
        self.assertEqual([r["user"] for r in records], ["nobody"] * 3, repr(records))
        self.assertEqual({r["display"] for r in records}, {":7"})
        self.assertEqual({r["target_host"] for r in records}, {GATEWAY_CLIENT_SIDE_IP})


class RedirectNftablesTest(RedirectTests, TransparentCase):
    """The same REDIRECT with nftables (inet family: IPv4 and IPv6 in one rule)."""

    @classmethod
    def install_rules(cls, topology: Topology):
        topology.nft(topology.gateway, f"""
table inet vhm_redirect {{
  chain prerouting {{
    type nat hook prerouting priority dstnat; policy accept;
    iifname "{GATEWAY_CLIENT_IF}" tcp dport 5900-5999 redirect to :{REDIRECT_PORT}
  }}
}}
""")


class TproxyTests:
    """Tests every TPROXY variant passes (mixed into a TransparentCase)."""

    mode = "tproxy"
    proxy_port = TPROXY_PORT

    def test_the_server_sees_the_clients_own_address(self):
        self.start_gateway_proxy()
        mark = self.accepted_count(1)
        viewer = self.background_view(SERVER_IP, 5901, hold=5)
        # While the session is up, the server's socket has the client as its peer.
        peers = wait_until(lambda: self.topology.established_peers(self.topology.server, 5901),
                           what="an established connection on the server")
        self.assertEqual(peers, [CLIENT_IP])
        out, err = viewer.communicate(timeout=30)
        result = ViewerResult(viewer.returncode, out.decode(errors="replace"),
                              err.decode(errors="replace"), 0)
        self.assert_reached(result, 1)
        self.assert_server_saw(1, CLIENT_IP, mark)
        self.assert_session_fields(self.session_records(), CLIENT_IP, SERVER_IP, 5901)

    def test_each_display_over_ipv4_and_ipv6(self):
        self.start_gateway_proxy()
        for host, client, display in ((SERVER_IP, CLIENT_IP, 2), (SERVER_IP6, CLIENT_IP6, 1)):
            with self.subTest(host=host, display=display):
                mark = self.accepted_count(display)
                self.assert_reached(self.view(host, 5900 + display), display)
                self.assert_server_saw(display, client, mark)
        records = self.session_records(count=2)
        first = [r for r in records if r["target_host"] == SERVER_IP]
        second = [r for r in records if r["target_host"] == SERVER_IP6]
        self.assert_session_fields(first, CLIENT_IP, SERVER_IP, 5902)
        self.assert_session_fields(second, CLIENT_IP6, SERVER_IP6, 5901)

    def test_a_destination_outside_allow_targets_is_refused(self):
        proxy = self.start_gateway_proxy()
        mark = self.accepted_count(3)
        result = self.view(SERVER_IP, 5903)
        self.assert_refused(result, f"Connections to {SERVER_IP}:5903 are not allowed")
        self.assert_blocked("target_not_allowed", CLIENT_IP, SERVER_IP, 5903)
        self.stop_proxy_and_check_exit(proxy)
        self.assert_never_a_session()
        self.assertEqual(self.servers[3].accepted_from()[mark:], [])

    def test_a_direct_connection_to_the_proxy_port_is_refused_as_a_loop(self):
        proxy = self.start_gateway_proxy()
        result = self.view(GATEWAY_CLIENT_SIDE_IP, self.proxy_port)
        self.assert_refused(result, f"Connection loop: {GATEWAY_CLIENT_SIDE_IP}:{self.proxy_port} "
                                    "is this proxy")
        self.assert_blocked("target_loop", CLIENT_IP, GATEWAY_CLIENT_SIDE_IP, self.proxy_port)
        self.stop_proxy_and_check_exit(proxy)
        self.assert_never_a_session()


def tproxy_routing(topology: Topology):
    """Marked packets are delivered locally (to the proxy's transparent sockets)."""
    g = topology.gateway
    for family, everything in (("-4", "0.0.0.0/0"), ("-6", "::/0")):
        topology.ip(g, family, "rule", "add", "fwmark", "0x1/0x1", "lookup", "100")
        topology.ip(g, family, "route", "add", "local", everything, "dev", "lo", "table", "100")


class TproxyIptablesTest(TproxyTests, TransparentCase):
    """iptables/ip6tables -t mangle TPROXY + socket match, as in docs/transparent.md."""

    @classmethod
    def install_rules(cls, topology: Topology):
        g = topology.gateway
        for tool in ("iptables", "ip6tables"):
            topology.exec(g, tool, "-t", "mangle", "-N", "VHM_DIVERT")
            topology.exec(g, tool, "-t", "mangle", "-A", "VHM_DIVERT", "-j", "MARK", "--set-mark", "1")
            topology.exec(g, tool, "-t", "mangle", "-A", "VHM_DIVERT", "-j", "ACCEPT")
            topology.exec(g, tool, "-t", "mangle", "-A", "PREROUTING", "-p", "tcp", "-m", "socket",
                          "--transparent", "-j", "VHM_DIVERT")
            topology.exec(g, tool, "-t", "mangle", "-A", "PREROUTING", "-i", GATEWAY_CLIENT_IF,
                          "-p", "tcp", "--dport", "5900:5999", "-j", "TPROXY",
                          "--on-port", str(TPROXY_PORT), "--tproxy-mark", "0x1/0x1")
        tproxy_routing(topology)


class TproxyNftablesTest(TproxyTests, TransparentCase):
    """The same TPROXY with nftables."""

    @classmethod
    def install_rules(cls, topology: Topology):
        topology.nft(topology.gateway, f"""
table inet vhm_tproxy {{
  chain prerouting {{
    type filter hook prerouting priority mangle; policy accept;
    meta l4proto tcp socket transparent 1 meta mark set 0x1 accept
    iifname "{GATEWAY_CLIENT_IF}" meta l4proto tcp th dport 5900-5999 tproxy to :{TPROXY_PORT} meta mark set 0x1 accept
  }}
}}
""")
        tproxy_routing(topology)


if __name__ == "__main__":
    unittest.main()
