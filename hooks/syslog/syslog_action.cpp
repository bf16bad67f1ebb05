// Placeholder stub: the syslog feature replaces this.
#include "hooks/syslog/syslog_action.hpp"

namespace vhm::hooks {

HookResult run_syslog_action(const conf::HookConfig& hook, const Event&) {
  HookResult result;
  result.name = hook.name;
  return result;
}

}  // namespace vhm::hooks
