#pragma once
// One `allow_targets:` entry of a transparent listener: an address block and a
// port range the proxy may relay to. In transparent modes the destination
// comes from the connection itself, so this list is what keeps the proxy from
// being an open relay. Parsed at config load (typos are file:line problems);
// matching a destination is proxy/transparent_target.hpp's job.
//   "10.0.0.0/8"                  every port of the block
//   "192.0.2.7:5901"              one host, one port
//   "10.0.0.0/8:5900-5999"        a port range, both ends included
//   "[2001:db8::/64]:5900-5999"   IPv6 always in brackets ("[2001:db8::1]" = all ports)
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "conf/cidr.hpp"

namespace vhm::conf {

struct TargetRule {
  Cidr block;
  std::uint16_t first_port = 1;
  std::uint16_t last_port = 65535;
  bool operator==(const TargetRule&) const = default;
};

std::optional<TargetRule> parse_target_rule(std::string_view text, std::string& error);

// Canonical text, accepted again by parse_target_rule: "10.0.0.0/8:5900-5999",
// "[2001:db8::/64]:5901", "192.0.2.7" (all ports).
std::string format_target_rule(const TargetRule& rule);

}  // namespace vhm::conf
