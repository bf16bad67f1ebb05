// Shared bans' pub/sub messages (broker/shared_bans_logic.hpp): whatever
// anyone who may PUBLISH on the channel sends every proxy. Beyond not
// crashing: a message is a change or nothing, and a change survives
// format_change -> parse_change unchanged.
#include <string_view>

#include "broker/shared_bans_logic.hpp"
#include "fuzz/support/check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vhm::broker::shared_bans;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto change = parse_change(text);
  if (!change) return 0;
  VHM_FUZZ_CHECK(!change->origin.empty() && !change->ban.key.empty(), std::string(text));
  const auto again = parse_change(format_change(*change));
  VHM_FUZZ_CHECK(again == change, "format and parse changed the message: " + format_change(*change));
  return 0;
}
