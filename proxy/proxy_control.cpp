#include "proxy/proxy_control.hpp"

#include "util/log.hpp"

#include "proxy/blocking.hpp"
#include "proxy/session.hpp"
#include "proxy/session_registry.hpp"
#include "util/iso_time.hpp"
#include "util/printable.hpp"

namespace vhm::proxy {

using conf::Field;

std::vector<control::SessionRow> ProxyControl::sessions() {
  std::vector<control::SessionRow> rows;
  sessions_.for_each([&](Session& session) {
    const auto& fields = session.fields();
    const auto f = [&fields](Field field) { return std::string(fields.get(field)); };
    rows.push_back({f(Field::session_id), f(Field::client_ip), f(Field::client_port), f(Field::target_host),
                    f(Field::target_port), f(Field::listen), f(Field::user), f(Field::security_type),
                    session.state(),
                    static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(session.age()).count()),
                    session.bytes_in(), session.bytes_out(),
                    session.recording() ? f(Field::recording_path) : std::string(), session.view_only(),
                    f(Field::tracking), f(Field::transport)});
  });
  return rows;
}

std::vector<control::BanRow> ProxyControl::bans() {
  std::vector<control::BanRow> rows;
  if (!blocking_) return rows;
  for (const auto& ban : blocking_->bans()) rows.push_back({ban.key, ban.failures, util::iso8601_utc(ban.until), ban.level});
  return rows;
}

control::CommandResult ProxyControl::unban(const std::string& address) {
  if (!blocking_) return {false, "blocking is not enabled in the configuration"};
  if (blocking_->unban(address)) return {true, "unbanned " + address};
  return {false, "no ban or failures for " + util::printable(address, 100)};
}

control::CommandResult ProxyControl::kill(const std::string& session_id) {
  Session* session = sessions_.find(session_id);
  if (!session) return {false, "no session " + util::printable(session_id, 100)};
  spdlog::info("session {}: killed by an operator", session_id);
  session->close(DisconnectReason::killed, "ctl kill");
  return {true, "killed session " + session_id};
}

}  // namespace vhm::proxy
