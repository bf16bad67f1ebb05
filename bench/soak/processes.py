"""Process and /proc plumbing for the soak (bench/soak/soak.py): the
processes it starts (each in its own session, listed by pid in a file that
bench/soak.sh uses as a safety net), the proxy's resource figures read from
/proc, free loopback ports, and a reader of the proxy's log file.
Python standard library only.
"""
from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import socket
import subprocess
import time
from pathlib import Path


def log(message: str):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Fatal(Exception):
    """The soak cannot go on (the proxy died, setup failed)."""



# ---------------------------------------------------------------------------
# Processes we start: each in its own session, listed by pid
# ---------------------------------------------------------------------------

class Processes:
    def __init__(self, pid_file: Path):
        self.pid_file = pid_file
        self.running: dict[int, tuple[str, asyncio.subprocess.Process]] = {}

    def _write(self):
        text = "".join(f"{pid} {name}\n" for pid, (name, _) in self.running.items())
        tmp = self.pid_file.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.pid_file)

    async def spawn(self, name: str, argv: list[str], **kwargs) -> asyncio.subprocess.Process:
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        proc = await asyncio.create_subprocess_exec(*argv, start_new_session=True, **kwargs)
        self.running[proc.pid] = (name, proc)
        self._write()
        return proc

    def forget(self, proc: asyncio.subprocess.Process):
        if self.running.pop(proc.pid, None):
            self._write()

    async def stop(self, proc: asyncio.subprocess.Process, grace: float = 5.0,
                   sig: int = signal.SIGTERM) -> tuple[int | None, bool]:
        """sig, then SIGKILL after grace. Returns (exit status, needed SIGKILL)."""
        killed = False
        if proc.returncode is None:
            try:
                proc.send_signal(sig)
                await asyncio.wait_for(proc.wait(), grace)
            except ProcessLookupError:
                pass
            except TimeoutError:
                killed = True
                try:
                    proc.kill()
                except ProcessLookupError:
                    pass
                await proc.wait()
        self.forget(proc)
        return proc.returncode, killed

    async def stop_all(self):
        for _, proc in list(self.running.values()):
            await self.stop(proc, grace=3.0)


# ---------------------------------------------------------------------------
# /proc sampling
# ---------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def read_status(pid: int) -> dict[str, str]:
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
        for line in status:
            key, _, value = line.partition(":")
            values[key] = value.strip()
    return values


def pss_anon_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            for line in rollup:
                if line.startswith("Pss_Anon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def descendants(root: int) -> tuple[int, int]:
    """(live, zombie) processes below root: the proxy's hook processes."""
    children: dict[int, list[int]] = {}
    states: dict[int, str] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as stat:
                rest = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        states[pid] = rest[0]
        children.setdefault(int(rest[1]), []).append(pid)
    live = zombies = 0
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if states.get(pid) == "Z":
            zombies += 1
        else:
            live += 1
        todo.extend(children.get(pid, []))
    return live, zombies


def free_port(taken: set[int]) -> int:
    """A loopback port outside the ephemeral range that we can bind now."""
    for _ in range(200):
        port = random.randrange(20000, 30000)
        if port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise Fatal("no free loopback port in 20000-29999")


class LogWatcher:
    """Counts lines of the proxy's log file incrementally."""

    def __init__(self, path: Path):
        self.path = path
        self.offset = 0
        self.partial = b""
        self.counts: dict[str, int] = {}
        self.patterns = {
            "listening": re.compile(rb"\blistening on "),
            "reload_done": re.compile(rb"\binfo reload done: "),
            "reload_failed": re.compile(rb"\breload failed"),
        }
        self.last: dict[str, str] = {}

    def poll(self) -> dict[str, int]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return self.counts
        self.offset += len(data)
        data = self.partial + data
        lines = data.split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            for name, pattern in self.patterns.items():
                if pattern.search(line):
                    self.counts[name] = self.counts.get(name, 0) + 1
                    self.last[name] = line.decode("utf-8", errors="replace")
        return self.counts

    def count(self, name: str) -> int:
        return self.poll().get(name, 0)


# ---------------------------------------------------------------------------
