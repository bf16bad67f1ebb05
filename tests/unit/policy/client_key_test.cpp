#include <catch2/catch.hpp>

#include "policy/client_key.hpp"
#include "policy_test_support.hpp"

using namespace vhm::policy;
using test::ip;

TEST_CASE("client_key: IPv4 clients are their address with the default /32") {
  CHECK(client_key(ip("192.0.2.7"), {}) == "192.0.2.7");
  CHECK(client_key(ip("::ffff:192.0.2.7"), {}) == "192.0.2.7");
}

TEST_CASE("client_key: IPv6 clients are counted by their /64 by default") {
  CHECK(client_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), {}) == "2001:db8:1:2::/64");
  CHECK(client_key(ip("2001:db8:1:2::1"), {}) == client_key(ip("2001:db8:1:2:ffff::9"), {}));
  CHECK(client_key(ip("2001:db8:1:3::1"), {}) == "2001:db8:1:3::/64");
}

TEST_CASE("client_key: other prefixes, including ones that are not whole bytes") {
  CHECK(client_key(ip("192.0.2.7"), {24, 64}) == "192.0.2.0/24");
  CHECK(client_key(ip("192.0.2.200"), {25, 64}) == "192.0.2.128/25");
  CHECK(client_key(ip("2001:db8:1:2::1"), {32, 48}) == "2001:db8:1::/48");
  CHECK(client_key(ip("2001:db8:1:2::1"), {32, 128}) == "2001:db8:1:2::1");
  CHECK(client_key(ip("2001:db8:1:ffff::1"), {32, 57}) == "2001:db8:1:ff80::/57");
}

TEST_CASE("client_key: key_from_text accepts addresses and keys of the configured prefix") {
  CHECK(key_from_text("192.0.2.7", {}) == "192.0.2.7");
  CHECK(key_from_text("::ffff:192.0.2.7", {}) == "192.0.2.7");
  CHECK(key_from_text("192.0.2.7/32", {}) == "192.0.2.7");
  CHECK(key_from_text("2001:db8:1:2::99", {}) == "2001:db8:1:2::/64");
  CHECK(key_from_text("2001:DB8:1:2::/64", {}) == "2001:db8:1:2::/64");
  CHECK(key_from_text("192.0.2.0/24", {24, 64}) == "192.0.2.0/24");
  CHECK(key_from_text("192.0.2.9", {24, 64}) == "192.0.2.0/24");
}

TEST_CASE("client_key: key_from_text rejects other prefixes and anything that is not an address") {
  CHECK_FALSE(key_from_text("192.0.2.0/24", {}));
  CHECK_FALSE(key_from_text("2001:db8::/48", {}));
  CHECK_FALSE(key_from_text("2001:db8:1:2::1/64", {}));  // host bits: not a key
  CHECK_FALSE(key_from_text("", {}));
  CHECK_FALSE(key_from_text("vnc.example.com", {}));
  CHECK_FALSE(key_from_text("192.0.2.7:5900", {}));
}
