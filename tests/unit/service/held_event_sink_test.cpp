#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "service/held_event_sink.hpp"

using vhm::hooks::Event;
using vhm::hooks::EventCompletion;
using vhm::hooks::EventOutcome;

namespace {

struct RecordingSink final : vhm::hooks::EventSink {
  std::vector<std::string> sessions;
  void publish(Event event, EventCompletion done) override {
    sessions.push_back(event.session_id());
    if (done) done(EventOutcome{});
  }
};

Event event(const std::string& session) {
  Event e;
  e[vhm::conf::Field::session_id] = session;
  return e;
}

}  // namespace

TEST_CASE("held event sink: events before attach are handed over in order with their completions") {
  vhm::service::HeldEventSink held;
  int completions = 0;
  held.publish(event("a"), [&](const EventOutcome&) { ++completions; });
  held.publish(event("b"));
  RecordingSink target;
  CHECK(target.sessions.empty());
  CHECK(completions == 0);

  held.attach(target);
  CHECK(target.sessions == std::vector<std::string>{"a", "b"});
  CHECK(completions == 1);
}

TEST_CASE("held event sink: after attach every event goes straight to the target") {
  vhm::service::HeldEventSink held;
  RecordingSink target;
  held.attach(target);
  held.publish(event("c"));
  held.publish(event("d"));
  CHECK(target.sessions == std::vector<std::string>{"c", "d"});
}
