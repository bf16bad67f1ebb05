#pragma once
// What a refused viewer is told, in RFB's own failure message (issue 3).
// The texts are a contract: users read them in their viewer, tests and the
// "blocked:" log line quote them.
#include <chrono>
#include <string>
#include <string_view>

#include "policy/refusal.hpp"

namespace vhm::policy {

// "Too many authentication failures; try again in N minutes": N is the time
// left until `until`, in minutes rounded up, at least 1.
std::string banned_text(std::chrono::system_clock::time_point until, std::chrono::system_clock::time_point now);

// The text for denied, session_limit, per_ip_limit and rate_limit; `client_ip`
// as shown in logs. For banned use banned_text (it needs the ban's end).
//   denied        "Connections from <ip> are not allowed"
//   session_limit "Too many sessions; try again later"
//   per_ip_limit  "Too many sessions from <ip>"
//   rate_limit    "Too many connections from <ip>; try again in a minute"
std::string refusal_text(Refusal refusal, std::string_view client_ip);

// The text for target_not_allowed and target_loop; `destination` as shown in
// logs ("192.0.2.9:5901"). The viewer chose that destination itself.
//   target_not_allowed "Connections to <destination> are not allowed"
//   target_loop        "Connection loop: <destination> is this proxy"
std::string target_refusal_text(Refusal refusal, std::string_view destination);

inline constexpr std::string_view default_gate_text = "Connection refused by policy";
inline constexpr std::size_t max_gate_text = 200;

// A gate hook's refusal shown to the viewer: the first line of its stdout,
// control characters removed, surrounding spaces trimmed, at most 200 bytes
// (never cutting a UTF-8 character); default_gate_text when nothing is left.
std::string gate_refusal_text(std::string_view hook_output);

}  // namespace vhm::policy
