#pragma once
// The vocabulary shared by config, hooks and proxy: which events exist and which
// fields every event carries. Config validation checks placeholders against it,
// the proxy fills it, hooks expose it as {placeholders} and VNC_* variables.
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vhm::conf {

enum class EventKind : std::uint8_t {
  connect, auth_success, auth_failure, disconnect, ban, blocked,
  recording_started, recording_finished, recording_failed,
  // Message tracking after the handshake (docs/session-policy.md).
  clipboard, idle_warning, resize, screen_change, desktop_name,
};

inline constexpr std::array<std::string_view, 14> event_kind_names = {
    "connect", "auth_success", "auth_failure", "disconnect", "ban", "blocked",
    "recording_started", "recording_finished", "recording_failed",
    "clipboard", "idle_warning", "resize", "screen_change", "desktop_name"};

constexpr std::string_view to_string(EventKind kind) {
  return event_kind_names[static_cast<std::size_t>(kind)];
}
std::optional<EventKind> parse_event_kind(std::string_view name);

// Order matters only for iteration; names are the public contract.
enum class Field : std::uint8_t {
  event, session_id, timestamp, client_ip, client_port, listen, target_host,
  target_port, display, user, rfb_version, security_type, desktop_name, width,
  height, reason, duration, bytes_in, bytes_out, failures, ban_until,
  recording_path, recording_bytes,
  direction, clipboard_bytes, clipboard_path, key_events, pointer_events,
  updates, clipboard_in, clipboard_out, tracking,
  // Browser access (docs/browser-access.md): tcp, tls, ws, wss; the token's
  // redacted form; the HTTP Basic user; the browser's Origin.
  transport, token, http_user, origin,
  // The proxy's host name (broker.host_name, else gethostname()): which proxy
  // of a fleet saw the event (docs/fleet.md).
  proxy_host,
};
inline constexpr std::size_t field_count = 37;

inline constexpr std::array<std::string_view, field_count> field_names = {
    "event", "session_id", "timestamp", "client_ip", "client_port", "listen",
    "target_host", "target_port", "display", "user", "rfb_version",
    "security_type", "desktop_name", "width", "height", "reason", "duration",
    "bytes_in", "bytes_out", "failures", "ban_until", "recording_path",
    "recording_bytes", "direction", "clipboard_bytes", "clipboard_path",
    "key_events", "pointer_events", "updates", "clipboard_in", "clipboard_out",
    "tracking", "transport", "token", "http_user", "origin", "proxy_host"};

constexpr std::string_view to_string(Field field) {
  return field_names[static_cast<std::size_t>(field)];
}
std::optional<Field> parse_field(std::string_view name);
// "VNC_" + upper-case field name, e.g. VNC_CLIENT_IP.
std::string env_name(Field field);

}  // namespace vhm::conf
