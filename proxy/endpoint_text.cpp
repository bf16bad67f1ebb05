#include "proxy/endpoint_text.hpp"

namespace vhm::proxy {

namespace {

// IPv4 by hand: Asio's to_string goes through inet_ntop's sprintf, a visible
// cost where every connection's fields and log lines spell the client.
std::string text_of(const asio::ip::address& address) {
  if (!address.is_v4()) return address.to_string();
  const auto bytes = address.to_v4().to_bytes();
  std::string text;
  text.reserve(15);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i) text += '.';
    const unsigned octet = bytes[i];
    if (octet >= 100) text += static_cast<char>('0' + octet / 100);
    if (octet >= 10) text += static_cast<char>('0' + octet / 10 % 10);
    text += static_cast<char>('0' + octet % 10);
  }
  return text;
}

}  // namespace

asio::ip::address canonical_address(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  return address;
}

std::string address_text(const asio::ip::address& address) { return text_of(canonical_address(address)); }

std::string endpoint_text(const tcp::endpoint& endpoint) {
  const auto address = canonical_address(endpoint.address());
  const std::string port = std::to_string(endpoint.port());
  return address.is_v6() ? "[" + text_of(address) + "]:" + port : text_of(address) + ":" + port;
}

}  // namespace vhm::proxy
