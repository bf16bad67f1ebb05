#pragma once
// One event as one JSON object on one line: {"event":"connect","session_id":...}
// with every field of conf::field_names as a string. Shared by the built-in
// `log` action and quick mode's stdout sink. Always valid JSON: control
// characters are escaped and invalid UTF-8 bytes become U+FFFD.
#include <string>
#include <string_view>

#include "hooks/event.hpp"

namespace vhm::hooks {

// JSON string literal (with quotes) for arbitrary bytes.
std::string json_string(std::string_view bytes);

// The event without a trailing newline.
std::string event_to_json(const Event& event);

}  // namespace vhm::hooks
