#include <catch2/catch.hpp>

#include "hooks/event_json.hpp"

using namespace vhm::hooks;
using vhm::conf::Field;

TEST_CASE("json_string escapes quotes, backslashes and control characters") {
  CHECK(json_string("plain") == "\"plain\"");
  CHECK(json_string("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(json_string("line1\nline2\t\r") == "\"line1\\nline2\\t\\r\"");
  CHECK(json_string(std::string("\x01\x1b\x7f", 3)) == "\"\\u0001\\u001b\\u007f\"");
  CHECK(json_string(std::string("nul\0end", 7)) == "\"nul\\u0000end\"");
}

TEST_CASE("json_string keeps valid UTF-8 and replaces invalid bytes with U+FFFD") {
  CHECK(json_string("Bürodesktop ✓") == "\"Bürodesktop ✓\"");
  CHECK(json_string("\xff") == "\"\xEF\xBF\xBD\"");
  CHECK(json_string("a\xC3") == "\"a\xEF\xBF\xBD\"");          // truncated sequence
  CHECK(json_string("\xC0\xAF") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");  // overlong '/'
  CHECK(json_string("\xED\xA0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // surrogate
}

TEST_CASE("event_to_json writes the event name and every field once, in schema order") {
  Event event;
  event.kind = vhm::conf::EventKind::auth_failure;
  event[Field::session_id] = "00112233aabbccdd";
  event[Field::reason] = "Authentication failure";
  const std::string json = event_to_json(event);
  CHECK(json.rfind("{\"event\":\"auth_failure\",\"session_id\":\"00112233aabbccdd\",", 0) == 0);
  CHECK(json.find("\"reason\":\"Authentication failure\"") != std::string::npos);
  CHECK(json.find("\"bytes_in\":\"\",\"bytes_out\":\"\",") != std::string::npos);
  const std::string tail = "\"ban_until\":\"\",\"recording_path\":\"\",\"recording_bytes\":\"\",\"direction\":\"\","
                           "\"clipboard_bytes\":\"\",\"clipboard_path\":\"\",\"key_events\":\"\",\"pointer_events\":\"\","
                           "\"updates\":\"\",\"clipboard_in\":\"\",\"clipboard_out\":\"\",\"tracking\":\"\","
                           "\"transport\":\"\",\"token\":\"\",\"http_user\":\"\",\"origin\":\"\",\"proxy_host\":\"\"}";
  CHECK(json.find(tail) == json.size() - tail.size());
  CHECK(json.find('\n') == std::string::npos);
}

TEST_CASE("event_from_json gives back what event_to_json wrote, field for field") {
  Event event;
  event.kind = vhm::conf::EventKind::disconnect;
  event[Field::event] = "disconnect";
  event[Field::session_id] = "00112233aabbccdd";
  event[Field::client_ip] = "2001:db8::7";
  event[Field::reason] = "line1\nline2 \"quoted\" \\ tab\t";
  event[Field::desktop_name] = "Bürodesktop ✓";
  event[Field::origin] = std::string("\x01nul\0end", 8);
  std::string error;
  const auto back = event_from_json(event_to_json(event), error);
  REQUIRE(back);
  CHECK(error.empty());
  CHECK(back->kind == event.kind);
  CHECK(back->values == event.values);
}

TEST_CASE("event_from_json ignores unknown fields, leaves missing ones empty and sets {event} from the kind") {
  std::string error;
  const auto event = event_from_json(
      R"({"event":"auth_failure","session_id":"s1","future_field":{"nested":[1,2]},"event_version":3,"user":"bob"})", error);
  REQUIRE(event);
  CHECK(event->kind == vhm::conf::EventKind::auth_failure);
  CHECK((*event)[Field::event] == "auth_failure");
  CHECK((*event)[Field::session_id] == "s1");
  CHECK((*event)[Field::user] == "bob");
  CHECK((*event)[Field::client_ip].empty());
}

TEST_CASE("event_from_json refuses wrong types, unknown kinds and non-objects with a clear error") {
  const auto refused = [](std::string_view json) {
    std::string error;
    const auto event = event_from_json(json, error);
    CHECK_FALSE(event);
    return error;
  };
  CHECK(refused("").rfind("not JSON", 0) == 0);
  CHECK(refused("{\"event\":\"connect\"").rfind("not JSON", 0) == 0);
  CHECK(refused("[\"connect\"]") == "not a JSON object");
  CHECK(refused("\"connect\"") == "not a JSON object");
  CHECK(refused("{\"session_id\":\"s\"}") == "no \"event\" field");
  CHECK(refused("{\"event\":7}") == "\"event\" is not a string");
  CHECK(refused("{\"event\":\"reboot\"}") == "unknown event kind \"reboot\"");
  CHECK(refused("{\"event\":\"connect\",\"client_port\":5900}") == "field \"client_port\" is not a string");
  CHECK(refused("{\"event\":\"connect\",\"user\":null}") == "field \"user\" is not a string");
  CHECK(refused("{\"event\":\"connect\",\"x\":[[[[[[[[1]]]]]]]]}").rfind("not JSON", 0) == 0);  // too deep
  // An error never carries much of the input.
  CHECK(refused("{\"event\":\"" + std::string(5000, 'a') + "\"}").size() < 80);
}
