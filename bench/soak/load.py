"""The load of the soak (bench/soak/soak.py), one method per kind of
client: the bench's rfb-load-client (handshake bursts, stalled viewers,
streaming), the asyncio viewers of rfb_viewer.py (right and wrong passwords,
long sessions, scanners), Debian's Net::VNC viewer, and the operator's side
(`ctl kill`, SIGHUP reloads). A mixin of the Soak class, whose state
(ports, counters, the stop event) it uses.
"""
from __future__ import annotations

import asyncio
import json
import random
import signal
import time
from pathlib import Path

from rfb_viewer import AuthFailed, Connection, Refused, RfbError

REPO = Path(__file__).resolve().parent.parent.parent
PERL_VIEWER = REPO / "tests" / "integration" / "vnc_viewer.pl"  # Debian's Net::VNC, as the tests use it
PASSWORD = "soak-pw1"  # VncAuth uses 8 bytes
BANNED_TEXT = "Too many authentication failures"


class Load:
    """The activities; each runs once per call, Soak.every() repeats them."""

    # --- load: the C++ load client ---------------------------------------------
    async def load_client(self, name: str, args: list[str], limit: float) -> tuple[int | None, list[dict], bool]:
        """Runs rfb-load-client; SIGTERM when the soak stops (it then reports
        and exits). Returns (status, JSON lines, stopped early)."""
        err = open(self.work / "load-client.err", "ab")
        proc = await self.procs.spawn(name, [str(self.client_bin), *args],
                                      stdout=asyncio.subprocess.PIPE, stderr=err)
        err.close()
        lines: list[dict] = []

        async def read_lines():
            async for raw in proc.stdout:
                try:
                    lines.append(json.loads(raw))
                except ValueError:
                    pass
        reader = asyncio.create_task(read_lines())
        exited = asyncio.create_task(proc.wait())
        stopping = asyncio.create_task(self.stop.wait())
        done, _ = await asyncio.wait({exited, stopping}, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
        stopped = exited not in done
        if stopped:
            if stopping not in done:
                self.error(name, f"did not finish within {limit:.0f}s")
            await self.procs.stop(proc, grace=10)
        stopping.cancel()
        exited.cancel()
        try:
            await asyncio.wait_for(reader, 5)
        except TimeoutError:
            reader.cancel()
        self.procs.forget(proc)
        return proc.returncode, lines, stopped

    async def burst(self):
        """Handshake burst: N sessions up at once, held idle for 4 s, closed."""
        n = self.args.burst
        code, lines, stopped = await self.load_client("burst", [
            "--connect", f"127.0.0.1:{self.stream_listen}", "--mode", "idle", "--sessions", str(n),
            "--hold", "4", "--handshake-timeout", "20"], limit=60)
        last = lines[-1] if lines else {}
        self.n["burst_runs"] += 1
        self.n["burst_handshakes"] += int(last.get("connected", 0))
        if not stopped and (code != 0 or not last.get("ok")):
            self.error("burst", f"exit {code}: {json.dumps(last)[:300]}")

    async def stalled(self):
        """Stalled viewers: ask for updates, never read, for 20 s."""
        n = self.args.stalled
        code, lines, stopped = await self.load_client("stalled", [
            "--connect", f"127.0.0.1:{self.stalled_listen}", "--mode", "stalled", "--sessions", str(n),
            "--rcvbuf", "65536", "--hold", "20", "--handshake-timeout", "20"], limit=80)
        last = lines[-1] if lines else {}
        self.n["stalled_runs"] += 1
        self.n["stalled_handshakes"] += int(last.get("connected", 0))
        if not stopped and (code != 0 or not last.get("ok")):
            self.error("stalled", f"exit {code}: {json.dumps(last)[:300]}")

    async def throughput(self):
        """Streaming: 2 viewers read raw updates as fast as they can for 2 s."""
        code, lines, stopped = await self.load_client("throughput", [
            "--connect", f"127.0.0.1:{self.stream_listen}", "--mode", "throughput", "--sessions", "2",
            "--seconds", "2", "--handshake-timeout", "20"], limit=60)
        last = lines[-1] if lines else {}
        if stopped:
            return
        self.n["throughput_runs"] += 1
        self.n["throughput_handshakes"] += int(last.get("connected", 0))
        if code != 0 or not last.get("ok"):
            self.error("throughput", f"exit {code}: {json.dumps(last)[:300]}")
        else:
            self.n["throughput_bytes"] += int(last.get("bytes", 0))

    # --- load: Python viewers ------------------------------------------------------
    async def login(self):
        """A right password to Xvnc, one full-screen update, close. Every 4th
        login stays as a "holder" (a long real session, a `ctl kill` target)."""
        self.login_calls += 1
        if self.login_calls % 4 == 0 and self.holders < 3:
            self.holders += 1
            task = asyncio.create_task(self.holder())
            self.background.add(task)
            task.add_done_callback(self.background.discard)
            return
        conn = await Connection.open(self.xvnc_listen)
        try:
            async with asyncio.timeout(15):
                init = await conn.login(PASSWORD)
                await conn.request_update(init, incremental=False)
                self.n["login_update_bytes"] += await conn.read_update(init)
            self.n["logins"] += 1
        finally:
            conn.close()

    async def holder(self):
        try:
            conn = await Connection.open(self.xvnc_listen)
        except OSError as e:
            self.holders -= 1
            self.error("holder", repr(e))
            return
        self.holder_ports.add(conn.local_port)
        try:
            async with asyncio.timeout(15):
                init = await conn.login(PASSWORD)
                await conn.request_update(init, incremental=False)
                await conn.read_update(init)
            self.n["holders"] += 1
            until = time.monotonic() + random.uniform(15, 25)
            while time.monotonic() < until and not self.stop.is_set():
                await conn.request_update(init, incremental=True)
                if await conn.wait_closed_by_peer(2):
                    if conn.local_port in self.killed_ports:
                        self.n["holders_killed_seen"] += 1
                    else:
                        self.error("holder", "session closed by the path (not killed)")
                    return
        except (OSError, RfbError, TimeoutError, asyncio.IncompleteReadError) as e:
            if conn.local_port in self.killed_ports:
                self.n["holders_killed_seen"] += 1
            elif not self.stop.is_set():
                self.error("holder", repr(e))
        finally:
            self.n["holder_bytes"] += conn.bytes_read
            conn.close()
            self.holder_ports.discard(conn.local_port)
            self.holders -= 1

    async def attacker(self, source: str):
        """Wrong passwords from one address until banned; refused while banned."""
        conn = await Connection.open(self.xvnc_listen, source=source)
        self.n["attempts"] += 1
        try:
            async with asyncio.timeout(15):
                await conn.login(PASSWORD, wrong=True)
            self.error("attacker", f"{source}: a wrong password was accepted")
        except Refused as r:
            if BANNED_TEXT in r.reason:
                self.n["banned_refusals_seen"] += 1
            else:
                self.error("attacker", f"{source}: refused with {r.reason!r}")
        except AuthFailed:
            self.n["auth_failures_seen"] += 1
        finally:
            conn.close()

    async def scanner(self):
        """Rotates: connect and close at once; garbage instead of a version;
        stall after the greeting until the handshake timeout closes it."""
        kind = ["close", "garbage", "stall"][self.scans % 3]
        self.scans += 1
        conn = await Connection.open(self.xvnc_listen)
        try:
            if kind == "close":
                self.n["scanner_close"] += 1
                return
            greeting = await asyncio.wait_for(conn.read(12), 10)
            if not greeting.startswith(b"RFB "):
                raise RfbError(f"greeting {greeting!r}")
            if kind == "garbage":
                await conn.write(b"GET / HTTP/1.1\r\nHost: soak\r\n\r\n")
                if not await conn.wait_closed_by_peer(15):
                    raise RfbError("a viewer that sent HTTP was not closed within 15 s")
                self.n["scanner_garbage"] += 1
            else:
                started = time.monotonic()
                if not await conn.wait_closed_by_peer(20):
                    raise RfbError("a viewer stalled in the handshake was not closed within 20 s")
                self.stall_seconds.append(round(time.monotonic() - started, 2))
                self.n["scanner_stall"] += 1
        finally:
            conn.close()

    async def perl_viewer(self):
        """Debian's Net::VNC (a third-party viewer): log in, capture the screen."""
        proc = await self.procs.spawn("vnc_viewer.pl", [
            "perl", str(PERL_VIEWER), "--port", str(self.xvnc_listen), "--password", PASSWORD,
            "--timeout", "20"], stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), 30)
        except TimeoutError:
            await self.procs.stop(proc)
            raise RfbError("Net::VNC viewer did not finish within 30 s")
        self.procs.forget(proc)
        text = out.decode("utf-8", errors="replace")
        if proc.returncode == 0 and "result=ok" in text:
            self.n["perl_viewers"] += 1
        else:
            self.error("perl_viewer", text.strip().splitlines()[-1] if text.strip() else f"exit {proc.returncode}")

    # --- operator actions: ctl kill and SIGHUP -----------------------------------
    async def kill_one(self):
        rows = await self.ctl_rows("sessions")
        if rows is None:
            return
        stalled, holders = [], []
        for row in rows:
            if row.get("state") != "relaying" or int(row.get("age_seconds", 0)) < 2:
                continue
            if row.get("listen", "").endswith(f":{self.stalled_listen}"):
                stalled.append(row)
            elif row.get("client_ip") == "127.0.0.1" and row.get("client_port", "").isdigit() \
                    and int(row["client_port"]) in self.holder_ports:
                holders.append(row)
        order = [holders, stalled] if self.n["kills_requested"] % 2 == 0 else [stalled, holders]
        candidates = order[0] or order[1]
        if not candidates:
            self.n["kills_no_candidate"] += 1
            return
        row = random.choice(candidates)
        port = int(row["client_port"])
        is_holder = row in holders
        if is_holder:
            self.killed_ports.add(port)
        self.n["kills_requested"] += 1
        code, out = await self.ctl("kill", row["session_id"])
        if code == 0:
            self.n["kills_ok"] += 1
            self.killed_ids.append(row["session_id"])
        else:
            self.n["kills_missed"] += 1  # it ended by itself meanwhile
            self.killed_ports.discard(port)

    async def reload(self):
        variant = "b" if self.variant == "a" else "a"
        self.write_config(variant)
        done0, failed0 = self.logwatch.count("reload_done"), self.logwatch.count("reload_failed")
        self.proxy.send_signal(signal.SIGHUP)
        self.n["reloads_sent"] += 1
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            if self.logwatch.count("reload_failed") > failed0:
                self.n["reloads_failed"] += 1
                self.error("reload", self.logwatch.last.get("reload_failed", "reload failed"))
                return
            if self.logwatch.count("reload_done") > done0:
                break
        else:
            self.n["reloads_failed"] += 1
            self.error("reload", "no 'reload done' line within 10 s of SIGHUP")
            return
        self.n["reloads_done"] += 1
        self.variant = variant
        self.reload_log.append({"t": round(self.elapsed(), 1), "variant": variant,
                                "line": self.logwatch.last.get("reload_done", "")[-200:]})
        # The reload took effect: the spare listener exists only in variant b.
        if variant == "b":
            await self.handshake_none(self.spare_listen, "spare listener after reload")
            self.n["spare_handshakes"] += 1
        else:
            try:
                conn = await Connection.open(self.spare_listen, timeout=5)
            except ConnectionRefusedError:
                self.n["spare_refused"] += 1
            else:
                conn.close()
                self.error("reload", "the spare listener still accepts after a reload that removed it")

