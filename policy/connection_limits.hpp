#pragma once
// Per-listener admission: allow/deny lists and the session and connection-rate
// limits of a listener (conf::ListenerConfig). Checked when a connection is
// accepted, before any server is dialed, so a refused client costs nothing
// but a short RFB refusal.
//
// admit() checks and, when it admits, counts the session at once: check and
// count are one step under the lock, so concurrent accepts can never overshoot
// a limit. Every admitted session must be handed back with session_ended()
// exactly once (whether it ended normally, was refused by a gate or failed to
// dial). Refused connections are not counted anywhere.
//
// Order of checks: denied (deny list, or not in a non-empty allow list), then
// per_ip_limit, rate_limit (admitted connections of this address within the
// last 60 s), session_limit. Time is passed in, never read. Memory stays
// bounded: an address is tracked only while it has sessions or connections in
// the last minute, and at most max_addresses are tracked (the least recently
// seen idle one is forgotten first).
#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "conf/config.hpp"
#include "policy/cidr.hpp"
#include "policy/refusal.hpp"

namespace vhm::policy {

class ConnectionLimits {
 public:
  using TimePoint = std::chrono::system_clock::time_point;
  static constexpr std::chrono::seconds rate_window{60};
  static constexpr std::size_t default_max_addresses = 100'000;

  enum class Decision : std::uint8_t { ok, denied, session_limit, per_ip_limit, rate_limit };

  explicit ConnectionLimits(const conf::ListenerConfig& listener, std::size_t max_addresses = default_max_addresses);
  ConnectionLimits(const ConnectionLimits&) = delete;
  ConnectionLimits& operator=(const ConnectionLimits&) = delete;

  // New lists and limits (config reload); counts of running sessions are kept.
  void configure(const conf::ListenerConfig& listener);

  // Decision::ok counts the session (see above); anything else counts nothing.
  [[nodiscard]] Decision admit(const Address& address, TimePoint now);
  // Hands back one session admitted for `address`.
  void session_ended(const Address& address);

  std::size_t sessions() const;                          // admitted and not yet ended
  std::size_t sessions_of(const Address& address) const;  // the same, for one address
  std::size_t tracked_addresses() const;

 private:
  struct Client {
    std::string key;                  // canonical address text
    std::size_t sessions = 0;
    std::vector<TimePoint> connects;  // admitted within the window, oldest first
  };
  using Lru = std::list<Client>;  // least recently seen first

  void expire(Client& client, TimePoint now) const;
  Lru::iterator find_or_add(const std::string& key, TimePoint now);
  void sweep(TimePoint now);

  mutable std::mutex mutex_;
  CidrSet allow_;
  CidrSet deny_;
  std::optional<std::size_t> max_sessions_;
  std::optional<std::size_t> max_sessions_per_ip_;
  std::optional<std::size_t> max_connects_per_minute_;
  std::size_t max_addresses_;
  std::size_t sessions_ = 0;
  Lru lru_;
  std::unordered_map<std::string, Lru::iterator> index_;
  TimePoint next_sweep_{};
};

// The refusal a non-ok decision stands for (nullopt for ok).
std::optional<Refusal> refusal_of(ConnectionLimits::Decision decision);

}  // namespace vhm::policy
