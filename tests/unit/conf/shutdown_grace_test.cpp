#include <catch2/catch.hpp>

#include "conf/config_loader.hpp"
#include "conf_test_support.hpp"

using namespace vhm::conf;
using namespace vhm::conf::test;
using namespace std::chrono_literals;

namespace {
constexpr std::string_view listener_yaml = "listeners:\n  - listen: \":5900\"\n    target: \"127.0.0.1:5901\"\n";

LoadResult load_with_grace(const TempDir& dir, const std::string& value) {
  return load_config_string("global:\n  shutdown_grace: " + value + "\n" + std::string(listener_yaml), "s.yaml",
                            dir.path());
}
}  // namespace

TEST_CASE("config: shutdown_grace defaults to 10s") {
  TempDir dir;
  const auto result = load_config_string(listener_yaml, "s.yaml", dir.path());
  REQUIRE(result.ok());
  CHECK(result.config->global.shutdown_grace == 10s);
}

TEST_CASE("config: shutdown_grace takes durations, and zero closes sessions at once") {
  TempDir dir;
  const std::vector<std::pair<std::string, std::chrono::milliseconds>> cases = {
      {"30s", 30s}, {"1m", 1min}, {"250ms", 250ms}, {"2.5", 2500ms}, {"0", 0ms}, {"0s", 0ms}, {"\"0ms\"", 0ms}};
  for (const auto& [text, expected] : cases) {
    INFO(text);
    const auto result = load_with_grace(dir, text);
    INFO(describe(result));
    REQUIRE(result.ok());
    CHECK(result.config->global.shutdown_grace == expected);
  }
}

TEST_CASE("config: a bad shutdown_grace is reported with file, line and key") {
  TempDir dir;
  for (const std::string text : {"-1s", "soon", "0.s", "00.0.0"}) {
    INFO(text);
    const auto result = load_with_grace(dir, text);
    REQUIRE_FALSE(result.ok());
    const auto* problem = problem_for(result, "global.shutdown_grace");
    REQUIRE(problem != nullptr);
    CHECK(problem->line == 2);
    CHECK(problem->file == "s.yaml");
  }
}
