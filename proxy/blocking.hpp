#pragma once
// Auth-failure blocking at run time: the ban table, its state file, and the
// `ban` events. Sessions report failures here; listeners ask here before
// dialing. The state file is written by a background thread (fsync can take
// milliseconds, the relay must not wait for it) and once more on shutdown.
// With `shared:` (docs/shared-bans.md) failures are counted and bans made in
// Redis through broker::SharedBans; the table stays the mirror listeners ask.
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "broker/shared_bans.hpp"
#include "conf/config.hpp"
#include "hooks/event.hpp"
#include "hooks/event_sink.hpp"
#include "policy/ban_table.hpp"

namespace vhm::proxy {

class Blocking {
 public:
  // `executor`: the proxy's io_context, where the shared bans' Redis side runs.
  Blocking(const conf::BlockingConfig& config, hooks::EventSink& events, boost::asio::any_io_executor executor);
  ~Blocking();  // flushes the state file
  Blocking(const Blocking&) = delete;
  Blocking& operator=(const Blocking&) = delete;

  std::optional<policy::Ban> active_ban(const policy::Address& client);
  // One failed authentication of a session; may start a ban (logged, `ban`
  // event with the session's fields, state file saved).
  void record_failure(const policy::Address& client, const hooks::Event& session_fields);
  // `address_or_key` as an operator typed it. True when something was lifted.
  bool unban(const std::string& address_or_key);
  std::vector<policy::Ban> bans();
  // New settings from a config reload; counted failures and bans are kept.
  // The state file stays the one opened at start (a new path needs a restart).
  void configure(const conf::BlockingConfig& config);
  // Shared bans: nullopt without `shared:`, else whether Redis is in use now.
  std::optional<bool> shared_up() const;
  // Shutdown: closes the Redis connections so io_context::run() can return.
  void stop();

 private:
  // Logs a ban that started here, publishes its `ban` event, saves.
  void announce_ban(const hooks::Event& session_fields, const policy::Ban& ban);
  void request_save();
  void save_loop();

  conf::BlockingConfig config_;
  hooks::EventSink& events_;
  policy::BanTable table_;

  std::mutex save_mutex_;
  std::condition_variable save_wanted_;
  bool save_pending_ = false;
  bool stopping_ = false;
  std::thread saver_;
  std::unique_ptr<broker::SharedBans> shared_;  // with `shared:`; uses table_
};

}  // namespace vhm::proxy
