#pragma once
// One event as one JSON object on one line: {"event":"connect","session_id":...}
// with every field of conf::field_names as a string. Shared by the built-in
// `log` action, quick mode's stdout sink and the Redis event stream. Always
// valid JSON: control characters are escaped and invalid UTF-8 bytes become U+FFFD.
#include <optional>
#include <string>
#include <string_view>

#include "hooks/event.hpp"

namespace vhm::hooks {

// JSON string literal (with quotes) for arbitrary bytes.
std::string json_string(std::string_view bytes);

// The event without a trailing newline.
std::string event_to_json(const Event& event);

// The inverse, for events that come back from outside (the worker reads them
// from Redis): an object whose "event" names a known kind and whose known
// fields are strings. Fields it does not know are ignored (a newer proxy may
// send more); missing ones stay empty. Anything else is nullopt with `error`
// saying what (for a log line: it never quotes the input).
std::optional<Event> event_from_json(std::string_view json, std::string& error);

}  // namespace vhm::hooks
