"""bench/webhooks.sh: about 1,000 events a second, each with a webhook,
through vnc-hooks-manager to a local receiver, on loopback only.

Phases (bench/README.md, "Webhooks"):
  1. delivery: sessions connect and disconnect at --rate a second for
     --seconds (a webhook on connect and on disconnect: 2 events a session);
     every published event must reach the receiver exactly once.
  2. receiver down: the same load while the receiver accepts and never
     answers (timeout 2 s); the proxy's RSS must stay bounded and the events
     beyond the hook queue must be dropped and counted, not kept.
  3. relay throughput (rfb-load-client, one stream) without session load,
     with the session load and its webhooks, and with the session load but
     no hooks, --reps times each, alternating.
It builds nothing; it stops by pid everything it starts."""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOAD = HERE / "load.py"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise RuntimeError(f"timed out waiting for {what}")


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="vhm-bench-webhooks."))
        self.procs: list[subprocess.Popen] = []
        build = Path(args.build_dir)
        self.proxy_bin = Path(args.proxy_bin) if args.proxy_bin else build / "app" / "vnc-hooks-manager"
        self.server_bin = build / "bench" / "rfb-stream-server"
        self.client_bin = build / "bench" / "rfb-load-client"
        for binary in (self.proxy_bin, self.server_bin, self.client_bin):
            if not os.access(binary, os.X_OK):
                raise SystemExit(f"webhooks.sh: {binary} is not built (cmake --build {build} --target bench "
                                 "vnc-hooks-manager; see bench/README.md)")

    # --- processes --------------------------------------------------------
    def spawn(self, cmd, **kwargs) -> subprocess.Popen:
        proc = subprocess.Popen([str(c) for c in cmd], stdin=subprocess.DEVNULL, **kwargs)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen, sig=signal.SIGTERM, grace: float = 10) -> None:
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                print(f"note: pid {proc.pid} did not exit within {grace} s; killed")
                proc.kill()
                proc.wait()
        if proc in self.procs:
            self.procs.remove(proc)

    def cleanup(self):
        for proc in list(self.procs):
            self.stop(proc, grace=5)
        if not self.args.keep_tmp:
            subprocess.run(["rm", "-rf", str(self.tmp)])
        else:
            print(f"temp dir kept: {self.tmp}")

    def start_server(self) -> int:
        proc = self.spawn([self.server_bin, "--listen", "127.0.0.1:0", "--mode", "on-request"],
                          stdout=subprocess.PIPE, text=True)
        ready = json.loads(proc.stdout.readline())
        return ready["port"]

    def start_receiver(self, mode: str) -> tuple[subprocess.Popen, int]:
        port_file = self.tmp / f"receiver-{mode}-{time.monotonic_ns()}.port"
        proc = self.spawn([sys.executable, LOAD, "receive", "--mode", mode, "--port-file", port_file],
                          stdout=subprocess.PIPE, text=True)
        port = wait_for(lambda: port_file.exists() and int(port_file.read_text()), 10, "the receiver")
        return proc, port

    def receiver_counts(self, proc: subprocess.Popen) -> dict:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
        self.procs.remove(proc)
        return json.loads(out.strip().splitlines()[-1])

    def start_proxy(self, name: str, server_port: int, webhook: dict | None) -> tuple[subprocess.Popen, int, Path]:
        port = free_port()
        log = self.tmp / f"{name}.log"
        events = ""
        if webhook:
            hook = "".join(f"      {key}: {json.dumps(value)}\n" for key, value in webhook.items())
            events = ("events:\n"
                      f"  connect:\n    - name: {name}_connect\n{hook}"
                      f"  disconnect:\n    - name: {name}_disconnect\n{hook}")
        config = self.tmp / f"{name}.yaml"
        config.write_text("global:\n"
                          f"  log_file: {json.dumps(str(log))}\n"
                          "  log_level: warn\n"
                          f"  hook_queue_limit: {self.args.queue_limit}\n"
                          "listeners:\n"
                          f"  - listen: \"127.0.0.1:{port}\"\n"
                          f"    target: \"127.0.0.1:{server_port}\"\n" + events)
        proc = self.spawn([self.proxy_bin, "--config", config], stdout=subprocess.DEVNULL,
                          stderr=open(self.tmp / f"{name}.stderr", "w"))
        probe = subprocess.run([self.client_bin, "--connect", f"127.0.0.1:{port}", "--mode", "probe",
                                "--wait", "10"], capture_output=True, text=True)
        if probe.returncode != 0 or proc.poll() is not None:
            raise SystemExit(f"webhooks.sh: the proxy did not start: {(self.tmp / f'{name}.stderr').read_text()}"
                             f"{log.read_text() if log.exists() else ''}")
        return proc, port, log

    def drive(self, port: int, seconds: float) -> subprocess.Popen:
        return self.spawn([sys.executable, LOAD, "drive", "--connect", f"127.0.0.1:{port}",
                           "--rate", self.args.rate, "--seconds", seconds], stdout=subprocess.PIPE, text=True)

    def driver_counts(self, proc: subprocess.Popen) -> dict:
        out, _ = proc.communicate(timeout=self.args.seconds + 120)
        self.procs.remove(proc)
        return json.loads(out.strip().splitlines()[-1])

    # --- phases -----------------------------------------------------------
    def delivery(self, server_port: int) -> dict:
        receiver, receiver_port = self.start_receiver("ok")
        proxy, port, log = self.start_proxy("delivery", server_port,
                                            {"action": "webhook", "url": f"http://127.0.0.1:{receiver_port}/vnc"})
        print(f"[delivery] {self.args.rate:g} sessions/s for {self.args.seconds:g} s "
              f"({2 * self.args.rate:g} events/s), a webhook each ...", flush=True)
        rss = [rss_kib(proxy.pid)]
        cpu = {name: cpu_seconds(p.pid) for name, p in (("proxy", proxy), ("receiver", receiver))}
        driver = self.drive(port, self.args.seconds)
        while driver.poll() is None:
            time.sleep(1)
            rss.append(rss_kib(proxy.pid))
        cpu = {name: round(cpu_seconds(p.pid) - cpu[name], 2)
               for name, p in (("proxy", proxy), ("receiver", receiver))}
        sessions = self.driver_counts(driver)
        drained_at = time.monotonic()
        self.stop(proxy)  # a graceful stop waits for every queued webhook
        drain = time.monotonic() - drained_at
        counts = self.receiver_counts(receiver)
        text = log.read_text(errors="replace")
        result = {
            "sessions": sessions,
            # The proxy publishes connect and disconnect for every accepted
            # connection: the driver's and the readiness probe's.
            "events_published": 2 * (sessions["connected"] + 1),
            "webhooks_received": counts["requests"],
            "distinct_events": counts["distinct_events"],
            "duplicates": counts["duplicates"],
            "receiver_connections": counts["connections"],
            "dropped_logged": len(re.findall(r"event of session \S+ dropped", text)),
            "failed_logged": len(re.findall(r"webhook \w+ http\S*: ", text)),
            "stop_seconds": round(drain, 2),
            "rss_kib": {"start": rss[0], "max": max(rss), "end": rss[-1], "series": rss},
            "cpu_seconds": cpu,
        }
        lost = result["events_published"] - result["distinct_events"]
        print(f"[delivery] {sessions['handshakes']} sessions ({sessions['sessions_per_s']}/s), "
              f"{result['events_published']} events published, {result['webhooks_received']} webhooks "
              f"received ({result['distinct_events']} distinct, {lost} lost, {result['duplicates']} duplicates) "
              f"over {result['receiver_connections']} connections; dropped {result['dropped_logged']}; "
              f"RSS {rss[0]} -> max {max(rss)} KiB; CPU during the load: proxy {cpu['proxy']} s, "
              f"receiver {cpu['receiver']} s", flush=True)
        return result

    def baseline_cpu(self, server_port: int) -> dict:
        """The same session load through a proxy without hooks: what the
        sessions alone cost, so the webhooks' share of the proxy's CPU shows."""
        seconds = max(5.0, self.args.seconds / 4)
        proxy, port, _ = self.start_proxy("baseline", server_port, None)
        before = cpu_seconds(proxy.pid)
        sessions = self.driver_counts(self.drive(port, seconds))
        used = cpu_seconds(proxy.pid) - before
        self.stop(proxy)
        result = {"seconds": seconds, "sessions": sessions["handshakes"], "proxy_cpu_seconds": round(used, 2)}
        print(f"[baseline] the same load without hooks for {seconds:g} s: proxy CPU {used:.2f} s "
              f"({100 * used / seconds:.0f}% of a core)", flush=True)
        return result

    def receiver_down(self, server_port: int) -> dict:
        receiver, receiver_port = self.start_receiver("stall")
        proxy, port, log = self.start_proxy("down", server_port,
                                            {"action": "webhook", "url": f"http://127.0.0.1:{receiver_port}/vnc",
                                             "timeout": "2s"})
        seconds = self.args.down_seconds
        print(f"[down] the receiver never answers (timeout 2 s): {self.args.rate:g} sessions/s for "
              f"{seconds:g} s ...", flush=True)
        rss = [rss_kib(proxy.pid)]
        driver = self.drive(port, seconds)
        while driver.poll() is None:
            time.sleep(1)
            rss.append(rss_kib(proxy.pid))
        sessions = self.driver_counts(driver)
        stopped_at = time.monotonic()
        self.stop(proxy, grace=60)
        stop_seconds = time.monotonic() - stopped_at
        counts = self.receiver_counts(receiver)
        text = log.read_text(errors="replace")
        dropped = len(re.findall(r"event of session \S+ dropped", text))
        half = rss[len(rss) // 2:]
        result = {
            "sessions": sessions,
            "events_published": 2 * (sessions["connected"] + 1),
            "dropped_logged": dropped,
            "webhook_attempts_received": counts["requests"],
            "timed_out_logged": len(re.findall(r": timed out after", text)),
            "stop_seconds": round(stop_seconds, 2),
            "rss_kib": {"start": rss[0], "max": max(rss), "end": rss[-1],
                        "second_half_min": min(half), "second_half_max": max(half), "series": rss},
        }
        print(f"[down] {sessions['handshakes']} sessions ({sessions['sessions_per_s']}/s), "
              f"{result['events_published']} events, {dropped} dropped (queue limit {self.args.queue_limit}), "
              f"{counts['requests']} attempts reached the receiver; RSS {rss[0]} -> max {max(rss)} KiB "
              f"(second half {min(half)}..{max(half)}); stop took {stop_seconds:.1f} s", flush=True)
        return result

    def throughput_run(self, port: int) -> float:
        done = subprocess.run([self.client_bin, "--connect", f"127.0.0.1:{port}", "--mode", "throughput",
                               "--sessions", "1", "--seconds", str(self.args.tp_seconds)],
                              capture_output=True, text=True, timeout=self.args.tp_seconds + 60)
        for line in done.stdout.splitlines():
            data = json.loads(line)
            if data.get("event") == "result" and data.get("ok"):
                return float(data["mb_per_s"])
        raise RuntimeError(f"throughput run failed: {done.stdout} {done.stderr}")

    def throughput(self, server_port: int) -> dict:
        receiver, receiver_port = self.start_receiver("ok")
        hooked, hooked_port, _ = self.start_proxy(
            "tp_hooks", server_port, {"action": "webhook", "url": f"http://127.0.0.1:{receiver_port}/vnc"})
        plain, plain_port, _ = self.start_proxy("tp_plain", server_port, None)
        runs: dict[str, list[float]] = {"quiet": [], "load+webhooks": [], "load, no hooks": []}
        load_seconds = self.args.tp_seconds + 2
        for rep in range(self.args.reps):
            for name in runs:
                if name == "quiet":
                    value = self.throughput_run(hooked_port)
                else:
                    port = hooked_port if name == "load+webhooks" else plain_port
                    driver = self.drive(port, load_seconds)
                    time.sleep(1)  # the load is running before the stream starts
                    value = self.throughput_run(port)
                    self.driver_counts(driver)
                runs[name].append(value)
                print(f"[throughput] rep {rep + 1}/{self.args.reps} {name:16s} {value:8.1f} MB/s", flush=True)
        self.stop(hooked)
        self.stop(plain)
        self.receiver_counts(receiver)
        medians = {name: statistics.median(values) for name, values in runs.items()}
        print("[throughput] medians: " + ", ".join(f"{k} {v:.1f} MB/s" for k, v in medians.items()), flush=True)
        return {"runs": runs, "median_mb_per_s": medians}


def main() -> int:
    repo = HERE.parent.parent
    parser = argparse.ArgumentParser(prog="bench/webhooks.sh", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("build_dir", nargs="?", default=str(repo / "build-bench"),
                        help="CMake build dir with vnc-hooks-manager and the bench target (default build-bench)")
    parser.add_argument("--seconds", type=float, default=60, help="delivery phase length (default 60)")
    parser.add_argument("--down-seconds", type=float, default=None, help="receiver-down phase (default: --seconds / 2)")
    parser.add_argument("--rate", type=float, default=500, help="sessions a second (2 events each; default 500)")
    parser.add_argument("--queue-limit", type=int, default=1000, help="global.hook_queue_limit (default 1000)")
    parser.add_argument("--reps", type=int, default=3, help="throughput repetitions per setup (default 3)")
    parser.add_argument("--tp-seconds", type=float, default=5, help="seconds per throughput run (default 5)")
    parser.add_argument("--skip", action="append", default=[], choices=["delivery", "down", "throughput"])
    parser.add_argument("--proxy-bin", help="vnc-hooks-manager (default BUILD_DIR/app/vnc-hooks-manager)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--keep-tmp", action="store_true", help="keep configs and proxy logs")
    args = parser.parse_args()
    if args.down_seconds is None:
        args.down_seconds = max(5.0, args.seconds / 2)
    bench = Bench(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    results: dict = {"load_average": os.getloadavg()}
    try:
        server_port = bench.start_server()
        if "delivery" not in args.skip:
            results["delivery"] = bench.delivery(server_port)
            base = results["baseline"] = bench.baseline_cpu(server_port)
            with_hooks = results["delivery"]["cpu_seconds"]["proxy"] / args.seconds
            without = base["proxy_cpu_seconds"] / base["seconds"]
            print(f"[delivery] proxy CPU: {100 * with_hooks:.0f}% of a core with a webhook per event, "
                  f"{100 * without:.0f}% without hooks: the webhooks cost {100 * (with_hooks - without):.0f}% "
                  f"of a core at {2 * args.rate:g} a second", flush=True)
        if "down" not in args.skip:
            results["down"] = bench.receiver_down(server_port)
        if "throughput" not in args.skip:
            results["throughput"] = bench.throughput(server_port)
    except KeyboardInterrupt:
        print("webhooks.sh: interrupted")
        return 130
    finally:
        bench.cleanup()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    delivery = results.get("delivery")
    if delivery and delivery["distinct_events"] != delivery["events_published"]:
        print(f"!! {delivery['events_published'] - delivery['distinct_events']} events were not delivered")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
