#pragma once
// `vnc-hooks-manager ctl`: one request to the running proxy's control socket,
// answered in human form (tables, one line) or as the raw JSON response.
// Synchronous and dependency-light: it runs as a short-lived command.
#include <chrono>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "control/protocol.hpp"

namespace vhm::control {

inline constexpr int ctl_exit_ok = 0;
inline constexpr int ctl_exit_error = 1;  // the server reported an error, or it cannot be reached
inline constexpr int ctl_exit_usage = 2;

struct CtlOptions {
  std::filesystem::path socket;
  bool json = false;               // print the response line as it came
  std::vector<std::string> words;  // "sessions" | "bans" | "unban" ADDRESS | "kill" SESSION_ID
  std::chrono::milliseconds timeout{10'000};  // connect, send, and wait for the response
};

// The request that `words` ask for; nullopt with a usage message in `error`.
std::optional<Request> request_from_words(const std::vector<std::string>& words, std::string& error);

// Returns one of the ctl_exit_* codes. Results go to `out`, messages to `err`.
int run_ctl(const CtlOptions& options, std::ostream& out, std::ostream& err);

// One raw exchange: sends `request_line` plus a newline, returns the response
// line (without newline). On failure `error` says what happened and names the
// socket path.
struct Exchange {
  bool ok = false;
  std::string response;
  std::string error;
};
Exchange exchange_line(const std::filesystem::path& socket, std::string_view request_line,
                       std::chrono::milliseconds timeout);

}  // namespace vhm::control
