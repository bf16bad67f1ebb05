#include "policy/client_key.hpp"

namespace vhm::policy {

Cidr client_block(const Address& address, KeyPrefixes prefixes) {
  const Address client = canonical(address);
  Cidr block;
  if (client.is_v4()) {
    block.ipv4 = true;
    block.prefix = prefixes.ipv4;
    const auto bytes = client.to_v4().to_bytes();
    std::copy(bytes.begin(), bytes.end(), block.bytes.begin());
  } else {
    block.prefix = prefixes.ipv6;
    const auto bytes = client.to_v6().to_bytes();
    std::copy(bytes.begin(), bytes.end(), block.bytes.begin());
  }
  const unsigned total = block.ipv4 ? 32 : 128;
  for (unsigned bit = block.prefix; bit < total; ++bit)
    block.bytes[bit / 8] = static_cast<std::uint8_t>(block.bytes[bit / 8] & ~(0x80u >> (bit % 8)));
  return block;
}

std::string client_key(const Address& address, KeyPrefixes prefixes) {
  return conf::format_cidr(client_block(address, prefixes));
}

std::optional<std::string> key_from_text(std::string_view text, KeyPrefixes prefixes) {
  if (auto address = parse_address(text)) return client_key(*address, prefixes);
  std::string error;
  const auto block = conf::parse_cidr(text, error);
  if (!block || block->prefix != (block->ipv4 ? prefixes.ipv4 : prefixes.ipv6)) return std::nullopt;
  return conf::format_cidr(*block);
}

}  // namespace vhm::policy
