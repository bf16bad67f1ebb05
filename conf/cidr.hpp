#pragma once
// Address blocks for allow/deny lists: "10.0.0.0/8", "2001:db8::/32", or a bare
// address meaning that one host. Parsed at config load so a typo is a
// file:line problem instead of a rule that silently never matches; matching
// client addresses against them is policy/cidr.hpp's job. The struct is plain
// bytes so config.hpp stays free of Asio.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vhm::conf {

struct Cidr {
  // Network address with every host bit zero; IPv4 uses bytes[0..3].
  std::array<std::uint8_t, 16> bytes{};
  bool ipv4 = false;
  unsigned prefix = 0;  // 0..32 for IPv4, 0..128 for IPv6
  bool operator==(const Cidr&) const = default;
};

// Rejects host bits set below the prefix ("10.0.0.1/8": did you mean
// 10.0.0.0/8?), scope ids, spaces and out-of-range prefixes. An IPv4-mapped
// IPv6 block (::ffff:10.0.0.0/104) becomes the IPv4 block (10.0.0.0/8),
// because clients are matched in their IPv4 form.
std::optional<Cidr> parse_cidr(std::string_view text, std::string& error);

// Canonical text: "10.0.0.0/8", "2001:db8::/32"; a single host is written
// without its prefix ("192.0.2.7", "2001:db8::1").
std::string format_cidr(const Cidr& cidr);

}  // namespace vhm::conf
