#include <catch2/catch.hpp>

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>

#include "hook_test_support.hpp"
#include "hooks/command_line.hpp"
#include "hooks/process_runner.hpp"

using namespace vhm;
using namespace vhm::hooks;
using namespace vhm::hooks::test;
using conf::EventKind;
using conf::Field;

namespace {

RunSpec spec_for(const std::vector<std::string>& argv, const Event& event = make_event(EventKind::connect, "s1")) {
  RunSpec spec;
  spec.hook_name = "h1";
  spec.session_id = event.session_id();
  spec.command = build_command_line(command_hook("h1", argv), event, environ);
  spec.timeout = 10'000ms;
  spec.kill_grace = 300ms;
  return spec;
}

pid_t read_pid(const std::string& path) {
  wait_until([&] { return read_file(path).find('\n') != std::string::npos; }, 3000ms);
  return static_cast<pid_t>(std::stol(read_file(path)));
}

}  // namespace

TEST_CASE("runner: a hostile value arrives as one literal argument, byte for byte") {
  TempDir dir;
  const auto script = dir.script("args.sh", R"(out=$1; shift; for a; do printf '%s\0' "$a"; done > "$out")");
  Event event = make_event(EventKind::connect, "s1");
  std::string every_byte;
  for (int c = 1; c < 256; ++c) every_byte += static_cast<char>(c);
  event[Field::desktop_name] = "a b'\"; touch " + dir.file("pwned") + " | $(id) `id` $HOME\n\t*";
  event[Field::user] = every_byte;
  event[Field::reason] = std::string("x\0y", 3);

  const RunOutcome outcome = run_process(spec_for(
      {script, dir.file("argv.bin"), "{desktop_name}", "{user}", "[{reason}]", "{client_ip}"}, event));
  REQUIRE(outcome.result.ok());
  const std::string expected = event[Field::desktop_name] + '\0' + every_byte + '\0' +
                               "[x\xef\xbf\xbdy]" + '\0' + "192.0.2.7" + '\0';
  CHECK(read_file(dir.file("argv.bin")) == expected);
  CHECK_FALSE(fs::exists(dir.file("pwned")));
}

TEST_CASE("runner: the hook sees every field as VNC_*, VNC_HOOK_NAME and the inherited environment") {
  TempDir dir;
  ::setenv("VHM_TEST_INHERITED", "inherited value", 1);
  const auto script = dir.script(
      "env.sh", R"(printf '%s\n' "$VNC_EVENT" "$VNC_SESSION_ID" "$VNC_CLIENT_IP" "$VNC_USER" "$VNC_HOOK_NAME" "$VHM_TEST_INHERITED" "$PWD" > "$1")");
  Event event = make_event(EventKind::auth_success, "4f2a");
  event[Field::user] = "alice smith";

  const RunOutcome outcome = run_process(spec_for({script, dir.file("env.txt")}, event));
  ::unsetenv("VHM_TEST_INHERITED");
  REQUIRE(outcome.result.ok());
  CHECK(read_lines(dir.file("env.txt")) ==
        std::vector<std::string>{"auth_success", "4f2a", "192.0.2.7", "alice smith", "h1",
                                 "inherited value", "/"});
}

TEST_CASE("runner: exit code and terminating signal are captured") {
  TempDir dir;
  const RunOutcome ok = run_process(spec_for({dir.script("ok.sh", "exit 0")}));
  CHECK(ok.result.ran);
  CHECK(ok.result.exit_code == 0);
  CHECK(ok.result.ok());

  const RunOutcome three = run_process(spec_for({dir.script("three.sh", "exit 3")}));
  CHECK(three.result.ran);
  CHECK(three.result.exit_code == 3);
  CHECK(three.result.signal == 0);
  CHECK_FALSE(three.result.ok());

  const RunOutcome killed = run_process(spec_for({dir.script("usr1.sh", "kill -USR1 $$; sleep 5")}));
  CHECK(killed.result.signal == SIGUSR1);
  CHECK_FALSE(killed.result.timed_out);
  CHECK_FALSE(killed.result.ok());
}

TEST_CASE("runner: a hook past its timeout gets SIGTERM") {
  TempDir dir;
  LogCapture log;
  RunSpec spec = spec_for({dir.script("slow.sh", "sleep 30")});
  spec.timeout = 200ms;
  spec.kill_grace = 3000ms;
  const RunOutcome outcome = run_process(spec);
  CHECK(outcome.result.timed_out);
  CHECK(outcome.result.signal == SIGTERM);
  CHECK_FALSE(outcome.result.ok());
  CHECK(outcome.duration >= 200ms);
  CHECK(outcome.duration < 2000ms);  // ended by SIGTERM, not by SIGKILL after the grace
  CHECK(log.contains("hook h1 [session s1] timed out after 200 ms"));
}

TEST_CASE("runner: a hook that ignores SIGTERM gets SIGKILL after kill_grace") {
  TempDir dir;
  LogCapture log;
  RunSpec spec = spec_for({dir.script("stubborn.sh", "trap '' TERM\nwhile :; do sleep 0.05; done")});
  spec.timeout = 200ms;
  spec.kill_grace = 300ms;
  const RunOutcome outcome = run_process(spec);
  CHECK(outcome.result.timed_out);
  CHECK(outcome.result.signal == SIGKILL);
  CHECK(outcome.duration >= 500ms);
  CHECK(outcome.duration < 3000ms);
  CHECK(log.contains("sending SIGKILL to its process group"));
}

TEST_CASE("runner: a timeout kills the whole process group, grandchildren included") {
  TempDir dir;
  const auto script = dir.script("family.sh", R"(sleep 30 &
echo $! > "$1"
( trap '' TERM; exec sleep 30 ) &
echo $! > "$2"
wait)");
  RunSpec spec = spec_for({script, dir.file("plain.pid"), dir.file("stubborn.pid")});
  spec.timeout = 300ms;
  spec.kill_grace = 300ms;
  const RunOutcome outcome = run_process(spec);
  CHECK(outcome.result.timed_out);
  const pid_t plain = read_pid(dir.file("plain.pid"));
  const pid_t stubborn = read_pid(dir.file("stubborn.pid"));
  CHECK(wait_until([&] { return !process_alive(plain); }, 2000ms));
  CHECK(wait_until([&] { return !process_alive(stubborn); }, 2000ms));
  ::kill(plain, SIGKILL);  // in case the assertions failed
  ::kill(stubborn, SIGKILL);
}

TEST_CASE("runner: output is logged line by line with hook name and session id") {
  TempDir dir;
  LogCapture log;
  const auto script = dir.script("talk.sh", R"(echo 'first line'
echo second
echo 'oops' >&2
printf 'evil\033[31m\n'
printf 'no newline')");
  const RunOutcome outcome = run_process(spec_for({script}, make_event(EventKind::connect, "4f2a")));
  REQUIRE(outcome.result.ok());
  CHECK(outcome.result.first_stdout_line == "first line");
  CHECK(outcome.lines_logged == 5);
  CHECK(outcome.lines_not_logged == 0);
  CHECK(log.contains("hook h1 [session 4f2a] stdout: first line"));
  CHECK(log.contains("hook h1 [session 4f2a] stdout: second"));
  CHECK(log.contains("hook h1 [session 4f2a] stderr: oops"));
  CHECK(log.contains("hook h1 [session 4f2a] stdout: evil\\x1b[31m"));
  CHECK(log.contains("hook h1 [session 4f2a] stdout: no newline"));
  CHECK(log.contains("hook h1 [session 4f2a] exited with code 0 after"));
}

TEST_CASE("runner: a flood of output is capped, counted and read without blocking") {
  // 8 MiB is 128 pipe buffers: a runner that stopped reading would block the
  // hook long before its end. (50 MiB took 5.6 s under ASan, close to the
  // 10 s hook timeout on a loaded machine.)
  TempDir dir;
  LogCapture log;
  RunSpec spec = spec_for({dir.script("flood.sh", "yes | head -c 8M\nhead -c 100000 /dev/zero | tr '\\0' a\necho\necho after")});
  spec.max_output_lines = 5;
  const auto started = Clock::now();
  const RunOutcome outcome = run_process(spec);
  CHECK(Clock::now() - started < 15s);
  REQUIRE(outcome.result.ok());
  CHECK(outcome.result.first_stdout_line == "y");
  CHECK(outcome.lines_logged == 5);
  const std::size_t total = 8u * 1024 * 1024 / 2 + 2;  // "y\n" lines, the long line, "after"
  CHECK(outcome.lines_not_logged == total - 5);
  CHECK(log.contains(std::to_string(total - 5) + " more lines not logged"));
}

TEST_CASE("runner: long lines are cut at max_line_bytes") {
  TempDir dir;
  LogCapture log;
  RunSpec spec = spec_for({dir.script("long.sh", "head -c 100000 /dev/zero | tr '\\0' a\necho\necho after")});
  const RunOutcome outcome = run_process(spec);
  REQUIRE(outcome.result.ok());
  CHECK(outcome.result.first_stdout_line == std::string(4096, 'a'));
  CHECK(log.contains("stdout: " + std::string(4096, 'a') + " [cut]"));
  CHECK_FALSE(log.contains(std::string(4097, 'a')));
  CHECK(log.contains("stdout: after"));
}

TEST_CASE("runner: an exec failure is reported with its reason") {
  TempDir dir;
  LogCapture log;
  const RunOutcome missing = run_process(spec_for({dir.file("missing.sh")}));
  CHECK_FALSE(missing.result.ran);
  CHECK_FALSE(missing.result.ok());
  CHECK(missing.error == "cannot execute " + dir.file("missing.sh") + ": No such file or directory");
  CHECK(log.contains("hook h1 [session s1] cannot execute " + dir.file("missing.sh") +
                     ": No such file or directory"));

  const auto not_executable = dir.file("plain.txt");
  std::ofstream(not_executable) << "data\n";
  const RunOutcome denied = run_process(spec_for({not_executable}));
  CHECK_FALSE(denied.result.ran);
  CHECK(denied.error == "cannot execute " + not_executable + ": Permission denied");
}

TEST_CASE("runner: a background grandchild holding the pipes does not hang the run") {
  TempDir dir;
  const auto script = dir.script("daemon.sh", R"(sleep 5 &
echo $! > "$1"
echo done)");
  const auto started = Clock::now();
  const RunOutcome outcome = run_process(spec_for({script, dir.file("bg.pid")}));
  CHECK(Clock::now() - started < 1500ms);
  CHECK(outcome.result.ok());
  CHECK(outcome.result.first_stdout_line == "done");
  ::kill(read_pid(dir.file("bg.pid")), SIGKILL);
}

TEST_CASE("runner: RunControl terminates a running hook") {
  TempDir dir;
  RunControl control;
  std::thread stopper([&] {
    std::this_thread::sleep_for(200ms);
    control.request_terminate();
  });
  const RunOutcome outcome = run_process(spec_for({dir.script("wait.sh", "sleep 30")}), &control);
  stopper.join();
  CHECK(outcome.terminated);
  CHECK_FALSE(outcome.result.timed_out);
  CHECK(outcome.result.signal == SIGTERM);
  CHECK(outcome.duration < 3000ms);

  const RunOutcome not_started = run_process(spec_for({dir.script("x.sh", "exit 0")}), &control);
  CHECK_FALSE(not_started.result.ran);
  CHECK(not_started.terminated);
}

TEST_CASE("runner: stdin is /dev/null, other descriptors are closed, signals are reset") {
  // The hooks here are plain binaries, not sh: dash resets its own signal mask.
  const int leaked = ::fcntl(STDERR_FILENO, F_DUPFD, 20);  // no close-on-exec on purpose
  REQUIRE(leaked >= 20);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction previous {};
  ::sigaction(SIGPIPE, &ignore, &previous);
  sigset_t block, old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  ::pthread_sigmask(SIG_BLOCK, &block, &old_mask);

  LogCapture log;
  const RunOutcome stdin_link = run_process(spec_for({"/bin/readlink", "/proc/self/fd/0"}));
  const RunOutcome fd_check =
      run_process(spec_for({"/usr/bin/test", "-e", "/proc/self/fd/" + std::to_string(leaked)}));
  const RunOutcome signals =
      run_process(spec_for({"/bin/grep", "-E", "^(SigBlk|SigIgn):", "/proc/self/status"}));

  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGPIPE, &previous, nullptr);
  ::close(leaked);
  CHECK(stdin_link.result.first_stdout_line == "/dev/null");
  CHECK(fd_check.result.exit_code == 1);  // test -e failed: the descriptor is not there
  REQUIRE(signals.result.ok());
  CHECK(log.contains("stdout: SigBlk:\\t0000000000000000"));
  CHECK(log.contains("stdout: SigIgn:\\t0000000000000000"));
}

TEST_CASE("runner: run_as drops to that user's uid, gid and groups") {
  if (::geteuid() != 0) {
    WARN("not root: run_as cannot be tested");
    return;
  }
  const passwd* nobody = ::getpwnam("nobody");
  REQUIRE(nobody != nullptr);
  conf::RunAs user{nobody->pw_name, nobody->pw_uid, nobody->pw_gid, {}, nobody->pw_dir, "/bin/sh"};
  int count = 32;
  user.groups.resize(static_cast<std::size_t>(count));
  REQUIRE(::getgrouplist(nobody->pw_name, nobody->pw_gid, user.groups.data(), &count) >= 0);
  user.groups.resize(static_cast<std::size_t>(count));

  TempDir dir;
  LogCapture log;
  auto hook = command_hook("h1", {dir.script("who.sh", "id -u; id -g; id -G; echo \"$USER $HOME\"")});
  hook.run_as = user;
  RunSpec spec = spec_for(hook.argv);
  spec.command = build_command_line(hook, make_event(EventKind::connect, "s1"), environ);
  spec.run_as = user;
  const RunOutcome outcome = run_process(spec);
  REQUIRE(outcome.result.ok());
  CHECK(outcome.result.first_stdout_line == std::to_string(nobody->pw_uid));
  CHECK(log.contains("stdout: " + std::to_string(nobody->pw_gid)));
  CHECK_FALSE(log.contains("stdout: 0"));
  CHECK(log.contains("stdout: nobody " + std::string(nobody->pw_dir)));
}
