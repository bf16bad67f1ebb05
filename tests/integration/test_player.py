"""`vnc-hooks-manager play` and `recording info|list|export` on recordings
written here, in Python, from the format's spec (docs/recording-format.md),
without the proxy: so the spec is checked by a second, independent writer.
A real viewer (Debian's Net::VNC) watches the playback and the pixels it ends
with are compared with the recording's last frame; raw-socket viewers check
what the player refuses and why."""
import json
import os
import signal
import socket
import struct
import subprocess
import time
import unittest
import zlib
from pathlib import Path

from vhm_harness import (DEFAULT_WAIT, IntegrationTest, OutputCollector, ViewerResult,
                         XvncTestCase, client_handshake_none, close_pipes, connect_client,
                         kill_quietly, proxy_binary, recv_exact, recv_until_eof, rfb_attempt,
                         run_viewer, viewer_command)

# ---------------------------------------------------------------------------
# The recording format, version 1.0, written from its spec
# ---------------------------------------------------------------------------

MAGIC = b"VHM-REC\n"
SERVER_DATA, VIEWER_DATA, NOTE, TRAILER = 1, 2, 3, 4
WIDTH, HEIGHT = 64, 48
DESKTOP = "recorded desk"
# 32 bpp, depth 24, little-endian, true colour, red at 16, green at 8, blue at
# 0: Xvnc's format, which Net::VNC keeps and sends back in its SetPixelFormat
# (Net/VNC.pm _server_initialization: its own byte order, the server's shifts).
PIXEL_FORMAT = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
PIXEL_FORMAT_16 = struct.pack(">BBBBHHHBBB3x", 16, 16, 0, 1, 31, 63, 31, 11, 5, 0)
# What Net::VNC's SetEncodings lists (CoRRE, RRE, CopyRect, Raw, PointerPos, Cursor).
NET_VNC_ENCODINGS = [4, 2, 1, 0, -232, -239]
RED, BLUE = (255, 0, 0), (0, 0, 255)
START_UNIX_US = 1_764_450_000_000_000


def crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def preamble(header: dict) -> bytes:
    """magic, u16 major, u16 minor, u8 compression, 3 reserved, u32 JSON
    length, JSON, then a CRC32 over all of that (big-endian throughout)."""
    text = json.dumps(header).encode()
    compression = {"none": 0, "zstd": 1}[header.get("compression", "none")]
    head = MAGIC + struct.pack(">HHB3xI", 1, 0, compression, len(text)) + text
    return head + struct.pack(">I", crc32(head))


def block(kind: int, time_us: int, payload: bytes) -> bytes:
    """u8 type, u64 time_us, u32 length, payload, CRC32 over all of that."""
    head = struct.pack(">BQI", kind, time_us, len(payload)) + payload
    return head + struct.pack(">I", crc32(head))


def make_header(**changes) -> dict:
    header = {
        "writer": "test_player.py",
        "compression": "none",
        "start_unix_us": START_UNIX_US,
        "session": {"session_id": "00c0ffee", "client_ip": "192.0.2.10", "client_port": "40000",
                    "target_host": "127.0.0.1", "target_port": "5901", "user": "alice"},
        "rfb_version": "3.8",
        "security_type": "VncAuth",
        "content_visible": True,
        "not_visible_reason": "",
        "include_input": False,
        "server_init": {"width": WIDTH, "height": HEIGHT, "pixel_format": PIXEL_FORMAT.hex(),
                        "desktop_name": DESKTOP},
        "viewer_pixel_format": PIXEL_FORMAT.hex(),
        "viewer_encodings": NET_VNC_ENCODINGS,
    }
    header.update(changes)
    return header


def raw_update(rgb, width=WIDTH, height=HEIGHT) -> bytes:
    """FramebufferUpdate, one Raw rectangle of one colour in PIXEL_FORMAT."""
    r, g, b = rgb
    pixel = bytes([b, g, r, 0])  # little-endian 0x00RRGGBB
    return (struct.pack(">BxH", 0, 1) + struct.pack(">HHHHi", 0, 0, width, height, 0)
            + pixel * (width * height))


FIRST_UPDATE = raw_update(RED)
SECOND_UPDATE = raw_update(BLUE)
SECOND_AT_US = 500_000


def viewer_messages() -> bytes:
    """What the recorded viewer sent: SetPixelFormat, SetEncodings, FBUR."""
    encodings = struct.pack(">BxH", 2, len(NET_VNC_ENCODINGS)) + b"".join(
        struct.pack(">i", e) for e in NET_VNC_ENCODINGS)
    return (struct.pack(">B3x", 0) + PIXEL_FORMAT + encodings
            + struct.pack(">BBHHHH", 3, 0, 0, 0, WIDTH, HEIGHT))


def make_recording(header: dict | None = None, trailer: bool = True) -> tuple[bytes, int]:
    """The file, and the offset of the second server_data block (for cutting it)."""
    data = preamble(header or make_header())
    data += block(VIEWER_DATA, 0, viewer_messages())
    data += block(SERVER_DATA, 1_000, FIRST_UPDATE)
    data += block(NOTE, 2_000, "a note for readers".encode())
    second_at = len(data)
    data += block(SERVER_DATA, SECOND_AT_US, SECOND_UPDATE)
    if trailer:
        data += block(TRAILER, 600_000, json.dumps({
            "duration_us": 600_000, "server_bytes": len(FIRST_UPDATE) + len(SECOND_UPDATE),
            "viewer_bytes": len(viewer_messages()),
            "recorded_server_bytes": len(FIRST_UPDATE) + len(SECOND_UPDATE),
            "recorded_viewer_bytes": len(viewer_messages()), "dropped_bytes": 0,
            "end_reason": "client_closed"}).encode())
    return data, second_at


def set_pixel_format(pixel_format: bytes) -> bytes:
    return struct.pack(">B3x", 0) + pixel_format


def set_encodings(encodings) -> bytes:
    return struct.pack(">BxH", 2, len(encodings)) + b"".join(struct.pack(">i", e) for e in encodings)


def update_request(incremental: int = 0) -> bytes:
    return struct.pack(">BBHHHH", 3, incremental, 0, 0, WIDTH, HEIGHT)


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------

PLAYING_RE = r"^playing (.+) on 127\.0\.0\.1:(\d+)$"


class Player:
    """One `vnc-hooks-manager play` process; its port comes from its stdout line."""

    def __init__(self, recording: Path, *args: str):
        cmd = [proxy_binary(), "play", str(recording), "--listen", "127.0.0.1:0", *args]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.stdout = OutputCollector(self.proc.stdout, "play-out")
        self.stderr = OutputCollector(self.proc.stderr, "play-err")
        try:
            match = self.stdout.wait_for(PLAYING_RE)[0]
        except AssertionError as error:
            raise AssertionError(f"{error}\nplayer stderr:\n{self.stderr.text()}") from None
        self.port = int(match.group(2))
        self.announced_file = match.group(1)

    def wait_exit(self, timeout: float = DEFAULT_WAIT) -> int:
        code = self.proc.wait(timeout=timeout)
        self.stdout.join()
        self.stderr.join()
        return code

    def stop(self):
        kill_quietly(self.proc, grace=3)
        close_pipes(self.proc, self.stdout, self.stderr)


def watch_command(port: int, password: str | None = None, idle_ms: int = 1500,
                  hold: float = 0) -> list[str]:
    """Net::VNC: log in, apply updates until idle, report two corner pixels."""
    return viewer_command(port, password=password, hold=hold) + [
        "--until-idle", str(idle_ms), "--probe", "0,0", "--probe", f"{WIDTH - 1},{HEIGHT - 1}"]


def watch(port: int, **kwargs) -> ViewerResult:
    started = time.monotonic()
    done = subprocess.run(watch_command(port, **kwargs), stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=40)
    return ViewerResult(done.returncode, done.stdout.decode(errors="replace"),
                        done.stderr.decode(errors="replace"), time.monotonic() - started)


def run_recording(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([proxy_binary(), "recording", *args], stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=DEFAULT_WAIT)


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def parse_fbs(data: bytes) -> list[tuple[bytes, int]]:
    """FBS 001.000: magic, then blocks of u32 length, data padded with zeros
    to a multiple of 4, u32 milliseconds."""
    assert data.startswith(b"FBS 001.000\n"), data[:16]
    blocks, at = [], 12
    while at < len(data):
        (length,) = struct.unpack_from(">I", data, at)
        padded = (length + 3) // 4 * 4
        assert at + 4 + padded + 4 <= len(data), f"FBS block at {at} runs past the end"
        payload = data[at + 4:at + 4 + length]
        assert data[at + 4 + length:at + 4 + padded] == b"\0" * (padded - length), "padding"
        (ms,) = struct.unpack_from(">I", data, at + 4 + padded)
        blocks.append((payload, ms))
        at += 4 + padded + 4
    return blocks


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

class PlayerTestCase(IntegrationTest):
    def write(self, data: bytes, name: str = "session.vhmrec") -> Path:
        path = self.tmp / name
        path.write_bytes(data)
        return path

    def recording(self, **header_changes) -> Path:
        data, _ = make_recording(make_header(**header_changes) if header_changes else None)
        return self.write(data)

    def play(self, recording: Path, *args: str) -> Player:
        player = Player(recording, *args)
        self.addCleanup(player.stop)
        self.addCleanup(self._player_output_on_failure, player)
        return player

    def _player_output_on_failure(self, player: Player):
        result = getattr(getattr(self, "_outcome", None), "result", None)
        problems = getattr(result, "failures", []) + getattr(result, "errors", [])
        if any(test is self for test, _ in problems) or os.environ.get("VHM_IT_VERBOSE"):
            print(f"\n----- player stderr ({self.id()}) -----\n{player.stderr.text()}\n-----")

    def assert_final_frame(self, result: ViewerResult, colour: str = "0000ff", updates: int = 2):
        self.assertTrue(result.ok, f"viewer failed: {result}")
        self.assertEqual(result.values.get("captured"), f"{WIDTH}x{HEIGHT}", str(result))
        self.assertEqual(result.name, DESKTOP)
        self.assertEqual(result.values.get("updates"), str(updates), str(result))
        self.assertEqual(result.values.get("pixel_0_0"), colour, str(result))
        self.assertEqual(result.values.get(f"pixel_{WIDTH - 1}_{HEIGHT - 1}"), colour, str(result))


class Playback(PlayerTestCase):
    def test_a_viewer_sees_the_recorded_frames_at_the_recorded_pace(self):
        recording = self.recording()
        player = self.play(recording, "--max-viewers", "1")
        self.assertEqual(player.announced_file, str(recording))
        result = watch(player.port)
        self.assert_final_frame(result)
        # The blue frame was recorded 0.499 s after the red one.
        self.assertGreaterEqual(float(result.values["last_update_s"]), 0.45, str(result))
        self.assertEqual(player.wait_exit(), 0, "exit status after --max-viewers 1")
        log = player.stderr
        log.wait_for(r"recording .*: 64x48 \"recorded desk\", 32bpp depth 24 little-endian "
                     r"true-colour r255<<16 g255<<8 b255<<0, 0\.6 s, \d+ server bytes, complete")
        log.wait_for(r"viewer 127\.0\.0\.1:\d+ logged in \(RFB 3\.8, security None\)")
        log.wait_for(r"end of the recording \(%d recorded bytes" % (len(FIRST_UPDATE) + len(SECOND_UPDATE)))
        log.wait_for(r"viewer 127\.0\.0\.1:\d+ left after")

    def test_speed_and_start(self):
        recording = self.recording()
        fast = self.play(recording, "--speed", "4", "--max-viewers", "1")
        result = watch(fast.port)
        self.assert_final_frame(result)
        self.assertLess(float(result.values["last_update_s"]), 0.4, str(result))
        self.assertEqual(fast.wait_exit(), 0)
        # --start after the second frame: everything at once.
        skipped = self.play(recording, "--start", "0.5", "--max-viewers", "1")
        result = watch(skipped.port)
        self.assert_final_frame(result)
        self.assertLess(float(result.values["last_update_s"]), 0.3, str(result))
        self.assertEqual(skipped.wait_exit(), 0)
        skipped.stderr.wait_for(r"playing from 0\.5 s at speed 1")

    def test_viewers_at_once_each_get_their_own_timeline(self):
        player = self.play(self.recording(), "--max-viewers", "3")
        viewers = [subprocess.Popen(watch_command(player.port), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                   for _ in range(2)]
        time.sleep(0.3)  # the third starts while the others are half-way: its own start
        viewers.append(subprocess.Popen(watch_command(player.port), stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        for viewer in viewers:
            out, err = viewer.communicate(timeout=40)
            result = ViewerResult(viewer.returncode, out.decode(), err.decode(), 0)
            self.assert_final_frame(result)
            self.assertGreaterEqual(float(result.values["last_update_s"]), 0.45, str(result))
        self.assertEqual(player.wait_exit(), 0)

    def test_loop_closes_at_the_end_and_a_new_connection_starts_over(self):
        player = self.play(self.recording(), "--loop", "--max-viewers", "2")
        for _ in range(2):
            result = watch(player.port, hold=5)
            self.assert_final_frame(result)
            self.assertEqual(result.values.get("eof"), "1", f"the player should close: {result}")
            self.assertLess(result.elapsed, 4 + 5, str(result))
        self.assertEqual(player.wait_exit(), 0)
        player.stderr.wait_for(r"--loop: closing so that it reconnects", count=2)

    def test_a_truncated_recording_plays_what_it_holds(self):
        data, second_at = make_recording()
        recording = self.write(data[:second_at + 100])  # inside the blue frame's block
        player = self.play(recording, "--max-viewers", "1")
        player.stderr.wait_for(r"is truncated \(.*file ends inside the block at byte %d" % second_at)
        result = watch(player.port, idle_ms=800)
        self.assert_final_frame(result, colour="ff0000", updates=1)
        self.assertEqual(player.wait_exit(), 0)
        player.stderr.wait_for(r"the recording is truncated here")


    def test_playback_stops_where_the_recorded_viewer_changed_its_pixel_format(self):
        data = preamble(make_header()) + block(VIEWER_DATA, 0, viewer_messages())
        data += block(SERVER_DATA, 1_000, FIRST_UPDATE)
        # From here on the server encoded for 16 bpp: no viewer of this playback can show it.
        data += block(VIEWER_DATA, 300_000, set_pixel_format(PIXEL_FORMAT_16) + update_request(1))
        data += block(SERVER_DATA, SECOND_AT_US, raw_update(BLUE, 32, 24)[:4] + bytes(100))
        player = self.play(self.write(data), "--max-viewers", "1")
        player.stderr.wait_for(r"its viewer switched to pixel format 16bpp depth 16 .* at 0\.3 s; "
                               r"playback ends there")
        result = watch(player.port, idle_ms=1200)
        self.assert_final_frame(result, colour="ff0000", updates=1)
        self.assertEqual(result.int("bytes_received") - len(FIRST_UPDATE), 12 + 2 + 4 + 24 + len(DESKTOP),
                         "only the handshake and the first update")
        self.assertEqual(player.wait_exit(), 0)
        player.stderr.wait_for(r"would need pixel format 16bpp depth 16 .* from here on \(the recorded "
                               r"viewer's change at 0\.3 s\); it was served 32bpp .*; playback ends here")
        player.stderr.wait_for(r"end of what it can be shown \(%d recorded bytes" % len(FIRST_UPDATE))

    def test_a_zstd_recording_plays(self):
        """zstd: the blocks in independent zstd frames of whole blocks; Debian's
        zstd tool makes one (the file is then a single frame)."""
        data, _ = make_recording()
        plain_header = preamble(make_header())
        frame = subprocess.run(["zstd", "-q", "-c", "-3"], input=data[len(plain_header):],
                               capture_output=True, check=True, timeout=DEFAULT_WAIT).stdout
        player = self.play(self.write(preamble(make_header(compression="zstd")) + frame),
                           "--max-viewers", "1")
        player.stderr.wait_for(r"recording .*, complete$")
        self.assert_final_frame(watch(player.port))
        self.assertEqual(player.wait_exit(), 0)

    def test_sigterm_ends_the_viewers_and_the_player(self):
        player = self.play(self.recording())
        viewer = subprocess.Popen(viewer_command(player.port, password=None, hold=30),
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.addCleanup(kill_quietly, viewer)
        player.stderr.wait_for(r"end of the recording")
        player.proc.send_signal(signal.SIGTERM)
        self.assertEqual(player.wait_exit(), 0)
        out, _ = viewer.communicate(timeout=DEFAULT_WAIT)
        self.assertIn("eof=1", out.decode(), "the viewer should see the connection end")
        player.stderr.wait_for(r"player: SIGTERM received; closing 1 viewer connection\(s\)")

    def test_a_viewer_that_does_not_read_holds_back_the_file_not_memory(self):
        """64 MiB recorded at time 0 for a viewer that reads nothing for a while:
        the player reads the file no faster than the viewer takes it."""
        chunk = raw_update((0, 255, 0), width=512, height=512)  # 1 MiB each
        data = preamble(make_header()) + b"".join(block(SERVER_DATA, 0, chunk) for _ in range(64))
        player = self.play(self.write(data), "--max-viewers", "1")
        baseline = rss_kib(player.proc.pid)
        sock = connect_client("127.0.0.1", player.port)
        self.addCleanup(sock.close)
        client_handshake_none(sock)
        sock.sendall(set_encodings(NET_VNC_ENCODINGS) + update_request())
        player.stderr.wait_for(r"playing from 0\.0 s")
        time.sleep(1.5)  # the viewer's and the player's socket buffers fill up
        grown = rss_kib(player.proc.pid) - baseline
        self.assertLess(grown, 24 * 1024, f"player memory grew by {grown} KiB for a stalled viewer")
        received = 0
        sock.settimeout(DEFAULT_WAIT)
        while received < 64 * len(chunk):
            got = sock.recv(1 << 20)
            self.assertTrue(got, f"closed after {received} bytes")
            received += len(got)
        self.assertEqual(received, 64 * len(chunk))
        player.stderr.wait_for(r"end of the recording \(%d recorded bytes" % (64 * len(chunk)))


class Authentication(PlayerTestCase):
    def test_vnc_password_right_and_wrong(self):
        player = self.play(self.recording(), "--password", "s3cret-pw", "--max-viewers", "3")
        result = watch(player.port, password="s3cret-pw")
        self.assert_final_frame(result)
        wrong = watch(player.port, password="not-it")
        self.assertFalse(wrong.ok, str(wrong))
        self.assertIn("(server reason: Authentication failed: wrong password)",
                      wrong.values.get("error", ""), str(wrong))
        player.stderr.wait_for(r"viewer 127\.0\.0\.1:\d+: authentication failed \(wrong password\); closed")
        # RFB 3.3: the server picks the type; a failure has no reason and ends the connection.
        attempt = rfb_attempt("127.0.0.1", player.port, client_version=b"RFB 003.003\n",
                              vnc_response=bytes(16))
        self.assertEqual((attempt.types, attempt.result, attempt.closed_after), ([2], 1, True),
                         str(attempt))
        self.assertEqual(player.wait_exit(), 0)

    def test_security_none_for_every_version_and_alias(self):
        player = self.play(self.recording(), "--max-viewers", "4")
        for version in [b"RFB 003.003\n", b"RFB 003.007\n", b"RFB 003.889\n"]:
            attempt = rfb_attempt("127.0.0.1", player.port, client_version=version)
            self.assertEqual(attempt.types, [1], f"{version!r}: {attempt}")
        # 3.5 (old TightVNC) is 3.3: the server names the one type, as a u32.
        with connect_client("127.0.0.1", player.port) as sock:
            self.assertEqual(recv_exact(sock, 12), b"RFB 003.008\n")
            sock.sendall(b"RFB 003.005\n")
            self.assertEqual(recv_exact(sock, 4), struct.pack(">I", 1))
            sock.sendall(b"\x01")  # ClientInit: no SecurityResult for None before 3.8
            self.assertEqual(recv_exact(sock, 4), struct.pack(">HH", WIDTH, HEIGHT))
        self.assertEqual(player.wait_exit(), 0)


class Refusals(PlayerTestCase):
    def raw_viewer(self, port: int) -> socket.socket:
        sock = connect_client("127.0.0.1", port)
        self.addCleanup(sock.close)
        width, height, name = client_handshake_none(sock)
        self.assertEqual((width, height, name), (WIDTH, HEIGHT, DESKTOP.encode()))
        return sock

    def test_a_different_pixel_format_is_refused_before_any_update_byte(self):
        player = self.play(self.recording(), "--max-viewers", "1")
        sock = self.raw_viewer(player.port)
        sock.sendall(set_pixel_format(PIXEL_FORMAT_16) + set_encodings(NET_VNC_ENCODINGS)
                     + update_request())
        self.assertEqual(recv_until_eof(sock), b"", "no recorded byte may reach this viewer")
        player.stderr.wait_for(
            r"viewer 127\.0\.0\.1:\d+ asked for pixel format 16bpp depth 16 little-endian true-colour "
            r"r31<<11 g63<<5 b31<<0; this recording holds 32bpp depth 24 little-endian true-colour "
            r"r255<<16 g255<<8 b255<<0, which the player cannot convert; closing before sending any "
            r"recorded byte")
        self.assertEqual(player.wait_exit(), 0)

    def test_missing_encodings_are_refused(self):
        player = self.play(self.recording(viewer_encodings=[16, 0]), "--max-viewers", "1")
        sock = self.raw_viewer(player.port)
        sock.sendall(set_encodings([0, 1]) + update_request())
        self.assertEqual(recv_until_eof(sock), b"")
        player.stderr.wait_for(r"does not accept ZRLE \(16\), which the recorded updates may use")

    def test_the_viewers_messages_are_followed_and_unknown_ones_end_it(self):
        player = self.play(self.recording(), "--max-viewers", "1")
        sock = self.raw_viewer(player.port)
        # Every message type before the first request, the clipboard split in two sends.
        # 700 000 bytes of clipboard: more than the player holds, so it skips them as they come.
        cut = struct.pack(">B3xI", 6, 700_000) + b"x" * 300_000
        sock.sendall(set_pixel_format(PIXEL_FORMAT) + set_encodings(NET_VNC_ENCODINGS)
                     + struct.pack(">BBxxI", 4, 1, 0x61) + struct.pack(">BBHH", 5, 0, 1, 1) + cut)
        sock.sendall(b"x" * 400_000 + struct.pack(">BBHHHH", 150, 0, 0, 0, 1, 1)
                     + struct.pack(">B3xIB", 248, 0, 2) + b"ab"
                     + struct.pack(">BBHBBI", 255, 1, 2, 0, 2, 44100) + struct.pack(">BB", 255, 1) + b"\0\0"
                     + update_request())
        expected = FIRST_UPDATE + SECOND_UPDATE
        self.assertEqual(recv_exact(sock, len(expected)), expected)
        sock.sendall(b"\x07")  # no such client message
        self.assertEqual(recv_until_eof(sock), b"")
        player.stderr.wait_for(r"viewer sent message type 7, which is not a known RFB message; the player cannot follow its "
                               r"messages, closing")


class RealServerBytes(PlayerTestCase, XvncTestCase):
    """Bytes a real server (TigerVNC Xvnc) sent, recorded here by a raw client
    that asks for what Net::VNC asks for, then played to Net::VNC: it must
    end with the screen it sees when it connects to Xvnc directly."""

    xvnc_options = {"security": "None", "geometry": (160, 120), "desktop": "player real desk"}
    PROBES = [(x, y) for y in range(4) for x in range(8)] + [(80, 60), (159, 119)]

    def paint_root(self):
        """A two-colour grid on the root window, so the update has content
        (Net::VNC's framebuffer starts black) and more than one colour."""
        subprocess.run(["xsetroot", "-display", self.xvnc.display, "-mod", "3", "3",
                        "-fg", "#ff8000", "-bg", "#0040c0"], check=True, timeout=DEFAULT_WAIT,
                       stdin=subprocess.DEVNULL, capture_output=True)

    def record_from_xvnc(self) -> bytes:
        with connect_client("127.0.0.1", self.xvnc.port) as sock:
            recv_exact(sock, 12)
            sock.sendall(b"RFB 003.008\n")
            types = recv_exact(sock, recv_exact(sock, 1)[0])
            self.assertIn(1, types)
            sock.sendall(b"\x01")
            self.assertEqual(recv_exact(sock, 4), bytes(4))
            sock.sendall(b"\x01")
            width, height = struct.unpack(">HH", recv_exact(sock, 4))
            server_format = recv_exact(sock, 16)
            name = recv_exact(sock, struct.unpack(">I", recv_exact(sock, 4))[0])
            sock.sendall(set_pixel_format(PIXEL_FORMAT) + set_encodings(NET_VNC_ENCODINGS)
                         + struct.pack(">BBHHHH", 3, 0, 0, 0, width, height))
            stream = b""
            sock.settimeout(1.0)  # Xvnc answers one request with one update, then is idle
            try:
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    stream += chunk
            except socket.timeout:
                pass
        self.assertTrue(stream.startswith(b"\x00"), f"not a FramebufferUpdate: {stream[:16]!r}")
        header = make_header(server_init={"width": width, "height": height,
                                          "pixel_format": server_format.hex(),
                                          "desktop_name": name.decode()})
        data = preamble(header) + block(VIEWER_DATA, 0, viewer_messages())
        # In pieces, as a recorder sees them, the last one later.
        cut = len(stream) // 3
        data += block(SERVER_DATA, 5_000, stream[:cut]) + block(SERVER_DATA, 5_000, stream[cut:2 * cut])
        data += block(SERVER_DATA, 200_000, stream[2 * cut:])
        data += block(TRAILER, 300_000, json.dumps({"duration_us": 300_000}).encode())
        return data

    def probe_args(self) -> list[str]:
        args = []
        for x, y in self.PROBES:
            args += ["--probe", f"{x},{y}"]
        return args

    def capture(self, port: int) -> ViewerResult:
        cmd = viewer_command(port, password=None) + ["--until-idle", "700"] + self.probe_args()
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=40)
        result = ViewerResult(done.returncode, done.stdout.decode(errors="replace"),
                              done.stderr.decode(errors="replace"), 0)
        self.assertTrue(result.ok, str(result))
        return result

    def test_a_recorded_xvnc_session_plays_back_to_the_same_screen(self):
        self.paint_root()
        direct = self.capture(self.xvnc.port)
        colours = {direct.values[f"pixel_{x}_{y}"] for x, y in self.PROBES}
        self.assertEqual(colours, {"ff8000", "0040c0"}, str(direct))
        player = self.play(self.write(self.record_from_xvnc()), "--max-viewers", "1")
        played = self.capture(player.port)
        self.assertEqual(played.name, "player real desk")
        self.assertEqual(played.values["captured"], "160x120")
        pixels = {f"pixel_{x}_{y}" for x, y in self.PROBES}
        self.assertEqual({k: played.values[k] for k in pixels}, {k: direct.values[k] for k in pixels})
        self.assertEqual(player.wait_exit(), 0)


class UnplayableFiles(PlayerTestCase):
    def play_fails(self, path: Path, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([proxy_binary(), "play", str(path), "--listen", "127.0.0.1:0", *args],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=DEFAULT_WAIT)

    def test_missing_corrupt_and_invisible_recordings(self):
        missing = self.play_fails(self.tmp / "nope.vhmrec")
        self.assertEqual(missing.returncode, 4, missing)
        self.assertIn("cannot open", missing.stderr)
        self.assertIn("No such file or directory", missing.stderr)
        self.assertEqual(missing.stdout, "")

        garbage = self.play_fails(self.write(b"RFB 003.008\n" + bytes(100), "garbage.vhmrec"))
        self.assertEqual(garbage.returncode, 4, garbage)
        self.assertIn("not a vnc-hooks-manager recording", garbage.stderr)

        data, _ = make_recording()
        damaged = bytearray(data)
        damaged[40] ^= 0xFF  # inside the header JSON: its CRC no longer matches
        bad_header = self.play_fails(self.write(bytes(damaged), "damaged.vhmrec"))
        self.assertEqual(bad_header.returncode, 4, bad_header)
        self.assertIn("header", bad_header.stderr)

        invisible = self.recording(content_visible=False, not_visible_reason="VeNCrypt TLS, not terminated")
        hidden = self.play_fails(invisible)
        self.assertEqual(hidden.returncode, 4, hidden)
        self.assertIn("could not see this session's content (VeNCrypt TLS, not terminated)", hidden.stderr)

    def test_usage_errors(self):
        file = str(self.recording())
        for args, text in [([], "no recording given"), ([file, "--speed", "0"], "--speed"),
                           ([file, "--speed", "fast"], "speed"), ([file, "--start", "-1"], "--start"),
                           ([file, "--listen", "nowhere"], "--listen"),
                           ([file, "--max-viewers", "0"], "--max-viewers"), ([file, "--bogus"], "bogus")]:
            done = subprocess.run([proxy_binary(), "play"] + args, stdin=subprocess.DEVNULL,
                                  capture_output=True, text=True, timeout=DEFAULT_WAIT)
            self.assertEqual(done.returncode, 2, f"{args}: {done}")
            self.assertIn(text, done.stderr, f"{args}: {done}")
        helped = subprocess.run([proxy_binary(), "play", "--help"], capture_output=True, text=True,
                                timeout=DEFAULT_WAIT)
        self.assertEqual(helped.returncode, 0)
        self.assertIn("--loop", helped.stdout)
        self.assertIn("reconnects", helped.stdout)


class RecordingCommands(PlayerTestCase):
    def test_info_complete_truncated_corrupt(self):
        data, second_at = make_recording()
        complete = self.write(data)
        info = run_recording("info", str(complete))
        self.assertEqual(info.returncode, 0, info)
        self.assertIn('"recorded desk" 64x48', info.stdout)
        self.assertRegex(info.stdout, r"status: +complete")
        as_json = run_recording("info", str(complete), "--json")
        self.assertEqual(as_json.returncode, 0, as_json)
        summary = json.loads(as_json.stdout)
        self.assertEqual(summary["status"], "complete")
        self.assertEqual(summary["blocks"], 4)
        self.assertEqual(summary["server_bytes"], len(FIRST_UPDATE) + len(SECOND_UPDATE))
        self.assertEqual(summary["header"]["server_init"]["desktop_name"], DESKTOP)
        self.assertEqual(summary["trailer"]["end_reason"], "client_closed")

        truncated = self.write(data[:second_at + 100], "cut.vhmrec")
        cut = run_recording("info", str(truncated))
        self.assertEqual(cut.returncode, 3, cut)
        self.assertRegex(cut.stdout, r"status: +truncated")

        corrupt = bytearray(data)
        corrupt[second_at + 20] ^= 0xFF  # a payload byte of the blue frame: CRC mismatch
        bad = run_recording("info", str(self.write(bytes(corrupt), "bad.vhmrec")))
        self.assertEqual(bad.returncode, 4, bad)
        self.assertRegex(bad.stdout, r"status: +corrupt")
        self.assertIn("CRC", bad.stdout)

        missing = run_recording("info", str(self.tmp / "none.vhmrec"))
        self.assertEqual(missing.returncode, 4, missing)

    def test_list(self):
        data, second_at = make_recording()
        (self.tmp / "rec" / "sub").mkdir(parents=True)
        (self.tmp / "rec" / "b.vhmrec").write_bytes(data)
        later, _ = make_recording(make_header(start_unix_us=START_UNIX_US + 60_000_000))
        (self.tmp / "rec" / "sub" / "a.vhmrec").write_bytes(later[:second_at + 10])
        (self.tmp / "rec" / "notes.txt").write_text("not a recording")
        listed = run_recording("list", str(self.tmp / "rec"), "--json")
        self.assertEqual(listed.returncode, 0, listed)
        files = json.loads(listed.stdout)
        self.assertEqual([(Path(f["file"]).name, f["status"]) for f in files],
                         [("b.vhmrec", "complete"), ("a.vhmrec", "truncated")])
        table = run_recording("list", str(self.tmp / "rec"))
        self.assertEqual(table.returncode, 0, table)
        self.assertIn("b.vhmrec", table.stdout)
        nowhere = run_recording("list", str(self.tmp / "nowhere"))
        self.assertEqual(nowhere.returncode, 4, nowhere)

    def test_export_fbs(self):
        recording = self.recording()
        out = self.tmp / "session.fbs"
        done = run_recording("export", str(recording), "--fbs", str(out))
        self.assertEqual(done.returncode, 0, done)
        blocks = parse_fbs(out.read_bytes())
        self.assertTrue(all(payload for payload, _ in blocks), "an empty FBS block")
        times = [ms for _, ms in blocks]
        self.assertEqual(times, sorted(times))
        self.assertEqual(times[-1], SECOND_AT_US // 1000)
        server_init = (struct.pack(">HH", WIDTH, HEIGHT) + PIXEL_FORMAT
                       + struct.pack(">I", len(DESKTOP)) + DESKTOP.encode())
        stream = b"".join(payload for payload, _ in blocks)
        self.assertEqual(stream, b"RFB 003.003\n" + struct.pack(">I", 1) + server_init
                         + FIRST_UPDATE + SECOND_UPDATE)

        again = run_recording("export", str(recording), "--fbs", str(out))
        self.assertEqual(again.returncode, 1, again)
        self.assertIn("refusing to overwrite", again.stderr)
        forced = run_recording("export", str(recording), "--fbs", str(out), "--force")
        self.assertEqual(forced.returncode, 0, forced)

        data, second_at = make_recording()
        cut = self.write(data[:second_at + 100], "cut.vhmrec")
        partial = run_recording("export", str(cut), "--fbs", str(self.tmp / "cut.fbs"))
        self.assertEqual(partial.returncode, 3, partial)
        stream = b"".join(p for p, _ in parse_fbs((self.tmp / "cut.fbs").read_bytes()))
        self.assertTrue(stream.endswith(FIRST_UPDATE))

    def test_usage(self):
        for args in [[], ["frobnicate", "x"], ["info"], ["export", "x"], ["info", "a", "b"]]:
            done = run_recording(*args)
            self.assertEqual(done.returncode, 2, f"{args}: {done}")


if __name__ == "__main__":
    unittest.main()
