#pragma once
// One duration syntax for every time value in the config file (hook timeouts,
// handshake/connect timeouts, kill_grace, later ban windows): a plain number is
// seconds and may be fractional ("30", "0.5"); a number with a unit suffix is
// that unit ("500ms", "30s", "10m", "1h", "1.5s", "30d"; d is 24h). No spaces, no sign; the
// result is rounded to whole milliseconds and must be > 0 (a value that must
// be positive is the only kind the config has).
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace vhm::conf {

// Longest accepted duration (about 31 years): keeps time_point arithmetic far
// from overflow.
inline constexpr std::chrono::milliseconds max_duration{1'000'000'000'000};

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::string& error);

// "500ms", "30s", "10m", "1h" or "1500ms": the shortest exact spelling, for messages.
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace vhm::conf
