#pragma once
// The pure half of shared bans (docs/shared-bans.md): the Redis key names,
// the pub/sub message every proxy reads, and the script replies decoded into
// bans. No sockets, no clocks: shared_bans.cpp drives it, tests/unit/broker/
// checks it.
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/redis_reply.hpp"
#include "conf/config.hpp"
#include "policy/ban_table.hpp"

namespace vhm::broker::shared_bans {

// Every key and the channel start with this, so one Redis can serve other
// users (and `redis-cli --scan --pattern 'vnc-hooks-manager:bans:*'` lists ours).
inline constexpr std::string_view key_prefix = "vnc-hooks-manager:bans:";

// A sorted set of failure times (ms) of one client key, expiring with the window.
std::string failures_key(std::string_view client_key);
// A hash (until, duration, level, failures) of the key's latest ban; it lives
// until the ban ends plus max_ban, so repeat offenders escalate across proxies.
std::string ban_key(std::string_view client_key);
// The time (ms) of the last operator unban of the key, for max_ban: a proxy
// that was away does not bring back a ban that started before it.
std::string unbanned_key(std::string_view client_key);
// SCAN MATCH pattern of every ban hash.
std::string ban_key_pattern();
// The client key in a ban hash's name; nullopt for any other name.
std::optional<std::string> client_key_of(std::string_view ban_key_name);
// Pub/sub channels are shared by every database of a server, so the channel
// names the database the keys are in.
std::string channel(int database);

// What a script PUBLISHes and every proxy's subscriber reads:
//   "ban <origin> <key> <until_ms> <duration_s> <level> <failures>"
//   "unban <origin> <key>"
// <origin> names the proxy that made the change: a proxy skips its own.
struct Change {
  enum class Kind { ban, unban };
  Kind kind = Kind::ban;
  std::string origin;
  policy::Ban ban;  // key always; the other fields for a ban
  bool operator==(const Change&) const = default;
};
std::string format_change(const Change& change);
// Nullopt for anything malformed (a wrong word count, a number that is not
// one, a key with a space or control character, an origin that is empty).
std::optional<Change> parse_change(std::string_view text);

// Unix time in whole milliseconds, and back, as kept in Redis.
long long to_unix_ms(policy::TimePoint when);
policy::TimePoint from_unix_ms(long long ms);

// The settings a proxy sends with each failure (its own blocking: section).
struct ScriptSettings {
  unsigned max_failures = 5;
  std::chrono::milliseconds window{600'000};
  std::chrono::seconds ban{3600};
  std::chrono::seconds max_ban{86'400};  // never below ban
};
ScriptSettings script_settings(const conf::BlockingConfig& config);

// The failure script's reply: {count} while counting; {1, until, duration,
// level, failures} when this failure started a ban; {0, until, ...} when the
// key was banned already (by another proxy: not counted, nothing announced).
struct FailureOutcome {
  std::optional<policy::Ban> ban;  // the ban in force after this failure, if any
  bool started = false;            // this failure started it
};
std::optional<FailureOutcome> failure_outcome(const std::string& client_key, const RedisReply& reply);

// HMGET <ban key> until duration level failures -> the ban it describes
// (ended or not); nullopt when a field is missing or not a number.
std::optional<policy::Ban> ban_from_fields(const std::string& client_key, const RedisReply& reply);

// The merge script's verdict on a local ban offered to Redis.
enum class MergeVerdict {
  written,    // Redis had no ban as long: it has ours now (and told the others)
  kept,       // Redis has one at least as long: it is pulled in by the sync
  unbanned,   // an operator unbanned the key after this ban started: lift it here too
  invalid,    // a reply we do not understand
};
MergeVerdict merge_verdict(const RedisReply& reply);

}  // namespace vhm::broker::shared_bans
