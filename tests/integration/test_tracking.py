"""Following the whole session (issue 11) with real servers and viewers:
TigerVNC's Xvnc, x11vnc and QEMU behind the proxy; TigerVNC's viewer under
Xvfb driven by `xdotool` (typing into an xterm on the remote desktop, moving
the mouse, the X clipboard with `xsel`) and the Net::VNC viewer. Screen
changes come from `xsetroot`, `xrandr` and `vncconfig` on the server's
display, and what the viewer shows is read back from its Xvfb (`xwd`).

What must hold: the tracker follows every encoding and pixel format (the
log never says `opaque`, disconnect says `tracking=on` with its counters);
view-only drops input (config or gate hook) while the screen still
updates; clipboard rules per direction (allow, deny, log with 0600 files,
the text never in the log); the idle and max_duration closes; and the
resize, desktop_name and screen_change events; and behind VeNCrypt (not
terminated) a rule that needs the stream fails closed. Negative checks ("did not
arrive") always follow a barrier that proves the same path delivered
something later (or the proxy's own log line saying it dropped it), next to
a positive control (the other direction in the same session, the same
typing through a listener without the rule, or the `allow` test).

No fixed sleeps for synchronisation: the few sleeps pace a typist or give
an event that must not come the time in which it would have come.
"""
import random
import re
import stat
import struct
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

from recording_support import random_xbm
from tracking_support import (COUNTERS, TRACKING_FIELDS, ClipboardOwner, DrainingViewer,
                              QemuVnc, RawViewer, TigerDesk, TypedFile, X11vnc, opaque_lines, parse_timestamp,
                              pointer_location, read_clipboard, set_root_colour,
                              tracking_config, x11)
from vencrypt_support import XvncServer, password_file
from vhm_harness import (EVENT_KINDS, VNC_PASSWORD, IntegrationTest, Proxy, ViewerResult, Xvnc,
                         client_handshake_none, read_records, recv_exact, record_hooks, session_records,
                         viewer_command, wait_records, wait_session_done, wait_until)

DESK = "vhm-it tracking desk"
# Event kinds whose hooks do not turn tracking on by themselves (a hook on
# resize, screen_change or desktop_name would, for every listener).
PLAIN_KINDS = EVENT_KINDS + ["clipboard", "idle_warning"]
COLOURS = ["#ff0000", "#00ff00", "#0000ff", "#ffff00", "#00ffff", "#ff00ff", "#ffffff"]


def marker(prefix: str) -> str:
    return f"{prefix}-{random.randrange(16**8):08x}"


def run_perl_viewer(port: int, *extra: str, password: str | None = None,
                    timeout: int = 30) -> ViewerResult:
    cmd = viewer_command(port, password=password, timeout=timeout) + list(extra)
    started = time.monotonic()
    done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                          timeout=timeout + 10)
    return ViewerResult(done.returncode, done.stdout.decode(errors="replace"),
                        done.stderr.decode(errors="replace"), time.monotonic() - started)


class TrackingTest(IntegrationTest):
    """A proxy per test whose hooks record the chosen event kinds with every
    field of issue 11 into self.events_file."""

    password_file: Path | None = None  # the viewer's -passwd, when the server wants one
    password: str | None = None        # Net::VNC's

    def events(self, kinds=PLAIN_KINDS, extra: dict | None = None) -> dict:
        events = record_hooks(self.events_file, kinds, fields=TRACKING_FIELDS)
        for kind, hooks in (extra or {}).items():
            events[kind] = list(hooks) + events.get(kind, [])
        return events

    def tracking_proxy(self, target: str, session: dict | None = None,
                       listeners: list[dict] | None = None, events: dict | None = None,
                       **global_) -> Proxy:
        if listeners is None:
            listener = {"listen": "127.0.0.1:0", "target": target}
            if session is not None:
                listener["session"] = session
            listeners = [listener]
        text = tracking_config(listeners, self.events() if events is None else events,
                               global_ or None)
        return self.start_proxy(text, listeners=len(listeners))

    def desk(self, port: int, *args: str) -> TigerDesk:
        extra = ["-passwd", str(self.password_file)] if self.password_file else []
        desk = TigerDesk(self.tmp, port, extra + list(args))
        self.addCleanup(desk.stop)
        return desk.wait_connected()

    def records_of(self, kind: str) -> list:
        return [r for r in read_records(self.events_file) if r.event == kind]

    def wait_event(self, kind: str, count: int = 1, timeout: float = 10,
                   where=lambda record: True) -> list:
        wait_records(self.events_file,
                     lambda records: sum(r.event == kind and where(r) for r in records) >= count,
                     timeout=timeout, what=f"{count} {kind} record(s)")
        return [r for r in self.records_of(kind) if where(r)]

    def disconnects(self, count: int, listen_port: int | None = None,
                    timeout: float = 15) -> list:
        """The first `count` disconnect records (of one listener), in file order."""
        wait_session_done(self.events_file, listen_port, count, timeout=timeout)
        return [r for r in self.records_of("disconnect")
                if listen_port is None or r["listen"].endswith(f":{listen_port}")][:count]

    def dump_server_log_on_failure(self, path: Path | None = None, text=None):
        """The server's side of a failed test: the end of its log (a file, or
        a callable giving the text)."""
        result = getattr(getattr(self, "_outcome", None), "result", None)
        problems = getattr(result, "failures", []) + getattr(result, "errors", [])
        if not any(test is self or getattr(test, "test_case", None) is self
                   for test, _ in problems):
            return
        if path is not None:
            text = (lambda: path.read_text(errors="replace")) if path.exists() else None
        if text is not None:
            sys.stderr.write(f"\n----- server log ({self.id()}) -----\n" + text()[-6000:]
                             + "\n-----\n")

    def counter(self, record, field: str) -> int:
        self.assertRegex(record[field], r"^\d+$", f"{field} of {record}")
        return int(record[field])

    def assert_followed(self, proxy: Proxy, disconnect, min_updates: int = 1,
                        server_side: bool = True):
        """The session was followed to its end: tracking on, counters numbers,
        at least `min_updates` FramebufferUpdates, and never `opaque` in the
        log. server_side=False: only the viewer's messages needed following
        (view-only, a viewer_to_server rule, input_idle_timeout), so
        docs/session-policy.md says `updates` is 0."""
        self.assertEqual(disconnect["tracking"], "on", repr(disconnect))
        for field in COUNTERS:
            self.counter(disconnect, field)
        if server_side:
            self.assertGreaterEqual(self.counter(disconnect, "updates"), min_updates,
                                    repr(disconnect))
        else:
            self.assertEqual(disconnect["updates"], "0", repr(disconnect))
        self.assertEqual(opaque_lines(proxy.log().text()), [],
                         "the tracker lost sync (the log says opaque)")


# --------------------------------------------------------------------------
# TigerVNC's Xvnc: one per class, with an xterm whose typed lines land in a file
# --------------------------------------------------------------------------

class TrackingWithXvnc(TrackingTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        tmp = tempfile.TemporaryDirectory(prefix="vhm-it-track-")
        cls.addClassCleanup(tmp.cleanup)
        cls.shared = Path(tmp.name)
        cls.xvnc = Xvnc(tmp.name, security="VncAuth", desktop=DESK, geometry=(800, 600))
        cls.addClassCleanup(cls.xvnc.stop)
        cls.xvnc.start()
        cls.password_file = cls.shared / "xvnc-passwd"  # written by Xvnc.start()
        cls.password = cls.xvnc.password
        cls.typed = TypedFile(cls.xvnc.display, cls.shared / "typed.txt")
        cls.addClassCleanup(cls.typed.stop)
        cls.colour_index = 0

    def setUp(self):
        super().setUp()
        if self.xvnc.proc is None or self.xvnc.proc.poll() is not None:
            self.fail(f"shared Xvnc {self.xvnc.display} is not running")
        self.typed.focus()
        self.owners: list[ClipboardOwner] = []
        self.addCleanup(self.stop_clipboards)
        self.addCleanup(self.dump_server_log_on_failure, self.xvnc.log_path)

    def desk(self, port: int, *args: str) -> TigerDesk:
        """A connected viewer that has shown a screen change: the server has
        read its SetEncodings by then (sent after the viewer's "Using pixel
        format" line; a resize or a rename earlier would find a viewer that
        cannot take it: Xvnc closes such a session)."""
        desk = super().desk(port, *args)
        self.paint(desk)
        return desk

    def next_colour(self) -> str:
        cls = type(self)
        cls.colour_index += 1
        return COLOURS[cls.colour_index % len(COLOURS)]

    def paint(self, desk: TigerDesk) -> str:
        """A new root colour on the server; returns once the viewer shows it."""
        colour = self.next_colour()
        set_root_colour(self.xvnc.display, colour)
        desk.wait_showing(colour)
        return colour

    def xvnc_connections_closed(self) -> bool:
        """Xvnc saw every connection it accepted close (so it handled every
        message those connections carried: it reads a connection to its end)."""
        text = self.xvnc.log_path.read_text(errors="replace")
        accepted = set(re.findall(r"Connections: accepted: \S*::(\d+)", text))
        closed = set(re.findall(r"Connections: closed: \S*::(\d+)", text))
        return accepted <= closed

    def typing_session(self, proxy: Proxy, viewer_args: list[str], rounds: int = 3) -> tuple:
        """A viewer paints and types for a while; returns (desk, chars typed)."""
        desk = self.desk(proxy.port(), *viewer_args)
        typed = 0
        for _ in range(rounds):
            self.paint(desk)
            line = marker("typed")
            desk.type(line + "\n")
            self.typed.wait_for(line)
            typed += len(line) + 1
        return desk, typed

    # --- 1. tracking stays in sync -------------------------------------------

    def test_typing_and_screen_changes_across_a_pixel_format_switch_stay_in_sync(self):
        """TigerVNC starting at 8 colours (8bpp) switches to full colour
        (32bpp) after measuring the link, mid-session: the tracker must switch
        where the viewer does."""
        proxy = self.tracking_proxy(self.xvnc.target, {"track": True})
        desk, typed = self.typing_session(proxy, ["-FullColor=0", "-LowColorLevel=0"], rounds=4)
        desk.log.wait_for(r"full colou?r is now enabled")
        self.paint(desk)
        desk.move_mouse(700, 500)
        desk.stop()
        (disconnect,) = self.disconnects(1)
        self.assertEqual(disconnect["reason"], "client_closed")
        self.assert_followed(proxy, disconnect, min_updates=5)
        self.assertGreaterEqual(self.counter(disconnect, "key_events"), 2 * typed)
        self.assertGreaterEqual(self.counter(disconnect, "pointer_events"), 1)
        log = desk.log.text()
        self.assertRegex(log, r"Using pixel format depth 3 \(8bpp\)")
        self.assertRegex(log, r"Using pixel format depth 24 \(32bpp\)")

    def test_each_encoding_and_pixel_format_stays_in_sync(self):
        """`view_only: false` with `clipboard: log` also turns tracking on."""
        cases = [("Tight", "-FullColor=1"), ("ZRLE", "-LowColorLevel=1"),
                 ("Hextile", "-LowColorLevel=2"), ("Raw", "-FullColor=1"),
                 ("Tight", "-LowColorLevel=2")]
        proxy = self.tracking_proxy(self.xvnc.target, {"view_only": False, "clipboard": "log"})
        for index, (encoding, colour) in enumerate(cases):
            with self.subTest(encoding=encoding, colour=colour):
                args = ["-AutoSelect=0", f"-PreferredEncoding={encoding}", colour]
                if colour != "-FullColor=1":
                    args.append("-FullColor=0")
                desk, typed = self.typing_session(proxy, args, rounds=2)
                desk.stop()
                disconnect = self.disconnects(index + 1)[index]
                self.assert_followed(proxy, disconnect, min_updates=2)
                self.assertGreaterEqual(self.counter(disconnect, "key_events"), 2 * typed)
                depth = r"24 \(32bpp\)" if colour == "-FullColor=1" else r"\d \(8bpp\)"
                self.assertRegex(desk.log.text(), rf"Using pixel format depth {depth}")

    def test_net_vnc_session_is_followed(self):
        proxy = self.tracking_proxy(self.xvnc.target, {"track": True})
        result = run_perl_viewer(proxy.port(), "--until-idle", "300",
                                 "--run", f"DISPLAY={self.xvnc.display} xsetroot -solid red",
                                 "--run", f"DISPLAY={self.xvnc.display} xsetroot -solid blue",
                                 password=self.password)
        self.assertTrue(result.ok, result)
        (disconnect,) = self.disconnects(1)
        seen = result.int("updates") + result.int("run_1_updates") + result.int("run_2_updates")
        self.assert_followed(proxy, disconnect, min_updates=seen)
        self.assertEqual(self.counter(disconnect, "key_events"), 0)

    def test_without_a_rule_or_a_tracking_hook_tracking_is_off(self):
        proxy = self.tracking_proxy(self.xvnc.target, events=self.events(EVENT_KINDS))
        result = run_perl_viewer(proxy.port(), password=self.password)
        self.assertTrue(result.ok, result)
        (disconnect,) = self.disconnects(1)
        self.assertEqual(disconnect["tracking"], "off", repr(disconnect))
        self.assertEqual({f: disconnect[f] for f in COUNTERS}, {f: "" for f in COUNTERS})
        self.assertEqual(opaque_lines(proxy.log().text()), [])

    # --- 3, 4. view-only ----------------------------------------------------------

    def assert_view_only_drops_input(self, normal_port: int, view_only_port: int):
        """Through `normal_port` keys and the pointer reach the desktop (the
        positive control); through `view_only_port` they do not, while that
        viewer still gets updates. Returns the view-only session's disconnect."""
        x11(self.xvnc.display, "xdotool", "mousemove", "400", "300")
        control = self.desk(normal_port)
        control.move_mouse(623, 477)
        wait_until(lambda: pointer_location(self.xvnc.display) == (623, 477),
                   what="the normal viewer's pointer to move the desktop's")
        line = marker("control")
        control.type(line + "\n")
        self.typed.wait_for(line)
        control.stop()

        x11(self.xvnc.display, "xdotool", "mousemove", "400", "300")
        watcher = self.desk(view_only_port)
        self.paint(watcher)
        dropped = marker("viewonly")
        watcher.type(dropped + "\n")
        watcher.move_mouse(661, 377)
        self.paint(watcher)  # the screen still updates
        watcher.stop()
        (disconnect,) = self.disconnects(1, view_only_port)
        # Barrier: Xvnc read the view-only connection to its end, so any key
        # that got through has been typed; then a line typed on the desktop
        # itself arrives after it.
        wait_until(self.xvnc_connections_closed, what="Xvnc to see the sessions close")
        after = marker("after")
        self.typed.type_locally(after + "\n")
        self.typed.wait_for(after)
        self.assertNotIn(dropped, self.typed.text(), "a view-only viewer typed on the desktop")
        self.assertEqual(pointer_location(self.xvnc.display), (400, 300),
                         "a view-only viewer moved the desktop's pointer")
        self.assertGreaterEqual(self.counter(disconnect, "key_events"), 2 * (len(dropped) + 1))
        self.assertGreaterEqual(self.counter(disconnect, "pointer_events"), 1)
        return disconnect

    def test_view_only_drops_keys_and_pointer_but_the_screen_still_updates(self):
        proxy = self.tracking_proxy(self.xvnc.target, listeners=[
            {"listen": "127.0.0.1:0", "target": self.xvnc.target, "session": {"track": True}},
            {"listen": "127.0.0.1:0", "target": self.xvnc.target,
             "session": {"view_only": True, "track": True}}])
        disconnect = self.assert_view_only_drops_input(proxy.port(0), proxy.port(1))
        self.assert_followed(proxy, disconnect, min_updates=2)

    def test_gate_printing_view_only_makes_the_session_view_only(self):
        """An auth_success gate prints `{user}` as its first line: the
        listener's `user:` is `view_only` on one listener, `staff` on the
        other. No `session:` section and no tracking hook: the gate's answer
        alone turns tracking on."""
        gate = {"auth_success": [{"name": "view_gate", "cmd": "gate.py 0 {user}", "gate": True,
                                  "timeout": 5}]}
        proxy = self.tracking_proxy(self.xvnc.target, events=self.events(EVENT_KINDS, gate),
                                    listeners=[
            {"listen": "127.0.0.1:0", "target": self.xvnc.target, "user": "staff"},
            {"listen": "127.0.0.1:0", "target": self.xvnc.target, "user": "view_only"}])
        disconnect = self.assert_view_only_drops_input(proxy.port(0), proxy.port(1))
        self.assert_followed(proxy, disconnect, server_side=False)
        self.assertEqual(disconnect["user"], "view_only")

    # --- 5. clipboard -------------------------------------------------------------

    def server_clipboard(self, text: str) -> ClipboardOwner:
        return self.own_clipboard(self.xvnc.display, text)

    def viewer_clipboard(self, desk: TigerDesk, text: str) -> ClipboardOwner:
        return self.own_clipboard(desk.display, text)

    def own_clipboard(self, display: str, text: str) -> ClipboardOwner:
        owner = ClipboardOwner(display, text)
        self.owners.append(owner)
        return owner

    def stop_clipboards(self):
        """The server's clipboard is left to nobody again (the next session
        must not be offered this one's text)."""
        for owner in self.owners:
            owner.stop()
        self.owners = []

    def assert_arrives(self, display: str, text: str, what: str):
        wait_until(lambda: read_clipboard(display) == text, what=what)

    def assert_server_to_viewer_blocked(self, desk: TigerDesk, text: str):
        """Xvnc announces a new clipboard as soon as it owns it, before it
        draws what comes after: two screen changes seen by the viewer later,
        a clipboard that got through would have arrived."""
        self.server_clipboard(text)
        self.paint(desk)
        self.paint(desk)
        self.assertNotEqual(read_clipboard(desk.display, 1000), text,
                            "the server's clipboard reached the viewer")

    def assert_viewer_to_server_blocked(self, desk: TigerDesk, text: str):
        """The viewer tells the server about its clipboard before it handles
        keys typed later: once a typed line arrives, so would the clipboard."""
        self.viewer_clipboard(desk, text)
        line = marker("clipbarrier")
        desk.type(line + "\n")
        self.typed.wait_for(line)
        self.assertNotEqual(read_clipboard(self.xvnc.display, 1000), text,
                            "the viewer's clipboard reached the server")

    def test_clipboard_allowed_reaches_both_sides(self):
        """The positive control for the deny tests (same tools, same waits)."""
        proxy = self.tracking_proxy(self.xvnc.target, {"track": True})
        desk = self.desk(proxy.port())
        to_viewer, to_server = marker("srv-allow"), marker("vwr-allow")
        self.server_clipboard(to_viewer)
        self.assert_arrives(desk.display, to_viewer, "the server's clipboard at the viewer")
        self.viewer_clipboard(desk, to_server)
        self.assert_arrives(self.xvnc.display, to_server, "the viewer's clipboard at the server")
        desk.stop()
        (disconnect,) = self.disconnects(1)
        self.assert_followed(proxy, disconnect)
        self.assertGreaterEqual(self.counter(disconnect, "clipboard_out"), len(to_viewer))
        self.assertGreaterEqual(self.counter(disconnect, "clipboard_in"), len(to_server))
        self.assertEqual(self.records_of("clipboard"), [], "allow is not logged")

    def test_clipboard_denied_in_one_direction_passes_the_other(self):
        for session, blocked in [({"clipboard": {"server_to_viewer": "deny"}}, "server_to_viewer"),
                                 ({"clipboard": {"viewer_to_server": "deny",
                                                 "server_to_viewer": "allow"}},
                                  "viewer_to_server")]:
            with self.subTest(blocked=blocked):
                proxy = self.tracking_proxy(self.xvnc.target, session)
                desk = self.desk(proxy.port())
                if blocked == "server_to_viewer":
                    self.assert_server_to_viewer_blocked(desk, marker("srv-deny"))
                    allowed = marker("vwr-pass")
                    self.viewer_clipboard(desk, allowed)
                    self.assert_arrives(self.xvnc.display, allowed,
                                        "the viewer's clipboard at the server")
                else:
                    self.assert_viewer_to_server_blocked(desk, marker("vwr-deny"))
                    allowed = marker("srv-pass")
                    self.server_clipboard(allowed)
                    self.assert_arrives(desk.display, allowed,
                                        "the server's clipboard at the viewer")
                desk.stop()
                (disconnect,) = self.disconnects(1)
                self.assert_followed(proxy, disconnect,
                                     server_side=blocked == "server_to_viewer")
                proxy.stop()
                self.events_file.unlink()
                self.stop_clipboards()

    def test_clipboard_deny_blocks_both_directions(self):
        proxy = self.tracking_proxy(self.xvnc.target, {"clipboard": "deny"})
        desk = self.desk(proxy.port())
        self.assert_server_to_viewer_blocked(desk, marker("srv-deny"))
        self.assert_viewer_to_server_blocked(desk, marker("vwr-deny"))
        desk.stop()
        (disconnect,) = self.disconnects(1)
        self.assert_followed(proxy, disconnect)

    def test_clipboard_max_bytes_drops_longer_texts_both_ways(self):
        """Extended clipboard (TigerVNC on both ends): the text's size is inside
        the provide's zlib stream; one over max_bytes is dropped and the log
        says so with its size, one within it passes."""
        proxy = self.tracking_proxy(self.xvnc.target, {"clipboard": {"max_bytes": 40}})
        desk = self.desk(proxy.port())
        short, long_ = marker("srv-short"), marker("srv-long") + "-" + "x" * 40
        self.server_clipboard(short)
        self.assert_arrives(desk.display, short, "the short server clipboard at the viewer")
        self.server_clipboard(long_)
        proxy.log().wait_for(rf"clipboard server_to_viewer dropped \({len(long_)} bytes\): "
                             r"over max_bytes")
        self.assertNotEqual(read_clipboard(desk.display, 1000), long_)
        too_long = marker("vwr-long") + "-" + "y" * 40
        self.viewer_clipboard(desk, too_long)
        self.assertNotEqual(read_clipboard(self.xvnc.display, 1000), too_long)
        proxy.log().wait_for(rf"clipboard viewer_to_server dropped \({len(too_long)} bytes\): "
                             r"over max_bytes")
        fits = marker("vwr-short")
        self.viewer_clipboard(desk, fits)
        self.assert_arrives(self.xvnc.display, fits, "the short viewer clipboard at the server")
        desk.stop()
        (disconnect,) = self.disconnects(1)
        self.assert_followed(proxy, disconnect)
        self.assertGreaterEqual(self.counter(disconnect, "clipboard_out"), len(short))
        self.assertLess(self.counter(disconnect, "clipboard_out"), len(long_))
        self.assertGreaterEqual(self.counter(disconnect, "clipboard_in"), len(fits))
        self.assertLess(self.counter(disconnect, "clipboard_in"), len(too_long))

    def test_clipboard_log_passes_the_text_records_it_in_0600_files_never_in_the_log(self):
        clips = self.tmp / "clips"
        clips.mkdir()
        proxy = self.tracking_proxy(self.xvnc.target, {"clipboard": "log",
                                                       "clipboard_content": "file",
                                                       "clipboard_dir": str(clips)})
        desk = self.desk(proxy.port())
        to_viewer, to_server = marker("srv-log-secret"), marker("vwr-log-secret")
        self.server_clipboard(to_viewer)
        self.assert_arrives(desk.display, to_viewer, "the server's clipboard at the viewer")
        self.viewer_clipboard(desk, to_server)
        self.assert_arrives(self.xvnc.display, to_server, "the viewer's clipboard at the server")
        desk.stop()
        (disconnect,) = self.disconnects(1)
        self.assert_followed(proxy, disconnect)
        records = session_records(self.records_of("clipboard"), disconnect.session_id)
        sums = {"server_to_viewer": 0, "viewer_to_server": 0}
        for direction, text in [("server_to_viewer", to_viewer), ("viewer_to_server", to_server)]:
            mine = [r for r in records if r["direction"] == direction]
            self.assertGreaterEqual(len(mine), 1, f"no {direction} clipboard event: {records}")
            for record in mine:
                self.assertEqual(self.counter(record, "clipboard_bytes"), len(text), repr(record))
                path = Path(record["clipboard_path"])
                self.assertEqual(path.parent, clips, repr(record))
                self.assertRegex(path.name, rf"^{disconnect.session_id}-\d+-{direction}\.txt$")
                self.assertEqual(stat.S_IMODE(path.stat().st_mode), 0o600, str(path))
                self.assertEqual(path.read_bytes(), text.encode(), str(path))
                sums[direction] += len(text)
        self.assertEqual({r["direction"] for r in records}, set(sums), repr(records))
        self.assertEqual(self.counter(disconnect, "clipboard_out"), sums["server_to_viewer"])
        self.assertEqual(self.counter(disconnect, "clipboard_in"), sums["viewer_to_server"])
        proxy.stop()
        log = proxy.log().text() + proxy.stdout.text()
        for text in (to_viewer, to_server):
            self.assertNotIn(text, log, "clipboard text in the proxy's log")
            self.assertNotIn(text, self.events_file.read_text(), "clipboard text in an event")

    # --- 6, 7. idle and max_duration ---------------------------------------------

    def test_input_keeps_the_session_alive_then_idle_closes_it_after_a_warning(self):
        proxy = self.tracking_proxy(self.xvnc.target, {"input_idle_timeout": "3s",
                                                       "idle_warning": "1s"})
        desk = self.desk(proxy.port())
        started = time.time()
        keys = 0
        while True:
            desk.key("shift")
            keys += 1
            last_input = time.time()
            self.assertEqual(self.records_of("disconnect"), [], "closed while typing")
            self.assertEqual(self.records_of("idle_warning"), [], "warned while typing")
            if last_input - started >= 4.5:  # past the 3 s timeout
                break
            time.sleep(0.6)  # pacing the typist, not waiting for anything
        self.assertTrue(desk.alive())
        (disconnect,) = self.disconnects(1)
        self.assertEqual(disconnect["reason"], "idle")
        (warning,) = self.records_of("idle_warning")
        self.assertEqual(warning.session_id, disconnect.session_id)
        closed_after = parse_timestamp(disconnect["timestamp"]) - last_input
        warned_after = parse_timestamp(warning["timestamp"]) - last_input
        self.assertTrue(2.7 <= closed_after <= 4.5, f"closed {closed_after:.2f}s after the input")
        self.assertTrue(1.7 <= warned_after <= 3.5, f"warned {warned_after:.2f}s after the input")
        self.assertTrue(0.6 <= closed_after - warned_after <= 1.6,
                        f"warned {closed_after - warned_after:.2f}s before closing")
        self.assertEqual(warning["reason"], "closing in 1s without input")
        self.assertGreaterEqual(self.counter(disconnect, "key_events"), 2 * keys)
        wait_until(lambda: not desk.alive(), what="the viewer to see the connection close")
        self.assert_followed(proxy, disconnect, server_side=False)

    def test_max_duration_closes_the_session(self):
        proxy = self.tracking_proxy(self.xvnc.target, {"max_duration": "4s"})
        result = run_perl_viewer(proxy.port(), "--hold", "20", password=self.password)
        self.assertTrue(result.ok, result)
        self.assertEqual(result.values.get("eof"), "1", result)
        (disconnect,) = self.disconnects(1)
        self.assertEqual(disconnect["reason"], "max_duration")
        (connect,) = self.records_of("connect")
        lasted = parse_timestamp(disconnect["timestamp"]) - parse_timestamp(connect["timestamp"])
        self.assertTrue(3.8 <= lasted <= 5.5, f"closed after {lasted:.2f}s")
        self.assertLess(result.elapsed, 15, result)
        self.assertEqual(disconnect["tracking"], "off", "max_duration is a timer, no tracking")

    # --- 8, 9. resize, desktop_name, screen_change --------------------------------

    def test_resize_hook_alone_turns_tracking_on_and_reports_each_new_size(self):
        proxy = self.tracking_proxy(self.xvnc.target,
                                    events=self.events(["disconnect", "resize"]))
        self.addCleanup(x11, self.xvnc.display, "xrandr", "-s", "800x600", check=False)
        desk = self.desk(proxy.port())
        for width, height in [(1024, 768), (800, 600)]:
            x11(self.xvnc.display, "xrandr", "-s", f"{width}x{height}")
            self.wait_event("resize", where=lambda r, w=width, h=height:
                            (r["width"], r["height"]) == (str(w), str(h)))
            desk.log.wait_for(rf"Resizing framebuffer from \d+x\d+ to {width}x{height}")
        self.paint(desk)
        desk.stop()
        (disconnect,) = self.disconnects(1)
        self.assertEqual([(r["width"], r["height"]) for r in self.records_of("resize")],
                         [("1024", "768"), ("800", "600")])
        self.assertEqual((disconnect["width"], disconnect["height"]), ("800", "600"))
        self.assert_followed(proxy, disconnect)

    def test_desktop_name_hook_alone_turns_tracking_on_and_reports_the_new_name(self):
        proxy = self.tracking_proxy(self.xvnc.target,
                                    events=self.events(["disconnect", "desktop_name"]))
        self.addCleanup(x11, self.xvnc.display, "vncconfig", "-set", f"desktop={DESK}",
                        check=False)
        desk = self.desk(proxy.port())
        name = marker("renamed desk")
        x11(self.xvnc.display, "vncconfig", "-set", f"desktop={name}")
        (record,) = self.wait_event("desktop_name")
        self.assertEqual(record["desktop_name"], name)
        wait_until(lambda: x11(desk.display, "xdotool", "search", "--name",
                               re.escape(name), check=False).strip(),
                   what="the viewer's title to show the new name")
        desk.stop()
        (disconnect,) = self.disconnects(1)
        self.assertEqual([r["desktop_name"] for r in self.records_of("desktop_name")], [name])
        self.assertEqual(disconnect["desktop_name"], name)
        self.assert_followed(proxy, disconnect)

    def test_screen_change_fires_once_per_burst_after_a_quiet_period(self):
        quiet = 0.6
        proxy = self.tracking_proxy(self.xvnc.target, {"screen_change_quiet": "600ms"},
                                    events=self.events(["disconnect", "screen_change"]))
        desk = self.desk(proxy.port())
        time.sleep(2.5 * quiet)  # the first screen: never an event, however long it takes
        initial = len(self.records_of("screen_change"))
        self.assertEqual(initial, 0, "screen_change for the session's first update")
        for burst in (1, 2):
            for _ in range(4):  # each change shown by the viewer, all within `quiet`
                self.paint(desk)
            self.wait_event("screen_change", initial + burst, timeout=5)
            time.sleep(2.5 * quiet)  # and nothing more for a while
            self.assertEqual(len(self.records_of("screen_change")), initial + burst,
                             f"after burst {burst}")
        desk.stop()
        (disconnect,) = self.disconnects(1)
        self.assert_followed(proxy, disconnect, min_updates=8)


class TrackingBehindVeNCrypt(TrackingTest):
    """TigerVNC's defaults: Xvnc with only -rfbauth offers VeNCrypt and the
    viewer picks TLSVnc, which a `vencrypt: pass` listener cannot see into."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        tmp = tempfile.TemporaryDirectory(prefix="vhm-it-track-tls-")
        cls.addClassCleanup(tmp.cleanup)
        cls.password_file = password_file(Path(tmp.name), VNC_PASSWORD, "passwd")
        cls.server = XvncServer(Path(tmp.name), ["-rfbauth", str(cls.password_file)])
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def test_rules_that_need_the_stream_fail_closed_and_track_goes_on_untracked(self):
        target = self.server.target
        proxy = self.tracking_proxy(target, listeners=[
            {"listen": "127.0.0.1:0", "target": target, "session": {"track": True}},
            {"listen": "127.0.0.1:0", "target": target, "session": {"view_only": True}}])
        desk = self.desk(proxy.port(0))
        desk.log.wait_for(r"Choosing security type TLSVnc")
        set_root_colour(f":{self.server.port - 5900}", "#00ff00")
        desk.wait_showing("#00ff00")
        desk.stop()
        (untracked,) = self.disconnects(1, proxy.port(0))
        self.assertEqual(untracked["reason"], "client_closed")
        self.assertRegex(untracked["tracking"], r"^opaque: .*VeNCrypt")
        self.assertEqual({f: untracked[f] for f in COUNTERS}, {f: "" for f in COUNTERS})

        refused = TigerDesk(self.tmp, proxy.port(1), ["-passwd", str(self.password_file)])
        self.addCleanup(refused.stop)
        (closed,) = self.disconnects(1, proxy.port(1))
        self.assertEqual(closed["reason"], "protocol_error", "a view-only rule was skipped")
        self.assertRegex(closed["tracking"], r"^opaque: .*VeNCrypt")
        wait_until(lambda: not refused.alive(), what="the view-only viewer to be closed")


class ViewerRunningAhead(TrackingTest):
    """The rules start at ServerInit: a viewer of a view-only session that
    sends messages after ClientInit before ServerInit came has that chunk
    held back and the session closed; without viewer rules the same bytes
    are relayed."""

    def run_ahead(self, port: int) -> bytes:
        """RFB 3.8, security None, then ClientInit and a KeyEvent in one
        write; returns what came back until the proxy closed or 5 s passed."""
        sock = self.client(port)
        self.assertTrue(recv_exact(sock, 12).startswith(b"RFB "))
        sock.sendall(b"RFB 003.008\n")
        self.assertIn(1, recv_exact(sock, recv_exact(sock, 1)[0]))
        sock.sendall(b"\x01")
        self.assertEqual(recv_exact(sock, 4), b"\x00\x00\x00\x00")
        sock.sendall(b"\x01" + struct.pack(">BBxxI", 4, 1, 0x61))  # ClientInit, KeyEvent 'a' down
        sock.settimeout(5)
        received = b""
        try:
            while len(received) < 24:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                received += chunk
        except OSError:
            pass
        return received

    def test_a_view_only_viewer_running_ahead_of_server_init_is_closed(self):
        xvnc = self.start_xvnc(security="None")
        proxy = self.tracking_proxy(xvnc.target, listeners=[
            {"listen": "127.0.0.1:0", "target": xvnc.target, "session": {"view_only": True}},
            {"listen": "127.0.0.1:0", "target": xvnc.target, "session": {"track": True}}])
        # Control: no viewer rule, the same bytes go on and ServerInit comes.
        self.assertGreaterEqual(len(self.run_ahead(proxy.port(1))), 24)
        self.run_ahead(proxy.port(0))
        (closed,) = self.disconnects(1, proxy.port(0))
        self.assertEqual(closed["reason"], "protocol_error", repr(closed))
        proxy.log().wait_for(r"after ClientInit before ServerInit")


# --------------------------------------------------------------------------
# x11vnc and QEMU
# --------------------------------------------------------------------------

class TrackingWithX11vnc(TrackingTest):
    """x11vnc serving an Xvfb with an xterm whose typed lines land in a file."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        tmp = tempfile.TemporaryDirectory(prefix="vhm-it-track-x11vnc-")
        cls.addClassCleanup(tmp.cleanup)
        cls.server = X11vnc(Path(tmp.name))
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()
        cls.typed = TypedFile(cls.server.display, Path(tmp.name) / "typed.txt")
        cls.addClassCleanup(cls.typed.stop)

    def setUp(self):
        super().setUp()
        if self.server.proc is None or self.server.proc.poll() is not None:
            self.fail("shared x11vnc is not running")
        self.typed.focus()
        self.addCleanup(self.dump_server_log_on_failure, text=self.server.log.text)

    def test_tiger_viewer_typing_and_screen_changes_stay_in_sync(self):
        cases = [["-FullColor=0", "-LowColorLevel=0"],  # switches to 32bpp mid-session
                 ["-AutoSelect=0", "-PreferredEncoding=ZRLE", "-FullColor=0", "-LowColorLevel=2"],
                 ["-AutoSelect=0", "-PreferredEncoding=Hextile"]]
        proxy = self.tracking_proxy(self.server.target, {"track": True})
        for index, args in enumerate(cases):
            with self.subTest(args=" ".join(args)):
                desk = self.desk(proxy.port(), *args)
                typed = 0
                for colour in ("#ff0000", "#0000ff"):
                    set_root_colour(self.server.display, colour)
                    desk.wait_showing(colour)
                    line = marker("x11vnc")
                    desk.type(line + "\n")
                    self.typed.wait_for(line)
                    typed += len(line) + 1
                if "-AutoSelect=0" not in args:
                    desk.log.wait_for(r"full colou?r is now enabled")
                desk.stop()
                disconnect = self.disconnects(index + 1)[index]
                self.assert_followed(proxy, disconnect, min_updates=2)
                self.assertGreaterEqual(self.counter(disconnect, "key_events"), 2 * typed)

    def test_classic_cut_text_deny_logs_the_drop_and_log_keeps_latin1_as_utf8(self):
        """A raw viewer (security None) sends a classic ClientCutText, Latin-1
        with an e-acute: `deny` drops it and the log says so with its size
        (never the text); `log` passes it, the event counts its bytes as sent
        and its 0600 file holds the text in UTF-8."""
        clips = self.tmp / "clips"
        proxy = self.tracking_proxy(self.server.target, listeners=[
            {"listen": "127.0.0.1:0", "target": self.server.target,
             "session": {"clipboard": "deny"}},
            {"listen": "127.0.0.1:0", "target": self.server.target,
             "session": {"clipboard": "log", "clipboard_content": "file",
                         "clipboard_dir": str(clips)}}])
        text = marker("plain-cut") + "-caf\u00e9"
        data = text.encode("latin-1")

        def send_cut_text(port: int):
            sock = self.client(port)
            client_handshake_none(sock)
            sock.sendall(struct.pack(">B3xI", 6, len(data)) + data)
            return sock
        denied = send_cut_text(proxy.port(0))
        proxy.log().wait_for(rf"clipboard viewer_to_server dropped \({len(data)} bytes\): denied")
        logged = send_cut_text(proxy.port(1))
        (event,) = self.wait_event("clipboard",
                                   where=lambda r: r["direction"] == "viewer_to_server")
        denied.close()
        logged.close()
        self.assertEqual(self.counter(event, "clipboard_bytes"), len(data))
        path = Path(event["clipboard_path"])
        self.assertEqual(stat.S_IMODE(path.stat().st_mode), 0o600, str(path))
        self.assertEqual(path.read_bytes(), text.encode("utf-8"))
        (deny_end,) = self.disconnects(1, proxy.port(0))
        (log_end,) = self.disconnects(1, proxy.port(1))
        self.assertEqual(self.counter(deny_end, "clipboard_in"), 0)
        self.assertEqual(self.counter(log_end, "clipboard_in"), len(data))
        for end in (deny_end, log_end):
            self.assert_followed(proxy, end, min_updates=0)
        proxy.stop()
        self.assertNotIn(text[:-5], proxy.log().text(), "clipboard text in the proxy's log")

    def test_raw_viewer_switching_pixel_formats_between_updates_stays_in_sync(self):
        """Raw pixels in the server's own format (x11vnc on a 24-bit Xvfb:
        32bpp; on a 16-bit one: RGB565), then the other of the two, then
        RGB332: the tracker must frame each update by ServerInit's format
        until the viewer asks for another, then by that one; it counts
        exactly the updates the viewer read."""
        rgb565 = RawViewer.pixel_format(16, 16, (31, 11), (63, 5), (31, 0))
        rgb888 = RawViewer.pixel_format(32, 24, (255, 16), (255, 8), (255, 0))
        rgb332 = RawViewer.pixel_format(8, 8, (7, 5), (7, 2), (3, 0))
        shallow = X11vnc(self.tmp, depth=16)
        self.addCleanup(shallow.stop)
        shallow.start()
        for server, own, other in [(self.server, 4, rgb565), (shallow, 2, rgb888)]:
            with self.subTest(server_bytes_per_pixel=own):
                self.events_file.unlink(missing_ok=True)
                proxy = self.tracking_proxy(server.target, {"track": True})
                viewer = RawViewer(self.client(proxy.port()))
                self.assertEqual(viewer.bytes_per_pixel, own, "the Xvfb's depth")
                viewer.set_encodings(0)
                for index, pixel_format in enumerate([None, other, rgb332]):
                    if pixel_format is not None:
                        viewer.set_pixel_format(pixel_format)
                    set_root_colour(server.display, COLOURS[index])
                    viewer.request_update(incremental=False)
                    rects = viewer.read_update()
                    self.assertEqual(sum(w * h for _, _, w, h in rects), 800 * 600, rects)
                viewer.sock.close()
                (disconnect,) = self.disconnects(1)
                self.assertEqual(self.counter(disconnect, "updates"), viewer.updates)
                self.assert_followed(proxy, disconnect, min_updates=3)
                proxy.stop()

    def test_unusual_pixel_formats_with_every_encoding_stay_in_sync(self):
        """Formats TigerVNC's viewer never asks for (colour in the top bytes,
        BGR, big-endian, depth 32, RGB555), each for one session that goes
        through every encoding x11vnc has (SetEncodings again before each
        request) while the screen changes: the tracker follows them all."""
        formats = {
            "rgb888 in the top bytes": RawViewer.pixel_format(32, 24, (255, 24), (255, 16),
                                                               (255, 8)),
            "bgr888": RawViewer.pixel_format(32, 24, (255, 0), (255, 8), (255, 16)),
            "rgb888 big-endian": (lambda f: f[:2] + b"\x01" + f[3:])(
                RawViewer.pixel_format(32, 24, (255, 16), (255, 8), (255, 0))),
            "depth 32": RawViewer.pixel_format(32, 32, (255, 16), (255, 8), (255, 0)),
            "rgb555": RawViewer.pixel_format(16, 15, (31, 10), (31, 5), (31, 0)),
        }
        tight = [7, -32 + 6, -256 + 2]  # Tight, JPEG quality 6, compression level 2
        encodings = [tight, [7, -256 + 9], [16], [17, 16], [5], [2], [4], [6], [1, 0], [0],
                     [16, -239, -240, -314, -223, -308, -307]]  # ZRLE + cursor, size, name
        bitmap = random_xbm(self.tmp / "noise.xbm", seed=11)
        screen_changes = [
            lambda: set_root_colour(self.server.display, "#336699"),
            lambda: x11(self.server.display, "xsetroot", "-bitmap", str(bitmap),
                        "-fg", "red", "-bg", "#102030"),
            lambda: self.typed.type_locally(marker("drain") + "\n")]
        proxy = self.tracking_proxy(self.server.target, {"track": True})
        for index, (name, pixel_format) in enumerate(formats.items()):
            with self.subTest(pixel_format=name):
                viewer = DrainingViewer(self.client(proxy.port()))
                viewer.set_pixel_format(pixel_format)
                for step, encoding_list in enumerate(encodings):
                    viewer.set_encodings(*encoding_list)
                    viewer.request_and_wait(screen_changes[step % len(screen_changes)])
                viewer.wait_quiet()
                viewer.close()
                disconnect = self.disconnects(index + 1)[index]
                # x11vnc may answer requests that queued up with one update.
                self.assert_followed(proxy, disconnect, min_updates=len(encodings) // 2)

    def test_net_vnc_session_is_followed(self):
        proxy = self.tracking_proxy(self.server.target, {"track": True})
        display = self.server.display
        result = run_perl_viewer(proxy.port(), "--until-idle", "300",
                                 "--run", f"DISPLAY={display} xsetroot -solid red",
                                 "--run", f"DISPLAY={display} xsetroot -solid green")
        self.assertTrue(result.ok, result)
        (disconnect,) = self.disconnects(1)
        self.assert_followed(proxy, disconnect, min_updates=result.int("updates"))


class TrackingWithQemu(TrackingTest):
    """QEMU's own VNC server (its encoders, its pixel format conversion, its
    LED state and extended key events) showing SeaBIOS."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        tmp = tempfile.TemporaryDirectory(prefix="vhm-it-track-qemu-")
        cls.addClassCleanup(tmp.cleanup)
        cls.server = QemuVnc(Path(tmp.name))
        cls.addClassCleanup(cls.server.stop)
        cls.server.start()

    def setUp(self):
        super().setUp()
        if self.server.proc is None or self.server.proc.poll() is not None:
            self.fail("shared QEMU is not running")
        self.addCleanup(self.dump_server_log_on_failure, self.server.log_path)

    def test_tiger_viewer_session_is_followed(self):
        cases = [["-FullColor=0", "-LowColorLevel=0"],
                 ["-AutoSelect=0", "-PreferredEncoding=ZRLE", "-FullColor=0", "-LowColorLevel=1"],
                 ["-AutoSelect=0", "-PreferredEncoding=Hextile"]]
        proxy = self.tracking_proxy(self.server.target, {"track": True})
        for index, args in enumerate(cases):
            with self.subTest(args=" ".join(args)):
                desk = self.desk(proxy.port(), *args)
                desk.type("vhm 1\n")
                desk.move_mouse(100, 100)
                if "-AutoSelect=0" not in args:
                    desk.log.wait_for(r"full colou?r is now enabled")
                desk.stop()
                disconnect = self.disconnects(index + 1)[index]
                self.assert_followed(proxy, disconnect)
                self.assertGreaterEqual(self.counter(disconnect, "key_events"), 12)
                self.assertEqual(disconnect["desktop_name"], self.server.desktop)

    def test_net_vnc_session_is_followed(self):
        proxy = self.tracking_proxy(self.server.target, {"track": True})
        result = run_perl_viewer(proxy.port(), "--hold", "1")
        self.assertTrue(result.ok, result)
        self.assertEqual(result.values.get("captured"), "720x400", result)
        (disconnect,) = self.disconnects(1)
        self.assert_followed(proxy, disconnect)


if __name__ == "__main__":
    unittest.main()
