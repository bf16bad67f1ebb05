#pragma once
// Socket options of the transparent modes, in one place because both need the
// same privilege (CAP_NET_ADMIN; the kernel also accepts CAP_NET_RAW) and the
// same words when it is missing.
//  - A `transparent: tproxy` listener needs IP_TRANSPARENT (IPV6_TRANSPARENT on
//    an IPv6 socket) before bind, so TPROXY can hand it connections addressed
//    to other hosts.
//  - Its upstream socket needs it too, to bind to the client's address: the
//    server then sees the real client.
//  - A `transparent: redirect` upstream socket is bound to a kernel-chosen
//    port before connecting, so a firewall rule that sends the proxy's own
//    connection back to it is recognised as a loop (transparent_loop.hpp).
#include <optional>
#include <string>

#include "conf/config.hpp"
#include "proxy/asio.hpp"

namespace vhm::proxy {

// Sets IP_TRANSPARENT or IPV6_TRANSPARENT on an open socket of that family.
void set_ip_transparent(int fd, bool ipv6, boost::system::error_code& error);

// " (transparent: tproxy needs CAP_NET_ADMIN)" when `error` is a permission
// error, else empty: appended to messages about the options above.
std::string transparent_privilege_hint(const boost::system::error_code& error);

// Opens `socket` for `destination` and binds it: tproxy to `client` (port 0)
// with IP_TRANSPARENT, redirect to the unspecified address, port 0. Returns
// the bound endpoint, or nullopt with `error` (the socket is then closed).
std::optional<tcp::endpoint> open_upstream_socket(tcp::socket& socket, conf::Transparent mode,
                                                  const tcp::endpoint& destination,
                                                  const asio::ip::address& client, std::string& error);

}  // namespace vhm::proxy
