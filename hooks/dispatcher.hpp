#pragma once
// Turns events into hook runs. Thread-safe; publish() never blocks the caller
// (the proxy's relay), whatever the hooks do.
//
// Rules (DESIGN.md "Hook execution rules"):
//  - the handlers of one event run concurrently with each other;
//  - a session's next event starts only after all handlers of its previous
//    event finished or timed out (strict per-session order), except that a
//    running handler with terminate_on_next_event is terminated when the next
//    event of its session arrives;
//  - across sessions, at most global.max_concurrent_hooks processes run at once,
//    and at most global.max_concurrent_webhooks webhook requests are in flight
//    (hooks/async_action.hpp); log and syslog actions run on a thread of their own;
//  - at most global.hook_queue_limit handler runs wait; beyond that an event is
//    dropped, counted and logged (its completion still runs, with dropped=true);
//  - the handler list is taken from the config current at publish() time, so a
//    reload changes hooks for new events only;
//  - `done` never runs under the dispatcher's locks (it may publish again), but
//    it may run before publish() returns: for a dropped event, or one without
//    handlers while nothing is pending for its session. It must not call
//    shutdown().
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "conf/config.hpp"
#include "hooks/event_sink.hpp"

namespace vhm::hooks {

struct DispatcherStats {
  std::uint64_t events_published = 0;
  std::uint64_t events_dropped = 0;
  std::uint64_t runs_started = 0;
  std::uint64_t runs_failed = 0;     // non-zero exit, signal, timeout or spawn failure
                                     // (not a terminate_on_next_event stop)
  std::uint64_t runs_timed_out = 0;
  std::size_t queued = 0;            // handler runs waiting now
  std::size_t running = 0;           // handler runs in progress now
  std::size_t webhooks_in_flight = 0;
};

// One finished attempt of one handler, for metrics (app/ counts them).
struct AttemptReport {
  const conf::HookConfig& hook;
  const HookResult& result;
  std::chrono::duration<double> elapsed;
  bool terminated = false;  // stopped by terminate_on_next_event, not a failure
};
using AttemptObserver = std::function<void(const AttemptReport&)>;

class HookDispatcher final : public EventSink {
 public:
  explicit HookDispatcher(std::shared_ptr<const conf::Config> config);
  ~HookDispatcher() override;  // calls shutdown()
  HookDispatcher(const HookDispatcher&) = delete;
  HookDispatcher& operator=(const HookDispatcher&) = delete;

  void publish(Event event, EventCompletion done = {}) override;

  // New events use this config from now on.
  void set_config(std::shared_ptr<const conf::Config> config);

  // Blocks until every queued and running handler finished (each is bounded
  // by its own timeout + kill_grace), then stops the workers. Events published
  // after this are dropped.
  void shutdown();

  DispatcherStats stats() const;

  // Called after every attempt, on a worker thread, under the dispatcher's
  // lock: it must be quick and must not call back. Set before events flow.
  void set_attempt_observer(AttemptObserver observer);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vhm::hooks
