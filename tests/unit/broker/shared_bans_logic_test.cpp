// broker/shared_bans_logic.hpp: key names, the change messages every proxy
// reads from pub/sub, and the script replies decoded into bans.
#include <catch2/catch.hpp>

#include "broker/shared_bans_logic.hpp"

// Inside the namespace under test (no using-directive leaks into the unity batch).
namespace vhm::broker::shared_bans::logic_test {

using policy::Ban;

RedisReply sb_integer(long long value) {
  RedisReply reply;
  reply.type = RedisReply::Type::integer;
  reply.integer = value;
  return reply;
}

RedisReply sb_bulk(std::string text) {
  RedisReply reply;
  reply.type = RedisReply::Type::string;
  reply.text = std::move(text);
  return reply;
}

RedisReply sb_array(std::vector<RedisReply> elements) {
  RedisReply reply;
  reply.type = RedisReply::Type::array;
  reply.elements = std::move(elements);
  return reply;
}

Ban sb_sample_ban() {
  Ban ban;
  ban.key = "2001:db8:1:2::/64";
  ban.until = from_unix_ms(1'795'436'682'617);
  ban.duration = std::chrono::seconds(7200);
  ban.level = 2;
  ban.failures = 5;
  return ban;
}

TEST_CASE("shared bans: key names share one prefix and give the client key back") {
  CHECK(ban_key("192.0.2.7") == "vnc-hooks-manager:bans:ban:192.0.2.7");
  CHECK(failures_key("192.0.2.7") == "vnc-hooks-manager:bans:failures:192.0.2.7");
  CHECK(unbanned_key("192.0.2.0/24") == "vnc-hooks-manager:bans:unbanned:192.0.2.0/24");
  CHECK(ban_key_pattern() == "vnc-hooks-manager:bans:ban:*");
  CHECK(client_key_of(ban_key("2001:db8::/64")) == "2001:db8::/64");
  CHECK_FALSE(client_key_of(failures_key("192.0.2.7")));
  CHECK_FALSE(client_key_of("vnc-hooks-manager:bans:ban:"));
  CHECK_FALSE(client_key_of("other:ban:192.0.2.7"));
  CHECK_FALSE(client_key_of("vnc-hooks-manager:bans:ban:has space"));
  // Pub/sub ignores SELECT: the channel names the database.
  CHECK(channel(0) == "vnc-hooks-manager:bans:changes:0");
  CHECK(channel(3) != channel(0));
}

TEST_CASE("shared bans: ban and unban messages survive a round trip") {
  Change ban{Change::Kind::ban, "host-a/123/42", sb_sample_ban()};
  const auto text = format_change(ban);
  CHECK(text == "ban host-a/123/42 2001:db8:1:2::/64 1795436682617 7200 2 5");
  CHECK(parse_change(text) == ban);

  Change unban{Change::Kind::unban, "host-b/9/1", Ban{}};
  unban.ban.key = "192.0.2.7";
  CHECK(format_change(unban) == "unban host-b/9/1 192.0.2.7");
  CHECK(parse_change(format_change(unban)) == unban);
}

TEST_CASE("shared bans: malformed messages are refused, not guessed") {
  for (const char* text : {"", "ban", "ban a", "ban a k 1 2 3", "ban a k 1 2 3 4 5", "ban a k x 2 3 4",
                           "ban a k 1795436682617 0 1 5", "ban a k 1795436682617 60 0 5", "ban a k 1795436682617 60 65 5",
                           "ban a k 10413792000000 60 1 5" /* 2300: past what the state file takes */,
                           "ban a k -5 60 1 5", "ban a k 1795436682617 60 1 -1", "ban a k 1795436682617 60 1 99999999999",
                           "ban a k 99999999999999999 60 1 5", "ban  k 1795436682617 60 1 5", "unban a", "unban a k extra",
                           "unban a k\x01", "lift a k", "ban a k 1795436682617 60 1 5 ", " unban a k"}) {
    INFO(text);
    CHECK_FALSE(parse_change(text));
  }
}

TEST_CASE("shared bans: ban ends are taken up to what the state file takes (2116)") {
  CHECK(parse_change("ban a k 4102444800000 60 1 5"));  // 2100
  CHECK(parse_change("ban a k 1795436682617 60 64 5"));
}

TEST_CASE("shared bans: the failure script's replies") {
  SECTION("still counting") {
    const auto outcome = failure_outcome("192.0.2.7", sb_array({sb_integer(3)}));
    REQUIRE(outcome);
    CHECK_FALSE(outcome->ban);
    CHECK_FALSE(outcome->started);
  }
  SECTION("this failure started a ban") {
    const auto outcome = failure_outcome(
        "192.0.2.7", sb_array({sb_integer(1), sb_integer(1'795'436'682'617), sb_integer(3600), sb_integer(1), sb_integer(5)}));
    REQUIRE(outcome);
    REQUIRE(outcome->ban);
    CHECK(outcome->started);
    CHECK(outcome->ban->key == "192.0.2.7");
    CHECK(to_unix_ms(outcome->ban->until) == 1'795'436'682'617);
    CHECK(outcome->ban->duration == std::chrono::seconds(3600));
    CHECK(outcome->ban->level == 1);
    CHECK(outcome->ban->failures == 5);
  }
  SECTION("banned already (by another proxy): learned, not started") {
    const auto outcome = failure_outcome(
        "192.0.2.7", sb_array({sb_integer(0), sb_integer(1'795'436'682'617), sb_integer(7200), sb_integer(2), sb_integer(5)}));
    REQUIRE(outcome);
    REQUIRE(outcome->ban);
    CHECK_FALSE(outcome->started);
    CHECK(outcome->ban->level == 2);
  }
  SECTION("anything else") {
    CHECK_FALSE(failure_outcome("k", sb_integer(1)));
    CHECK_FALSE(failure_outcome("k", sb_array({})));
    CHECK_FALSE(failure_outcome("k", sb_array({sb_bulk("x")})));
    CHECK_FALSE(failure_outcome("k", sb_array({sb_integer(2), sb_integer(1), sb_integer(1), sb_integer(1), sb_integer(1)})));
    CHECK_FALSE(failure_outcome("k", sb_array({sb_integer(1), sb_integer(1), sb_integer(0), sb_integer(1), sb_integer(1)})));
    CHECK_FALSE(failure_outcome("k", sb_array({sb_integer(1), sb_integer(1), sb_integer(1)})));
  }
}

TEST_CASE("shared bans: a ban hash's fields, and the merge verdicts") {
  const auto ban = ban_from_fields("192.0.2.7", sb_array({sb_bulk("1795436682617"), sb_bulk("3600"), sb_bulk("1"), sb_bulk("5")}));
  REQUIRE(ban);
  CHECK(to_unix_ms(ban->until) == 1'795'436'682'617);
  CHECK(ban->duration == std::chrono::seconds(3600));
  // A hash that expired between SCAN and HMGET: every field nil.
  CHECK_FALSE(ban_from_fields("192.0.2.7", sb_array({RedisReply{}, RedisReply{}, RedisReply{}, RedisReply{}})));
  CHECK_FALSE(ban_from_fields("192.0.2.7", sb_array({sb_bulk("1e12"), sb_bulk("3600"), sb_bulk("1"), sb_bulk("5")})));

  CHECK(merge_verdict(sb_integer(1)) == MergeVerdict::written);
  CHECK(merge_verdict(sb_integer(0)) == MergeVerdict::kept);
  CHECK(merge_verdict(sb_integer(-1)) == MergeVerdict::unbanned);
  CHECK(merge_verdict(sb_integer(2)) == MergeVerdict::invalid);
  CHECK(merge_verdict(sb_bulk("1")) == MergeVerdict::invalid);
}

TEST_CASE("shared bans: script settings follow BanTable's (max_ban never below ban, at least one failure)") {
  conf::BlockingConfig config;
  config.max_failures = 0;
  config.window = std::chrono::seconds(30);
  config.ban = std::chrono::seconds(600);
  config.max_ban = std::chrono::seconds(60);
  const auto settings = script_settings(config);
  CHECK(settings.max_failures == 1);
  CHECK(settings.window == std::chrono::milliseconds(30'000));
  CHECK(settings.ban == std::chrono::seconds(600));
  CHECK(settings.max_ban == std::chrono::seconds(600));
  CHECK(from_unix_ms(to_unix_ms(sb_sample_ban().until)) == sb_sample_ban().until);
}

}  // namespace vhm::broker::shared_bans::logic_test
