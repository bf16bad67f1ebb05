#pragma once
// A built-in action that waits on the network (webhooks): the dispatcher
// starts an attempt and gets its result later, so a slow receiver holds no
// thread, no process slot and no other hook. At most
// global.max_concurrent_webhooks attempts are in flight; the rest wait in the
// hook queue, whose bound keeps memory flat when a receiver is down.
#include <functional>
#include <memory>

#include "conf/config.hpp"
#include "hooks/event.hpp"
#include "hooks/event_sink.hpp"

namespace vhm::hooks {

class AsyncAction {
 public:
  using Done = std::function<void(HookResult)>;
  virtual ~AsyncAction() = default;
  // Starts one attempt of `hook` for `event` and returns at once. `done` runs
  // exactly once, on any thread (it may run before start() returns), and
  // never under a lock of the caller's. `hook` and `event` stay valid until then.
  virtual void start(const conf::HookConfig& hook, const Event& event, Done done) = 0;
  // Called after the last attempt finished: stops the threads.
  virtual void shutdown() = 0;
};

// hooks/webhook/webhook_sender.cpp: HTTP/1.1 over TCP or TLS, keep-alive
// connections reused per host.
std::unique_ptr<AsyncAction> make_webhook_sender();

}  // namespace vhm::hooks
