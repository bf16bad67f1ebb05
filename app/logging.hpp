#pragma once
// Process-wide logging through spdlog's default logger: stderr (for systemd's
// journal and terminals) or an append-only log file, flushed on every line so
// an operator tailing it sees sessions as they happen.
#include <filesystem>
#include <optional>
#include <string>

namespace vhm::app {

// Returns an error message when the log file cannot be opened or the level is unknown.
std::optional<std::string> setup_logging(const std::filesystem::path& log_file, const std::string& level);

}  // namespace vhm::app
