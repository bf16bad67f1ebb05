// The real client behind trusted reverse proxies: X-Forwarded-For and
// Forwarded read from the right, so an address a client writes in front is
// never believed.
#include <catch2/catch.hpp>

#include "proxy/frontend/forwarded.hpp"

using vhm::conf::Cidr;
using vhm::proxy::frontend::forwarded_client;

namespace {

std::vector<Cidr> blocks(std::initializer_list<const char*> texts) {
  std::vector<Cidr> result;
  for (const char* text : texts) {
    std::string error;
    result.push_back(vhm::conf::parse_cidr(text, error).value());  // at static init: no REQUIRE
  }
  return result;
}

const std::vector<Cidr> proxies = blocks({"10.0.0.0/8", "2001:db8:ffff::/48"});

std::optional<std::string> xff(std::string_view header, std::string_view peer = "10.0.0.1") {
  return forwarded_client(peer, "", header, proxies);
}
std::optional<std::string> fwd(std::string_view header, std::string_view peer = "10.0.0.1") {
  return forwarded_client(peer, header, "", proxies);
}

}  // namespace

TEST_CASE("forwarded: headers from a peer that is not a trusted proxy are ignored") {
  CHECK_FALSE(xff("192.0.2.7", "192.0.2.1"));
  CHECK_FALSE(fwd("for=192.0.2.7", "2001:db8::1"));
  CHECK_FALSE(xff("192.0.2.7", "not an address"));
  CHECK_FALSE(forwarded_client("10.0.0.1", "for=192.0.2.7", "192.0.2.8", {}));
}

TEST_CASE("forwarded: a trusted peer as IPv4-mapped IPv6 is the IPv4 proxy") {
  CHECK(xff("192.0.2.7", "::ffff:10.0.0.1") == "192.0.2.7");
}

TEST_CASE("forwarded: X-Forwarded-For: the rightmost untrusted address, whatever the client put in front") {
  CHECK(xff("192.0.2.7") == "192.0.2.7");
  CHECK(xff("203.0.113.66, 192.0.2.7") == "192.0.2.7");              // a spoofed entry on the left
  CHECK(xff("203.0.113.66, 192.0.2.7, 10.1.2.3") == "192.0.2.7");    // through two trusted proxies
  CHECK(xff("203.0.113.66,192.0.2.7,\t10.1.2.3 ") == "192.0.2.7");   // any OWS
  CHECK(xff("2001:db8::7") == "2001:db8::7");
  CHECK(xff("[2001:db8::7]:1234, 2001:db8:ffff::1") == "2001:db8::7");
  CHECK(xff("192.0.2.7:56324") == "192.0.2.7");                       // IPv4 with a port
  CHECK(xff("::ffff:192.0.2.7") == "192.0.2.7");
}

TEST_CASE("forwarded: when every hop is trusted, the leftmost one is the client") {
  CHECK(xff("10.9.9.9, 10.1.2.3") == "10.9.9.9");
}

TEST_CASE("forwarded: an unreadable hop ends the walk; what a client wrote left of it is never used") {
  CHECK(xff("192.0.2.7, garbage, 10.1.2.3") == "10.1.2.3");
  CHECK_FALSE(xff("192.0.2.7, garbage"));
  CHECK_FALSE(xff("192.0.2.7, unknown"));
  CHECK_FALSE(xff("192.0.2.7, 192.0.2.8:99999"));
  CHECK_FALSE(xff("192.0.2.7, [192.0.2.8]"));
  CHECK_FALSE(xff("192.0.2.7, fe80::1%eth0"));
  CHECK_FALSE(xff("192.0.2.7, "));
  CHECK_FALSE(xff(""));
}

TEST_CASE("forwarded: RFC 7239 for= with quoting, IPv6 brackets, ports and other parameters") {
  CHECK(fwd("for=192.0.2.60;proto=http;by=203.0.113.43") == "192.0.2.60");
  CHECK(fwd("For=\"[2001:db8:cafe::17]:4711\"") == "2001:db8:cafe::17");
  CHECK(fwd("for=192.0.2.43, for=198.51.100.17") == "198.51.100.17");
  CHECK(fwd("for=198.51.100.17;by=\"[2001:db8:ffff::1]\";host=example.com, for=10.1.2.3") == "198.51.100.17");
  CHECK(fwd("for=\"192.0.2.43:_hidden\"") == "192.0.2.43");               // obfuscated port
  CHECK(fwd("proto=https; FOR = \"192.0.2.43\" ;by=x") == "192.0.2.43");  // spaces tolerated
  CHECK(fwd("host=\"a,b;c\";for=192.0.2.43") == "192.0.2.43");            // separators inside quotes
  CHECK(fwd("for=\"192.0.2.\\43\"") == "192.0.2.43");                     // a quoted-pair
}

TEST_CASE("forwarded: obfuscated, unknown, missing or doubled for= make a hop unreadable") {
  CHECK(fwd("for=192.0.2.7, for=_gazonk, for=10.1.2.3") == "10.1.2.3");
  CHECK_FALSE(fwd("for=192.0.2.7, for=unknown"));
  CHECK_FALSE(fwd("for=192.0.2.7, proto=https"));
  CHECK_FALSE(fwd("for=192.0.2.7, for=192.0.2.8;for=192.0.2.9"));
  CHECK_FALSE(fwd("for=\"192.0.2.7"));                  // unterminated quote
  CHECK_FALSE(fwd("for=192.0.2.7, for=\"192.0.2.8\"x"));  // garbage after a quoted value
  CHECK_FALSE(fwd("for=[2001:db8::1"));
}

TEST_CASE("forwarded: Forwarded wins over X-Forwarded-For when both are there") {
  CHECK(forwarded_client("10.0.0.1", "for=192.0.2.1", "192.0.2.2", proxies) == "192.0.2.1");
  CHECK(forwarded_client("10.0.0.1", "  ", "192.0.2.2", proxies) == "192.0.2.2");
}
