// `action: webhook` keys (docs/events-out.md). Placeholder stub: the webhook
// feature fills this in.
#include "conf/config_sections.hpp"

namespace vhm::conf {

void load_webhook_hook(MapReader& map, const std::filesystem::path& base_dir, HookConfig& hook, ProblemList& problems) {
  (void)base_dir, (void)hook;
  problems.add(map.self().line, map.key_path("action"), "action: webhook is not implemented yet");
  map.ignore_rest();
}

}  // namespace vhm::conf
