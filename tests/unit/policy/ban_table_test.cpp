#include <catch2/catch.hpp>

#include "policy/ban_table.hpp"
#include "policy_test_support.hpp"

using namespace vhm::policy;
using namespace std::chrono_literals;
using test::blocking_config;
using test::ip;
using test::t0;

namespace {

// Fails `count` times, one second apart from `start`; returns the last result.
std::optional<Ban> fail(BanTable& table, const Address& address, TimePoint start, int count) {
  std::optional<Ban> last;
  for (int i = 0; i < count; ++i) last = table.record_failure(address, start + std::chrono::seconds(i));
  return last;
}

}  // namespace

TEST_CASE("ban table: failures below max_failures do not ban; reaching it starts a ban") {
  BanTable table(blocking_config());
  const Address client = ip("192.0.2.7");
  CHECK_FALSE(table.record_failure(client, t0));
  CHECK_FALSE(table.record_failure(client, t0 + 1s));
  CHECK(table.failures(client, t0 + 1s) == 2);
  CHECK_FALSE(table.ban_for(client, t0 + 1s));
  const auto ban = table.record_failure(client, t0 + 2s);
  REQUIRE(ban);
  CHECK(ban->key == "192.0.2.7");
  CHECK(ban->failures == 3);
  CHECK(ban->duration == 1h);
  CHECK(ban->until == t0 + 2s + 1h);
  CHECK(ban->level == 1);
  CHECK(table.ban_for(client, t0 + 3s) == ban);
  CHECK(table.ban_for(client, t0 + 2s + 1h - 1ms) == ban);
  CHECK_FALSE(table.ban_for(client, t0 + 2s + 1h));
  CHECK_FALSE(table.ban_for(ip("192.0.2.8"), t0 + 3s));
}

TEST_CASE("ban table: only failures within the window count") {
  BanTable table(blocking_config());
  const Address client = ip("192.0.2.7");
  CHECK_FALSE(table.record_failure(client, t0));
  CHECK_FALSE(table.record_failure(client, t0 + 6min));
  // At t0 + 10min the first failure has left the 10-minute window.
  CHECK_FALSE(table.record_failure(client, t0 + 10min));
  CHECK(table.failures(client, t0 + 10min) == 2);
  const auto ban = table.record_failure(client, t0 + 10min + 1s);
  REQUIRE(ban);
  CHECK(ban->failures == 3);
  CHECK(table.failures(ip("192.0.2.9"), t0) == 0);
}

TEST_CASE("ban table: failures during a ban are not counted; after it the count starts from zero") {
  BanTable table(blocking_config());
  const Address client = ip("192.0.2.7");
  REQUIRE(fail(table, client, t0, 3));
  CHECK_FALSE(fail(table, client, t0 + 1min, 5));
  CHECK(table.failures(client, t0 + 2min) == 0);
  const TimePoint after = t0 + 2s + 1h;
  CHECK_FALSE(table.ban_for(client, after));
  CHECK_FALSE(table.record_failure(client, after));
  CHECK(table.failures(client, after) == 1);
}

TEST_CASE("ban table: repeat bans double up to max_ban") {
  BanTable table(blocking_config());
  const Address client = ip("198.51.100.1");
  TimePoint now = t0;
  const std::vector<std::chrono::seconds> expected = {1h, 2h, 4h, 8h, 8h, 8h};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO("ban " << i + 1);
    const auto ban = fail(table, client, now, 3);
    REQUIRE(ban);
    CHECK(ban->duration == expected[i]);
    CHECK(ban->level == i + 1);
    now = ban->until + 1min;  // back shortly after the ban ends
  }
}

TEST_CASE("ban table: the repeat level is forgotten after max_ban unbanned") {
  BanTable table(blocking_config());
  const Address client = ip("198.51.100.1");
  const auto first = fail(table, client, t0, 3);
  REQUIRE(first);
  const auto second = fail(table, client, first->until + 8h - 10s, 3);  // just before it is forgotten
  REQUIRE(second);
  CHECK(second->duration == 2h);
  CHECK(second->level == 2);
  const auto third = fail(table, client, second->until + 8h, 3);  // unbanned for exactly max_ban
  REQUIRE(third);
  CHECK(third->duration == 1h);
  CHECK(third->level == 1);
}

TEST_CASE("ban table: addresses in the allow list are never counted or banned") {
  auto config = blocking_config();
  config.allow = {test::block("127.0.0.0/8"), test::block("::1"), test::block("2001:db8:aa::/48")};
  BanTable table(config);
  for (const char* text : {"127.0.0.1", "::ffff:127.0.0.9", "::1", "2001:db8:aa:1::5"}) {
    INFO(text);
    CHECK_FALSE(fail(table, ip(text), t0, 10));
    CHECK(table.failures(ip(text), t0 + 10s) == 0);
    CHECK_FALSE(table.ban_for(ip(text), t0 + 10s));
  }
  CHECK(table.size() == 0);
  CHECK(fail(table, ip("128.0.0.1"), t0, 3));
}

TEST_CASE("ban table: IPv6 clients are counted and banned by their /64") {
  BanTable table(blocking_config());
  CHECK_FALSE(table.record_failure(ip("2001:db8:1:2::1"), t0));
  CHECK_FALSE(table.record_failure(ip("2001:db8:1:2::2"), t0 + 1s));
  CHECK_FALSE(table.record_failure(ip("2001:db8:1:3::1"), t0 + 2s));  // another /64
  const auto ban = table.record_failure(ip("2001:db8:1:2:ffff::3"), t0 + 3s);
  REQUIRE(ban);
  CHECK(ban->key == "2001:db8:1:2::/64");
  CHECK(table.ban_for(ip("2001:db8:1:2::abcd"), t0 + 4s));
  CHECK_FALSE(table.ban_for(ip("2001:db8:1:3::1"), t0 + 4s));
}

TEST_CASE("ban table: key prefixes from the config group IPv4 clients too") {
  auto config = blocking_config();
  config.ipv4_prefix = 24;
  BanTable table(config);
  table.record_failure(ip("192.0.2.1"), t0);
  table.record_failure(ip("192.0.2.2"), t0);
  const auto ban = table.record_failure(ip("192.0.2.3"), t0);
  REQUIRE(ban);
  CHECK(ban->key == "192.0.2.0/24");
  CHECK(table.ban_for(ip("192.0.2.200"), t0));
  CHECK(table.prefixes().ipv4 == 24);
}

TEST_CASE("ban table: unban by address or key forgets failures, the ban and its level") {
  BanTable table(blocking_config());
  const Address v4 = ip("192.0.2.7");
  REQUIRE(fail(table, v4, t0, 3));
  CHECK(table.unban("192.0.2.7", t0 + 1min));
  CHECK_FALSE(table.ban_for(v4, t0 + 1min));
  const auto again = fail(table, v4, t0 + 2min, 3);
  REQUIRE(again);
  CHECK(again->level == 1);  // the level went with the ban
  CHECK(again->duration == 1h);
  CHECK(table.unban(v4, t0 + 3min));
  CHECK_FALSE(table.unban(v4, t0 + 3min));  // nothing left

  const Address v6 = ip("2001:db8:1:2::1");
  REQUIRE(fail(table, v6, t0, 3));
  CHECK(table.unban("2001:DB8:1:2::/64", t0 + 1min));
  CHECK_FALSE(table.ban_for(v6, t0 + 1min));
  REQUIRE(fail(table, v6, t0, 3));
  CHECK(table.unban("2001:db8:1:2::99", t0 + 1min));  // any address of the /64

  table.record_failure(v4, t0);
  CHECK(table.unban("192.0.2.7", t0 + 1s));  // failures only: forgotten too
  CHECK(table.failures(v4, t0 + 2s) == 0);
  CHECK_FALSE(table.unban("192.0.2.99", t0));
  CHECK_FALSE(table.unban("not an address", t0));
  CHECK_FALSE(table.unban("2001:db8::/32", t0));
}

TEST_CASE("ban table: list shows bans in force, earliest end first, then by key") {
  BanTable table(blocking_config());
  REQUIRE(fail(table, ip("192.0.2.2"), t0, 3));
  REQUIRE(fail(table, ip("192.0.2.1"), t0, 3));
  REQUIRE(fail(table, ip("2001:db8::1"), t0 - 30min, 3));
  table.record_failure(ip("192.0.2.3"), t0);  // failing, not banned
  const auto bans = table.list(t0 + 1min);
  REQUIRE(bans.size() == 3);
  CHECK(bans[0].key == "2001:db8::/64");
  CHECK(bans[1].key == "192.0.2.1");
  CHECK(bans[2].key == "192.0.2.2");
  CHECK(bans[1].until == bans[2].until);
  CHECK(table.list(t0 + 2s + 1h).empty());
}

TEST_CASE("ban table: restore brings back bans in force with their level, skipping the rest") {
  auto config = blocking_config();
  config.allow = {test::block("10.0.0.0/8")};
  BanTable table(config);
  const std::vector<Ban> saved = {
      {"192.0.2.7", 3, t0 + 30min, 2h, 2},            // restored
      {"2001:db8:1:2::/64", 5, t0 + 1h, 1h, 1},        // restored
      {"192.0.2.8", 3, t0 - 1s, 1h, 1},               // already over
      {"192.0.2.0/24", 3, t0 + 1h, 1h, 1},            // not a key of /32 prefixes
      {"2001:db8:1:2::1", 3, t0 + 1h, 1h, 1},         // not a key of /64 prefixes
      {"10.1.2.3", 3, t0 + 1h, 1h, 1},                // allowed now
      {"garbage", 3, t0 + 1h, 1h, 1},
  };
  CHECK(table.restore(saved, t0) == 2);
  const auto bans = table.list(t0);
  REQUIRE(bans.size() == 2);
  CHECK(bans[0] == saved[0]);
  CHECK(bans[1] == saved[1]);
  CHECK(table.ban_for(ip("192.0.2.7"), t0));
  CHECK(table.ban_for(ip("2001:db8:1:2::77"), t0));
  // Escalation continues from the restored level: 2h doubles to 4h.
  const auto next = fail(table, ip("192.0.2.7"), t0 + 31min, 3);
  REQUIRE(next);
  CHECK(next->duration == 4h);
  CHECK(next->level == 3);
}

TEST_CASE("ban table: configure changes the limits and keeps what was counted") {
  BanTable table(blocking_config());
  const Address client = ip("192.0.2.7");
  fail(table, client, t0, 2);
  auto stricter = blocking_config();
  stricter.max_failures = 5;
  stricter.ban = 10min;
  table.configure(stricter);
  CHECK(table.failures(client, t0 + 5s) == 2);
  CHECK_FALSE(fail(table, client, t0 + 5s, 2));
  const auto ban = table.record_failure(client, t0 + 10s);
  REQUIRE(ban);
  CHECK(ban->failures == 5);
  CHECK(ban->duration == 10min);
}

TEST_CASE("ban table: old failures and forgotten keys are pruned") {
  BanTable table(blocking_config());
  for (int i = 0; i < 50; ++i) table.record_failure(ip("198.51.100." + std::to_string(i)), t0);
  REQUIRE(fail(table, ip("192.0.2.7"), t0, 3));
  CHECK(table.size() == 51);
  table.prune(t0 + 10min);  // the single failures left the window; the ban is in force
  CHECK(table.size() == 1);
  table.prune(t0 + 2s + 1h + 8h - 1s);  // ban over, level still remembered
  CHECK(table.size() == 1);
  table.prune(t0 + 2s + 1h + 8h);
  CHECK(table.size() == 0);
}

TEST_CASE("ban table: the table sweeps itself as time passes, without prune()") {
  BanTable table(blocking_config());
  for (int i = 0; i < 50; ++i) table.record_failure(ip("198.51.100." + std::to_string(i)), t0);
  CHECK(table.size() == 50);
  table.record_failure(ip("192.0.2.1"), t0 + 11min);
  CHECK(table.size() == 1);
}

TEST_CASE("ban table: beyond max_keys the least recently touched key is dropped") {
  BanTable table(blocking_config(), 10);
  for (int i = 0; i < 25; ++i) table.record_failure(ip("198.51.100." + std::to_string(i)), t0 + std::chrono::seconds(i));
  CHECK(table.size() == 10);
  CHECK(table.failures(ip("198.51.100.24"), t0 + 30s) == 1);
  CHECK(table.failures(ip("198.51.100.15"), t0 + 30s) == 1);
  CHECK(table.failures(ip("198.51.100.14"), t0 + 30s) == 0);
  // Touching a key keeps it: .15 fails again, then a new key drops .16, not .15.
  table.record_failure(ip("198.51.100.15"), t0 + 31s);
  table.record_failure(ip("203.0.113.1"), t0 + 32s);
  CHECK(table.size() == 10);
  CHECK(table.failures(ip("198.51.100.15"), t0 + 33s) == 2);
  CHECK(table.failures(ip("198.51.100.16"), t0 + 33s) == 0);
}
