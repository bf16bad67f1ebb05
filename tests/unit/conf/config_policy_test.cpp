// The loader's issue-3 keys: blocking:, control:, listener allow/deny/limits
// and handler gate: accepted values, defaults and every rejection.
#include <catch2/catch.hpp>

#include "conf/config_loader.hpp"
#include "conf_test_support.hpp"

using namespace vhm::conf;
using namespace std::chrono_literals;
using test::cidr;
using test::contains;
using test::describe;
using test::line_of;
using test::listener;
using test::require_ok;
using test::TempDir;

namespace {

// Exactly one problem, at `key`, on the line containing `needle`, whose message contains `message`.
void require_single_policy_problem(const std::string& yaml, std::string_view key, std::string_view needle,
                                   std::string_view message) {
  TempDir dir;
  dir.script("h.sh");
  const auto result = load_config_string(yaml, "bad.yaml", dir.path());
  INFO("yaml:\n" << yaml << "\nproblems:\n" << describe(result));
  CHECK(result.config == nullptr);
  REQUIRE(result.problems.size() == 1);
  const ConfigProblem& problem = result.problems[0];
  CHECK(problem.file == "bad.yaml");
  CHECK(problem.key == key);
  CHECK(problem.line == line_of(yaml, needle));
  CHECK(contains(problem.message, message));
}

std::string with_blocking(std::string_view lines) { return std::string(listener) + "blocking:\n" + std::string(lines); }

}  // namespace

TEST_CASE("config policy: the issue's blocking and control sections load with every value") {
  TempDir dir;
  const std::string yaml = std::string(listener) + R"(blocking:
  enabled: true
  max_failures: 3
  window: 2m
  ban: 30m
  max_ban: 12h
  allow: ["127.0.0.0/8", "::1", "2001:db8::/32"]
  key:
    ipv4_prefix: 24
    ipv6_prefix: 56
  state_file: /var/lib/vnc-hooks-manager/bans.json
control:
  socket: /run/vnc-hooks-manager/control.sock
)";
  const Config& config = require_ok(load_config_string(yaml, "b.yaml", dir.path()));
  REQUIRE(config.blocking);
  const BlockingConfig& blocking = *config.blocking;
  CHECK(blocking.max_failures == 3);
  CHECK(blocking.window == 120s);
  CHECK(blocking.ban == 1800s);
  CHECK(blocking.max_ban == 12h);
  CHECK(blocking.allow == std::vector<Cidr>{cidr("127.0.0.0/8"), cidr("::1"), cidr("2001:db8::/32")});
  CHECK(blocking.ipv4_prefix == 24);
  CHECK(blocking.ipv6_prefix == 56);
  CHECK(blocking.state_file == "/var/lib/vnc-hooks-manager/bans.json");
  CHECK(blocking.line == line_of(yaml, "blocking:"));
  CHECK(config.control_socket == "/run/vnc-hooks-manager/control.sock");
}

TEST_CASE("config policy: an empty blocking section turns blocking on with every default") {
  TempDir dir;
  const Config& config = require_ok(load_config_string(std::string(listener) + "blocking:\n", "b.yaml", dir.path()));
  REQUIRE(config.blocking);
  const BlockingConfig& blocking = *config.blocking;
  CHECK(blocking.max_failures == 5);
  CHECK(blocking.window == 10min);
  CHECK(blocking.ban == 1h);
  CHECK(blocking.max_ban == 24h);
  CHECK(blocking.allow.empty());
  CHECK(blocking.ipv4_prefix == 32);
  CHECK(blocking.ipv6_prefix == 64);
  CHECK(blocking.state_file.empty());
}

TEST_CASE("config policy: without the sections blocking is off and there is no control socket") {
  TempDir dir;
  const Config& config = require_ok(load_config_string(listener, "b.yaml", dir.path()));
  CHECK_FALSE(config.blocking);
  CHECK(config.control_socket.empty());
  const Config& empty_control = require_ok(load_config_string(std::string(listener) + "control:\n", "c.yaml", dir.path()));
  CHECK(empty_control.control_socket.empty());
  const Config& empty_socket =
      require_ok(load_config_string(std::string(listener) + "control:\n  socket: \"\"\n", "c.yaml", dir.path()));
  CHECK(empty_socket.control_socket.empty());
}

TEST_CASE("config policy: enabled: false turns blocking off but the section is still validated") {
  TempDir dir;
  const Config& config =
      require_ok(load_config_string(with_blocking("  enabled: false\n  max_failures: 3\n"), "b.yaml", dir.path()));
  CHECK_FALSE(config.blocking);
  require_single_policy_problem(with_blocking("  enabled: false\n  max_failures: 0\n"), "blocking.max_failures",
                                "max_failures", "must be at least 1");
}

TEST_CASE("config policy: state_file and control socket resolve against the config directory; empty state_file") {
  TempDir dir;
  const std::string yaml = with_blocking("  state_file: state/bans.json\n") + "control:\n  socket: run/ctl.sock\n";
  const Config& config = require_ok(load_config_string(yaml, "r.yaml", dir.path()));
  CHECK(config.blocking->state_file == dir.path() / "state/bans.json");
  CHECK(config.control_socket == dir.path() / "run/ctl.sock");
  const Config& memory_only = require_ok(load_config_string(with_blocking("  state_file: ''\n"), "r.yaml", dir.path()));
  CHECK(memory_only.blocking->state_file.empty());
}

TEST_CASE("config policy: durations of blocking take every unit; max_ban may equal ban") {
  TempDir dir;
  const Config& config = require_ok(
      load_config_string(with_blocking("  window: 90\n  ban: \"7200s\"\n  max_ban: 2h\n"), "d.yaml", dir.path()));
  CHECK(config.blocking->window == 90s);
  CHECK(config.blocking->ban == 2h);
  CHECK(config.blocking->max_ban == 2h);
}

TEST_CASE("config policy: listener allow, deny and limits are read; the defaults are empty and unlimited") {
  TempDir dir;
  const std::string yaml = R"(listeners:
  - listen: "127.0.0.1:5900"
    target: ":1"
    allow: ["10.0.0.0/8", "192.0.2.7"]
    deny:
      - 10.0.9.0/24
      - "2001:db8:bad::/48"
    max_sessions: 50
    max_sessions_per_ip: 5
    max_connects_per_minute: 30
  - listen: "127.0.0.1:5901"
    target: ":2"
    allow: []
)";
  const Config& config = require_ok(load_config_string(yaml, "l.yaml", dir.path()));
  REQUIRE(config.listeners.size() == 2);
  const ListenerConfig& first = config.listeners[0];
  CHECK(first.allow == std::vector<Cidr>{cidr("10.0.0.0/8"), cidr("192.0.2.7")});
  CHECK(first.deny == std::vector<Cidr>{cidr("10.0.9.0/24"), cidr("2001:db8:bad::/48")});
  CHECK(first.max_sessions == std::optional<std::size_t>(50));
  CHECK(first.max_sessions_per_ip == std::optional<std::size_t>(5));
  CHECK(first.max_connects_per_minute == std::optional<std::size_t>(30));
  const ListenerConfig& second = config.listeners[1];
  CHECK(second.allow.empty());
  CHECK(second.deny.empty());
  CHECK_FALSE(second.max_sessions);
  CHECK_FALSE(second.max_sessions_per_ip);
  CHECK_FALSE(second.max_connects_per_minute);
}

TEST_CASE("config policy: gate is read on connect and auth_success handlers and defaults to false") {
  TempDir dir;
  dir.script("h.sh");
  const std::string yaml = std::string(listener) + R"(events:
  connect:
    - name: office_hours
      cmd: h.sh {client_ip}
      gate: true
      timeout: 5
    - name: plain
      cmd: h.sh
  auth_success:
    - name: second_factor
      cmd: h.sh {user}
      gate: true
    - name: not_a_gate
      cmd: h.sh
      gate: false
)";
  const Config& config = require_ok(load_config_string(yaml, "g.yaml", dir.path()));
  const auto& connect = config.hooks_for(EventKind::connect);
  REQUIRE(connect.size() == 2);
  CHECK(connect[0].gate);
  CHECK(connect[0].timeout == 5s);
  CHECK_FALSE(connect[1].gate);
  const auto& success = config.hooks_for(EventKind::auth_success);
  REQUIRE(success.size() == 2);
  CHECK(success[0].gate);
  CHECK_FALSE(success[1].gate);
}

TEST_CASE("config policy: ban and blocked handlers are accepted and may use failures and ban_until") {
  TempDir dir;
  dir.script("h.sh");
  const std::string yaml = std::string(listener) + R"(events:
  ban:
    - name: notify
      cmd: h.sh {client_ip} {failures} {ban_until}
  blocked:
    - name: audit
      action: log
      path: blocked.jsonl
)";
  const Config& config = require_ok(load_config_string(yaml, "e.yaml", dir.path()));
  REQUIRE(config.hooks_for(EventKind::ban).size() == 1);
  CHECK(config.hooks_for(EventKind::ban)[0].argv.at(2) == "{failures}");
  REQUIRE(config.hooks_for(EventKind::blocked).size() == 1);
  CHECK(config.hooks_for(EventKind::blocked)[0].event == EventKind::blocked);
}

// ---- rejections ----

TEST_CASE("config policy rejects: gate on handlers other than connect and auth_success, and on log actions") {
  for (const char* event : {"auth_failure", "disconnect", "ban", "blocked"}) {
    INFO(event);
    require_single_policy_problem(
        std::string(listener) + "events:\n  " + event + ":\n    - name: h\n      cmd: h.sh\n      gate: true\n",
        std::string("events.") + event + "[0].gate", "gate",
        std::string("gate is only allowed on connect and auth_success handlers, not on ") + event);
  }
  require_single_policy_problem(
      std::string(listener) + "events:\n  disconnect:\n    - name: h\n      cmd: h.sh\n      gate: false\n",
      "events.disconnect[0].gate", "gate", "gate is only allowed on connect and auth_success");
  require_single_policy_problem(
      std::string(listener) +
          "events:\n  connect:\n    - name: l\n      action: log\n      path: x\n      gate: true\n",
      "events.connect[0].gate", "gate", "gate does not apply to action: log");
  require_single_policy_problem(
      std::string(listener) + "events:\n  connect:\n    - name: h\n      cmd: h.sh\n      gate: yes\n",
      "events.connect[0].gate", "gate", "expected true or false, got \"yes\"");
}

TEST_CASE("config policy rejects: malformed CIDRs in listener allow/deny at the item's line") {
  require_single_policy_problem(std::string(listener) + "    allow: [\"10.0.0.0/33\"]\n", "listeners[0].allow[0]",
                                "allow",
                                "the prefix length after '/' must be a number from 0 to 32, got \"10.0.0.0/33\"");
  require_single_policy_problem(
      std::string(listener) + "    deny:\n      - 10.0.9.0/24\n      - 10.0.9.1/24\n", "listeners[0].deny[1]",
      "10.0.9.1/24", "host bits are set below the prefix length in \"10.0.9.1/24\"; did you mean 10.0.9.0/24?");
  require_single_policy_problem(std::string(listener) + "    deny:\n      - office.example.com\n",
                                "listeners[0].deny[0]", "office.example.com",
                                "expected an IP address or address block");
  require_single_policy_problem(std::string(listener) + "    allow: \"10.0.0.0/8\"\n", "listeners[0].allow", "allow",
                                "expected a list of addresses or address blocks");
  require_single_policy_problem(std::string(listener) + "    allow:\n      - \"\"\n", "listeners[0].allow[0]", "- \"\"",
                                "must not be empty");
  require_single_policy_problem(std::string(listener) + "    allow:\n      - [10.0.0.0/8]\n", "listeners[0].allow[0]",
                                "- [10", "expected a value, got a list");
}

TEST_CASE("config policy rejects: listener limits that are zero, negative, too large or not numbers") {
  for (const char* key : {"max_sessions", "max_sessions_per_ip", "max_connects_per_minute"}) {
    INFO(key);
    for (const char* value : {"0", "-3"})
      require_single_policy_problem(std::string(listener) + "    " + key + ": " + value + "\n",
                                    std::string("listeners[0].") + key, key, "must be at least 1");
    require_single_policy_problem(std::string(listener) + "    " + key + ": 1000000001\n",
                                  std::string("listeners[0].") + key, key, "at most 1000000000");
    require_single_policy_problem(std::string(listener) + "    " + key + ": many\n", std::string("listeners[0].") + key,
                                  key, "expected a whole number, got \"many\"");
  }
}

TEST_CASE("config policy rejects: bad blocking values, each at its key") {
  require_single_policy_problem(with_blocking("  enabled: sometimes\n"), "blocking.enabled", "enabled",
                                "expected true or false");
  require_single_policy_problem(with_blocking("  max_failures: 0\n"), "blocking.max_failures", "max_failures",
                                "must be at least 1");
  require_single_policy_problem(with_blocking("  max_failures: 10001\n"), "blocking.max_failures", "max_failures",
                                "at most 10000");
  require_single_policy_problem(with_blocking("  window: 0\n"), "blocking.window", "window", "must be greater than 0");
  require_single_policy_problem(with_blocking("  window: 1.5\n"), "blocking.window", "window",
                                "must be a whole number of seconds");
  require_single_policy_problem(with_blocking("  ban: forever\n"), "blocking.ban", "ban:", "expected seconds");
  require_single_policy_problem(with_blocking("  max_ban: 500ms\n"), "blocking.max_ban", "max_ban",
                                "must be a whole number of seconds");
  require_single_policy_problem(with_blocking("  allow: [\"127.0.0.1/8\"]\n"), "blocking.allow[0]", "allow",
                                "did you mean 127.0.0.0/8?");
  require_single_policy_problem(with_blocking("  state_file: [a]\n"), "blocking.state_file", "state_file",
                                "expected a value, got a list");
  require_single_policy_problem(with_blocking("  bans: 1h\n"), "blocking.bans", "bans",
                                "unknown key \"bans\" (known: enabled, max_failures, window, ban, max_ban, allow, key, "
                                "state_file, shared)");
  require_single_policy_problem(std::string(listener) + "blocking: true\n", "blocking", "blocking",
                                "expected a mapping (key: value lines), got \"true\"");
}

TEST_CASE("config policy rejects: max_ban shorter than ban, or ban longer than the default max_ban") {
  require_single_policy_problem(with_blocking("  ban: 2h\n  max_ban: 1h\n"), "blocking.max_ban", "max_ban",
                                "max_ban (1h) must not be shorter than ban (2h)");
  require_single_policy_problem(with_blocking("  ban: 2w\n"), "blocking.ban", "ban:", "expected seconds");
  require_single_policy_problem(with_blocking("  ban: 48h\n"), "blocking.ban",
                                "ban:", "ban (48h) is longer than the default max_ban (24h); set max_ban too");
  // A ban that failed to parse is not compared (one problem, not two).
  require_single_policy_problem(with_blocking("  ban: soon\n  max_ban: 10m\n"), "blocking.ban",
                                "ban:", "expected seconds");
}

TEST_CASE("config policy rejects: key prefixes out of range and unknown key settings") {
  for (const char* value : {"0", "33"})
    require_single_policy_problem(with_blocking("  key:\n    ipv4_prefix: " + std::string(value) + "\n"),
                                  "blocking.key.ipv4_prefix", "ipv4_prefix", "must be at least 1 and at most 32");
  for (const char* value : {"0", "129"})
    require_single_policy_problem(with_blocking("  key:\n    ipv6_prefix: " + std::string(value) + "\n"),
                                  "blocking.key.ipv6_prefix", "ipv6_prefix", "must be at least 1 and at most 128");
  require_single_policy_problem(with_blocking("  key:\n    prefix: 24\n"), "blocking.key.prefix",
                                "prefix:", "unknown key \"prefix\" (known: ipv4_prefix, ipv6_prefix)");
  require_single_policy_problem(with_blocking("  key: 24\n"), "blocking.key", "key:", "expected a mapping");
}

TEST_CASE("config policy rejects: control socket paths too long for a unix socket, and unknown control keys") {
  const std::string long_path = "/run/" + std::string(103, 's');  // 108 bytes
  require_single_policy_problem(std::string(listener) + "control:\n  socket: " + long_path + "\n", "control.socket",
                                "socket:", "is 108 bytes; a unix socket path can have at most 107");
  const std::string longest = "/run/" + std::string(102, 's');  // 107 bytes: fits
  TempDir dir;
  CHECK(require_ok(load_config_string(std::string(listener) + "control:\n  socket: " + longest + "\n", "c.yaml",
                                      dir.path()))
            .control_socket == longest);
  require_single_policy_problem(std::string(listener) + "control:\n  path: /run/x.sock\n", "control.path",
                                "path:", "unknown key \"path\" (known: socket)");
  require_single_policy_problem(std::string(listener) + "control:\n  socket: [a]\n", "control.socket",
                                "socket:", "expected a value, got a list");
}

TEST_CASE("config policy: from a file, state_file and the control socket resolve against the file's directory") {
  TempDir dir;
  const auto file = dir.write("etc/vhm.yaml", std::string(listener) +
                                                  "blocking:\n  state_file: ../state/bans.json\ncontrol:\n"
                                                  "  socket: ctl.sock\n");
  const auto result = load_config_file(file);
  INFO(describe(result));
  REQUIRE(result.ok());
  REQUIRE(result.config->blocking);
  CHECK(result.config->blocking->state_file == dir.path() / "state/bans.json");
  CHECK(result.config->control_socket == dir.path() / "etc/ctl.sock");
}
