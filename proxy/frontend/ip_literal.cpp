#include "proxy/frontend/ip_literal.hpp"

#include <arpa/inet.h>

#include <algorithm>

namespace vhm::proxy::frontend {

IpLiteral ipv4_literal(const std::uint8_t* four_bytes) {
  IpLiteral address;
  address.ipv4 = true;
  std::copy(four_bytes, four_bytes + 4, address.bytes.begin());
  return address;
}

IpLiteral ipv6_literal(const std::uint8_t* sixteen_bytes) {
  static constexpr std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(mapped, mapped + 12, sixteen_bytes)) return ipv4_literal(sixteen_bytes + 12);
  IpLiteral address;
  std::copy(sixteen_bytes, sixteen_bytes + 16, address.bytes.begin());
  return address;
}

std::optional<IpLiteral> parse_ip_literal(std::string_view text) {
  // INET6_ADDRSTRLEN (46) covers the longest literal, "ffff:...:255.255.255.255".
  if (text.empty() || text.size() >= 46) return std::nullopt;
  const std::string copy(text);  // inet_pton wants a NUL-terminated string
  std::uint8_t bytes[16];
  if (copy.find(':') == std::string::npos) {
    if (inet_pton(AF_INET, copy.c_str(), bytes) != 1) return std::nullopt;
    return ipv4_literal(bytes);
  }
  if (inet_pton(AF_INET6, copy.c_str(), bytes) != 1) return std::nullopt;
  return ipv6_literal(bytes);
}

std::string ip_text(const IpLiteral& address) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(address.ipv4 ? AF_INET : AF_INET6, address.bytes.data(), text, sizeof text);
  return text;
}

bool in_blocks(const IpLiteral& address, const std::vector<conf::Cidr>& blocks) {
  for (const conf::Cidr& block : blocks) {
    if (block.ipv4 != address.ipv4) continue;
    const unsigned whole = std::min(block.prefix, address.ipv4 ? 32u : 128u) / 8;
    if (!std::equal(block.bytes.begin(), block.bytes.begin() + whole, address.bytes.begin())) continue;
    const unsigned rest = block.prefix % 8;
    if (rest == 0) return true;
    const auto mask = static_cast<std::uint8_t>(0xffu << (8 - rest));
    if ((address.bytes[whole] & mask) == block.bytes[whole]) return true;
  }
  return false;
}

}  // namespace vhm::proxy::frontend
