// load_config_file: reading the file, paths relative to it, file-level errors,
// and the "file:line: key: message" form --check-config prints.
#include <catch2/catch.hpp>

#include "conf/config_loader.hpp"
#include "conf_test_support.hpp"

using namespace vhm::conf;
using test::contains;
using test::describe;
using test::TempDir;

TEST_CASE("config file: loads, records its absolute source and resolves paths against its directory") {
  TempDir dir;
  const auto script = dir.script("etc/hooks/h.sh");
  dir.write("etc/vhm.yaml", R"(global:
  hooks_dir: hooks
  log_file: vhm.log
listeners:
  - listen: ":5900"
    target: ":1"
events:
  connect:
    - name: h
      cmd: h.sh
    - name: audit
      action: log
      path: audit.jsonl
)");
  const auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());  // a relative config path must still resolve absolutely
  const auto result = load_config_file("etc/../etc/vhm.yaml");
  std::filesystem::current_path(cwd);
  INFO(describe(result));
  REQUIRE(result.ok());
  const Config& config = *result.config;
  CHECK(config.source == dir.path() / "etc/vhm.yaml");
  CHECK(config.global.hooks_dir == dir.path() / "etc/hooks");
  CHECK(config.global.log_file == dir.path() / "etc/vhm.log");
  CHECK(config.hooks_for(EventKind::connect).at(0).argv.at(0) == script.string());
  CHECK(config.hooks_for(EventKind::connect).at(1).path == dir.path() / "etc/audit.jsonl");
}

TEST_CASE("config file: hooks_dir defaults to the directory of the file") {
  TempDir dir;
  const auto script = dir.script("conf/h.sh");
  const auto file = dir.write("conf/vhm.yaml",
                              "listeners:\n  - listen: \":5900\"\n    target: \":1\"\n"
                              "events:\n  connect:\n    - name: h\n      cmd: h.sh\n");
  const auto result = load_config_file(file);
  INFO(describe(result));
  REQUIRE(result.ok());
  CHECK(result.config->global.hooks_dir == dir.path() / "conf");
  CHECK(result.config->hooks_for(EventKind::connect).at(0).argv.at(0) == script.string());
}

TEST_CASE("config file: problems name the file as given") {
  TempDir dir;
  const auto file = dir.write("bad.yaml", "listeners:\n  - listen: \":5900\"\n    target: \":1\"\n    nope: 1\n");
  const auto result = load_config_file(file);
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].file == file.string());
  CHECK(result.problems[0].line == 4);
  CHECK(result.problems[0].to_string() ==
        file.string() + ":4: listeners[0].nope: unknown key \"nope\" (known: listen, transparent, allow_targets, target, user, "
                        "handshake_timeout, connect_timeout, allow, deny, max_sessions, max_sessions_per_ip, "
                        "max_connects_per_minute, scanner_shield, server_version, vencrypt, tls, recording, session, "
                        "protocols, sniff_timeout, frontend_tls, web, tokens, token_from_host, http_auth, "
                        "http_realm, websocket, trusted_proxies, proxy_protocol, target_tls)");
}

TEST_CASE("config file: a missing file is one clear problem") {
  TempDir dir;
  const auto missing = dir.path() / "missing.yaml";
  const auto result = load_config_file(missing);
  CHECK(result.config == nullptr);
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].file == missing.string());
  CHECK(result.problems[0].line == 0);
  CHECK(result.problems[0].key.empty());
  CHECK(result.problems[0].message == "cannot read the configuration file: No such file or directory");
  CHECK(result.problems[0].to_string() ==
        missing.string() + ": cannot read the configuration file: No such file or directory");
}

TEST_CASE("config file: a directory is one clear problem") {
  TempDir dir;
  const auto result = load_config_file(dir.path());
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].message == "cannot read the configuration file: it is a directory");
}

TEST_CASE("config file: a YAML syntax error names the file and line") {
  TempDir dir;
  const auto file = dir.write("broken.yaml", "global:\n  log_level: info\n listeners: [\n");
  const auto result = load_config_file(file);
  INFO(describe(result));
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].file == file.string());
  CHECK(result.problems[0].line >= 3);
  CHECK(contains(result.problems[0].to_string(), file.string() + ":"));
  CHECK(contains(result.problems[0].message, "YAML syntax error"));
}

TEST_CASE("config problem: to_string is file:line: key: message, leaving out what is unknown") {
  CHECK(ConfigProblem{"a.yaml", 3, "global.x", "bad"}.to_string() == "a.yaml:3: global.x: bad");
  CHECK(ConfigProblem{"a.yaml", 0, "listeners", "none"}.to_string() == "a.yaml: listeners: none");
  CHECK(ConfigProblem{"a.yaml", 7, "", "YAML syntax error: x"}.to_string() == "a.yaml:7: YAML syntax error: x");
}
