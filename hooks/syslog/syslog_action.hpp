#pragma once
// The built-in `action: syslog`: one RFC 5424 message per event to the local
// /dev/log, or to a UDP or TCP collector, with the event's fields as
// structured data (docs/syslog.md).
#include "conf/config.hpp"
#include "hooks/event.hpp"
#include "hooks/event_sink.hpp"

namespace vhm::hooks {

// Sends one message; a failure is logged and gives a failed HookResult (ran,
// exit_code 1) so the dispatcher retries it like a command.
HookResult run_syslog_action(const conf::HookConfig& hook, const Event& event);

}  // namespace vhm::hooks
