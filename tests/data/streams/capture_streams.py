#!/usr/bin/env python3
"""Capture whole RFB sessions between real viewers and real servers.

A TCP tee on 127.0.0.1 sits between a viewer and a server, relays the bytes
both ways and records every read it made, in the order it made them, from the
first byte (the handshake included). One session = one <name>.rfbs file (the
format is described in README.md next to this script, and below in
write_streams()). Scenarios drive screen activity, typing, the pointer, the
clipboard and resizes with ordinary X tools.

Servers: TigerVNC's Xvnc, x11vnc on an Xvfb, QEMU's VNC server (no disk: the
SeaBIOS screen). Viewers: TigerVNC's xtigervncviewer (under an Xvfb of its
own), Net::VNC (tests/integration/vnc_viewer.pl). Everything started here runs
in its own session and is stopped by process id.

Capture-only Debian packages (tests only read the stored files):
  tigervnc-standalone-server tigervnc-viewer xvfb x11vnc qemu-system-x86
  x11-xserver-utils (xsetroot, xrandr) xterm xdotool xsel libnet-vnc-perl

Usage: python3 capture_streams.py [--only NAME[,NAME...]] [output-dir]
"""
from __future__ import annotations

import argparse
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent
VNC_VIEWER_PL = REPO / "tests" / "integration" / "vnc_viewer.pl"
MAGIC = b"VHM-RFB-STREAMS 1\n"


# --- processes -------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_display(start: int) -> int:
    for n in range(start, start + 200):
        if not os.path.exists(f"/tmp/.X{n}-lock") and not os.path.exists(f"/tmp/.X11-unix/X{n}"):
            return n
    raise RuntimeError("no free X display number")


def wait_until(predicate, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def port_listens(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Proc:
    """A process in its own session, stopped by its id (SIGTERM, then SIGKILL)."""

    def __init__(self, argv, env=None, log=None):
        self.argv = argv
        self.log = log
        out = open(log, "ab") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)
        if log:
            out.close()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, grace=3.0):
        if self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def xenv(display: str) -> dict:
    env = dict(os.environ, DISPLAY=display)
    env.pop("XAUTHORITY", None)
    return env


def run_x(display: str, *argv, check=False, timeout=10, input_=None) -> str:
    r = subprocess.run(list(argv), env=xenv(display), capture_output=True, timeout=timeout, input=input_)
    if check and r.returncode != 0:
        raise RuntimeError(f"{argv} failed: {r.stderr.decode(errors='replace')}")
    return r.stdout.decode(errors="replace")


def set_selection(display: str, text: str, selection="-b"):
    """xsel keeps serving the selection in the background until someone else owns it."""
    subprocess.run(["xsel", selection, "-i"], input=text.encode(), env=xenv(display), timeout=10)


# --- X servers and viewers ---------------------------------------------------

class Xvfb:
    def __init__(self, geometry="1024x768x24", start=150):
        self.number = free_display(start)
        self.display = f":{self.number}"
        self.proc = Proc(["Xvfb", self.display, "-nolisten", "tcp", "-screen", "0", geometry])
        wait_until(lambda: os.path.exists(f"/tmp/.X11-unix/X{self.number}"), what=f"Xvfb {self.display}")

    def stop(self):
        self.proc.stop()


class XvncServer:
    def __init__(self, workdir: Path, geometry="200x150", depth=24, extra=()):
        self.number = free_display(60)
        self.display = f":{self.number}"
        self.port = free_port()
        self.argv = ["Xvnc", self.display, "-rfbport", str(self.port), "-interface", "127.0.0.1",
                     "-nolisten", "tcp", "-geometry", geometry, "-depth", str(depth), "-desktop", "vhm streams",
                     "-SecurityTypes", "None", "-AlwaysShared", "-UseBlacklist=0", *extra]
        self.proc = Proc(self.argv, log=workdir / f"xvnc{self.number}.log")
        wait_until(lambda: os.path.exists(f"/tmp/.X11-unix/X{self.number}"), what="Xvnc X socket")
        wait_until(lambda: port_listens(self.port), what="Xvnc RFB port")
        self.describe = "TigerVNC Xvnc 1.12 " + " ".join(["-geometry", geometry, "-depth", str(depth), *extra])

    def stop(self):
        self.proc.stop()


class X11vncServer:
    def __init__(self, workdir: Path, geometry="200x150x24", extra=()):
        self.xvfb = Xvfb(geometry, start=60)
        self.display = self.xvfb.display
        self.port = free_port()
        self.proc = Proc(["x11vnc", "-display", self.display, "-rfbport", str(self.port), "-localhost",
                          "-nopw", "-once", "-noxdamage", "-norc", *extra],
                         log=workdir / f"x11vnc{self.port}.log")
        wait_until(lambda: port_listens(self.port) or not self.proc.alive(), timeout=20, what="x11vnc port")
        self.describe = f"x11vnc 0.9.16 on Xvfb {geometry} " + " ".join(["-once", "-noxdamage", *extra])

    def stop(self):
        self.proc.stop()
        self.xvfb.stop()


class QemuServer:
    def __init__(self, workdir: Path, extra_vnc=""):
        for n in range(40, 99):
            if port_listens(5900 + n):
                continue
            self.port = 5900 + n
            self.proc = Proc(["qemu-system-x86_64", "-display", f"vnc=127.0.0.1:{n}{extra_vnc}", "-nodefaults",
                              "-vga", "std", "-m", "32", "-accel", "tcg"], log=workdir / f"qemu{n}.log")
            # QEMU's VNC server accepts before the guest runs; a probe that only connects is harmless.
            wait_until(lambda: port_listens(self.port) or not self.proc.alive(), timeout=20, what="qemu vnc")
            if self.proc.alive():
                break
        self.display = None
        self.describe = "QEMU 7.2 -display vnc -nodefaults -vga std -m 32 (SeaBIOS, no disk)"

    def stop(self):
        self.proc.stop()


class TigerViewer:
    def __init__(self, workdir: Path, port: int, args=(), xvfb_geometry="1024x768x24"):
        self.xvfb = Xvfb(xvfb_geometry)
        self.display = self.xvfb.display
        home = workdir / f"home{self.xvfb.number}"
        home.mkdir(exist_ok=True)
        env = dict(xenv(self.display), HOME=str(home))
        self.args = list(args)
        self.proc = Proc(["xtigervncviewer", "-Log", "*:stderr:100", "-AlertOnFatalError=0", "-ReconnectOnError=0",
                          *self.args, f"127.0.0.1::{port}"], env=env, log=workdir / f"viewer{self.xvfb.number}.log")
        self.log = workdir / f"viewer{self.xvfb.number}.log"
        self.describe = "xtigervncviewer 1.12 " + " ".join(self.args)

    def window(self) -> str:
        out = ""
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not out.strip():
            out = run_x(self.display, "xdotool", "search", "--name", "TigerVNC|vhm streams|QEMU")
            time.sleep(0.1)
        return out.split()[0] if out.split() else ""

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self):
        self.proc.stop()
        self.xvfb.stop()


# --- the tee -------------------------------------------------------------------

class Tee(threading.Thread):
    """Accepts one viewer on a free port, connects it to the server, relays and
    records each read (direction, milliseconds since accept, bytes). Optional
    pacing of the server->viewer direction (bytes per second, changeable while
    running) makes a viewer that measures its bandwidth change its settings."""

    def __init__(self, server_port: int):
        super().__init__(daemon=True)
        self.server_port = server_port
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.chunks: list[tuple[str, int, bytes]] = []
        self.ended = ""
        self.stop_flag = threading.Event()
        self.connected = threading.Event()
        self.s2c_rate = 0  # bytes/s, 0: unlimited
        self.max_s2c = 0   # cut the session once the server sent this many bytes (0: never)
        self.totals = {"C": 0, "S": 0}

    def run(self):
        self.listener.settimeout(30)
        try:
            viewer, _ = self.listener.accept()
        except OSError:
            self.ended = "no viewer connected"
            return
        finally:
            self.listener.close()
        server = socket.create_connection(("127.0.0.1", self.server_port))
        start = time.monotonic()
        self.connected.set()
        open_dirs = {"C": True, "S": True}
        peers = {viewer: ("C", server), server: ("S", viewer)}
        try:
            while any(open_dirs.values()):
                if self.stop_flag.is_set():
                    self.ended = "cut by the capture script"
                    break
                readable = [s for s, (d, _) in peers.items() if open_dirs[d]]
                ready, _, _ = select.select(readable, [], [], 0.05)
                for s in ready:
                    direction, peer = peers[s]
                    rate = self.s2c_rate if direction == "S" else 0
                    try:
                        data = s.recv(min(4096, max(64, rate // 20)) if rate else 65536)
                    except OSError:
                        data = b""
                    if direction == "S" and self.max_s2c and self.totals["S"] + len(data) >= self.max_s2c:
                        data = data[:self.max_s2c - self.totals["S"]]
                        self.chunks.append((direction, int((time.monotonic() - start) * 1000), data))
                        self.totals[direction] += len(data)
                        self.ended = f"cut by the capture script after {self.max_s2c} server bytes"
                        return
                    if not data:
                        open_dirs[direction] = False
                        self.ended = self.ended or ("viewer closed" if direction == "C" else "server closed")
                        try:
                            peer.shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
                        continue
                    self.chunks.append((direction, int((time.monotonic() - start) * 1000), data))
                    self.totals[direction] += len(data)
                    try:
                        peer.sendall(data)
                    except OSError:
                        pass  # the other side left; keep reading what this side still sends
                    if rate:
                        time.sleep(len(data) / rate)
        finally:
            viewer.close()
            server.close()


def write_streams(path: Path, header: dict, chunks):
    """<name>.rfbs: the line "VHM-RFB-STREAMS 1", header lines "key: value",
    an empty line, then every chunk in capture order: one byte 'C' (viewer to
    server) or 'S' (server to viewer), u32 big-endian milliseconds since the
    viewer connected, u32 big-endian length, the bytes."""
    with open(path, "wb") as f:
        f.write(MAGIC)
        for k, v in header.items():
            f.write(f"{k}: {v}\n".encode())
        f.write(b"\n")
        for direction, ms, data in chunks:
            f.write(direction.encode() + struct.pack(">II", ms, len(data)) + data)


# --- activity ----------------------------------------------------------------------

def pause(s):
    time.sleep(s)


def screen_activity(display: str, procs: list, lines=25, colours=("darkred", "darkgreen", "navy")):
    """An xterm printing lines, root colour changes, cursor shape changes."""
    procs.append(Proc(["xterm", "-display", display, "-geometry", "24x6+4+4", "-fa", "", "-fn", "fixed",
                       "-e", "sh", "-c", f"for i in $(seq {lines}); do echo line $i of vhm; sleep 0.04; done; sleep 60"]))
    pause(1.2)
    for c in colours:
        run_x(display, "xsetroot", "-solid", c)
        pause(0.3)
    for cursor in ("watch", "xterm", "left_ptr"):
        run_x(display, "xsetroot", "-cursor_name", cursor)
        pause(0.3)


def viewer_input(viewer: TigerViewer, text="hello vhm"):
    win = viewer.window()
    if not win:
        return
    run_x(viewer.display, "xdotool", "windowfocus", "--sync", win)
    run_x(viewer.display, "xdotool", "mousemove", "--window", win, "20", "20")
    pause(0.1)
    run_x(viewer.display, "xdotool", "mousemove", "--window", win, "60", "40", "click", "1")
    pause(0.2)
    run_x(viewer.display, "xdotool", "type", "--delay", "30", text)
    pause(0.3)


def clipboard_both_ways(viewer: TigerViewer, server_display: str):
    win = viewer.window()
    if win:
        run_x(viewer.display, "xdotool", "windowfocus", "--sync", win)
    # viewer -> server: the viewer announces, an X client on the server's display asks for the text
    set_selection(viewer.display, "from the viewer: vhm clipboard test")
    pause(0.6)
    run_x(server_display, "xsel", "-b", "-o", timeout=5)
    pause(0.4)
    # server -> viewer
    set_selection(server_display, "from the server: vhm clipboard test")
    pause(0.6)
    run_x(viewer.display, "xsel", "-b", "-o", timeout=5)
    pause(0.4)


def noise_root(display: str, workdir: Path, w=200, h=150, fg="white", bg="black"):
    """The root window tiled with random bits: incompressible, so an update
    takes long enough on a paced link for the viewer to measure it."""
    path = workdir / f"noise{display[1:]}.xbm"
    row = (w + 7) // 8
    data = random.randbytes(row * h)
    path.write_text(f"#define n_width {w}\n#define n_height {h}\nstatic unsigned char n_bits[] = {{\n"
                    + ",".join(f"0x{b:02x}" for b in data) + "};\n")
    run_x(display, "xsetroot", "-bitmap", str(path), "-fg", fg, "-bg", bg)


def xrandr_resize(display: str, sizes):
    """Xvnc lists big standard modes only: a small one is added first."""
    for size in sizes:
        w, h = (int(v) for v in size.split("x"))
        run_x(display, "xrandr", "--newmode", size, "10", str(w), str(w + 10), str(w + 20), str(w + 30),
              str(h), str(h + 5), str(h + 10), str(h + 15))
        run_x(display, "xrandr", "--addmode", "VNC-0", size)
        run_x(display, "xrandr", "-s", size)
        pause(0.6)


def viewer_resize(viewer: TigerViewer, width, height):
    win = viewer.window()
    if win:
        run_x(viewer.display, "xdotool", "windowsize", win, str(width), str(height))
        pause(0.8)


# --- scenarios --------------------------------------------------------------------

SCENARIOS = {}


def scenario(name):
    def register(fn):
        SCENARIOS[name] = fn
        return fn
    return register


class Session:
    """One server, a tee, one viewer; records the file at the end."""

    def __init__(self, out_dir: Path, workdir: Path, name: str):
        self.out_dir, self.workdir, self.name = out_dir, workdir, name
        self.procs: list = []
        self.notes: list[str] = []
        self.max_s2c = 0  # see Tee.max_s2c

    def run(self, server, make_viewer, activity, description):
        tee = Tee(server.port)
        tee.max_s2c = self.max_s2c
        tee.start()
        viewer = None
        try:
            viewer = make_viewer(tee.port)
            if not tee.connected.wait(20):
                raise RuntimeError("the viewer did not connect")
            pause(1.5)  # handshake and first update
            activity(viewer, tee)
            pause(0.8)
        finally:
            if viewer is not None:
                viewer.stop()
            tee.join(5)
            if tee.is_alive():
                tee.stop_flag.set()
                tee.join(5)
            for p in self.procs:
                p.stop()
            server.stop()
        header = {
            "name": self.name,
            "server": server.describe,
            "viewer": viewer.describe if viewer else "",
            "what": description,
            "captured": time.strftime("%Y-%m-%d", time.gmtime()),
            "ended": tee.ended or "viewer stopped",
            "c2s-bytes": tee.totals["C"],
            "s2c-bytes": tee.totals["S"],
            "chunks": len(tee.chunks),
        }
        for i, n in enumerate(self.notes):
            header[f"note{i + 1}"] = n
        path = self.out_dir / f"{self.name}.rfbs"
        write_streams(path, header, tee.chunks)
        print(f"wrote {path}: {path.stat().st_size} bytes, c2s {tee.totals['C']}, s2c {tee.totals['S']}, "
              f"{len(tee.chunks)} chunks, {header['ended']}")


class NetVncViewer:
    def __init__(self, port: int, server_display: str | None, commands=(), args=("--until-idle", "700")):
        argv = ["perl", str(VNC_VIEWER_PL), "--host", "127.0.0.1", "--port", str(port), "--timeout", "60",
                "--capture", *args]
        for c in commands:
            argv += ["--run", c]
        env = xenv(server_display) if server_display else None
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        self.describe = ("Net::VNC 0.40 (tests/integration/vnc_viewer.pl --capture " + " ".join(args)
                         + (" --run ..." if commands else "") + ")")

    def wait(self, timeout=60):
        out, _ = self.proc.communicate(timeout=timeout)
        return out.decode(errors="replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def tiger_session(out_dir, workdir, name, viewer_args, description, geometry="200x150", depth=24,
                  xvfb_geometry="1024x768x24", full=True, colours=("darkred", "darkgreen", "navy"), lines=25):
    s = Session(out_dir, workdir, name)
    server = XvncServer(workdir, geometry=geometry, depth=depth)

    def activity(viewer, tee):
        screen_activity(server.display, s.procs, lines=lines, colours=colours)
        viewer_input(viewer)
        if full:
            clipboard_both_ways(viewer, server.display)
            xrandr_resize(server.display, ["160x120", "200x150"])
            viewer_resize(viewer, 180, 140)

    s.run(server, lambda port: TigerViewer(workdir, port, viewer_args, xvfb_geometry), activity, description)


@scenario("xvnc_tiger_tight")
def _(out_dir, workdir):
    tiger_session(out_dir, workdir, "xvnc_tiger_tight", ["-AutoSelect=0", "-PreferredEncoding=Tight"],
                  "Tight, full colour; xterm, root colours, cursor shapes, typing, pointer, clipboard both ways, "
                  "xrandr resize, viewer window resize (SetDesktopSize)")


@scenario("xvnc_tiger_zrle")
def _(out_dir, workdir):
    tiger_session(out_dir, workdir, "xvnc_tiger_zrle", ["-AutoSelect=0", "-PreferredEncoding=ZRLE"],
                  "ZRLE, full colour; same activity as xvnc_tiger_tight")


@scenario("xvnc_tiger_hextile")
def _(out_dir, workdir):
    tiger_session(out_dir, workdir, "xvnc_tiger_hextile", ["-AutoSelect=0", "-PreferredEncoding=Hextile"],
                  "Hextile, full colour; same activity as xvnc_tiger_tight", geometry="160x120")


@scenario("xvnc_tiger_rre")
def _(out_dir, workdir):
    tiger_session(out_dir, workdir, "xvnc_tiger_rre", ["-AutoSelect=0", "-PreferredEncoding=RRE"],
                  "RRE preferred, full colour; same activity as xvnc_tiger_tight", geometry="160x120")


@scenario("xvnc_tiger_rre_8bpp")
def _(out_dir, workdir):
    tiger_session(out_dir, workdir, "xvnc_tiger_rre_8bpp",
                  ["-AutoSelect=0", "-PreferredEncoding=RRE", "-FullColor=0", "-LowColorLevel=2"],
                  "RRE preferred at 8 bpp (LowColorLevel 2: 256 colours, rgb332); same activity as xvnc_tiger_tight",
                  geometry="160x120")


@scenario("xvnc_tiger_tight_8bpp_lcl0")
def _(out_dir, workdir):
    tiger_session(out_dir, workdir, "xvnc_tiger_tight_8bpp_lcl0",
                  ["-AutoSelect=0", "-PreferredEncoding=Tight", "-FullColor=0", "-LowColorLevel=0"],
                  "Tight at 8 bpp, 8 colours (LowColorLevel 0: depth 3); same activity as xvnc_tiger_tight")


@scenario("xvnc_tiger_zrle_8bpp_lcl1")
def _(out_dir, workdir):
    tiger_session(out_dir, workdir, "xvnc_tiger_zrle_8bpp_lcl1",
                  ["-AutoSelect=0", "-PreferredEncoding=ZRLE", "-FullColor=0", "-LowColorLevel=1"],
                  "ZRLE at 8 bpp, 64 colours (LowColorLevel 1: depth 6); same activity as xvnc_tiger_tight")


@scenario("xvnc_tiger_hextile_8bpp")
def _(out_dir, workdir):
    tiger_session(out_dir, workdir, "xvnc_tiger_hextile_8bpp",
                  ["-AutoSelect=0", "-PreferredEncoding=Hextile", "-FullColor=0", "-LowColorLevel=2"],
                  "Hextile at 8 bpp (LowColorLevel 2, rgb332); same activity as xvnc_tiger_tight", geometry="160x120")


@scenario("xvnc_tiger_tight_depth16")
def _(out_dir, workdir):
    tiger_session(out_dir, workdir, "xvnc_tiger_tight_depth16", ["-AutoSelect=0", "-PreferredEncoding=Tight"],
                  "Xvnc -depth 16 (ServerInit RGB565), viewer full colour on a 24-bit display (asks for 32 bpp); "
                  "Tight; same activity as xvnc_tiger_tight", depth=16)


@scenario("xvnc_tiger_autoselect_pfchange")
def _(out_dir, workdir):
    """AutoSelect measures throughput; the tee slows the server's bytes to a
    trickle so the viewer turns full colour off (SetPixelFormat to 8 bpp in
    the middle of the session), then lets them flow so it turns it on again."""
    s = Session(out_dir, workdir, "xvnc_tiger_autoselect_pfchange")
    server = XvncServer(workdir, geometry="200x150")

    def activity(viewer, tee):
        tee.s2c_rate = 4000
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "full color is now disabled" not in viewer.log_text():
            noise_root(server.display, workdir)
            pause(1.0)
        s.notes.append("throttled until the viewer logged: " +
                       ("full color is now disabled" if "now disabled" in viewer.log_text() else "NOTHING"))
        screen_activity(server.display, s.procs, lines=10, colours=("darkred",))
        tee.s2c_rate = 0
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "full color is now enabled" not in viewer.log_text():
            noise_root(server.display, workdir)
            pause(0.3)
        s.notes.append("then unthrottled until: " +
                       ("full color is now enabled" if "now enabled" in viewer.log_text() else "NOTHING"))
        viewer_input(viewer)

    s.run(server, lambda port: TigerViewer(workdir, port, ["-AutoSelect=1"]), activity,
          "AutoSelect on; random bitmaps on the root window; the tee paces server bytes to 4 kB/s until the viewer switches to low colour "
          "(mid-session SetPixelFormat, with continuous updates), then unpaced until it switches back")


@scenario("x11vnc_tiger_tight")
def _(out_dir, workdir):
    s = Session(out_dir, workdir, "x11vnc_tiger_tight")
    server = X11vncServer(workdir)

    def activity(viewer, tee):
        screen_activity(server.display, s.procs)
        viewer_input(viewer)
        clipboard_both_ways(viewer, server.display)

    s.run(server, lambda port: TigerViewer(workdir, port, ["-AutoSelect=0", "-PreferredEncoding=Tight"]), activity,
          "x11vnc + TigerVNC viewer, Tight; xterm, root colours, cursor shapes, typing, pointer, clipboard")


@scenario("x11vnc_tiger_zrle")
def _(out_dir, workdir):
    s = Session(out_dir, workdir, "x11vnc_tiger_zrle")
    server = X11vncServer(workdir)

    def activity(viewer, tee):
        screen_activity(server.display, s.procs)
        viewer_input(viewer)

    s.run(server, lambda port: TigerViewer(workdir, port, ["-AutoSelect=0", "-PreferredEncoding=ZRLE",
                                                           "-FullColor=0", "-LowColorLevel=2"]), activity,
          "x11vnc + TigerVNC viewer, ZRLE at 8 bpp (LowColorLevel 2); xterm, colours, cursors, typing")


@scenario("x11vnc_netvnc")
def _(out_dir, workdir):
    s = Session(out_dir, workdir, "x11vnc_netvnc")
    server = X11vncServer(workdir, geometry="160x120x16")
    d = server.display
    commands = [f"DISPLAY={d} xsetroot -solid darkred", f"DISPLAY={d} xsetroot -cursor_name watch",
                f"DISPLAY={d} xterm -geometry 20x4+2+2 -fn fixed -e sh -c 'echo vhm; sleep 3' & sleep 1.5",
                f"DISPLAY={d} xsetroot -solid navy"]
    holder = {}

    def make(port):
        holder["v"] = NetVncViewer(port, d, commands)
        return holder["v"]

    def activity(viewer, tee):
        s.notes.append("vnc_viewer.pl: " + " ".join(viewer.wait(60).split()))

    s.run(server, make, activity,
          "x11vnc on a 16-bit Xvfb + Net::VNC (keeps the server's RGB565; offers CoRRE, RRE, CopyRect, Raw, "
          "PointerPos, Cursor): root colours, a cursor shape, an xterm")


@scenario("xvnc_depth16_netvnc")
def _(out_dir, workdir):
    """Net::VNC's idle loop never ends against Xvnc (every request is answered
    at once), so one capture only, then it holds the connection a moment."""
    s = Session(out_dir, workdir, "xvnc_depth16_netvnc")
    server = XvncServer(workdir, geometry="160x120", depth=16)
    run_x(server.display, "xsetroot", "-solid", "darkgreen")

    def activity(viewer, tee):
        s.notes.append("vnc_viewer.pl: " + " ".join(viewer.wait(60).split()))

    s.run(server, lambda port: NetVncViewer(port, server.display, args=("--hold", "1")), activity,
          "Xvnc -depth 16 + Net::VNC (keeps RGB565; offers CoRRE, RRE, CopyRect, Raw, PointerPos, Cursor): "
          "one full update")


@scenario("qemu_tiger_tight")
def _(out_dir, workdir):
    s = Session(out_dir, workdir, "qemu_tiger_tight")
    server = QemuServer(workdir)

    def activity(viewer, tee):
        pause(2.5)  # SeaBIOS, "No bootable device"
        viewer_input(viewer, "vhm")
        pause(1.0)

    s.run(server, lambda port: TigerViewer(workdir, port, ["-AutoSelect=0", "-PreferredEncoding=Tight"]), activity,
          "QEMU SeaBIOS screen (no disk), TigerVNC viewer Tight; typing (QEMU extended key events), pointer")


@scenario("qemu_tiger_zrle")
def _(out_dir, workdir):
    s = Session(out_dir, workdir, "qemu_tiger_zrle")
    server = QemuServer(workdir)

    def activity(viewer, tee):
        pause(2.5)
        viewer_input(viewer, "vhm")
        pause(1.0)

    s.run(server, lambda port: TigerViewer(workdir, port, ["-AutoSelect=0", "-PreferredEncoding=ZRLE",
                                                           "-FullColor=0", "-LowColorLevel=2"]), activity,
          "QEMU SeaBIOS screen, TigerVNC viewer ZRLE at 8 bpp; typing, pointer")


@scenario("qemu_tiger_hextile")
def _(out_dir, workdir):
    s = Session(out_dir, workdir, "qemu_tiger_hextile")
    server = QemuServer(workdir)

    def activity(viewer, tee):
        pause(2.5)
        viewer_input(viewer, "vhm")
        pause(1.0)

    s.run(server, lambda port: TigerViewer(workdir, port, ["-AutoSelect=0", "-PreferredEncoding=Hextile",
                                                           "-FullColor=0", "-LowColorLevel=2"]), activity,
          "QEMU SeaBIOS screen, TigerVNC viewer Hextile at 8 bpp; typing, pointer")


@scenario("qemu_netvnc_cut")
def _(out_dir, workdir):
    """Net::VNC offers no compressing encoding: QEMU answers with Raw, 1.15 MB
    a frame at 720x400x32; the tee cuts the session after 100 kB from the server."""
    s = Session(out_dir, workdir, "qemu_netvnc_cut")
    s.max_s2c = 100_000
    server = QemuServer(workdir)

    def activity(viewer, tee):
        s.notes.append("vnc_viewer.pl: " + " ".join(viewer.wait(60).split())[:200])

    s.run(server, lambda port: NetVncViewer(port, None, args=()), activity,
          "QEMU SeaBIOS screen + Net::VNC, Raw at 32 bpp; CUT by the tee in the middle of the first Raw rectangle")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    ap.add_argument("out", nargs="?", default=str(HERE))
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n] or list(SCENARIOS)
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    random.seed()
    with tempfile.TemporaryDirectory(prefix="vhm-streams-") as tmp:
        for name in names:
            print(f"--- {name}", flush=True)
            SCENARIOS[name](out_dir, Path(tmp))
        if os.environ.get("KEEP_LOGS"):
            subprocess.run(["cp", "-r", tmp, os.environ["KEEP_LOGS"]])


if __name__ == "__main__":
    sys.exit(main())
