#pragma once
// Quick mode's sink: one JSON object per event on stdout, so
// `vnc-hooks-manager --listen ... --target ... | jq` shows sessions live.
#include <mutex>

#include "hooks/event_sink.hpp"

namespace vhm::app {

class StdoutEventSink final : public hooks::EventSink {
 public:
  void publish(hooks::Event event, hooks::EventCompletion done = {}) override;

 private:
  std::mutex mutex_;
};

}  // namespace vhm::app
