"""Session recording end to end with real parts: TigerVNC's Xvnc, the proxy
recording, a real viewer (Net::VNC through vnc_viewer.pl, or TigerVNC's own
under Xvfb) while the desktop shows known content (`xsetroot`), then
`vnc-hooks-manager play` replaying the file to a second real viewer, and
`vnc-hooks-manager recording info`. The files are also read here with an
independent reader of docs/recording-format.md, and the recorded server
stream is decoded here (recording_support.py) to the framebuffer it draws.
"""
import base64
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from recording_support import (SERVER_DATA, VIEWER_DATA, LoggingRelay, Player, parse_fbs,
                               random_xbm, run_recording_command, xwd_root,
                               colour_counts, decode_server_stream, drain, first_difference,
                               read_ppm, read_recording, recording_info_json, server_init_of,
                               split_viewer_messages, vnc_auth_secrets)
from vencrypt_support import TigerViewer, VirtualDisplay, XvncServer, password_file
from vhm_harness import (EVENT_KINDS, FIELDS, VNC_PASSWORD, IntegrationTest,
                         OutputCollector, ViewerResult, close_pipes, connect_client,
                         kill_quietly, make_config, read_records, record_hooks, recv_exact,
                         run_ctl, viewer_command, wait_records, wait_until, yaml_scalar)

RECORDING_KINDS = EVENT_KINDS + ["recording_started", "recording_finished", "recording_failed"]
RECORDING_FIELDS = FIELDS + ["recording_path", "recording_bytes"]
GREEN = "00ff00"


def config_text(listeners: list[dict], events: dict, recording: dict | None = None,
                global_: dict | None = None) -> str:
    """make_config() with listeners whose map values (recording:, tls:) are
    written as JSON flow mappings, which are valid YAML."""
    base = make_config([], events, global_, {"recording": recording} if recording else None)
    lines = []
    for listener in listeners:
        for index, (key, value) in enumerate(listener.items()):
            text = json.dumps(value) if isinstance(value, dict) else yaml_scalar(value)
            lines.append(f"  {'- ' if index == 0 else '  '}{key}: {text}")
    return base.replace("listeners:\n", "listeners:\n" + "\n".join(lines) + "\n", 1)


def run_perl_viewer(port: int, *extra: str, password: str | None = VNC_PASSWORD,
                    timeout: int = 30) -> ViewerResult:
    cmd = viewer_command(port, password=password, timeout=timeout) + list(extra)
    started = time.monotonic()
    done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout + 10)
    return ViewerResult(done.returncode, done.stdout.decode(errors="replace"),
                        done.stderr.decode(errors="replace"), time.monotonic() - started)


class RecordingTest(IntegrationTest):
    """Per test: a recording directory and hooks recording every event kind."""

    def setUp(self):
        super().setUp()
        self.rec_dir = self.tmp / "rec"
        self.rec_dir.mkdir()

    # --- starting things ---
    def events(self) -> dict:
        return record_hooks(self.events_file, RECORDING_KINDS, fields=RECORDING_FIELDS)

    def recording_proxy(self, target: str, recording: dict | None = None,
                        more_listeners: list[dict] | None = None, log_level: str = "info",
                        global_: dict | None = None, **listener_keys):
        settings = {"enabled": True, "dir": str(self.rec_dir)}
        settings.update(recording or {})
        listener = {"listen": "127.0.0.1:0", "target": target, "recording": settings,
                    **listener_keys}
        self.control_socket = self.tmp / "control.sock"
        text = config_text([listener] + (more_listeners or []), self.events(),
                           global_={"log_level": log_level, **(global_ or {})})
        return self.start_proxy(text + f"control:\n  socket: {self.control_socket}\n")

    def ctl_sessions(self) -> list[dict]:
        done = run_ctl(["--json", "sessions"], socket_path=self.control_socket)
        self.assertEqual(done.returncode, 0, done.stderr)
        return json.loads(done.stdout)["sessions"]

    def player(self, path, *args: str) -> Player:
        player = Player(path, *args)
        self.addCleanup(player.stop)
        return player

    def xsetroot(self, display: str, colour: str) -> str:
        """A --run command for vnc_viewer.pl: paint the root window of `display`."""
        return f"DISPLAY={display} xsetroot -solid '{colour}'"

    # --- records ---
    def wait_event(self, kind: str, count: int = 1, timeout: float = 15) -> list:
        records = wait_records(self.events_file,
                               lambda rs: sum(r.event == kind for r in rs) >= count,
                               timeout=timeout, what=f"{count} {kind} record(s)")
        return [r for r in records if r.event == kind]

    def events_of(self, kind: str) -> list:
        """The records of one kind so far (no waiting)."""
        return [r for r in read_records(self.events_file) if r.event == kind]

    def session_kinds(self, session_id: str) -> list[str]:
        return [r.event for r in read_records(self.events_file) if r.session_id == session_id]

    def recordings(self) -> list[Path]:
        return sorted(self.rec_dir.rglob("*.vhmrec"))

    def assert_started_and_finished(self, path_text: str):
        """recording_started and recording_finished for the file, with its
        size, and recording_finished before the session's disconnect."""
        (disconnect,) = self.wait_event("disconnect")
        (started,) = self.wait_event("recording_started")
        (finished,) = self.wait_event("recording_finished")
        path = Path(path_text)
        self.assertEqual(started["recording_path"], str(path))
        self.assertEqual(finished["recording_path"], str(path))
        self.assertEqual(int(finished["recording_bytes"]), path.stat().st_size)
        self.assertEqual(started["reason"], "")
        kinds = self.session_kinds(disconnect.session_id)
        self.assertEqual(kinds, ["connect", "auth_success", "recording_started",
                                 "recording_finished", "disconnect"])
        self.assertEqual(self.events_of("recording_failed"), [])
        return disconnect

    def assert_no_secrets(self, proxy, secrets: dict[str, bytes]):
        """None of the secrets, raw or as hex or base64, in any recording, the
        proxy's log or the event log (call after the proxy stopped)."""
        forms = {}
        for name, secret in secrets.items():
            forms[name] = secret
            forms[name + " hex"] = secret.hex().encode()
            forms[name + " HEX"] = secret.hex().upper().encode()
            forms[name + " base64"] = base64.b64encode(secret).rstrip(b"=")
        places = {str(p): p.read_bytes() for p in self.recordings()}
        self.assertGreater(len(places), 0, "no recording to check")
        places["proxy log (stderr)"] = proxy.stderr.text().encode()
        places["proxy stdout"] = proxy.stdout.text().encode()
        places["event log"] = self.events_file.read_bytes()
        self.assertGreater(len(places["proxy log (stderr)"]), 0)
        for place, data in places.items():
            for name, form in forms.items():
                self.assertNotIn(form, data, f"{name} found in {place}")

    def assert_same_framebuffer(self, actual, expected, what: str):
        difference = first_difference(actual, expected)
        self.assertEqual(difference, "", f"{what}: {difference}")


class RecordingWithNetVnc(RecordingTest):
    """Xvnc with VncAuth (320x240) and Net::VNC."""

    def live_session(self, xvnc, proxy):
        """One Net::VNC connection: capture, paint red, apply updates until
        idle, paint green, apply until idle; returns (result, framebuffer)."""
        live_ppm = self.tmp / "live.ppm"
        live = run_perl_viewer(proxy.port(), "--until-idle", "500",
                               "--run", self.xsetroot(xvnc.display, "red"),
                               "--run", self.xsetroot(xvnc.display, "#00ff00"),
                               "--probe", "160,120", "--save", str(live_ppm))
        self.assert_viewer_ok(live)
        self.assertGreaterEqual(int(live.values["run_1_updates"]), 1, live)
        self.assertGreaterEqual(int(live.values["run_2_updates"]), 1, live)
        live_fb = read_ppm(live_ppm)
        self.assertEqual(colour_counts(live_fb), {GREEN: 320 * 240}, "the live framebuffer")
        return live, live_fb

    def test_vncauth_session_replays_pixel_identical_to_the_live_viewer(self):
        xvnc = self.start_xvnc(geometry=(320, 240), desktop="vhm rec desk")
        proxy = self.recording_proxy(xvnc.target)
        live, live_fb = self.live_session(xvnc, proxy)

        (path,) = self.recordings()
        self.assertEqual(path.stat().st_mode & 0o777, 0o600)
        disconnect = self.assert_started_and_finished(str(path))
        self.assertEqual(disconnect["reason"], "client_closed")
        recording = read_recording(path)
        self.assertEqual(recording.status, "complete")
        self.assertEqual(recording.header["security_type"], "VncAuth")
        self.assertEqual(recording.header["server_init"]["desktop_name"], "vhm rec desk")
        self.assertEqual(recording.trailer["recorded_server_bytes"], len(recording.server_data))
        self.assertEqual(recording.trailer["server_bytes"], len(recording.server_data))
        # What the viewer read after ServerInit is exactly what was recorded.
        handshake = 12 + 2 + 16 + 4 + 24 + len("vhm rec desk")
        self.assertEqual(len(recording.server_data), int(live.values["bytes_received"]) - handshake)
        decoded, updates, used = decode_server_stream(
            recording.server_data, 320, 240, bytes.fromhex(recording.header["viewer_pixel_format"]))
        self.assertEqual(used, len(recording.server_data))
        self.assertGreaterEqual(updates, 3)
        self.assert_same_framebuffer(decoded, live_fb, "the recorded stream, decoded here")

        player = self.player(path, "--speed", "10", "--max-viewers", "1")
        replay_ppm = self.tmp / "replay.ppm"
        replay = run_perl_viewer(player.port, "--until-idle", "1500", "--save", str(replay_ppm),
                                 password=None)
        self.assert_viewer_ok(replay)
        self.assert_same_framebuffer(read_ppm(replay_ppm), live_fb, "replay vs live")
        self.assertEqual(int(replay.values["updates"]), updates, replay)

    def test_zstd_recording_replays_and_exports_to_fbs_with_the_live_framebuffer(self):
        """compression: zstd (this file's reader does not decompress: the
        proxy's own `recording info`, `play` and `export --fbs` read it); the
        FBS export is decoded here and must draw the live framebuffer too."""
        xvnc = self.start_xvnc(geometry=(320, 240), desktop="vhm zstd desk")
        proxy = self.recording_proxy(xvnc.target, recording={"compression": "zstd"})
        live, live_fb = self.live_session(xvnc, proxy)
        (path,) = self.recordings()
        self.assert_started_and_finished(str(path))
        self.assertEqual(path.read_bytes()[12], 1, "preamble compression byte")
        code, summary, stderr = recording_info_json(path)
        self.assertEqual((code, summary["status"]), (0, "complete"), (summary, stderr))
        self.assertEqual(summary["header"]["compression"], "zstd")
        handshake = 12 + 2 + 16 + 4 + 24 + len("vhm zstd desk")
        self.assertEqual(summary["server_bytes"], int(live.values["bytes_received"]) - handshake)

        player = self.player(path, "--speed", "10", "--max-viewers", "1")
        replay_ppm = self.tmp / "replay.ppm"
        replay = run_perl_viewer(player.port, "--until-idle", "1500", "--save", str(replay_ppm),
                                 password=None)
        self.assert_viewer_ok(replay)
        self.assert_same_framebuffer(read_ppm(replay_ppm), live_fb, "zstd replay vs live")

        fbs = self.tmp / "session.fbs"
        done = run_recording_command("export", path, "--fbs", fbs)
        self.assertEqual(done.returncode, 0, done)
        stream = b"".join(payload for payload, _ms in parse_fbs(fbs.read_bytes()))
        # A synthesized RFB 3.3 handshake with security None, then ServerInit.
        self.assertTrue(stream.startswith(b"RFB 003.003\n" + struct.pack(">I", 1)), stream[:16])
        width, height = struct.unpack_from(">HH", stream, 16)
        pixel_format = stream[20:36]
        (name_length,) = struct.unpack_from(">I", stream, 36)
        self.assertEqual(stream[40:40 + name_length], b"vhm zstd desk")
        decoded, _updates, used = decode_server_stream(stream[40 + name_length:], width, height,
                                                       pixel_format)
        self.assertEqual(used, len(stream) - 40 - name_length)
        self.assert_same_framebuffer(decoded, live_fb, "FBS export, decoded here, vs live")

    def test_graceful_shutdown_mid_session_finishes_the_recording(self):
        xvnc = self.start_xvnc(geometry=(320, 240))
        proxy = self.recording_proxy(xvnc.target, global_={"shutdown_grace": "300ms"})
        viewer = self.background_viewer(proxy.port(), password=xvnc.password, hold=30)
        viewer.wait_for(r"^logged_in=1$")
        (started,) = self.wait_event("recording_started")
        path = Path(started["recording_path"])
        self.stop_proxy_and_check_exit(proxy, signal.SIGTERM)
        self.assertEqual(viewer.result(timeout=15).values.get("eof"), "1")
        (finished,) = self.wait_event("recording_finished")
        (disconnect,) = self.wait_event("disconnect")
        self.assertEqual(disconnect["reason"], "shutdown")
        self.assertEqual(finished["recording_path"], str(path))
        self.assertEqual(int(finished["recording_bytes"]), path.stat().st_size)
        recording = read_recording(path)
        self.assertEqual(recording.status, "complete")
        self.assertEqual(recording.trailer["end_reason"], "shutdown")
        self.assertGreater(len(recording.server_data), 0)
        self.assertEqual(self.session_kinds(disconnect.session_id),
                         ["connect", "auth_success", "recording_started", "recording_finished",
                          "disconnect"])

    def test_kill_9_mid_session_leaves_a_truncated_file_that_still_plays(self):
        xvnc = self.start_xvnc(geometry=(320, 240))
        proxy = self.recording_proxy(xvnc.target)
        stop_painting = threading.Event()
        painted = []

        def paint():
            colours = ["#ff0000", "#0000ff", "#ffff00", "#00ffff"]
            while not stop_painting.is_set():
                colour = colours[len(painted) % len(colours)]
                subprocess.run(["xsetroot", "-solid", colour], env=dict(os.environ, DISPLAY=xvnc.display),
                               check=True, timeout=10)
                painted.append(colour)
                stop_painting.wait(0.1)
        painter = threading.Thread(target=paint, daemon=True)
        self.addCleanup(lambda: painter.is_alive() and painter.join(15))
        self.addCleanup(stop_painting.set)
        cmd = viewer_command(proxy.port(), password=xvnc.password, timeout=60) + [
            "--until-idle", "5000"]
        viewer = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        viewer_out = OutputCollector(viewer.stdout, "viewer-out")
        viewer_err = OutputCollector(viewer.stderr, "viewer-err")
        self.addCleanup(close_pipes, viewer, viewer_out, viewer_err)
        self.addCleanup(kill_quietly, viewer)
        viewer_out.wait_for(r"^captured=")
        painter.start()
        (started,) = self.wait_event("recording_started")
        path = Path(started["recording_path"])
        # Updates flow; the writer flushes at least every second: wait for a
        # few colour changes on disk, then kill -9 while painting goes on.
        wait_until(lambda: len(painted) >= 8 and path.exists()
                   and read_recording(path).count(SERVER_DATA) >= 4,
                   timeout=15, what="server_data blocks on disk")
        proxy.send_signal(signal.SIGKILL)
        proxy.wait_exit(timeout=5)
        stop_painting.set()
        painter.join(15)
        viewer.wait(timeout=10)  # the viewer loses its connection

        done = run_recording_command("info", path)
        self.assertEqual(done.returncode, 3, f"recording info of a cut file: {done}")
        self.assertRegex(done.stdout, r"status:\s+truncated")
        code, summary, _ = recording_info_json(path)
        self.assertEqual((code, summary["status"]), (3, "truncated"), summary)

        recording = read_recording(path)
        self.assertEqual(recording.status, "truncated")
        expected, updates, used = decode_server_stream(
            recording.server_data, 320, 240, bytes.fromhex(recording.header["viewer_pixel_format"]))
        self.assertEqual(used, len(recording.server_data),
                         "the last complete block ends inside an RFB message")
        self.assertGreaterEqual(updates, 4)

        player = self.player(path, "--speed", "20", "--max-viewers", "1")
        replay_ppm = self.tmp / "replay.ppm"
        replay = run_perl_viewer(player.port, "--until-idle", "1500", "--save", str(replay_ppm),
                                 password=None)
        self.assert_viewer_ok(replay)
        self.assertEqual(int(replay.values["updates"]), updates, replay)
        self.assert_same_framebuffer(read_ppm(replay_ppm), expected,
                                     "replay of the cut file vs its decoded stream")
        player.stderr.wait_for(r"truncated")

    def test_password_challenge_and_response_never_reach_a_file_or_log(self):
        xvnc = self.start_xvnc(geometry=(320, 240))
        relay = LoggingRelay(xvnc.port)  # proxy -> relay -> Xvnc: the wire bytes
        self.addCleanup(relay.stop)
        proxy = self.recording_proxy(relay.target, recording={"include_input": True},
                                     log_level="debug")
        live = run_perl_viewer(proxy.port(), "--until-idle", "300",
                               "--run", self.xsetroot(xvnc.display, "red"))
        self.assert_viewer_ok(live)
        (disconnect,) = self.wait_event("disconnect")
        self.wait_event("recording_finished")
        self.assertEqual(len(relay.connections), 1)
        challenge, response = vnc_auth_secrets(relay.connections[0]["up"],
                                               relay.connections[0]["down"])
        self.assertNotEqual(challenge, response)
        (path,) = self.recordings()
        self.assertGreater(len(read_recording(path).server_data), 0)
        proxy.stop()  # every log line written
        self.assert_no_secrets(proxy, {"password": VNC_PASSWORD.encode(),
                                       "password (8 bytes)": VNC_PASSWORD[:8].encode(),
                                       "challenge": challenge, "response": response})

    # --- retention ---
    def held_session(self, port: int, password: str = VNC_PASSWORD, hold: float = 40):
        """A Net::VNC session that logs in, captures once and stays connected
        without asking for more: its recording stays open and idle."""
        viewer = self.background_viewer(port, password=password, hold=hold)
        viewer.wait_for(r"^logged_in=1$")
        (started,) = [r for r in self.wait_event("recording_started")
                      if r.get("client_port") == viewer.wait_for(r"^local_port=(\d+)$").group(1)]
        path = Path(started["recording_path"])
        # Its first server data is flushed within a second: then it is idle.
        wait_until(lambda: path.exists() and read_recording(path).count(SERVER_DATA) >= 1,
                   timeout=5, what="the held session's first block on disk")
        return viewer, path

    def short_session(self, port: int, finished_before: int) -> Path:
        live = run_perl_viewer(port, "--until-idle", "200")
        self.assert_viewer_ok(live)
        finished = self.wait_event("recording_finished", count=finished_before + 1)
        return Path(finished[-1]["recording_path"])

    def test_max_total_size_prunes_the_oldest_files_never_the_one_being_written(self):
        xvnc = self.start_xvnc(geometry=(320, 240))
        limit = 4000
        proxy = self.recording_proxy(xvnc.target, recording={"max_total_size": limit})
        held_viewer, held = self.held_session(proxy.port())
        past = time.time() - 7200
        os.utime(held, (past, past))  # the oldest file of all, but being written
        finished: list[Path] = []
        sizes = {held: held.stat().st_size}  # the held file is idle: its size stays
        survivors = [held]  # oldest first (by mtime)
        for round_ in range(5):
            path = self.short_session(proxy.port(), len(finished))
            finished.append(path)
            sizes[path] = int(self.wait_event("recording_finished",
                                              count=len(finished))[-1]["recording_bytes"])
            # What the policy keeps: the oldest go first (by mtime), the open
            # file counts but is never removed, until the total fits.
            survivors.append(path)
            total = sum(sizes[p] for p in survivors)
            for candidate in list(survivors):
                if total <= limit:
                    break
                if candidate != held:
                    survivors.remove(candidate)
                    total -= sizes[candidate]
            gone = [p for p in finished if p not in survivors]
            wait_until(lambda: not any(p.exists() for p in gone), timeout=5,
                       what=f"round {round_ + 1}: {sorted(p.name for p in gone)} pruned")
            self.assertEqual({p for p in [held] + finished if p.exists()}, set(survivors),
                             f"round {round_ + 1}")
            self.assertTrue(held.exists(), "the file being written was pruned")
        self.assertFalse(finished[0].exists(), "the oldest finished file was kept")
        self.assertTrue(finished[-1].exists())
        for path in finished:
            if not path.exists():
                proxy.log().wait_for(rf"recording: pruned {re.escape(str(path))} \(retention\)")
        held_viewer.stop()
        self.wait_event("recording_finished", count=len(finished) + 1)
        self.assertTrue(held.exists())
        self.assertEqual(read_recording(held).status, "complete")

    def test_max_age_prunes_an_old_file_when_the_next_recording_finishes(self):
        xvnc = self.start_xvnc(geometry=(320, 240))
        proxy = self.recording_proxy(xvnc.target, recording={"max_age": "1h"})
        held_viewer, held = self.held_session(proxy.port())
        two_hours_ago, half_an_hour_ago = time.time() - 7200, time.time() - 1800
        old = self.rec_dir / "2026" / "old.vhmrec"
        old.parent.mkdir()
        shutil.copyfile(held, old)
        young = self.rec_dir / "young.vhmrec"
        shutil.copyfile(held, young)
        other = self.rec_dir / "notes.txt"
        other.write_text("not a recording\n")
        for path, when in ((old, two_hours_ago), (young, half_an_hour_ago),
                           (other, two_hours_ago), (held, two_hours_ago)):
            os.utime(path, (when, when))
        time.sleep(0.5)
        self.assertTrue(old.exists(), "pruned before any recording finished")
        path = self.short_session(proxy.port(), 0)
        wait_until(lambda: not old.exists(), timeout=5, what=f"{old} pruned")
        proxy.log().wait_for(rf"recording: pruned {re.escape(str(old))} \(retention\)")
        self.assertTrue(young.exists(), "a file younger than max_age was pruned")
        self.assertTrue(other.exists(), "a file that is not *.vhmrec was pruned")
        self.assertTrue(held.exists(), "the file being written was pruned")
        self.assertTrue(path.exists(), "the file just finished was pruned")
        held_viewer.stop()
        self.wait_event("recording_finished", count=2)
        self.assertEqual(read_recording(held).status, "complete")


class RawViewerInput(RecordingTest):
    """Xvnc with security None and a raw RFB viewer: exact viewer bytes."""

    PIXEL_FORMAT = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)

    def viewer_messages(self) -> list[bytes]:
        set_pixel_format = struct.pack(">B3x", 0) + self.PIXEL_FORMAT
        set_encodings = struct.pack(">BxHii", 2, 2, 0, -239)  # Raw, Cursor
        request = struct.pack(">BBHHHH", 3, 0, 0, 0, 64, 48)
        later = struct.pack(">BBHHHH", 3, 1, 0, 0, 64, 48)
        keys = [struct.pack(">BBxxI", 4, down, 0x0001F4A9) for down in (1, 0)]
        pointer = [struct.pack(">BBHH", 5, mask, 0x0123, 0x0045) for mask in (1, 0)]
        cut = struct.pack(">B3xI", 6, 18) + b"clipboard-SECRET-1"
        return [set_pixel_format, set_encodings, request] + keys + pointer + [cut, later]

    def run_raw_viewer(self, port: int, messages: list[bytes]):
        sock = connect_client("127.0.0.1", port)
        self.addCleanup(sock.close)
        self.assertEqual(recv_exact(sock, 12), b"RFB 003.008\n")
        sock.sendall(b"RFB 003.008\n")
        count = recv_exact(sock, 1)[0]
        self.assertIn(1, recv_exact(sock, count))
        sock.sendall(b"\x01")
        self.assertEqual(recv_exact(sock, 4), b"\0\0\0\0")
        sock.sendall(b"\x01")
        width, height, _, _ = server_init_of(sock)
        self.assertEqual((width, height), (64, 48))
        for message in messages:
            sock.sendall(message)
            time.sleep(0.02)  # separate reads at the proxy, as a person types
        drain(sock)
        sock.close()

    def recorded_viewer_messages(self, include_input: bool) -> tuple[bytes, list[bytes]]:
        xvnc = self.start_xvnc(security="None", geometry=(64, 48))
        proxy = self.recording_proxy(xvnc.target, recording={"include_input": include_input})
        messages = self.viewer_messages()
        self.run_raw_viewer(proxy.port(), messages)
        (finished,) = self.wait_event("recording_finished")
        recording = read_recording(finished["recording_path"])
        self.assertEqual(recording.status, "complete")
        self.assertEqual(recording.header["include_input"], include_input)
        self.assertEqual(recording.header["viewer_pixel_format"], self.PIXEL_FORMAT.hex())
        self.assertEqual(recording.header["viewer_encodings"], [0, -239])
        self.assertGreater(len(recording.server_data), 0)
        return recording.viewer_data, messages

    def raw_login(self, port: int) -> socket.socket:
        sock = connect_client("127.0.0.1", port)
        self.addCleanup(sock.close)
        recv_exact(sock, 12)
        sock.sendall(b"RFB 003.008\n")
        count = recv_exact(sock, 1)[0]
        self.assertIn(1, recv_exact(sock, count))
        sock.sendall(b"\x01")
        self.assertEqual(recv_exact(sock, 4), b"\0\0\0\0")
        sock.sendall(b"\x01")
        server_init_of(sock)
        return sock

    def test_the_file_is_created_when_the_viewer_asks_for_updates(self):
        xvnc = self.start_xvnc(security="None", geometry=(64, 48))
        proxy = self.recording_proxy(xvnc.target)
        sock = self.raw_login(proxy.port())
        set_pixel_format, set_encodings, request = self.viewer_messages()[:3]
        time.sleep(1.2)  # longer than the writer's flush interval
        self.assertEqual((self.recordings(), self.events_of("recording_started")),
                         ([], []), "a file before the viewer said anything")
        sock.sendall(set_pixel_format + set_encodings)
        time.sleep(1.2)
        self.assertEqual((self.recordings(), self.events_of("recording_started")),
                         ([], []), "a file before the viewer asked for updates")
        (session,) = self.ctl_sessions()
        self.assertEqual((session["state"], session["recording_path"]), ("relaying", ""))
        sock.sendall(request)
        (started,) = self.wait_event("recording_started")
        path = Path(started["recording_path"])
        (session,) = self.ctl_sessions()  # an operator sees which sessions are recorded, and where
        self.assertEqual((session["state"], session["recording_path"]), ("recording", str(path)))
        self.assertEqual(self.recordings(), [path])
        recording = read_recording(path)  # the header is written at once
        self.assertEqual(recording.header["viewer_pixel_format"], self.PIXEL_FORMAT.hex())
        self.assertEqual(recording.header["viewer_encodings"], [0, -239])
        drain(sock)
        sock.close()
        (finished,) = self.wait_event("recording_finished")
        recording = read_recording(path)
        self.assertEqual(recording.status, "complete")
        self.assertGreater(len(recording.server_data), 0)
        # Not recorded without include_input either: nothing of the viewer's
        # was input, so its three messages are all there.
        self.assertEqual(recording.viewer_data, set_pixel_format + set_encodings + request)

    def test_a_session_that_ends_before_asking_for_updates_still_gets_a_complete_file(self):
        xvnc = self.start_xvnc(security="None", geometry=(64, 48))
        proxy = self.recording_proxy(xvnc.target)
        sock = self.raw_login(proxy.port())
        sock.close()
        (disconnect,) = self.wait_event("disconnect")
        (finished,) = self.wait_event("recording_finished")
        recording = read_recording(finished["recording_path"])
        self.assertEqual(recording.status, "complete")
        self.assertEqual(recording.count(SERVER_DATA) + recording.count(VIEWER_DATA), 0)
        self.assertEqual(recording.trailer["end_reason"], "client_closed")
        self.assertEqual(self.session_kinds(disconnect.session_id),
                         ["connect", "auth_success", "recording_started", "recording_finished",
                          "disconnect"])

    def test_include_input_false_records_no_key_pointer_or_clipboard_message(self):
        data, sent = self.recorded_viewer_messages(False)
        recorded = split_viewer_messages(data)
        self.assertEqual([m for m in recorded if m[0] in (4, 5, 6)], [])
        self.assertNotIn(struct.pack(">I", 0x0001F4A9), data)
        self.assertNotIn(b"clipboard-SECRET-1", data)
        # Everything else the viewer sent is kept, in order and byte for byte.
        self.assertEqual(recorded, [m for m in sent if m[0] not in (4, 5, 6)])

    def test_include_input_true_keeps_every_viewer_message_byte_exact(self):
        data, sent = self.recorded_viewer_messages(True)
        self.assertEqual(data, b"".join(sent))


class RecordingWithTigerVnc(RecordingTest):
    """TigerVNC's defaults: Xvnc with only -rfbauth offers VeNCrypt/TLSVnc and
    TigerVNC's viewer (under Xvfb) picks it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        tmp = tempfile.TemporaryDirectory(prefix="vhm-it-rec-tiger-")
        cls.addClassCleanup(tmp.cleanup)
        cls.shared = Path(tmp.name)
        cls.password_file = password_file(cls.shared, VNC_PASSWORD, "passwd")

    def screen(self) -> VirtualDisplay:
        screen = VirtualDisplay()
        self.addCleanup(screen.stop)
        return screen.start()

    def tiger_xvnc(self) -> XvncServer:
        server = XvncServer(self.tmp, ["-rfbauth", str(self.password_file)])
        self.addCleanup(server.stop)
        return server.start()

    def tiger_viewer(self, screen: VirtualDisplay, port: int, *args: str,
                     quiet: bool = False) -> TigerViewer:
        """quiet: log level 30 (TigerVNC draws a statistics graph over the
        desktop at debug levels) and no menu key (no "Press F8" hint drawn
        over the desktop): the window then shows only the remote framebuffer."""
        extra = ["-Log", "*:stderr:30", "-MenuKey="] if quiet else []
        viewer = TigerViewer(screen.display, self.tmp, port, list(args) + extra)
        self.addCleanup(viewer.stop)
        return viewer

    def test_vencrypt_terminate_session_is_recorded_and_replays_the_same_screen(self):
        """The replay is compared as the user sees it: TigerVNC's viewer draws
        into an Xvfb (no window manager, so both windows land at the same place),
        and `xwd -root` screenshots of the live viewer's screen at the end and
        of the replaying viewer's screen must be pixel-identical, with the
        remote desktop's known colour filling exactly 640x480 pixels. Net::VNC
        cannot be used: TigerVNC asks for Tight/ZRLE, which the recorded
        updates use and the player relays untouched."""
        xvnc = self.tiger_xvnc()
        display = f":{xvnc.port - 5900}"
        proxy = self.recording_proxy(xvnc.target, vencrypt="terminate",
                                     tls={"server_anonymous": True})
        live_screen = self.screen()
        live = self.tiger_viewer(live_screen, proxy.port(), "-passwd", str(self.password_file),
                                 quiet=True)
        live.wait_for(r"Choosing security type TLSVnc \(258\)")
        live.wait_for(r"Using pixel format")
        subprocess.run(["xsetroot", "-solid", "#00ff00"], env=dict(os.environ, DISPLAY=display),
                       check=True, timeout=10)

        def green_pixels(fb):
            return colour_counts(fb).get(GREEN, 0)
        wait_until(lambda: green_pixels(xwd_root(live_screen.display)) == 640 * 480,
                   timeout=10, what="the live viewer showing green")
        time.sleep(0.5)  # nothing more to draw: the screen is final
        live_shot = xwd_root(live_screen.display)
        live.stop()
        (finished,) = self.wait_event("recording_finished")
        path = Path(finished["recording_path"])
        code, summary, stderr = recording_info_json(path)
        self.assertEqual((code, summary["status"]), (0, "complete"), (summary, stderr))
        header = summary["header"]
        self.assertEqual(header["security_type"], "VeNCrypt/TLSVnc")
        self.assertTrue(header.get("content_visible", True), header)
        self.assertEqual(header["server_init"]["desktop_name"], "vhm vencrypt")
        self.assertEqual((header["server_init"]["width"], header["server_init"]["height"]), (640, 480))
        self.assertGreater(summary["server_bytes"], 0)
        self.assertTrue({7, 16} & set(header.get("viewer_encodings", [])), header)

        player = self.player(path, "--speed", "10", "--max-viewers", "1")
        replay_screen = self.screen()
        replay = self.tiger_viewer(replay_screen, player.port, quiet=True)
        replay.wait_for(r"Using pixel format")
        player.stderr.wait_for(r"end of the recording", timeout=15)
        wait_until(lambda: green_pixels(xwd_root(replay_screen.display)) == 640 * 480,
                   timeout=10, what="the replaying viewer showing green")
        time.sleep(0.5)  # nothing more to draw: the screen is final
        replay_shot = xwd_root(replay_screen.display)
        self.assert_same_framebuffer(replay_shot, live_shot, "replaying viewer's screen vs live")
        self.assertEqual(player.stderr.matching(r"closing before sending"), [])

    def test_tlsvnc_secrets_seen_by_the_proxy_never_reach_a_file_or_log(self):
        """With `vencrypt: terminate` the proxy decrypts the viewer's TLSVnc and
        sees VncAuth inside it; `server_security: plain` makes the server leg
        plain VncAuth, so a logging relay there learns the challenge and the
        response the viewer sent inside TLS."""
        xvnc = self.tiger_xvnc()
        relay = LoggingRelay(xvnc.port)
        self.addCleanup(relay.stop)
        proxy = self.recording_proxy(relay.target, recording={"include_input": True},
                                     log_level="debug", vencrypt="terminate",
                                     tls={"server_security": "plain"})
        screen = self.screen()
        viewer = self.tiger_viewer(screen, proxy.port(), "-passwd", str(self.password_file))
        viewer.wait_for(r"Choosing security type TLSVnc \(258\)")
        viewer.wait_for(r"initialisation done")
        self.wait_event("recording_started")
        viewer.stop()
        (finished,) = self.wait_event("recording_finished")
        self.assertEqual(finished["security_type"], "VeNCrypt/TLSVnc")
        self.assertEqual(len(relay.connections), 1)
        challenge, response = vnc_auth_secrets(relay.connections[0]["up"],
                                               relay.connections[0]["down"])
        recording = read_recording(finished["recording_path"])
        self.assertGreater(len(recording.server_data), 0)
        proxy.stop()
        self.assert_no_secrets(proxy, {"challenge": challenge, "response": response,
                                       "password": VNC_PASSWORD.encode(),
                                       "password (8 bytes)": VNC_PASSWORD[:8].encode()})

    def test_vencrypt_pass_session_file_says_content_not_visible_and_holds_no_data(self):
        xvnc = self.tiger_xvnc()
        proxy = self.recording_proxy(xvnc.target)  # vencrypt: pass (the default)
        screen = self.screen()
        viewer = self.tiger_viewer(screen, proxy.port(), "-passwd", str(self.password_file))
        viewer.wait_for(r"initialisation done")
        viewer.stop()
        (disconnect,) = self.wait_event("disconnect")
        (finished,) = self.wait_event("recording_finished")
        path = Path(finished["recording_path"])
        self.assertTrue(path.exists())
        code, summary, stderr = recording_info_json(path)
        self.assertEqual((code, summary["status"]), (0, "complete"), (summary, stderr))
        header = summary["header"]
        self.assertIs(header["content_visible"], False)
        self.assertRegex(header["not_visible_reason"], r"VeNCrypt")
        self.assertEqual(header["security_type"], "VeNCrypt/TLSVnc")
        recording = read_recording(path)
        self.assertEqual(recording.status, "complete")
        self.assertEqual([b.type for b in recording.blocks
                          if b.type in (SERVER_DATA, VIEWER_DATA)], [])
        self.assertEqual((summary["server_bytes"], summary["viewer_bytes"]), (0, 0))
        self.assertEqual(int(finished["recording_bytes"]), path.stat().st_size)
        self.assertEqual(self.session_kinds(disconnect.session_id),
                         ["connect", "recording_started", "recording_finished", "disconnect"])


class FullDisk(RecordingTest):
    """The recording directory is a 256 KiB tmpfs; the desktop (800x600) is
    painted with random bitmaps, whose updates (about 1.9 MB each, Raw) cannot
    fit. A second listener without recording carries a concurrent session."""

    def setUp(self):
        super().setUp()
        self.full = self.tmp / "full"
        self.full.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "tmpfs",
                        str(self.full)], check=True, capture_output=True, timeout=10)
        self.addCleanup(subprocess.run, ["umount", "-l", str(self.full)], capture_output=True,
                        timeout=10)
        self.rec_dir = self.full

    def second_session(self, port: int) -> socket.socket:
        """A raw viewer (security None) on the listener without recording."""
        sock = connect_client("127.0.0.1", port)
        self.addCleanup(sock.close)
        recv_exact(sock, 12)
        sock.sendall(b"RFB 003.008\n")
        count = recv_exact(sock, 1)[0]
        recv_exact(sock, count)
        sock.sendall(b"\x01")
        self.assertEqual(recv_exact(sock, 4), b"\0\0\0\0")
        sock.sendall(b"\x01")
        server_init_of(sock)
        sock.sendall(struct.pack(">BxHi", 2, 1, 0))  # SetEncodings: Raw
        return sock

    def assert_second_session_works(self, sock: socket.socket):
        """It asks for a 4x4 corner and gets exactly that update back."""
        drain(sock, quiet=0.2)
        sock.sendall(struct.pack(">BBHHHH", 3, 0, 0, 0, 4, 4))
        head = recv_exact(sock, 4 + 12)
        self.assertEqual(head[0], 0, head)
        self.assertEqual(struct.unpack(">HHHHi", head[4:]), (0, 0, 4, 4, 0))
        recv_exact(sock, 4 * 4 * 4)

    def overflow(self, on_error: str):
        xvnc = self.start_xvnc(security="None", geometry=(800, 600))
        proxy = self.recording_proxy(
            xvnc.target, recording={"on_error": on_error},
            more_listeners=[{"listen": "127.0.0.1:0", "target": xvnc.target}])
        other = self.second_session(proxy.port(1))
        bitmaps = [random_xbm(self.tmp / f"noise{i}.xbm", seed=i) for i in range(3)]
        runs = []
        for bitmap in bitmaps:
            runs += ["--run", f"DISPLAY={xvnc.display} xsetroot -bitmap {bitmap} -fg red -bg blue"]
        runs += ["--run", self.xsetroot(xvnc.display, "#00ff00")]
        live = run_perl_viewer(proxy.port(0), "--until-idle", "500", *runs, "--probe", "400,300",
                               password=None, timeout=60)
        return xvnc, proxy, other, live

    def test_on_error_continue_keeps_the_session_and_reports_the_failure(self):
        xvnc, proxy, other, live = self.overflow("continue")
        self.assert_viewer_ok(live)
        self.assertEqual(live.values["pixel_400_300"], GREEN)  # it kept working to the end
        (failed,) = self.wait_event("recording_failed")
        (disconnect,) = [r for r in self.wait_event("disconnect")
                         if r.get("listen", "").endswith(f":{proxy.port(0)}")]
        self.assertEqual(disconnect["reason"], "client_closed")
        self.assertRegex(failed["reason"], r"No space left on device")
        path = Path(failed["recording_path"])
        self.assertEqual(path.parent, self.full)
        self.assertEqual(self.session_kinds(failed.session_id),
                         ["connect", "auth_success", "recording_started", "recording_failed",
                          "disconnect"])
        proxy.log().wait_for(r"\berror\b.*recording failed .*No space left on device.*"
                             r"the session goes on unrecorded")
        self.assertEqual(read_recording(path).status, "truncated")
        code, summary, _ = recording_info_json(path)
        self.assertEqual((code, summary["status"]), (3, "truncated"), summary)
        self.assert_second_session_works(other)
        self.assertTrue(proxy.alive())

    def test_a_disk_full_before_the_file_exists_fails_the_recording_not_the_session(self):
        filler = self.full / "filler.bin"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:  # fill the tmpfs to the last byte
            for size in (4096, 1):
                while True:
                    try:
                        os.write(fd, b"\0" * size)
                    except OSError:
                        break
        finally:
            os.close(fd)
        xvnc = self.start_xvnc(security="None", geometry=(320, 240))
        proxy = self.recording_proxy(xvnc.target, recording={"on_error": "continue"})
        live = run_perl_viewer(proxy.port(), "--until-idle", "300",
                               "--run", self.xsetroot(xvnc.display, "#00ff00"),
                               "--probe", "10,10", password=None)
        self.assert_viewer_ok(live)
        self.assertEqual(live.values["pixel_10_10"], GREEN)
        (failed,) = self.wait_event("recording_failed")
        (disconnect,) = self.wait_event("disconnect")
        self.assertEqual(disconnect["reason"], "client_closed")
        self.assertRegex(failed["reason"], r"No space left on device")
        self.assertEqual(Path(failed["recording_path"]).parent, self.full)
        # No file could be opened, so no recording_started (nor _finished).
        self.assertEqual(self.session_kinds(disconnect.session_id),
                         ["connect", "auth_success", "recording_failed", "disconnect"])
        proxy.log().wait_for(r"\berror\b.*recording failed .*No space left on device")

    def test_on_error_close_session_ends_only_that_session(self):
        xvnc, proxy, other, live = self.overflow("close_session")
        self.assertFalse(live.ok, f"the viewer should have lost its session: {live}")
        (failed,) = self.wait_event("recording_failed")
        (disconnect,) = [r for r in self.wait_event("disconnect")
                         if r.get("listen", "").endswith(f":{proxy.port(0)}")]
        self.assertEqual(disconnect["reason"], "recording_failed")
        self.assertEqual(disconnect.session_id, failed.session_id)
        self.assertRegex(failed["reason"], r"No space left on device")
        self.assertEqual(self.session_kinds(failed.session_id),
                         ["connect", "auth_success", "recording_started", "recording_failed",
                          "disconnect"])
        self.assertEqual(read_recording(failed["recording_path"]).status, "truncated")
        proxy.log().wait_for(r"\berror\b.*recording failed .*No space left on device.*"
                             r"the session is closed")
        self.assert_second_session_works(other)
        self.assertEqual([r for r in read_records(self.events_file) if r.event == "disconnect"
                          and r.get("listen", "").endswith(f":{proxy.port(1)}")], [])
