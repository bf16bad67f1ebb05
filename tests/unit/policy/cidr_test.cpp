#include <catch2/catch.hpp>

#include "policy/cidr.hpp"
#include "policy_test_support.hpp"

using namespace vhm::policy;
using test::block;
using test::ip;

TEST_CASE("policy cidr: IPv4 blocks match exactly the addresses under their prefix") {
  const Cidr ten = block("10.0.0.0/8");
  CHECK(contains(ten, ip("10.0.0.0")));
  CHECK(contains(ten, ip("10.255.255.255")));
  CHECK_FALSE(contains(ten, ip("11.0.0.0")));
  CHECK_FALSE(contains(ten, ip("9.255.255.255")));
  const Cidr odd = block("192.168.12.0/22");  // a prefix that is not a whole byte
  CHECK(contains(odd, ip("192.168.15.255")));
  CHECK_FALSE(contains(odd, ip("192.168.16.0")));
  CHECK_FALSE(contains(odd, ip("192.168.11.255")));
  CHECK(contains(block("0.0.0.0/0"), ip("203.0.113.9")));
}

TEST_CASE("policy cidr: IPv6 blocks match their prefix, single hosts only themselves") {
  const Cidr doc = block("2001:db8::/32");
  CHECK(contains(doc, ip("2001:db8:ffff::1")));
  CHECK_FALSE(contains(doc, ip("2001:db9::1")));
  const Cidr odd = block("2001:db8:8000::/33");
  CHECK(contains(odd, ip("2001:db8:ffff::1")));
  CHECK_FALSE(contains(odd, ip("2001:db8:7fff::1")));
  CHECK(contains(block("::1"), ip("::1")));
  CHECK_FALSE(contains(block("::1"), ip("::2")));
  CHECK(contains(block("::/0"), ip("2001:db8::1")));
}

TEST_CASE("policy cidr: families never match each other, except IPv4-mapped clients on IPv4 blocks") {
  CHECK_FALSE(contains(block("::/0"), ip("192.0.2.7")));
  CHECK_FALSE(contains(block("0.0.0.0/0"), ip("2001:db8::1")));
  CHECK(contains(block("192.0.2.0/24"), ip("::ffff:192.0.2.7")));
  CHECK(contains(block("192.0.2.7"), ip("::ffff:192.0.2.7")));
  CHECK_FALSE(contains(block("192.0.3.0/24"), ip("::ffff:192.0.2.7")));
  // A mapped block is the IPv4 block: it matches plain IPv4 clients too.
  CHECK(contains(block("::ffff:10.0.0.0/104"), ip("10.1.2.3")));
}

TEST_CASE("policy cidr: canonical and parse_address put IPv4-mapped clients in IPv4 form") {
  CHECK(canonical(ip("::ffff:192.0.2.7")) == ip("192.0.2.7"));
  CHECK(canonical(ip("2001:db8::1")) == ip("2001:db8::1"));
  CHECK(canonical(ip("192.0.2.7")) == ip("192.0.2.7"));
  REQUIRE(parse_address("::ffff:192.0.2.7"));
  CHECK(parse_address("::ffff:192.0.2.7")->is_v4());
  CHECK(parse_address("2001:DB8::1") == ip("2001:db8::1"));
  CHECK_FALSE(parse_address(""));
  CHECK_FALSE(parse_address("192.0.2.0/24"));
  CHECK_FALSE(parse_address("[::1]"));
  CHECK_FALSE(parse_address("fe80::1%lo"));
  CHECK_FALSE(parse_address("host.example"));
}

TEST_CASE("policy cidr: covers and network_address") {
  CHECK(covers(block("10.0.0.0/8"), block("10.1.0.0/16")));
  CHECK(covers(block("10.0.0.0/8"), block("10.0.0.0/8")));
  CHECK_FALSE(covers(block("10.1.0.0/16"), block("10.0.0.0/8")));
  CHECK_FALSE(covers(block("10.0.0.0/8"), block("11.0.0.0/16")));
  CHECK_FALSE(covers(block("::/0"), block("10.0.0.0/8")));
  CHECK(covers(block("2001:db8::/32"), block("2001:db8:1:2::/64")));
  CHECK(network_address(block("2001:db8:1:2::/64")) == ip("2001:db8:1:2::"));
  CHECK(network_address(block("10.0.0.0/8")) == ip("10.0.0.0"));
}

TEST_CASE("policy cidr: a CidrSet matches when any block matches; an empty set matches nothing") {
  const CidrSet set({block("10.0.0.0/8"), block("2001:db8::/32"), block("192.0.2.7")});
  CHECK(set.contains(ip("10.9.9.9")));
  CHECK(set.contains(ip("2001:db8::5")));
  CHECK(set.contains(ip("192.0.2.7")));
  CHECK_FALSE(set.contains(ip("192.0.2.8")));
  CHECK(set.covers(block("10.0.0.0/24")));
  CHECK_FALSE(set.covers(block("192.0.2.0/24")));
  const CidrSet empty;
  CHECK(empty.empty());
  CHECK_FALSE(empty.contains(ip("10.0.0.1")));
  std::string error;
  CHECK(parse_cidr("10.0.0.0/8", error) == block("10.0.0.0/8"));
  CHECK_FALSE(parse_cidr("10.0.0.1/8", error));
}
