#include "broker/shared_bans.hpp"

#include <openssl/evp.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <variant>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include "util/log.hpp"

#include "broker/redis_client.hpp"
#include "broker/shared_bans_logic.hpp"
#include "broker/shared_bans_scripts.hpp"
#include "conf/redis_url.hpp"
#include "policy/client_key.hpp"
#include "util/iso_time.hpp"
#include "util/spawn_logged.hpp"

namespace vhm::broker {

namespace asio = boost::asio;
using boost::system::error_code;
using namespace shared_bans;
using SteadyClock = std::chrono::steady_clock;

namespace {

// Redis down: how often the subscription tries again.
constexpr std::chrono::seconds shared_bans_retry{1};
// Up: how often the whole table is compared with Redis (messages missed).
constexpr std::chrono::seconds shared_bans_resync{15};
// Commands per round trip when a sync offers or pulls many bans.
constexpr std::size_t shared_bans_batch = 500;

struct LuaScript {
  std::string_view body;
  std::string sha;  // hex SHA-1, what EVALSHA names it by
};

LuaScript lua_script(std::string_view body) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(body.data(), body.size(), digest, &length, EVP_sha1(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string sha;
  for (unsigned int i = 0; i < length; ++i) {
    sha += hex[digest[i] >> 4];
    sha += hex[digest[i] & 0xf];
  }
  return {body, sha};
}

const LuaScript& failure_lua() {
  static const LuaScript script = lua_script(failure_script);
  return script;
}
const LuaScript& merge_lua() {
  static const LuaScript script = lua_script(merge_script);
  return script;
}
const LuaScript& unban_lua() {
  static const LuaScript script = lua_script(unban_script);
  return script;
}

struct ScriptCall {
  const LuaScript* script;
  std::vector<std::string> keys;
  std::vector<std::string> args;

  Command command(bool by_sha) const {
    Command command{by_sha ? "EVALSHA" : "EVAL", by_sha ? script->sha : std::string(script->body),
                    std::to_string(keys.size())};
    command.insert(command.end(), keys.begin(), keys.end());
    command.insert(command.end(), args.begin(), args.end());
    return command;
  }
};

bool is_noscript(const RedisReply& reply) { return reply.is_error() && reply.text.starts_with("NOSCRIPT"); }

// Names this proxy in change messages: unique per process, one word.
std::string make_origin() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::string name;
  for (const char* c = host; *c && name.size() < 64; ++c)
    if (*c > ' ' && *c < 0x7f) name += *c;
  if (name.empty()) name = "proxy";
  std::random_device random;
  return name + "/" + std::to_string(getpid()) + "/" + std::to_string(random() % 1'000'000);
}

std::string redis_addresses(const conf::RedisConfig& redis) {
  std::string text;
  for (const auto& address : redis.addresses) {
    if (!text.empty()) text += ", ";
    text += conf::describe(address);
  }
  return text.empty() ? "(none)" : text;
}

}  // namespace

struct SharedBans::Impl {
  Impl(asio::any_io_executor executor, conf::RedisConfig redis, const conf::BlockingConfig& blocking,
       policy::BanTable& table, TableChanged changed)
      : where(redis_addresses(redis)),
        table(table),
        table_changed(std::move(changed)),
        settings(script_settings(blocking)),
        allow(blocking.allow),
        origin(make_origin()),
        channel_name(channel(redis.addresses.empty() ? 0 : redis.addresses.front().database)),
        commands(executor, redis, "shared bans"),
        subscriber(executor, redis, "shared bans subscription"),
        wake(executor),
        retry(executor) {}

  struct FailureJob {
    policy::Address client;
    std::string key;
    BanStarted started;
  };
  struct UnbanJob {
    std::string key;
    long long at_ms;  // when the operator asked (if Redis fails now, sent at the next sync)
  };
  using Job = std::variant<FailureJob, UnbanJob>;

  std::string where;
  policy::BanTable& table;
  TableChanged table_changed;
  ScriptSettings settings;
  policy::CidrSet allow;
  std::string origin;
  std::string channel_name;
  RedisClient commands;    // failures, unbans and syncs: run_commands only
  RedisClient subscriber;  // SUBSCRIBE: run_subscription only
  asio::steady_timer wake;   // run_commands waits on it; cancelled when there is work
  asio::steady_timer retry;  // run_subscription's pause between attempts
  std::deque<Job> jobs;
  std::map<std::string, long long> pending_unbans;  // made while Redis was down: key -> ms
  // Keys unbanned (here or through a message) while a sync ran: its pull may
  // have read their ban before the unban reached Redis, and must not restore it.
  std::set<std::string> unbanned_during_sync;
  bool syncing = false;
  std::uint64_t failure_serial = 0;
  std::uint64_t local_bans = 0;  // started in the local table (Redis down)
  bool stopping = false;
  bool subscribed = false;
  bool need_sync = true;
  std::atomic<bool> up{false};  // also read by the metrics collector
  bool ever_up = false;
  bool down_reported = false;

  policy::TimePoint now() const { return policy::Clock::now(); }

  // ---- local side (no Redis) ----

  void count_locally(const policy::Address& client, const BanStarted& started) {
    auto ban = table.record_failure(client, now());
    if (!ban) return;
    ++local_bans;
    started(*ban);
  }

  void went_down(const std::string& reason) {
    if (stopping) return;
    up = false;
    need_sync = true;
    if (!down_reported) {
      down_reported = true;
      spdlog::warn("blocking: shared bans: Redis ({}) is not reachable: {}; failures are counted and bans made on "
                   "this proxy alone until it is back",
                   where, reason);
    }
    // Jobs that waited for Redis are done here now, as if it had been down then.
    while (!jobs.empty()) {
      auto job = std::move(jobs.front());
      jobs.pop_front();
      if (auto* failure = std::get_if<FailureJob>(&job))
        count_locally(failure->client, failure->started);
      else
        remember_unban(std::get<UnbanJob>(job));
    }
    // A lost subscription may have missed messages: subscribe again, then sync.
    subscriber.close();
  }

  void remember_unban(const UnbanJob& job) {
    auto& at = pending_unbans[job.key];
    at = std::max(at, job.at_ms);
  }

  void came_up(std::size_t merged, std::size_t in_redis) {
    up = true;
    need_sync = false;
    if (down_reported && ever_up) {
      spdlog::info("blocking: shared bans: Redis ({}) is back; {} local ban(s) merged into it, {} ban(s) there", where,
                   merged, in_redis);
    } else {
      spdlog::info("blocking: shared bans through Redis ({}): {} ban(s) there, {} local ban(s) merged into it", where,
                   in_redis, merged);
    }
    down_reported = false;
    ever_up = true;
  }

  // A ban from Redis into the local table; true when it changed the table.
  bool learn(const policy::Ban& ban) { return table.restore({ban}, now()) > 0; }

  // ---- Redis side ----

  // EVALSHA each call (EVAL for those Redis does not know yet), pipelined.
  asio::awaitable<std::vector<RedisReply>> run_scripts(const std::vector<ScriptCall>& calls, error_code& ec) {
    std::vector<Command> batch;
    batch.reserve(calls.size());
    for (const auto& call : calls) batch.push_back(call.command(true));
    auto replies = co_await commands.pipeline(std::move(batch), ec);
    if (ec) co_return replies;
    std::vector<std::size_t> unknown;
    std::vector<Command> again;
    for (std::size_t i = 0; i < replies.size(); ++i)
      if (is_noscript(replies[i])) {
        unknown.push_back(i);
        again.push_back(calls[i].command(false));
      }
    if (unknown.empty()) co_return replies;
    auto retried = co_await commands.pipeline(std::move(again), ec);
    if (ec) co_return replies;
    for (std::size_t i = 0; i < unknown.size(); ++i) replies[unknown[i]] = std::move(retried[i]);
    co_return replies;
  }

  ScriptCall failure_call(const std::string& key) {
    return {&failure_lua(),
            {failures_key(key), ban_key(key)},
            {std::to_string(settings.max_failures), std::to_string(settings.window.count()),
             std::to_string(settings.ban.count()), std::to_string(settings.max_ban.count()), channel_name, key, origin,
             origin + "/" + std::to_string(++failure_serial)}};
  }

  ScriptCall unban_call(const std::string& key, std::optional<long long> at_ms) {
    return {&unban_lua(),
            {failures_key(key), ban_key(key), unbanned_key(key)},
            {channel_name, key, origin, std::to_string(settings.max_ban.count()),
             at_ms ? std::to_string(*at_ms) : std::string()}};
  }

  ScriptCall merge_call(const policy::Ban& ban) {
    return {&merge_lua(),
            {ban_key(ban.key), unbanned_key(ban.key)},
            {std::to_string(to_unix_ms(ban.until)), std::to_string(ban.duration.count()), std::to_string(ban.level),
             std::to_string(ban.failures), std::to_string(settings.max_ban.count()), channel_name, ban.key, origin}};
  }

  asio::awaitable<void> run_failure(const FailureJob& job) {
    error_code ec;
    std::vector<ScriptCall> calls;  // not a braced list in the co_await (GCC 12)
    calls.push_back(failure_call(job.key));
    auto replies = co_await run_scripts(calls, ec);
    if (stopping) co_return;
    if (ec) {
      went_down(commands.last_error());
      count_locally(job.client, job.started);
      co_return;
    }
    const auto outcome = failure_outcome(job.key, replies.front());
    if (!outcome) {
      spdlog::error("blocking: shared bans: unexpected reply to a failure of {}: {}; counted on this proxy", job.key,
                    replies.front().describe());
      count_locally(job.client, job.started);
      co_return;
    }
    if (!outcome->ban) co_return;
    if (learn(*outcome->ban)) table_changed();
    if (outcome->started) job.started(*outcome->ban);
  }

  asio::awaitable<void> run_unban(const UnbanJob& job) {
    error_code ec;
    std::vector<ScriptCall> calls;
    calls.push_back(unban_call(job.key, std::nullopt));
    auto replies = co_await run_scripts(calls, ec);
    if (stopping) co_return;
    if (ec) {
      remember_unban(job);
      went_down(commands.last_error());
    } else if (replies.front().is_error()) {
      spdlog::error("blocking: shared bans: Redis refused the unban of {}: {}", job.key, replies.front().describe());
    }
  }

  void note_unban(const std::string& key) {
    if (syncing) unbanned_during_sync.insert(key);
  }

  // Offers local bans (and unbans) to Redis, then pulls its bans in.
  // False when Redis failed on the way (went_down already said why).
  asio::awaitable<bool> sync() {
    syncing = true;
    unbanned_during_sync.clear();
    const bool synced = co_await sync_steps();
    syncing = false;
    unbanned_during_sync.clear();
    co_return synced;
  }

  asio::awaitable<bool> sync_steps() {
    error_code ec;
    const auto local_bans_before = local_bans;
    if (!pending_unbans.empty()) {
      const auto sent = pending_unbans;
      std::vector<ScriptCall> calls;
      for (const auto& [key, at] : sent) calls.push_back(unban_call(key, at));
      co_await run_scripts(calls, ec);
      if (stopping) co_return false;
      if (ec) {
        went_down(commands.last_error());
        co_return false;
      }
      for (const auto& [key, at] : sent)
        if (auto it = pending_unbans.find(key); it != pending_unbans.end() && it->second == at) pending_unbans.erase(it);
    }

    std::size_t merged = 0;
    bool changed = false;
    const auto local = table.list(now());
    for (std::size_t first = 0; first < local.size(); first += shared_bans_batch) {
      const auto last = std::min(local.size(), first + shared_bans_batch);
      std::vector<ScriptCall> calls;
      for (std::size_t i = first; i < last; ++i) calls.push_back(merge_call(local[i]));
      const auto replies = co_await run_scripts(calls, ec);
      if (stopping) co_return false;
      if (ec) {
        went_down(commands.last_error());
        co_return false;
      }
      for (std::size_t i = first; i < last; ++i) {
        const auto verdict = merge_verdict(replies[i - first]);
        if (verdict == MergeVerdict::written) ++merged;
        if (verdict == MergeVerdict::invalid)
          spdlog::error("blocking: shared bans: unexpected reply to the merge of {}: {}", local[i].key,
                        replies[i - first].describe());
        if (verdict == MergeVerdict::unbanned && lift_if_unchanged(local[i])) {
          spdlog::info("blocking: {} unbanned: an operator lifted it through another proxy after it started",
                       local[i].key);
          changed = true;
        }
      }
    }

    std::vector<policy::Ban> in_redis;
    const bool pulled = co_await pull(in_redis);
    if (stopping || !pulled) co_return false;
    std::erase_if(in_redis, [this](const policy::Ban& ban) { return unbanned_during_sync.contains(ban.key); });
    if (table.restore(in_redis, now()) > 0) changed = true;
    if (changed) table_changed();
    if (!up) came_up(merged, in_redis.size());
    // A ban made here while this sync ran (failures were still counted here) goes next, at once.
    if (local_bans != local_bans_before) need_sync = true;
    spdlog::debug("blocking: shared bans: synced ({} ban(s) in Redis, {} merged)", in_redis.size(), merged);
    co_return true;
  }

  // Lifts a local ban that Redis says an operator lifted, unless the local
  // table learned a newer one for the key meanwhile.
  bool lift_if_unchanged(const policy::Ban& offered) {
    for (const auto& ban : table.list(now()))
      if (ban.key == offered.key) return ban.until == offered.until && table.unban(ban.key, now());
    return false;
  }

  // Every ban in force in Redis.
  asio::awaitable<bool> pull(std::vector<policy::Ban>& bans) {
    error_code ec;
    std::vector<std::string> keys;
    std::string cursor = "0";
    do {
      Command scan{"SCAN", cursor, "MATCH", ban_key_pattern(), "COUNT", std::to_string(shared_bans_batch)};
      auto reply = co_await commands.command(std::move(scan), ec);
      if (stopping) co_return false;
      if (ec) {
        went_down(commands.last_error());
        co_return false;
      }
      if (reply.type != RedisReply::Type::array || reply.elements.size() != 2 || !reply.elements[0].as_text() ||
          reply.elements[1].type != RedisReply::Type::array) {
        went_down("unexpected reply to SCAN: " + reply.describe());
        co_return false;
      }
      cursor = std::string(*reply.elements[0].as_text());
      for (const auto& name : reply.elements[1].elements)
        if (auto text = name.as_text())
          if (auto key = client_key_of(*text)) keys.push_back(std::move(*key));
    } while (cursor != "0");

    const auto time = now();
    for (std::size_t first = 0; first < keys.size(); first += shared_bans_batch) {
      const auto last = std::min(keys.size(), first + shared_bans_batch);
      std::vector<Command> batch;
      for (std::size_t i = first; i < last; ++i)
        batch.push_back({"HMGET", ban_key(keys[i]), "until", "duration", "level", "failures"});
      const auto replies = co_await commands.pipeline(std::move(batch), ec);
      if (stopping) co_return false;
      if (ec) {
        went_down(commands.last_error());
        co_return false;
      }
      for (std::size_t i = first; i < last; ++i)
        if (auto ban = ban_from_fields(keys[i], replies[i - first]); ban && ban->until > time)
          bans.push_back(std::move(*ban));
    }
    co_return true;
  }

  // Failures, unbans and syncs, one at a time on `commands`.
  asio::awaitable<void> run_commands() {
    auto next_resync = SteadyClock::now() + shared_bans_resync;
    for (;;) {
      if (stopping) co_return;
      if (need_sync && subscribed) {
        const bool synced = co_await sync();
        if (stopping) co_return;
        if (synced) {
          next_resync = SteadyClock::now() + shared_bans_resync;
        } else {
          co_await pause(wake, SteadyClock::now() + shared_bans_retry);
        }
        continue;
      }
      if (!up) {
        co_await pause(wake, SteadyClock::time_point::max());  // the subscription wakes us when it is back
        continue;
      }
      if (!jobs.empty()) {
        auto job = std::move(jobs.front());
        jobs.pop_front();
        if (auto* failure = std::get_if<FailureJob>(&job))
          co_await run_failure(*failure);
        else
          co_await run_unban(std::get<UnbanJob>(job));
        continue;
      }
      if (SteadyClock::now() >= next_resync) {
        need_sync = true;
        continue;
      }
      co_await pause(wake, next_resync);
    }
  }

  // SUBSCRIBE, then apply each message; on a lost connection try again.
  asio::awaitable<void> run_subscription() {
    for (;;) {
      if (stopping) co_return;
      error_code ec;
      Command subscribe{"SUBSCRIBE", channel_name};
      auto reply = co_await subscriber.command(std::move(subscribe), ec);
      if (stopping) co_return;
      if (ec || reply.is_error()) {
        subscriber.close();
        went_down(ec ? subscriber.last_error() : "SUBSCRIBE refused: " + reply.describe());
        co_await pause(retry, SteadyClock::now() + shared_bans_retry);
        continue;
      }
      subscribed = true;
      need_sync = true;
      wake.cancel();
      for (;;) {
        auto push = co_await subscriber.next_push(ec);
        if (stopping) co_return;
        if (ec) break;
        apply_message(push);
      }
      subscribed = false;
      went_down(subscriber.last_error());
      co_await pause(retry, SteadyClock::now() + shared_bans_retry);
    }
  }

  void apply_message(const RedisReply& push) {
    if (push.type != RedisReply::Type::array || push.elements.size() != 3) return;
    const auto kind = push.elements[0].as_text();
    const auto payload = push.elements[2].as_text();
    if (!kind || *kind != "message" || !payload) return;
    const auto change = parse_change(*payload);
    if (!change) {
      spdlog::warn("blocking: shared bans: ignored a malformed message on {}", channel_name);
      return;
    }
    if (change->origin == origin) return;  // ours: the table has it already
    if (change->kind == Change::Kind::ban) {
      if (!learn(change->ban)) return;
      spdlog::info("blocking: {} banned through another proxy until {} ({} failures, level {})", change->ban.key,
                   util::iso8601_utc(change->ban.until), change->ban.failures, change->ban.level);
    } else {
      pending_unbans.erase(change->ban.key);
      note_unban(change->ban.key);
      if (!table.unban(change->ban.key, now())) return;
      spdlog::info("blocking: {} unbanned through another proxy", change->ban.key);
    }
    table_changed();
  }

  static asio::awaitable<void> pause(asio::steady_timer& timer, SteadyClock::time_point until) {
    timer.expires_at(until);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;  // cancelled: there is work (or we stop)
  }
};

SharedBans::SharedBans(asio::any_io_executor executor, conf::RedisConfig redis, const conf::BlockingConfig& blocking,
                       policy::BanTable& table, TableChanged table_changed)
    : impl_(std::make_shared<Impl>(std::move(executor), std::move(redis), blocking, table, std::move(table_changed))) {}

SharedBans::~SharedBans() { stop(); }

void SharedBans::start() {
  auto executor = impl_->wake.get_executor();
  // Each coroutine holds the Impl: it may resume (and see `stopping`) after this object is gone.
  util::spawn_logged(
      executor, [impl = impl_]() -> asio::awaitable<void> { co_await impl->run_subscription(); },
      "shared bans subscription");
  util::spawn_logged(
      executor, [impl = impl_]() -> asio::awaitable<void> { co_await impl->run_commands(); }, "shared bans");
}

void SharedBans::stop() {
  if (impl_->stopping) return;
  impl_->stopping = true;
  impl_->jobs.clear();
  impl_->commands.close();
  impl_->subscriber.close();
  impl_->wake.cancel();
  impl_->retry.cancel();
}

void SharedBans::record_failure(const policy::Address& client, BanStarted ban_started) {
  Impl& impl = *impl_;
  if (impl.stopping || impl.allow.contains(client)) return;
  if (!impl.up) {
    impl.count_locally(client, ban_started);
    return;
  }
  impl.jobs.push_back(Impl::FailureJob{client, policy::client_key(client, impl.table.prefixes()), std::move(ban_started)});
  impl.wake.cancel();
}

bool SharedBans::unban(std::string_view address_or_key) {
  Impl& impl = *impl_;
  const auto key = policy::key_from_text(address_or_key, impl.table.prefixes());
  if (!key) return false;
  const auto now = impl.now();
  const bool lifted = impl.table.unban(*key, now);
  if (impl.stopping) return lifted;
  impl.note_unban(*key);
  Impl::UnbanJob job{*key, to_unix_ms(now)};
  if (impl.up) {
    impl.jobs.push_back(std::move(job));
    impl.wake.cancel();
  } else {
    impl.remember_unban(job);
  }
  return lifted;
}

void SharedBans::configure(const conf::BlockingConfig& blocking) {
  impl_->settings = script_settings(blocking);
  impl_->allow = policy::CidrSet(blocking.allow);
}

bool SharedBans::up() const { return impl_->up; }

}  // namespace vhm::broker
