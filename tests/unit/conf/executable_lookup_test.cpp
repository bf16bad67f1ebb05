#include <catch2/catch.hpp>

#include "conf/executable_lookup.hpp"
#include "conf_test_support.hpp"

using vhm::conf::resolve_executable;
using vhm::conf::test::contains;
using vhm::conf::test::TempDir;
namespace fs = std::filesystem;

TEST_CASE("executable lookup: an absolute path is used as is when executable") {
  TempDir dir;
  const auto script = dir.script("bin/hook.sh");
  std::string error;
  const auto found = resolve_executable(script.string(), "/nonexistent", "", error);
  REQUIRE(found);
  CHECK(*found == script);
}

TEST_CASE("executable lookup: an absolute path is made lexically normal") {
  TempDir dir;
  const auto script = dir.script("bin/hook.sh");
  std::string error;
  const auto found = resolve_executable(dir.str() + "/bin/../bin/./hook.sh", "/nonexistent", "", error);
  REQUIRE(found);
  CHECK(*found == script);
}

TEST_CASE("executable lookup: a missing, non-executable or non-regular absolute path is an error") {
  TempDir dir;
  dir.write("plain.txt", "text", 0644);
  std::string error;
  CHECK_FALSE(resolve_executable(dir.str() + "/missing.sh", dir.path(), "", error));
  CHECK(contains(error, dir.str() + "/missing.sh\" does not exist"));
  CHECK_FALSE(resolve_executable(dir.str() + "/plain.txt", dir.path(), "", error));
  CHECK(contains(error, "plain.txt\" is not executable"));
  CHECK_FALSE(resolve_executable(dir.str(), dir.path(), "", error));
  CHECK(contains(error, "is not a regular file"));
}

TEST_CASE("executable lookup: a relative path with a slash resolves against hooks_dir only") {
  TempDir dir;
  const auto script = dir.script("hooks/sub/hook.sh");
  std::string error;
  const auto found = resolve_executable("sub/hook.sh", dir.path() / "hooks", "", error);
  REQUIRE(found);
  CHECK(*found == script);

  CHECK_FALSE(resolve_executable("sub/other.sh", dir.path() / "hooks", (dir.path() / "hooks").string(), error));
  CHECK(contains(error, "\"sub/other.sh\" not found: tried \"" + dir.str() + "/hooks/sub/other.sh\""));
}

TEST_CASE("executable lookup: a relative path names a missing hooks_dir in its error") {
  TempDir dir;
  std::string error;
  CHECK_FALSE(resolve_executable("sub/hook.sh", dir.path() / "nope", "", error));
  CHECK(contains(error, "hooks_dir \"" + dir.str() + "/nope\" does not exist"));
}

TEST_CASE("executable lookup: a bare name tries hooks_dir first, then PATH in order") {
  TempDir dir;
  const auto in_hooks = dir.script("hooks/tool");
  const auto in_first = dir.script("bin1/tool");
  dir.script("bin2/tool");
  const auto only_path = dir.script("bin2/other");
  const std::string search = dir.str() + "/bin1:" + dir.str() + "/bin2";
  std::string error;

  auto found = resolve_executable("tool", dir.path() / "hooks", search, error);
  REQUIRE(found);
  CHECK(*found == in_hooks);

  found = resolve_executable("tool", dir.path() / "empty", search, error);
  REQUIRE(found);
  CHECK(*found == in_first);

  found = resolve_executable("other", dir.path() / "hooks", search, error);
  REQUIRE(found);
  CHECK(*found == only_path);
}

TEST_CASE("executable lookup: PATH entries that are empty or relative are skipped") {
  TempDir dir;
  dir.script("tool");
  const auto cwd = fs::current_path();
  fs::current_path(dir.path());
  std::string error;
  const auto found = resolve_executable("tool", "/nonexistent", ":.:bin", error);
  fs::current_path(cwd);
  CHECK_FALSE(found);
}

TEST_CASE("executable lookup: a bare name not found says what was tried, and why a candidate was skipped") {
  TempDir dir;
  dir.write("hooks/tool", "not executable", 0644);
  std::string error;
  CHECK_FALSE(resolve_executable("tool", dir.path() / "hooks", "/nonexistent-a:/nonexistent-b", error));
  CHECK(contains(error, "\"tool\" not found: tried \"" + dir.str() + "/hooks/tool\" and PATH \"/nonexistent-a:/nonexistent-b\""));
  CHECK(contains(error, "hooks/tool\" is not executable"));
}

TEST_CASE("executable lookup: an empty name is an error") {
  std::string error;
  CHECK_FALSE(resolve_executable("", "/tmp", "/bin", error));
  CHECK(contains(error, "empty executable name"));
}
