"""The two halves of the webhook benchmark's load, each a process of its own
(so neither steals the other's interpreter), both asyncio, loopback only:

  receive --mode ok|stall --port-file F
      an HTTP/1.1 keep-alive receiver: `ok` answers 204 at once and counts
      requests, connections and distinct (event, session_id) pairs; `stall`
      reads requests and never answers (a receiver that is down but still
      accepts). Prints one JSON line of counts on SIGTERM/SIGINT.
  drive --connect HOST:PORT --rate R --seconds S
      opens R sessions a second for S seconds, each an RFB 3.8 handshake with
      security None up to ServerInit, then closes it (one connect and one
      disconnect event each). Prints one JSON line of counts when done.

Python 3 standard library only."""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import struct
import sys
import time

EVENT_RE = re.compile(rb'"event":"([a-z_]+)","session_id":"([0-9a-f]*)"')


# --------------------------------------------------------------------------
# receive
# --------------------------------------------------------------------------

class Counts:
    def __init__(self):
        self.requests = 0
        self.connections = 0
        self.events: set[tuple[bytes, bytes]] = set()
        self.duplicates = 0
        self.by_event: dict[str, int] = {}


async def serve_connection(reader, writer, counts: Counts, stall: bool):
    counts.connections += 1
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length) if length else b""
            counts.requests += 1
            match = EVENT_RE.search(body)
            if match:
                key = match.groups()
                if key in counts.events:
                    counts.duplicates += 1
                counts.events.add(key)
                name = key[0].decode()
                counts.by_event[name] = counts.by_event.get(name, 0) + 1
            if not stall:
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def receive(args) -> int:
    counts = Counts()
    stall = args.mode == "stall"
    server = await asyncio.start_server(lambda r, w: serve_connection(r, w, counts, stall),
                                        "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    with open(args.port_file + ".tmp", "w") as out:
        out.write(str(port))
    os.replace(args.port_file + ".tmp", args.port_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    print(json.dumps({"requests": counts.requests, "connections": counts.connections,
                      "distinct_events": len(counts.events), "duplicates": counts.duplicates,
                      "by_event": counts.by_event}), flush=True)
    return 0


# --------------------------------------------------------------------------
# drive
# --------------------------------------------------------------------------

async def one_session(host: str, port: int, stats: dict, timeout: float):
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, asyncio.TimeoutError):
        stats["connect_failed"] += 1
        return
    stats["connected"] += 1
    try:
        async def handshake():
            if not (await reader.readexactly(12)).startswith(b"RFB "):
                raise ConnectionError("not RFB")
            writer.write(b"RFB 003.008\n")
            count = (await reader.readexactly(1))[0]
            types = await reader.readexactly(count)
            if 1 not in types:
                raise ConnectionError("no security None")
            writer.write(b"\x01")
            if struct.unpack(">I", await reader.readexactly(4))[0] != 0:
                raise ConnectionError("security failed")
            writer.write(b"\x01")
            head = await reader.readexactly(24)
            await reader.readexactly(struct.unpack(">I", head[20:24])[0])
        await asyncio.wait_for(handshake(), timeout)
        stats["handshakes"] += 1
    except (OSError, ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError):
        stats["handshake_failed"] += 1
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass


async def drive(args) -> int:
    host, _, port = args.connect.rpartition(":")
    stats = {"connected": 0, "connect_failed": 0, "handshakes": 0, "handshake_failed": 0,
             "started": 0, "skipped": 0}
    tasks: set[asyncio.Task] = set()
    interval = 1.0 / args.rate
    started = time.monotonic()
    end = started + args.seconds
    next_start = started
    while next_start < end:
        now = time.monotonic()
        if now < next_start:
            await asyncio.sleep(next_start - now)
        # Start every session that is due (catching up after a slow turn).
        while next_start <= time.monotonic() and next_start < end:
            next_start += interval
            if len(tasks) >= args.max_in_flight:
                stats["skipped"] += 1  # the proxy (or this driver) cannot keep up
                continue
            stats["started"] += 1
            task = asyncio.create_task(one_session(host, int(port), stats, args.timeout))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks)
    stats["seconds"] = round(time.monotonic() - started, 2)
    stats["sessions_per_s"] = round(stats["handshakes"] / stats["seconds"], 1)
    print(json.dumps(stats), flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    receiver = sub.add_parser("receive")
    receiver.add_argument("--mode", choices=["ok", "stall"], default="ok")
    receiver.add_argument("--port-file", required=True)
    driver = sub.add_parser("drive")
    driver.add_argument("--connect", required=True)
    driver.add_argument("--rate", type=float, default=500)
    driver.add_argument("--seconds", type=float, default=60)
    driver.add_argument("--timeout", type=float, default=10)
    driver.add_argument("--max-in-flight", type=int, default=500)
    args = parser.parse_args()
    return asyncio.run(receive(args) if args.command == "receive" else drive(args))


if __name__ == "__main__":
    sys.exit(main())
