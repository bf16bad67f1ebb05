#pragma once
// Resolves a run_as user name at load time (uid, gid, supplementary groups,
// home, shell), so a hook's child process only needs async-signal-safe calls
// after fork() and an unknown user is a config error, not a runtime failure.
#include <optional>
#include <string>

#include "conf/config.hpp"

namespace vhm::conf {

// nullopt with `error` ("no such user", or why the lookup failed).
std::optional<RunAs> resolve_user(const std::string& name, std::string& error);

// A group name to its gid (global `group:`); nullopt with `error` when unknown.
std::optional<gid_t> resolve_group(const std::string& name, std::string& error);

}  // namespace vhm::conf
