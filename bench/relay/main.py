"""bench/relay.sh: the relay's numbers next to a direct connection and haproxy
(TCP mode), in one run, as ratios (docs/performance.md):
  throughput  raw RFB stream, 1 session; CPU s per GiB of proxy, server, client
  tls         VeNCrypt X509None and TLSNone: vencrypt: terminate vs direct TLS
              (haproxy passes TLS through)
  latency     sequential handshakes (None, VncAuth): p50, p99, added ms, with
              and without a connect hook, the first session after start
  rate        handshakes per second with N concurrent connectors; then with 4
              against a real Xvnc (tigervnc-standalone-server)
  scale       N sessions (9000) up and idle: RSS per idle session; 10% of
              them streaming among the idle ones vs the same number alone
It is not a test: exit 0 when everything was measured, 1 when something could
not be (or, with --strict, a target was missed), 2 for usage errors.
"""
from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from procs import Tools, Unmeasured, load_average, say  # noqa: E402
from report import print_table, write_json  # noqa: E402
from sections import SECTIONS, Section, Settings  # noqa: E402


def parse_args(argv: list[str]) -> argparse.Namespace:
    repo = Path(__file__).resolve().parents[2]
    p = argparse.ArgumentParser(prog="bench/relay.sh", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("build_dir", nargs="?", default=str(repo / "build-bench"),
                   help="CMake build dir with the bench targets (default: build-bench in the repository)")
    p.add_argument("--quick", action="store_true", help="sanity run, about a minute: 1 repetition, short runs, "
                   "900 sessions in the scale section")
    p.add_argument("--only", default="", help="comma-separated sections to run: " + ", ".join(SECTIONS))
    p.add_argument("--strict", action="store_true", help="also exit 1 when vnc-hooks-manager misses a target")
    p.add_argument("--reps", type=int, help="repetitions per measurement (default 5; scale: 3)")
    p.add_argument("--seconds", type=float, help="seconds per throughput run (default 5)")
    p.add_argument("--latency-count", type=int, help="sequential handshakes per latency run (default 1000)")
    p.add_argument("--connectors", type=int, help="concurrent connectors of the rate section (default 16)")
    p.add_argument("--sessions", type=int, help="scale: sessions in all (default 9000; 10%% of them stream)")
    p.add_argument("--no-haproxy", action="store_true", help="leave haproxy out")
    p.add_argument("--proxy-bin", help="vnc-hooks-manager binary (default BUILD_DIR/app/vnc-hooks-manager)")
    p.add_argument("--haproxy-bin", default=shutil.which("haproxy"), help="haproxy binary (default: on PATH)")
    p.add_argument("--json", help="also write the summary rows to this JSON file")
    p.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (configs, proxy logs)")
    return p.parse_args(argv)


def settings_from(args: argparse.Namespace) -> Settings:
    s = Settings()
    if args.quick:
        s.reps, s.seconds, s.latency_count, s.rate_seconds = 1, 1.0, 200, 1.0
        s.scale_sessions, s.scale_reps, s.settle = 900, 1, 0.5
    if args.reps:
        s.reps = s.scale_reps = args.reps
    if args.seconds:
        s.seconds = s.rate_seconds = args.seconds
    if args.latency_count:
        s.latency_count = args.latency_count
    if args.connectors:
        s.connectors = args.connectors
    if args.sessions:
        s.scale_sessions = args.sessions
    s.scale_streaming = max(1, s.scale_sessions // 10)
    return s


def raise_fd_limit(sessions: int) -> str:
    """Soft RLIMIT_NOFILE to the hard one (inherited by every process started).
    Each process has its own limit: the load client and the server need one
    descriptor per session, a proxy two."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * sessions + 64
    text = f"open files: {soft} per process (hard {hard}); a proxy needs {need} for {sessions} sessions"
    if soft != resource.RLIM_INFINITY and soft < need:
        raise SystemExit(f"relay.sh: {text}: raise the hard limit (ulimit -Hn) or use --sessions "
                         f"{(soft - 64) // 2}")
    return text


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    build_dir = Path(args.build_dir).resolve()
    settings = settings_from(args)
    only = [x for x in args.only.split(",") if x]
    for name in only:
        if name not in SECTIONS:
            print(f"relay.sh: unknown section '{name}' (choose from {', '.join(SECTIONS)})", file=sys.stderr)
            return 2
    chosen = only or list(SECTIONS)
    tools_missing = [p for p in (build_dir / "bench" / "rfb-stream-server", build_dir / "bench" / "rfb-load-client")
                     if not os.access(p, os.X_OK)]
    if tools_missing:
        print(f"relay.sh: {tools_missing[0]} is not built. Build the load generator first:\n"
              f"  cmake -S . -B {build_dir} -G Ninja -DCMAKE_BUILD_TYPE=Release -DVHM_BUILD_BENCH=ON\n"
              f"  cmake --build {build_dir} -j2 --target bench vnc-hooks-manager", file=sys.stderr)
        return 2
    problems: list[str] = []
    proxy_bin = Path(args.proxy_bin) if args.proxy_bin else build_dir / "app" / "vnc-hooks-manager"
    paths = ["direct"]
    if os.access(proxy_bin, os.X_OK):
        paths.append("vhm")
    else:
        problems.append(f"vnc-hooks-manager is NOT BUILT ({proxy_bin}): its columns are empty")
    if args.no_haproxy:
        pass
    elif args.haproxy_bin and os.access(args.haproxy_bin, os.X_OK):
        paths.append("haproxy")
    else:
        problems.append("haproxy not found (apt-get install haproxy): its columns are empty")
    settings.paths = tuple(paths)
    fd_text = raise_fd_limit(settings.scale_sessions if "scale" in chosen else 1000)

    tmp = Path(tempfile.mkdtemp(prefix="vhm-relay."))
    tools = Tools(build_dir, proxy_bin, args.haproxy_bin, tmp)
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    load_before = load_average()
    say(f"== vnc-hooks-manager relay benchmark ({time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())})")
    say(f"build dir: {build_dir}; {os.cpu_count()} CPUs; load average: {load_before}; {fd_text}")
    say(f"sections: {', '.join(chosen)}; repetitions: {settings.reps} (scale {settings.scale_reps});"
        f" paths: {', '.join(paths)}")
    if float(load_before.split()[0]) > 0.5:
        say(f"note: the machine is busy (load {load_before.split()[0]}): numbers will be noisy")
    for p in problems:
        say(f"!! {p}")
    rows = []
    started = time.monotonic()
    interrupted = False
    try:
        for name in chosen:
            say("")
            section = Section(tools, settings, problems)
            try:
                rows += SECTIONS[name](section)
            except Unmeasured as e:
                section.problem(f"{name}: {e}")
    except KeyboardInterrupt:
        interrupted = True
        problems.append("interrupted")
    finally:
        tools.started.stop_all()
        if args.keep_tmp:
            say(f"temp dir kept: {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    say("")
    missed = print_table(rows, paths, settings, time.monotonic() - started, load_before, load_average())
    if args.json:
        write_json(Path(args.json), rows, paths, problems)
    if problems:
        say(f"\nINCOMPLETE: {len(problems)} problem(s):")
        for p in problems:
            say(f"  - {p}")
        return 130 if interrupted else 1
    if missed:
        say("\nvnc-hooks-manager misses at least one target (verdict column)")
        return 1 if args.strict else 0
    say("\nall paths measured")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
