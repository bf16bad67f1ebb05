#pragma once
// The words systemd shows for the proxy (`systemctl status`: "Status: ..."),
// and the guard that keeps a peer-influenced text from breaking the
// newline-separated sd_notify message. Pure functions, unit-tested.
#include <cstddef>
#include <string>
#include <string_view>

namespace vhm::service {

// "2 listeners, 1 session"
std::string counts_text(std::size_t listeners, std::size_t sessions);

// One line of at most `limit` bytes: control characters become spaces,
// longer text is cut and ends in "...".
std::string one_line(std::string_view text, std::size_t limit = 200);

}  // namespace vhm::service
