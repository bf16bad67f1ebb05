// `admin:` (conf/load_admin.cpp): defaults, every key, the token file's checks.
#include <catch2/catch.hpp>

#include "conf/config_loader.hpp"
#include "conf_test_support.hpp"

using namespace vhm::conf;
using namespace vhm::conf::test;
using namespace std::chrono_literals;

namespace {

constexpr std::string_view admin_token = "0123456789abcdef0123";

LoadResult load_admin_yaml(const TempDir& dir, const std::string& admin) {
  return load_config_string(std::string(listener) + "admin:\n" + admin, "a.yaml", dir.path());
}

// The one problem at `key`: its line and message.
ConfigProblem only_problem(const LoadResult& result, std::string_view key) {
  INFO(describe(result));
  REQUIRE_FALSE(result.ok());
  REQUIRE(result.problems.size() == 1);
  REQUIRE(result.problems.front().key == key);
  return result.problems.front();
}

}  // namespace

TEST_CASE("admin config: absent means off; a section turns it on with the defaults") {
  TempDir dir;
  const auto none = require_ok(load_config_string(listener, "a.yaml", dir.path()));
  CHECK_FALSE(none.admin.enabled);

  const auto on = require_ok(load_config_string(std::string(listener) + "admin: {}\n", "a.yaml", dir.path()));
  CHECK(on.admin.enabled);
  CHECK(on.admin.listen.host == "127.0.0.1");
  CHECK(on.admin.listen.port == 9810);
  CHECK(on.admin.token.empty());
  CHECK(on.admin.token_file.empty());
  CHECK_FALSE(on.admin.metrics_need_token);
  CHECK(on.admin.request_timeout == 10s);
  CHECK(on.admin.idle_timeout == 60s);
  CHECK(on.admin.line == 4);
}

TEST_CASE("admin config: every key") {
  TempDir dir;
  dir.write("secret/admin.token", "  " + std::string(admin_token) + "\n\n", 0600);
  const auto config = require_ok(load_admin_yaml(dir, R"(  listen: "[::1]:9911"
  token_file: secret/admin.token
  metrics_need_token: true
  request_timeout: 2s
  idle_timeout: 500ms
)"));
  CHECK(config.admin.enabled);
  CHECK(config.admin.listen.host == "::1");
  CHECK(config.admin.listen.port == 9911);
  CHECK(config.admin.listen_line == 5);
  CHECK(config.admin.token_file == dir.path() / "secret/admin.token");
  CHECK(config.admin.token == admin_token);  // surrounding whitespace trimmed
  CHECK(config.admin.metrics_need_token);
  CHECK(config.admin.request_timeout == 2s);
  CHECK(config.admin.idle_timeout == 500ms);
}

TEST_CASE("admin config: enabled: false keeps it off but still checks the section") {
  TempDir dir;
  const auto off = require_ok(load_admin_yaml(dir, "  enabled: false\n  listen: \"0.0.0.0:9810\"\n"));
  CHECK_FALSE(off.admin.enabled);
  const auto problem = only_problem(load_admin_yaml(dir, "  enabled: false\n  listen: \"nowhere\"\n"), "admin.listen");
  CHECK(problem.line == 6);
}

TEST_CASE("admin config: a token file group or others could read is refused with the chmod that fixes it") {
  TempDir dir;
  for (const mode_t mode : {0644, 0640, 0604, 0620, 0602}) {
    INFO(mode);
    dir.write("admin.token", admin_token, mode);
    const auto problem = only_problem(load_admin_yaml(dir, "  token_file: admin.token\n"), "admin.token_file");
    CHECK(problem.line == 5);
    CHECK(problem.file == "a.yaml");
    CHECK(contains(problem.message, "chmod 600 " + (dir.path() / "admin.token").string()));
    CHECK_FALSE(contains(problem.message, admin_token));
  }
  dir.write("admin.token", admin_token, 0400);
  CHECK(require_ok(load_admin_yaml(dir, "  token_file: admin.token\n")).admin.token == admin_token);
}

TEST_CASE("admin config: the token file must exist, be a file, and hold a token of 16 visible characters") {
  TempDir dir;
  const auto message_for = [&](const std::string& token_file) {
    return only_problem(load_admin_yaml(dir, "  token_file: " + token_file + "\n"), "admin.token_file").message;
  };
  CHECK(contains(message_for("missing.token"), "No such file"));
  std::filesystem::create_directory(dir.path() / "a-directory");
  CHECK(contains(message_for("a-directory"), "not a regular file"));
  dir.write("empty.token", " \n\t\n", 0600);
  CHECK(contains(message_for("empty.token"), "is empty"));
  dir.write("short.token", "0123456789abcde\n", 0600);
  CHECK(contains(message_for("short.token"), "has 15 characters; use at least 16"));
  dir.write("spaced.token", "0123456789 abcdef0123\n", 0600);
  CHECK(contains(message_for("spaced.token"), "visible ASCII"));
  dir.write("huge.token", std::string(5000, 'x'), 0600);
  CHECK(contains(message_for("huge.token"), "5000 bytes"));
  CHECK(contains(only_problem(load_admin_yaml(dir, "  token_file: \"\"\n"), "admin.token_file").message, "empty"));
}

TEST_CASE("admin config: bad values and unknown keys name the key and line") {
  TempDir dir;
  CHECK(only_problem(load_admin_yaml(dir, "  listen: \"localhost:http\"\n"), "admin.listen").line == 5);
  CHECK(only_problem(load_admin_yaml(dir, "  enabled: maybe\n"), "admin.enabled").line == 5);
  CHECK(only_problem(load_admin_yaml(dir, "  metrics_need_token: yes please\n"), "admin.metrics_need_token").line == 5);
  CHECK(contains(only_problem(load_admin_yaml(dir, "  metrics_need_token: true\n"), "admin.metrics_need_token").message,
                 "admin.token_file"));
  CHECK(only_problem(load_admin_yaml(dir, "  request_timeout: 0s\n"), "admin.request_timeout").line == 5);
  CHECK(only_problem(load_admin_yaml(dir, "  idle_timeout: 2h\n"), "admin.idle_timeout").line == 5);
  CHECK(only_problem(load_admin_yaml(dir, "  request_timeout: soon\n"), "admin.request_timeout").line == 5);
  const auto unknown = only_problem(load_admin_yaml(dir, "  listen: \"127.0.0.1:9810\"\n  tokenfile: x\n"),
                                     "admin.tokenfile");
  CHECK(unknown.line == 6);
  CHECK(contains(unknown.message, "token_file"));
  const auto not_a_map = only_problem(load_config_string(std::string(listener) + "admin: on\n", "a.yaml", dir.path()),
                                       "admin");
  CHECK(not_a_map.line == 4);
}
