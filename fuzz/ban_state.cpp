// The ban state file's JSON text (policy/ban_store.hpp), read at start-up from
// disk, and what is read going into a BanTable as at start-up. Beyond not
// crashing: a file is either bans or an error, and loaded bans survive
// bans_to_json -> bans_from_json unchanged.
#include <chrono>
#include <string_view>

#include "fuzz/support/check.hpp"
#include "policy/ban_store.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace vhm::policy;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // A fixed "now" (2026-01-01): bans ending before it are dropped, as on a restart.
  const TimePoint now{std::chrono::seconds(1'767'225'600)};

  const LoadedBans loaded = bans_from_json(text, now);
  if (!loaded.error.empty()) {
    VHM_FUZZ_CHECK(loaded.bans.empty(), "bans loaded from a file with an error: " + loaded.error);
    return 0;
  }
  for (const Ban& ban : loaded.bans) VHM_FUZZ_CHECK(ban.until > now, "an ended ban was loaded: " + ban.key);

  const LoadedBans again = bans_from_json(bans_to_json(loaded.bans), now);
  VHM_FUZZ_CHECK(again.error.empty() && again.bans == loaded.bans, "save and load changed the bans: " + again.error);

  BanTable table(vhm::conf::BlockingConfig{});
  const std::size_t restored = table.restore(loaded.bans, now);
  VHM_FUZZ_CHECK(restored <= loaded.bans.size() && table.list(now).size() <= restored, "restored more than loaded");
  return 0;
}
