"""VeNCrypt/TLS termination (issue 5) with TigerVNC on its defaults: Xvnc with
only -rfbauth offers VeNCrypt[TLSVnc, VncAuth] and TigerVNC's own vncviewer
(under Xvfb) picks VeNCrypt/TLSVnc. With `vencrypt: terminate` the proxy runs
TLS on both legs and sees the authentication inside: the result, the server's
failure reason, Plain user names; X509 subtypes use a test CA made here with
`openssl`. `vencrypt: pass` still relays TLSVnc untouched (result unknown). A
TLS handshake that fails on either leg ends cleanly with tls_error."""
import re
import subprocess
import tempfile
import time
from pathlib import Path

from vencrypt_support import (PlainUser, TigerViewer, VirtualDisplay, XvncServer, make_ca,
                              make_server_cert, password_file, vencrypt_config,
                              vencrypt_until_tls)
from vhm_harness import (VNC_PASSWORD, IntegrationTest, read_records, record_hooks,
                         recv_until_eof, wait_records)

TLSVNC = 258
GATE_TEXT = "No remote sessions during backups"


class VeNCryptTermination(IntegrationTest):
    """One Xvfb, one test CA (+ an unrelated one) and password files for the class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        tmp = tempfile.TemporaryDirectory(prefix="vhm-it-vencrypt-")
        cls.addClassCleanup(tmp.cleanup)
        cls.shared = Path(tmp.name)
        cls.screen = VirtualDisplay()
        cls.addClassCleanup(cls.screen.stop)
        cls.screen.start()
        cls.ca = make_ca(cls.shared, "ca")
        cls.other_ca = make_ca(cls.shared, "other-ca")
        cls.cert = make_server_cert(cls.shared, cls.ca)
        cls.right_password = password_file(cls.shared, VNC_PASSWORD, "right.passwd")
        cls.wrong_password = password_file(cls.shared, "wrong-pw", "wrong.passwd")

    # --- starting things ---
    def xvnc(self, *security_args: str) -> XvncServer:
        server = XvncServer(self.tmp, list(security_args))
        self.addCleanup(server.stop)
        return server.start()

    def default_xvnc(self) -> XvncServer:
        """TigerVNC's default security: only a password file."""
        return self.xvnc("-rfbauth", str(self.right_password))

    def x509_xvnc(self, security: str, *more: str) -> XvncServer:
        return self.xvnc("-SecurityTypes", security, "-X509Cert", str(self.cert[0]),
                         "-X509Key", str(self.cert[1]), *more)

    def proxy(self, target: str, vencrypt: str | None = "terminate", tls: dict | None = None,
              events: dict | None = None, **listener_keys):
        events = record_hooks(self.events_file) if events is None else events
        return self.start_proxy(vencrypt_config(target, events, vencrypt, tls, **listener_keys))

    def viewer(self, port: int, *args: str, env: dict | None = None) -> TigerViewer:
        viewer = TigerViewer(self.screen.display, self.tmp, port, list(args), env)
        self.addCleanup(viewer.stop)
        return viewer

    # --- records ---
    def wait_event(self, kind: str) -> list:
        records = wait_records(self.events_file, lambda rs: any(r.event == kind for r in rs),
                               timeout=15, what=f"a {kind} record")
        return [r for r in records if r.event == kind]

    def session_events(self) -> list[str]:
        return [r.event for r in read_records(self.events_file)]

    def assert_viewer_chose(self, viewer: TigerViewer, subtype: str, number: int):
        viewer.wait_for(r"Choosing security type VeNCrypt\(19\)")
        viewer.wait_for(rf"Choosing security type {subtype} \({number}\)")
        viewer.wait_for(r"TLS handshake completed")

    # --- the tests ---
    def test_tlsvnc_right_password_fires_auth_success_and_the_viewer_negotiated_tlsvnc(self):
        xvnc = self.default_xvnc()
        proxy = self.proxy(xvnc.target, tls={"server_anonymous": True})
        viewer = self.viewer(proxy.port(), "-passwd", str(self.right_password))
        (success,) = self.wait_event("auth_success")
        self.assertEqual(success["security_type"], "VeNCrypt/TLSVnc")
        self.assertEqual(success["rfb_version"], "3.8")
        self.assert_viewer_chose(viewer, "TLSVnc", TLSVNC)
        viewer.wait_for(r"Authentication success")
        viewer.wait_for(r"initialisation done")  # ServerInit came through the TLS relay
        proxy.log().wait_for(r"TLS terminated for VeNCrypt/TLSVnc: viewer leg TLSv1\.2 A(EC)?DH-")
        viewer.stop()
        (disconnect,) = self.wait_event("disconnect")
        self.assertEqual(disconnect["reason"], "client_closed")
        self.assertEqual((disconnect["desktop_name"], disconnect["width"], disconnect["height"]),
                         ("vhm vencrypt", "640", "480"))
        self.assertGreater(int(disconnect["bytes_out"]), 12 + 2 + 16 + 4 + 24)
        self.assertEqual(self.session_events(), ["connect", "auth_success", "disconnect"])

    def test_tlsvnc_wrong_password_fires_auth_failure_with_the_servers_reason(self):
        xvnc = self.default_xvnc()
        proxy = self.proxy(xvnc.target, tls={"server_anonymous": True})
        viewer = self.viewer(proxy.port(), "-passwd", str(self.wrong_password))
        (failure,) = self.wait_event("auth_failure")
        self.assertEqual(failure["security_type"], "VeNCrypt/TLSVnc")
        self.assertEqual(failure["reason"], "Authentication failure")  # Xvnc's own words
        self.assert_viewer_chose(viewer, "TLSVnc", TLSVNC)
        viewer.wait_for(r"Authentication failure")
        (disconnect,) = self.wait_event("disconnect")
        # Xvnc hangs up after the failure, and the viewer exits on reading it:
        # either may reach the proxy first.
        self.assertIn(disconnect["reason"], {"server_closed", "client_closed"})
        self.assertEqual(self.session_events(), ["connect", "auth_failure", "disconnect"])

    def test_pass_relays_tlsvnc_untouched_and_the_result_stays_unknown(self):
        xvnc = self.default_xvnc()
        proxy = self.proxy(xvnc.target, vencrypt=None)
        viewer = self.viewer(proxy.port(), "-passwd", str(self.right_password))
        self.assert_viewer_chose(viewer, "TLSVnc", TLSVNC)
        viewer.wait_for(r"Authentication success")
        proxy.log().wait_for(r"authentication result not visible \(VeNCrypt/TLSVnc\)")
        viewer.stop()
        (disconnect,) = self.wait_event("disconnect")
        self.assertEqual(disconnect["security_type"], "VeNCrypt/TLSVnc")
        self.assertEqual(disconnect["desktop_name"], "")  # ServerInit is inside TLS: unseen
        self.assertEqual(self.session_events(), ["connect", "disconnect"])
        self.assertEqual(proxy.log().matching(r"TLS terminated"), [])

    def test_x509vnc_with_a_test_ca_on_both_legs(self):
        xvnc = self.x509_xvnc("X509Vnc", "-rfbauth", str(self.right_password))
        # The proxy presents the same certificate and key as Xvnc, and trusts
        # Xvnc's through the CA; the viewer trusts the same CA.
        proxy = self.proxy(xvnc.target, tls={"cert": str(self.cert[0]), "key": str(self.cert[1]),
                                             "server_ca": str(self.ca[0])})
        viewer = self.viewer(proxy.port(), "-X509CA", str(self.ca[0]),
                             "-passwd", str(self.right_password))
        (success,) = self.wait_event("auth_success")
        self.assertEqual(success["security_type"], "VeNCrypt/X509Vnc")
        self.assert_viewer_chose(viewer, "X509Vnc", 261)
        viewer.wait_for(r"initialisation done")
        proxy.log().wait_for(r"TLS terminated for VeNCrypt/X509Vnc")

    def test_x509plain_with_a_pam_user_sets_user_and_never_shows_the_password(self):
        account = PlainUser()
        self.addCleanup(account.stop)
        account.start()
        xvnc = self.x509_xvnc("X509Plain", "-PlainUsers", account.name, "-PAMService", "tigervnc")
        proxy = self.proxy(xvnc.target, tls={"cert": str(self.cert[0]), "key": str(self.cert[1]),
                                             "server_ca": str(self.ca[0])})
        viewer = self.viewer(proxy.port(), "-X509CA", str(self.ca[0]),
                             env={"VNC_USERNAME": account.name, "VNC_PASSWORD": account.password})
        (success,) = self.wait_event("auth_success")
        self.assertEqual(success["security_type"], "VeNCrypt/X509Plain")
        self.assertEqual(success["user"], account.name)
        self.assert_viewer_chose(viewer, "X509Plain", 262)
        viewer.stop()
        (disconnect,) = self.wait_event("disconnect")
        self.assertEqual(disconnect["user"], account.name)
        self.assertNotIn(account.password, proxy.log().text())
        self.assertNotIn(account.password, self.events_file.read_text())

    def test_server_security_plain_gives_the_viewer_tlsvnc_over_the_servers_plain_vncauth(self):
        xvnc = self.default_xvnc()
        proxy = self.proxy(xvnc.target, tls={"server_security": "plain"})
        viewer = self.viewer(proxy.port(), "-passwd", str(self.right_password))
        (success,) = self.wait_event("auth_success")
        self.assertEqual(success["security_type"], "VeNCrypt/TLSVnc")
        self.assert_viewer_chose(viewer, "TLSVnc", TLSVNC)
        viewer.wait_for(r"initialisation done")
        # Said loudly, and true: Xvnc saw plain VncAuth.
        proxy.log().wait_for(r"warn.*server leg uses the server's VncAuth in clear over loopback")
        proxy.log().wait_for(r"TLS terminated for VeNCrypt/TLSVnc: viewer leg \S+ \S+, server leg plain VncAuth")
        self.assertRegex(xvnc.log_path.read_text(errors="replace"),
                         r"Client requests security type VncAuth\(2\)")

    def test_x509_server_pinned_by_fingerprint_is_trusted_and_another_pin_is_not(self):
        xvnc = self.x509_xvnc("X509Vnc", "-rfbauth", str(self.right_password))
        printed = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in",
                                  str(self.cert[0])], capture_output=True, text=True,
                                 check=True).stdout  # "sha256 Fingerprint=AB:CD:..."
        pin = "sha256:" + printed.strip().split("=", 1)[1]
        wrong = pin[:-2] + ("00" if not pin.endswith("00") else "11")
        for fingerprint, expected in ((wrong, "tls_error"), (pin, "auth_success")):
            with self.subTest(fingerprint=fingerprint):
                self.events_file.unlink(missing_ok=True)
                proxy = self.proxy(xvnc.target, tls={"cert": str(self.cert[0]), "key": str(self.cert[1]),
                                                     "server_fingerprint": fingerprint})
                viewer = self.viewer(proxy.port(), "-X509CA", str(self.ca[0]),
                                     "-passwd", str(self.right_password))
                if expected == "auth_success":
                    (success,) = self.wait_event("auth_success")
                    self.assertEqual(success["security_type"], "VeNCrypt/X509Vnc")
                else:
                    (disconnect,) = self.wait_event("disconnect")
                    self.assertEqual(disconnect["reason"], "tls_error")
                    self.assert_closed_logged(proxy, disconnect.session_id, "tls_error",
                                              r"server leg: the server's certificate sha256:[0-9a-f]{64} "
                                              r"is not the pinned one")
                viewer.stop()
                proxy.stop()

    def test_refusing_auth_success_gate_holds_the_result_inside_tls(self):
        xvnc = self.default_xvnc()
        events = record_hooks(self.events_file)
        events["auth_success"].insert(0, {"name": "backup_gate", "cmd": f"gate.py 1 '{GATE_TEXT}'",
                                          "gate": True, "timeout": 5})
        proxy = self.proxy(xvnc.target, tls={"server_anonymous": True}, events=events)
        viewer = self.viewer(proxy.port(), "-passwd", str(self.right_password))
        viewer.wait_for(re.escape(GATE_TEXT))  # the viewer's failure shows the gate's text
        self.assertEqual(viewer.log.matching(r"Authentication success"), [])
        (disconnect,) = self.wait_event("disconnect")
        self.assertEqual(disconnect["reason"], "refused")

    def test_viewer_sending_garbage_after_the_tls_ack_ends_with_tls_error(self):
        xvnc = self.default_xvnc()
        proxy = self.proxy(xvnc.target, tls={"server_anonymous": True})
        sock = self.client(proxy.port())
        self.assertIn(TLSVNC, vencrypt_until_tls(sock, TLSVNC))
        sock.sendall(b"this is no TLS ClientHello\r\n" * 4)
        recv_until_eof(sock)  # the proxy hangs up
        (disconnect,) = self.wait_event("disconnect")
        self.assertEqual(disconnect["reason"], "tls_error")
        self.assertEqual(disconnect["security_type"], "VeNCrypt/TLSVnc")
        self.assert_closed_logged(proxy, disconnect.session_id, "tls_error",
                                  r"viewer leg: TLS handshake failed: wrong version number")

    def test_server_certificate_not_signed_by_server_ca_ends_with_tls_error(self):
        xvnc = self.x509_xvnc("X509Vnc", "-rfbauth", str(self.right_password))
        proxy = self.proxy(xvnc.target, tls={"cert": str(self.cert[0]), "key": str(self.cert[1]),
                                             "server_ca": str(self.other_ca[0])})
        viewer = self.viewer(proxy.port(), "-X509CA", str(self.ca[0]),
                             "-passwd", str(self.right_password))
        (disconnect,) = self.wait_event("disconnect")
        self.assertEqual(disconnect["reason"], "tls_error")
        self.assert_closed_logged(proxy, disconnect.session_id, "tls_error",
                                  r"server leg: TLS handshake failed: certificate verify failed: "
                                  r"unable to get local issuer certificate")
        self.assertEqual(viewer.log.matching(r"Authentication success"), [])
        self.assertEqual(self.session_events(), ["connect", "disconnect"])

    def test_tls_handshake_that_stalls_ends_at_the_sessions_handshake_timeout(self):
        # One deadline for the whole handshake: the TLS phase, entered 1.5 s in,
        # gets what is left of the 2 s, not 2 s of its own.
        xvnc = self.default_xvnc()
        proxy = self.proxy(xvnc.target, tls={"server_anonymous": True}, handshake_timeout=2)
        sock = self.client(proxy.port())
        started = time.monotonic()
        vencrypt_until_tls(sock, TLSVNC)
        time.sleep(1.5)
        sock.sendall(bytes.fromhex("1603010200"))  # a TLS record header, then nothing
        recv_until_eof(sock)
        elapsed = time.monotonic() - started
        self.assertGreater(elapsed, 1.9)
        self.assertLess(elapsed, 3.0, "the TLS phase got a fresh timeout of its own")
        (disconnect,) = self.wait_event("disconnect")
        self.assertEqual(disconnect["reason"], "timeout")
        self.assert_closed_logged(proxy, disconnect.session_id, "timeout",
                                  r"TLS handshakes not finished within the handshake timeout \(2s\)")
