#pragma once
// Where a connection was headed before the firewall sent it to the proxy
// (`transparent: redirect`: iptables/nftables REDIRECT or DNAT). The kernel's
// connection tracking keeps the original destination; getsockopt returns it:
// SO_ORIGINAL_DST (SOL_IP) for IPv4, IP6T_SO_ORIGINAL_DST (SOL_IPV6) for IPv6.
// A connection that was not redirected has no other destination than the one
// it reached, so it reports its own local endpoint: the caller then sees the
// proxy's own address and refuses it as a loop.
#include <sys/socket.h>

#include <optional>
#include <string>

#include "proxy/asio.hpp"

namespace vhm::proxy {

// A sockaddr_in / sockaddr_in6 as the kernel fills it; IPv4-mapped IPv6
// becomes IPv4. nullopt for another family or a length too short for it.
std::optional<tcp::endpoint> decode_original_destination(const sockaddr_storage& address, socklen_t length);

// The original destination of an accepted connection. No conntrack entry
// (ENOENT) or no conntrack at all (ENOPROTOOPT) means nothing redirected it:
// its local endpoint. Any other failure: nullopt, with `error` saying why.
std::optional<tcp::endpoint> original_destination(tcp::socket& socket, std::string& error);

}  // namespace vhm::proxy
