#pragma once
// Why a session ended: the {reason} of its `disconnect` event. The set is part
// of the public contract (hooks switch on it); the detail only goes to the log.
#include <cstdint>
#include <string_view>

namespace vhm::proxy {

enum class DisconnectReason : std::uint8_t {
  client_closed,
  server_closed,
  timeout,
  target_unreachable,
  protocol_error,
  shutdown,
  refused,  // a gate hook said no
  killed,   // an operator ended it (ctl kill)
  tls_error,  // VeNCrypt termination: a TLS handshake or the TLS relay failed (the log says which leg and why)
  recording_failed,  // recording `on_error: close_session`: the session could not be recorded
  idle,          // session.input_idle_timeout: no key or pointer input from the viewer for that long
  max_duration,  // session.max_duration reached
};

constexpr std::string_view to_string(DisconnectReason reason) {
  switch (reason) {
    case DisconnectReason::client_closed: return "client_closed";
    case DisconnectReason::server_closed: return "server_closed";
    case DisconnectReason::timeout: return "timeout";
    case DisconnectReason::target_unreachable: return "target_unreachable";
    case DisconnectReason::protocol_error: return "protocol_error";
    case DisconnectReason::shutdown: return "shutdown";
    case DisconnectReason::refused: return "refused";
    case DisconnectReason::killed: return "killed";
    case DisconnectReason::tls_error: return "tls_error";
    case DisconnectReason::recording_failed: return "recording_failed";
    case DisconnectReason::idle: return "idle";
    case DisconnectReason::max_duration: return "max_duration";
  }
  return "unknown";
}

}  // namespace vhm::proxy
