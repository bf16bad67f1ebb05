#include "proxy/transparent_socket.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>

#include "proxy/endpoint_text.hpp"

namespace vhm::proxy {

void set_ip_transparent(int fd, bool ipv6, boost::system::error_code& error) {
  const int on = 1;
  const int result = ipv6 ? ::setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &on, sizeof on)
                          : ::setsockopt(fd, SOL_IP, IP_TRANSPARENT, &on, sizeof on);
  if (result != 0)
    error.assign(errno, boost::system::system_category());
  else
    error.clear();
}

std::string transparent_privilege_hint(const boost::system::error_code& error) {
  if (error == boost::system::errc::operation_not_permitted || error == boost::system::errc::permission_denied)
    return " (transparent: tproxy needs CAP_NET_ADMIN)";
  return {};
}

std::optional<tcp::endpoint> open_upstream_socket(tcp::socket& socket, conf::Transparent mode,
                                                  const tcp::endpoint& destination,
                                                  const asio::ip::address& client, std::string& error) {
  boost::system::error_code ec;
  const bool ipv6 = destination.address().is_v6();
  socket.open(destination.protocol(), ec);
  if (ec) {
    error = "cannot open a socket: " + ec.message();
    return std::nullopt;
  }
  tcp::endpoint source(ipv6 ? asio::ip::address(asio::ip::address_v6::any()) : asio::ip::address_v4::any(), 0);
  if (mode == conf::Transparent::tproxy) {
    const auto from = canonical_address(client);
    if (from.is_v6() != ipv6) {
      error = "cannot connect from the client's address " + address_text(from) + " to " +
              endpoint_text(destination) + ": different address families";
      socket.close(ec);
      return std::nullopt;
    }
    set_ip_transparent(socket.native_handle(), ipv6, ec);
    if (ec) {
      error = "cannot use the client's address " + address_text(from) + ": " + ec.message() +
              transparent_privilege_hint(ec);
      boost::system::error_code ignored;
      socket.close(ignored);
      return std::nullopt;
    }
    source = tcp::endpoint(from, 0);
  }
  socket.bind(source, ec);
  if (!ec) source = socket.local_endpoint(ec);
  if (ec) {
    error = "cannot bind to " + address_text(source.address()) + ": " + ec.message();
    boost::system::error_code ignored;
    socket.close(ignored);
    return std::nullopt;
  }
  return source;
}

}  // namespace vhm::proxy
