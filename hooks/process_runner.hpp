#pragma once
// One run of one command hook, start to finish, on the calling thread: spawn,
// capture output into the log, enforce the timeout, collect the exit status.
// Waiting uses a pidfd polled together with the output pipes, so neither a
// flood of output nor a background grandchild holding the pipes open can
// stall the caller beyond timeout + kill_grace (+ a short drain).
#include <atomic>
#include <chrono>
#include <optional>
#include <string>

#include "conf/config.hpp"
#include "hooks/command_line.hpp"
#include "hooks/event_sink.hpp"
#include "hooks/unique_fd.hpp"

namespace vhm::hooks {

// Lets another thread end a run early (terminate_on_next_event): the runner
// then sends SIGTERM to the process group, SIGKILL after kill_grace.
class RunControl {
 public:
  RunControl();  // throws std::system_error if no eventfd can be created
  void request_terminate();
  bool terminate_requested() const { return requested_.load(); }
  int wait_fd() const { return event_fd_.get(); }  // readable once requested

 private:
  UniqueFd event_fd_;
  std::atomic<bool> requested_{false};
};

struct RunSpec {
  std::string hook_name;   // for log lines
  std::string session_id;  // for log lines
  CommandLine command;
  std::optional<conf::RunAs> run_as;
  std::chrono::milliseconds timeout{30'000};
  std::chrono::milliseconds kill_grace{5'000};
  std::size_t max_output_lines = 200;  // per run, stdout and stderr together
  std::size_t max_line_bytes = 4096;   // longer lines are cut
  // After the hook exited: how long to keep reading output that leftover
  // background processes still write to the inherited pipes.
  std::chrono::milliseconds drain{200};
};

struct RunOutcome {
  HookResult result;       // name, ran, exit_code / signal, timed_out, first_stdout_line
  bool terminated = false;  // ended because RunControl asked for it
  std::string error;        // why it could not be started (result.ran == false)
  std::chrono::milliseconds duration{0};
  std::size_t lines_logged = 0;
  std::size_t lines_not_logged = 0;  // read and counted, beyond max_output_lines
};

// Every line of output is logged (spdlog default logger) as
// "hook NAME [session ID] stdout: TEXT", values passed through util::printable.
// Processes the hook left running in the background after it exited normally
// are not killed (only a timeout or termination signals the whole group).
RunOutcome run_process(const RunSpec& spec, RunControl* control = nullptr);

}  // namespace vhm::hooks
