// `action: syslog` keys (docs/events-out.md). Placeholder stub: the syslog
// feature fills this in.
#include "conf/config_sections.hpp"

namespace vhm::conf {

void load_syslog_hook(MapReader& map, HookConfig& hook, ProblemList& problems) {
  (void)hook;
  problems.add(map.self().line, map.key_path("action"), "action: syslog is not implemented yet");
  map.ignore_rest();
}

}  // namespace vhm::conf
