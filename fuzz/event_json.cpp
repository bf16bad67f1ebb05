// An event's JSON as the worker reads it from the Redis stream
// (hooks/event_json.hpp: written by any proxy, or anything else that can XADD).
// Beyond not crashing: an input is either an event or an error, and an event
// read survives event_to_json -> event_from_json unchanged (what the proxy
// writes, the worker reads back field for field).
#include <cstdint>
#include <string_view>

#include "fuzz/support/check.hpp"
#include "hooks/event_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vhm::hooks;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  const auto event = event_from_json(text, error);
  if (!event) {
    VHM_FUZZ_CHECK(!error.empty(), std::string("refused without a reason"));
    return 0;
  }
  VHM_FUZZ_CHECK(error.empty(), "an event with an error: " + error);
  VHM_FUZZ_CHECK((*event)[vhm::conf::Field::event] == vhm::conf::to_string(event->kind), std::string("{event} is not the kind"));

  const std::string written = event_to_json(*event);
  std::string again_error;
  const auto again = event_from_json(written, again_error);
  VHM_FUZZ_CHECK(again && again->kind == event->kind && again->values == event->values,
                 "write and read changed the event: " + again_error + " " + written);
  return 0;
}
