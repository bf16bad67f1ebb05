#!/usr/bin/env python3
"""Checks and summary of one soak run (bench/soak.sh).

    python3 bench/soak/report.py DIR

DIR is a soak's work directory (soak.sh --keep-tmp) or its --out directory:
samples.csv, run.json, events.jsonl, hook-runs.txt, proxy.log. Prints the
summary, writes DIR/summary.txt, exits 0 when every check passed, else 1.
The rules are documented in bench/README.md ("Soak").
"""
from __future__ import annotations

import csv
import json
import re
import statistics
import sys
from collections import Counter, defaultdict
from pathlib import Path

CSV_COLUMNS = ["t", "phase", "rss_kib", "pss_anon_kib", "fds", "sessions", "hooks", "zombies",
               "threads", "bans", "cpu_s"]

# Growth after warm-up: the largest value in the last third of the post-warm-up
# samples may exceed the largest value in their first third by at most
# max(relative x first, absolute). Sessions and descriptors follow the load's
# bursts, so their tolerance is wider; hook processes are capped by
# max_concurrent_hooks, so they may vary up to that cap.
GROWTH_RULES = {
    # metric: (label, relative, absolute)
    "rss_kib": ("RSS KiB", 0.10, 1024),
    "fds": ("open fds", 0.25, 16),
    "sessions": ("sessions", 0.25, 8),
    "hooks": ("hook processes", 0.50, None),  # None: max_concurrent_hooks
}
INFO_METRICS = {"pss_anon_kib": "Pss_Anon KiB", "threads": "threads", "zombies": "zombies", "bans": "bans in force"}
# After the drain the proxy must be back where it started: no session, no
# hook process, no zombie, and at most this many descriptors above the
# baseline taken before the load (plus one while the reload-added listener is open).
FD_SLACK_AFTER_DRAIN = 4


def number(value: str):
    if value in ("", None):
        return None
    return float(value) if "." in value else int(value)


def read_samples(path: Path) -> list[dict]:
    with open(path, newline="", encoding="ascii") as f:
        return [{k: (v if k == "phase" else number(v)) for k, v in row.items()} for row in csv.DictReader(f)]


def values(rows: list[dict], metric: str) -> list:
    return [r[metric] for r in rows if r.get(metric) is not None]


def stats(xs: list, decimals: int = 1) -> str:
    if not xs:
        return "-"

    def text(v):
        return f"{v:.0f}" if float(v).is_integer() else f"{v:.{decimals}f}"
    return f"{text(min(xs))}/{text(statistics.median(xs))}/{text(max(xs))}"


def session_story(work: Path, events: list[dict], session_id: str, limit: int = 6) -> list[str]:
    """A problem session's events and its proxy log lines, for the summary."""
    lines = [f"    session {session_id}:"]
    for e in events:
        if e.get("session_id") == session_id:
            lines.append(f"      event {e.get('event')} {e.get('timestamp', '')} client {e.get('client_ip', '')}:"
                         f"{e.get('client_port', '')} listen {e.get('listen', '')} reason {e.get('reason', '')!r}")
    log_path = work / "proxy.log"
    if log_path.exists():
        needle = f"session {session_id}"
        found = [line.rstrip("\n") for line in open(log_path, encoding="utf-8", errors="replace") if needle in line]
        lines += [f"      log: {line[:220]}" for line in found[:limit]]
    return lines


# The load repeats every 30 s (bench/soak/soak.py); a third shorter than that
# may miss a phase the other third has, so shorter runs are not judged.
LOAD_CYCLE_SECONDS = 30


def growth(rows: list[dict], metric: str, cap: int) -> dict:
    """The growth rule over the post-warm-up samples of the load phase."""
    post = [r for r in rows if r["phase"] == "load" and r.get(metric) is not None]
    third = len(post) // 3
    result = {"first": None, "last": None, "limit": None, "ok": None}
    if third < 2 or post[third - 1]["t"] - post[0]["t"] < LOAD_CYCLE_SECONDS - 5:
        return result  # too short to judge
    _, rel, absolute = GROWTH_RULES[metric]
    first = max(r[metric] for r in post[:third])
    last = max(r[metric] for r in post[-third:])
    limit = max(first * (1 + rel), first + (cap if absolute is None else absolute))
    result.update(first=first, last=last, limit=round(limit), ok=last <= limit)
    return result


def read_events(path: Path) -> tuple[list[dict], int]:
    events, bad = [], 0
    if not path.exists():
        return events, bad
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                events.append(json.loads(line))
            except ValueError:
                bad += 1
    return events, bad


def check_events(events: list[dict], killed_ids: list[str]) -> dict:
    sessions: dict[str, list[str]] = defaultdict(list)
    for e in events:
        if e.get("event") in ("connect", "auth_success", "auth_failure", "disconnect"):
            sessions[e.get("session_id", "")].append(e["event"])
    connects = {sid for sid, kinds in sessions.items() if "connect" in kinds}
    missing = sorted(sid for sid in connects if "disconnect" not in sessions[sid])
    orphans = sorted(sid for sid, kinds in sessions.items() if "disconnect" in kinds and "connect" not in kinds)
    duplicates = sorted(sid for sid, kinds in sessions.items()
                        if kinds.count("disconnect") > 1 or kinds.count("connect") > 1)
    not_last = sorted(sid for sid, kinds in sessions.items() if "disconnect" in kinds and kinds[-1] != "disconnect")
    disconnects = {e["session_id"]: e for e in events if e.get("event") == "disconnect"}
    reasons = Counter(e.get("reason", "") for e in disconnects.values())
    killed_wrong = [sid for sid in killed_ids if disconnects.get(sid, {}).get("reason") != "killed"]
    kinds = Counter(e.get("event") for e in events)
    blocked = Counter(e.get("reason", "") for e in events if e.get("event") == "blocked")
    blocked_ids = {e.get("session_id") for e in events if e.get("event") == "blocked"}

    def total(field):
        return sum(int(e.get(field) or 0) for e in disconnects.values())
    return {
        "kinds": kinds, "connects": len(connects), "disconnects": len(disconnects), "missing": missing,
        "orphans": orphans, "duplicates": duplicates, "not_last": not_last, "reasons": reasons,
        "killed_wrong": killed_wrong, "blocked": blocked, "blocked_reused": sorted(blocked_ids & set(sessions)),
        "bytes_in": total("bytes_in"), "bytes_out": total("bytes_out"),
    }


def check_hook_runs(path: Path, connects: set[str]) -> dict:
    runs: dict[str, Counter] = defaultdict(Counter)
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 2:
                runs[parts[0]][parts[1]] += 1
    result = {"runs": {k: sum(v.values()) for k, v in runs.items()}}
    for kind in ("connect", "disconnect"):
        result[f"{kind}_missing"] = sorted(sid for sid in connects if runs[kind][sid] == 0)
        result[f"{kind}_repeated"] = sorted(sid for sid, n in runs[kind].items() if n > 1)
    return result


LOG_LINE = re.compile(r"^\S+ (trace|debug|info|warning|error|critical) (.*)$")


def scan_log(path: Path) -> dict:
    levels: Counter = Counter()
    messages: Counter = Counter()
    ban_lines = 0
    if path.exists():
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = LOG_LINE.match(line.rstrip("\n"))
                if not m:
                    continue
                level, text = m.groups()
                levels[level] += 1
                if text.startswith("ban: client "):
                    ban_lines += 1
                if level in ("warning", "error", "critical"):
                    shape = re.sub(r"\b[0-9a-f]{16}\b", "<id>", text)
                    shape = re.sub(r"\d+(\.\d+)?", "#", shape)
                    messages[f"{level}: {shape[:160]}"] += 1
    return {"levels": levels, "messages": messages, "ban_lines": ban_lines}


def mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    work = Path(argv[0])
    run = json.loads((work / "run.json").read_text())
    counts = run["counts"]
    opts = run["options"]
    cap = run.get("max_concurrent_hooks", 10)
    rows = read_samples(work / "samples.csv")
    events, bad_lines = read_events(work / "events.jsonl")
    ev = check_events(events, run["killed_ids"])
    connects = {e["session_id"] for e in events if e.get("event") == "connect"}
    hooks = check_hook_runs(work / "hook-runs.txt", connects)
    logscan = scan_log(work / "proxy.log")

    out: list[str] = []
    checks: list[tuple[bool, str]] = []

    def check(ok: bool, text: str):
        checks.append((bool(ok), text))

    # --- resources ---
    baseline = next((r for r in rows if r["phase"] == "baseline"), None)
    after = [r for r in rows if r["phase"] == "after"]
    last_after = after[-1] if after else None
    warm = [r for r in rows if r["phase"] == "warmup"]
    post = [r for r in rows if r["phase"] == "load"]
    out.append(f"samples: {len(rows)} ({len(warm)} in the warm-up, {len(post)} after it, every "
               f"{opts['sample_every']:g} s); growth rule: max of the last third of the post-warm-up samples "
               "<= limit derived from the max of the first third")
    header = (f"{'metric':<16} {'baseline':>9} {'warm-up min/med/max':>22} {'after warm-up min/med/max':>26} "
              f"{'1st third':>9} {'last third':>10} {'limit':>7} {'after drain':>11}  verdict")
    out.append(header)
    out.append("-" * len(header))
    for metric, (label, _, _) in list(GROWTH_RULES.items()) + [(k, (v, 0, 0)) for k, v in INFO_METRICS.items()]:
        g = growth(rows, metric, cap) if metric in GROWTH_RULES else {"first": None, "last": None,
                                                                       "limit": None, "ok": None}
        if metric in GROWTH_RULES:
            verdict = "not judged (short run)" if g["ok"] is None else ("ok" if g["ok"] else "GROWS")
        else:
            verdict = "(info)"
        fmt = (lambda v: "-" if v is None else f"{v:g}")
        out.append(f"{label:<16} {fmt(baseline.get(metric) if baseline else None):>9} "
                   f"{stats(values(warm, metric)):>22} {stats(values(post, metric)):>26} "
                   f"{fmt(g['first']):>9} {fmt(g['last']):>10} {fmt(g['limit']):>7} "
                   f"{fmt(last_after.get(metric) if last_after else None):>11}  {verdict}")
        if metric in GROWTH_RULES and g["ok"] is not None:
            check(g["ok"], f"{label}: last third max {g['last']:g} <= limit {g['limit']:g} "
                           f"(first third max {g['first']:g})")
        elif metric in GROWTH_RULES:
            check(True, f"{label}: not judged: the post-warm-up thirds are shorter than one "
                        f"{LOAD_CYCLE_SECONDS}-s load cycle (run longer than about 2 minutes)")
    cpu = values(rows, "cpu_s")
    if cpu and post:
        out.append(f"proxy CPU: {max(cpu):.1f} s over the run "
                   f"({100 * max(cpu) / max(1.0, opts['duration']):.0f}% of one core on average)")

    if last_after and baseline:
        spare = 1 if run.get("variant_at_end") == "b" else 0
        fd_limit = baseline["fds"] + FD_SLACK_AFTER_DRAIN + spare
        check(last_after["sessions"] == 0, f"after the drain: {last_after['sessions']} sessions (must be 0)")
        check(last_after["hooks"] == 0, f"after the drain: {last_after['hooks']} hook processes (must be 0)")
        check(last_after["zombies"] == 0, f"after the drain: {last_after['zombies']} zombie children (must be 0)")
        check(last_after["fds"] <= fd_limit,
              f"after the drain: {last_after['fds']} fds <= baseline {baseline['fds']} + {FD_SLACK_AFTER_DRAIN}"
              + (" + 1 (spare listener open)" if spare else "") + f" = {fd_limit}")
    else:
        check(False, "no baseline or after-drain samples")

    # --- totals ---
    handshakes = {
        "idle bursts": counts["burst_handshakes"], "stalled": counts["stalled_handshakes"],
        "throughput": counts["throughput_handshakes"], "VncAuth logins": counts["logins"],
        "holders": counts["holders"], "Net::VNC": counts["perl_viewers"],
        "spare-listener probes": counts["spare_handshakes"],
    }
    out.append("")
    out.append("totals")
    out.append(f"  handshakes completed through the proxy: {sum(handshakes.values())} ("
               + ", ".join(f"{k} {v}" for k, v in handshakes.items()) + ")")
    out.append(f"  wrong passwords: {counts['attempts']} attempts from {opts['attackers']} addresses; "
               f"failed auth seen by the viewers {counts['auth_failures_seen']}, auth_failure events "
               f"{ev['kinds'].get('auth_failure', 0)}")
    out.append(f"  bans: {ev['kinds'].get('ban', 0)} ban events ({logscan['ban_lines']} 'ban:' log lines); "
               f"refusals while banned seen by the viewers {counts['banned_refusals_seen']}, blocked events "
               + (", ".join(f"{k} {v}" for k, v in sorted(ev['blocked'].items())) or "0"))
    out.append(f"  ctl kill: {counts['kills_ok']} killed ({counts['kills_missed']} targets ended first, "
               f"{counts['kills_no_candidate']} times no target); holders that saw their kill "
               f"{counts['holders_killed_seen']}")
    out.append(f"  SIGHUP reloads: {counts['reloads_sent']} sent, {counts['reloads_done']} done, "
               f"{counts['reloads_failed']} failed; the reload-added listener answered {counts['spare_handshakes']} "
               f"times and was closed {counts['spare_refused']} times after removal")
    out.append(f"  scanners: {counts['scanner_close']} closed at once, {counts['scanner_garbage']} sent HTTP, "
               f"{counts['scanner_stall']} stalled in the handshake"
               + (f" (closed after {stats(run['stall_seconds'], 2)} s min/med/max)" if run["stall_seconds"] else ""))
    tp_runs = counts["throughput_runs"]
    out.append(f"  streamed: {mb(counts['throughput_bytes'])} read by throughput viewers in {tp_runs} runs of 2 s"
               + (f" ({counts['throughput_bytes'] / 1e6 / (2 * tp_runs):.0f} MB/s average)" if tp_runs else "")
               + f"; relayed in all sessions: {mb(ev['bytes_out'])} server->viewer, {mb(ev['bytes_in'])} "
               "viewer->server (disconnect events)")
    out.append(f"  sessions: {ev['connects']} connect, {ev['disconnects']} disconnect events; missing disconnect "
               f"{len(ev['missing'])}, duplicated {len(ev['duplicates'])}, without connect {len(ev['orphans'])}, "
               f"disconnect not last {len(ev['not_last'])}")
    out.append("  disconnect reasons: " + ", ".join(f"{k or '(empty)'} {v}" for k, v in ev["reasons"].most_common()))
    out.append(f"  events by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(ev["kinds"].items())))
    out.append(f"  command hook runs: " + ", ".join(f"{k} {v}" for k, v in sorted(hooks["runs"].items())))
    stop = run["proxy_stop"]
    out.append(f"  proxy stop (SIGTERM): status {stop['status']} after {stop['seconds']} s"
               + (" (needed SIGKILL)" if stop["killed"] else ""))
    levels = logscan["levels"]
    out.append(f"  proxy log: {sum(levels.values())} lines, {levels.get('warning', 0)} warnings, "
               f"{levels.get('error', 0)} errors, {levels.get('critical', 0)} critical")
    for message, n in logscan["messages"].most_common(8):
        out.append(f"    {n:>6} x {message}")
    problem_ids = ev["missing"][:3] + ev["duplicates"][:3] + ev["orphans"][:3] + ev["not_last"][:3] \
        + ev["killed_wrong"][:3] + hooks["connect_missing"][:3] + hooks["disconnect_missing"][:3]
    if problem_ids:
        out.append("  sessions with problems (first ones):")
        for sid in dict.fromkeys(problem_ids):
            out += session_story(work, events, sid)
    if run["errors"]:
        out.append(f"  load errors ({counts['errors']}), first ones:")
        for e in run["errors"][:10]:
            out.append(f"    t={e['t']}s {e['activity']}: {e['message'][:200]}")

    # --- event checks ---
    check(ev["connects"] > 0, f"{ev['connects']} sessions seen in the events log")
    check(not ev["missing"], f"every connect has its disconnect ({len(ev['missing'])} missing"
          + (f", e.g. {', '.join(ev['missing'][:3])}" if ev["missing"] else "") + ")")
    check(not ev["duplicates"], f"exactly one connect and one disconnect per session ({len(ev['duplicates'])} "
          "sessions with more" + (f", e.g. {', '.join(ev['duplicates'][:3])}" if ev["duplicates"] else "") + ")")
    check(not ev["orphans"], f"no disconnect without a connect ({len(ev['orphans'])})")
    check(not ev["not_last"], f"disconnect is each session's last event ({len(ev['not_last'])} not)")
    check(not ev["blocked_reused"], f"blocked connections never became sessions ({len(ev['blocked_reused'])})")
    check(bad_lines == 0, f"events log lines are JSON ({bad_lines} bad)")
    check(not ev["killed_wrong"], f"every ctl-killed session ended with reason killed "
          f"({len(run['killed_ids']) - len(ev['killed_wrong'])} of {len(run['killed_ids'])})")
    check(counts["auth_failures_seen"] == ev["kinds"].get("auth_failure", 0),
          f"auth_failure events {ev['kinds'].get('auth_failure', 0)} = failures the viewers saw "
          f"{counts['auth_failures_seen']}")
    check(counts["banned_refusals_seen"] == ev["blocked"].get("banned", 0),
          f"blocked (banned) events {ev['blocked'].get('banned', 0)} = refusals the viewers saw "
          f"{counts['banned_refusals_seen']}")
    check(ev["kinds"].get("ban", 0) > 0 or counts["attempts"] < 3, f"bans happened ({ev['kinds'].get('ban', 0)})")
    check(ev["kinds"].get("ban", 0) == logscan["ban_lines"],
          f"ban events {ev['kinds'].get('ban', 0)} = 'ban:' log lines {logscan['ban_lines']}")
    check(not hooks["connect_missing"] and not hooks["disconnect_missing"],
          f"the command hook ran for every session's connect and disconnect ({len(hooks['connect_missing'])} / "
          f"{len(hooks['disconnect_missing'])} missing)")
    check(not hooks["connect_repeated"] and not hooks["disconnect_repeated"],
          "the command hook ran once per event (retries: 0)")
    check(counts["reloads_failed"] == 0 and counts["reloads_done"] == counts["reloads_sent"],
          f"every SIGHUP reload was applied ({counts['reloads_done']} of {counts['reloads_sent']})")
    check(counts["errors"] == 0, f"no load errors ({counts['errors']})")
    check(stop["status"] == 0 and not stop["killed"], f"the proxy stopped cleanly on SIGTERM (status {stop['status']})")
    check(levels.get("critical", 0) == 0, f"no critical lines in the proxy log ({levels.get('critical', 0)})")

    passed = all(ok for ok, _ in checks)
    verdict = "PASS" if passed else "FAIL"
    if run.get("interrupted_after") is not None:
        verdict = f"INTERRUPTED after {run['interrupted_after']:.0f} s ({verdict.lower()} so far)"
    title = (f"== soak summary: {verdict} (load {opts['duration']:.0f} s, warm-up "
             f"{opts['warmup']:.0f} s, SIGHUP every {opts['reload_every']:g} s, ctl kill every {opts['kill_every']:g} s)")
    lines = [title, *out, "", "checks"]
    lines += [f"  [{'ok' if ok else 'FAIL'}] {text}" for ok, text in checks]
    text = "\n".join(lines) + "\n"
    print("\n" + text, end="")
    (work / "summary.txt").write_text(text)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
