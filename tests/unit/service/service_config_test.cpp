// global user:/group: as the loader resolves them (the account of the privilege drop).
#include <catch2/catch.hpp>

#include <grp.h>
#include <pwd.h>

#include <algorithm>
#include <filesystem>

#include "conf/config_loader.hpp"

using vhm::conf::load_config_string;

namespace {

vhm::conf::LoadResult load(const std::string& global_lines) {
  const std::string yaml = "global:\n" + global_lines + "listeners:\n  - listen: \"127.0.0.1:0\"\n    target: \":1\"\n";
  return load_config_string(yaml, "service.yaml", std::filesystem::temp_directory_path());
}

std::string problems(const vhm::conf::LoadResult& result) {
  std::string text;
  for (const auto& problem : result.problems) text += problem.to_string() + "\n";
  return text;
}

}  // namespace

TEST_CASE("service config: no user: means no switch") {
  const auto result = load("  log_level: info\n");
  REQUIRE(result.ok());
  CHECK_FALSE(result.config->global.user);
  CHECK(result.config->global.group.empty());
}

TEST_CASE("service config: user: is resolved at load time to uid, primary gid and groups") {
  const auto result = load("  user: nobody\n");
  INFO(problems(result));
  REQUIRE(result.ok());
  const auto& user = result.config->global.user;
  REQUIRE(user);
  const passwd* entry = ::getpwnam("nobody");
  REQUIRE(entry);
  CHECK(user->name == "nobody");
  CHECK(user->uid == entry->pw_uid);
  CHECK(user->gid == entry->pw_gid);
  CHECK(std::find(user->groups.begin(), user->groups.end(), entry->pw_gid) != user->groups.end());
}

TEST_CASE("service config: group: replaces the user's primary group, among the groups too") {
  const auto result = load("  user: nobody\n  group: daemon\n");
  INFO(problems(result));
  REQUIRE(result.ok());
  const auto& user = result.config->global.user;
  REQUIRE(user);
  const group* daemon = ::getgrnam("daemon");
  const passwd* nobody = ::getpwnam("nobody");
  REQUIRE(daemon);
  REQUIRE(nobody);
  CHECK(result.config->global.group == "daemon");
  CHECK(user->gid == daemon->gr_gid);
  CHECK(std::find(user->groups.begin(), user->groups.end(), daemon->gr_gid) != user->groups.end());
  CHECK(std::find(user->groups.begin(), user->groups.end(), nobody->pw_gid) == user->groups.end());
}

TEST_CASE("service config: an unknown user or group, or group: without user:, is an error at its line") {
  auto result = load("  user: no-such-user-vhm\n");
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].to_string() == "service.yaml:2: global.user: user \"no-such-user-vhm\" does not exist");

  result = load("  user: nobody\n  group: no-such-group-vhm\n");
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].to_string() == "service.yaml:3: global.group: group \"no-such-group-vhm\" does not exist");

  result = load("  group: daemon\n");
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].to_string() ==
        "service.yaml:2: global.group: group needs user (the process switches both together)");

  result = load("  user: \"\"\n");
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].key == "global.user");
}
