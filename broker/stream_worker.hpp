#pragma once
// The worker's side of the event stream (docs/workers.md): a consumer of the
// Redis Stream in a consumer group that runs each entry's event through the
// hooks (a HookDispatcher: the inline hooks' rules) and acknowledges the entry
// only once all its hooks finished. At-least-once: an entry is acknowledged
// after its hooks, never before, and entries a dead worker left pending for
// longer than claim_idle are claimed (XAUTOCLAIM) and run again here.
//
//  - A new group starts at the stream's first entry (XGROUP CREATE ... 0
//    MKSTREAM), so nothing published before the first worker (or before a
//    Redis that lost its data came back) is skipped; an existing group
//    (BUSYGROUP) is used as it is.
//  - Backpressure, not drops: at most in_flight_limit entries are read and
//    not yet finished; the worker reads more only as hooks finish. An entry
//    the dispatcher dropped anyway (its queue full after a reload) stays
//    pending and is claimed again after claim_idle.
//  - Entries running here longer than claim_idle/2 are re-claimed by this
//    worker (XCLAIM ... JUSTID) so other workers do not take a slow hook's
//    entry from a live worker.
//  - A malformed entry (no `json` field, bad JSON) is logged, counted and
//    acknowledged: a poison message must not come back for ever.
//  - Redis down: both connections retry with backoff (0.2 s doubling to 5 s);
//    logged once when it goes and once when it is back.
//
// Two RedisClients: one blocks in XREADGROUP, the other sends acknowledgements
// (all finished entries in one XACK) and claims, so neither waits for the other.
// Everything runs on one executor (one thread); dispatcher completions are
// posted to it.
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "conf/config.hpp"
#include "hooks/event_sink.hpp"
#include "metrics/registry.hpp"

namespace vhm::broker {

struct WorkerStats {
  std::uint64_t read = 0;       // entries delivered by XREADGROUP
  std::uint64_t claimed = 0;    // entries taken over from other consumers (XAUTOCLAIM)
  std::uint64_t finished = 0;   // entries whose hooks all finished
  std::uint64_t acked = 0;      // entries acknowledged (finished + malformed)
  std::uint64_t malformed = 0;  // no json field or bad JSON: acknowledged without hooks
  std::uint64_t requeued = 0;   // dropped by the dispatcher: left pending, claimed again later
  std::size_t in_flight = 0;    // read, not finished yet
  std::size_t acks_waiting = 0; // finished, XACK not sent (or not confirmed) yet
  bool redis_up = false;
  // Event timestamp -> hooks finished, in milliseconds (since start).
  std::optional<double> delay_p50_ms;
  std::optional<double> delay_p99_ms;
  std::uint64_t delay_samples = 0;
};

struct StreamWorkerOptions {
  std::chrono::milliseconds block{1'000};  // XREADGROUP BLOCK: also how long stop() may wait for it
  std::size_t in_flight_limit = 1'000;     // see set_in_flight_limit
  metrics::Registry* registry = nullptr;   // counters and delay histograms (vnc_hooks_manager_worker_*)
};

// The consumer name when BrokerConfig::consumer is empty: <host name>-<pid>.
std::string default_consumer_name(const conf::BrokerConfig& config);

// The largest in-flight count for which `config`'s dispatcher never drops an
// event: hook_queue_limit / (most handlers of one event), at least 1.
std::size_t in_flight_limit_for(const conf::Config& config);

class StreamWorker {
 public:
  // `hooks` runs the events (a HookDispatcher); it must outlive the worker's
  // run(), and its completions may run on any thread. `executor` must be a
  // single thread's (the worker's state is not locked).
  StreamWorker(boost::asio::any_io_executor executor, conf::BrokerConfig config, hooks::EventSink& hooks,
               StreamWorkerOptions options = {});
  ~StreamWorker();
  StreamWorker(const StreamWorker&) = delete;
  StreamWorker& operator=(const StreamWorker&) = delete;

  // Consumes until stop(); then returns once every entry read was finished
  // and acknowledged, or `drain` (given to stop()) passed. True when nothing
  // was left running.
  boost::asio::awaitable<bool> run();

  // On the executor's thread. Stops reading (the XREADGROUP in progress may
  // still deliver: those entries run too) and gives running hooks `drain`.
  void stop(std::chrono::milliseconds drain);

  // On the executor's thread: after a reload (hooks per event, hook_queue_limit).
  void set_in_flight_limit(std::size_t limit);

  const std::string& consumer() const;
  WorkerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vhm::broker
