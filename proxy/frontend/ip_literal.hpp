#pragma once
// IP literals of the front end's headers (PROXY, X-Forwarded-For, Forwarded)
// as 16 bytes, with inet_pton/inet_ntop and no Asio, so the parsers stay pure
// and fuzzable alone. Canonical like the rest of the proxy
// (proxy/endpoint_text.hpp): an IPv4-mapped IPv6 address is the IPv4 client.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "conf/cidr.hpp"

namespace vhm::proxy::frontend {

struct IpLiteral {
  std::array<std::uint8_t, 16> bytes{};  // IPv4 in bytes[0..3]
  bool ipv4 = false;
};

// A bare literal: "192.0.2.1", "2001:db8::1" (no brackets, port or scope id).
std::optional<IpLiteral> parse_ip_literal(std::string_view text);
IpLiteral ipv4_literal(const std::uint8_t* four_bytes);
IpLiteral ipv6_literal(const std::uint8_t* sixteen_bytes);  // canonicalised
std::string ip_text(const IpLiteral& address);
bool in_blocks(const IpLiteral& address, const std::vector<conf::Cidr>& blocks);

}  // namespace vhm::proxy::frontend
