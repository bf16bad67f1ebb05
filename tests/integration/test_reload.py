"""SIGHUP reloads the config file (issue 4, "Reload under load"): sessions open
across a reload keep relaying, listeners appear and go (the sessions of a removed
one go on), changed hooks apply to later events, a broken file is rejected and
logged while the old config keeps serving, and repeated reloads under a stream
of connecting viewers lose no connection. Real Xvnc, real Net::VNC viewers, and
raw RFB clients where bytes must be pushed on demand."""
import re
import signal
import socket
import struct
import subprocess
import threading
import time
import unittest

from vhm_harness import (XvncTestCase, client_handshake_none, connect_client, make_config, proxy_binary, read_records,
                         record_cmd, recv_exact, run_viewer, wait_records, wait_session_done,
                         wait_until)

RELOAD_DONE = r"reload done: "


def framebuffer_roundtrip(sock: socket.socket, width: int, height: int) -> int:
    """Asks for the whole screen (raw encoding, 32 bpp as Xvnc -depth 24 serves
    it) and reads the update: proof that bytes flow both ways right now."""
    sock.sendall(struct.pack(">BBHHHH", 3, 0, 0, 0, width, height))
    header = recv_exact(sock, 4)
    if header[0] != 0:
        raise AssertionError(f"expected a FramebufferUpdate, got message type {header[0]}")
    (rectangles,) = struct.unpack(">H", header[2:])
    total = 4
    for _ in range(rectangles):
        _x, _y, w, h, encoding = struct.unpack(">HHHHi", recv_exact(sock, 12))
        if encoding != 0:
            raise AssertionError(f"unexpected encoding {encoding}")
        recv_exact(sock, w * h * 4)
        total += 12 + w * h * 4
    return total


class ReloadTestCase(XvncTestCase):
    xvnc_options = {"security": "None", "geometry": (128, 96), "desktop": "vhm-it reload desk"}

    def listener(self, target=None, **extra) -> dict:
        return dict({"listen": "127.0.0.1:0", "target": target or self.xvnc.target}, **extra)

    def tagged_hooks(self, tag: str, kinds=("connect", "disconnect")) -> dict:
        """Recording hooks whose records carry tag=<tag>: which config ran them."""
        fields = ["event", "session_id", "listen", "target_port", "reason"]
        return {kind: [{"name": f"record_{kind}",
                        "cmd": record_cmd(self.events_file, fields) + f" tag={tag}"}]
                for kind in kinds}

    def reload(self, proxy, config_text: str, done_count: int):
        """Rewrites the config file, sends SIGHUP, waits for the done_count-th
        successful reload."""
        proxy.config_path.write_text(config_text)
        proxy.send_signal(signal.SIGHUP)
        proxy.log().wait_for(RELOAD_DONE, count=done_count)

    def open_session(self, port: int) -> socket.socket:
        """A raw client through the proxy, past ServerInit (security None)."""
        sock = self.client(port)
        width, height, _ = client_handshake_none(sock)
        self.assertEqual((width, height), (self.xvnc.width, self.xvnc.height))
        self.assertGreater(framebuffer_roundtrip(sock, width, height), 12)
        return sock

    def assert_still_flows(self, sock: socket.socket):
        self.assertGreater(framebuffer_roundtrip(sock, self.xvnc.width, self.xvnc.height), 12)

    def records(self, kind: str):
        return [r for r in read_records(self.events_file) if r.event == kind]


class SighupReload(ReloadTestCase):
    def test_sessions_open_across_a_sighup_keep_working(self):
        proxy = self.start_proxy(self.config([self.listener()], self.tagged_hooks("one")))
        sessions = [self.open_session(proxy.port()) for _ in range(3)]
        wait_records(self.events_file, lambda r: len(r) == 3, what="3 connect records")

        # Change the listener's settings and the hooks: nothing of that may touch them.
        self.reload(proxy, self.config([self.listener(handshake_timeout="20s")],
                                       self.tagged_hooks("two")), 1)
        for sock in sessions:
            self.assert_still_flows(sock)
        self.assertEqual(self.records("disconnect"), [], "a reload dropped a session")
        self.assertEqual(proxy.log().matching(r"closed \("), [])
        self.assertEqual(proxy.port(), proxy.wait_listening(1)[0][1])

        for sock in sessions:
            sock.close()
        done = wait_session_done(self.events_file, count=3)
        for records in done.values():
            self.assertEqual([r.event for r in records], ["connect", "disconnect"])
            self.assertEqual(records[-1]["reason"], "client_closed")
        self.stop_proxy_and_check_exit(proxy)

    def test_a_new_listener_appears_and_serves(self):
        other = self.start_xvnc(security="None", desktop="vhm-it reload other")
        proxy = self.start_proxy(self.config([self.listener()]))
        first = proxy.endpoint(0)
        self.reload(proxy, self.config([self.listener(), self.listener(other.target)]), 1)
        endpoints = proxy.wait_listening(2)
        self.assertEqual(endpoints[0], first)
        new_port = endpoints[1][1]
        self.assertNotEqual(new_port, endpoints[0][1])
        result = run_viewer(new_port, password=None)
        self.assert_viewer_ok(result)
        self.assertEqual(result.name, other.desktop)
        result = run_viewer(endpoints[0][1], password=None)
        self.assert_viewer_ok(result)
        self.assertEqual(result.name, self.xvnc.desktop)
        self.stop_proxy_and_check_exit(proxy)

    def test_a_removed_listener_stops_accepting_while_its_live_session_goes_on(self):
        other = self.start_xvnc(security="None", desktop="vhm-it reload gone",
                                geometry=(self.xvnc.width, self.xvnc.height))
        events = self.tagged_hooks("x")
        proxy = self.start_proxy(self.config([self.listener(), self.listener(other.target)],
                                             events))
        kept_port, removed_port = proxy.port(0), proxy.port(1)
        live = self.open_session(removed_port)

        self.reload(proxy, self.config([self.listener()], events), 1)
        proxy.log().wait_for(rf"reload: closed listener 127\.0\.0\.1:{removed_port} "
                             r"\(1 session\(s\) there go on\)")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", removed_port), timeout=5).close()
        self.assert_still_flows(live)
        self.assert_viewer_ok(run_viewer(kept_port, password=None))

        live.close()
        done = wait_session_done(self.events_file, listen_port=removed_port)
        (records,) = done.values()
        self.assertEqual(records[-1]["reason"], "client_closed")
        self.assertEqual(records[-1]["target_port"], str(other.port))
        self.stop_proxy_and_check_exit(proxy)

    def test_recording_switched_on_by_a_reload_records_only_later_sessions(self):
        rec_dir = self.tmp / "recordings"
        proxy = self.start_proxy(self.config([self.listener()]))
        port = proxy.port()
        early = self.open_session(port)
        recorded = make_config([self.listener()], sections={"recording": {"enabled": True, "dir": str(rec_dir)}})
        check_file = self.tmp / "check.yaml"
        check_file.write_text(recorded)
        checked = subprocess.run([proxy_binary(), "--check-config", "--config", str(check_file)],
                                 stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
        self.assertEqual(checked.stdout, "config OK: 1 listener(s), 0 hook(s), recording on 1 listener(s)\n")
        self.reload(proxy, recorded, 1)
        proxy.log().wait_for(rf"reload: listener 127\.0\.0\.1:{port} now records to {re.escape(str(rec_dir))} "
                             r"\(for new sessions\)")
        self.assert_still_flows(early)
        self.assert_viewer_ok(run_viewer(port, password=None))
        files = wait_until(lambda: list(rec_dir.glob("*.vhmrec")), what="the new session's recording")
        early.close()
        self.stop_proxy_and_check_exit(proxy)
        # The session open across the reload stays as it began: unrecorded.
        self.assertEqual(list(rec_dir.glob("*.vhmrec")), files)
        self.assertEqual(len(files), 1)

    def test_a_changed_hook_applies_to_events_after_the_reload(self):
        proxy = self.start_proxy(self.config([self.listener()], self.tagged_hooks("before")))
        early = self.open_session(proxy.port())
        wait_records(self.events_file, lambda r: len(r) == 1, what="the first connect")

        self.reload(proxy, self.config([self.listener()], self.tagged_hooks("after")), 1)
        late = self.open_session(proxy.port())
        early.close()
        late.close()
        done = wait_session_done(self.events_file, count=2)
        self.stop_proxy_and_check_exit(proxy)

        tags = {}
        for records in done.values():
            tags[records[0]["tag"]] = [(r.event, r["tag"]) for r in records]
        # The early session's connect ran the old hook; everything published
        # after the reload (its disconnect, the late session) runs the new one.
        self.assertEqual(tags, {
            "before": [("connect", "before"), ("disconnect", "after")],
            "after": [("connect", "after"), ("disconnect", "after")],
        })

    def test_a_broken_config_is_rejected_with_the_error_logged_and_the_old_config_still_serving(self):
        good = self.config([self.listener()], self.tagged_hooks("good"))
        proxy = self.start_proxy(good)
        live = self.open_session(proxy.port())
        bad = good.replace("global:\n", "global:\n  colour_scheme: \"blue\"\n", 1)
        bad = bad.replace('target: "' + self.xvnc.target + '"', 'target: "127.0.0.1:99999"')
        bad_lines = bad.splitlines()
        colour_line = next(i for i, l in enumerate(bad_lines, 1) if "colour_scheme" in l)
        target_line = next(i for i, l in enumerate(bad_lines, 1) if "99999" in l)
        proxy.config_path.write_text(bad)
        proxy.send_signal(signal.SIGHUP)

        path = re.escape(str(proxy.config_path))
        log = proxy.log()
        log.wait_for(r"reload failed: 2 problems in the configuration")
        log.wait_for(rf"reload: {path}:{colour_line}: [^ ]*colour_scheme[^ ]*: ")
        log.wait_for(rf"reload: {path}:{target_line}: [^ ]*target[^ ]*: ")
        self.assertEqual(log.matching(RELOAD_DONE), [])
        self.assertTrue(proxy.alive())

        # The old config goes on: same port, same target, same hooks; the live session too.
        self.assert_still_flows(live)
        result = run_viewer(proxy.port(), password=None)
        self.assert_viewer_ok(result)
        self.assertEqual(result.name, self.xvnc.desktop)
        live.close()
        done = wait_session_done(self.events_file, count=2)
        for records in done.values():
            self.assertEqual({r["tag"] for r in records}, {"good"})
        # Fixing the file and reloading again works.
        self.reload(proxy, good.replace("tag=good", "tag=fixed"), 1)
        self.stop_proxy_and_check_exit(proxy)


class ReloadUnderLoad(ReloadTestCase):
    RAW_WORKERS = 3
    RAW_PER_WORKER = 20
    VIEWERS = 4
    MAX_RELOADS = 60  # SIGHUP every ~0.1 s until the connections are done

    def test_repeated_sighups_under_a_stream_of_connecting_viewers_lose_no_connection(self):
        configs = [self.config([self.listener(max_connects_per_minute=1000 + i)],
                               self.tagged_hooks(f"v{i}"))
                   for i in range(2)]
        proxy = self.start_proxy(configs[0])
        port = proxy.port()
        failures: list[str] = []
        raw_done = []
        viewer_results = []
        lock = threading.Lock()
        stop_reloading = threading.Event()

        def raw_worker():
            for _ in range(self.RAW_PER_WORKER):
                try:
                    with connect_client("127.0.0.1", port) as sock:
                        width, height, _ = client_handshake_none(sock)
                        framebuffer_roundtrip(sock, width, height)
                    with lock:
                        raw_done.append(1)
                except Exception as error:  # noqa: BLE001 - collected and asserted below
                    with lock:
                        failures.append(f"raw client: {error!r}")

        def viewer_worker():
            for _ in range(self.VIEWERS):
                result = run_viewer(port, password=None)
                with lock:
                    viewer_results.append(result)

        def reloader():
            for i in range(self.MAX_RELOADS):
                if stop_reloading.is_set():
                    break
                proxy.config_path.write_text(configs[(i + 1) % 2])
                proxy.send_signal(signal.SIGHUP)
                proxy.log().wait_for(RELOAD_DONE, count=i + 1)
                time.sleep(0.1)

        workers = [threading.Thread(target=raw_worker) for _ in range(self.RAW_WORKERS)]
        workers.append(threading.Thread(target=viewer_worker))
        reload_thread = threading.Thread(target=reloader)
        reload_thread.start()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        stop_reloading.set()
        reload_thread.join(timeout=60)

        self.assertEqual(failures, [])
        self.assertEqual(len(raw_done), self.RAW_WORKERS * self.RAW_PER_WORKER)
        for result in viewer_results:
            self.assert_viewer_ok(result)
        self.assertEqual(len(viewer_results), self.VIEWERS)
        reloads = len(proxy.log().matching(RELOAD_DONE))
        self.assertGreaterEqual(reloads, 5, "too few reloads overlapped the connections")
        self.assertEqual(proxy.log().matching(r"reload failed"), [])

        total = self.RAW_WORKERS * self.RAW_PER_WORKER + self.VIEWERS
        done = wait_session_done(self.events_file, count=total, timeout=60)
        self.assertEqual(len(done), total)
        for records in done.values():
            self.assertEqual([r.event for r in records], ["connect", "disconnect"])
            self.assertEqual(records[-1]["reason"], "client_closed")
        self.stop_proxy_and_check_exit(proxy)


if __name__ == "__main__":
    unittest.main()
