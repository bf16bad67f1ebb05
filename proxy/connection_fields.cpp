#include "proxy/connection_fields.hpp"

#include <unistd.h>

#include "proxy/endpoint_text.hpp"
#include "proxy/session.hpp"
#include "proxy/session_id.hpp"

namespace vhm::proxy {

using conf::Field;

namespace {
std::string& proxy_host_name() {
  static std::string name = [] {
    char buffer[256] = {};
    return ::gethostname(buffer, sizeof buffer - 1) == 0 && buffer[0] ? std::string(buffer) : std::string("localhost");
  }();
  return name;
}
}  // namespace

void set_proxy_host(std::string name) { proxy_host_name() = std::move(name); }

hooks::Event connection_fields(const tcp::endpoint& peer, const ListenerContext& listener,
                               const std::optional<tcp::endpoint>& destination, const conf::HostPort* token_target) {
  hooks::Event fields;
  fields[Field::session_id] = new_session_id();
  fields[Field::client_ip] = address_text(peer.address());
  fields[Field::client_port] = std::to_string(peer.port());
  fields[Field::listen] = listener.listen_text;
  std::uint16_t port = 0;
  if (destination) {
    fields[Field::target_host] = address_text(destination->address());
    port = destination->port();
  } else if (token_target) {
    fields[Field::target_host] = token_target->host;
    port = token_target->port;
  } else {
    fields[Field::target_host] = listener.config.target.host;
    port = listener.config.target.port;
  }
  fields[Field::target_port] = std::to_string(port);
  if (port >= 5900 && port <= 5999) fields[Field::display] = ":" + std::to_string(port - 5900);
  fields[Field::user] = listener.config.user;
  fields[Field::proxy_host] = proxy_host_name();
  return fields;
}

}  // namespace vhm::proxy
