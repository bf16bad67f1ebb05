#pragma once
// Becoming global `user:`/`group:` after everything that needs root is done
// (listeners bound, control socket created, log file and ban state opened),
// keeping only the capabilities the config needs (capabilities.hpp).
//
// Capabilities belong to threads, not processes: only the calling thread and
// the threads it creates afterwards keep the needed set; threads that already
// exist lose every capability when the uid changes. So call this before
// starting threads that need capabilities (the hook dispatcher's workers fork
// run_as children and kill timed-out hooks).
#include <string>

#include "conf/config.hpp"

namespace vhm::service {

struct DropOutcome {
  bool ok = false;
  // ok: what the process runs as now, e.g. "running as vnc:vnc with cap_net_admin";
  // otherwise why it could not switch (the caller logs it and exits).
  std::string message;
};

// No `user:`: nothing changes (root stays root; a plain user runs as is).
// `user:` while not root: an error, unless the process already is that user.
// As root: bounding set reduced where allowed (CAP_SETPCAP), then
// setgroups/setresgid/setresuid with PR_SET_KEEPCAPS, then cap_set_proc with
// the needed set as permitted and effective; inheritable and ambient empty,
// so hooks are exec'd without capabilities.
DropOutcome drop_privileges(const conf::Config& config);

}  // namespace vhm::service
