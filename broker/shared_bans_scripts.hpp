#pragma once
// The Lua scripts of shared bans (docs/shared-bans.md). Each runs atomically
// in Redis, so two proxies counting the same client never lose a failure or
// start two bans. Time is Redis's (TIME), one clock for the whole fleet.
// Keys: see shared_bans_logic.hpp. Every ban and unban is PUBLISHed by the
// script that made it, once, with the origin of the proxy that asked.
#include <string_view>

namespace vhm::broker::shared_bans {

// One failed authentication. KEYS: failures zset, ban hash.
// ARGV: max_failures, window_ms, ban_s, max_ban_s, channel, client key,
// origin, a member unique to this failure. Mirrors policy::BanTable:
// a sliding window; no counting while banned; each further ban doubles the
// last one up to max_ban while the last ended less than max_ban ago.
inline constexpr std::string_view failure_script = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local max_failures = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local max_ban = tonumber(ARGV[4])
local last = redis.call('HMGET', KEYS[2], 'until', 'duration', 'level', 'failures')
local last_until = tonumber(last[1])
if last_until and now < last_until then
  return {0, last_until, tonumber(last[2]), tonumber(last[3]), tonumber(last[4])}
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], now, ARGV[8])
local count = redis.call('ZCARD', KEYS[1])
if count < max_failures then
  redis.call('PEXPIRE', KEYS[1], window)
  return {count}
end
redis.call('DEL', KEYS[1])
local duration = tonumber(ARGV[3])
local level = 1
local last_level = tonumber(last[3])
if last_until and last_level and tonumber(last[2]) and now - last_until < max_ban * 1000 then
  duration = math.min(tonumber(last[2]) * 2, max_ban)
  level = last_level + 1
end
local ban_until = now + duration * 1000
redis.call('HSET', KEYS[2], 'until', ban_until, 'duration', duration, 'level', level, 'failures', count)
redis.call('PEXPIREAT', KEYS[2], ban_until + max_ban * 1000)
redis.call('PUBLISH', ARGV[5], table.concat({'ban', ARGV[7], ARGV[6], ban_until, duration, level, count}, ' '))
return {1, ban_until, duration, level, count}
)lua";

// A ban this proxy holds that Redis may not have (made while Redis was down,
// or kept in the state file). KEYS: ban hash, unbanned marker.
// ARGV: until_ms, duration_s, level, failures, max_ban_s, channel, client key, origin.
// Returns 1 written (and published), 0 Redis has one at least as long (or
// ours has ended), -1 an operator unbanned the key after ours started.
inline constexpr std::string_view merge_script = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ban_until = tonumber(ARGV[1])
local duration = tonumber(ARGV[2])
if ban_until <= now then return 0 end
local current = redis.call('HMGET', KEYS[1], 'until', 'level')
local current_until = tonumber(current[1])
if current_until and current_until >= ban_until then return 0 end
local unbanned = tonumber(redis.call('GET', KEYS[2]))
if unbanned and ban_until - duration * 1000 <= unbanned then return -1 end
local level = math.max(tonumber(ARGV[3]), tonumber(current[2]) or 0)
redis.call('HSET', KEYS[1], 'until', ARGV[1], 'duration', ARGV[2], 'level', level, 'failures', ARGV[4])
redis.call('PEXPIREAT', KEYS[1], ban_until + tonumber(ARGV[5]) * 1000)
redis.call('PUBLISH', ARGV[6], table.concat({'ban', ARGV[8], ARGV[7], ARGV[1], ARGV[2], level, ARGV[4]}, ' '))
return 1
)lua";

// An operator's unban. KEYS: failures zset, ban hash, unbanned marker.
// ARGV: channel, client key, origin, max_ban_s, and the time of the unban in
// ms ('' = now; a proxy that was cut off from Redis sends its own time: a ban
// that started after it is a new one and stays). Returns 1 when a ban or
// failures were lifted. The marker keeps the time for max_ban.
inline constexpr std::string_view unban_script = R"lua(
local t = redis.call('TIME')
local at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if ARGV[5] ~= '' then
  at = tonumber(ARGV[5])
  local b = redis.call('HMGET', KEYS[2], 'until', 'duration')
  local u = tonumber(b[1])
  if u and tonumber(b[2]) and u - tonumber(b[2]) * 1000 > at then return 0 end
end
local previous = tonumber(redis.call('GET', KEYS[3]))
if not previous or previous < at then
  redis.call('SET', KEYS[3], at, 'PX', tonumber(ARGV[4]) * 1000)
end
local lifted = redis.call('DEL', KEYS[1], KEYS[2])
redis.call('PUBLISH', ARGV[1], table.concat({'unban', ARGV[3], ARGV[2]}, ' '))
if lifted > 0 then return 1 end
return 0
)lua";

}  // namespace vhm::broker::shared_bans
