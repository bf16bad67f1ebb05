#pragma once
// Why a connection was refused before any server was dialed. The codes are
// the `reason` of `blocked` events and of the "blocked:" log line.
#include <cstdint>
#include <string_view>

namespace vhm::policy {

enum class Refusal : std::uint8_t {
  banned,
  denied,
  session_limit,
  per_ip_limit,
  rate_limit,
  // Transparent listeners (proxy/transparent_target.hpp): the original
  // destination is not in allow_targets, or it is the proxy itself.
  target_not_allowed,
  target_loop,
};

// "banned", "denied", "session_limit", "per_ip_limit", "rate_limit",
// "target_not_allowed", "target_loop".
constexpr std::string_view reason_code(Refusal refusal) {
  switch (refusal) {
    case Refusal::banned: return "banned";
    case Refusal::denied: return "denied";
    case Refusal::session_limit: return "session_limit";
    case Refusal::per_ip_limit: return "per_ip_limit";
    case Refusal::rate_limit: return "rate_limit";
    case Refusal::target_not_allowed: return "target_not_allowed";
    case Refusal::target_loop: return "target_loop";
  }
  return "unknown";
}

}  // namespace vhm::policy
