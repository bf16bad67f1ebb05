#pragma once
// The two log lines of issue 3, built in one place because they are a
// contract: packaging/fail2ban/filter.d/vnc-hooks-manager.conf must NOT match
// them (it matches only "authentication failed" lines), and operators grep them.
//   ban: client <ip> banned until <iso> (<n> failures, key <key>, <seconds>s)
//   blocked: client <ip> refused (<reason code>): <text shown to viewer>
#include <string>
#include <string_view>

#include "policy/ban_table.hpp"
#include "policy/refusal.hpp"

namespace vhm::policy {

// <iso> is util::iso8601_utc(ban.until), e.g. 2026-11-23T13:24:42.617Z.
std::string ban_log_line(std::string_view client_ip, const Ban& ban);
// `text` is made printable (util::printable) first.
std::string blocked_log_line(std::string_view client_ip, Refusal refusal, std::string_view text);

}  // namespace vhm::policy
