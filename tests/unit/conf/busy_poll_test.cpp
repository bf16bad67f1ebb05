// global.busy_poll_us: off by default; global.handshake_poll_us: 50 by
// default. Both microseconds up to 1000.
#include <catch2/catch.hpp>

#include "conf/config_loader.hpp"
#include "conf_test_support.hpp"

using namespace vhm::conf;
using namespace vhm::conf::test;

namespace {
constexpr std::string_view listener_yaml = "listeners:\n  - listen: \":5900\"\n    target: \"127.0.0.1:5901\"\n";

LoadResult load_with(const TempDir& dir, const std::string& key, const std::string& value) {
  return load_config_string("global:\n  " + key + ": " + value + "\n" + std::string(listener_yaml), "b.yaml",
                            dir.path());
}
}  // namespace

TEST_CASE("config: busy polling is off by default") {
  TempDir dir;
  const auto result = load_config_string(listener_yaml, "b.yaml", dir.path());
  REQUIRE(result.ok());
  CHECK(result.config->global.busy_poll_us == 0);
  CHECK(result.config->global.handshake_poll_us == 50);
}

TEST_CASE("config: busy_poll_us and handshake_poll_us take 0 to 1000 microseconds") {
  TempDir dir;
  for (const unsigned value : {0u, 1u, 50u, 1000u}) {
    INFO(value);
    const auto always = load_with(dir, "busy_poll_us", std::to_string(value));
    INFO(describe(always));
    REQUIRE(always.ok());
    CHECK(always.config->global.busy_poll_us == value);
    CHECK(always.config->global.handshake_poll_us == 50);
    const auto handshake = load_with(dir, "handshake_poll_us", std::to_string(value));
    INFO(describe(handshake));
    REQUIRE(handshake.ok());
    CHECK(handshake.config->global.handshake_poll_us == value);
    CHECK(handshake.config->global.busy_poll_us == 0);
  }
}

TEST_CASE("config: a bad busy_poll_us or handshake_poll_us is reported with file, line and key") {
  TempDir dir;
  for (const std::string key : {"busy_poll_us", "handshake_poll_us"}) {
    for (const std::string text : {"-1", "1001", "50us", "fast"}) {
      INFO(key << ": " << text);
      const auto result = load_with(dir, key, text);
      REQUIRE_FALSE(result.ok());
      const auto* problem = problem_for(result, "global." + key);
      REQUIRE(problem != nullptr);
      CHECK(problem->line == 2);
    }
  }
}
