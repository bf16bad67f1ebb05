"""`action: webhook` end to end (issue 12): real Xvnc sessions through the
proxy, webhooks delivered to the test's own HTTP and HTTPS receiver on
loopback (webhook_receiver.py). Bodies carry hostile values correctly
escaped, the URL's placeholders are percent-encoded, failures are retried,
TLS is verified, connections are kept alive, a slow receiver holds up
nothing, a webhook can be a gate, and no secret reaches the log."""
import json
import re
import time
import unittest
import urllib.parse

from vhm_harness import BackgroundViewer, XvncTestCase, run_viewer, wait_until
from webhook_receiver import Answer, Receiver, TestPki, closed_local_port

# Values a viewer cannot easily choose, so they come from the config and the
# server: the listener's `user:` and Xvnc's desktop name.
HOSTILE_USER = 'al"ice \\ {user} ",\n日本 é 😀'
HOSTILE_DESKTOP = 'name with "quotes" \\ and é'

GUIDE_BLOCK = """\
    - name: post_webhook
      action: webhook
      url: {url}
      method: POST
      headers: {{ Authorization: "Bearer XYZ" }}
      body: '{{"user":"{{user}}","display":"{{display}}","ip":"{{client_ip}}"}}'
      timeout: 10
"""


def hook_yaml(hook: dict) -> str:
    """One handler as YAML lines; JSON values are valid YAML flow values."""
    lines = []
    for index, (key, value) in enumerate(hook.items()):
        lines.append(f"    {'- ' if index == 0 else '  '}{key}: {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


class Webhooks(XvncTestCase):
    xvnc_options = {"security": "VncAuth", "desktop": HOSTILE_DESKTOP}

    def receiver(self, answer=None, **kwargs) -> Receiver:
        receiver = Receiver(answer, **kwargs)
        self.addCleanup(receiver.stop)
        return receiver

    def pki(self) -> TestPki:
        return TestPki(self.tmp / "pki")

    def start_webhook_proxy(self, events: dict[str, str], log_level: str = "debug", **listener):
        """events: kind -> the YAML of its handlers (hook_yaml / GUIDE_BLOCK)."""
        # Written here rather than by make_config: its JSON scalars are ASCII
        # with \u escapes, and an emoji would become a surrogate pair.
        text = (f"global:\n  log_level: {log_level}\n"
                f"listeners:\n  - listen: \"127.0.0.1:0\"\n    target: \"{self.xvnc.target}\"\n"
                f"    user: {json.dumps(HOSTILE_USER, ensure_ascii=False)}\n")
        text += "".join(f"    {key}: {json.dumps(value)}\n" for key, value in listener.items())
        text += "events:\n" + "".join(f"  {kind}:\n{hooks}" for kind, hooks in events.items())
        return self.start_proxy(text, listeners=1)

    def login(self, proxy):
        self.assert_healthy_login(proxy.port(), self.xvnc)

    def log_action(self, kind: str) -> str:
        return hook_yaml({"name": f"log_{kind}", "action": "log", "path": str(self.tmp / "events.jsonl")})

    def logged(self) -> list[dict]:
        path = self.tmp / "events.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    # ------------------------------------------------------------------

    def test_the_guides_block_delivers_json_with_escaped_values_and_keeps_the_connection(self):
        receiver = self.receiver()
        block = GUIDE_BLOCK.format(url=f"{receiver.origin}/vnc")
        proxy = self.start_webhook_proxy({"connect": block,
                                          "disconnect": block.replace("post_webhook", "post_end")})
        for _ in range(2):
            self.login(proxy)
        requests = receiver.wait_requests(4)
        for request in requests:
            self.assertEqual((request.method, request.target), ("POST", "/vnc"))
            self.assertEqual(request.headers["authorization"], "Bearer XYZ")
            self.assertEqual(request.headers["content-type"], "application/json")
            body = json.loads(request.body.decode("utf-8"))
            self.assertEqual(body, {"user": HOSTILE_USER, "display": self.xvnc.display,
                                    "ip": "127.0.0.1"})
        # Four requests over one kept-alive connection (or at worst a few).
        self.assertLess(receiver.connections, len(requests))
        # The body goes out as UTF-8 JSON text, not \\u-escaped ASCII.
        self.assertIn("日本 é 😀".encode(), requests[0].body)
        # The 2xx attempts are logged at debug with scheme://host:port only.
        proxy.log().wait_for(rf"hook post_webhook \[session [0-9a-f]+\] webhook POST "
                             rf"{re.escape(receiver.origin)}: 200 in \d+ ms")

    def test_without_a_body_the_event_goes_as_json_and_desktop_names_stay_intact(self):
        receiver = self.receiver()
        hook = {"name": "event_json", "action": "webhook", "url": f"{receiver.origin}/events"}
        proxy = self.start_webhook_proxy({"disconnect": hook_yaml(hook)})
        self.login(proxy)
        (request,) = receiver.wait_requests(1)
        event = json.loads(request.body.decode("utf-8"))
        self.assertEqual(event["event"], "disconnect")
        self.assertEqual(event["desktop_name"], HOSTILE_DESKTOP)
        self.assertEqual(event["user"], HOSTILE_USER)
        self.assertEqual(event["reason"], "client_closed")
        self.assertRegex(event["session_id"], r"^[0-9a-f]{16}$")
        self.assertEqual(request.headers["content-type"], "application/json")

    def test_placeholders_in_the_url_are_percent_encoded(self):
        receiver = self.receiver()
        hook = {"name": "by_url", "action": "webhook", "method": "GET",
                "url": f"{receiver.origin}/u/{{user}}?desk={{desktop_name}}&w={{width}}"}
        proxy = self.start_webhook_proxy({"disconnect": hook_yaml(hook)})
        self.login(proxy)
        (request,) = receiver.wait_requests(1)
        self.assertEqual(request.method, "GET")
        self.assertEqual(request.body, b"")
        path, _, query = request.target.partition("?")
        self.assertEqual(path, "/u/" + urllib.parse.quote(HOSTILE_USER, safe=""))
        self.assertEqual(urllib.parse.parse_qs(query), {"desk": [HOSTILE_DESKTOP],
                                                        "w": [str(self.xvnc.width)]})
        self.assertRegex(request.target, r"^[A-Za-z0-9\-._~%/?=&]+$", "unencoded bytes in the target")

    def test_a_500_is_retried_until_it_succeeds(self):
        receiver = self.receiver(lambda index, _: Answer(500, b"busy\n") if index < 2 else Answer(200))
        hook = {"name": "flaky", "action": "webhook", "url": f"{receiver.origin}/r", "retries": 3}
        proxy = self.start_webhook_proxy({"connect": hook_yaml(hook)})
        self.login(proxy)
        requests = receiver.wait_requests(3)
        self.assertEqual(len({r.body for r in requests}), 1, "every attempt sends the same event")
        proxy.log().wait_for(r"hook flaky \[session [0-9a-f]+\] webhook POST .*: failed with status 500",
                             count=2)
        proxy.log().wait_for(r"hook flaky .* retrying in 250 ms \(attempt 2 of 4\)")
        proxy.log().wait_for(r"hook flaky .* webhook POST .*: 200 in \d+ ms")
        self.stop_proxy_and_check_exit(proxy)  # waits for every hook: no attempt is pending
        self.assertEqual(len(receiver.received()), 3, "attempts after the success")

    def test_a_closed_port_is_retried_and_logged_without_the_path(self):
        port = closed_local_port()
        hook = {"name": "nobody_home", "action": "webhook", "retries": 1,
                "url": f"http://127.0.0.1:{port}/services/T000/B000/SECRETPATH"}
        proxy = self.start_webhook_proxy({"connect": hook_yaml(hook)})
        self.login(proxy)
        lines = proxy.log().wait_for(rf"hook nobody_home .* webhook POST http://127\.0\.0\.1:{port}: "
                                     r"cannot connect: .* after \d+ ms", count=2)
        self.assertEqual(len(lines), 2)
        proxy.log().wait_for(r"hook nobody_home .* retrying in 250 ms \(attempt 2 of 2\)")
        self.assertNotIn("SECRETPATH", proxy.log().text())

    def test_https_with_ca_file_is_delivered_by_ip_and_by_name(self):
        pki = self.pki()
        receiver = self.receiver(pki=pki)
        by_ip = {"name": "tls_ip", "action": "webhook", "url": f"{receiver.origin}/ip",
                 "ca_file": str(pki.ca_cert)}
        # A name: resolved, sent as SNI, checked against the certificate's DNS name.
        by_name = {"name": "tls_name", "action": "webhook", "url": f"https://localhost:{receiver.port}/name",
                   "ca_file": str(pki.ca_cert)}
        proxy = self.start_webhook_proxy({"connect": hook_yaml(by_ip) + hook_yaml(by_name)})
        self.login(proxy)
        requests = receiver.wait_requests(2)
        self.assertEqual(sorted(r.target for r in requests), ["/ip", "/name"])
        self.assertEqual({json.loads(r.body)["event"] for r in requests}, {"connect"})
        self.assertEqual({r.headers["host"] for r in requests},
                         {f"127.0.0.1:{receiver.port}", f"localhost:{receiver.port}"})
        proxy.log().wait_for(rf"hook tls_ip .* webhook POST {re.escape(receiver.origin)}: 200 in")
        proxy.log().wait_for(rf"hook tls_name .* webhook POST https://localhost:{receiver.port}: 200 in")

    def test_a_certificate_for_another_name_is_refused_unless_insecure(self):
        pki = self.pki()
        receiver = self.receiver(pki=pki, cert="other")
        strict = {"name": "tls_strict", "action": "webhook", "url": f"{receiver.origin}/strict",
                  "ca_file": str(pki.ca_cert)}
        strict_name = dict(strict, name="tls_strict_name", url=f"https://localhost:{receiver.port}/strict")
        proxy = self.start_webhook_proxy({"connect": hook_yaml(strict) + hook_yaml(strict_name)})
        self.login(proxy)
        proxy.log().wait_for(r"hook tls_strict .* webhook POST https://127\.0\.0\.1:\d+: TLS handshake "
                             r"failed: certificate verify failed: IP address mismatch")
        proxy.log().wait_for(r"hook tls_strict_name .* webhook POST https://localhost:\d+: TLS handshake "
                             r"failed: certificate verify failed: hostname mismatch")
        receiver.wait_tls_failure()
        self.assertEqual(receiver.received(), [], "a request reached a receiver with the wrong certificate")
        # The same receiver with insecure: true (and without ca_file: the CA is unknown too).
        lax = {"name": "tls_lax", "action": "webhook", "url": f"{receiver.origin}/lax", "insecure": True}
        proxy2 = self.start_webhook_proxy({"connect": hook_yaml(lax)})
        self.login(proxy2)
        (request,) = receiver.wait_requests(1)
        self.assertEqual(request.target, "/lax")

    def test_a_slow_receiver_delays_neither_the_session_nor_other_hooks(self):
        receiver = self.receiver(lambda index, _: Answer(200, delay=5.0))
        slow = {"name": "slow", "action": "webhook", "url": f"{receiver.origin}/slow", "timeout": 8}
        proxy = self.start_webhook_proxy({
            "connect": hook_yaml(slow) + self.log_action("connect"),
            "auth_success": self.log_action("auth_success"),
        })
        started = time.monotonic()
        first = BackgroundViewer(proxy.port(), password=self.xvnc.password, hold=1)
        self.addCleanup(first.stop)
        first.wait_for(r"^logged_in=", timeout=5)
        second = run_viewer(proxy.port(), password=self.xvnc.password)
        self.assert_viewer_ok(second)
        self.assertLess(time.monotonic() - started, 3.0, "a session waited for the slow webhook")
        receiver.wait_requests(2, timeout=3)  # both attempts are in flight at once
        # The log action of each connect ran at once, beside its slow webhook.
        connects = wait_until(lambda: [e for e in self.logged() if e["event"] == "connect"][1:] and
                              [e for e in self.logged() if e["event"] == "connect"], timeout=2,
                              what="both connect log records")
        self.assertEqual(len({e["session_id"] for e in connects}), 2)
        self.assertTrue(all(r.at - started < 3.0 for r in receiver.received()))
        # auth_success of a session follows its connect webhook (per-session order).
        self.assertEqual([e for e in self.logged() if e["event"] == "auth_success"], [])
        self.assert_viewer_ok(first.result(timeout=10))

    def test_a_webhook_gate_on_connect_passes_on_2xx_and_refuses_on_403(self):
        verdict = {"answer": Answer(204, b"")}
        receiver = self.receiver(lambda index, _: verdict["answer"])
        gate = {"name": "ask_policy", "action": "webhook", "url": f"{receiver.origin}/gate",
                "gate": True, "timeout": 5}
        proxy = self.start_webhook_proxy({"connect": hook_yaml(gate),
                                          "disconnect": self.log_action("disconnect")})
        self.login(proxy)
        verdict["answer"] = Answer(403, "Not during backups — sorry\nmore text".encode())
        refused = run_viewer(proxy.port(), password=self.xvnc.password)
        self.assertFalse(refused.ok, str(refused))
        self.assertIn("(server reason: Not during backups — sorry)", refused.values.get("error", ""), str(refused))
        reasons = wait_until(lambda: len(self.logged()) >= 2 and [e["reason"] for e in self.logged()],
                             what="two disconnect records")
        self.assertEqual(reasons, ["client_closed", "refused"])
        proxy.log().wait_for(r"gate ask_policy answered HTTP 403: Not during backups")

    def test_secrets_in_headers_and_user_info_never_reach_the_log(self):
        receiver = self.receiver()
        hook = {"name": "secretive", "action": "webhook",
                "url": f"http://bot:pa55w0rd-XYZ@127.0.0.1:{receiver.port}/hook/T0K3N-IN-PATH?sig=S1G",
                "headers": {"X-Api-Key": "k3y-{session_id}-VALUE"}}
        proxy = self.start_webhook_proxy({"connect": hook_yaml(hook)})
        self.login(proxy)
        (request,) = receiver.wait_requests(1)
        self.assertEqual(request.headers["authorization"], "Basic Ym90OnBhNTV3MHJkLVhZWg==")
        self.assertRegex(request.headers["x-api-key"], r"^k3y-[0-9a-f]{16}-VALUE$")
        proxy.log().wait_for(r"hook secretive .*: 200 in \d+ ms")
        self.stop_proxy_and_check_exit(proxy)
        log = proxy.log().text()
        for secret in ["pa55w0rd", "Ym90Op", "k3y-", "VALUE", "T0K3N", "S1G", "bot:"]:
            self.assertNotIn(secret, log)


if __name__ == "__main__":
    unittest.main()
