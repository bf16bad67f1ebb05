// Listener keys of the scanner shield: scanner_shield and server_version.
#include <catch2/catch.hpp>

#include "conf/config_loader.hpp"
#include "conf_test_support.hpp"

using namespace vhm::conf;
using test::contains;
using test::describe;
using test::TempDir;

namespace {

LoadResult load_listener_with(const std::string& extra) {
  TempDir dir;
  return load_config_string("listeners:\n  - listen: \"127.0.0.1:5900\"\n    target: \":1\"\n" + extra, "t.yaml",
                            dir.path());
}

}  // namespace

TEST_CASE("config: the scanner shield is on by default, greeting with 3.8 until a version is learned") {
  const auto result = load_listener_with("");
  INFO(describe(result));
  REQUIRE(result.ok());
  CHECK(result.config->listeners[0].scanner_shield);
  CHECK_FALSE(result.config->listeners[0].server_version.has_value());
}

TEST_CASE("config: scanner_shield can be turned off and server_version set per listener") {
  const auto result = load_listener_with("    scanner_shield: false\n    server_version: \"3.3\"\n");
  INFO(describe(result));
  REQUIRE(result.ok());
  const auto& listener = result.config->listeners[0];
  CHECK_FALSE(listener.scanner_shield);
  REQUIRE(listener.server_version.has_value());
  CHECK(*listener.server_version == std::pair{3, 3});
}

TEST_CASE("config: server_version takes what servers announce, unquoted too") {
  for (const auto& [text, expected] : std::vector<std::pair<std::string, std::pair<int, int>>>{
           {"3.8", {3, 8}}, {"3.7", {3, 7}}, {"3.889", {3, 889}}, {"5.0", {5, 0}}, {"4.001", {4, 1}}}) {
    INFO(text);
    const auto result = load_listener_with("    server_version: " + text + "\n");
    INFO(describe(result));
    REQUIRE(result.ok());
    CHECK(*result.config->listeners[0].server_version == expected);
  }
}

TEST_CASE("config rejects: a server_version no server announces") {
  for (const std::string text : {"3", "3.2", "2.0", "6.0", "3.8.1", "x.y", "0.0", "1234.5", "\"\"", "3."}) {
    INFO(text);
    const auto result = load_listener_with("    server_version: " + text + "\n");
    INFO(describe(result));
    REQUIRE_FALSE(result.ok());
    REQUIRE(result.problems.size() == 1);
    CHECK(result.problems[0].key == "listeners[0].server_version");
    CHECK(contains(result.problems[0].message, "is not an RFB server version"));
  }
}

TEST_CASE("config rejects: scanner_shield that is not a boolean") {
  const auto result = load_listener_with("    scanner_shield: sometimes\n");
  REQUIRE_FALSE(result.ok());
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].key == "listeners[0].scanner_shield");
}
