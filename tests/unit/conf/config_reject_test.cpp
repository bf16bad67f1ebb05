// The loader on invalid input: each problem with its file, line, key and message.
#include <catch2/catch.hpp>

#include "conf/config_loader.hpp"
#include "conf_test_support.hpp"

using namespace vhm::conf;
using test::contains;
using test::describe;
using test::line_of;
using test::listener;
using test::problem_for;
using test::TempDir;

namespace {

// Loads yaml (with a hook script h.sh in base_dir) and requires exactly one
// problem, at `key`, on the line containing `needle`, whose message contains `message`.
void require_single_problem(const std::string& yaml, std::string_view key, std::string_view needle,
                            std::string_view message) {
  TempDir dir;
  dir.script("h.sh");
  const auto result = load_config_string(yaml, "bad.yaml", dir.path());
  INFO("yaml:\n" << yaml << "\nproblems:\n" << describe(result));
  CHECK_FALSE(result.ok());
  CHECK(result.config == nullptr);
  REQUIRE(result.problems.size() == 1);
  const ConfigProblem& problem = result.problems[0];
  CHECK(problem.file == "bad.yaml");
  CHECK(problem.key == key);
  CHECK(problem.line == line_of(yaml, needle));
  CHECK(contains(problem.message, message));
}

std::string with_hook(std::string_view event, std::string_view hook_lines) {
  return std::string(listener) + "events:\n  " + std::string(event) + ":\n" + std::string(hook_lines);
}

}  // namespace

TEST_CASE("config rejects: unknown keys at every level, listing the known ones") {
  require_single_problem(std::string(listener) + "colour_scheme: blue\n", "colour_scheme", "colour_scheme",
                         "unknown key \"colour_scheme\" (known: global, listeners, events, blocking, control, admin, broker, recording)");
  require_single_problem("global:\n  log_levle: info\n" + std::string(listener), "global.log_levle", "log_levle",
                         "unknown key \"log_levle\" (known: hooks_dir, log_file, log_level, max_concurrent_hooks,");
  require_single_problem(std::string(listener) + "    port: 1\n", "listeners[0].port", "port:",
                         "unknown key \"port\" (known: listen, transparent, allow_targets, target, user, handshake_timeout, connect_timeout, allow, "
                         "deny, max_sessions, max_sessions_per_ip, max_connects_per_minute, scanner_shield, server_version, "
                         "vencrypt, tls, recording, session, protocols, sniff_timeout, frontend_tls, web, tokens, "
                         "token_from_host, http_auth, http_realm, websocket, trusted_proxies, proxy_protocol, target_tls)");
  require_single_problem(with_hook("connect", "    - name: h\n      cmd: h.sh\n      tiemout: 5\n"),
                         "events.connect[0].tiemout", "tiemout", "unknown key \"tiemout\"");
}

TEST_CASE("config rejects: unknown event names") {
  require_single_problem(with_hook("connected", "    - name: h\n      cmd: h.sh\n"), "events.connected", "connected:",
                         "unknown event \"connected\" (known: connect, auth_success, auth_failure, disconnect, ban, blocked, "
                         "recording_started, recording_finished, recording_failed, clipboard, idle_warning, resize, "
                         "screen_change, desktop_name)");
}

TEST_CASE("config rejects: a key given twice in one mapping") {
  require_single_problem("global:\n  log_level: info\n  log_level: debug\n" + std::string(listener),
                         "global.log_level", "log_level: debug", "duplicate key (first at line 2)");
}

TEST_CASE("config rejects: wrong types for sections and values") {
  require_single_problem("global: [1, 2]\n" + std::string(listener), "global", "global:",
                         "expected a mapping (key: value lines), got a list");
  require_single_problem("listeners:\n  listen: \":5900\"\n", "listeners", "listeners:", "expected a list of listeners");
  require_single_problem("listeners:\n  - \":5900\"\n", "listeners[0]", "- \":5900\"", "expected a mapping");
  require_single_problem(std::string(listener) + "events: [connect]\n", "events", "events:", "expected a mapping");
  require_single_problem(std::string(listener) + "events:\n  connect:\n    name: h\n", "events.connect", "connect:",
                         "expected a list of hooks");
  require_single_problem("global:\n  max_concurrent_hooks: ten\n" + std::string(listener),
                         "global.max_concurrent_hooks", "ten", "expected a whole number, got \"ten\"");
  require_single_problem("global:\n  max_sessions: 2.5\n" + std::string(listener), "global.max_sessions", "2.5",
                         "expected a whole number, got \"2.5\"");
  require_single_problem("global:\n  hooks_dir: [a]\n" + std::string(listener), "global.hooks_dir", "hooks_dir",
                         "expected a value, got a list");
  require_single_problem("global:\n  log_file:\n" + std::string(listener), "global.log_file", "log_file",
                         "expected a value, got nothing");
  require_single_problem(with_hook("connect", "    - name: h\n      cmd: {a: b}\n"), "events.connect[0].cmd", "cmd:",
                         "expected a value, got a mapping");
  require_single_problem(with_hook("connect", "    - name: h\n      cmd: h.sh\n      terminate_on_next_event: maybe\n"),
                         "events.connect[0].terminate_on_next_event", "maybe", "expected true or false, got \"maybe\"");
}

TEST_CASE("config rejects: listeners without listen or target") {
  require_single_problem("listeners:\n  - target: \":1\"\n", "listeners[0].listen", "target", "listen is required");
  require_single_problem("listeners:\n  - listen: \":5900\"\n", "listeners[0].target", ":5900", "target is required");
  require_single_problem("listeners:\n  -\n", "listeners[0]", "listeners:", "listen and target are required");
}

TEST_CASE("config rejects: no listeners at all") {
  require_single_problem("global:\n  log_level: info\n", "listeners", "<nowhere>", "no listeners: nothing to do");
  require_single_problem("listeners: []\n", "listeners", "listeners", "no listeners: nothing to do");
  require_single_problem("", "listeners", "<nowhere>", "no listeners: nothing to do");
}

TEST_CASE("config rejects: bad listen and target addresses at their line") {
  require_single_problem("listeners:\n  - listen: \"127.0.0.1:99999\"\n    target: \":1\"\n", "listeners[0].listen",
                         "99999", "port 99999 is out of range");
  require_single_problem("listeners:\n  - listen: \"not an address\"\n    target: \":1\"\n", "listeners[0].listen",
                         "not an address", "missing port in \"not an address\"");
  require_single_problem("listeners:\n  - listen: \"vnc.example.com:5900\"\n    target: \":1\"\n",
                         "listeners[0].listen", "vnc.example.com", "must be an IP address or localhost");
  require_single_problem("listeners:\n  - listen: \"[::1:5900\"\n    target: \":1\"\n", "listeners[0].listen", "[::1",
                         "missing ']'");
  require_single_problem("listeners:\n  - listen: \":5900\"\n    target: \"127.0.0.1:0\"\n", "listeners[0].target",
                         "127.0.0.1:0", "port 0 is out of range (1-65535)");
  require_single_problem("listeners:\n  - listen: \":5900\"\n    target: \"::1:5901\"\n", "listeners[0].target",
                         "::1:5901", "needs brackets");
}

TEST_CASE("config rejects: duplicate and overlapping listen addresses") {
  require_single_problem(std::string(listener) + "  - listen: '127.0.0.1:5900'\n    target: \":2\"\n",
                         "listeners[1].listen", "'127.0.0.1:5900'",
                         "duplicate listen address 127.0.0.1:5900: listeners[0] (line 2) already listens there");
}

TEST_CASE("config rejects: listen addresses that overlap a wildcard or are the same after normalising") {
  TempDir dir;
  const std::string yaml = R"(listeners:
  - listen: ":5900"
    target: ":1"
  - listen: "10.0.0.1:5900"
    target: ":2"
  - listen: "0.0.0.0:5901"
    target: ":3"
  - listen: "127.0.0.1:5901"
    target: ":4"
  - listen: "[::1]:5901"
    target: ":5"
  - listen: "localhost:5902"
    target: ":6"
  - listen: "127.0.0.1:5902"
    target: ":7"
)";
  const auto result = load_config_string(yaml, "dup.yaml", dir.path());
  INFO(describe(result));
  REQUIRE(result.problems.size() == 3);
  CHECK(result.problems[0].key == "listeners[1].listen");
  CHECK(result.problems[0].line == line_of(yaml, "10.0.0.1:5900"));
  CHECK(result.problems[0].message == "listen address 10.0.0.1:5900 overlaps :5900 of listeners[0] (line 2): both cannot be bound");
  CHECK(result.problems[1].key == "listeners[3].listen");
  CHECK(contains(result.problems[1].message, "overlaps 0.0.0.0:5901 of listeners[2]"));
  CHECK(result.problems[2].key == "listeners[6].listen");
  CHECK(contains(result.problems[2].message, "duplicate listen address 127.0.0.1:5902: listeners[5]"));
}

TEST_CASE("config rejects: hooks without name, cmd or path") {
  require_single_problem(with_hook("connect", "    - cmd: h.sh\n"), "events.connect[0].name", "cmd: h.sh",
                         "name is required");
  require_single_problem(with_hook("connect", "    - name: h\n"), "events.connect[0].cmd", "name: h",
                         "cmd is required");
  require_single_problem(with_hook("connect", "    - name: audit\n      action: log\n"), "events.connect[0].path",
                         "name: audit", "path is required for action: log");
  require_single_problem(with_hook("connect", "    - name: \"\"\n      cmd: h.sh\n"), "events.connect[0].name",
                         "name:", "must not be empty");
  require_single_problem(with_hook("connect", "    -\n"), "events.connect[0]", "connect:", "empty hook");
}

TEST_CASE("config rejects: a hook name used twice in one event") {
  require_single_problem(with_hook("disconnect", "    - name: h\n      cmd: h.sh\n    - name: \"h\"\n      action: log\n"
                                                 "      path: a.jsonl\n"),
                         "events.disconnect[1].name", "name: \"h\"",
                         "duplicate name \"h\" in events.disconnect (first at line 6)");
}

TEST_CASE("config rejects: keys that belong to the other kind of hook") {
  require_single_problem(with_hook("connect", "    - name: h\n      cmd: h.sh\n      path: x.jsonl\n"),
                         "events.connect[0].path", "path:", "path is only for action: log");
  require_single_problem(with_hook("connect", "    - name: l\n      action: log\n      path: x\n      run_as: root\n"),
                         "events.connect[0].run_as", "run_as", "run_as does not apply to action: log");
  require_single_problem(with_hook("connect", "    - name: l\n      action: log\n      path: x\n      cmd: h.sh\n"),
                         "events.connect[0].cmd", "cmd:", "cmd does not apply to action: log");
}

TEST_CASE("config rejects: unknown actions") {
  require_single_problem(with_hook("connect", "    - name: w\n      action: email\n      to: root\n"),
                         "events.connect[0].action", "email", "unknown action \"email\" (known: command, log, webhook, syslog)");
}

TEST_CASE("config rejects: unknown placeholders, naming the known ones") {
  require_single_problem(with_hook("connect", "    - name: h\n      cmd: h.sh {user} {hostname}\n"),
                         "events.connect[0].cmd", "hostname",
                         "unknown placeholder {hostname} (known: event, session_id, timestamp,");
}

TEST_CASE("config rejects: a placeholder in the program itself") {
  require_single_problem(with_hook("connect", "    - name: h\n      cmd: /usr/bin/{user}.sh\n"),
                         "events.connect[0].cmd", "{user}.sh", "cannot contain {placeholders}");
}

TEST_CASE("config rejects: cmd with an unterminated quote, a trailing backslash or nothing in it") {
  require_single_problem(with_hook("connect", "    - name: h\n      cmd: h.sh \"{user}\n"), "events.connect[0].cmd",
                         "cmd:", "unterminated \" quote starting at column 6");
  require_single_problem(with_hook("connect", "    - name: h\n      cmd: 'h.sh \\'\n"), "events.connect[0].cmd",
                         "cmd:", "trailing backslash");
  require_single_problem(with_hook("connect", "    - name: h\n      cmd: \"  \"\n"), "events.connect[0].cmd", "cmd:",
                         "empty command");
}

TEST_CASE("config rejects: missing executables, saying what was tried") {
  TempDir dir;
  const std::string yaml = "global:\n  hooks_dir: " + dir.str() + "/hooks\n" + std::string(listener) + R"(events:
  connect:
    - name: bare
      cmd: no_such_hook.sh {user}
    - name: relative
      cmd: sub/missing.sh
    - name: absolute
      cmd: /nonexistent/vhm/hook.sh
)";
  dir.script("hooks/present.sh");
  const auto result = load_config_string(yaml, "x.yaml", dir.path());
  INFO(describe(result));
  REQUIRE(result.problems.size() == 3);
  const auto* bare = problem_for(result, "events.connect[0].cmd");
  REQUIRE(bare);
  CHECK(bare->line == line_of(yaml, "no_such_hook.sh"));
  CHECK(contains(bare->message, "\"no_such_hook.sh\" not found: tried \"" + dir.str() + "/hooks/no_such_hook.sh\" and PATH"));
  const auto* relative = problem_for(result, "events.connect[1].cmd");
  REQUIRE(relative);
  CHECK(contains(relative->message, "\"sub/missing.sh\" not found: tried \"" + dir.str() + "/hooks/sub/missing.sh\""));
  const auto* absolute = problem_for(result, "events.connect[2].cmd");
  REQUIRE(absolute);
  CHECK(absolute->message == "\"/nonexistent/vhm/hook.sh\" does not exist");
}

TEST_CASE("config rejects: a cmd that is not executable") {
  TempDir dir;
  const auto file = dir.write("data.txt", "x", 0644);
  const std::string yaml = with_hook("connect", "    - name: h\n      cmd: " + file.string() + "\n");
  const auto result = load_config_string(yaml, "x.yaml", dir.path());
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].message == "\"" + file.string() + "\" is not executable");
}

TEST_CASE("config rejects: a relative cmd when hooks_dir does not exist") {
  require_single_problem("global:\n  hooks_dir: /nonexistent/vhm-hooks\n" +
                             with_hook("connect", "    - name: h\n      cmd: sub/h.sh\n"),
                         "events.connect[0].cmd", "sub/h.sh", "hooks_dir \"/nonexistent/vhm-hooks\" does not exist");
}

TEST_CASE("config rejects: a run_as user that does not exist") {
  require_single_problem(with_hook("connect", "    - name: h\n      cmd: h.sh\n      run_as: vhm-surely-missing-user-4711\n"),
                         "events.connect[0].run_as", "run_as",
                         "user \"vhm-surely-missing-user-4711\" does not exist");
}

TEST_CASE("config rejects: zero and negative limits and retries") {
  for (const char* key : {"max_concurrent_hooks", "hook_queue_limit", "max_sessions", "hook_output_max_lines"}) {
    for (const char* value : {"0", "-1"}) {
      INFO(key << ": " << value);
      require_single_problem("global:\n  " + std::string(key) + ": " + value + "\n" + std::string(listener),
                             "global." + std::string(key), key, "must be at least 1");
    }
  }
  require_single_problem("global:\n  max_sessions: 99999999999999999999999\n" + std::string(listener),
                         "global.max_sessions", "max_sessions", "at most 1000000000");
  require_single_problem(with_hook("connect", "    - name: h\n      cmd: h.sh\n      retries: -1\n"),
                         "events.connect[0].retries", "retries", "must be at least 0");
  require_single_problem(with_hook("connect", "    - name: h\n      cmd: h.sh\n      retries: 1001\n"),
                         "events.connect[0].retries", "retries", "at most 1000");
}

TEST_CASE("config rejects: an unknown log_level") {
  require_single_problem("global:\n  log_level: verbose\n" + std::string(listener), "global.log_level", "verbose",
                         "unknown log level \"verbose\" (known: trace, debug, info, warn, error, critical, off)");
}

TEST_CASE("config rejects: zero, negative and malformed durations") {
  require_single_problem(with_hook("connect", "    - name: h\n      cmd: h.sh\n      timeout: 0\n"),
                         "events.connect[0].timeout", "timeout", "must be greater than 0, got \"0\"");
  require_single_problem(with_hook("connect", "    - name: h\n      cmd: h.sh\n      timeout: -1s\n"),
                         "events.connect[0].timeout", "timeout", "must be greater than 0");
  require_single_problem("global:\n  kill_grace: 0ms\n" + std::string(listener), "global.kill_grace", "kill_grace",
                         "must be greater than 0");
  require_single_problem("global:\n  kill_grace: soon\n" + std::string(listener), "global.kill_grace", "kill_grace",
                         "expected seconds (30, 0.5) or a number with a unit (500ms, 30s, 10m, 1h, 30d), got \"soon\"");
  require_single_problem(std::string(listener) + "    handshake_timeout: abc\n", "listeners[0].handshake_timeout",
                         "handshake_timeout", "expected seconds");
  require_single_problem(std::string(listener) + "    connect_timeout: 0\n", "listeners[0].connect_timeout",
                         "connect_timeout", "must be greater than 0");
}

TEST_CASE("config rejects: listener timeouts that are not whole seconds") {
  require_single_problem(std::string(listener) + "    handshake_timeout: 0.5\n", "listeners[0].handshake_timeout",
                         "handshake_timeout", "must be a whole number of seconds, got \"0.5\"");
  require_single_problem(std::string(listener) + "    connect_timeout: 1500ms\n", "listeners[0].connect_timeout",
                         "connect_timeout", "must be a whole number of seconds");
}

TEST_CASE("config rejects: empty hooks_dir, log_file and log path") {
  require_single_problem("global:\n  hooks_dir: \"\"\n" + std::string(listener), "global.hooks_dir", "hooks_dir",
                         "must not be empty");
  require_single_problem("global:\n  log_file: ''\n" + std::string(listener), "global.log_file", "log_file",
                         "must not be empty");
  require_single_problem(with_hook("connect", "    - name: l\n      action: log\n      path: \"\"\n"),
                         "events.connect[0].path", "path:", "must not be empty");
}

TEST_CASE("config rejects: a YAML syntax error is one problem with its line") {
  const std::string yaml = std::string(listener) + "events:\n  connect: [\n    a: b\n";
  TempDir dir;
  const auto result = load_config_string(yaml, "syntax.yaml", dir.path());
  INFO(describe(result));
  CHECK(result.config == nullptr);
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].file == "syntax.yaml");
  CHECK(result.problems[0].key.empty());
  CHECK(result.problems[0].line > line_of(yaml, "events:"));
  CHECK(contains(result.problems[0].message, "YAML syntax error: "));
}

TEST_CASE("config rejects: a syntax error on a known line reports that line") {
  const std::string yaml = "global:\n  log_level: info\n  hooks_dir: a: b\n" + std::string(listener);
  TempDir dir;
  const auto result = load_config_string(yaml, "syntax.yaml", dir.path());
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].line == 3);
  CHECK(result.problems[0].message == "YAML syntax error: illegal map value");
}

TEST_CASE("config rejects: more than one YAML document") {
  require_single_problem(std::string(listener) + "---\nglobal: {}\n", "", "global: {}",
                         "only one YAML document is allowed");
}

TEST_CASE("config rejects: a top level that is not a mapping") {
  require_single_problem("- a\n- b\n", "", "- a", "expected a mapping");
}

TEST_CASE("config rejects: every problem is reported together, sorted by line, and no config is returned") {
  TempDir dir;
  const std::string yaml = R"(global:
  log_level: loud
  colour_scheme: blue
listeners:
  - listen: "not an address"
    target: ":1"
events:
  connect:
    - name: h
      cmd: no_such_hook.sh {nope}
      run_as: vhm-surely-missing-user-4711
  window_moved: []
)";
  const auto result = load_config_string(yaml, "all.yaml", dir.path());
  INFO(describe(result));
  CHECK(result.config == nullptr);
  CHECK_FALSE(result.ok());
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"global.log_level", "loud"},
      {"global.colour_scheme", "colour_scheme"},
      {"listeners[0].listen", "not an address"},
      {"events.connect[0].cmd", "no_such_hook.sh"},
      {"events.connect[0].cmd", "no_such_hook.sh"},
      {"events.connect[0].run_as", "run_as"},
      {"events.window_moved", "window_moved"},
  };
  REQUIRE(result.problems.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO(i);
    CHECK(result.problems[i].key == expected[i].first);
    CHECK(result.problems[i].line == line_of(yaml, expected[i].second));
  }
  CHECK(contains(result.problems[3].message + result.problems[4].message, "not found"));
  CHECK(contains(result.problems[3].message + result.problems[4].message, "{nope}"));
}
