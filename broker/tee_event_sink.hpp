#pragma once
// Every event to two sinks: the local one (the hook dispatcher, whose
// completion gates wait for) and, when `broker:` is set, the event stream
// publisher, which gets the event without a completion: gates never wait for
// Redis.
#include "hooks/event_sink.hpp"

namespace vhm::broker {

class TeeEventSink final : public hooks::EventSink {
 public:
  TeeEventSink(hooks::EventSink& local, hooks::EventSink* stream) : local_(local), stream_(stream) {}
  void publish(hooks::Event event, hooks::EventCompletion done = {}) override {
    if (stream_) stream_->publish(event);
    local_.publish(std::move(event), std::move(done));
  }

 private:
  hooks::EventSink& local_;
  hooks::EventSink* stream_;
};

}  // namespace vhm::broker
