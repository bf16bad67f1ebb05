#include "proxy/connection_fields.hpp"

#include "proxy/endpoint_text.hpp"
#include "proxy/session.hpp"
#include "proxy/session_id.hpp"

namespace vhm::proxy {

using conf::Field;

hooks::Event connection_fields(const tcp::endpoint& peer, const ListenerContext& listener) {
  hooks::Event fields;
  fields[Field::session_id] = new_session_id();
  fields[Field::client_ip] = address_text(peer.address());
  fields[Field::client_port] = std::to_string(peer.port());
  fields[Field::listen] = listener.listen_text;
  const auto& target = listener.config.target;
  fields[Field::target_host] = target.host;
  fields[Field::target_port] = std::to_string(target.port);
  if (target.port >= 5900 && target.port <= 5999) fields[Field::display] = ":" + std::to_string(target.port - 5900);
  fields[Field::user] = listener.config.user;
  return fields;
}

}  // namespace vhm::proxy
