#include "hooks/process_runner.hpp"

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <system_error>
#include <vector>

#include "util/log.hpp"

#include "hooks/line_splitter.hpp"
#include "hooks/spawn.hpp"
#include "util/printable.hpp"

namespace vhm::hooks {

RunControl::RunControl() : event_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!event_fd_.valid()) throw std::system_error(errno, std::generic_category(), "eventfd");
}

void RunControl::request_terminate() {
  requested_.store(true);
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t ignored = ::write(event_fd_.get(), &one, sizeof one);
}

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Debian 12's glibc 2.36 declares pidfd_open without extern "C" (fixed in
// 2.37), so C++ cannot link against it: use the system call directly.
int open_pidfd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

constexpr std::size_t read_chunk = 64 * 1024;
constexpr int reads_per_wakeup = 16;  // keeps timers serviced while a hook floods

std::string signal_text(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return std::to_string(sig) + (abbrev ? std::string(" (SIG") + abbrev + ")" : std::string());
}


// Logs a run's output lines up to the limit, counts the rest.
class OutputLog {
 public:
  OutputLog(const std::string& tag, const RunSpec& spec, RunOutcome& outcome)
      : tag_(tag), spec_(spec), outcome_(outcome) {}

  void add(bool is_stdout, std::string_view line, bool cut) {
    if (is_stdout && !first_stdout_seen_) {
      first_stdout_seen_ = true;
      outcome_.result.first_stdout_line = std::string(line);
    }
    if (outcome_.lines_logged >= spec_.max_output_lines) {
      ++outcome_.lines_not_logged;
      return;
    }
    ++outcome_.lines_logged;
    spdlog::info("{} {}: {}{}", tag_, is_stdout ? "stdout" : "stderr",
                 util::printable(line, spec_.max_line_bytes), cut ? " [cut]" : "");
  }

 private:
  const std::string& tag_;
  const RunSpec& spec_;
  RunOutcome& outcome_;
  bool first_stdout_seen_ = false;
};

struct Stream {
  UniqueFd fd;
  LineSplitter splitter;
  bool is_stdout;
};

void close_stream(Stream& stream, OutputLog& log) {
  stream.splitter.finish(
      [&](std::string_view line, bool cut) { log.add(stream.is_stdout, line, cut); });
  stream.fd.reset();
}

void read_available(Stream& stream, OutputLog& log, std::vector<char>& buffer) {
  for (int round = 0; round < reads_per_wakeup && stream.fd.valid(); ++round) {
    const ssize_t got = ::read(stream.fd.get(), buffer.data(), buffer.size());
    if (got > 0) {
      stream.splitter.feed(std::string_view(buffer.data(), static_cast<std::size_t>(got)),
                           [&](std::string_view line, bool cut) {
                             log.add(stream.is_stdout, line, cut);
                           });
    } else if (got < 0 && errno == EINTR) {
      continue;
    } else if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return;
    } else {
      close_stream(stream, log);  // EOF or a read error
    }
  }
}

// Whether the process exited, leaving it a zombie (WNOWAIT): while it is not
// reaped its pid, and so its process group id, cannot be reused, which keeps
// kill(-pid) safe. `lost` is set if someone else reaped it.
bool has_exited(pid_t pid, siginfo_t& info, bool& lost) {
  info = {};
  int rc;
  do {
    rc = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    lost = true;
    return true;
  }
  return info.si_pid == pid;
}

int poll_timeout_ms(Clock::time_point now, Clock::time_point wake) {
  if (wake == Clock::time_point::max()) return -1;
  if (wake <= now) return 0;
  const auto ms = std::chrono::ceil<milliseconds>(wake - now).count();
  return static_cast<int>(std::min<long long>(ms, 60'000));
}

enum class Stage { running, terminating, killing };

// Waits for the process, reading its output, enforcing timeout and requests.
void supervise(const RunSpec& spec, RunControl* control, SpawnedProcess& process,
               const std::string& tag, Clock::time_point started, RunOutcome& outcome) {
  const pid_t pid = process.pid;
  const UniqueFd pidfd(open_pidfd(pid));  // invalid: fall back to polling waitid
  OutputLog log(tag, spec, outcome);
  Stream out{std::move(process.stdout_fd), LineSplitter(spec.max_line_bytes), true};
  Stream err{std::move(process.stderr_fd), LineSplitter(spec.max_line_bytes), false};
  std::vector<char> buffer(read_chunk);

  Stage stage = Stage::running;
  const Clock::time_point deadline = started + spec.timeout;
  Clock::time_point kill_at{}, drain_until{};
  bool exited = false, status_lost = false;
  siginfo_t info{};

  const auto begin_termination = [&](Clock::time_point now) {
    ::kill(-pid, SIGTERM);
    stage = Stage::terminating;
    kill_at = now + spec.kill_grace;
  };

  for (;;) {
    const Clock::time_point now = Clock::now();
    if (!exited && has_exited(pid, info, status_lost)) {
      exited = true;
      drain_until = now + spec.drain;
    }
    if (!exited && stage == Stage::running) {
      if (control && control->terminate_requested()) {
        outcome.terminated = true;
        spdlog::info("{} asked to stop: sending SIGTERM to its process group", tag);
        begin_termination(now);
      } else if (now >= deadline) {
        outcome.result.timed_out = true;
        spdlog::warn("{} timed out after {} ms: sending SIGTERM to its process group", tag,
                     spec.timeout.count());
        begin_termination(now);
      }
    }
    if (stage == Stage::terminating && now >= kill_at) {
      spdlog::warn("{} still running {} ms after SIGTERM: sending SIGKILL to its process group",
                   tag, spec.kill_grace.count());
      ::kill(-pid, SIGKILL);
      stage = Stage::killing;
    }
    if (exited) {
      if (!out.fd.valid() && !err.fd.valid()) break;
      // Leftover background processes may hold the pipes open for ever; after
      // a normal exit read only what arrives within the drain time. While
      // terminating, the group gets its full grace before SIGKILL.
      if (stage != Stage::terminating && now >= drain_until) break;
    }

    Clock::time_point wake = Clock::time_point::max();
    if (!exited && stage == Stage::running) wake = std::min(wake, deadline);
    if (stage == Stage::terminating) wake = std::min(wake, kill_at);
    if (exited && stage != Stage::terminating) wake = std::min(wake, drain_until);
    if (!exited && !pidfd.valid()) wake = std::min(wake, now + milliseconds(20));

    pollfd fds[4];
    nfds_t count = 0;
    const auto watch = [&](int fd) {
      fds[count++] = pollfd{fd, POLLIN, 0};
      return count - 1;
    };
    const nfds_t out_slot = out.fd.valid() ? watch(out.fd.get()) : 4;
    const nfds_t err_slot = err.fd.valid() ? watch(err.fd.get()) : 4;
    if (!exited && pidfd.valid()) watch(pidfd.get());
    if (!exited && stage == Stage::running && control) watch(control->wait_fd());

    const int ready = ::poll(fds, count, poll_timeout_ms(now, wake));
    if (ready < 0) {
      if (errno != EINTR) ::usleep(10'000);  // should not happen; never spin
      continue;
    }
    if (out_slot < count && fds[out_slot].revents != 0) read_available(out, log, buffer);
    if (err_slot < count && fds[err_slot].revents != 0) read_available(err, log, buffer);
  }
  if (stage == Stage::terminating) ::kill(-pid, SIGKILL);  // members that ignored SIGTERM
  if (out.fd.valid()) close_stream(out, log);
  if (err.fd.valid()) close_stream(err, log);
  if (!status_lost) {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
  }

  outcome.duration = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
  const long long took = outcome.duration.count();
  if (outcome.lines_not_logged > 0)
    spdlog::info("{} {} more lines not logged", tag, outcome.lines_not_logged);
  if (status_lost) {
    spdlog::warn("{} exit status unknown (reaped elsewhere) after {} ms", tag, took);
  } else if (info.si_code == CLD_EXITED) {
    outcome.result.exit_code = info.si_status;
    if (info.si_status == 0 && !outcome.result.timed_out)
      spdlog::info("{} exited with code 0 after {} ms", tag, took);
    else
      spdlog::warn("{} exited with code {} after {} ms{}", tag, info.si_status, took,
                   outcome.result.timed_out ? " (timed out)" : "");
  } else {
    outcome.result.signal = info.si_status;
    const auto level = outcome.terminated ? spdlog::level::info : spdlog::level::warn;
    spdlog::log(level, "{} killed by signal {} after {} ms{}", tag, signal_text(info.si_status),
                took, outcome.result.timed_out ? " (timed out)" : "");
  }
}

}  // namespace

RunOutcome run_process(const RunSpec& spec, RunControl* control) {
  RunOutcome outcome;
  outcome.result.name = spec.hook_name;
  const std::string tag = "hook " + util::printable(spec.hook_name) + " [session " +
                          util::printable(spec.session_id) + "]";
  if (control && control->terminate_requested()) {
    outcome.terminated = true;
    outcome.error = "not started: asked to stop before it began";
    spdlog::info("{} {}", tag, outcome.error);
    return outcome;
  }

  const Clock::time_point started = Clock::now();
  SpawnedProcess process =
      spawn_process(spec.command, spec.run_as ? &*spec.run_as : nullptr);
  if (!process.started()) {
    outcome.error = process.error;
    outcome.duration = std::chrono::duration_cast<milliseconds>(Clock::now() - started);
    spdlog::warn("{} {}", tag, process.error);
    return outcome;
  }
  outcome.result.ran = true;
  spdlog::debug("{} started {} (pid {})", tag, util::printable(spec.command.argv.front()),
                process.pid);
  supervise(spec, control, process, tag, started, outcome);
  return outcome;
}

}  // namespace vhm::hooks
