#include "hooks/spawn.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "util/printable.hpp"

namespace vhm::hooks {
namespace {

enum class ChildStage : int { setup, setgroups, setgid, setuid, exec };

struct ChildFailure {
  ChildStage stage;
  int error;
};

// Everything the child needs, prepared by the parent.
struct ChildPlan {
  char* const* argv;
  char* const* envp;
  const char* path;
  const char* directory;
  const conf::RunAs* run_as;
  int stdin_fd, stdout_fd, stderr_fd, status_fd;
};

// Moves fd to 4 or above so dup2 onto 0..3 cannot clobber another of ours.
int lift(int fd) { return fd >= 4 ? fd : ::fcntl(fd, F_DUPFD_CLOEXEC, 4); }

[[noreturn]] void report_and_exit(int status_fd, ChildStage stage) {
  const ChildFailure failure{stage, errno};
  [[maybe_unused]] ssize_t ignored = ::write(status_fd, &failure, sizeof failure);
  ::_exit(127);
}

// Async-signal-safe calls only from here on.
[[noreturn]] void child_main(const ChildPlan& plan) {
  int status_fd = plan.status_fd;
  ::setpgid(0, 0);

  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &action, nullptr);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  const int in = lift(plan.stdin_fd), out = lift(plan.stdout_fd), err = lift(plan.stderr_fd);
  status_fd = lift(status_fd);
  if (in < 0 || out < 0 || err < 0 || status_fd < 0) report_and_exit(plan.status_fd, ChildStage::setup);
  if (::dup3(status_fd, 3, O_CLOEXEC) < 0) report_and_exit(status_fd, ChildStage::setup);
  status_fd = 3;
  if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0)
    report_and_exit(status_fd, ChildStage::setup);
  if (::close_range(4, ~0U, 0) < 0) {
    for (int fd = 4; fd < 65536; ++fd) ::close(fd);
  }

  // Raw system calls: glibc's wrappers would change the credentials of every
  // thread of the process, and a vfork child shares the proxy's thread list.
  if (plan.run_as) {
    const conf::RunAs& user = *plan.run_as;
    if (::syscall(SYS_setgroups, user.groups.size(), user.groups.data()) < 0)
      report_and_exit(status_fd, ChildStage::setgroups);
    if (::syscall(SYS_setgid, user.gid) < 0) report_and_exit(status_fd, ChildStage::setgid);
    if (::syscall(SYS_setuid, user.uid) < 0) report_and_exit(status_fd, ChildStage::setuid);
  }
  if (::chdir(plan.directory) < 0 && ::chdir("/") < 0) {
    // Keep the inherited directory; not worth failing the hook for.
  }

  ::execve(plan.path, plan.argv, plan.envp);
  report_and_exit(status_fd, ChildStage::exec);
}

std::string describe(const ChildFailure& failure, const CommandLine& command,
                     const conf::RunAs* run_as) {
  const std::string reason = std::generic_category().message(failure.error);
  const std::string user = run_as ? util::printable(run_as->name) : std::string();
  switch (failure.stage) {
    case ChildStage::setup: return "cannot set up the hook process: " + reason;
    case ChildStage::setgroups: return "cannot set the groups of user " + user + ": " + reason;
    case ChildStage::setgid: return "cannot switch to the group of user " + user + ": " + reason;
    case ChildStage::setuid: return "cannot switch to user " + user + ": " + reason;
    case ChildStage::exec: break;
  }
  return "cannot execute " + util::printable(command.argv.front()) + ": " + reason;
}

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::generic_category().message(errno);
}

}  // namespace

SpawnedProcess spawn_process(const CommandLine& command, const conf::RunAs* run_as) {
  SpawnedProcess process;
  if (command.argv.empty() || command.argv.front().empty()) {
    process.error = "cannot execute: empty command";
    return process;
  }
  const ExecVectors vectors(command);

  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!devnull.valid()) {
    process.error = errno_text("cannot open /dev/null");
    return process;
  }
  int out[2], err[2], status[2];
  if (::pipe2(out, O_CLOEXEC) < 0) {
    process.error = errno_text("cannot create a pipe");
    return process;
  }
  UniqueFd out_read(out[0]), out_write(out[1]);
  if (::pipe2(err, O_CLOEXEC) < 0) {
    process.error = errno_text("cannot create a pipe");
    return process;
  }
  UniqueFd err_read(err[0]), err_write(err[1]);
  if (::pipe2(status, O_CLOEXEC) < 0) {
    process.error = errno_text("cannot create a pipe");
    return process;
  }
  UniqueFd status_read(status[0]), status_write(status[1]);

  const ChildPlan plan{vectors.argv(),  vectors.envp(),   vectors.path(),
                       run_as && !run_as->home.empty() ? run_as->home.c_str() : "/",
                       run_as,          devnull.get(),    out_write.get(),
                       err_write.get(), status_write.get()};
  // vfork, not fork: the child borrows the proxy's memory until execve, so
  // no page table is copied and the relay's next writes take no copy-on-write
  // faults (a connect hook cost every handshake ~2 ms with fork). Signals are
  // blocked until the child has reset its handlers, which must never run in it.
  sigset_t all, previous;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &previous);
  const pid_t pid = ::vfork();
  if (pid == 0) child_main(plan);
  const int vfork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (pid < 0) {
    errno = vfork_errno;
    process.error = errno_text("cannot start a process");
    return process;
  }

  out_write.reset();
  err_write.reset();
  status_write.reset();
  devnull.reset();

  // EOF: execve succeeded (the pipe closed on exec); data: the child failed.
  ChildFailure failure{};
  ssize_t got;
  do {
    got = ::read(status_read.get(), &failure, sizeof failure);
  } while (got < 0 && errno == EINTR);
  if (got != 0) {
    if (got != static_cast<ssize_t>(sizeof failure)) failure = {ChildStage::setup, EIO};
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    process.error = describe(failure, command, run_as);
    return process;
  }

  ::fcntl(out_read.get(), F_SETFL, O_NONBLOCK);
  ::fcntl(err_read.get(), F_SETFL, O_NONBLOCK);
  process.pid = pid;
  process.stdout_fd = std::move(out_read);
  process.stderr_fd = std::move(err_read);
  return process;
}

}  // namespace vhm::hooks
