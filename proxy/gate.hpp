#pragma once
// Gate hooks: a session waits for the hooks of one of its events and goes on
// only if every `gate: true` handler exited 0. Hook completions arrive on a
// dispatcher thread; a concurrent channel hands them to the session's
// coroutine on the io thread. Anything but a clean pass refuses (fail closed):
// a non-zero exit, a signal, a timeout, a hook that could not start, a
// dropped event.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/experimental/concurrent_channel.hpp>

#include "conf/config.hpp"
#include "hooks/event_sink.hpp"
#include "proxy/asio.hpp"

namespace vhm::proxy {

struct GateDecision {
  bool allowed = true;
  // Allowed, but only to watch: a passing gate printed `view_only` as its
  // first line (docs/session-policy.md).
  bool view_only = false;
  std::string reason;  // shown to the viewer when refused
  std::string detail;  // for the log
};

// Pure: the decision for `handlers` (the event's handlers at publish time) given their outcome.
GateDecision decide_gate(const std::vector<conf::HookConfig>& handlers, const hooks::EventOutcome& outcome);

bool has_gate(const std::vector<conf::HookConfig>& handlers);

class OutcomeWaiter {
 public:
  explicit OutcomeWaiter(const asio::any_io_executor& executor);
  // The completion to pass to EventSink::publish.
  hooks::EventCompletion completion() const;
  // The outcome, or nullopt when cancel() came first (session closing).
  awaitable<std::optional<hooks::EventOutcome>> wait();
  void cancel();

 private:
  using Channel = asio::experimental::concurrent_channel<void(boost::system::error_code, hooks::EventOutcome)>;
  std::shared_ptr<Channel> channel_;
};

}  // namespace vhm::proxy
