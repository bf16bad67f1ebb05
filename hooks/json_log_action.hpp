#pragma once
// The built-in `action: log`: an audit trail of events as JSON Lines, without
// spawning a process. Each event is one write() on an O_APPEND descriptor, so
// lines from concurrent writers (threads, or several proxies sharing the file)
// never interleave.
#include <filesystem>
#include <string>

#include "conf/config.hpp"
#include "hooks/event.hpp"
#include "hooks/event_sink.hpp"

namespace vhm::hooks {

// event_to_json (hooks/event_json.hpp) plus '\n'.
std::string event_json_line(const Event& event);

// Appends `line` with one write() (file created with mode 0640 if missing).
// Returns an empty string on success, else why it failed.
std::string append_line(const std::filesystem::path& path, const std::string& line);

// Runs a log handler for one event; failures are logged and give a failed
// HookResult (ran, exit_code 1) so the dispatcher retries them like commands.
HookResult run_log_action(const conf::HookConfig& hook, const Event& event);

}  // namespace vhm::hooks
