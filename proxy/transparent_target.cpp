#include "proxy/transparent_target.hpp"

#include "policy/cidr.hpp"
#include "proxy/endpoint_text.hpp"
#include "proxy/original_destination.hpp"
#include "proxy/session.hpp"
#include "proxy/target_owner.hpp"
#include "proxy/transparent_loop.hpp"

namespace vhm::proxy {

bool target_allowed(const std::vector<conf::TargetRule>& rules, const tcp::endpoint& destination) {
  const auto port = destination.port();
  for (const auto& rule : rules)
    if (port >= rule.first_port && port <= rule.last_port && policy::contains(rule.block, destination.address()))
      return true;
  return false;
}

bool is_own_listener(const tcp::endpoint& destination, std::uint16_t listener_port) {
  return destination.port() == listener_port && is_local_address(canonical_address(destination.address()));
}

TransparentTarget transparent_target(tcp::socket& accepted, const ListenerContext& listener) {
  TransparentTarget target;
  boost::system::error_code ec;
  const auto local = accepted.local_endpoint(ec);
  tcp::endpoint peer;
  if (!ec) peer = accepted.remote_endpoint(ec);
  if (ec) {
    target.refusal = policy::Refusal::target_not_allowed;
    target.detail = "no addresses: " + ec.message();
    return target;
  }
  if (listener.config.transparent == conf::Transparent::tproxy) {
    target.destination = tcp::endpoint(canonical_address(local.address()), local.port());
  } else {
    std::string error;
    auto original = original_destination(accepted, error);
    if (!original) {
      target.refusal = policy::Refusal::target_not_allowed;
      target.detail = "original destination unknown: " + error;
      return target;
    }
    target.destination = *original;
  }
  const std::string where = endpoint_text(target.destination);
  if (is_own_listener(target.destination, listener.listen_endpoint.port())) {
    target.refusal = policy::Refusal::target_loop;
    target.detail = "the original destination " + where + " is this listener (not redirected, or a rule loop)";
  } else if (is_own_source(peer)) {
    target.refusal = policy::Refusal::target_loop;
    target.detail = "the connection to " + where + " comes from the proxy itself (a firewall rule loops it back)";
  } else if (!target_allowed(listener.config.allow_targets, target.destination)) {
    target.refusal = policy::Refusal::target_not_allowed;
    target.detail = "the original destination " + where + " is not in allow_targets";
  }
  return target;
}

}  // namespace vhm::proxy
