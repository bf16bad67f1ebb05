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
                           "\"transport\":\"\",\"token\":\"\",\"http_user\":\"\",\"origin\":\"\"}";
  CHECK(json.find(tail) == json.size() - tail.size());
  CHECK(json.find('\n') == std::string::npos);
}
