#include "proxy/endpoint_text.hpp"

namespace vhm::proxy {

asio::ip::address canonical_address(const asio::ip::address& address) {
  if (address.is_v6() && address.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
  return address;
}

std::string address_text(const asio::ip::address& address) { return canonical_address(address).to_string(); }

std::string endpoint_text(const tcp::endpoint& endpoint) {
  const auto address = canonical_address(endpoint.address());
  const std::string port = std::to_string(endpoint.port());
  return address.is_v6() ? "[" + address.to_string() + "]:" + port : address.to_string() + ":" + port;
}

}  // namespace vhm::proxy
