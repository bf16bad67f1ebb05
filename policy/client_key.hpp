#pragma once
// The unit a ban applies to. An IPv4 client is usually one address, but an
// IPv6 client controls at least a whole /64 and can hop between its addresses
// at will, so failures are counted per prefix (blocking.key.ipv4_prefix /
// ipv6_prefix). The key is the canonical block text: "192.0.2.7" for a /32,
// "192.0.2.0/24", "2001:db8:1:2::/64". Keys appear in logs, events, ctl and
// the state file, so they are stable, human-readable strings.
#include <optional>
#include <string>
#include <string_view>

#include "policy/cidr.hpp"

namespace vhm::policy {

struct KeyPrefixes {
  unsigned ipv4 = 32;  // 1..32
  unsigned ipv6 = 64;  // 1..128
};

// The block of `prefixes` that holds `address` (canonicalised first).
Cidr client_block(const Address& address, KeyPrefixes prefixes);
std::string client_key(const Address& address, KeyPrefixes prefixes);

// What an operator typed (ctl unban): an address becomes its key; a block
// whose prefix is the configured one for its family becomes its canonical key
// ("2001:DB8:1:2::/64" -> "2001:db8:1:2::/64"). Anything else: nullopt.
std::optional<std::string> key_from_text(std::string_view text, KeyPrefixes prefixes);

}  // namespace vhm::policy
