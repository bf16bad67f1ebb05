"""action: syslog (docs/syslog.md) with real Xvnc sessions through the proxy:
RFC 5424 messages over a Unix datagram socket, UDP and TCP (octet counting),
each parsed strictly here and compared field by field with a `log` action's
JSON of the same events; a receiver that is down fails the hook, which is
retried without delaying the session.
"""
from __future__ import annotations

import json
import re
import socket
import threading
import unittest

from vhm_harness import (IntegrationTest, closed_port, run_viewer, wait_until)

# A desktop name with every character PARAM-VALUE must escape.
DESKTOP = 'say "hi" \\ ] [x=y]'

HEADER_RE = re.compile(
    r'^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) ([!-~]{1,255}) '
    r'([!-~]{1,48}) ([!-~]{1,128}) ([!-~]{1,32}) ')
PARAM = r' ([^= \]"]{1,32})="((?:[^"\\\]]|\\["\\\]])*)"'
SD_RE = re.compile(r'\[vnc@32473((?:' + PARAM + r')+)\]')
PARAM_RE = re.compile(PARAM)
UNESCAPE_RE = re.compile(r'\\(["\\\]])')

FACILITY = {"user": 1, "local0": 16, "local1": 17}
SEVERITY = {"warning": 4, "notice": 5, "info": 6}


def parse_rfc5424(raw: bytes) -> dict:
    """One message, strictly: header, exactly one vnc@32473 SD-ELEMENT, MSG with BOM."""
    text = raw.decode("utf-8")  # must be valid UTF-8
    assert not re.search(r"[\x00-\x1f\x7f]", text), f"control character in {text!r}"
    header = HEADER_RE.match(text)
    assert header, f"not an RFC 5424 header: {text!r}"
    rest = text[header.end():]
    sd = SD_RE.match(rest)
    assert sd, f"no vnc@32473 structured data: {rest!r}"
    params = {}
    for name, value in PARAM_RE.findall(sd.group(1)):
        assert name not in params, f"{name} twice"
        params[name] = UNESCAPE_RE.sub(r"\1", value)
    tail = rest[sd.end():]
    assert tail == "" or tail.startswith(" \ufeff"), f"MSG without BOM: {tail!r}"
    return {"pri": int(header.group(1)), "timestamp": header.group(2),
            "hostname": header.group(3), "app_name": header.group(4),
            "procid": header.group(5), "msgid": header.group(6),
            "params": params, "msg": tail[2:], "raw": text}


class Receiver:
    """Collects messages on a thread; `messages` are the raw bytes of each."""

    def __init__(self):
        self.messages: list[bytes] = []
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self.run, daemon=True)

    def add(self, message: bytes):
        with self.lock:
            self.messages.append(message)

    def snapshot(self) -> list[bytes]:
        with self.lock:
            return list(self.messages)

    def stop(self):
        self.stopping = True
        self.sock.close()
        self.thread.join(5)


class DatagramReceiver(Receiver):
    def __init__(self, family, address):
        super().__init__()
        self.sock = socket.socket(family, socket.SOCK_DGRAM)
        self.sock.bind(address)
        self.sock.settimeout(0.2)
        self.thread.start()

    def run(self):
        while not self.stopping:
            try:
                self.add(self.sock.recv(65536))
            except (socket.timeout, OSError):
                continue


class TcpReceiver(Receiver):
    """RFC 6587 octet counting, strictly: LEN (no leading zero) SP MSG."""

    def __init__(self, port: int = 0):
        super().__init__()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(4)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.errors: list[str] = []
        self.thread.start()

    def run(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            threading.Thread(target=self.read_frames, args=(conn,), daemon=True).start()

    def read_frames(self, conn):
        buffer = b""
        with conn:
            conn.settimeout(30)
            while True:
                match = re.match(rb"([1-9][0-9]{0,5}) ", buffer)
                if match and len(buffer) >= match.end() + int(match.group(1)):
                    end = match.end() + int(match.group(1))
                    self.add(buffer[match.end():end])
                    buffer = buffer[end:]
                    continue
                if buffer and not re.match(rb"[1-9][0-9]{0,5}( |$)", buffer):
                    self.errors.append(f"bad frame start {buffer[:40]!r}")
                    return
                try:
                    data = conn.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                buffer += data


class SyslogTest(IntegrationTest):
    def receivers(self):
        unix = DatagramReceiver(socket.AF_UNIX, str(self.tmp / "log.sock"))
        udp = DatagramReceiver(socket.AF_INET, ("127.0.0.1", 0))
        tcp = TcpReceiver()
        for receiver in (unix, udp, tcp):
            self.addCleanup(receiver.stop)
        return unix, udp, tcp

    def test_messages_over_unix_udp_and_tcp_match_the_events(self):
        xvnc = self.start_xvnc(desktop=DESKTOP)
        unix, udp, tcp = self.receivers()
        udp_port = udp.sock.getsockname()[1]
        audit = self.tmp / "audit.jsonl"
        kinds = ["connect", "auth_failure", "disconnect"]
        events = {}
        for kind in kinds:
            events[kind] = [
                {"name": "audit", "action": "log", "path": str(audit)},
                {"name": "to_unix", "action": "syslog", "target": str(self.tmp / "log.sock"),
                 "facility": "local0"},
                {"name": "to_udp", "action": "syslog", "target": f"udp://127.0.0.1:{udp_port}",
                 "facility": "local1", "severity": "info"},
                {"name": "to_tcp", "action": "syslog", "target": f"tcp://127.0.0.1:{tcp.port}",
                 "facility": "user", "app_name": "vhm-test",
                 "message": 'user {user} at {client_ip} on "{desktop_name}"'},
            ]
        proxy = self.start_proxy(self.config([{"listen": "127.0.0.1:0", "target": xvnc.target}],
                                             events))
        port = proxy.port()
        self.assertTrue(run_viewer(port).ok)
        self.assertFalse(run_viewer(port, password="wrong-pw").ok)

        def audit_records():
            lines = audit.read_text().splitlines() if audit.exists() else []
            return [json.loads(line) for line in lines]
        wait_until(lambda: len(audit_records()) == 5, what="5 audited events")
        for receiver in (unix, udp, tcp):
            wait_until(lambda: len(receiver.snapshot()) == 5, what="5 syslog messages")
        self.assertEqual(tcp.errors, [])
        self.assertEqual(tcp.connections, 1)  # one persistent connection

        records = audit_records()
        self.assertEqual(sorted(r["event"] for r in records),
                         ["auth_failure", "connect", "connect", "disconnect", "disconnect"])
        hostname = socket.gethostname()
        expectations = [(unix, "local0", None, "vnc-hooks-manager"),
                        (udp, "local1", "info", "vnc-hooks-manager"),
                        (tcp, "user", None, "vhm-test")]
        for receiver, facility, severity, app_name in expectations:
            parsed = [parse_rfc5424(raw) for raw in receiver.snapshot()]
            by_key = {(p["params"]["session_id"], p["msgid"]): p for p in parsed}
            self.assertEqual(len(by_key), 5)
            for record in records:
                message = by_key[(record["session_id"], record["event"])]
                want_severity = SEVERITY[severity] if severity else (
                    SEVERITY["warning"] if record["event"] == "auth_failure" else SEVERITY["notice"])
                self.assertEqual(message["pri"], FACILITY[facility] * 8 + want_severity)
                self.assertEqual(message["timestamp"], record["timestamp"])
                self.assertEqual(message["hostname"], hostname)
                self.assertEqual(message["app_name"], app_name)
                self.assertEqual(message["procid"], str(proxy.proc.pid))
                self.assertEqual(message["params"],
                                 {k: v for k, v in record.items() if v != ""})
                if receiver is tcp:
                    self.assertEqual(message["msg"], f'user {record["user"]} at '
                                     f'{record["client_ip"]} on "{record["desktop_name"]}"')
                else:
                    self.assertTrue(message["msg"].startswith(
                        f'{record["event"]} client 127.0.0.1:{record["client_port"]} -> '
                        f'127.0.0.1:{xvnc.port}'), message["msg"])
        # The desktop name (on the successful session's disconnect) as it is
        # on the wire: quotes, backslash and ] escaped.
        escaped = 'desktop_name="say \\"hi\\" \\\\ \\] [x=y\\]"'
        for receiver in (unix, udp, tcp):
            self.assertEqual(sum(escaped.encode() in raw for raw in receiver.snapshot()), 1)
        self.assertEqual([r["desktop_name"] for r in records if r["desktop_name"]], [DESKTOP])

    def test_a_receiver_that_is_down_fails_the_hook_which_retries_without_delaying_the_session(self):
        xvnc = self.start_xvnc(security="None")
        port_down = closed_port()
        audit = self.tmp / "audit.jsonl"
        events = {
            "connect": [
                {"name": "tcp_down", "action": "syslog", "target": f"tcp://127.0.0.1:{port_down}",
                 "retries": 3},
                {"name": "unix_down", "action": "syslog",
                 "target": str(self.tmp / "nobody.sock"), "retries": 1},
            ],
            "disconnect": [{"name": "audit", "action": "log", "path": str(audit)}],
        }
        proxy = self.start_proxy(self.config([{"listen": "127.0.0.1:0", "target": xvnc.target}],
                                             events))
        result = run_viewer(proxy.port(), password=None)
        self.assertTrue(result.ok, result)
        self.assertLess(result.elapsed, 5)
        log = proxy.log()
        log.wait_for(r"hook tcp_down \[session \w+\] failed \(exit code 1\), retrying in 250 ms "
                     r"\(attempt 2 of 4\)")
        log.wait_for(r"hook unix_down \[session \w+\] failed \(exit code 1\), retrying")
        log.wait_for(r"syslog to .*nobody\.sock failed: cannot connect: No such file or directory")
        # The collector comes up: a later attempt of the same event delivers it.
        tcp = TcpReceiver(port_down)
        self.addCleanup(tcp.stop)
        wait_until(lambda: tcp.snapshot(), what="the retried message")
        message = parse_rfc5424(tcp.snapshot()[0])
        self.assertEqual(message["msgid"], "connect")
        log.wait_for(r"syslog to tcp://127\.0\.0\.1:%d works again after \d failed" % port_down)
        # One warning for the burst of failures, not one per attempt.
        self.assertEqual(len(log.matching(r"syslog to tcp://127\.0\.0\.1:%d failed" % port_down)), 1)
        # The disconnect's hooks ran after the connect's (per-session order).
        wait_until(lambda: audit.exists() and audit.read_text().strip(), what="disconnect audit")


if __name__ == "__main__":
    unittest.main()
