#pragma once
// Session ids: 16 hex digits from a per-process random generator, unique
// enough to correlate a session's events and log lines across restarts.
#include <string>

namespace vhm::proxy {

std::string new_session_id();

}  // namespace vhm::proxy
