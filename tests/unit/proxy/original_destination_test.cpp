// Decoding the kernel's original destination (SO_ORIGINAL_DST and
// IP6T_SO_ORIGINAL_DST fill a sockaddr_in / sockaddr_in6), and what a
// connection that no rule redirected reports.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "proxy/original_destination.hpp"

using namespace vhm::proxy;
namespace asio = boost::asio;

namespace {

sockaddr_storage v4(const char* address, std::uint16_t port) {
  sockaddr_storage storage{};
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  REQUIRE(inet_pton(AF_INET, address, &in.sin_addr) == 1);
  std::memcpy(&storage, &in, sizeof in);
  return storage;
}

sockaddr_storage v6(const char* address, std::uint16_t port) {
  sockaddr_storage storage{};
  sockaddr_in6 in{};
  in.sin6_family = AF_INET6;
  in.sin6_port = htons(port);
  REQUIRE(inet_pton(AF_INET6, address, &in.sin6_addr) == 1);
  std::memcpy(&storage, &in, sizeof in);
  return storage;
}

}  // namespace

TEST_CASE("original destination: an IPv4 sockaddr_in decodes with the port in host order") {
  const auto decoded = decode_original_destination(v4("10.77.2.2", 5901), sizeof(sockaddr_in));
  REQUIRE(decoded);
  CHECK(decoded->address() == asio::ip::make_address("10.77.2.2"));
  CHECK(decoded->port() == 5901);
}

TEST_CASE("original destination: an IPv6 sockaddr_in6 decodes, IPv4-mapped becomes IPv4") {
  const auto decoded = decode_original_destination(v6("2001:db8::7", 5902), sizeof(sockaddr_in6));
  REQUIRE(decoded);
  CHECK(decoded->address() == asio::ip::make_address("2001:db8::7"));
  CHECK(decoded->port() == 5902);
  const auto mapped = decode_original_destination(v6("::ffff:192.0.2.9", 5903), sizeof(sockaddr_in6));
  REQUIRE(mapped);
  CHECK(mapped->address() == asio::ip::make_address("192.0.2.9"));
  CHECK(mapped->address().is_v4());
}

TEST_CASE("original destination: short lengths and other families are not decoded") {
  CHECK_FALSE(decode_original_destination(v4("10.0.0.1", 1), sizeof(sockaddr_in) - 1));
  CHECK_FALSE(decode_original_destination(v6("2001:db8::1", 1), sizeof(sockaddr_in)));
  sockaddr_storage unix_family{};
  unix_family.ss_family = AF_UNIX;
  CHECK_FALSE(decode_original_destination(unix_family, sizeof unix_family));
}

TEST_CASE("original destination: a connection no rule redirected reports its own local endpoint") {
  asio::io_context io;
  for (const char* loopback : {"127.0.0.1", "::1"}) {
    INFO(loopback);
    boost::system::error_code ec;
    asio::ip::tcp::acceptor acceptor(io);
    const asio::ip::tcp::endpoint bind_to(asio::ip::make_address(loopback), 0);
    acceptor.open(bind_to.protocol(), ec);
    if (ec) continue;  // no IPv6 on this host
    acceptor.bind(bind_to, ec);
    if (ec) continue;
    acceptor.listen();
    asio::ip::tcp::socket client(io);
    client.connect(acceptor.local_endpoint());
    asio::ip::tcp::socket accepted = acceptor.accept();
    std::string error;
    const auto original = original_destination(accepted, error);
    INFO(error);
    REQUIRE(original);
    CHECK(*original == accepted.local_endpoint());
    CHECK(original->port() == acceptor.local_endpoint().port());
  }
}

TEST_CASE("original destination: a socket that is not connected is an error, not a guess") {
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  std::string error;
  CHECK_FALSE(original_destination(socket, error));
  CHECK_FALSE(error.empty());
}
