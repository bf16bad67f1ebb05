#include "app/stdout_event_sink.hpp"

#include <cstdio>

#include "hooks/event_json.hpp"

namespace vhm::app {

void StdoutEventSink::publish(hooks::Event event, hooks::EventCompletion done) {
  const std::string line = hooks::event_to_json(event) + '\n';
  {
    std::lock_guard lock(mutex_);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);  // one event, one line, visible at once through a pipe
  }
  if (done) done(hooks::EventOutcome{});
}

}  // namespace vhm::app
