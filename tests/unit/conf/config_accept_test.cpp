// The loader on valid input: every key of the issue's example and every default.
#include <catch2/catch.hpp>

#include <pwd.h>

#include "conf/config_loader.hpp"
#include "conf_test_support.hpp"

using namespace vhm::conf;
using namespace std::chrono_literals;
using test::describe;
using test::line_of;
using test::require_ok;
using test::TempDir;

namespace {

// A copy: callers often pass the temporary result of load_config_string.
constexpr std::string_view minimal_listener = R"(
listeners:
  - listen: "127.0.0.1:5900"
    target: ":1"
)";

}  // namespace

TEST_CASE("config: the issue's example loads with every value") {
  TempDir dir;
  dir.script("hooks/log_connect.sh");
  dir.script("hooks/on_auth.sh");
  const auto record_end = dir.script("bin/record_end.sh");
  const std::string yaml = R"(global:
  hooks_dir: )" + dir.str() + R"(/hooks
  log_file: /var/log/vnc-hooks-manager.log
  log_level: warn
  max_concurrent_hooks: 7
listeners:
  - listen: "0.0.0.0:5900"
    target: "127.0.0.1:5901"
    user: alice
    handshake_timeout: 45
events:
  connect:
    - name: log_connect
      cmd: log_connect.sh {display} {user} {client_ip}
      timeout: 30
      run_as: nobody
  auth_success:
    - name: greet
      cmd: on_auth.sh {session_id}
  auth_failure:
    - name: audit
      action: log
      path: /var/log/vnc-audit.jsonl
  disconnect:
    - name: record_session_end
      cmd: )" + record_end.string() + R"( --session {session_id} --secs {duration}
      timeout: 20
      terminate_on_next_event: true
      retries: 2
)";
  const auto result = load_config_string(yaml, "example.yaml", dir.path());
  const Config& config = require_ok(result);

  CHECK(config.source == "example.yaml");
  CHECK(config.global.hooks_dir == dir.path() / "hooks");
  CHECK(config.global.log_file == "/var/log/vnc-hooks-manager.log");
  CHECK(config.global.log_level == "warn");
  CHECK(config.global.max_concurrent_hooks == 7);

  REQUIRE(config.listeners.size() == 1);
  const ListenerConfig& listener = config.listeners[0];
  CHECK(listener.listen.host == "0.0.0.0");
  CHECK(listener.listen.port == 5900);
  CHECK(listener.target.host == "127.0.0.1");
  CHECK(listener.target.port == 5901);
  CHECK(listener.user == "alice");
  CHECK(listener.handshake_timeout == 45s);
  CHECK(listener.connect_timeout == 10s);
  CHECK(listener.line == line_of(yaml, "0.0.0.0:5900"));

  const auto& connect = config.hooks_for(EventKind::connect);
  REQUIRE(connect.size() == 1);
  CHECK(connect[0].name == "log_connect");
  CHECK(connect[0].event == EventKind::connect);
  CHECK(connect[0].action == HookAction::command);
  CHECK(connect[0].argv ==
        std::vector<std::string>{(dir.path() / "hooks/log_connect.sh").string(), "{display}", "{user}", "{client_ip}"});
  CHECK(connect[0].timeout == 30s);
  REQUIRE(connect[0].run_as);
  CHECK(connect[0].run_as->name == "nobody");
  CHECK(connect[0].run_as->uid == ::getpwnam("nobody")->pw_uid);
  CHECK(connect[0].terminate_on_next_event == false);
  CHECK(connect[0].retries == 0);
  CHECK(connect[0].line == line_of(yaml, "name: log_connect"));

  const auto& success = config.hooks_for(EventKind::auth_success);
  REQUIRE(success.size() == 1);
  CHECK(success[0].event == EventKind::auth_success);
  CHECK(success[0].timeout == 30s);
  CHECK_FALSE(success[0].run_as);

  const auto& failure = config.hooks_for(EventKind::auth_failure);
  REQUIRE(failure.size() == 1);
  CHECK(failure[0].name == "audit");
  CHECK(failure[0].event == EventKind::auth_failure);
  CHECK(failure[0].action == HookAction::log);
  CHECK(failure[0].path == "/var/log/vnc-audit.jsonl");
  CHECK(failure[0].argv.empty());
  CHECK(failure[0].line == line_of(yaml, "name: audit"));

  const auto& disconnect = config.hooks_for(EventKind::disconnect);
  REQUIRE(disconnect.size() == 1);
  CHECK(disconnect[0].event == EventKind::disconnect);
  CHECK(disconnect[0].argv == std::vector<std::string>{record_end.string(), "--session", "{session_id}", "--secs",
                                                       "{duration}"});
  CHECK(disconnect[0].timeout == 20s);
  CHECK(disconnect[0].terminate_on_next_event == true);
  CHECK(disconnect[0].retries == 2);
}

TEST_CASE("config: a file with only a listener gets every documented default") {
  TempDir dir;
  const auto result = load_config_string(minimal_listener, "min.yaml", dir.path());
  const Config& config = require_ok(result);
  const GlobalConfig& global = config.global;
  CHECK(global.hooks_dir == dir.path());
  CHECK(global.log_file.empty());
  CHECK(global.log_level == "info");
  CHECK(global.max_concurrent_hooks == 10);
  CHECK(global.hook_queue_limit == 1000);
  CHECK(global.kill_grace == 5s);
  CHECK(global.max_sessions == 4096);
  CHECK(global.hook_output_max_lines == 200);
  REQUIRE(config.listeners.size() == 1);
  CHECK(config.listeners[0].user.empty());
  CHECK(config.listeners[0].handshake_timeout == 30s);
  CHECK(config.listeners[0].connect_timeout == 10s);
  CHECK(config.listeners[0].line == 3);
  CHECK(config.events.empty());
  CHECK(config.hooks_for(EventKind::connect).empty());
}

TEST_CASE("config: global hook_queue_limit, kill_grace, max_sessions and hook_output_max_lines are read") {
  TempDir dir;
  const std::string yaml = R"(global:
  hook_queue_limit: 50
  kill_grace: 250ms
  max_sessions: 3
  hook_output_max_lines: 12
)" + std::string(minimal_listener);
  const Config& config = require_ok(load_config_string(yaml, "g.yaml", dir.path()));
  CHECK(config.global.hook_queue_limit == 50);
  CHECK(config.global.kill_grace == 250ms);
  CHECK(config.global.max_sessions == 3);
  CHECK(config.global.hook_output_max_lines == 12);
}

TEST_CASE("config: every documented log_level is accepted") {
  TempDir dir;
  for (const char* level : {"trace", "debug", "info", "warn", "error", "critical", "off"}) {
    const std::string yaml = "global:\n  log_level: " + std::string(level) + "\n" + std::string(minimal_listener);
    INFO(level);
    CHECK(require_ok(load_config_string(yaml, "l.yaml", dir.path())).global.log_level == level);
  }
}

TEST_CASE("config: hook timeouts and kill_grace take seconds, fractions and unit suffixes") {
  TempDir dir;
  dir.script("h.sh");
  const std::vector<std::pair<std::string, std::chrono::milliseconds>> cases = {
      {"0.5", 500ms}, {"20", 20s}, {"\"500ms\"", 500ms}, {"30s", 30s}, {"10m", 10min}, {"1h", 1h}, {"1.5s", 1500ms}};
  for (const auto& [text, expected] : cases) {
    const std::string yaml = "global:\n  kill_grace: " + text + "\n" + std::string(minimal_listener) +
                             "events:\n  connect:\n    - name: h\n      cmd: h.sh\n      timeout: " + text + "\n";
    INFO(text);
    const Config& config = require_ok(load_config_string(yaml, "d.yaml", dir.path()));
    CHECK(config.global.kill_grace == expected);
    CHECK(config.hooks_for(EventKind::connect).at(0).timeout == expected);
  }
}

TEST_CASE("config: listener handshake_timeout and connect_timeout take whole seconds in any unit") {
  TempDir dir;
  const std::string yaml = R"(listeners:
  - listen: ":5900"
    target: "vnc.example.com:5901"
    handshake_timeout: 2m
    connect_timeout: "3000ms"
)";
  const Config& config = require_ok(load_config_string(yaml, "t.yaml", dir.path()));
  CHECK(config.listeners[0].handshake_timeout == 120s);
  CHECK(config.listeners[0].connect_timeout == 3s);
  CHECK(config.listeners[0].listen.host.empty());
  CHECK(config.listeners[0].target.host == "vnc.example.com");
}

TEST_CASE("config: relative hooks_dir, log_file and log path resolve against the config directory") {
  TempDir dir;
  dir.script("my-hooks/h.sh");
  const std::string yaml = R"(global:
  hooks_dir: my-hooks
  log_file: logs/vhm.log
)" + std::string(minimal_listener) + R"(events:
  disconnect:
    - name: h
      cmd: h.sh
    - name: audit
      action: log
      path: ../audit/./events.jsonl
)";
  const Config& config = require_ok(load_config_string(yaml, "r.yaml", dir.path()));
  CHECK(config.global.hooks_dir == dir.path() / "my-hooks");
  CHECK(config.global.log_file == dir.path() / "logs/vhm.log");
  const auto& hooks = config.hooks_for(EventKind::disconnect);
  REQUIRE(hooks.size() == 2);
  CHECK(hooks[0].argv.at(0) == (dir.path() / "my-hooks/h.sh").string());
  CHECK(hooks[1].path == dir.path().parent_path() / "audit/events.jsonl");
}

TEST_CASE("config: an empty events section and an event with an empty list are fine") {
  TempDir dir;
  const std::string empty_section = std::string(minimal_listener) + "events:\n";
  CHECK(require_ok(load_config_string(empty_section, "e.yaml", dir.path())).events.empty());
  const std::string empty_lists = std::string(minimal_listener) + "events:\n  connect: []\n  disconnect:\n";
  const Config& config = require_ok(load_config_string(empty_lists, "e.yaml", dir.path()));
  CHECK(config.hooks_for(EventKind::connect).empty());
  CHECK(config.hooks_for(EventKind::disconnect).empty());
}

TEST_CASE("config: hooks keep file order within an event; the same name may be used by other events") {
  TempDir dir;
  dir.script("a.sh");
  const std::string yaml = std::string(minimal_listener) + R"(events:
  connect:
    - name: first
      cmd: a.sh
    - name: second
      cmd: a.sh
    - name: third
      action: log
      path: x.jsonl
  disconnect:
    - name: first
      cmd: a.sh
)";
  const Config& config = require_ok(load_config_string(yaml, "o.yaml", dir.path()));
  const auto& connect = config.hooks_for(EventKind::connect);
  REQUIRE(connect.size() == 3);
  CHECK(connect[0].name == "first");
  CHECK(connect[1].name == "second");
  CHECK(connect[2].name == "third");
  CHECK(config.hooks_for(EventKind::disconnect).at(0).name == "first");
}

TEST_CASE("config: cmd arguments keep quoting, literal braces and placeholders per argument") {
  TempDir dir;
  dir.script("h.sh");
  const std::string yaml = std::string(minimal_listener) + R"(events:
  connect:
    - name: h
      cmd: h.sh --who "{user} at {client_ip}" '{print $1}' x={bytes_in}
)";
  const Config& config = require_ok(load_config_string(yaml, "q.yaml", dir.path()));
  CHECK(config.hooks_for(EventKind::connect).at(0).argv ==
        std::vector<std::string>{(dir.path() / "h.sh").string(), "--who", "{user} at {client_ip}", "{print $1}",
                                 "x={bytes_in}"});
}

TEST_CASE("config: run_as root resolves uid 0, gid 0, groups, home and shell") {
  TempDir dir;
  dir.script("h.sh");
  const std::string yaml = std::string(minimal_listener) + R"(events:
  connect:
    - name: h
      cmd: h.sh
      run_as: root
)";
  const Config& config = require_ok(load_config_string(yaml, "u.yaml", dir.path()));
  const auto& run_as = config.hooks_for(EventKind::connect).at(0).run_as;
  REQUIRE(run_as);
  CHECK(run_as->name == "root");
  CHECK(run_as->uid == 0);
  CHECK(run_as->gid == 0);
  CHECK_FALSE(run_as->groups.empty());
  CHECK(run_as->home == "/root");
  CHECK_FALSE(run_as->shell.empty());
}

TEST_CASE("config: a bare cmd name not in hooks_dir is looked up in PATH") {
  TempDir dir;
  const auto tool = dir.script("bin/vhm-test-tool");
  test::ScopedEnv path("PATH", dir.str() + "/bin");
  const std::string yaml = std::string(minimal_listener) + R"(events:
  connect:
    - name: h
      cmd: vhm-test-tool {user}
)";
  const Config& config = require_ok(load_config_string(yaml, "p.yaml", dir.path() / "conf"));
  CHECK(config.hooks_for(EventKind::connect).at(0).argv.at(0) == tool.string());
}

TEST_CASE("config: a bare cmd name in hooks_dir wins over PATH") {
  TempDir dir;
  const auto in_hooks = dir.script("hooks/tool");
  dir.script("bin/tool");
  test::ScopedEnv path("PATH", dir.str() + "/bin");
  const std::string yaml = "global:\n  hooks_dir: hooks\n" + std::string(minimal_listener) + R"(events:
  connect:
    - name: h
      cmd: tool
)";
  const Config& config = require_ok(load_config_string(yaml, "p.yaml", dir.path()));
  CHECK(config.hooks_for(EventKind::connect).at(0).argv.at(0) == in_hooks.string());
}

TEST_CASE("config: a relative cmd with a slash resolves against hooks_dir") {
  TempDir dir;
  const auto script = dir.script("hooks/sub/h.sh");
  const std::string yaml = "global:\n  hooks_dir: hooks\n" + std::string(minimal_listener) + R"(events:
  connect:
    - name: h
      cmd: sub/h.sh
)";
  const Config& config = require_ok(load_config_string(yaml, "s.yaml", dir.path()));
  CHECK(config.hooks_for(EventKind::connect).at(0).argv.at(0) == script.string());
}

TEST_CASE("config: a missing hooks_dir is fine when no hook needs it") {
  TempDir dir;
  const auto script = dir.script("abs.sh");
  const std::string yaml = "global:\n  hooks_dir: /nonexistent/vhm-hooks\n" + std::string(minimal_listener) +
                           "events:\n  connect:\n    - name: h\n      cmd: " + script.string() +
                           "\n    - name: l\n      action: log\n      path: a.jsonl\n";
  const Config& config = require_ok(load_config_string(yaml, "m.yaml", dir.path()));
  CHECK(config.global.hooks_dir == "/nonexistent/vhm-hooks");
}

TEST_CASE("config: log hooks take retries, and action: command may be written out") {
  TempDir dir;
  dir.script("h.sh");
  const std::string yaml = std::string(minimal_listener) + R"(events:
  auth_failure:
    - name: audit
      action: log
      path: /tmp/a.jsonl
      retries: 3
    - name: cmd
      action: command
      cmd: h.sh
)";
  const Config& config = require_ok(load_config_string(yaml, "a.yaml", dir.path()));
  const auto& hooks = config.hooks_for(EventKind::auth_failure);
  CHECK(hooks.at(0).action == HookAction::log);
  CHECK(hooks.at(0).retries == 3);
  CHECK(hooks.at(1).action == HookAction::command);
}

TEST_CASE("config: several listeners, including two on port 0, IPv6 and display targets") {
  TempDir dir;
  const std::string yaml = R"(listeners:
  - listen: "127.0.0.1:0"
    target: ":1"
  - listen: "127.0.0.1:0"
    target: ":2"
  - listen: "[::1]:5900"
    target: "[::1]:5999"
  - listen: "127.0.0.1:5900"
    target: "localhost:5901"
)";
  const Config& config = require_ok(load_config_string(yaml, "n.yaml", dir.path()));
  REQUIRE(config.listeners.size() == 4);
  CHECK(config.listeners[1].target.port == 5902);
  CHECK(config.listeners[2].listen.host == "::1");
  CHECK(config.listeners[2].target.host == "::1");
  CHECK(config.listeners[3].line == line_of(yaml, "127.0.0.1:5900"));
}

TEST_CASE("config: booleans accept true/false in YAML's spellings, integers an explicit plus") {
  TempDir dir;
  dir.script("h.sh");
  const std::string yaml = std::string(minimal_listener) + R"(events:
  connect:
    - name: a
      cmd: h.sh
      terminate_on_next_event: True
      retries: +1
    - name: b
      cmd: h.sh
      terminate_on_next_event: FALSE
)";
  const Config& config = require_ok(load_config_string(yaml, "b.yaml", dir.path()));
  CHECK(config.hooks_for(EventKind::connect).at(0).terminate_on_next_event);
  CHECK(config.hooks_for(EventKind::connect).at(0).retries == 1);
  CHECK_FALSE(config.hooks_for(EventKind::connect).at(1).terminate_on_next_event);
}
