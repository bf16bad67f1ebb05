#include "policy/log_lines.hpp"

#include "util/iso_time.hpp"
#include "util/printable.hpp"

namespace vhm::policy {

std::string ban_log_line(std::string_view client_ip, const Ban& ban) {
  return "ban: client " + std::string(client_ip) + " banned until " + util::iso8601_utc(ban.until) + " (" +
         std::to_string(ban.failures) + " failures, key " + ban.key + ", " + std::to_string(ban.duration.count()) +
         "s)";
}

std::string blocked_log_line(std::string_view client_ip, Refusal refusal, std::string_view text) {
  return "blocked: client " + std::string(client_ip) + " refused (" + std::string(reason_code(refusal)) +
         "): " + util::printable(text, 300);
}

}  // namespace vhm::policy
