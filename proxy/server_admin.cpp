// The admin HTTP listener's place in the server (docs/admin-api.md): bound in
// start() beside the control socket (before the privilege drop), answering
// with the same ProxyControl, closed when the shutdown finishes. During the
// shutdown grace it still answers, with /readyz at 503.
#include "util/log.hpp"

#include "conf/address.hpp"
#include "proxy/server.hpp"

namespace vhm::proxy {

bool Server::start_admin(std::string& error) {
  const auto& admin = config_->admin;
  if (!admin.enabled) return true;
  if (!control_handler_) control_handler_ = std::make_unique<ProxyControl>(sessions_, blocking_.get());
  admin_server_ = std::make_unique<admin::AdminServer>(io_, admin, *control_handler_, [this] { return readiness(); });
  if (admin_server_->start(error)) return true;
  admin_server_.reset();
  return false;
}

admin::Readiness Server::readiness() const {
  if (stopping_) return admin::Readiness::stopping;
  return accepting_ ? admin::Readiness::ready : admin::Readiness::starting;
}

// The token (a new token_file content too), metrics_need_token and the
// timeouts apply at once; turning the listener on or off or moving it needs
// a restart, like the control socket.
void Server::apply_admin(const conf::Config& next) {
  const auto& before = config_->admin;
  const auto& after = next.admin;
  const bool moved = after.enabled && before.enabled &&
                     conf::format_host_port(after.listen) != conf::format_host_port(before.listen);
  if (before.enabled != after.enabled || moved)
    spdlog::warn("reload: admin: {} needs a restart; {}", after.enabled ? (moved ? "a new listen address" : "enabling it")
                                                                        : "disabling it",
                 admin_server_ ? "it stays on " + admin_server_->address() : std::string("it stays off"));
  if (!admin_server_ || !after.enabled) return;
  if (before.token != after.token) spdlog::info("reload: admin: the token changed (admin.token_file)");
  admin_server_->update(after);
}

}  // namespace vhm::proxy
