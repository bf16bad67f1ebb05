// conf::parse_cidr / format_cidr: the allow/deny syntax of the config file.
#include <catch2/catch.hpp>

#include "conf/cidr.hpp"

using namespace vhm::conf;

namespace {

Cidr require_cidr(std::string_view text) {
  std::string error;
  auto cidr = parse_cidr(text, error);
  INFO(text << ": " << error);
  REQUIRE(cidr);
  CHECK(error.empty());
  return *cidr;
}

std::string cidr_rejection(std::string_view text) {
  std::string error;
  const auto cidr = parse_cidr(text, error);
  INFO(text);
  CHECK_FALSE(cidr);
  CHECK_FALSE(error.empty());
  return error;
}

}  // namespace

TEST_CASE("cidr: IPv4 blocks keep their network bytes and prefix") {
  const Cidr ten = require_cidr("10.0.0.0/8");
  CHECK(ten.ipv4);
  CHECK(ten.prefix == 8);
  CHECK(ten.bytes[0] == 10);
  CHECK(ten.bytes[1] == 0);
  CHECK(format_cidr(ten) == "10.0.0.0/8");
  CHECK(format_cidr(require_cidr("192.168.12.0/22")) == "192.168.12.0/22");
  CHECK(format_cidr(require_cidr("0.0.0.0/0")) == "0.0.0.0/0");
}

TEST_CASE("cidr: IPv6 blocks are parsed and written in canonical form") {
  const Cidr doc = require_cidr("2001:DB8:0:0::/32");
  CHECK_FALSE(doc.ipv4);
  CHECK(doc.prefix == 32);
  CHECK(doc.bytes[0] == 0x20);
  CHECK(doc.bytes[1] == 0x01);
  CHECK(doc.bytes[2] == 0x0d);
  CHECK(doc.bytes[3] == 0xb8);
  CHECK(format_cidr(doc) == "2001:db8::/32");
  CHECK(format_cidr(require_cidr("::/0")) == "::/0");
  CHECK(format_cidr(require_cidr("2001:db8:1:2::/64")) == "2001:db8:1:2::/64");
}

TEST_CASE("cidr: a bare address is a single-host block written without a prefix") {
  const Cidr host = require_cidr("192.0.2.7");
  CHECK(host.ipv4);
  CHECK(host.prefix == 32);
  CHECK(format_cidr(host) == "192.0.2.7");
  CHECK(require_cidr("192.0.2.7/32") == host);
  const Cidr loopback = require_cidr("::1");
  CHECK(loopback.prefix == 128);
  CHECK(format_cidr(loopback) == "::1");
}

TEST_CASE("cidr: IPv4-mapped IPv6 blocks become the IPv4 block") {
  const Cidr mapped = require_cidr("::ffff:10.0.0.0/104");
  CHECK(mapped.ipv4);
  CHECK(mapped.prefix == 8);
  CHECK(mapped == require_cidr("10.0.0.0/8"));
  CHECK(require_cidr("::ffff:192.0.2.7") == require_cidr("192.0.2.7"));
  // Shorter than /96 it covers more than the mapped space: stays IPv6.
  CHECK_FALSE(require_cidr("::/80").ipv4);
}

TEST_CASE("cidr: malformed addresses are rejected with the text") {
  for (const char* text : {"", "10", "10.0.0", "10.0.0.256", "10.0.0.0.0", "vnc.example.com", " 10.0.0.0/8",
                           "2001:db8:::/32", "[::1]", "10.0.0.0 /8"}) {
    CHECK(cidr_rejection(text).rfind("expected an IP address or address block", 0) == 0);
  }
  CHECK(cidr_rejection("vnc.example.com") ==
        "expected an IP address or address block (10.0.0.0/8, 2001:db8::/32), got \"vnc.example.com\"");
}

TEST_CASE("cidr: prefixes that are missing, signed, non-numeric or too long are rejected") {
  for (const char* text : {"10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/+8", "10.0.0.0/x", "10.0.0.0/ 8",
                           "10.0.0.0/0008", "::/129", "10.0.0.0/8 ", "10.0.0.0/8/8"}) {
    INFO(text);
    CHECK(cidr_rejection(text).find("the prefix length after '/' must be a number from 0 to ") == 0);
  }
  CHECK(cidr_rejection("10.0.0.0/33") ==
        "the prefix length after '/' must be a number from 0 to 32, got \"10.0.0.0/33\"");
  CHECK(cidr_rejection("::/129") == "the prefix length after '/' must be a number from 0 to 128, got \"::/129\"");
}

TEST_CASE("cidr: host bits below the prefix are rejected, suggesting the network") {
  CHECK(cidr_rejection("10.0.0.1/8") ==
        "host bits are set below the prefix length in \"10.0.0.1/8\"; did you mean 10.0.0.0/8?");
  CHECK(cidr_rejection("2001:db8::1/32") ==
        "host bits are set below the prefix length in \"2001:db8::1/32\"; did you mean 2001:db8::/32?");
}

TEST_CASE("cidr: scope ids are rejected") {
  CHECK(cidr_rejection("fe80::1%eth0") == "a scope id (%...) is not allowed in an address block, got \"fe80::1%eth0\"");
}
