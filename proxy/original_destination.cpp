#include "proxy/original_destination.hpp"

#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include "proxy/endpoint_text.hpp"

namespace vhm::proxy {
namespace {

// <linux/netfilter_ipv6/ip6_tables.h> defines it too, with the whole ip6tables
// ABI around it; the value is part of the kernel ABI and equals SO_ORIGINAL_DST.
constexpr int ip6t_so_original_dst = 80;

tcp::endpoint canonical_endpoint(const tcp::endpoint& endpoint) {
  return {canonical_address(endpoint.address()), endpoint.port()};
}

}  // namespace

std::optional<tcp::endpoint> decode_original_destination(const sockaddr_storage& address, socklen_t length) {
  if (address.ss_family == AF_INET && length >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    sockaddr_in v4;
    std::memcpy(&v4, &address, sizeof v4);
    asio::ip::address_v4::bytes_type bytes;
    std::memcpy(bytes.data(), &v4.sin_addr, bytes.size());
    return tcp::endpoint(asio::ip::address_v4(bytes), ntohs(v4.sin_port));
  }
  if (address.ss_family == AF_INET6 && length >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    sockaddr_in6 v6;
    std::memcpy(&v6, &address, sizeof v6);
    asio::ip::address_v6::bytes_type bytes;
    std::memcpy(bytes.data(), &v6.sin6_addr, bytes.size());
    return canonical_endpoint(tcp::endpoint(asio::ip::address_v6(bytes, v6.sin6_scope_id), ntohs(v6.sin6_port)));
  }
  return std::nullopt;
}

std::optional<tcp::endpoint> original_destination(tcp::socket& socket, std::string& error) {
  boost::system::error_code ec;
  const auto local = socket.local_endpoint(ec);
  if (ec) {
    error = "no local address: " + ec.message();
    return std::nullopt;
  }
  // An IPv4 client of a dual-stack IPv6 listener (::ffff:a.b.c.d) was tracked,
  // and redirected, as IPv4: ask the IPv4 table.
  const auto address = local.address();
  const bool ipv4 = address.is_v4() || address.to_v6().is_v4_mapped();
  sockaddr_storage original{};
  socklen_t length = sizeof original;
  const int result = ::getsockopt(socket.native_handle(), ipv4 ? SOL_IP : SOL_IPV6,
                                  ipv4 ? SO_ORIGINAL_DST : ip6t_so_original_dst, &original, &length);
  if (result != 0) {
    const int code = errno;
    if (code == ENOENT || code == ENOPROTOOPT) return canonical_endpoint(local);
    error = std::string("getsockopt(") + (ipv4 ? "SO_ORIGINAL_DST" : "IP6T_SO_ORIGINAL_DST") +
            "): " + std::strerror(code);
    return std::nullopt;
  }
  auto decoded = decode_original_destination(original, length);
  if (!decoded) error = "the kernel returned an original destination of unknown family " +
                        std::to_string(original.ss_family);
  return decoded;
}

}  // namespace vhm::proxy
