// global.busy_poll_us: off by default, microseconds up to 1000.
#include <catch2/catch.hpp>

#include "conf/config_loader.hpp"
#include "conf_test_support.hpp"

using namespace vhm::conf;
using namespace vhm::conf::test;

namespace {
constexpr std::string_view listener_yaml = "listeners:\n  - listen: \":5900\"\n    target: \"127.0.0.1:5901\"\n";

LoadResult load_with_busy_poll(const TempDir& dir, const std::string& value) {
  return load_config_string("global:\n  busy_poll_us: " + value + "\n" + std::string(listener_yaml), "b.yaml",
                            dir.path());
}
}  // namespace

TEST_CASE("config: busy polling is off by default") {
  TempDir dir;
  const auto result = load_config_string(listener_yaml, "b.yaml", dir.path());
  REQUIRE(result.ok());
  CHECK(result.config->global.busy_poll_us == 0);
}

TEST_CASE("config: busy_poll_us takes 0 to 1000 microseconds") {
  TempDir dir;
  for (const unsigned value : {0u, 1u, 50u, 1000u}) {
    INFO(value);
    const auto result = load_with_busy_poll(dir, std::to_string(value));
    INFO(describe(result));
    REQUIRE(result.ok());
    CHECK(result.config->global.busy_poll_us == value);
  }
}

TEST_CASE("config: a bad busy_poll_us is reported with file, line and key") {
  TempDir dir;
  for (const std::string text : {"-1", "1001", "50us", "fast"}) {
    INFO(text);
    const auto result = load_with_busy_poll(dir, text);
    REQUIRE_FALSE(result.ok());
    const auto* problem = problem_for(result, "global.busy_poll_us");
    REQUIRE(problem != nullptr);
    CHECK(problem->line == 2);
  }
}
