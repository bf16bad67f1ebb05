#include <catch2/catch.hpp>

#include "proxy/reload_plan.hpp"

using namespace vhm;
using proxy::plan_reload;

namespace {

conf::ListenerConfig listener(const std::string& host, std::uint16_t port, std::uint16_t target_port,
                              conf::Transparent transparent = conf::Transparent::off) {
  conf::ListenerConfig config;
  config.listen = {host, port};
  config.target = {"127.0.0.1", target_port};
  config.transparent = transparent;
  return config;
}

conf::Config with(std::vector<conf::ListenerConfig> listeners) {
  conf::Config config;
  config.listeners = std::move(listeners);
  return config;
}

std::vector<std::pair<std::size_t, std::size_t>> kept(const proxy::ReloadPlan& plan) {
  std::vector<std::pair<std::size_t, std::size_t>> pairs;
  for (const auto& match : plan.kept) pairs.emplace_back(match.old_index, match.new_index);
  return pairs;
}

using Pairs = std::vector<std::pair<std::size_t, std::size_t>>;
using Indices = std::vector<std::size_t>;

}  // namespace

TEST_CASE("reload plan: an unchanged listen address keeps its socket even when the target changes") {
  const auto plan = plan_reload(with({listener("127.0.0.1", 5900, 5901)}), with({listener("127.0.0.1", 5900, 5999)}));
  CHECK(kept(plan) == Pairs{{0, 0}});
  CHECK(plan.opened.empty());
  CHECK(plan.closed.empty());
  CHECK(plan.refusal.empty());
}

TEST_CASE("reload plan: new addresses open, missing ones close, order follows the new config") {
  const auto current = with({listener("127.0.0.1", 5900, 1), listener("127.0.0.1", 5901, 2)});
  const auto next = with({listener("", 6000, 3), listener("127.0.0.1", 5901, 2)});
  const auto plan = plan_reload(current, next);
  CHECK(kept(plan) == Pairs{{1, 1}});
  CHECK(plan.opened == Indices{0});
  CHECK(plan.closed == Indices{0});
  CHECK(plan.refusal.empty());
}

TEST_CASE("reload plan: listeners on the same port-0 address are told apart by their targets") {
  const auto current = with({listener("127.0.0.1", 0, 1), listener("127.0.0.1", 0, 2)});
  SECTION("the first is removed: the second keeps its own socket") {
    const auto plan = plan_reload(current, with({listener("127.0.0.1", 0, 2)}));
    CHECK(kept(plan) == Pairs{{1, 0}});
    CHECK(plan.closed == Indices{0});
  }
  SECTION("reordered: each keeps its socket") {
    const auto plan = plan_reload(current, with({listener("127.0.0.1", 0, 2), listener("127.0.0.1", 0, 1)}));
    CHECK(kept(plan) == Pairs{{1, 0}, {0, 1}});
  }
  SECTION("a third one on port 0 opens a new socket") {
    const auto plan = plan_reload(
        current, with({listener("127.0.0.1", 0, 1), listener("127.0.0.1", 0, 2), listener("127.0.0.1", 0, 3)}));
    CHECK(kept(plan) == Pairs{{0, 0}, {1, 1}});
    CHECK(plan.opened == Indices{2});
    CHECK(plan.refusal.empty());
  }
}

TEST_CASE("reload plan: localhost and 127.0.0.1 are the same socket") {
  const auto plan = plan_reload(with({listener("localhost", 5900, 1)}), with({listener("127.0.0.1", 5900, 1)}));
  CHECK(kept(plan) == Pairs{{0, 0}});
}

TEST_CASE("reload plan: switching a bound address to or from tproxy is refused (needs a new socket)") {
  const auto plain = with({listener("0.0.0.0", 5900, 1)});
  const auto tproxy = with({listener("0.0.0.0", 5900, 1, conf::Transparent::tproxy)});
  for (const auto& [from, to] : {std::pair(&plain, &tproxy), std::pair(&tproxy, &plain)}) {
    const auto plan = plan_reload(*from, *to);
    CHECK(plan.kept.empty());
    CHECK_THAT(plan.refusal, Catch::Contains("0.0.0.0:5900") && Catch::Contains("restart"));
  }
  // redirect uses an ordinary socket: the switch keeps it.
  const auto redirect = with({listener("0.0.0.0", 5900, 1, conf::Transparent::redirect)});
  const auto plan = plan_reload(plain, redirect);
  CHECK(kept(plan) == Pairs{{0, 0}});
  CHECK(plan.refusal.empty());
}

TEST_CASE("reload plan: settings only a restart can change are listed, unchanged ones are not") {
  auto current = with({listener("127.0.0.1", 5900, 1)});
  auto next = current;
  CHECK(plan_reload(current, next).needs_restart.empty());
  next.control_socket = "/run/vhm/other.sock";
  next.global.log_level = "debug";
  next.global.log_file = "/var/log/vhm.log";
  next.global.user = conf::RunAs{};
  next.global.user->name = "vnc-hooks";
  next.global.group = "vnc";
  const auto lines = plan_reload(current, next).needs_restart;
  REQUIRE(lines.size() == 5);
  CHECK_THAT(lines[0], Catch::StartsWith("control socket changed ((none) -> /run/vhm/other.sock)"));
  CHECK_THAT(lines[1], Catch::StartsWith("global.log_file changed"));
  CHECK_THAT(lines[2], Catch::StartsWith("global.log_level changed (info -> debug); still info"));
  CHECK_THAT(lines[3], Catch::StartsWith("global.user changed ((none) -> vnc-hooks)"));
  CHECK_THAT(lines[4], Catch::StartsWith("global.group changed"));
}
