#pragma once
// Bans shared by every proxy on one Redis (`blocking: shared:`,
// docs/shared-bans.md). Failures are counted and bans started in Redis by a
// Lua script (shared_bans_scripts.hpp); the local policy::BanTable is the
// mirror the listeners ask, so admission never waits on Redis. The mirror is
// kept current by pub/sub (every ban and unban is PUBLISHed by the script
// that made it) and by a full sync every 15 s and after every reconnect.
//
// While Redis is down (or the subscription is lost) failures are counted in
// the local table exactly as without `shared:`; the first sync after it is
// back offers every local ban to Redis (the longer ban wins; a ban an
// operator lifted since is lifted here too) and pulls Redis's bans in.
//
// Runs on the proxy's io_context as two coroutines (commands, subscription),
// each with its own RedisClient; every public call is made on that thread
// and returns at once.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "conf/config.hpp"
#include "policy/ban_table.hpp"

namespace vhm::broker {

class SharedBans {
 public:
  // The local table changed through Redis (a ban or unban learned from
  // another proxy, or a sync): the state file should be saved.
  using TableChanged = std::function<void()>;
  // Called with a ban that a failure reported here started: in Redis, or in
  // the local table while Redis was down. Once per ban, by the proxy where it
  // started (its `ban` event and log line).
  using BanStarted = std::function<void(const policy::Ban&)>;

  // `table` and the callbacks must stay valid until stop() (or destruction).
  SharedBans(boost::asio::any_io_executor executor, conf::RedisConfig redis, const conf::BlockingConfig& blocking,
             policy::BanTable& table, TableChanged table_changed);
  ~SharedBans();  // stops
  SharedBans(const SharedBans&) = delete;
  SharedBans& operator=(const SharedBans&) = delete;

  // Starts connecting and subscribing (on the executor).
  void start();
  // Closes both connections; the coroutines end at their next step without
  // touching the table or the callbacks again.
  void stop();

  // One failed authentication of `client` (ignored in the allow list).
  // Redis up: counted there; else counted in the table at once.
  void record_failure(const policy::Address& client, BanStarted ban_started);
  // Lifts the key here at once and everywhere through Redis (now, or at the
  // first sync once Redis is back). True when the local table had a ban or
  // failures for it. False also for text that is no key.
  bool unban(std::string_view address_or_key);
  // New blocking settings (reload): sent with every later failure.
  void configure(const conf::BlockingConfig& blocking);

  // Redis reachable, subscribed and synced: failures are counted there.
  bool up() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;  // shared with the coroutines, which may end after this object
};

}  // namespace vhm::broker
