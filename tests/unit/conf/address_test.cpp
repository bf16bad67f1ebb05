#include <catch2/catch.hpp>

#include "conf/address.hpp"

using vhm::conf::format_host_port;
using vhm::conf::HostPort;
using vhm::conf::parse_listen_address;
using vhm::conf::parse_target_address;

namespace {

HostPort listen_ok(std::string_view text) {
  std::string error;
  auto address = parse_listen_address(text, error);
  INFO(text << ": " << error);
  REQUIRE(address);
  return *address;
}

HostPort target_ok(std::string_view text) {
  std::string error;
  auto address = parse_target_address(text, error);
  INFO(text << ": " << error);
  REQUIRE(address);
  return *address;
}

std::string listen_error(std::string_view text) {
  std::string error;
  INFO(text);
  REQUIRE_FALSE(parse_listen_address(text, error));
  REQUIRE_FALSE(error.empty());
  return error;
}

std::string target_error(std::string_view text) {
  std::string error;
  INFO(text);
  REQUIRE_FALSE(parse_target_address(text, error));
  REQUIRE_FALSE(error.empty());
  return error;
}

bool has(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("listen address: IPv4, bracketed IPv6 and :port for all addresses") {
  CHECK(listen_ok("0.0.0.0:5900").host == "0.0.0.0");
  CHECK(listen_ok("0.0.0.0:5900").port == 5900);
  CHECK(listen_ok("127.0.0.1:65535").port == 65535);
  CHECK(listen_ok("[::]:5900").host == "::");
  CHECK(listen_ok("[::1]:5901").host == "::1");
  CHECK(listen_ok("[fe80::1%lo]:5901").host == "fe80::1%lo");
  const HostPort all = listen_ok(":5900");
  CHECK(all.host.empty());
  CHECK(all.port == 5900);
}

TEST_CASE("listen address: localhost means 127.0.0.1 and IPv6 is written canonically") {
  CHECK(listen_ok("localhost:5900").host == "127.0.0.1");
  CHECK(listen_ok("[0:0:0:0:0:0:0:1]:5900").host == "::1");
  CHECK(listen_ok("[2001:DB8::0001]:5900").host == "2001:db8::1");
}

TEST_CASE("listen address: port 0 lets the kernel choose") {
  CHECK(listen_ok("127.0.0.1:0").port == 0);
}

TEST_CASE("listen address: the host must be an IP literal or localhost") {
  CHECK(has(listen_error("example.com:5900"), "must be an IP address or localhost"));
  CHECK(has(listen_error("*:5900"), "use \":5900\" for all addresses"));
  CHECK(has(listen_error("256.1.1.1:5900"), "must be an IP address or localhost"));
  CHECK(has(listen_error("[example.com]:5900"), "is not an IPv6 address"));
  CHECK(has(listen_error("[127.0.0.1]:5900"), "brackets are only for IPv6"));
}

TEST_CASE("listen address: ports out of range or not numbers are rejected") {
  CHECK(has(listen_error("127.0.0.1:65536"), "port 65536 is out of range (0-65535)"));
  CHECK(has(listen_error("127.0.0.1:99999"), "out of range"));
  CHECK(has(listen_error("127.0.0.1:999999999999999999999"), "out of range"));
  CHECK(has(listen_error("127.0.0.1:-1"), "is not a number"));
  CHECK(has(listen_error("127.0.0.1:+80"), "is not a number"));
  CHECK(has(listen_error("127.0.0.1:vnc"), "\"vnc\" is not a number"));
  CHECK(has(listen_error("127.0.0.1:"), "missing port"));
}

TEST_CASE("listen address: malformed brackets and missing parts are rejected") {
  CHECK(has(listen_error("[::1:5900"), "missing ']'"));
  CHECK(has(listen_error("[::1]5900"), "expected ':port' after ']'"));
  CHECK(has(listen_error("[::1]"), "expected ':port' after ']'"));
  CHECK(has(listen_error("[]:5900"), "empty brackets"));
  CHECK(has(listen_error("::1:5900"), "needs brackets"));
  CHECK(has(listen_error("127.0.0.1]:5900"), "needs brackets"));
  CHECK(has(listen_error("not an address"), "missing port in \"not an address\""));
  CHECK(has(listen_error(""), "empty address"));
}

TEST_CASE("target address: host names, IPv4 and bracketed IPv6") {
  const HostPort named = target_ok("vnc.example.com:5901");
  CHECK(named.host == "vnc.example.com");
  CHECK(named.port == 5901);
  CHECK(target_ok("localhost:5901").host == "localhost");
  CHECK(target_ok("my_host-1:5901").host == "my_host-1");
  CHECK(target_ok("10.0.0.7:5902").host == "10.0.0.7");
  CHECK(target_ok("[::1]:5901").host == "::1");
}

TEST_CASE("target address: :N below 100 is display N on 127.0.0.1") {
  const HostPort display = target_ok(":1");
  CHECK(display.host == "127.0.0.1");
  CHECK(display.port == 5901);
  CHECK(target_ok(":0").port == 5900);
  CHECK(target_ok(":99").port == 5999);
}

TEST_CASE("target address: :P from 100 on is port P on 127.0.0.1") {
  const HostPort port = target_ok(":5901");
  CHECK(port.host == "127.0.0.1");
  CHECK(port.port == 5901);
  CHECK(target_ok(":100").port == 100);
}

TEST_CASE("target address: port 0, bad ports and bad hosts are rejected") {
  CHECK(has(target_error("127.0.0.1:0"), "port 0 is out of range (1-65535)"));
  CHECK(has(target_error("host:65536"), "out of range"));
  CHECK(has(target_error(":65536"), "out of range"));
  CHECK(has(target_error(":"), "missing port"));
  CHECK(has(target_error("999.1.1.1:5900"), "not a valid IPv4 address"));
  CHECK(has(target_error("bad host:5900"), "is not a host name or IP address"));
  CHECK(has(target_error("a..b:5900"), "is not a host name or IP address"));
  CHECK(has(target_error("::1:5900"), "needs brackets"));
  CHECK(has(target_error("[nope]:5900"), "is not an IPv6 address"));
  CHECK(has(target_error("host"), "missing port"));
}

TEST_CASE("format_host_port: brackets around IPv6, :port for all addresses, and it round-trips") {
  CHECK(format_host_port({"127.0.0.1", 5900}) == "127.0.0.1:5900");
  CHECK(format_host_port({"::1", 5901}) == "[::1]:5901");
  CHECK(format_host_port({"vnc.example.com", 5901}) == "vnc.example.com:5901");
  CHECK(format_host_port({"", 5900}) == ":5900");
  for (const char* text : {"127.0.0.1:5900", "[::1]:5901", ":5900", "[fe80::1%lo]:1"})
    CHECK(format_host_port(listen_ok(text)) == text);
}
