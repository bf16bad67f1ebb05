#pragma once
// Addresses as people write them: "192.0.2.1:5900", "[2001:db8::1]:5900".
// IPv4-mapped IPv6 peers of a dual-stack listener are shown as plain IPv4,
// so bans and logs see one form per client.
#include <string>

#include "proxy/asio.hpp"

namespace vhm::proxy {

asio::ip::address canonical_address(const asio::ip::address& address);
std::string address_text(const asio::ip::address& address);
std::string endpoint_text(const tcp::endpoint& endpoint);

}  // namespace vhm::proxy
