"""Machinery for the message tracking tests (test_tracking.py, issue 11):
real VNC servers other than Xvnc (x11vnc on an Xvfb, QEMU's built-in VNC
server showing SeaBIOS), TigerVNC's viewer under Xvfb driven with `xdotool`
like a person would (focus its window, type, move the mouse), an xterm whose
typed lines land in a file (`sh -c 'cat > FILE'`), the X clipboard on either
side (`xsel`), and the config and event fields of the `session:` section.
Everything started here is stopped by pid; waits poll with a bound.
Python 3 standard library only.
"""
from __future__ import annotations

import calendar
import json
import os
import random
import re
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

from recording_support import xwd_root
from vencrypt_support import XVFB, TigerViewer, VirtualDisplay, display_is_free
from vhm_harness import (DEFAULT_WAIT, EVENT_KINDS, FIELDS, OutputCollector, close_pipes, greets_with_rfb,
                         closed_port, kill_quietly, make_config, port_is_free, recv_exact,
                         wait_until, yaml_scalar)

# Issue 11: five events and nine fields on every event (empty where not relevant).
TRACKING_KINDS = EVENT_KINDS + ["clipboard", "idle_warning", "resize", "screen_change",
                                "desktop_name"]
TRACKING_FIELDS = FIELDS + ["direction", "clipboard_bytes", "clipboard_path", "key_events",
                            "pointer_events", "updates", "clipboard_in", "clipboard_out",
                            "tracking"]
COUNTERS = ["key_events", "pointer_events", "updates", "clipboard_in", "clipboard_out"]

X11VNC = "/usr/bin/x11vnc"
QEMU = "/usr/bin/qemu-system-x86_64"


def tracking_config(listeners: list[dict], events: dict, global_: dict | None = None) -> str:
    """make_config() with listeners whose map values (`session:`) are written
    as JSON flow mappings, which are valid YAML."""
    base = make_config([], events, global_)
    lines = []
    for listener in listeners:
        for index, (key, value) in enumerate(listener.items()):
            text = json.dumps(value) if isinstance(value, dict) else yaml_scalar(value)
            lines.append(f"  {'- ' if index == 0 else '  '}{key}: {text}")
    return base.replace("listeners:\n", "listeners:\n" + "\n".join(lines) + "\n", 1)


def parse_timestamp(text: str) -> float:
    """An event's `timestamp` (2026-11-29T23:48:21.123Z) as seconds since the epoch."""
    day, clock = text.rstrip("Z").split("T")
    whole, _, millis = clock.partition(".")
    seconds = calendar.timegm(time.strptime(f"{day}T{whole}", "%Y-%m-%dT%H:%M:%S"))
    return seconds + int(millis or 0) / 1000


def x11(display: str, *cmd: str, timeout: float = DEFAULT_WAIT, check: bool = True,
        input_text: str | None = None) -> str:
    """Runs an X client on `display` to completion; its stdout as text."""
    done = subprocess.run(list(cmd), input=input_text, capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, DISPLAY=display))
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} on {display} failed ({done.returncode}): "
                             f"{done.stderr.strip()}")
    return done.stdout


def set_root_colour(display: str, colour: str):
    x11(display, "xsetroot", "-solid", colour)


def pointer_location(display: str) -> tuple[int, int]:
    values = dict(line.split("=", 1) for line in
                  x11(display, "xdotool", "getmouselocation", "--shell").split())
    return int(values["X"]), int(values["Y"])


def read_clipboard(display: str, timeout_ms: int = 500) -> str:
    """The CLIPBOARD selection's text on `display` ("" when nobody owns it or
    the owner does not answer within timeout_ms: xsel's own timeout does not
    cover an owner that never answers, Xvnc waiting for a viewer's text that
    the proxy dropped, so the process is ended then)."""
    try:
        return x11(display, "xsel", "--clipboard", "--output", "--selectionTimeout",
                   str(timeout_ms), check=False, timeout=timeout_ms / 1000 + 1)
    except subprocess.TimeoutExpired:
        return ""


class ClipboardOwner:
    """`xsel` owning the CLIPBOARD selection of `display` with `text` until
    stopped (--nodetach: it stays our child, stopped by pid)."""

    def __init__(self, display: str, text: str):
        self.display = display
        self.text = text
        self.proc = subprocess.Popen(["xsel", "--nodetach", "--clipboard", "--input"],
                                     stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True,
                                     env=dict(os.environ, DISPLAY=display))
        self.proc.stdin.write(text.encode())
        self.proc.stdin.close()
        # Owned once the display itself answers with the text.
        wait_until(lambda: read_clipboard(display) == text or self.proc.poll() is not None,
                   what=f"xsel to own the clipboard of {display}")
        if self.proc.poll() is not None:
            raise AssertionError(f"xsel on {display} exited ({self.proc.returncode})")

    def stop(self):
        kill_quietly(self.proc, grace=2)


class TypedFile:
    """An xterm on `display` running `sh -c 'cat > FILE'`, with the keyboard
    focus set to it (no window manager: the focus stays where it is put, so
    keys typed on that display, by XTEST or by a VNC server, end up in FILE
    line by line)."""

    def __init__(self, display: str, path: Path):
        self.display = display
        self.path = Path(path)
        self.path.write_text("")
        self.proc = subprocess.Popen(
            ["xterm", "-geometry", "60x8+0+0", "-e", "sh", "-c", f"exec cat > '{self.path}'"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, env=dict(os.environ, DISPLAY=display))
        self.window = wait_until(lambda: self._window(), timeout=15,
                                 what=f"the xterm window on {display}")
        self.focus()

    def _window(self) -> str:
        if self.proc.poll() is not None:
            raise AssertionError(f"xterm on {self.display} exited ({self.proc.returncode})")
        ids = x11(self.display, "xdotool", "search", "--onlyvisible", "--pid",
                  str(self.proc.pid), check=False).split()
        return ids[0] if ids else ""

    def focus(self):
        x11(self.display, "xdotool", "windowfocus", "--sync", self.window)

    def text(self) -> str:
        return self.path.read_text(errors="replace")

    def wait_for(self, marker: str, timeout: float = DEFAULT_WAIT):
        wait_until(lambda: marker in self.text(), timeout=timeout,
                   what=f"{marker!r} typed into the xterm on {self.display}; "
                        f"file so far: {self.text()!r}")

    def type_locally(self, text: str):
        """Types on the server's own display (XTEST), not through any viewer."""
        x11(self.display, "xdotool", "type", "--delay", "10", "--", text)

    def stop(self):
        kill_quietly(self.proc, grace=2)


class TigerDesk:
    """TigerVNC's viewer in an Xvfb of its own (its own clipboard and
    pointer), log on stderr at debug level, no menu key (F8 would be taken by
    the viewer). The window is focused once connected, so typed keys and
    local clipboard changes go to the server."""

    def __init__(self, workdir: Path, port: int, args: list[str] | None = None):
        self.screen = VirtualDisplay().start()
        self.display = self.screen.display
        self.viewer = TigerViewer(self.display, workdir, port,
                                  ["-MenuKey=", "-RemoteResize=0"] + list(args or []))
        self.window = ""

    @property
    def log(self) -> OutputCollector:
        return self.viewer.log

    def wait_connected(self, timeout: float = 15) -> "TigerDesk":
        self.viewer.wait_for(r"Using pixel format", timeout=timeout)
        self.window = wait_until(self._window, timeout=timeout, what="the viewer's window")
        self.focus()
        return self

    def _window(self) -> str:
        if self.viewer.proc.poll() is not None:
            raise AssertionError(f"the viewer exited ({self.viewer.proc.returncode}); log:\n"
                                 + self.viewer.log.text()[-3000:])
        ids = x11(self.display, "xdotool", "search", "--onlyvisible", "--name", "TigerVNC$",
                  check=False).split()
        return ids[0] if ids else ""

    def focus(self):
        x11(self.display, "xdotool", "windowfocus", "--sync", self.window)

    def type(self, text: str, delay_ms: int = 15):
        x11(self.display, "xdotool", "type", "--delay", str(delay_ms), "--", text)

    def key(self, *keys: str):
        x11(self.display, "xdotool", "key", "--delay", "10", *keys)

    def move_mouse(self, x: int, y: int):
        """To (x, y) of the remote desktop (the window shows it 1:1 at its
        origin). The viewer may sit on the motion of a warp (it rate-limits
        pointer events and, seen here, sends the pending position only with
        the next motion), so the pointer lands there by a 1-pixel step."""
        x11(self.display, "xdotool", "mousemove", "--window", self.window, str(x - 1), str(y))
        x11(self.display, "xdotool", "mousemove_relative", "1", "0")

    def geometry(self) -> dict[str, int]:
        out = x11(self.display, "xdotool", "getwindowgeometry", "--shell", self.window)
        return {k: int(v) for k, v in (line.split("=", 1) for line in out.split()) if k != "SCREEN"}

    def top_right_pixel(self) -> str:
        """rrggbb the window shows 8 pixels in from the remote desktop's
        top-right corner (clear of TigerVNC's own drawing: the statistics graph
        sits bottom right, the xterm top left)."""
        geo = self.geometry()
        fb = xwd_root(self.display)
        return bytes(fb.pixel(geo["X"] + geo["WIDTH"] - 8, geo["Y"] + 8)).hex()

    def wait_showing(self, colour: str, timeout: float = DEFAULT_WAIT):
        wait_until(lambda: self.top_right_pixel() == colour.lstrip("#").lower(),
                   timeout=timeout, what=f"the viewer's window to show #{colour.lstrip('#')}")

    def alive(self) -> bool:
        return self.viewer.proc.poll() is None

    def stop(self):
        self.viewer.stop()
        self.screen.stop()


class ServerDisplay(VirtualDisplay):
    """An Xvfb for a server to show (x11vnc's desktop), smaller than the
    viewer's screen so that the viewer's window needs no scrollbars."""

    def __init__(self, geometry: str = "800x600", depth: int = 24):
        super().__init__()
        self.geometry = geometry
        self.depth = depth

    def start(self) -> "ServerDisplay":
        candidates = list(range(250, 300))
        random.shuffle(candidates)
        for number in candidates[:8]:
            if not display_is_free(number):
                continue
            self.proc = subprocess.Popen([XVFB, f":{number}", "-nolisten", "tcp", "-screen", "0",
                                          f"{self.geometry}x{self.depth}"],
                                         stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True)
            socket_path = f"/tmp/.X11-unix/X{number}"
            wait_until(lambda: self.proc.poll() is not None or os.path.exists(socket_path),
                       timeout=15, what=f"Xvfb :{number}")
            if self.proc.poll() is None:
                self.display = f":{number}"
                return self
        raise RuntimeError("could not start Xvfb on a free display")


class X11vnc:
    """x11vnc serving an 800x600 Xvfb of its own on 127.0.0.1 (security None);
    its pixel format is the Xvfb's (depth 24: 32bpp, depth 16: RGB565)."""

    def __init__(self, workdir: Path, desktop: str = "vhm x11vnc desk", depth: int = 24):
        self.workdir = Path(workdir)
        self.desktop = desktop
        self.depth = depth
        self.screen: ServerDisplay | None = None
        self.proc: subprocess.Popen | None = None
        self.log: OutputCollector | None = None
        self.port = 0

    @property
    def display(self) -> str:
        return self.screen.display

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "X11vnc":
        self.screen = ServerDisplay(depth=self.depth).start()
        self.port = closed_port()
        self.proc = subprocess.Popen(
            [X11VNC, "-display", self.display, "-rfbport", str(self.port), "-localhost",
             "-noipv6", "-nopw", "-forever", "-shared", "-desktop", self.desktop,
             "-norc", "-nossl"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True, env=dict(os.environ, HOME=str(self.workdir)))
        self.log = OutputCollector(self.proc.stdout, "x11vnc")
        self.log.wait_for(rf"^PORT={self.port}$", timeout=30)
        return self

    def stop(self):
        if self.proc is not None:
            kill_quietly(self.proc, grace=3)
            close_pipes(self.proc, self.log)
            self.proc = None
        if self.screen is not None:
            self.screen.stop()


class QemuVnc:
    """QEMU (x86, TCG, no disk) with its built-in VNC server on 127.0.0.1:
    the VGA shows SeaBIOS and its boot messages, a text screen with a
    blinking cursor, so the screen keeps changing a little."""

    def __init__(self, workdir: Path, name: str = "vhm qemu"):
        self.workdir = Path(workdir)
        self.name = name
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log_path = self.workdir / "qemu.log"

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def desktop(self) -> str:
        return f"QEMU ({self.name})"

    def start(self) -> "QemuVnc":
        # Ports 6000-6049: away from the displays the other helpers pick.
        candidates = list(range(100, 150))
        random.shuffle(candidates)
        for number in candidates[:8]:
            if not port_is_free(5900 + number):
                continue
            with open(self.log_path, "wb") as log:
                self.proc = subprocess.Popen(
                    [QEMU, "-display", f"vnc=127.0.0.1:{number}", "-nodefaults", "-vga", "std",
                     "-m", "32", "-no-reboot", "-name", self.name, "-accel", "tcg"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True)
            self.port = 5900 + number
            wait_until(lambda: self.proc.poll() is not None or self._greets(), timeout=30,
                       what=f"QEMU's VNC server on port {self.port}")
            if self.proc.poll() is None:
                return self
        raise RuntimeError("could not start QEMU; last log:\n"
                           + self.log_path.read_text(errors="replace"))

    def _greets(self) -> bool:
        return greets_with_rfb(self.port)

    def stop(self):
        kill_quietly(self.proc)
        self.proc = None


class RawViewer:
    """A minimal RFB viewer on a socket (security None, Raw encoding only)
    that changes its pixel format between updates, the classic way: only
    while no update request is outstanding, so every update after a
    SetPixelFormat uses the new format. Frames each FramebufferUpdate by the
    format in force and raises on anything it cannot frame."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.sock.settimeout(DEFAULT_WAIT)
        if not recv_exact(sock, 12).startswith(b"RFB "):
            raise AssertionError("not an RFB greeting")
        sock.sendall(b"RFB 003.008\n")
        types = recv_exact(sock, recv_exact(sock, 1)[0])
        if 1 not in types:
            raise AssertionError(f"security None not offered: {list(types)}")
        sock.sendall(b"\x01")
        if recv_exact(sock, 4) != b"\x00\x00\x00\x00":
            raise AssertionError("security None failed")
        sock.sendall(b"\x01")  # ClientInit, shared
        self.width, self.height = struct.unpack(">HH", recv_exact(sock, 4))
        self.server_pixel_format = recv_exact(sock, 16)
        self.name = recv_exact(sock, struct.unpack(">I", recv_exact(sock, 4))[0])
        self.bytes_per_pixel = self.server_pixel_format[0] // 8  # until set_pixel_format()
        self.updates = 0

    @staticmethod
    def pixel_format(bpp: int, depth: int, red: tuple[int, int], green: tuple[int, int],
                     blue: tuple[int, int]) -> bytes:
        """(max, shift) per channel; true colour, little-endian."""
        return struct.pack(">BBBBHHHBBB3x", bpp, depth, 0, 1, red[0], green[0], blue[0],
                           red[1], green[1], blue[1])

    def set_pixel_format(self, pixel_format: bytes):
        self.sock.sendall(b"\x00\x00\x00\x00" + pixel_format)
        self.bytes_per_pixel = pixel_format[0] // 8

    def set_encodings(self, *encodings: int):
        self.sock.sendall(struct.pack(f">BxH{len(encodings)}i", 2, len(encodings), *encodings))

    def request_update(self, incremental: bool = False):
        self.sock.sendall(struct.pack(">BBHHHH", 3, int(incremental), 0, 0,
                                      self.width, self.height))

    def read_update(self) -> list[tuple[int, int, int, int]]:
        """Skips other server messages until a FramebufferUpdate; returns its
        rectangles (x, y, w, h), each Raw."""
        while True:
            kind = recv_exact(self.sock, 1)[0]
            if kind == 0:
                break
            if kind == 2:  # Bell
                continue
            if kind == 3:  # ServerCutText
                (length,) = struct.unpack(">3xI", recv_exact(self.sock, 7))
                recv_exact(self.sock, length)
                continue
            raise AssertionError(f"server message type {kind}: not expected by RawViewer")
        (count,) = struct.unpack(">xH", recv_exact(self.sock, 3))
        rects = []
        for _ in range(count):
            x, y, w, h, encoding = struct.unpack(">HHHHi", recv_exact(self.sock, 12))
            if encoding != 0:
                raise AssertionError(f"rectangle encoding {encoding}, asked for Raw only")
            recv_exact(self.sock, w * h * self.bytes_per_pixel)
            rects.append((x, y, w, h))
        self.updates += 1
        return rects


class DrainingViewer(RawViewer):
    """A RawViewer that does not frame what the server sends: a thread reads
    and counts the bytes. For asking for any pixel format and encodings (the
    proxy's tracker is what frames them); the pixel format is set once,
    before the first update request, as viewers do."""

    def __init__(self, sock: socket.socket):
        super().__init__(sock)
        self.received = 0
        self._stop = False
        self._thread = threading.Thread(target=self._drain, daemon=True, name="drain")
        self._thread.start()

    def _drain(self):
        self.sock.settimeout(0.1)
        while not self._stop:
            try:
                data = self.sock.recv(1 << 16)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return
            self.received += len(data)

    def request_and_wait(self, action=None):
        """Asks for the whole screen, runs `action` (a screen change), and
        waits until bytes arrive (the update began: later messages are framed
        after it)."""
        before = self.received
        self.request_update(incremental=False)
        if action is not None:
            action()
        wait_until(lambda: self.received > before, what="the server to answer an update request")

    def wait_quiet(self, quiet: float = 0.3, timeout: float = DEFAULT_WAIT):
        """Until nothing arrived for `quiet` seconds: every update asked for is in."""
        last = (self.received, time.monotonic())

        def settled():
            nonlocal last
            if self.received != last[0]:
                last = (self.received, time.monotonic())
            return time.monotonic() - last[1] >= quiet
        wait_until(settled, timeout=timeout, what="the server to send nothing more")

    def close(self):
        self._stop = True
        self._thread.join(5)
        self.sock.close()


def opaque_lines(text: str) -> list[str]:
    """Log lines saying the tracker lost sync (it calls that `opaque`)."""
    return [line for line in text.splitlines() if re.search(r"opaque", line, re.IGNORECASE)]


__all__ = ["TRACKING_KINDS", "TRACKING_FIELDS", "COUNTERS", "tracking_config",
           "parse_timestamp", "x11", "set_root_colour", "pointer_location", "read_clipboard",
           "ClipboardOwner", "TypedFile", "TigerDesk", "ServerDisplay", "X11vnc", "QemuVnc",
           "RawViewer", "DrainingViewer", "opaque_lines", "display_is_free"]
