#pragma once
// Where events leave the proxy. The hook dispatcher is one sink; later ones
// (webhooks, syslog, Redis, metrics) implement the same interface.
#include <functional>
#include <string>
#include <vector>

#include "hooks/event.hpp"

namespace vhm::hooks {

struct HookResult {
  std::string name;
  bool ran = false;        // false: could not be started (or dropped by overload)
  int exit_code = -1;      // valid when exited
  int signal = 0;          // non-zero when killed by a signal
  bool timed_out = false;
  std::string first_stdout_line;  // for gate hooks: the reason shown to the viewer
                                  // (a webhook: the first line of the reply's body)
  int http_status = 0;  // webhooks: the reply's status; 0 = no reply (network error, timeout)
  bool ok() const { return ran && !timed_out && signal == 0 && exit_code == 0; }
};

struct EventOutcome {
  std::vector<HookResult> results;  // one per handler of the event, in config order
  bool dropped = false;             // the hook queue was full
};

using EventCompletion = std::function<void(const EventOutcome&)>;

class EventSink {
 public:
  virtual ~EventSink() = default;
  // Never blocks the caller. `done`, if given, runs on an arbitrary thread once
  // every handler of this event finished (or timed out, or was dropped).
  virtual void publish(Event event, EventCompletion done = {}) = 0;
};

}  // namespace vhm::hooks
