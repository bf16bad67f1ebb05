"""The proxy as a system service (issue 4, "Service behaviour"): the privilege
drop to global user:/group: seen in /proc, a real session and hooks after it,
systemd notifications on a NOTIFY_SOCKET made here, and the installed layout:
`cmake --install`, the unit under `systemd-analyze verify`, and the CPack .deb.
Runs as root (CI does)."""
import os
import pwd
import grp
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
import unittest
from pathlib import Path

from vhm_harness import (DEFAULT_WAIT, LISTENING_RE, IntegrationTest, OutputCollector,
                         XvncTestCase, close_pipes, kill_quietly, make_config, proxy_binary,
                         wait_until)

CAP_KILL, CAP_SETGID, CAP_SETUID, CAP_NET_BIND_SERVICE, CAP_NET_ADMIN = 5, 6, 7, 10, 12
NOBODY = pwd.getpwnam("nobody")
DAEMON = pwd.getpwnam("daemon")
NOGROUP = grp.getgrgid(NOBODY.pw_gid)


def mask(*capabilities: int) -> int:
    value = 0
    for capability in capabilities:
        value |= 1 << capability
    return value


def proc_status(path: Path) -> dict[str, str]:
    fields = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return fields


def identity(status: dict[str, str]) -> dict:
    """Uids/gids (real, effective, saved, fs) and capability sets of one task."""
    return {
        "Uid": status["Uid"].split(),
        "Gid": status["Gid"].split(),
        "Groups": status["Groups"].split(),
        **{name: int(status[name], 16) for name in
           ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")},
    }


# A hook that records who it runs as and what capabilities it has, one line
# per run: "event uid gid CapInh CapPrm CapEff CapAmb watchdog_env".
WHOAMI_HOOK = """#!/bin/sh
caps=$(awk '/^Cap(Inh|Prm|Eff|Amb):/ {printf "%s ", $2}' /proc/self/status)
echo "$VNC_EVENT $(id -u) $(id -g) $caps${WATCHDOG_USEC:-nowatchdog}" >> "$1"
"""


class ServiceDir:
    """A temp dir the dropped user can traverse, with a hook and its output file."""

    def __init__(self, base: Path):
        self.base = base
        base.chmod(0o755)
        self.hook = base / "whoami.sh"
        self.hook.write_text(WHOAMI_HOOK)
        self.hook.chmod(0o755)
        self.out = base / "whoami.txt"
        self.out.touch()
        self.out.chmod(0o666)  # written by whichever user the hook runs as

    def hook_lines(self) -> list[list[str]]:
        return [line.split() for line in self.out.read_text().splitlines() if line.strip()]


def free_low_port() -> int:
    """A port below 1024 nothing listens on (we run as root)."""
    for port in range(900, 1000):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise unittest.SkipTest("no free port below 1024")


@unittest.skipUnless(os.geteuid() == 0, "the privilege drop needs root (CI runs as root)")
class PrivilegeDrop(XvncTestCase):
    xvnc_options = {"security": "VncAuth", "desktop": "vhm-it service desk"}

    def setUp(self):
        super().setUp()
        self.dir = ServiceDir(self.tmp)

    def listener(self, **extra) -> dict:
        return dict({"listen": "127.0.0.1:0", "target": self.xvnc.target}, **extra)

    def whoami_hooks(self, **extra) -> dict:
        return {kind: [dict({"name": f"whoami_{kind}", "cmd": f"{self.dir.hook} {self.dir.out}"},
                            **extra)]
                for kind in ("connect", "disconnect")}

    def start_dropped(self, listeners: list[dict], events: dict | None = None,
                      global_: dict | None = None, sections: dict | None = None):
        settings = {"user": "nobody"}
        settings.update(global_ or {})
        config = make_config(listeners, events, settings, sections)
        return self.start_proxy(config, listeners=len(listeners))

    def wait_dropped(self, proxy) -> str:
        """The drop's log line, once the hook workers (started after it) run too."""
        proxy.log().wait_for(r"vnc-hooks-manager \S+ running \(")
        return proxy.log().wait_for(r"running as \S+ with ")[0].string

    def assert_tasks(self, proxy, caps: int, uid: int, gid: int):
        """Every thread of the proxy (the io thread and the hook workers alike)
        runs as uid/gid with exactly `caps` permitted, effective and bounding."""
        tasks = sorted(Path(f"/proc/{proxy.proc.pid}/task").iterdir())
        self.assertGreater(len(tasks), 1, "expected the hook dispatcher's worker threads")
        for task in tasks:
            seen = identity(proc_status(task / "status"))
            with self.subTest(task=task.name):
                self.assertEqual(seen["Uid"], [str(uid)] * 4)
                self.assertEqual(seen["Gid"], [str(gid)] * 4)
                self.assertEqual(seen["Groups"], [str(gid)])
                self.assertEqual(hex(seen["CapPrm"]), hex(caps))
                self.assertEqual(hex(seen["CapEff"]), hex(caps))
                self.assertEqual(hex(seen["CapBnd"]), hex(caps))
                self.assertEqual(seen["CapInh"], 0)
                self.assertEqual(seen["CapAmb"], 0)

    def login_and_wait_hooks(self, proxy, runs: int = 2) -> list[list[str]]:
        self.assert_healthy_login(proxy.port(), self.xvnc)
        return wait_until(lambda: (lines := self.dir.hook_lines()) and len(lines) >= runs and lines,
                          what=f"{runs} hook runs in {self.dir.out}")

    def test_user_nobody_without_needs_keeps_no_capabilities_and_still_relays_and_runs_hooks(self):
        proxy = self.start_dropped([self.listener()], self.whoami_hooks())
        line = self.wait_dropped(proxy)
        self.assertIn(f"running as nobody:{NOGROUP.gr_name} with no capabilities", line)
        self.assert_tasks(proxy, 0, NOBODY.pw_uid, NOBODY.pw_gid)
        runs = self.login_and_wait_hooks(proxy)
        self.assertEqual([r[0] for r in runs], ["connect", "disconnect"])
        for run in runs:  # the hook runs as the service user, with no capabilities
            self.assertEqual(run[1:3], [str(NOBODY.pw_uid), str(NOBODY.pw_gid)], run)
            self.assertEqual(run[3:7], ["0000000000000000"] * 4, run)

    def test_run_as_hook_keeps_setuid_setgid_kill_and_the_hook_runs_as_its_user_without_caps(self):
        proxy = self.start_dropped([self.listener()], self.whoami_hooks(run_as="daemon"))
        line = self.wait_dropped(proxy)
        self.assertIn("with cap_kill, cap_setgid, cap_setuid (hook whoami_connect has run_as: daemon)",
                      line)
        self.assert_tasks(proxy, mask(CAP_KILL, CAP_SETGID, CAP_SETUID),
                          NOBODY.pw_uid, NOBODY.pw_gid)
        runs = self.login_and_wait_hooks(proxy)
        for run in runs:
            self.assertEqual(run[1:3], [str(DAEMON.pw_uid), str(DAEMON.pw_gid)], run)
            self.assertEqual(run[3:7], ["0000000000000000"] * 4, run)

    def test_run_as_hook_that_times_out_is_killed_by_the_dropped_proxy(self):
        sleeper = self.tmp / "sleep.sh"
        sleeper.write_text("#!/bin/sh\nexec sleep 59.4321\n")
        sleeper.chmod(0o755)
        events = {"connect": [{"name": "slow", "cmd": str(sleeper),
                               "run_as": "daemon", "timeout": 1}]}
        proxy = self.start_dropped([self.listener()], events, {"kill_grace": 1})
        self.wait_dropped(proxy)
        self.assert_healthy_login(proxy.port(), self.xvnc)
        # Killing a daemon-owned process from uid nobody needs the kept cap_kill.
        sleeping = ["pgrep", "-u", "daemon", "-f", "sleep 59.4321"]
        wait_until(lambda: subprocess.run(sleeping, capture_output=True).stdout,
                   what="the hook to run as daemon")
        proxy.log().wait_for(r"hook slow .* timed out after 1000 ms")
        wait_until(lambda: not subprocess.run(sleeping, capture_output=True).stdout,
                   timeout=5, what="the timed-out hook (uid daemon) to be killed by uid nobody")
        self.assertEqual(proxy.log().matching(r"still running .* after SIGTERM"), [])

    def test_tproxy_listener_keeps_cap_net_admin_only(self):
        proxy = self.start_dropped([{"listen": "127.0.0.1:0", "transparent": "tproxy",
                                     "allow_targets": ["127.0.0.0/8:5900-5999"]}])
        line = self.wait_dropped(proxy)
        self.assertIn("with cap_net_admin (transparent: tproxy on 127.0.0.1:0)", line)
        self.assert_tasks(proxy, mask(CAP_NET_ADMIN), NOBODY.pw_uid, NOBODY.pw_gid)

    def test_listener_below_1024_keeps_cap_net_bind_service(self):
        port = free_low_port()
        proxy = self.start_dropped([self.listener(listen=f"127.0.0.1:{port}")])
        line = self.wait_dropped(proxy)
        self.assertIn(f"with cap_net_bind_service (port {port} below 1024)", line)
        self.assert_tasks(proxy, mask(CAP_NET_BIND_SERVICE), NOBODY.pw_uid, NOBODY.pw_gid)
        self.assert_healthy_login(port, self.xvnc)

    def test_group_replaces_the_primary_group(self):
        proxy = self.start_dropped([self.listener()], global_={"group": "daemon"})
        line = self.wait_dropped(proxy)
        self.assertIn("running as nobody:daemon with no capabilities", line)
        status = identity(proc_status(Path(f"/proc/{proxy.proc.pid}/status")))
        self.assertEqual(status["Gid"], [str(DAEMON.pw_gid)] * 4)
        self.assertEqual(status["Groups"], [str(DAEMON.pw_gid)])

    def test_files_the_dropped_user_cannot_write_are_warned_about_at_start(self):
        closed = self.tmp / "root-only"
        closed.mkdir(mode=0o755)
        sections = {"blocking": {"state_file": str(closed / "bans.json")}}
        events = {"disconnect": [{"name": "audit", "action": "log",
                                  "path": str(closed / "audit.jsonl")}]}
        proxy = self.start_dropped([self.listener()], events, sections=sections)
        self.wait_dropped(proxy)
        proxy.log().wait_for(rf"warn.*blocking: state_file {closed}/bans.json cannot be saved "
                             r"by user nobody")
        proxy.log().wait_for(rf"warn.*hook audit: log file {closed}/audit.jsonl is not writable "
                             r"by user nobody")

    def test_user_set_while_not_root_is_a_clear_error_and_exit_1(self):
        config = self.tmp / "config.yaml"
        config.write_text(make_config([self.listener()], None,
                                      {"user": "daemon", "hooks_dir": str(self.tmp)}))
        config.chmod(0o644)
        result = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                                 proxy_binary(), "--config", str(config)],
                                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=DEFAULT_WAIT, cwd="/")
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn("cannot switch to user daemon:daemon (global user:): started as uid "
                      f"{NOBODY.pw_uid}, not root", result.stderr)


UNIT_TEMPLATE = Path(os.environ.get("VHM_SOURCE_DIR", Path(__file__).resolve().parents[2])) \
    / "packaging/systemd/vnc-hooks-manager.service.in"


def unit_directive(name: str) -> str:
    for line in UNIT_TEMPLATE.read_text().splitlines():
        if line.startswith(name + "="):
            return line.split("=", 1)[1]
    raise AssertionError(f"{name}= not in {UNIT_TEMPLATE}")


@unittest.skipUnless(os.geteuid() == 0, "starts as root like the unit (CI runs as root)")
class UnitSandbox(IntegrationTest):
    """The process under what the shipped unit imposes: its CapabilityBoundingSet,
    NoNewPrivileges, Group= and a group-writable StateDirectory. The root phase
    must still read the ban state the service user wrote (mode 0600), and the
    dropped process must save it again."""

    def test_the_units_bounding_set_is_enough_to_start_read_the_ban_state_and_drop(self):
        self.tmp.chmod(0o755)
        state = self.tmp / "state"  # like StateDirectory= with Group= and mode 0770
        state.mkdir()
        state.chmod(0o770)
        os.chown(state, 0, NOBODY.pw_gid)
        bans = state / "bans.json"
        until_ms = int((time.time() + 3600) * 1000)
        bans.write_text('{"version":1,"bans":[{"key":"192.0.2.7","until_ms":%d,'
                        '"failures":5,"duration":3600,"level":1}]}\n' % until_ms)
        os.chown(bans, NOBODY.pw_uid, NOBODY.pw_gid)
        bans.chmod(0o600)
        written_by_test = bans.stat().st_ino
        config = self.tmp / "config.yaml"
        config.write_text(make_config([{"listen": "127.0.0.1:0", "target": "127.0.0.1:5901"}], None,
                                      {"user": "nobody", "hooks_dir": str(self.tmp)},
                                      {"blocking": {"state_file": str(bans)}}))
        capabilities = [c.lower().removeprefix("cap_")
                        for c in unit_directive("CapabilityBoundingSet").split()]
        self.assertEqual(unit_directive("NoNewPrivileges"), "yes")
        cmd = ["setpriv", "--bounding-set", "-all," + ",".join("+" + c for c in capabilities),
               "--inh-caps=-all", "--no-new-privs", f"--regid={NOBODY.pw_gid}", "--clear-groups",
               proxy_binary(), "--config", str(config)]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=self.tmp)
        log = OutputCollector(proc.stderr, "stderr")
        out = OutputCollector(proc.stdout, "stdout")
        self.addCleanup(close_pipes, proc, out, log)
        self.addCleanup(kill_quietly, proc)
        log.wait_for(r"blocking: 1 ban\(s\) restored from ")
        log.wait_for(r"running as nobody:nogroup with no capabilities")
        log.wait_for(r"vnc-hooks-manager \S+ running \(")
        self.assertEqual(log.matching(r" (warning|error|critical) "), [])
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=DEFAULT_WAIT), 0, log.text())
        # Saved again at exit (a new file renamed over the old one) by the service user.
        self.assertNotEqual(bans.stat().st_ino, written_by_test)
        self.assertEqual(bans.stat().st_uid, NOBODY.pw_uid)
        self.assertIn('"192.0.2.7"', bans.read_text())


class NotifySocket:
    """A NOTIFY_SOCKET like systemd's: a datagram socket collecting messages."""

    def __init__(self, directory: Path):
        self.path = directory / "notify.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.path.chmod(0o777)  # the proxy sends after dropping to its user
        self.sock.settimeout(0.1)
        self.messages: list[tuple[float, dict[str, str]]] = []
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True, name="notify")
        self._thread.start()

    def _run(self):
        while not self._stop:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            fields = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
            with self._cond:
                self.messages.append((time.monotonic(), fields))
                self._cond.notify_all()

    def close(self):
        self._stop = True
        self._thread.join(2)
        self.sock.close()

    def snapshot(self) -> list[dict[str, str]]:
        with self._cond:
            return [fields for _, fields in self.messages]

    def wait_for(self, predicate, what: str, timeout: float = DEFAULT_WAIT) -> dict[str, str]:
        """The first message (in arrival order) for which predicate is true."""
        def find():
            return next((m for m in self.snapshot() if predicate(m)), None)
        try:
            return wait_until(find, timeout=timeout, what=what)
        except AssertionError as error:
            raise AssertionError(f"{error}; messages: {self.snapshot()}") from None

    def count(self, key: str) -> int:
        return sum(key in message for message in self.snapshot())


@unittest.skipUnless(os.geteuid() == 0, "runs the proxy with user: nobody (CI runs as root)")
class SystemdNotify(XvncTestCase):
    xvnc_options = {"security": "VncAuth", "desktop": "vhm-it notify desk"}

    def setUp(self):
        super().setUp()
        self.dir = ServiceDir(self.tmp)
        self.notify = NotifySocket(self.tmp)
        self.addCleanup(self.notify.close)

    def start_notified(self, watchdog_pid: str | None = "self", watchdog_usec: int = 400_000):
        """Starts the proxy as systemd would: WATCHDOG_PID=self means the
        proxy's own pid (set by a shell that then execs it)."""
        events = {kind: [{"name": f"whoami_{kind}", "cmd": f"{self.dir.hook} {self.dir.out}"}]
                  for kind in ("connect", "disconnect")}
        config_path = self.tmp / "config.yaml"
        config_path.write_text(make_config(
            [{"listen": "127.0.0.1:0", "target": self.xvnc.target}], events, {"user": "nobody"}))
        env = dict(os.environ, NOTIFY_SOCKET=str(self.notify.path),
                   WATCHDOG_USEC=str(watchdog_usec))
        env.pop("WATCHDOG_PID", None)
        prefix = []
        if watchdog_pid == "self":
            prefix = ["sh", "-c", 'WATCHDOG_PID=$$ exec "$0" "$@"']
        elif watchdog_pid is not None:
            env["WATCHDOG_PID"] = watchdog_pid
        proc = subprocess.Popen(prefix + [proxy_binary(), "--config", str(config_path)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, cwd=self.tmp, env=env)
        stdout = OutputCollector(proc.stdout, "stdout")
        stderr = OutputCollector(proc.stderr, "stderr")

        def stop():
            kill_quietly(proc, grace=5)
            close_pipes(proc, stdout, stderr)
        self.addCleanup(stop)
        self.proc, self.log = proc, stderr
        port = int(stderr.wait_for(LISTENING_RE.pattern)[0].group(2))
        return port

    def test_ready_status_watchdog_reload_and_stopping(self):
        port = self.start_notified()
        ready = self.notify.wait_for(lambda m: m.get("READY") == "1", "READY=1")
        self.assertEqual(ready.get("STATUS"), "running: 1 listener, 0 sessions")
        # Pings at half of WATCHDOG_USEC (0.2 s), also after the drop to nobody.
        wait_until(lambda: self.notify.count("WATCHDOG") >= 3, what="3 watchdog pings")

        viewer = self.background_viewer(port, password=self.xvnc.password, hold=30)
        viewer.wait_for(r"^logged_in=1$")
        self.notify.wait_for(lambda m: m.get("STATUS") == "running: 1 listener, 1 session",
                             "STATUS with 1 session")
        # Hooks do not inherit the watchdog variables.
        runs = wait_until(lambda: self.dir.hook_lines(), what="the connect hook")
        self.assertEqual(runs[0][0], "connect")
        self.assertEqual(runs[0][-1], "nowatchdog")

        before = len(self.notify.snapshot())
        self.proc.send_signal(signal.SIGHUP)
        self.notify.wait_for(lambda m: m.get("RELOADING") == "1", "RELOADING=1")
        messages = self.notify.snapshot()[before:]
        reloading = next(i for i, m in enumerate(messages) if m.get("RELOADING") == "1")
        self.assertIn("MONOTONIC_USEC", messages[reloading])
        wait_until(lambda: any(m.get("READY") == "1" for m in self.notify.snapshot()[before:]
                               [reloading + 1:]), what="READY=1 after RELOADING=1")

        self.proc.send_signal(signal.SIGTERM)
        stopping = self.notify.wait_for(lambda m: m.get("STOPPING") == "1", "STOPPING=1")
        self.assertTrue(stopping.get("STATUS", "").startswith("stopping: "), stopping)
        self.assertEqual(self.proc.wait(timeout=30), 0)
        # The last word: the session closed, then nothing more (no ping after STOPPING).
        after = self.notify.snapshot()
        after = after[next(i for i, m in enumerate(after) if m.get("STOPPING") == "1"):]
        self.assertEqual(after[-1].get("STATUS"), "stopping: 0 listeners, 0 sessions", after)
        self.assertFalse(any("WATCHDOG" in m for m in after), after)

    def test_watchdog_pid_of_another_process_means_no_pings(self):
        self.start_notified(watchdog_pid="1")
        self.notify.wait_for(lambda m: m.get("READY") == "1", "READY=1")
        time.sleep(1.0)  # five ping intervals: long enough for pings that should not come
        self.assertEqual(self.notify.count("WATCHDOG"), 0, self.notify.snapshot())

    def test_without_notify_socket_watchdog_variables_are_ignored_and_the_proxy_runs(self):
        config = make_config([{"listen": "127.0.0.1:0", "target": self.xvnc.target}])
        proxy = self.start_proxy(config, extra_env={"WATCHDOG_USEC": "200000"})
        self.assertNotIn("NOTIFY_SOCKET", os.environ)
        self.assert_healthy_login(proxy.port(), self.xvnc)
        self.assertEqual(proxy.log().matching("systemd"), [])
        self.stop_proxy_and_check_exit(proxy)


def build_dir() -> Path:
    """The CMake build directory of the binary under test."""
    for parent in Path(proxy_binary()).resolve().parents:
        if (parent / "CMakeCache.txt").exists():
            return parent
    raise unittest.SkipTest(f"no CMake build directory above {proxy_binary()}")


class Installation(IntegrationTest):
    """cmake --install, the unit file and the .deb, from the build under test."""

    LAYOUT = [
        "bin/vnc-hooks-manager",
        "lib/systemd/system/vnc-hooks-manager.service",
        "lib/systemd/system/vnc-hooks-manager-worker.service",
        "share/doc/vnc-hooks-manager/README.md",
        "share/doc/vnc-hooks-manager/service.md",
        "share/doc/vnc-hooks-manager/examples/vnc-hooks-manager.yaml",
    ]
    ETC = [
        "vnc-hooks-manager/config.yaml",
        "vnc-hooks-manager/hooks.d/log-event.sh",
        "fail2ban/filter.d/vnc-hooks-manager.conf",
        "fail2ban/jail.d/vnc-hooks-manager.local",
    ]

    def install(self, prefix: str, destdir: Path | None = None) -> Path:
        env = dict(os.environ)
        if destdir is not None:
            env["DESTDIR"] = str(destdir)
        result = subprocess.run(["cmake", "--install", str(build_dir()), "--prefix", prefix],
                                capture_output=True, text=True, env=env, timeout=120)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return Path(str(destdir) + prefix) if destdir else Path(prefix)

    def test_install_into_destdir_with_prefix_usr_gives_the_documented_layout(self):
        root = self.tmp / "root"
        self.install("/usr", root)
        for relative in self.LAYOUT:
            self.assertTrue((root / "usr" / relative).is_file(), f"/usr/{relative}")
        for relative in self.ETC:
            self.assertTrue((root / "etc" / relative).is_file(), f"/etc/{relative}")
        self.assertTrue(os.access(root / "usr/bin/vnc-hooks-manager", os.X_OK))
        self.assertTrue(os.access(root / "etc/vnc-hooks-manager/hooks.d/log-event.sh", os.X_OK))
        unit = (root / "usr/lib/systemd/system/vnc-hooks-manager.service").read_text()
        self.assertIn("\nExecStart=/usr/bin/vnc-hooks-manager --config "
                      "/etc/vnc-hooks-manager/config.yaml\n", unit)
        worker = (root / "usr/lib/systemd/system/vnc-hooks-manager-worker.service").read_text()
        self.assertIn("\nExecStart=/usr/bin/vnc-hooks-manager worker --config "
                      "/etc/vnc-hooks-manager/worker.yaml\n", worker)
        config = (root / "etc/vnc-hooks-manager/config.yaml").read_text()
        self.assertIn("hooks_dir: /etc/vnc-hooks-manager/hooks.d\n", config)
        self.assertIn("user: vnc-hooks-manager", config)
        self.assertIn("state_file: /var/lib/vnc-hooks-manager/bans.json", config)
        self.assertIn("socket: /run/vnc-hooks-manager/control.sock", config)
        jail = (root / "etc/fail2ban/jail.d/vnc-hooks-manager.local").read_text()
        self.assertIn("enabled  = false", jail)
        self.assertIn("logpath  = /var/log/vnc-hooks-manager/vnc-hooks-manager.log", jail)

    def test_install_to_another_prefix_puts_etc_under_it_and_the_config_is_valid(self):
        prefix = self.tmp / "opt"
        self.install(str(prefix))
        for relative in self.LAYOUT:
            self.assertTrue((prefix / relative).is_file(), relative)
        for relative in self.ETC:
            self.assertTrue((prefix / "etc" / relative).is_file(), f"etc/{relative}")
        unit = (prefix / "lib/systemd/system/vnc-hooks-manager.service").read_text()
        self.assertIn(f"\nExecStart={prefix}/bin/vnc-hooks-manager --config "
                      f"{prefix}/etc/vnc-hooks-manager/config.yaml\n", unit)
        # The installed config as shipped, except for the account the package
        # would create: valid, with its hooks found in the installed hooks.d.
        config = prefix / "etc/vnc-hooks-manager/config.yaml"
        config.write_text(config.read_text().replace("user: vnc-hooks-manager", "user: nobody"))
        result = subprocess.run([str(prefix / "bin/vnc-hooks-manager"), "--config", str(config),
                                 "--check-config"], capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("config OK: 1 listener(s)", result.stdout)

    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze not installed")
    def test_systemd_analyze_verify_accepts_the_installed_unit(self):
        prefix = self.tmp / "usr"
        self.install(str(prefix))
        unit = prefix / "lib/systemd/system/vnc-hooks-manager.service"
        result = subprocess.run(["systemd-analyze", "verify", str(unit)],
                                capture_output=True, text=True, timeout=60,
                                env=dict(os.environ, SYSTEMD_LOG_LEVEL="notice"))
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        # Nothing to complain about in our unit (other units of the host may warn).
        complaints = [line for line in (result.stdout + result.stderr).splitlines()
                      if "vnc-hooks-manager" in line]
        self.assertEqual(complaints, [])
        text = unit.read_text()
        for directive in ["Type=notify", "WatchdogSec=", "Restart=on-failure",
                          "ExecReload=/bin/kill -HUP $MAINPID", "ProtectSystem=strict",
                          "ProtectHome=yes", "PrivateTmp=yes", "PrivateDevices=yes",
                          "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
                          "StateDirectory=vnc-hooks-manager", "RuntimeDirectory=vnc-hooks-manager",
                          "LogsDirectory=vnc-hooks-manager"]:
            self.assertIn(f"\n{directive}", text)
        bounding = next(line for line in text.splitlines()
                        if line.startswith("CapabilityBoundingSet="))
        self.assertEqual(set(bounding.split("=", 1)[1].split()),
                         {"CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP", "CAP_DAC_READ_SEARCH",
                          "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_NET_ADMIN"})

    @unittest.skipUnless(shutil.which("cpack") and shutil.which("dpkg-deb"), "cpack/dpkg-deb missing")
    def test_cpack_builds_a_deb_with_files_dependencies_conffiles_and_maintainer_scripts(self):
        out = self.tmp / "deb"
        result = subprocess.run(["cpack", "-G", "DEB", "-B", str(out),
                                 "--config", str(build_dir() / "CPackConfig.cmake")],
                                capture_output=True, text=True, timeout=240, cwd=build_dir())
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        debs = list(out.glob("vnc-hooks-manager_*.deb"))
        self.assertEqual(len(debs), 1, list(out.iterdir()))
        deb = str(debs[0])

        listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True,
                                 check=True).stdout
        paths = {line.split()[-1].lstrip(".") for line in listing.splitlines()}
        for expected in ["/usr/bin/vnc-hooks-manager",
                         "/usr/lib/systemd/system/vnc-hooks-manager.service",
                         "/usr/share/doc/vnc-hooks-manager/service.md"] + \
                        [f"/etc/{relative}" for relative in self.ETC]:
            self.assertIn(expected, paths)

        def field(name):
            return subprocess.run(["dpkg-deb", "-f", deb, name], capture_output=True,
                                  text=True, check=True).stdout.strip()
        self.assertEqual(field("Package"), "vnc-hooks-manager")
        self.assertRegex(field("Version"), r"^\d+\.\d+\.\d+")
        self.assertTrue(field("Maintainer"))
        depends = field("Depends")
        for package in ["adduser", "libc6", "libcap2", "libsystemd0", "libssl3", "libyaml-cpp0.7"]:
            self.assertIn(package, depends)

        conffiles = subprocess.run(["dpkg-deb", "-I", deb, "conffiles"], capture_output=True,
                                   text=True, check=True).stdout.split()
        self.assertEqual(sorted(conffiles), sorted(f"/etc/{relative}" for relative in self.ETC))
        control = self.tmp / "control"
        subprocess.run(["dpkg-deb", "-e", deb, str(control)], check=True)
        for script in ["postinst", "prerm", "postrm"]:
            path = control / script
            self.assertTrue(path.stat().st_mode & stat.S_IXUSR, script)
            subprocess.run(["sh", "-n", str(path)], check=True)
        self.assertIn("adduser --system --group", (control / "postinst").read_text())


if __name__ == "__main__":
    unittest.main()
