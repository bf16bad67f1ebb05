#include "policy/cidr.hpp"

namespace vhm::policy {
namespace ip = boost::asio::ip;

Address canonical(const Address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, address.to_v6());
  return address;
}

std::optional<Address> parse_address(std::string_view text) {
  if (text.empty() || text.find('%') != std::string_view::npos) return std::nullopt;
  boost::system::error_code ec;
  const Address address = ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  return canonical(address);
}

bool contains(const Cidr& block, const Address& address) {
  const Address client = canonical(address);
  if (client.is_v4() != block.ipv4) return false;
  std::array<unsigned char, 16> bytes{};
  if (client.is_v4()) {
    const auto v4 = client.to_v4().to_bytes();
    std::copy(v4.begin(), v4.end(), bytes.begin());
  } else {
    const auto v6 = client.to_v6().to_bytes();
    std::copy(v6.begin(), v6.end(), bytes.begin());
  }
  const unsigned whole = block.prefix / 8;
  for (unsigned i = 0; i < whole; ++i)
    if (bytes[i] != block.bytes[i]) return false;
  const unsigned rest = block.prefix % 8;
  if (rest == 0) return true;
  const auto mask = static_cast<unsigned char>(0xffu << (8 - rest));
  return (bytes[whole] & mask) == block.bytes[whole];
}

bool covers(const Cidr& outer, const Cidr& inner) {
  return outer.ipv4 == inner.ipv4 && outer.prefix <= inner.prefix && contains(outer, network_address(inner));
}

Address network_address(const Cidr& block) {
  if (block.ipv4) return ip::address_v4({block.bytes[0], block.bytes[1], block.bytes[2], block.bytes[3]});
  ip::address_v6::bytes_type bytes;
  std::copy(block.bytes.begin(), block.bytes.end(), bytes.begin());
  return ip::address_v6(bytes);
}

bool CidrSet::covers(const Cidr& block) const {
  for (const Cidr& outer : blocks_)
    if (policy::covers(outer, block)) return true;
  return false;
}

bool CidrSet::contains(const Address& address) const {
  for (const Cidr& block : blocks_)
    if (policy::contains(block, address)) return true;
  return false;
}

}  // namespace vhm::policy
