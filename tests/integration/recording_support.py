"""Machinery for the session recording tests (test_recording.py): an
independent reader of the recording format (docs/recording-format.md, written
from the spec, uncompressed files only), an RFB decoder for the server stream
a Net::VNC viewer receives (Raw, CopyRect, RRE, CoRRE and the Cursor and
PointerPos pseudo-encodings: what Net::VNC asks for), a PPM reader for the
viewer's --save, the `play` command as a process, a logging TCP relay (to
learn the VncAuth challenge and response on the wire) and a raw RFB viewer.
Python 3 standard library only; everything started here is stopped by pid.
"""
from __future__ import annotations

import json
import random
import socket
import struct
import subprocess
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from vhm_harness import (DEFAULT_WAIT, OutputCollector, close_pipes, kill_quietly,
                         proxy_binary, recv_exact)

MAGIC = b"VHM-REC\n"
SERVER_DATA, VIEWER_DATA, NOTE, TRAILER = 1, 2, 3, 4
BLOCK_LIMIT = 4 << 20


# --------------------------------------------------------------------------
# The recording format, read from its spec
# --------------------------------------------------------------------------

@dataclass
class Block:
    type: int
    time_us: int
    payload: bytes
    offset: int  # of the block in the file


@dataclass
class Recording:
    """What an uncompressed recording holds; `status` is complete or
    truncated (the reader raises on anything corrupt)."""
    path: Path
    header: dict
    blocks: list[Block] = field(default_factory=list)
    trailer: dict | None = None
    status: str = "complete"

    def data(self, kind: int) -> bytes:
        return b"".join(b.payload for b in self.blocks if b.type == kind)

    @property
    def server_data(self) -> bytes:
        return self.data(SERVER_DATA)

    @property
    def viewer_data(self) -> bytes:
        return self.data(VIEWER_DATA)

    def count(self, kind: int) -> int:
        return sum(b.type == kind for b in self.blocks)


class CorruptRecording(AssertionError):
    pass


def read_recording(path) -> Recording:
    """Reads a whole file by the spec: preamble, header + CRC, blocks with
    CRCs and non-decreasing times, the trailer last. A cut file is truncated."""
    path = Path(path)
    data = path.read_bytes()
    if len(data) < 20 or data[:8] != MAGIC:
        raise CorruptRecording(f"{path}: bad magic or header truncated ({len(data)} bytes)")
    major, _minor, compression, length = struct.unpack_from(">HHB3xI", data, 8)
    if major != 1 or compression != 0:
        raise CorruptRecording(f"{path}: format {major}, compression {compression}: "
                               "this reader takes 1.x uncompressed")
    if len(data) < 24 + length:
        raise CorruptRecording(f"{path}: header truncated")
    (crc,) = struct.unpack_from(">I", data, 20 + length)
    if crc != zlib.crc32(data[:20 + length]) & 0xFFFFFFFF:
        raise CorruptRecording(f"{path}: header CRC mismatch")
    recording = Recording(path, json.loads(data[20:20 + length].decode("utf-8")))
    at, last_time = 24 + length, 0
    while at < len(data):
        if recording.trailer is not None:
            raise CorruptRecording(f"{path}: data after the trailer at byte {at}")
        if len(data) - at < 13:
            recording.status = "truncated"
            return recording
        kind, time_us, size = struct.unpack_from(">BQI", data, at)
        if size > BLOCK_LIMIT:
            raise CorruptRecording(f"{path}: block at byte {at}: length {size} over the limit")
        if len(data) - at < 13 + size + 4:
            recording.status = "truncated"
            return recording
        (crc,) = struct.unpack_from(">I", data, at + 13 + size)
        if crc != zlib.crc32(data[at:at + 13 + size]) & 0xFFFFFFFF:
            raise CorruptRecording(f"{path}: block at byte {at}: CRC mismatch")
        if time_us < last_time:
            raise CorruptRecording(f"{path}: block at byte {at}: time goes backwards")
        last_time = time_us
        payload = data[at + 13:at + 13 + size]
        if kind == TRAILER:
            recording.trailer = json.loads(payload.decode("utf-8"))
        else:
            recording.blocks.append(Block(kind, time_us, payload, at))
        at += 13 + size + 4
    if recording.trailer is None:
        recording.status = "truncated"
    return recording


# --------------------------------------------------------------------------
# Viewer -> server messages (to find input messages in viewer_data)
# --------------------------------------------------------------------------

def split_viewer_messages(data: bytes) -> list[bytes]:
    """RFB client messages, whole; raises on an unknown type or a cut message."""
    messages, at = [], 0
    fixed = {0: 20, 3: 10, 4: 8, 5: 6}
    while at < len(data):
        kind = data[at]
        if kind in fixed:
            size = fixed[kind]
        elif kind == 2:  # SetEncodings
            (count,) = struct.unpack_from(">H", data, at + 2)
            size = 4 + 4 * count
        elif kind == 6:  # ClientCutText
            (length,) = struct.unpack_from(">I", data, at + 4)
            size = 8 + length
        else:
            raise AssertionError(f"unknown viewer message type {kind} at byte {at}")
        if at + size > len(data):
            raise AssertionError(f"viewer message type {kind} at byte {at} is cut")
        messages.append(data[at:at + size])
        at += size
    return messages


# --------------------------------------------------------------------------
# Server -> viewer stream: a framebuffer decoder for what Net::VNC asks for
# --------------------------------------------------------------------------

class PixelFormat:
    def __init__(self, raw: bytes):
        (self.bpp, self.depth, self.big_endian, self.true_colour, self.red_max,
         self.green_max, self.blue_max, self.red_shift, self.green_shift,
         self.blue_shift) = struct.unpack(">BBBBHHHBBB3x", raw)
        if not self.true_colour or self.bpp not in (8, 16, 32):
            raise AssertionError(f"pixel format not supported by this decoder: {raw.hex()}")
        self.size = self.bpp // 8

    def rgb(self, pixel: bytes) -> bytes:
        value = int.from_bytes(pixel, "big" if self.big_endian else "little")

        def channel(shift, maximum):
            return ((value >> shift) & maximum) * 255 // maximum
        return bytes((channel(self.red_shift, self.red_max),
                      channel(self.green_shift, self.green_max),
                      channel(self.blue_shift, self.blue_max)))


class Framebuffer:
    """RGB, 3 bytes a pixel, black at first (as Net::VNC starts)."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.pixels = bytearray(width * height * 3)

    def fill(self, x: int, y: int, w: int, h: int, rgb: bytes):
        self._check(x, y, w, h)
        row = rgb * w
        for line in range(y, y + h):
            start = (line * self.width + x) * 3
            self.pixels[start:start + 3 * w] = row

    def put(self, x: int, y: int, w: int, h: int, rgb_rows: bytes):
        self._check(x, y, w, h)
        for line in range(h):
            start = ((y + line) * self.width + x) * 3
            self.pixels[start:start + 3 * w] = rgb_rows[line * 3 * w:(line + 1) * 3 * w]

    def copy(self, src_x: int, src_y: int, x: int, y: int, w: int, h: int):
        self._check(src_x, src_y, w, h)
        rows = b"".join(bytes(self.pixels[((src_y + line) * self.width + src_x) * 3:
                                          ((src_y + line) * self.width + src_x + w) * 3])
                        for line in range(h))
        self.put(x, y, w, h, rows)

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        start = (y * self.width + x) * 3
        return tuple(self.pixels[start:start + 3])

    def _check(self, x, y, w, h):
        if x + w > self.width or y + h > self.height:
            raise AssertionError(f"rectangle {w}x{h}+{x}+{y} outside {self.width}x{self.height}")


class StreamCut(Exception):
    """The stream ended inside a message."""


class _Cursor:
    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def take(self, count: int) -> bytes:
        if self.at + count > len(self.data):
            raise StreamCut(f"need {count} bytes at {self.at} of {len(self.data)}")
        chunk = self.data[self.at:self.at + count]
        self.at += count
        return chunk


def decode_server_stream(data: bytes, width: int, height: int, pixel_format: bytes
                         ) -> tuple[Framebuffer, int, int]:
    """Applies every whole server message in `data` (the stream after
    ServerInit) to a black framebuffer. Returns it, the number of
    FramebufferUpdates applied and the bytes consumed (a cut last message is
    not applied)."""
    fmt = PixelFormat(pixel_format)
    fb = Framebuffer(width, height)
    stream = _Cursor(data)
    updates = 0
    while stream.at < len(data):
        start = stream.at
        try:
            kind = stream.take(1)[0]
            if kind == 0:
                _apply_update(stream, fb, fmt)
                updates += 1
            elif kind == 1:  # SetColourMapEntries
                _first, count = struct.unpack(">xHH", stream.take(5))
                stream.take(6 * count)
            elif kind == 2:  # Bell
                pass
            elif kind == 3:  # ServerCutText
                (length,) = struct.unpack(">3xI", stream.take(7))
                stream.take(length)
            else:
                raise AssertionError(f"server message type {kind} at byte {start}: "
                                     "not one Net::VNC handles")
        except StreamCut:
            # An update is applied rectangle by rectangle, as viewers do; a cut
            # one leaves its earlier rectangles drawn, so report only whole ones.
            return fb, updates, start
    return fb, updates, stream.at


def _apply_update(stream: _Cursor, fb: Framebuffer, fmt: PixelFormat):
    (count,) = struct.unpack(">xH", stream.take(3))
    size = fmt.size
    for _ in range(count):
        x, y, w, h, encoding = struct.unpack(">HHHHi", stream.take(12))
        if encoding == 0:  # Raw
            raw = stream.take(w * h * size)
            fb.put(x, y, w, h, b"".join(fmt.rgb(raw[i:i + size])
                                        for i in range(0, len(raw), size)))
        elif encoding == 1:  # CopyRect
            src_x, src_y = struct.unpack(">HH", stream.take(4))
            fb.copy(src_x, src_y, x, y, w, h)
        elif encoding in (2, 4):  # RRE, CoRRE
            (subrects,) = struct.unpack(">I", stream.take(4))
            fb.fill(x, y, w, h, fmt.rgb(stream.take(size)))
            for _ in range(subrects):
                rgb = fmt.rgb(stream.take(size))
                if encoding == 2:
                    sx, sy, sw, sh = struct.unpack(">HHHH", stream.take(8))
                else:
                    sx, sy, sw, sh = stream.take(4)
                fb.fill(x + sx, y + sy, sw, sh, rgb)
        elif encoding == -239:  # Cursor: pixels and a bitmask, not framebuffer
            stream.take(w * h * size + (w + 7) // 8 * h)
        elif encoding == -232:  # PointerPos
            pass
        else:
            raise AssertionError(f"encoding {encoding} in the stream: not one Net::VNC asked for")


def read_ppm(path) -> Framebuffer:
    """Binary PPM (P6, maxval 255) as Imlib2 writes it (with a comment line)."""
    data = Path(path).read_bytes()
    tokens, at = [], 0
    while len(tokens) < 4:
        while data[at:at + 1].isspace():
            at += 1
        if data[at:at + 1] == b"#":
            at = data.index(b"\n", at) + 1
            continue
        end = at
        while not data[end:end + 1].isspace():
            end += 1
        tokens.append(data[at:end])
        at = end
    at += 1  # the single whitespace after maxval
    if tokens[0] != b"P6" or tokens[3] != b"255":
        raise AssertionError(f"{path}: not a P6/255 PPM: {tokens}")
    fb = Framebuffer(int(tokens[1]), int(tokens[2]))
    pixels = data[at:at + fb.width * fb.height * 3]
    if len(pixels) != len(fb.pixels):
        raise AssertionError(f"{path}: {len(pixels)} pixel bytes, expected {len(fb.pixels)}")
    fb.pixels[:] = pixels
    return fb


def first_difference(a: Framebuffer, b: Framebuffer) -> str:
    """'' when identical, else where and how they differ (for messages)."""
    if (a.width, a.height) != (b.width, b.height):
        return f"sizes differ: {a.width}x{a.height} vs {b.width}x{b.height}"
    if a.pixels == b.pixels:
        return ""
    for index in range(0, len(a.pixels), 3):
        if a.pixels[index:index + 3] != b.pixels[index:index + 3]:
            pixel = index // 3
            differing = sum(a.pixels[i:i + 3] != b.pixels[i:i + 3]
                            for i in range(0, len(a.pixels), 3))
            return (f"{differing} pixels differ; first at ({pixel % a.width},{pixel // a.width}): "
                    f"{a.pixels[index:index + 3].hex()} vs {b.pixels[index:index + 3].hex()}")
    return ""


def colour_counts(fb: Framebuffer) -> dict[str, int]:
    counts: dict[str, int] = {}
    for index in range(0, len(fb.pixels), 3):
        key = fb.pixels[index:index + 3].hex()
        counts[key] = counts.get(key, 0) + 1
    return counts


# --------------------------------------------------------------------------
# The commands: play and recording
# --------------------------------------------------------------------------

PLAYING_RE = r"^playing (.+) on 127\.0\.0\.1:(\d+)$"


class Player:
    """One `vnc-hooks-manager play FILE --listen 127.0.0.1:0 ...` process;
    its port comes from its "playing FILE on HOST:PORT" line."""

    def __init__(self, recording, *args: str):
        cmd = [proxy_binary(), "play", str(recording), "--listen", "127.0.0.1:0", *args]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.stdout = OutputCollector(self.proc.stdout, "play-out")
        self.stderr = OutputCollector(self.proc.stderr, "play-err")
        try:
            match = self.stdout.wait_for(PLAYING_RE)[0]
        except AssertionError as error:
            self.stop()
            raise AssertionError(f"{error}\nplayer exit status {self.proc.poll()}, stderr:\n"
                                 f"{self.stderr.text()}") from None
        self.port = int(match.group(2))

    def stop(self):
        kill_quietly(self.proc, grace=3)
        close_pipes(self.proc, self.stdout, self.stderr)


def run_recording_command(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([proxy_binary(), "recording", *map(str, args)],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=DEFAULT_WAIT)


def recording_info_json(path) -> tuple[int, dict, str]:
    """`recording info FILE --json`: exit status, the JSON, stderr."""
    done = run_recording_command("info", str(path), "--json")
    try:
        summary = json.loads(done.stdout)
    except ValueError:
        raise AssertionError(f"recording info --json printed no JSON (status "
                             f"{done.returncode}): {done.stdout!r} {done.stderr!r}") from None
    return done.returncode, summary, done.stderr


def parse_fbs(data: bytes) -> list[tuple[bytes, int]]:
    """FBS 001.000: the magic, then blocks of u32be length, the data padded
    with zeros to a multiple of 4, u32be milliseconds."""
    if not data.startswith(b"FBS 001.000\n"):
        raise AssertionError(f"not FBS 001.000: {data[:16]!r}")
    blocks, at = [], 12
    while at < len(data):
        (length,) = struct.unpack_from(">I", data, at)
        padded = (length + 3) // 4 * 4
        if at + 4 + padded + 4 > len(data):
            raise AssertionError(f"FBS block at byte {at} runs past the end")
        if data[at + 4 + length:at + 4 + padded] != b"\0" * (padded - length):
            raise AssertionError(f"FBS block at byte {at}: padding is not zeros")
        (ms,) = struct.unpack_from(">I", data, at + 4 + padded)
        blocks.append((data[at + 4:at + 4 + length], ms))
        at += 4 + padded + 4
    return blocks


# --------------------------------------------------------------------------
# A TCP relay that keeps every byte (to learn what crossed the wire)
# --------------------------------------------------------------------------

class LoggingRelay:
    """127.0.0.1:0 -> target; keeps the bytes of each connection, both ways:
    connections[i] = {"up": client->target bytes, "down": target->client}."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        self.connections: list[dict[str, bytearray]] = []
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            logs = {"up": bytearray(), "down": bytearray()}
            with self._lock:
                self.connections.append(logs)
                self._sockets += [client, server]
            for source, sink, key in ((client, server, "up"), (server, client, "down")):
                thread = threading.Thread(target=self._pump, args=(source, sink, logs[key]),
                                          daemon=True)
                thread.start()
                self._threads.append(thread)

    def _pump(self, source: socket.socket, sink: socket.socket, log: bytearray):
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                with self._lock:
                    log += chunk
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            try:
                sink.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def stop(self):
        try:
            self.listener.close()
        except OSError:
            pass
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.close()
                except OSError:
                    pass
        for thread in self._threads:
            thread.join(2)


def vnc_auth_secrets(up: bytes, down: bytes) -> tuple[bytes, bytes]:
    """(challenge, response) of an RFB 3.7/3.8 VncAuth handshake as relayed:
    `down` is the server's side (version, types, challenge...), `up` the
    viewer's (version, chosen type, response...)."""
    if not down.startswith(b"RFB 003.00") or not up.startswith(b"RFB 003.00"):
        raise AssertionError(f"not RFB: {bytes(down[:12])!r} / {bytes(up[:12])!r}")
    count = down[12]
    types = down[13:13 + count]
    if 2 not in types or up[12] != 2:
        raise AssertionError(f"not VncAuth: offered {list(types)}, chosen {up[12]}")
    challenge = bytes(down[13 + count:13 + count + 16])
    response = bytes(up[13:13 + 16])
    if len(challenge) != 16 or len(response) != 16:
        raise AssertionError("handshake cut before the challenge and response")
    return challenge, response


# --------------------------------------------------------------------------
# A raw RFB viewer (security None) for exact viewer bytes
# --------------------------------------------------------------------------

def drain(sock: socket.socket, quiet: float = 0.3, limit: float = DEFAULT_WAIT) -> bytes:
    """Reads until nothing arrived for `quiet` seconds (or EOF)."""
    data = b""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        sock.settimeout(quiet)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    sock.settimeout(DEFAULT_WAIT)
    return data


def server_init_of(sock: socket.socket) -> tuple[int, int, bytes, bytes]:
    """After ClientInit: (width, height, pixel format, name)."""
    width, height = struct.unpack(">HH", recv_exact(sock, 4))
    pixel_format = recv_exact(sock, 16)
    (length,) = struct.unpack(">I", recv_exact(sock, 4))
    return width, height, pixel_format, recv_exact(sock, length)


# --------------------------------------------------------------------------
# Screenshots of an X server (xwd) and random bitmaps (xsetroot -bitmap)
# --------------------------------------------------------------------------

def xwd_root(display: str) -> Framebuffer:
    """`xwd -root` of `display`, parsed (XWD version 7, ZPixmap, TrueColor)."""
    data = subprocess.run(["xwd", "-root", "-silent", "-display", display],
                          capture_output=True, check=True, timeout=DEFAULT_WAIT).stdout
    fields = struct.unpack_from(">25I", data, 0)
    (header_size, version, pixmap_format, _depth, width, height, _xoffset, byte_order,
     _unit, _bit_order, _pad, bits_per_pixel, bytes_per_line, _visual, red_mask, green_mask,
     blue_mask, _bits_rgb, _entries, ncolors) = fields[:20]
    if version != 7 or pixmap_format != 2 or bits_per_pixel != 32:
        raise AssertionError(f"xwd: version {version}, format {pixmap_format}, "
                             f"{bits_per_pixel} bpp: not parsed here")
    at = header_size + 12 * ncolors
    order = "little" if byte_order == 0 else "big"

    def shift(mask):
        return (mask & -mask).bit_length() - 1
    shifts = [(shift(m), m) for m in (red_mask, green_mask, blue_mask)]
    fb = Framebuffer(width, height)
    image = data[at:at + bytes_per_line * height]
    if (bytes_per_line == 4 * width and order == "little"
            and (red_mask, green_mask, blue_mask) == (0xFF0000, 0xFF00, 0xFF)):
        fb.pixels[0::3] = image[2::4]  # BGRX in memory
        fb.pixels[1::3] = image[1::4]
        fb.pixels[2::3] = image[0::4]
        return fb
    out = bytearray()
    for y in range(height):
        row = image[y * bytes_per_line:y * bytes_per_line + 4 * width]
        for x in range(0, 4 * width, 4):
            value = int.from_bytes(row[x:x + 4], order)
            out += bytes(((value & m) >> s) * 255 // (m >> s) for s, m in shifts)
    fb.pixels[:] = out
    return fb


def random_xbm(path, width: int = 64, height: int = 64, seed: int = 0) -> Path:
    """An X bitmap of random bits (for `xsetroot -bitmap`): tiled over the
    root window it gives an update no encoding compresses much."""
    rng = random.Random(seed)
    row_bytes = (width + 7) // 8
    values = [rng.randrange(256) for _ in range(row_bytes * height)]
    # Xlib's reader wants the values on the lines after the opening brace.
    body = ",\n".join(", ".join(f"0x{v:02x}" for v in values[i:i + 12])
                      for i in range(0, len(values), 12))
    Path(path).write_text(f"#define noise_width {width}\n#define noise_height {height}\n"
                          f"static unsigned char noise_bits[] = {{\n{body} }};\n")
    return Path(path)
