#pragma once
// Auth-failure bans: counts failed authentications per client key (see
// client_key.hpp) in a sliding window and bans a key that reaches the limit.
// Repeat offenders escalate: each further ban of a key doubles the last one,
// capped at max_ban; the level is forgotten once the key has been unbanned for
// max_ban. Addresses in the allow list are never counted or banned.
//
// Pure logic: time is passed in (`now`), never read, so tests can walk through
// hours in microseconds. Wall-clock time (system_clock) because ban ends are
// shown to people and saved across restarts.
//
// Bounded memory: failures older than the window and forgotten keys are
// dropped when touched and by a sweep at most once a minute; beyond max_keys
// the least recently touched key is dropped. Thread-safe: one mutex, so counts
// are exact when sessions, the control socket and future workers call in.
#include <chrono>
#include <cstddef>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "conf/config.hpp"
#include "policy/cidr.hpp"
#include "policy/client_key.hpp"

namespace vhm::policy {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

// One ban: the one just started (record_failure), the one in force
// (ban_for), or a listed / saved / restored one.
struct Ban {
  std::string key;           // client_key() of the banned client
  unsigned failures = 0;     // failures within the window that started it
  TimePoint until;           // the ban ends at this instant
  std::chrono::seconds duration{0};  // its length (ban, 2*ban, ... max_ban)
  unsigned level = 1;        // 1 for a first ban, 2 after one doubling, ...
  bool operator==(const Ban&) const = default;
};

class BanTable {
 public:
  static constexpr std::size_t default_max_keys = 100'000;

  explicit BanTable(const conf::BlockingConfig& config, std::size_t max_keys = default_max_keys);
  BanTable(const BanTable&) = delete;
  BanTable& operator=(const BanTable&) = delete;

  // New settings (config reload); counted failures and bans are kept.
  void configure(const conf::BlockingConfig& config);

  // One failed authentication. Returns the ban it started, if any. Failures
  // while the key is already banned are not counted (a ban in force cannot
  // start another); allowed addresses are ignored.
  std::optional<Ban> record_failure(const Address& address, TimePoint now);

  // The ban in force for this client's key, if any (never for allowed addresses).
  std::optional<Ban> ban_for(const Address& address, TimePoint now);

  // Forgets everything about the key: failures, ban and repeat level.
  // `address_or_key` is what an operator typed (see key_from_text). True when
  // the key had a ban in force or failures in the window.
  bool unban(std::string_view address_or_key, TimePoint now);
  bool unban(const Address& address, TimePoint now);

  // Bans in force, earliest end first (then by key): for ctl and the state file.
  std::vector<Ban> list(TimePoint now);

  // Puts saved bans back (state file at start-up). Skips ended bans, keys
  // that are not canonical for the current key prefixes (the config changed)
  // and keys in the allow list. Returns how many were restored.
  std::size_t restore(const std::vector<Ban>& bans, TimePoint now);

  // Failures counted in the window for this client's key (0 while banned).
  unsigned failures(const Address& address, TimePoint now);

  // Drops everything forgotten as of `now`; also done automatically.
  void prune(TimePoint now);
  // Keys tracked (failing, banned, or remembered for escalation).
  std::size_t size() const;

  KeyPrefixes prefixes() const;

 private:
  struct State {
    std::string key;
    std::vector<TimePoint> failures;  // in the window, oldest first; empty while banned
    TimePoint until{};                // end of the latest ban (in the past once it ended)
    std::chrono::seconds duration{0};  // length of the latest ban
    unsigned ban_failures = 0;
    unsigned level = 0;  // 0: no ban remembered
  };
  using Lru = std::list<State>;  // least recently touched first

  bool banned(const State& state, TimePoint now) const { return state.level > 0 && now < state.until; }
  Ban to_ban(const State& state) const;
  // Drops old failures and a forgotten level; true when nothing is left.
  bool expire(State& state, TimePoint now) const;
  Lru::iterator find(const std::string& key, TimePoint now);
  Lru::iterator find_or_add(const std::string& key, TimePoint now);
  void erase(Lru::iterator it);
  void maybe_sweep(TimePoint now);
  void sweep(TimePoint now);

  mutable std::mutex mutex_;
  unsigned max_failures_;
  std::chrono::seconds window_;
  std::chrono::seconds ban_;
  std::chrono::seconds max_ban_;
  CidrSet allow_;
  KeyPrefixes prefixes_;
  std::size_t max_keys_;
  Lru lru_;
  std::unordered_map<std::string, Lru::iterator> index_;
  TimePoint next_sweep_{};
};

}  // namespace vhm::policy
