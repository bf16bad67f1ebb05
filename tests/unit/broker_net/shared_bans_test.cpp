// broker/shared_bans.hpp against a real redis-server: two "proxies" (a
// SharedBans and a BanTable each) on one io_context share bans within a
// round trip; Redis killed: each counts alone; Redis back: local bans merge
// (the longer wins) and an operator's unban is not undone by a proxy that
// was away. The Lua scripts run for real here.
#include <catch2/catch.hpp>

#include <functional>
#include <memory>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "broker/redis_client.hpp"
#include "broker/shared_bans.hpp"
#include "broker/shared_bans_logic.hpp"
#include "redis_server_process.hpp"

namespace vhm::broker::shared_bans_net_test {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::RedisServerProcess;

conf::BlockingConfig sb_blocking(std::uint16_t port) {
  conf::BlockingConfig blocking;
  blocking.max_failures = 5;
  blocking.window = 10min;
  blocking.ban = 1h;
  blocking.max_ban = 8h;
  conf::RedisConfig redis;
  redis.addresses.push_back({"127.0.0.1", port, false, 0});
  redis.connect_timeout = 500ms;
  redis.command_timeout = 1000ms;
  blocking.shared = redis;
  return blocking;
}

policy::Address sb_ip(const char* text) { return asio::ip::make_address(text); }

// Runs the io_context until `done` or the limit; false on the limit.
bool sb_run_until(asio::io_context& io, const std::function<bool()>& done, std::chrono::milliseconds limit = 5s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_for(5ms);
  }
  return true;
}

// ZCARD of `key`, read now (-1 on an error).
long long sb_count(asio::io_context& io, RedisClient& client, const std::string& key) {
  std::optional<long long> count;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        boost::system::error_code ec;
        Command zcard{"ZCARD", key};
        auto reply = co_await client.command(std::move(zcard), ec);
        count = ec ? -1 : reply.integer;
      },
      asio::detached);
  sb_run_until(io, [&] { return count.has_value(); });
  return count.value_or(-1);
}

// One proxy's side: its table, its shared bans, the bans it announced.
struct SbProxy {
  SbProxy(asio::io_context& io, const conf::BlockingConfig& blocking, const std::vector<policy::Ban>& state = {})
      : table(blocking) {
    table.restore(state, policy::Clock::now());
    shared = std::make_unique<SharedBans>(io.get_executor(), *blocking.shared, blocking, table, [this] { ++changes; });
    shared->start();
  }
  ~SbProxy() { shared->stop(); }

  void fail(const char* address, int times = 1) {
    for (int i = 0; i < times; ++i)
      shared->record_failure(sb_ip(address), [this](const policy::Ban& ban) { started.push_back(ban); });
  }
  bool banned(const char* address) { return table.ban_for(sb_ip(address), policy::Clock::now()).has_value(); }

  policy::BanTable table;
  std::unique_ptr<SharedBans> shared;
  std::vector<policy::Ban> started;
  int changes = 0;
};

// A ban with `left` to run of `duration` (it started duration - left ago).
policy::Ban sb_ban(const char* key, std::chrono::seconds left, std::chrono::seconds duration, unsigned level = 1) {
  policy::Ban ban;
  ban.key = key;
  ban.until = std::chrono::floor<std::chrono::milliseconds>(policy::Clock::now() + left);
  ban.duration = duration;
  ban.level = level;
  ban.failures = 5;
  return ban;
}

TEST_CASE("shared bans: five failures through one proxy ban on both; an unban lifts on both") {
  RedisServerProcess server;
  asio::io_context io;
  const auto blocking = sb_blocking(server.port());
  SbProxy a(io, blocking), b(io, blocking);
  REQUIRE(sb_run_until(io, [&] { return a.shared->up() && b.shared->up(); }));

  a.fail("192.0.2.7", 3);
  b.fail("192.0.2.7", 1);  // counted together: one window for the fleet
  RedisClient probe(io.get_executor(), *blocking.shared, "test");
  REQUIRE(sb_run_until(io, [&] { return sb_count(io, probe, shared_bans::failures_key("192.0.2.7")) == 4; }));
  CHECK(a.started.empty());
  a.fail("192.0.2.7", 1);
  REQUIRE(sb_run_until(io, [&] { return a.banned("192.0.2.7") && b.banned("192.0.2.7"); }));
  // Announced once, by the proxy whose failure started it.
  REQUIRE(a.started.size() == 1);
  CHECK(b.started.empty());
  CHECK(a.started[0].failures == 5);
  CHECK(a.started[0].level == 1);
  CHECK(a.started[0].duration == 1h);
  CHECK(b.table.list(policy::Clock::now()).at(0) == a.started[0]);
  CHECK(b.changes > 0);  // b's state file would be saved
  CHECK_FALSE(a.banned("192.0.2.8"));

  CHECK(b.shared->unban("192.0.2.7"));
  CHECK_FALSE(b.banned("192.0.2.7"));
  REQUIRE(sb_run_until(io, [&] { return !a.banned("192.0.2.7"); }));
  CHECK_FALSE(b.shared->unban("not an address"));
}

TEST_CASE("shared bans: a repeat offender escalates across proxies") {
  RedisServerProcess server;
  asio::io_context io;
  auto blocking = sb_blocking(server.port());
  blocking.ban = 1s;
  blocking.max_ban = 1h;
  SbProxy a(io, blocking), b(io, blocking);
  REQUIRE(sb_run_until(io, [&] { return a.shared->up() && b.shared->up(); }));
  a.fail("198.51.100.1", 5);
  REQUIRE(sb_run_until(io, [&] { return b.banned("198.51.100.1"); }));
  // Failures while banned are not counted (nor announced).
  b.fail("198.51.100.1", 5);
  REQUIRE(sb_run_until(io, [&] { return !a.banned("198.51.100.1") && !b.banned("198.51.100.1"); }, 3s));
  CHECK(b.started.empty());
  b.fail("198.51.100.1", 5);
  REQUIRE(sb_run_until(io, [&] { return !b.started.empty() && a.banned("198.51.100.1"); }));
  CHECK(b.started[0].level == 2);
  CHECK(b.started[0].duration == 2s);
  CHECK(a.started.size() == 1);
}

TEST_CASE("shared bans: Redis down, each proxy bans alone; back, the bans merge") {
  RedisServerProcess server;
  asio::io_context io;
  const auto blocking = sb_blocking(server.port());
  SbProxy a(io, blocking), b(io, blocking);
  REQUIRE(sb_run_until(io, [&] { return a.shared->up() && b.shared->up(); }));
  a.fail("203.0.113.5", 5);
  REQUIRE(sb_run_until(io, [&] { return b.banned("203.0.113.5"); }));

  server.kill();
  REQUIRE(sb_run_until(io, [&] { return !a.shared->up() && !b.shared->up(); }));
  a.fail("203.0.113.9", 5);  // at once, in a's table alone
  REQUIRE(a.started.size() == 2);
  CHECK(a.banned("203.0.113.9"));
  CHECK_FALSE(b.banned("203.0.113.9"));
  CHECK(b.shared->unban("203.0.113.5"));  // lifted in Redis once it is back
  CHECK(a.banned("203.0.113.5"));

  server.start();  // empty: no persistence
  REQUIRE(sb_run_until(io, [&] { return a.shared->up() && b.shared->up(); }, 8s));
  REQUIRE(sb_run_until(io, [&] { return b.banned("203.0.113.9") && !a.banned("203.0.113.5"); }));
  CHECK(a.started.size() == 2);  // announced once, while Redis was down
  CHECK(b.started.empty());
}

TEST_CASE("shared bans: the longer ban wins a merge; an unban made while a proxy was away stays") {
  RedisServerProcess server;
  asio::io_context io;
  const auto blocking = sb_blocking(server.port());
  SbProxy a(io, blocking);
  REQUIRE(sb_run_until(io, [&] { return a.shared->up(); }));
  a.fail("192.0.2.50", 5);  // 1 h in Redis
  a.fail("192.0.2.60", 5);
  REQUIRE(sb_run_until(io, [&] { return a.banned("192.0.2.50") && a.banned("192.0.2.60"); }));
  CHECK(a.shared->unban("192.0.2.60"));

  // b comes with bans from its state file: a longer one, and one that the
  // operator lifted above (it started before the unban).
  const auto longer = sb_ban("192.0.2.50", 2h, 2h, 2);
  const auto lifted = sb_ban("192.0.2.60", 50min, 1h);
  const auto own = sb_ban("192.0.2.70", 30min, 30min);
  SbProxy b(io, blocking, {longer, lifted, own});
  REQUIRE(sb_run_until(io, [&] { return b.shared->up(); }));
  REQUIRE(sb_run_until(io, [&] {
    const auto ban = a.table.ban_for(sb_ip("192.0.2.50"), policy::Clock::now());
    return ban && ban->until == longer.until && a.banned("192.0.2.70");
  }));
  CHECK_FALSE(b.banned("192.0.2.60"));
  CHECK_FALSE(a.banned("192.0.2.60"));
  CHECK(b.started.empty());  // merged, never announced again
}

}  // namespace vhm::broker::shared_bans_net_test
