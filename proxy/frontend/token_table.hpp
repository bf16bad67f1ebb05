#pragma once
// websockify's token files, unchanged: lines of `token: host:port` (blank
// lines and # comments ignored), in one file or in every file of a directory.
// The table re-reads them when a file's mtime or size changes (checked at
// most once a second, on lookup), so editing a token file needs no reload. A
// line it cannot read is logged once with its file and line and skipped.
// Tokens are secrets: log lines and {token} carry redact_token() only.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/config.hpp"

namespace vhm::proxy::frontend {

struct TokenFileParse {
  std::map<std::string, conf::HostPort, std::less<>> tokens;
  std::vector<std::string> problems;  // "FILE:LINE: why" (never the token itself)
};

// One file's text. A later duplicate wins (as in websockify); IPv6 targets as [::1]:5900.
TokenFileParse parse_token_file(std::string_view text, std::string_view file_name);

// The {token} field and log form: a short stable digest, never the token
// ("sha256:" + first 8 hex digits of its SHA-256).
std::string redact_token(std::string_view token);

// Used from one thread (the io thread): lookup() may re-read the files.
class TokenTable {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // `clock`: tests step it instead of sleeping through the rate limit.
  explicit TokenTable(std::filesystem::path file_or_directory, Clock clock = std::chrono::steady_clock::now);
  // Reads now; false with `error` when the path cannot be read at all (load time).
  bool load(std::string& error);
  // nullopt: unknown token. Re-reads changed files first (rate-limited).
  std::optional<conf::HostPort> lookup(std::string_view token);
  std::size_t size() const { return tokens_.size(); }

 private:
  void refresh_if_changed();
  std::filesystem::path path_;
  Clock clock_;
  bool unreadable_ = false;  // logged once until the path reads again
  std::map<std::string, conf::HostPort, std::less<>> tokens_;
  // file -> (mtime, size) at the last read: a change triggers a re-read of all
  std::map<std::filesystem::path, std::pair<std::filesystem::file_time_type, std::uintmax_t>> seen_;
  std::chrono::steady_clock::time_point last_check_{};
};

// The token a browser's request names, websockify's ways: `?token=` in the
// query, else the last path segment when the path is not just "/" or
// "/websockify", else (when enabled) the Host name without port.
// Percent-decoded. nullopt: none given.
std::optional<std::string> requested_token(std::string_view request_target, std::string_view host,
                                           bool token_from_host);

}  // namespace vhm::proxy::frontend
