// The loader's issue-4 listener keys: transparent: redirect|tproxy with
// allow_targets, the target it no longer takes, and every rejection.
#include <catch2/catch.hpp>

#include "conf/config_loader.hpp"
#include "conf_test_support.hpp"

using namespace vhm::conf;
using test::contains;
using test::describe;
using test::line_of;
using test::TempDir;

namespace {

Config load_ok(const std::string& yaml) {
  TempDir dir;
  const auto result = load_config_string(yaml, "t.yaml", dir.path());
  INFO("yaml:\n" << yaml << "\nproblems:\n" << describe(result));
  REQUIRE(result.ok());
  return *result.config;
}

// Exactly one problem, at `key`, on the line containing `needle`, whose message contains `message`.
void require_single_transparent_problem(const std::string& yaml, std::string_view key, std::string_view needle,
                                        std::string_view message) {
  TempDir dir;
  const auto result = load_config_string(yaml, "bad.yaml", dir.path());
  INFO("yaml:\n" << yaml << "\nproblems:\n" << describe(result));
  CHECK(result.config == nullptr);
  REQUIRE(result.problems.size() == 1);
  const ConfigProblem& problem = result.problems[0];
  CHECK(problem.key == key);
  CHECK(problem.line == line_of(yaml, needle));
  CHECK(contains(problem.message, message));
}

TargetRule target_rule(std::string_view text) {
  std::string error;
  auto parsed = parse_target_rule(text, error);
  REQUIRE(parsed);
  return *parsed;
}

}  // namespace

TEST_CASE("transparent config: a redirect listener loads with its allow_targets and no target") {
  const Config config = load_ok(R"(listeners:
  - listen: ":5999"
    transparent: redirect
    allow_targets: ["10.0.0.0/24:5900-5999", "[2001:db8::/64]:5901", "192.0.2.7"]
    user: alice
)");
  REQUIRE(config.listeners.size() == 1);
  const ListenerConfig& listener = config.listeners[0];
  CHECK(listener.transparent == Transparent::redirect);
  CHECK(listener.allow_targets == std::vector<TargetRule>{target_rule("10.0.0.0/24:5900-5999"),
                                                          target_rule("[2001:db8::/64]:5901"),
                                                          target_rule("192.0.2.7")});
  CHECK(listener.target.host.empty());
  CHECK(listener.target.port == 0);
  CHECK(listener.user == "alice");
}

TEST_CASE("transparent config: tproxy, off, and static listeners side by side") {
  const Config config = load_ok(R"(listeners:
  - listen: "0.0.0.0:15901"
    transparent: tproxy
    allow_targets:
      - "10.0.2.0/24:5900-5999"
  - listen: "127.0.0.1:5900"
    transparent: off
    target: ":1"
  - listen: "127.0.0.1:5902"
    target: ":2"
)");
  REQUIRE(config.listeners.size() == 3);
  CHECK(config.listeners[0].transparent == Transparent::tproxy);
  CHECK(config.listeners[0].allow_targets == std::vector<TargetRule>{target_rule("10.0.2.0/24:5900-5999")});
  CHECK(config.listeners[1].transparent == Transparent::off);
  CHECK(config.listeners[1].target.port == 5901);
  CHECK(config.listeners[2].transparent == Transparent::off);
  CHECK(config.listeners[2].target.port == 5902);
  CHECK(config.listeners[2].allow_targets.empty());
}

TEST_CASE("transparent config: allow_targets is required, and not empty") {
  require_single_transparent_problem("listeners:\n  - listen: \":5999\"\n    transparent: redirect\n",
                                     "listeners[0].allow_targets",
                                     "transparent:", "allow_targets is required with transparent: redirect");
  require_single_transparent_problem("listeners:\n  - listen: \":5999\"\n    transparent: tproxy\n",
                                     "listeners[0].allow_targets", "transparent:", "open relay");
  require_single_transparent_problem(
      "listeners:\n  - listen: \":5999\"\n    transparent: tproxy\n    allow_targets: []\n",
      "listeners[0].allow_targets", "allow_targets", "must not be empty");
}

TEST_CASE("transparent config: a transparent listener takes no target") {
  require_single_transparent_problem(
      "listeners:\n  - listen: \":5999\"\n    transparent: redirect\n    allow_targets: [\"10.0.0.0/8\"]\n"
      "    target: \":1\"\n",
      "listeners[0].target", "target:", "target is not used with transparent: redirect");
}

TEST_CASE("transparent config: allow_targets without transparent is rejected") {
  require_single_transparent_problem(
      "listeners:\n  - listen: \":5999\"\n    target: \":1\"\n    allow_targets: [\"10.0.0.0/8\"]\n",
      "listeners[0].allow_targets", "allow_targets", "applies only to transparent listeners");
  require_single_transparent_problem(
      "listeners:\n  - listen: \":5999\"\n    transparent: off\n    target: \":1\"\n    allow_targets: [\"10.0.0.0/8\"]\n",
      "listeners[0].allow_targets", "allow_targets", "applies only to transparent listeners");
}

TEST_CASE("transparent config: an unknown mode is one problem, whatever the target") {
  require_single_transparent_problem("listeners:\n  - listen: \":5999\"\n    transparent: nat\n    target: \":1\"\n",
                                     "listeners[0].transparent",
                                     "transparent:", "expected redirect, tproxy or off, got \"nat\"");
  require_single_transparent_problem(
      "listeners:\n  - listen: \":5999\"\n    transparent: true\n    allow_targets: [\"10.0.0.0/8\"]\n",
      "listeners[0].transparent", "transparent:", "expected redirect, tproxy or off");
}

TEST_CASE("transparent config: each bad allow_targets entry is reported at its own line") {
  const std::string yaml = R"(listeners:
  - listen: ":5999"
    transparent: redirect
    allow_targets:
      - "10.0.0.0/24:5900-5999"
      - "2001:db8::/64"
      - "10.0.0.0/8:5999-5900"
      - ""
)";
  TempDir dir;
  const auto result = load_config_string(yaml, "bad.yaml", dir.path());
  INFO(describe(result));
  CHECK(result.config == nullptr);
  REQUIRE(result.problems.size() == 3);
  CHECK(result.problems[0].key == "listeners[0].allow_targets[1]");
  CHECK(result.problems[0].line == line_of(yaml, "2001:db8::/64"));
  CHECK(contains(result.problems[0].message, "brackets"));
  CHECK(result.problems[1].key == "listeners[0].allow_targets[2]");
  CHECK(result.problems[1].line == line_of(yaml, "5999-5900"));
  CHECK(contains(result.problems[1].message, "ends before it starts"));
  CHECK(result.problems[2].key == "listeners[0].allow_targets[3]");
  CHECK(contains(result.problems[2].message, "must not be empty"));
}

TEST_CASE("transparent config: allow_targets must be a list of strings") {
  require_single_transparent_problem(
      "listeners:\n  - listen: \":5999\"\n    transparent: redirect\n    allow_targets: \"10.0.0.0/8\"\n",
      "listeners[0].allow_targets", "allow_targets", "expected");
}
