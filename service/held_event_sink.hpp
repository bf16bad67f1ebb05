#pragma once
// The event sink the server gets before the hook dispatcher exists. The
// dispatcher's worker threads must be created after the privilege drop (a
// thread keeps the capabilities it was born with), but the server, which
// takes a sink, has to bind before it. Events published in between (there
// should be none: nothing runs before io_context::run()) are held and handed
// over in order, so none is lost.
#include <mutex>
#include <utility>
#include <vector>

#include "hooks/event_sink.hpp"

namespace vhm::service {

class HeldEventSink final : public hooks::EventSink {
 public:
  // From now on every event goes to `target`, which must outlive this sink's use.
  void attach(hooks::EventSink& target) {
    std::vector<std::pair<hooks::Event, hooks::EventCompletion>> held;
    {
      std::lock_guard lock(mutex_);
      target_ = &target;
      held.swap(held_);
    }
    for (auto& [event, done] : held) target.publish(std::move(event), std::move(done));
  }

  void publish(hooks::Event event, hooks::EventCompletion done = {}) override {
    hooks::EventSink* target = nullptr;
    {
      std::lock_guard lock(mutex_);
      target = target_;
      if (!target) {
        held_.emplace_back(std::move(event), std::move(done));
        return;
      }
    }
    target->publish(std::move(event), std::move(done));
  }

 private:
  std::mutex mutex_;
  hooks::EventSink* target_ = nullptr;
  std::vector<std::pair<hooks::Event, hooks::EventCompletion>> held_;
};

}  // namespace vhm::service
