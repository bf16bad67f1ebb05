// yaml-cpp 0.7's LoadAll never returns on a token that cannot start a value;
// the loader must report it as a syntax error instead (found by fuzz/config.cpp).
#include <catch2/catch.hpp>

#include "conf/config_loader.hpp"
#include "conf/yaml_documents.hpp"

using namespace vhm::conf;

TEST_CASE("config: a stray comma is a syntax error at its line, not a hang") {
  for (const std::string yaml : {",", ", ", "---\n,", "# a comment\n,\n"}) {
    INFO(yaml);
    const auto result = load_config_string(yaml, "comma.yaml", "/nonexistent");
    REQUIRE(result.problems.size() == 1);
    CHECK(result.problems[0].to_string().starts_with("comma.yaml:"));
    CHECK(result.problems[0].message == "YAML syntax error: unexpected \",\": it cannot start a value");
  }
  const auto result = load_config_string("# a comment\n,\n", "comma.yaml", "/nonexistent");
  CHECK(result.problems.at(0).line == 2);
}

TEST_CASE("config: documents that do consume input are all returned, however short") {
  CHECK(load_all_documents("[][][]").size() == 3);
  CHECK(load_all_documents("--- a\n--- b\n").size() == 2);
  CHECK(load_all_documents("").empty());
  CHECK_THROWS_AS(load_all_documents("{:"), YAML::ParserException);
}
