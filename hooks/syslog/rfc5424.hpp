#pragma once
// One event as one RFC 5424 syslog message (docs/syslog.md), pure: no
// sockets, no clock, no host lookups (the caller passes them in).
//   <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [vnc@32473 field="value" ...] BOM MSG
// Every non-empty event field is an SD-PARAM. Peer-controlled values can
// neither end the structured data nor add a line or a frame: invalid UTF-8
// and control characters become U+FFFD, and '"', '\' and ']' are escaped.
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "conf/event_schema.hpp"
#include "hooks/event.hpp"

namespace vhm::hooks::syslog {

// 32473 is the example Private Enterprise Number of RFC 5612: documentation
// and examples only. A site that owns a number can change it here.
inline constexpr std::string_view structured_data_id = "vnc@32473";
// Whole message, header included: what every receiver accepts over UDP
// (RFC 5426 asks for at least 2048; rsyslog and syslog-ng take 8 KiB).
inline constexpr std::size_t max_message_bytes = 8192;

// The parts of a message that do not come from the event.
struct Origin {
  int facility = 10;  // authpriv
  int severity = 5;   // notice
  std::string hostname;  // as gethostname gave it; made a valid HOSTNAME here
  std::string app_name = "vnc-hooks-manager";
  std::string procid;    // the proxy's pid
};

// warning (4) for auth_failure, ban and blocked; notice (5) otherwise.
int default_severity(conf::EventKind kind);

// Valid UTF-8 with every control character (C0, DEL, C1) replaced by U+FFFD.
std::string single_line_text(std::string_view text);

// A PARAM-VALUE (without the quotes): single_line_text with '"', '\' and ']'
// escaped by a backslash.
std::string param_value(std::string_view text);

// "auth_failure client 192.0.2.7:51234 -> 127.0.0.1:5901 user alice": the
// default MSG; empty parts are left out.
std::string event_summary(const Event& event);

// The whole message (no trailing newline or frame). TIMESTAMP is the
// event's timestamp field when it has the form 2026-11-23T12:00:00.123Z,
// otherwise `now`. Values longer than 1 KiB are shortened, further if needed,
// and MSG last, so the message never exceeds max_bytes.
std::string format_message(const Origin& origin, const Event& event, std::string_view msg,
                           std::chrono::system_clock::time_point now, std::size_t max_bytes = max_message_bytes);

}  // namespace vhm::hooks::syslog
