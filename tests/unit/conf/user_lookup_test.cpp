#include <catch2/catch.hpp>

#include <pwd.h>

#include <algorithm>

#include "conf/user_lookup.hpp"

using vhm::conf::resolve_user;

TEST_CASE("user lookup: root resolves to uid 0, gid 0, its groups, home and shell") {
  std::string error;
  const auto user = resolve_user("root", error);
  INFO(error);
  REQUIRE(user);
  CHECK(user->name == "root");
  CHECK(user->uid == 0);
  CHECK(user->gid == 0);
  CHECK(std::find(user->groups.begin(), user->groups.end(), gid_t{0}) != user->groups.end());
  CHECK(user->home == "/root");
  CHECK_FALSE(user->shell.empty());
}

TEST_CASE("user lookup: nobody resolves to what the passwd database says") {
  const passwd* expected = ::getpwnam("nobody");
  REQUIRE(expected != nullptr);
  const uid_t uid = expected->pw_uid;
  const gid_t gid = expected->pw_gid;
  const std::string home = expected->pw_dir;
  const std::string shell = expected->pw_shell;
  std::string error;
  const auto user = resolve_user("nobody", error);
  REQUIRE(user);
  CHECK(user->uid == uid);
  CHECK(user->gid == gid);
  CHECK(std::find(user->groups.begin(), user->groups.end(), gid) != user->groups.end());
  CHECK(user->home == home);
  CHECK(user->shell == shell);
}

TEST_CASE("user lookup: a missing user is an error that names it") {
  std::string error;
  CHECK_FALSE(resolve_user("vhm-surely-missing-user-4711", error));
  CHECK(error == "user \"vhm-surely-missing-user-4711\" does not exist");
}

TEST_CASE("user lookup: an empty name is an error") {
  std::string error;
  CHECK_FALSE(resolve_user("", error));
  CHECK_FALSE(error.empty());
}
