#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "policy/connection_limits.hpp"
#include "policy_test_support.hpp"

using namespace vhm::policy;
using namespace std::chrono_literals;
using test::block;
using test::ip;
using test::t0;
using Decision = ConnectionLimits::Decision;

namespace {

vhm::conf::ListenerConfig listener() { return vhm::conf::ListenerConfig{}; }

}  // namespace

TEST_CASE("connection limits: without lists or limits every client is admitted") {
  ConnectionLimits limits(listener());
  for (int i = 0; i < 100; ++i) CHECK(limits.admit(ip("192.0.2.7"), t0) == Decision::ok);
  CHECK(limits.sessions() == 100);
  CHECK(limits.sessions_of(ip("192.0.2.7")) == 100);
}

TEST_CASE("connection limits: a non-empty allow list admits only its blocks") {
  auto config = listener();
  config.allow = {block("10.0.0.0/8"), block("2001:db8::/32")};
  ConnectionLimits limits(config);
  CHECK(limits.admit(ip("10.1.2.3"), t0) == Decision::ok);
  CHECK(limits.admit(ip("::ffff:10.1.2.3"), t0) == Decision::ok);
  CHECK(limits.admit(ip("2001:db8::1"), t0) == Decision::ok);
  CHECK(limits.admit(ip("192.0.2.7"), t0) == Decision::denied);
  CHECK(limits.admit(ip("2001:db9::1"), t0) == Decision::denied);
  CHECK(limits.sessions() == 3);  // refusals count nothing
}

TEST_CASE("connection limits: deny wins over allow, and works without an allow list") {
  auto config = listener();
  config.allow = {block("10.0.0.0/8")};
  config.deny = {block("10.0.9.0/24")};
  ConnectionLimits limits(config);
  CHECK(limits.admit(ip("10.0.8.1"), t0) == Decision::ok);
  CHECK(limits.admit(ip("10.0.9.1"), t0) == Decision::denied);
  auto deny_only = listener();
  deny_only.deny = {block("192.0.2.0/24"), block("::1")};
  ConnectionLimits open(deny_only);
  CHECK(open.admit(ip("192.0.2.99"), t0) == Decision::denied);
  CHECK(open.admit(ip("::ffff:192.0.2.99"), t0) == Decision::denied);
  CHECK(open.admit(ip("::1"), t0) == Decision::denied);
  CHECK(open.admit(ip("198.51.100.1"), t0) == Decision::ok);
}

TEST_CASE("connection limits: max_sessions caps concurrent sessions; an ended session frees a place") {
  auto config = listener();
  config.max_sessions = 2;
  ConnectionLimits limits(config);
  CHECK(limits.admit(ip("192.0.2.1"), t0) == Decision::ok);
  CHECK(limits.admit(ip("192.0.2.2"), t0) == Decision::ok);
  CHECK(limits.admit(ip("192.0.2.3"), t0) == Decision::session_limit);
  limits.session_ended(ip("192.0.2.1"));
  CHECK(limits.sessions() == 1);
  CHECK(limits.admit(ip("192.0.2.3"), t0) == Decision::ok);
  CHECK(limits.admit(ip("192.0.2.4"), t0) == Decision::session_limit);
}

TEST_CASE("connection limits: max_sessions_per_ip caps one address, not others") {
  auto config = listener();
  config.max_sessions_per_ip = 2;
  ConnectionLimits limits(config);
  CHECK(limits.admit(ip("192.0.2.1"), t0) == Decision::ok);
  CHECK(limits.admit(ip("::ffff:192.0.2.1"), t0) == Decision::ok);  // the same client
  CHECK(limits.admit(ip("192.0.2.1"), t0) == Decision::per_ip_limit);
  CHECK(limits.admit(ip("192.0.2.2"), t0) == Decision::ok);
  CHECK(limits.sessions_of(ip("192.0.2.1")) == 2);
  limits.session_ended(ip("::ffff:192.0.2.1"));
  CHECK(limits.admit(ip("192.0.2.1"), t0) == Decision::ok);
}

TEST_CASE("connection limits: max_connects_per_minute is a sliding 60 s window per address") {
  auto config = listener();
  config.max_connects_per_minute = 3;
  ConnectionLimits limits(config);
  const Address client = ip("192.0.2.1");
  CHECK(limits.admit(client, t0) == Decision::ok);
  CHECK(limits.admit(client, t0 + 20s) == Decision::ok);
  CHECK(limits.admit(client, t0 + 40s) == Decision::ok);
  limits.session_ended(client);  // ending sessions does not refill the window
  CHECK(limits.admit(client, t0 + 59s) == Decision::rate_limit);
  CHECK(limits.admit(ip("192.0.2.2"), t0 + 59s) == Decision::ok);
  CHECK(limits.admit(client, t0 + 60s) == Decision::ok);  // the first connect left the window
  CHECK(limits.admit(client, t0 + 61s) == Decision::rate_limit);
  // Refused attempts do not count: after the window slides, it is admitted.
  CHECK(limits.admit(client, t0 + 80s) == Decision::ok);
}

TEST_CASE("connection limits: checks run in order denied, per_ip_limit, rate_limit, session_limit") {
  auto config = listener();
  config.deny = {block("192.0.2.66")};
  config.max_sessions = 2;
  config.max_sessions_per_ip = 1;
  config.max_connects_per_minute = 1;
  ConnectionLimits limits(config);
  CHECK(limits.admit(ip("192.0.2.1"), t0) == Decision::ok);
  CHECK(limits.admit(ip("192.0.2.1"), t0) == Decision::per_ip_limit);
  limits.session_ended(ip("192.0.2.1"));
  CHECK(limits.admit(ip("192.0.2.1"), t0) == Decision::rate_limit);
  CHECK(limits.admit(ip("192.0.2.2"), t0) == Decision::ok);
  CHECK(limits.admit(ip("192.0.2.3"), t0) == Decision::ok);
  CHECK(limits.admit(ip("192.0.2.4"), t0) == Decision::session_limit);
  CHECK(limits.admit(ip("192.0.2.66"), t0) == Decision::denied);
}

TEST_CASE("connection limits: session_ended for an unknown address is ignored, counts never underflow") {
  ConnectionLimits limits(listener());
  limits.session_ended(ip("192.0.2.1"));
  CHECK(limits.sessions() == 0);
  CHECK(limits.admit(ip("192.0.2.1"), t0) == Decision::ok);
  limits.session_ended(ip("192.0.2.1"));
  limits.session_ended(ip("192.0.2.1"));
  CHECK(limits.sessions() == 0);
  CHECK(limits.sessions_of(ip("192.0.2.1")) == 0);
}

TEST_CASE("connection limits: idle addresses are forgotten, so memory stays bounded") {
  auto config = listener();
  config.max_connects_per_minute = 5;
  ConnectionLimits limits(config);
  for (int i = 0; i < 200; ++i) {
    const Address client = ip("198.51.100." + std::to_string(i % 250));
    REQUIRE(limits.admit(client, t0) == Decision::ok);
    limits.session_ended(client);
  }
  CHECK(limits.tracked_addresses() == 200);  // their connects are still in the window
  CHECK(limits.admit(ip("192.0.2.1"), t0 + 61s) == Decision::ok);
  CHECK(limits.tracked_addresses() == 1);
  limits.session_ended(ip("192.0.2.1"));
  // Without a rate limit nothing is kept once a session ends.
  ConnectionLimits plain(listener());
  REQUIRE(plain.admit(ip("192.0.2.1"), t0) == Decision::ok);
  CHECK(plain.tracked_addresses() == 1);
  plain.session_ended(ip("192.0.2.1"));
  CHECK(plain.tracked_addresses() == 0);
}

TEST_CASE("connection limits: beyond max_addresses the oldest idle address is dropped, never one with sessions") {
  auto config = listener();
  config.max_connects_per_minute = 1;
  ConnectionLimits limits(config, 3);
  REQUIRE(limits.admit(ip("192.0.2.1"), t0) == Decision::ok);  // keeps its session
  for (int i = 2; i <= 6; ++i) {
    const Address client = ip("192.0.2." + std::to_string(i));
    REQUIRE(limits.admit(client, t0 + std::chrono::seconds(i)) == Decision::ok);
    limits.session_ended(client);
  }
  CHECK(limits.tracked_addresses() == 3);
  CHECK(limits.sessions_of(ip("192.0.2.1")) == 1);
  CHECK(limits.admit(ip("192.0.2.6"), t0 + 10s) == Decision::rate_limit);  // recent: still known
  CHECK(limits.admit(ip("192.0.2.2"), t0 + 10s) == Decision::ok);          // dropped: forgotten
}

TEST_CASE("connection limits: configure swaps lists and limits and keeps running sessions") {
  auto config = listener();
  ConnectionLimits limits(config);
  REQUIRE(limits.admit(ip("192.0.2.1"), t0) == Decision::ok);
  REQUIRE(limits.admit(ip("192.0.2.2"), t0) == Decision::ok);
  config.max_sessions = 2;
  config.deny = {block("203.0.113.0/24")};
  limits.configure(config);
  CHECK(limits.sessions() == 2);
  CHECK(limits.admit(ip("192.0.2.3"), t0) == Decision::session_limit);
  CHECK(limits.admit(ip("203.0.113.5"), t0) == Decision::denied);
}

TEST_CASE("connection limits: concurrent admits never overshoot max_sessions") {
  auto config = listener();
  config.max_sessions = 37;
  ConnectionLimits limits(config);
  // Addresses are made up front: Catch's assertions (inside test::ip) are not thread-safe.
  std::vector<Address> addresses;
  for (int i = 0; i < 200; ++i) addresses.push_back(ip("192.0.2." + std::to_string(i)));
  std::atomic<int> admitted{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> workers;
  for (int t = 0; t < 8; ++t) {
    workers.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < 25; ++i)
        if (limits.admit(addresses[static_cast<std::size_t>(t * 25 + i)], t0) == Decision::ok) ++admitted;
    });
  }
  go = true;
  for (auto& worker : workers) worker.join();
  CHECK(admitted == 37);
  CHECK(limits.sessions() == 37);
}

TEST_CASE("connection limits: every refusal decision maps to its refusal code") {
  CHECK_FALSE(refusal_of(Decision::ok));
  CHECK(refusal_of(Decision::denied) == Refusal::denied);
  CHECK(refusal_of(Decision::session_limit) == Refusal::session_limit);
  CHECK(refusal_of(Decision::per_ip_limit) == Refusal::per_ip_limit);
  CHECK(refusal_of(Decision::rate_limit) == Refusal::rate_limit);
}
