#pragma once
// The target of a connection accepted by a transparent listener, and whether
// the proxy may relay it. Decided once, at accept, before any policy or
// session: a refused destination never becomes a session (a `blocked` event).
//  - redirect: the original destination from conntrack (original_destination.hpp);
//    tproxy: the accepted socket's local endpoint, which TPROXY leaves as the
//    address the client connected to.
//  - Refused as target_loop: the destination is this listener (a direct
//    connection that no rule redirected, or a rule pointing at the proxy's own
//    port), or the connection comes from the proxy's own upstream socket.
//  - Refused as target_not_allowed: no allow_targets rule matches.
#include <optional>
#include <string>
#include <vector>

#include "conf/target_rule.hpp"
#include "policy/refusal.hpp"
#include "proxy/asio.hpp"

namespace vhm::proxy {

struct ListenerContext;

struct TransparentTarget {
  tcp::endpoint destination;               // canonical: IPv4-mapped IPv6 shown as IPv4
  std::optional<policy::Refusal> refusal;  // nullopt: relay to `destination`
  std::string detail;                      // why it was refused, for the log
};

TransparentTarget transparent_target(tcp::socket& accepted, const ListenerContext& listener);

// True when one rule's block holds the address and its range the port.
bool target_allowed(const std::vector<conf::TargetRule>& rules, const tcp::endpoint& destination);

// True when connecting to `destination` would come back to the listener bound
// to `listener_port`: that port on an address of this host.
bool is_own_listener(const tcp::endpoint& destination, std::uint16_t listener_port);

}  // namespace vhm::proxy
