#include <catch2/catch.hpp>

#include <set>

#include "conf/event_schema.hpp"

using namespace vhm::conf;

TEST_CASE("event_schema: every event kind round-trips through its name") {
  for (std::size_t i = 0; i < event_kind_names.size(); ++i) {
    const auto kind = static_cast<EventKind>(i);
    const auto parsed = parse_event_kind(to_string(kind));
    REQUIRE(parsed);
    CHECK(*parsed == kind);
  }
  CHECK(to_string(EventKind::connect) == "connect");
  CHECK(to_string(EventKind::auth_success) == "auth_success");
  CHECK(to_string(EventKind::auth_failure) == "auth_failure");
  CHECK(to_string(EventKind::disconnect) == "disconnect");
  CHECK(to_string(EventKind::ban) == "ban");
  CHECK(to_string(EventKind::blocked) == "blocked");
  CHECK(to_string(EventKind::recording_started) == "recording_started");
  CHECK(to_string(EventKind::recording_finished) == "recording_finished");
  CHECK(to_string(EventKind::recording_failed) == "recording_failed");
  CHECK(to_string(EventKind::clipboard) == "clipboard");
  CHECK(to_string(EventKind::idle_warning) == "idle_warning");
  CHECK(to_string(EventKind::resize) == "resize");
  CHECK(to_string(EventKind::screen_change) == "screen_change");
  CHECK(to_string(EventKind::desktop_name) == "desktop_name");
  CHECK(event_kind_names.size() == 14);
}

TEST_CASE("event_schema: unknown event names are not parsed") {
  CHECK_FALSE(parse_event_kind("Connect"));
  CHECK_FALSE(parse_event_kind("Blocked"));
  CHECK_FALSE(parse_event_kind("screen-change"));
  CHECK_FALSE(parse_event_kind("idle"));
  CHECK_FALSE(parse_event_kind("recording"));
  CHECK_FALSE(parse_event_kind("recording_start"));
  CHECK_FALSE(parse_event_kind(""));
}

TEST_CASE("event_schema: the field names are the documented contract, unique, and round-trip") {
  const std::vector<std::string_view> documented = {
      "event", "session_id", "timestamp", "client_ip", "client_port", "listen", "target_host",
      "target_port", "display", "user", "rfb_version", "security_type", "desktop_name", "width",
      "height", "reason", "duration", "bytes_in", "bytes_out", "failures", "ban_until",
      "recording_path", "recording_bytes", "direction", "clipboard_bytes", "clipboard_path",
      "key_events", "pointer_events", "updates", "clipboard_in", "clipboard_out", "tracking",
      "transport", "token", "http_user", "origin", "proxy_host"};
  REQUIRE(field_names.size() == documented.size());
  CHECK(std::vector<std::string_view>(field_names.begin(), field_names.end()) == documented);
  CHECK(std::set<std::string_view>(field_names.begin(), field_names.end()).size() == field_count);
  for (std::size_t i = 0; i < field_count; ++i) {
    const auto field = static_cast<Field>(i);
    const auto parsed = parse_field(to_string(field));
    REQUIRE(parsed);
    CHECK(*parsed == field);
  }
  CHECK(to_string(Field::bytes_out) == "bytes_out");
  CHECK(to_string(Field::failures) == "failures");
  CHECK(to_string(Field::ban_until) == "ban_until");
  CHECK(to_string(Field::recording_path) == "recording_path");
  CHECK(to_string(Field::recording_bytes) == "recording_bytes");
  CHECK(to_string(Field::tracking) == "tracking");
  CHECK(to_string(Field::origin) == "origin");
  CHECK(to_string(Field::proxy_host) == "proxy_host");
  CHECK(field_count == 37);
  CHECK_FALSE(parse_field("hook_name"));
  CHECK_FALSE(parse_field("USER"));
}

TEST_CASE("event_schema: env_name is VNC_ plus the upper-case field name") {
  CHECK(env_name(Field::client_ip) == "VNC_CLIENT_IP");
  CHECK(env_name(Field::event) == "VNC_EVENT");
  CHECK(env_name(Field::bytes_out) == "VNC_BYTES_OUT");
  CHECK(env_name(Field::ban_until) == "VNC_BAN_UNTIL");
  CHECK(env_name(Field::recording_path) == "VNC_RECORDING_PATH");
  CHECK(env_name(Field::recording_bytes) == "VNC_RECORDING_BYTES");
  CHECK(env_name(Field::clipboard_path) == "VNC_CLIPBOARD_PATH");
}
