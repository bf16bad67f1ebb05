#!/usr/bin/env python3
"""The engine of bench/soak.sh: a bounded, mixed load through vnc-hooks-manager
for a fixed time, with the proxy's resources sampled throughout.

bench/soak.sh parses the options, makes the work directory and cleans up; this
program starts everything on 127.0.0.1 (a TigerVNC Xvnc with a VNC password,
the bench's rfb-stream-server, the proxy with a generated config), runs the
load, drains, stops the proxy gracefully and hands over to report.py, which
checks the figures and prints the summary. Exit status: 0 pass, 1 fail.

Every process it starts runs in its own session (so a Ctrl-C in the terminal
reaches only this program, which then stops them) and is listed with its pid
in WORKDIR/pids, which soak.sh uses as a safety net if this program dies.
The load's activities are in load.py, process and /proc plumbing in
processes.py, the RFB viewer in rfb_viewer.py. Python standard library only.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import report  # noqa: E402
from load import PASSWORD, PERL_VIEWER, Load  # noqa: E402
from processes import (Fatal, LogWatcher, Processes, cpu_seconds, descendants, free_port,  # noqa: E402
                       log, pss_anon_kib, read_status)
from rfb_viewer import Connection, RfbError  # noqa: E402

HOOK_SCRIPT = """#!/bin/sh
# soak hook: note that it ran for this event and session, then linger a little
# so that hook processes are there to be counted.
printf '%s %s\\n' "$1" "$2" >>"$3"
exec sleep 0.2
"""


# ---------------------------------------------------------------------------
# The soak: setup, sampling, the run (the load itself is in load.py)
# ---------------------------------------------------------------------------

class Soak(Load):
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.work = Path(args.workdir)
        self.procs = Processes(self.work / "pids")
        self.build = Path(args.build_dir)
        self.proxy_bin = self.build / "app" / "vnc-hooks-manager"
        self.server_bin = self.build / "bench" / "rfb-stream-server"
        self.client_bin = self.build / "bench" / "rfb-load-client"
        self.config_path = self.work / "config.yaml"
        self.events_path = self.work / "events.jsonl"
        self.hook_runs_path = self.work / "hook-runs.txt"
        self.proxy_log = self.work / "proxy.log"
        self.control_socket = self.work / "control.sock"
        self.samples_path = self.work / "samples.csv"
        self.ports: set[int] = set()
        self.stop = asyncio.Event()
        self.fatal: str | None = None
        self.t0 = 0.0
        self.proxy: asyncio.subprocess.Process | None = None
        self.xvnc: asyncio.subprocess.Process | None = None
        self.server: asyncio.subprocess.Process | None = None
        self.server_lines: list[dict] = []
        self.variant = "a"
        self.holder_ports: set[int] = set()
        self.holders = 0
        self.killed_ports: set[int] = set()
        self.killed_ids: list[str] = []
        self.reload_log: list[dict] = []
        self.errors: list[dict] = []
        self.samples: list[dict] = []
        self.baseline: dict | None = None
        self.n: dict[str, int] = {k: 0 for k in [
            "burst_runs", "burst_handshakes", "stalled_runs", "stalled_handshakes",
            "throughput_runs", "throughput_handshakes", "throughput_bytes",
            "logins", "login_update_bytes", "holders", "holder_bytes", "holders_killed_seen",
            "attempts", "auth_failures_seen", "banned_refusals_seen",
            "scanner_close", "scanner_garbage", "scanner_stall", "perl_viewers",
            "kills_requested", "kills_ok", "kills_missed", "kills_no_candidate",
            "reloads_sent", "reloads_done", "reloads_failed", "spare_handshakes", "spare_refused",
            "ctl_failures", "errors"]}
        self.stall_seconds: list[float] = []
        self.logwatch = LogWatcher(self.proxy_log)
        self.background: set[asyncio.Task] = set()
        self.login_calls = 0
        self.scans = 0
        self.tasks: list[asyncio.Task] = []
        self.interrupted = False

    # --- bookkeeping ---------------------------------------------------------
    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def error(self, activity: str, message: str):
        self.n["errors"] += 1
        if len(self.errors) < 200:
            self.errors.append({"t": round(self.elapsed(), 1), "activity": activity, "message": message})
        if self.n["errors"] <= 10:
            log(f"!! {activity}: {message}")

    # --- setup ---------------------------------------------------------------
    async def start_xvnc(self):
        passwd = self.work / "xvnc-passwd"
        data = subprocess.run(["vncpasswd", "-f"], input=PASSWORD.encode() + b"\n",
                              capture_output=True, check=True, timeout=10).stdout
        passwd.write_bytes(data)
        passwd.chmod(0o600)
        numbers = list(range(20, 100))
        random.shuffle(numbers)
        for number in numbers[:10]:
            port = 5900 + number
            if (os.path.exists(f"/tmp/.X{number}-lock") or os.path.exists(f"/tmp/.X11-unix/X{number}")
                    or port in self.ports):
                continue
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    continue
            out = open(self.work / "xvnc.log", "ab")
            # -BlacklistThreshold: every failure reaches Xvnc from the proxy's
            # own address, so Xvnc's blacklist would otherwise lock everyone out.
            self.xvnc = await self.procs.spawn("Xvnc", [
                "Xvnc", f":{number}", "-rfbport", str(port), "-interface", "127.0.0.1",
                "-nolisten", "tcp", "-geometry", "320x240", "-depth", "24",
                "-desktop", "vhm-soak", "-SecurityTypes", "VncAuth", "-rfbauth", str(passwd),
                "-BlacklistThreshold", "1000000", "-BlacklistTimeout", "1", "-AlwaysShared"],
                stdout=out, stderr=subprocess.STDOUT)
            out.close()
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and self.xvnc.returncode is None:
                try:
                    conn = await Connection.open(port, timeout=2)
                    try:
                        greeting = await asyncio.wait_for(conn.read(12), 2)
                    finally:
                        conn.close()
                    if greeting.startswith(b"RFB "):
                        self.xvnc_port = port
                        self.ports.add(port)
                        log(f"Xvnc :{number} on 127.0.0.1:{port} (VncAuth)")
                        return
                except (OSError, TimeoutError, asyncio.IncompleteReadError):
                    await asyncio.sleep(0.1)
            await self.procs.stop(self.xvnc)
        raise Fatal("could not start Xvnc on a free display; see xvnc.log")

    async def start_stream_server(self):
        err = open(self.work / "stream-server.err", "ab")
        self.server = await self.procs.spawn("rfb-stream-server", [
            str(self.server_bin), "--listen", "127.0.0.1:0", "--sndbuf", "262144"],
            stdout=asyncio.subprocess.PIPE, stderr=err)
        err.close()
        line = await asyncio.wait_for(self.server.stdout.readline(), 10)
        ready = json.loads(line)
        self.stream_port = int(ready["port"])
        self.ports.add(self.stream_port)

        async def keep_reading():
            async for raw in self.server.stdout:
                try:
                    self.server_lines.append(json.loads(raw))
                except ValueError:
                    pass
        self.server_reader = asyncio.create_task(keep_reading())
        log(f"rfb-stream-server on 127.0.0.1:{self.stream_port}")

    def config_text(self, variant: str) -> str:
        """Variant a is the start; b (every other reload) changes harmless
        things: fewer concurrent hooks, a longer handshake timeout on the Xvnc
        listener, and one more listener (opened and closed by the reloads)."""
        q = json.dumps
        b = variant == "b"
        hook = f"soak-hook.sh {{event}} {{session_id}} {self.hook_runs_path}"
        lines = [
            "# generated by bench/soak/soak.py, variant " + variant,
            "global:",
            f"  hooks_dir: {q(str(self.work / 'hooks'))}",
            f"  log_file: {q(str(self.proxy_log))}",
            "  log_level: info",
            f"  max_concurrent_hooks: {8 if b else 10}",
            "  kill_grace: 2s",
            "  shutdown_grace: 5s",
            "listeners:",
            f"  - listen: \"127.0.0.1:{self.xvnc_listen}\"",
            f"    target: \"127.0.0.1:{self.xvnc_port}\"",
            f"    handshake_timeout: {'6s' if b else '5s'}",
            f"  - listen: \"127.0.0.1:{self.stream_listen}\"",
            f"    target: \"127.0.0.1:{self.stream_port}\"",
            f"  - listen: \"127.0.0.1:{self.stalled_listen}\"",
            f"    target: \"127.0.0.1:{self.stream_port}\"",
        ]
        if b:
            lines += [f"  - listen: \"127.0.0.1:{self.spare_listen}\"",
                      f"    target: \"127.0.0.1:{self.stream_port}\""]
        lines += [
            "blocking:",
            "  max_failures: 3",
            "  window: 1m",
            f"  ban: {self.args.ban}s",
            f"  max_ban: {self.args.max_ban}s",
            "  allow: [\"127.0.0.1\"]",
            f"  state_file: {q(str(self.work / 'bans.json'))}",
            "control:",
            f"  socket: {q(str(self.control_socket))}",
            "events:",
        ]
        for kind in ["connect", "auth_success", "auth_failure", "disconnect", "ban", "blocked"]:
            lines += [f"  {kind}:",
                      "    - name: audit",
                      "      action: log",
                      f"      path: {q(str(self.events_path))}"]
            if kind in ("connect", "disconnect", "ban"):
                lines += ["    - name: soak_hook",
                          f"      cmd: {q(hook)}",
                          "      timeout: 10s"]
        return "\n".join(lines) + "\n"

    def write_config(self, variant: str):
        text = self.config_text(variant)
        (self.work / f"config.{variant}.yaml").write_text(text)
        tmp = self.config_path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.config_path)

    async def start_proxy(self):
        hooks = self.work / "hooks"
        hooks.mkdir(exist_ok=True)
        script = hooks / "soak-hook.sh"
        script.write_text(HOOK_SCRIPT)
        script.chmod(0o755)
        self.xvnc_listen = free_port(self.ports)
        self.stream_listen = free_port(self.ports)
        self.stalled_listen = free_port(self.ports)
        self.spare_listen = free_port(self.ports)
        self.write_config("b")
        self.write_config("a")
        for variant in ("a", "b"):
            checked = subprocess.run([str(self.proxy_bin), "--check-config", "--config",
                                      str(self.work / f"config.{variant}.yaml")],
                                     capture_output=True, text=True, timeout=30)
            if checked.returncode != 0:
                raise Fatal(f"generated config {variant} is invalid:\n{checked.stdout}{checked.stderr}")
        out = open(self.work / "proxy.stdout", "ab")
        err = open(self.work / "proxy.stderr", "ab")
        self.proxy = await self.procs.spawn("vnc-hooks-manager", [
            str(self.proxy_bin), "--config", str(self.config_path)], stdout=out, stderr=err)
        out.close()
        err.close()
        deadline = time.monotonic() + 15
        while self.logwatch.count("listening") < 3 or not self.control_socket.exists():
            if self.proxy.returncode is not None or time.monotonic() > deadline:
                raise Fatal("the proxy did not start: " + (self.work / "proxy.stderr").read_text()[-2000:]
                            + (self.proxy_log.read_text()[-2000:] if self.proxy_log.exists() else ""))
            await asyncio.sleep(0.1)
        # Readiness: one full handshake through each kind of listener.
        await self.handshake_none(self.stream_listen, "readiness")
        conn = await Connection.open(self.xvnc_listen)
        try:
            await asyncio.wait_for(conn.login(PASSWORD), 10)
        finally:
            conn.close()
        log(f"vnc-hooks-manager pid {self.proxy.pid}: 127.0.0.1:{self.xvnc_listen} -> Xvnc, "
            f"127.0.0.1:{self.stream_listen} and :{self.stalled_listen} -> rfb-stream-server")

    async def handshake_none(self, port: int, what: str):
        conn = await Connection.open(port)
        try:
            await asyncio.wait_for(conn.login(None), 10)
        except (OSError, RfbError, TimeoutError, asyncio.IncompleteReadError) as e:
            raise RfbError(f"{what}: handshake on 127.0.0.1:{port} failed: {e!r}") from e
        finally:
            conn.close()

    # --- control socket ------------------------------------------------------
    async def ctl(self, *command: str, timeout: float = 10) -> tuple[int, str]:
        proc = await self.procs.spawn("ctl", [str(self.proxy_bin), "ctl", "--socket", str(self.control_socket),
                                              "--json", *command],
                                      stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            out, _ = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            await self.procs.stop(proc)
            self.n["ctl_failures"] += 1
            return 1, "ctl timed out"
        self.procs.forget(proc)
        return proc.returncode, out.decode("utf-8", errors="replace")

    async def ctl_rows(self, command: str) -> list[dict] | None:
        code, out = await self.ctl(command)
        try:
            answer = json.loads(out)
        except ValueError:
            answer = {}
        if code != 0 or not answer.get("ok"):
            self.n["ctl_failures"] += 1
            return None
        return answer.get(command, [])

    # --- sampling ------------------------------------------------------------
    def phase(self) -> str:
        if self.t0 == 0:
            return "baseline"
        if self.stop.is_set():
            return "drain"
        return "warmup" if self.elapsed() < self.args.warmup else "load"

    async def sample(self, phase: str | None = None) -> dict:
        pid = self.proxy.pid
        if self.proxy.returncode is not None:
            raise Fatal(f"the proxy exited during the soak (status {self.proxy.returncode}); see proxy.log")
        try:
            status = read_status(pid)
            fds = len(os.listdir(f"/proc/{pid}/fd"))
            cpu = cpu_seconds(pid)
        except OSError as e:
            raise Fatal(f"the proxy is gone: {e}") from e
        pss = pss_anon_kib(pid)
        hooks, zombies = descendants(pid)
        # ctl after /proc: its own connection is an fd in the proxy for a moment.
        sessions = await self.ctl_rows("sessions")
        bans = await self.ctl_rows("bans")
        row = {
            "t": round(self.elapsed(), 1) if self.t0 else 0.0,
            "phase": phase or self.phase(),
            "rss_kib": int(status["VmRSS"].split()[0]),
            "pss_anon_kib": "" if pss is None else pss,
            "fds": fds,
            "sessions": "" if sessions is None else len(sessions),
            "hooks": hooks,
            "zombies": zombies,
            "threads": int(status["Threads"]),
            "bans": "" if bans is None else len(bans),
            "cpu_s": round(cpu, 2),
        }
        self.samples.append(row)
        with open(self.samples_path, "a", encoding="ascii") as csv:
            if csv.tell() == 0:
                csv.write(",".join(report.CSV_COLUMNS) + "\n")
            csv.write(",".join(str(row[c]) for c in report.CSV_COLUMNS) + "\n")
        return row

    async def sampler(self):
        every = self.args.sample_every
        next_at = time.monotonic()
        last_print = -1e9
        while not self.stop.is_set():
            try:
                row = await self.sample()
            except Fatal as e:
                self.fatal = str(e)
                self.stop.set()
                return
            if time.monotonic() - last_print >= 30:
                last_print = time.monotonic()
                log(f"t={row['t']:.0f}s {row['phase']}: RSS {row['rss_kib']} KiB, {row['fds']} fds, "
                    f"{row['sessions']} sessions, {row['hooks']} hooks, {row['bans']} bans; "
                    f"{self.n['burst_handshakes'] + self.n['stalled_handshakes'] + self.n['logins']} handshakes, "
                    f"{self.n['kills_ok']} kills, {self.n['reloads_done']} reloads, {self.n['errors']} errors")
            next_at += every
            await self.sleep_until(next_at)

    async def sleep_until(self, when: float):
        delay = when - time.monotonic()
        if delay > 0:
            try:
                await asyncio.wait_for(self.stop.wait(), delay)
            except TimeoutError:
                pass

    async def every(self, name: str, period: float, action, offset: float = 0.0, jitter: float = 0.0):
        """Runs action() every period seconds (start to start) until the stop."""
        next_at = time.monotonic() + offset
        await self.sleep_until(next_at)
        while not self.stop.is_set():
            try:
                await action()
            except Fatal as e:
                self.fatal = str(e)
                self.stop.set()
            except Exception as e:  # noqa: BLE001 - every failure is a finding of the soak
                if not self.stop.is_set():
                    self.error(name, repr(e))
            next_at += period + random.uniform(-jitter, jitter)
            await self.sleep_until(max(next_at, time.monotonic()))


    # --- the run -------------------------------------------------------------------
    async def run(self) -> int:
        a = self.args
        await self.start_xvnc()
        await self.start_stream_server()
        await self.start_proxy()
        # The baseline: after the readiness sessions and their hooks are gone.
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            sessions = await self.ctl_rows("sessions")
            if sessions == [] and descendants(self.proxy.pid) == (0, 0):
                break
            await asyncio.sleep(0.2)
        self.baseline = await self.sample("baseline")
        log(f"load for {a.duration:.0f}s (warm-up {a.warmup:.0f}s), sampling every {a.sample_every:g}s, "
            f"SIGHUP every {a.reload_every:g}s, ctl kill every {a.kill_every:g}s")
        self.t0 = time.monotonic()
        activities = [
            self.sampler(),
            # Offsets and periods are multiples of the 5-s default sampling
            # period apart, so samples meet the same phases of the load in
            # every 30-s cycle (the burst at 2.5-6.5 s is seen by every other sample).
            self.every("burst", 10, self.burst, offset=2.5),
            self.every("stalled", 30, self.stalled, offset=2),
            self.every("throughput", 30, self.throughput, offset=17),
            self.every("login", 2, self.login, offset=0.5, jitter=0.2),
            self.every("scanner", 4, self.scanner, offset=1.5, jitter=0.3),
            self.every("kill", a.kill_every, self.kill_one, offset=min(5.0, a.kill_every)),
            self.every("reload", a.reload_every, self.reload, offset=a.reload_every),
        ]
        for i in range(a.attackers):
            source = f"127.0.0.{2 + i}"
            activities.append(self.every("attacker", 1.5, lambda s=source: self.attacker(s),
                                         offset=0.2 * i, jitter=0.3))
        if a.perl_viewer and PERL_VIEWER.exists():
            activities.append(self.every("perl_viewer", 20, self.perl_viewer, offset=7))
        elif a.perl_viewer:
            log(f"note: {PERL_VIEWER} not found: no Net::VNC viewer in the mix")
        tasks = [asyncio.create_task(x) for x in activities]
        self.tasks = tasks
        watchdog = asyncio.create_task(self.watch_proxy())
        try:
            await asyncio.wait_for(self.stop.wait(), a.duration)
        except TimeoutError:
            pass
        self.stop.set()
        # Interrupted: the same drain and report, with shorter waits.
        grace = 20 if self.interrupted else 90
        log(f"{'interrupted' if self.interrupted else 'load over'} after {self.elapsed():.0f}s; draining")
        done, pending = await asyncio.wait(tasks + list(self.background), timeout=grace)
        for task in pending:
            task.cancel()
            self.error("drain", f"an activity did not stop within {grace} s: {task.get_coro().__qualname__}")
        for task in done:
            if task.exception() is not None:
                raise task.exception()
        watchdog.cancel()
        if self.fatal:
            raise Fatal(self.fatal)
        await self.drain()
        return await self.finish()

    async def watch_proxy(self):
        await self.proxy.wait()
        if not self.stop.is_set():
            self.fatal = f"the proxy exited during the soak (status {self.proxy.returncode}); see proxy.log"
            log("!! " + self.fatal)
            self.stop.set()

    async def drain(self):
        """After the load: sessions and hook processes must go to zero."""
        deadline = time.monotonic() + (10 if self.interrupted else 60)
        while time.monotonic() < deadline:
            row = await self.sample("drain")
            if row["sessions"] == 0 and row["hooks"] == 0 and row["zombies"] == 0:
                break
            await asyncio.sleep(1)
        for _ in range(3):
            await asyncio.sleep(1)
            row = await self.sample("after")
        log(f"after the drain: RSS {row['rss_kib']} KiB, {row['fds']} fds, {row['sessions']} sessions, "
            f"{row['hooks']} hook processes, {row['zombies']} zombies")

    async def finish(self) -> int:
        # Graceful stop: afterwards every event's hooks have run, so the log is final.
        started = time.monotonic()
        code, killed = await self.procs.stop(self.proxy, grace=30)
        proxy_stop = {"status": code, "killed": killed, "seconds": round(time.monotonic() - started, 2)}
        log(f"proxy stopped: status {code} after {proxy_stop['seconds']}s{' (SIGKILL)' if killed else ''}")
        server_stats = {}
        if self.server and self.server.returncode is None:
            await self.procs.stop(self.server)
            try:
                await asyncio.wait_for(self.server_reader, 5)
            except TimeoutError:
                pass
            for line in self.server_lines:
                if line.get("event") == "exit":
                    server_stats = line
        if self.xvnc:
            await self.procs.stop(self.xvnc)
        run = {
            "options": {k: v for k, v in vars(self.args).items() if k not in ("workdir",)},
            "ports": {"xvnc": self.xvnc_port, "stream_server": self.stream_port,
                      "xvnc_listener": self.xvnc_listen, "stream_listener": self.stream_listen,
                      "stalled_listener": self.stalled_listen, "spare_listener": self.spare_listen},
            "variant_at_end": self.variant,
            "counts": self.n,
            "killed_ids": self.killed_ids,
            "reloads": self.reload_log,
            "errors": self.errors,
            "stall_seconds": self.stall_seconds,
            "proxy_stop": proxy_stop,
            "interrupted_after": round(self.elapsed(), 1) if self.interrupted else None,
            "stream_server": server_stats,
            "max_concurrent_hooks": 10,
        }
        (self.work / "run.json").write_text(json.dumps(run, indent=1) + "\n")
        status = report.main([str(self.work)])
        if self.args.out:
            out = Path(self.args.out)
            out.mkdir(parents=True, exist_ok=True)
            for name in ["samples.csv", "run.json", "summary.txt", "events.jsonl", "hook-runs.txt",
                         "proxy.log", "config.a.yaml", "config.b.yaml"]:
                if (self.work / name).exists():
                    shutil.copy2(self.work / name, out / name)
            log(f"results copied to {out}")
        return status


async def amain(args) -> int:
    soak = Soak(args)
    main_task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    interrupted = []

    def on_signal(signum):
        # The first signal ends the load early (drain and report as usual);
        # a second one stops everything at once. Signals within 2 s of the
        # first count as the same one: a Ctrl-C reaches this program from the
        # terminal and again from soak.sh, which forwards it.
        if interrupted and time.monotonic() - interrupted[0] < 2:
            return
        interrupted.append(time.monotonic())
        soak.interrupted = True
        soak.stop.set()
        if len(interrupted) == 1:
            log(f"{signal.Signals(signum).name} received: ending the load now (again: stop at once)")
        else:
            log(f"{signal.Signals(signum).name} received again: stopping at once")
            main_task.cancel()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        status = await soak.run()
        return 130 if interrupted else status
    except Fatal as e:
        log(f"FAIL: {e}")
        return 1
    except asyncio.CancelledError:
        return 130 if interrupted else 1
    finally:
        # No activity may start a process after this point.
        soak.stop.set()
        others = [t for t in soak.tasks + list(soak.background) if not t.done()]
        for task in others:
            task.cancel()
        if others:
            await asyncio.wait(others, timeout=10)
        await soak.procs.stop_all()


def main() -> int:
    parser = argparse.ArgumentParser(description="engine of bench/soak.sh (use that)")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--duration", type=float, required=True)
    parser.add_argument("--warmup", type=float, required=True)
    parser.add_argument("--reload-every", type=float, default=60)
    parser.add_argument("--kill-every", type=float, default=10)
    parser.add_argument("--sample-every", type=float, default=5)
    parser.add_argument("--attackers", type=int, default=4)
    parser.add_argument("--burst", type=int, default=25)
    parser.add_argument("--stalled", type=int, default=8)
    parser.add_argument("--ban", type=int, default=10)
    parser.add_argument("--max-ban", type=int, default=30)
    parser.add_argument("--no-perl-viewer", dest="perl_viewer", action="store_false")
    parser.add_argument("--out", default="")
    args = parser.parse_args()
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
