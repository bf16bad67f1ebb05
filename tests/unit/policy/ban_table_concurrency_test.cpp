// Counts stay exact when many threads report failures at once.
#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "policy/ban_table.hpp"
#include "policy_test_support.hpp"

using namespace vhm::policy;
using namespace std::chrono_literals;
using test::t0;

namespace {

constexpr int threads = 8;
constexpr int failures_per_thread = 25;
// Built directly: test::ip() uses Catch assertions, unusable during static init.
const std::vector<Address> clients = {
    boost::asio::ip::make_address("192.0.2.1"), boost::asio::ip::make_address("192.0.2.2"),
    boost::asio::ip::make_address("2001:db8:1:2::1"), boost::asio::ip::make_address("2001:db8:1:3::1")};

// Runs 8 threads x 25 failures spread evenly over the 4 clients (50 each),
// while other calls read the table; returns every ban started.
std::vector<Ban> hammer(BanTable& table) {
  std::vector<std::vector<Ban>> started(threads);
  std::atomic<bool> go{false};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < failures_per_thread; ++i) {
        const Address& client = clients[static_cast<std::size_t>(t * failures_per_thread + i) % clients.size()];
        const TimePoint now = t0 + std::chrono::milliseconds(i);
        if (auto ban = table.record_failure(client, now)) started[static_cast<std::size_t>(t)].push_back(*ban);
        (void)table.ban_for(client, now);
        if (i % 5 == 0) (void)table.list(now);
      }
    });
  }
  go = true;
  for (auto& worker : workers) worker.join();
  std::vector<Ban> all;
  for (const auto& bans : started) all.insert(all.end(), bans.begin(), bans.end());
  return all;
}

}  // namespace

TEST_CASE("ban table concurrency: 8 threads x 25 failures count every failure exactly") {
  auto config = test::blocking_config();
  config.max_failures = 1000;
  BanTable table(config);
  CHECK(hammer(table).empty());
  for (const Address& client : clients) {
    INFO(client.to_string());
    CHECK(table.failures(client, t0 + 1s) == threads * failures_per_thread / clients.size());
  }
}

TEST_CASE("ban table concurrency: a limit equal to the total starts exactly one ban per key") {
  auto config = test::blocking_config();
  config.max_failures = threads * failures_per_thread / clients.size();  // 50
  BanTable table(config);
  const auto bans = hammer(table);
  REQUIRE(bans.size() == clients.size());
  std::set<std::string> keys;
  for (const Ban& ban : bans) {
    CHECK(ban.failures == 50);
    CHECK(ban.level == 1);
    keys.insert(ban.key);
  }
  CHECK(keys == std::set<std::string>{"192.0.2.1", "192.0.2.2", "2001:db8:1:2::/64", "2001:db8:1:3::/64"});
  CHECK(table.list(t0 + 1s).size() == clients.size());
}
