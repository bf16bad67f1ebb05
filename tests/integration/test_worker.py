"""`vnc-hooks-manager worker` (docs/workers.md): hooks run from the Redis
event stream. Real redis-server, real proxy publishing real sessions (Xvnc,
Net::VNC), real worker processes running a recording hook
(hooks/worker_hook.py: a start and an end record per run, with its
placeholders).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from redis_support import RedisServer
from vhm_harness import (HOOKS_DIR, OutputCollector, Proxy, Xvnc, close_pipes, kill_quietly, make_config,
                         proxy_binary, run_viewer, wait_until, yaml_scalar)

STREAM = "vhm-test:events"
GROUP = "workers"
HOOK = HOOKS_DIR / "worker_hook.py"
HOOK_FIELDS = ["event", "session_id", "timestamp", "client_ip", "client_port", "target_port", "user", "reason"]


def hook_cmd(out_file: Path, sleep: float = 0) -> str:
    return " ".join([str(HOOK), str(out_file), str(sleep)] + [f"{f}={{{f}}}" for f in HOOK_FIELDS])


def worker_config(redis_url: str, out_file: Path, kinds=("connect", "auth_success", "auth_failure", "disconnect"),
                  sleep: float = 0, broker: dict | None = None, hook_extra: dict | None = None,
                  with_broker: bool = True) -> str:
    """A worker's file: global + events + broker (no listeners)."""
    lines = ["global:", "  log_level: info", "  max_concurrent_hooks: 10", "  shutdown_grace: 10s", "events:"]
    for kind in kinds:
        lines += [f"  {kind}:", f"    - name: {kind}_hook", f"      cmd: {yaml_scalar(hook_cmd(out_file, sleep))}"]
        for key, value in (hook_extra or {}).items():
            lines.append(f"      {key}: {yaml_scalar(value)}")
    if with_broker:
        lines += ["broker:", f"  url: {redis_url}", f"  stream: {STREAM}", f"  group: {GROUP}"]
        for key, value in (broker or {}).items():
            lines.append(f"  {key}: {yaml_scalar(value)}")
    return "\n".join(lines) + "\n"


def read_hook_records(path: Path) -> list[dict]:
    try:
        with open(path, encoding="ascii") as records:
            return [json.loads(line) for line in records if line.endswith("\n")]
    except FileNotFoundError:
        return []


def finished_runs(path: Path) -> list[dict]:
    """End records of runs whose worker was still alive at the end."""
    return [r for r in read_hook_records(path) if r["phase"] == "end" and not r["orphaned"]]


class Worker:
    """One `vnc-hooks-manager worker` process with its log collected."""

    def __init__(self, workdir: Path, name: str, config_text: str):
        self.config_path = workdir / f"{name}.yaml"
        self.config_path.write_text(config_text)
        self.proc: subprocess.Popen | None = None
        self.log: OutputCollector | None = None
        self.out: OutputCollector | None = None

    def start(self, wait_consuming: bool = True) -> "Worker":
        self.proc = subprocess.Popen([proxy_binary(), "worker", "--config", str(self.config_path)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     cwd=self.config_path.parent)
        self.out = OutputCollector(self.proc.stdout, "worker-out")
        self.log = OutputCollector(self.proc.stderr, "worker-err")
        if wait_consuming:
            self.log.wait_for(r"worker: consuming")
        return self

    def wait_exit(self, timeout: float = 15) -> int:
        code = self.proc.wait(timeout=timeout)
        close_pipes(self.proc, self.out, self.log)
        return code

    def stop(self):
        if self.proc is not None:
            kill_quietly(self.proc, grace=3)
            close_pipes(self.proc, self.out, self.log)


def pending_count(redis: RedisServer) -> int:
    return redis.command("XPENDING", STREAM, GROUP)[0]


def xadd_event(redis: RedisServer, kind: str, session_id: str, **fields) -> str:
    event = {"event": kind, "session_id": session_id,
             "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}
    event.update(fields)
    return redis.command("XADD", STREAM, "*", "event", kind, "session_id", session_id, "host", "test-host",
                         "json", json.dumps(event))


class WorkerTestCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="vhm-worker-")
        self.workdir = Path(self.tmp.name)
        self.redis = RedisServer(self.workdir / "redis", persistent=False)
        self.workers: list[Worker] = []
        self.hook_pids: set[int] = set()
        self.addCleanup(self.tmp.cleanup)
        self.addCleanup(self.redis.stop)
        self.addCleanup(self._stop_workers)

    def _stop_workers(self):
        for worker in self.workers:
            worker.stop()
        # Hooks a SIGKILLed worker left behind: stopped by pid.
        for record_file in self.workdir.glob("*.jsonl"):
            for record in read_hook_records(record_file):
                self.hook_pids.add(record["pid"])
        for pid in self.hook_pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def worker(self, name: str, config_text: str, **start) -> Worker:
        worker = Worker(self.workdir, name, config_text)
        self.workers.append(worker)
        return worker.start(**start)


class ProxyToWorkerTest(WorkerTestCase):
    def test_every_event_of_real_sessions_runs_its_hooks_on_the_worker_with_its_placeholders(self):
        self.redis.start()
        out = self.workdir / "hooks.jsonl"
        self.worker("worker", worker_config(self.redis.url, out))
        xvnc = Xvnc(str(self.workdir))
        xvnc.start()
        self.addCleanup(xvnc.stop)
        proxy = Proxy(str(self.workdir))
        self.addCleanup(proxy.stop)
        proxy.start(make_config([{"listen": "127.0.0.1:0", "target": xvnc.target}],
                                sections={"broker": {"url": self.redis.url, "stream": STREAM,
                                                     "spool_dir": str(self.workdir / "spool")}}))
        self.assertTrue(run_viewer(proxy.port()).ok)
        self.assertFalse(run_viewer(proxy.port(), password="wrong-pw").ok)

        # Six events (connect, auth_success|auth_failure, disconnect of two sessions).
        wait_until(lambda: len(finished_runs(out)) >= 6, what="six finished hook runs on the worker")
        entries = self.redis.xrange(STREAM)
        published = sorted((fields["event"], fields["session_id"]) for _, fields in entries)
        runs = finished_runs(out)
        self.assertEqual(sorted((r["args"]["event"], r["args"]["session_id"]) for r in runs), published)
        self.assertEqual(sorted(kind for kind, _ in published),
                         ["auth_failure", "auth_success", "connect", "connect", "disconnect", "disconnect"])
        for _, fields in entries:  # the hook saw the event's own values
            event = json.loads(fields["json"])
            run = next(r for r in runs if r["args"]["event"] == event["event"]
                       and r["args"]["session_id"] == event["session_id"])
            for field in HOOK_FIELDS:
                self.assertEqual(run["args"][field], event.get(field, ""), field)
            self.assertEqual(run["args"]["client_ip"], "127.0.0.1")
            self.assertEqual(run["args"]["target_port"], str(xvnc.port))
        # Per-session order holds on the worker as on the proxy.
        order = {"connect": 0, "auth_success": 1, "auth_failure": 1, "disconnect": 2}
        starts = [r for r in read_hook_records(out) if r["phase"] == "start"]
        for session in {sid for _, sid in published}:
            kinds = [r["args"]["event"] for r in starts if r["args"]["session_id"] == session]
            self.assertEqual(kinds, sorted(kinds, key=order.get), session)
        # Each entry acknowledged once its hooks finished.
        wait_until(lambda: pending_count(self.redis) == 0, what="every entry acknowledged")


class ClaimTest(WorkerTestCase):
    def test_entries_of_a_worker_killed_mid_hook_are_claimed_and_run_by_the_survivor(self):
        self.redis.start()
        out_a, out_b = self.workdir / "a.jsonl", self.workdir / "b.jsonl"
        broker = {"claim_idle": "1s", "batch": 2}
        # a's hooks outlast the test's steps (so it dies mid-hook); b's are short.
        worker_a = self.worker("a", worker_config(self.redis.url, out_a, kinds=["connect"], sleep=5, broker=broker))
        sessions = [f"a{i:015x}" for i in range(4)]
        for session in sessions:
            xadd_event(self.redis, "connect", session)
        wait_until(lambda: len(read_hook_records(out_a)) >= 2, what="worker a to start hooks")
        self.worker("b", worker_config(self.redis.url, out_b, kinds=["connect"], sleep=0.5, broker=broker))
        more = [f"b{i:015x}" for i in range(4)]
        for session in more:
            xadd_event(self.redis, "connect", session)
        # Mid-hook: a has runs started and none finished.
        self.assertEqual([r for r in read_hook_records(out_a) if r["phase"] == "end"], [])
        worker_a.proc.send_signal(signal.SIGKILL)
        self.assertEqual(worker_a.wait_exit(), -signal.SIGKILL)
        killed_at = time.time()

        def all_ran():
            done = {r["args"]["session_id"] for r in finished_runs(out_a) + finished_runs(out_b)}
            return done >= set(sessions + more)
        wait_until(all_ran, timeout=15, what="every event's hook to finish on a live worker")
        # What a had started was run again by b after claim_idle.
        started_on_a = {r["args"]["session_id"] for r in read_hook_records(out_a) if r["phase"] == "start"}
        finished_on_b = {r["args"]["session_id"] for r in finished_runs(out_b)}
        self.assertTrue(started_on_a, "worker a started nothing")
        self.assertLessEqual(started_on_a, finished_on_b)
        claimed = [r for r in read_hook_records(out_b) if r["phase"] == "start"
                   and r["args"]["session_id"] in started_on_a]
        self.assertTrue(all(r["time"] >= killed_at for r in claimed), "claimed from a live worker")
        self.workers[1].log.wait_for(r"worker: claimed connect event of session", count=len(started_on_a))
        wait_until(lambda: pending_count(self.redis) == 0, what="every entry acknowledged")


class ConfigTest(WorkerTestCase):
    def test_gates_and_a_missing_broker_section_are_configuration_errors(self):
        out = self.workdir / "hooks.jsonl"
        gate = Worker(self.workdir, "gate", worker_config("redis://127.0.0.1:1", out, kinds=["connect"],
                                                          hook_extra={"gate": True}))
        for args in ([], ["--check-config"]):
            done = subprocess.run([proxy_binary(), "worker", "--config", str(gate.config_path)] + args,
                                  capture_output=True, text=True, timeout=30)
            self.assertEqual(done.returncode, 1, done.stderr)
            self.assertRegex(done.stderr, r"gate\.yaml:\d+: events\.connect\[0\]\.gate: hook connect_hook: "
                                          r"gates run inline on the proxy")
        nobroker = Worker(self.workdir, "nobroker", worker_config("", out, with_broker=False))
        done = subprocess.run([proxy_binary(), "worker", "--config", str(nobroker.config_path)],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertIn("a worker needs a `broker:` section", done.stderr)
        good = Worker(self.workdir, "good", worker_config("redis://127.0.0.1:1", out))
        done = subprocess.run([proxy_binary(), "worker", "--config", str(good.config_path), "--check-config"],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn(f"config OK: worker of stream {STREAM} in group {GROUP}, 4 hook(s)", done.stdout)


class RedisLifecycleTest(WorkerTestCase):
    def test_a_worker_started_before_redis_consumes_once_it_is_up_and_drains_on_sigterm(self):
        out = self.workdir / "hooks.jsonl"
        worker = self.worker("late", worker_config(self.redis.url, out, kinds=["connect", "disconnect"], sleep=1),
                             wait_consuming=True)
        worker.log.wait_for(r"worker: Redis is unreachable")
        self.redis.start()
        xadd_event(self.redis, "connect", "c0ffee0000000001", client_ip="192.0.2.7")
        # Poison messages: acknowledged, counted and logged, never retried.
        self.redis.command("XADD", STREAM, "*", "event", "connect", "host", "test-host")
        self.redis.command("XADD", STREAM, "*", "event", "connect", "host", "test-host", "json", "{not json")
        worker.log.wait_for(r"Redis at 127\.0\.0\.1:\d+ is back")
        wait_until(lambda: finished_runs(out), what="the hook of the event sent after Redis came up")
        self.assertEqual(finished_runs(out)[0]["args"]["client_ip"], "192.0.2.7")
        worker.log.wait_for(r"is malformed: no json field", count=1)
        worker.log.wait_for(r"is malformed: not JSON", count=1)
        wait_until(lambda: pending_count(self.redis) == 0, what="hooked and malformed entries acknowledged")

        # SIGTERM with a hook running: it finishes, is acknowledged, exit 0.
        xadd_event(self.redis, "disconnect", "c0ffee0000000001")
        wait_until(lambda: [r for r in read_hook_records(out) if r["phase"] == "start"
                            and r["args"]["event"] == "disconnect"], what="the disconnect hook to start")
        worker.proc.send_signal(signal.SIGTERM)
        self.assertEqual(worker.wait_exit(), 0, worker.log.text())
        self.assertEqual(len(finished_runs(out)), 2)
        self.assertEqual(pending_count(self.redis), 0)
        self.assertRegex(worker.log.text(), r"worker stopped: read 4, claimed 0, hooks finished 2, acknowledged 4, "
                                            r"malformed 2")


if __name__ == "__main__":
    unittest.main()
