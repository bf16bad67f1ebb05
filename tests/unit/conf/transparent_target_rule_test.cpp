// allow_targets entries: "CIDR", "CIDR:port", "CIDR:first-last", IPv6 in
// brackets; each accepted form, its canonical text, and each rejection.
#include <catch2/catch.hpp>

#include "conf/target_rule.hpp"
#include "conf_test_support.hpp"

using namespace vhm::conf;
using test::cidr;
using test::contains;

namespace {

TargetRule rule(std::string_view text) {
  std::string error;
  auto parsed = parse_target_rule(text, error);
  INFO(text << ": " << error);
  REQUIRE(parsed);
  return *parsed;
}

std::string rule_rejection(std::string_view text) {
  std::string error;
  auto parsed = parse_target_rule(text, error);
  INFO(text);
  REQUIRE_FALSE(parsed);
  REQUIRE_FALSE(error.empty());
  return error;
}

}  // namespace

TEST_CASE("transparent target rule: a bare block allows every port") {
  const auto r = rule("10.0.0.0/8");
  CHECK(r.block == cidr("10.0.0.0/8"));
  CHECK(r.first_port == 1);
  CHECK(r.last_port == 65535);
  CHECK(rule("192.0.2.7").block == cidr("192.0.2.7"));
  const auto v6 = rule("[2001:db8::/64]");
  CHECK(v6.block == cidr("2001:db8::/64"));
  CHECK((v6.first_port == 1 && v6.last_port == 65535));
}

TEST_CASE("transparent target rule: one port and a port range") {
  const auto one = rule("192.0.2.7:5901");
  CHECK(one.block == cidr("192.0.2.7"));
  CHECK((one.first_port == 5901 && one.last_port == 5901));
  const auto range = rule("10.0.0.0/24:5900-5999");
  CHECK(range.block == cidr("10.0.0.0/24"));
  CHECK((range.first_port == 5900 && range.last_port == 5999));
  const auto v6 = rule("[2001:db8::/64]:5900-5999");
  CHECK(v6.block == cidr("2001:db8::/64"));
  CHECK((v6.first_port == 5900 && v6.last_port == 5999));
  const auto host6 = rule("[2001:db8::1]:5901");
  CHECK(host6.block == cidr("2001:db8::1"));
  CHECK((host6.first_port == 5901 && host6.last_port == 5901));
}

TEST_CASE("transparent target rule: an IPv4-mapped block is the IPv4 block") {
  const auto r = rule("[::ffff:10.0.0.0/104]:5901");
  CHECK(r.block == cidr("10.0.0.0/8"));
  CHECK(format_target_rule(r) == "10.0.0.0/8:5901");
}

TEST_CASE("transparent target rule: canonical text round-trips") {
  for (std::string_view text : {"10.0.0.0/8", "192.0.2.7:5901", "10.0.0.0/24:5900-5999", "[2001:db8::/64]",
                                "[2001:db8::/64]:5900-5999", "[2001:db8::1]:5901", "0.0.0.0/0:1-2"}) {
    INFO(text);
    CHECK(format_target_rule(rule(text)) == text);
    CHECK(rule(format_target_rule(rule(text))) == rule(text));
  }
  CHECK(format_target_rule(rule("[2001:DB8:0::1]:5901")) == "[2001:db8::1]:5901");
  CHECK(format_target_rule(rule("10.0.0.0/8:1-65535")) == "10.0.0.0/8");
}

TEST_CASE("transparent target rule: IPv6 without brackets is rejected as ambiguous") {
  CHECK(contains(rule_rejection("2001:db8::/64"), "must be in brackets"));
  CHECK(contains(rule_rejection("2001:db8::1:5900"), "must be in brackets"));
  CHECK(contains(rule_rejection("::/0"), "must be in brackets"));
}

TEST_CASE("transparent target rule: bad ports are rejected") {
  CHECK(contains(rule_rejection("10.0.0.0/8:"), "must be a port"));
  CHECK(contains(rule_rejection("10.0.0.0/8:0"), "must be a port"));
  CHECK(contains(rule_rejection("10.0.0.0/8:65536"), "must be a port"));
  CHECK(contains(rule_rejection("10.0.0.0/8:59x1"), "must be a port"));
  CHECK(contains(rule_rejection("10.0.0.0/8:5900-"), "must be a port"));
  CHECK(contains(rule_rejection("10.0.0.0/8:-5900"), "must be a port"));
  CHECK(contains(rule_rejection("10.0.0.0/8:5900-5999-6000"), "must be a port"));
  CHECK(contains(rule_rejection("10.0.0.0/8:+5900"), "must be a port"));
  CHECK(contains(rule_rejection("10.0.0.0/8:5999-5900"), "ends before it starts"));
  CHECK(contains(rule_rejection("[2001:db8::/64]:99999"), "must be a port"));
}

TEST_CASE("transparent target rule: bad blocks and brackets are rejected") {
  CHECK(contains(rule_rejection(""), "empty"));
  CHECK(contains(rule_rejection("10.0.0.1/8:5901"), "did you mean 10.0.0.0/8"));
  CHECK(contains(rule_rejection("10.0.0.0/33"), "prefix length"));
  CHECK(contains(rule_rejection("vnc.example.org:5901"), "expected an IP address"));
  CHECK(contains(rule_rejection(":5901"), "expected an IP address"));
  CHECK(contains(rule_rejection("[10.0.0.0/8]:5901"), "brackets are only for IPv6"));
  CHECK(contains(rule_rejection("[2001:db8::/64:5901"), "missing ']'"));
  CHECK(contains(rule_rejection("[2001:db8::/64]5901"), "expected ':ports'"));
  CHECK(contains(rule_rejection("[fe80::1%eth0]:5901"), "scope id"));
  CHECK(contains(rule_rejection(" 10.0.0.0/8"), "expected an IP address"));
}
