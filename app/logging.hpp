#pragma once
// Process-wide logging through spdlog's default logger: stderr (for systemd's
// journal and terminals) or an append-only log file. Each line is written at
// once, or, with the io loop attached, at the end of the loop's turn
// (app/loop_flushed_sink.hpp): an operator tailing it still sees sessions as
// they happen, and a burst of them costs a few writes instead of one per line.
#include <filesystem>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>

namespace vhm::app {

// Returns an error message when the log file cannot be opened or the level is unknown.
std::optional<std::string> setup_logging(const std::filesystem::path& log_file, const std::string& level);

// Lines wait for the end of a turn of this loop; nullopt: each is written at
// once again (call before the loop is destroyed).
void write_log_per_loop_turn(std::optional<boost::asio::any_io_executor> executor);

}  // namespace vhm::app
