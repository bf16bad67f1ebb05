#pragma once
// The proxy's answers to the control socket (`vnc-hooks-manager ctl ...`):
// live sessions from the registry, bans from the blocking state, and the two
// operator actions. Runs on the io thread, like the sessions it touches.
#include "control/control_handler.hpp"

namespace vhm::proxy {

class SessionRegistry;
class Blocking;

class ProxyControl final : public control::ControlHandler {
 public:
  ProxyControl(SessionRegistry& sessions, Blocking* blocking) : sessions_(sessions), blocking_(blocking) {}

  std::vector<control::SessionRow> sessions() override;
  std::vector<control::BanRow> bans() override;
  control::CommandResult unban(const std::string& address) override;
  control::CommandResult kill(const std::string& session_id) override;
  // A reload may turn blocking on or off.
  void set_blocking(Blocking* blocking) { blocking_ = blocking; }

 private:
  SessionRegistry& sessions_;
  Blocking* blocking_;
};

}  // namespace vhm::proxy
