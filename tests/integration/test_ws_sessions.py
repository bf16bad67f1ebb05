"""Browser sessions keep every feature of a plain one (issue 13): VeNCrypt
termination inside a WebSocket (TLS over the WebSocket byte stream, as a
viewer would run it), RFB wrapped in TLS on a sniffing port, recording of a
WebSocket session, bans counted and enforced over WebSocket, and `ctl
sessions` naming the transport. Real Xvnc; the viewer side is ws_client.py
and Python's ssl over memory BIOs."""

import json
import signal
import socket
import ssl
import struct
import subprocess
import unittest
from pathlib import Path

from vencrypt_support import XvncServer, password_file
from vhm_harness import VNC_PASSWORD, IntegrationTest, make_config, proxy_binary, wait_until
from ws_client import WsClient, insecure_tls_context, rfb_handshake, vnc_auth_response, ws_rfb_handshake

TLSVNC = 258


def log_events(path: Path, kinds=("connect", "auth_success", "auth_failure", "disconnect", "ban",
                                  "blocked", "recording_finished")) -> dict:
    return {kind: [{"name": "audit", "action": "log", "path": str(path)}] for kind in kinds}


class TlsOverWebSocket:
    """A TLS client whose records travel as the WebSocket's byte stream."""

    def __init__(self, ws: WsClient, context: ssl.SSLContext):
        self.ws = ws
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=False)

    def _flush(self):
        data = self.outgoing.read()
        if data:
            self.ws.send_binary(data)

    def _pump_in(self):
        frame = self.ws.recv_data_frame()
        self.incoming.write(frame.payload)

    def handshake(self):
        while True:
            try:
                self.tls.do_handshake()
                self._flush()
                return
            except ssl.SSLWantReadError:
                self._flush()
                self._pump_in()

    def send(self, data: bytes):
        self.tls.write(data)
        self._flush()

    def recv_bytes(self, count: int) -> bytes:
        out = b""
        while len(out) < count:
            try:
                out += self.tls.read(count - len(out))
            except ssl.SSLWantReadError:
                self._flush()
                self._pump_in()
        return out


class WebSocketSessions(IntegrationTest):
    def read_events(self) -> list[dict]:
        if not self.events_file.exists():
            return []
        return [json.loads(line) for line in self.events_file.read_text().splitlines() if line.strip()]

    def events(self, predicate, timeout=15) -> list[dict]:
        return wait_until(lambda: (lambda es: es if predicate(es) else None)(self.read_events()), timeout=timeout,
                          what="events")

    def test_vencrypt_terminated_inside_a_websocket(self):
        # The viewer runs VeNCrypt/TLSVnc inside its WebSocket; the proxy ends
        # that TLS, sees the VncAuth result inside it and says so in events.
        pw = password_file(self.tmp, VNC_PASSWORD, "vnc.passwd")
        xvnc = XvncServer(self.tmp, ["-SecurityTypes", "TLSVnc", "-rfbauth", str(pw)])
        self.addCleanup(xvnc.stop)
        xvnc.start()
        config = make_config([{"listen": "127.0.0.1:0", "target": xvnc.target, "protocols": ["ws"],
                               "vencrypt": "terminate", "scanner_shield": False}], log_events(self.events_file))
        config = config.replace("\nevents:\n", '\n    tls: {"server_anonymous": true}\nevents:\n', 1)
        proxy = self.start_proxy(config)
        ws = WsClient.connect("127.0.0.1", proxy.port())
        self.addCleanup(ws.close)
        recv, send = ws.recv_bytes, ws.send_binary
        self.assertTrue(recv(12).startswith(b"RFB 003.008"))
        send(b"RFB 003.008\n")
        self.assertIn(19, list(recv(recv(1)[0])))
        send(b"\x13")
        self.assertEqual(recv(2), b"\x00\x02")
        send(b"\x00\x02")
        self.assertEqual(recv(1), b"\x00")
        count = recv(1)[0]
        self.assertIn(TLSVNC, struct.unpack(f">{count}I", recv(4 * count)))
        send(struct.pack(">I", TLSVNC))
        self.assertEqual(recv(1), b"\x01")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        context.set_ciphers("aNULL:@SECLEVEL=0")
        tls = TlsOverWebSocket(ws, context)
        tls.handshake()
        tls.send(vnc_auth_response(VNC_PASSWORD, tls.recv_bytes(16)))
        self.assertEqual(tls.recv_bytes(4), b"\x00\x00\x00\x00")
        tls.send(b"\x01")
        width, height = struct.unpack(">HH", tls.recv_bytes(4))
        self.assertEqual((width, height), (640, 480))
        ws.close()
        records = self.events(lambda rs: any(r["event"] == "disconnect" for r in rs))
        by_event = {r["event"]: r for r in records}
        self.assertIn("auth_success", by_event)
        self.assertEqual(by_event["auth_success"]["security_type"], "VeNCrypt/TLSVnc")
        self.assertEqual(by_event["auth_success"]["transport"], "ws")
        self.assertEqual(by_event["disconnect"]["width"], "640")

    def test_rfb_in_tls_and_raw_rfb_on_one_sniffing_port(self):
        xvnc = self.start_xvnc(security="None")
        cert, key = self.tmp / "cert.pem", self.tmp / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        "/CN=localhost", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
        config = make_config([{"listen": "127.0.0.1:0", "target": xvnc.target, "protocols": ["rfb", "tls"],
                               "frontend_tls": {"cert": str(cert), "key": str(key)}}],
                             log_events(self.events_file))
        proxy = self.start_proxy(config)
        raw = socket.create_connection(("127.0.0.1", proxy.port()), timeout=10)
        self.addCleanup(raw.close)
        wrapped = insecure_tls_context().wrap_socket(socket.create_connection(("127.0.0.1", proxy.port()),
                                                                              timeout=10))
        self.addCleanup(wrapped.close)
        for sock in (raw, wrapped):
            def recv(n, sock=sock):
                out = b""
                while len(out) < n:
                    chunk = sock.recv(n - len(out))
                    if not chunk:
                        raise AssertionError("closed")
                    out += chunk
                return out
            session = rfb_handshake(recv, sock.sendall)
            self.assertGreater(session.width, 0)  # ServerInit came through
            sock.close()
        records = self.events(lambda rs: sum(r["event"] == "disconnect" for r in rs) == 2)
        transports = sorted(r["transport"] for r in records if r["event"] == "auth_success")
        self.assertEqual(transports, ["tcp", "tls"])

    def test_frontend_certificate_is_read_again_on_sighup(self):
        xvnc = self.start_xvnc(security="None")
        cert, key = self.tmp / "cert.pem", self.tmp / "key.pem"

        def make_certificate(name: str):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                            f"/CN={name}", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)

        def served_name() -> str:
            with insecure_tls_context().wrap_socket(socket.create_connection(("127.0.0.1", proxy.port()),
                                                                             timeout=10)) as sock:
                der = sock.getpeercert(binary_form=True)
            text = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-subject"], input=der,
                                  capture_output=True, timeout=10).stdout.decode()
            return text.strip()

        make_certificate("first.example")
        config = make_config([{"listen": "127.0.0.1:0", "target": xvnc.target, "protocols": ["tls"],
                               "frontend_tls": {"cert": str(cert), "key": str(key)}}])
        proxy = self.start_proxy(config)
        self.assertIn("first.example", served_name())
        make_certificate("second.example")
        proxy.send_signal(signal.SIGHUP)
        wait_until(lambda: "second.example" in served_name(), timeout=10, what="the new certificate after SIGHUP")

    def test_websocket_session_is_recorded(self):
        xvnc = self.start_xvnc(security="None")
        rec_dir = self.tmp / "rec"
        config = make_config([{"listen": "127.0.0.1:0", "target": xvnc.target, "protocols": ["ws"],
                               "recording": {"enabled": True, "dir": str(rec_dir)}}],
                             log_events(self.events_file))
        proxy = self.start_proxy(config)
        with WsClient.connect("127.0.0.1", proxy.port()) as ws:
            session = ws_rfb_handshake(ws)
            ws.send_binary(struct.pack(">BBHHHH", 3, 0, 0, 0, session.width, session.height))
            self.assertEqual(ws.recv_bytes(1), b"\x00")  # a FramebufferUpdate arrives through the recorder
        records = self.events(lambda rs: any(r["event"] == "recording_finished" for r in rs))
        finished = next(r for r in records if r["event"] == "recording_finished")
        self.assertEqual(finished["transport"], "ws")
        path = Path(finished["recording_path"])
        self.assertTrue(path.is_file())
        info = subprocess.run([proxy_binary(), "recording", "info", "--json", str(path)], capture_output=True,
                              text=True, timeout=30)
        self.assertEqual(info.returncode, 0, info.stderr)
        self.assertGreater(int(finished["recording_bytes"]), 1000)

    def test_wrong_passwords_over_websocket_ban_the_browser(self):
        xvnc = self.start_xvnc()
        config = make_config([{"listen": "127.0.0.1:0", "target": xvnc.target, "protocols": ["ws"]}],
                             log_events(self.events_file),
                             sections={"blocking": {"max_failures": 2, "window": "1m", "ban": "10m",
                                                    "state_file": str(self.tmp / "bans.json")}})
        proxy = self.start_proxy(config)
        for _ in range(2):
            with WsClient.connect("127.0.0.1", proxy.port()) as ws:
                with self.assertRaises(AssertionError):
                    ws_rfb_handshake(ws, password="wrong-password")
        self.events(lambda rs: any(r["event"] == "ban" for r in rs))
        with WsClient.connect("127.0.0.1", proxy.port()) as ws:
            with self.assertRaisesRegex(AssertionError, "refused: .*Too many authentication failures"):
                ws_rfb_handshake(ws, password=VNC_PASSWORD)
        records = self.events(lambda rs: any(r["event"] == "blocked" for r in rs))
        blocked = next(r for r in records if r["event"] == "blocked")
        self.assertEqual(blocked["reason"], "banned")
        self.assertEqual(blocked["transport"], "ws")

    def test_ctl_sessions_names_the_transport(self):
        xvnc = self.start_xvnc(security="None")
        socket_path = self.tmp / "ctl.sock"
        config = make_config([{"listen": "127.0.0.1:0", "target": xvnc.target, "protocols": ["rfb", "ws"]}],
                             log_events(self.events_file), sections={"control": {"socket": str(socket_path)}})
        proxy = self.start_proxy(config)
        with WsClient.connect("127.0.0.1", proxy.port()) as ws:
            ws_rfb_handshake(ws)
            def listed():
                out = subprocess.run([proxy_binary(), "ctl", "--socket", str(socket_path), "--json", "sessions"],
                                     capture_output=True, text=True, timeout=10)
                rows = json.loads(out.stdout).get("sessions", []) if out.returncode == 0 else []
                return rows if rows and rows[0].get("state") == "relaying" else None
            rows = wait_until(listed, timeout=10, what="the session in ctl sessions")
            self.assertEqual([row["transport"] for row in rows], ["ws"])
            table = subprocess.run([proxy_binary(), "ctl", "--socket", str(socket_path), "sessions"],
                                   capture_output=True, text=True, timeout=10).stdout
            self.assertRegex(table, r"VIA")
            self.assertRegex(table, r"\sws\s")


if __name__ == "__main__":
    unittest.main()
