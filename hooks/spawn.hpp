#pragma once
// Starts one hook process. The proxy is multi-threaded, so between vfork() and
// execve() the child makes only async-signal-safe calls (raw syscalls for the
// credentials) on data prepared before. Exec failures come back through a
// close-on-exec pipe, so the caller can say "cannot execute X: <reason>"
// instead of seeing exit code 127.
#include <sys/types.h>

#include <string>

#include "conf/config.hpp"
#include "hooks/command_line.hpp"
#include "hooks/unique_fd.hpp"

namespace vhm::hooks {

struct SpawnedProcess {
  pid_t pid = -1;        // also the id of its own process group
  UniqueFd stdout_fd;    // read ends, non-blocking, close-on-exec
  UniqueFd stderr_fd;
  std::string error;     // set (and pid -1) when it could not be started
  bool started() const { return pid > 0; }
};

// In the child: own process group, default signal dispositions and an empty
// mask, stdin /dev/null, stdout/stderr to pipes, every other fd closed, then
// for run_as setgroups/setgid/setuid, chdir to the user's home (else "/"),
// execve(argv[0], argv, env). No PATH search: argv[0] is already resolved.
SpawnedProcess spawn_process(const CommandLine& command, const conf::RunAs* run_as);

}  // namespace vhm::hooks
