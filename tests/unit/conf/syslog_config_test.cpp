// action: syslog keys: defaults, every target form, names, and each rejection.
#include <catch2/catch.hpp>

#include "conf/config_loader.hpp"
#include "conf_test_support.hpp"

using namespace vhm::conf;
using test::contains;
using test::describe;
using test::line_of;
using test::listener;
using test::problem_for;

namespace {

std::string syslog_hook(std::string_view event, std::string_view extra_lines) {
  return std::string(listener) + "events:\n  " + std::string(event) +
         ":\n    - name: siem\n      action: syslog\n" + std::string(extra_lines);
}

HookConfig load_one(std::string_view event, std::string_view extra_lines) {
  test::TempDir dir;
  const auto result = load_config_string(syslog_hook(event, extra_lines), "s.yaml", dir.path());
  const Config config = test::require_ok(result);
  const auto kind = *parse_event_kind(event);
  REQUIRE(config.hooks_for(kind).size() == 1);
  return config.hooks_for(kind)[0];
}

// Exactly one problem, at key, on the line containing needle, with message.
void require_problem(std::string_view extra_lines, std::string_view key, std::string_view needle,
                     std::string_view message, std::string_view event = "connect") {
  test::TempDir dir;
  const std::string yaml = syslog_hook(event, extra_lines);
  const auto result = load_config_string(yaml, "s.yaml", dir.path());
  INFO("yaml:\n" << yaml << "\nproblems:\n" << describe(result));
  REQUIRE(result.problems.size() == 1);
  CHECK(result.problems[0].key == key);
  CHECK(result.problems[0].line == line_of(yaml, needle));
  CHECK(contains(result.problems[0].message, message));
}

constexpr std::string_view hook_key = "events.connect[0]";

}  // namespace

TEST_CASE("syslog config: defaults are /dev/log, authpriv, severity by event, 2s") {
  const HookConfig hook = load_one("auth_failure", "");
  CHECK(hook.action == HookAction::syslog);
  CHECK(hook.syslog.transport == SyslogTransport::unix_socket);
  CHECK(hook.syslog.socket_path == "/dev/log");
  CHECK(hook.syslog.facility == 10);
  CHECK_FALSE(hook.syslog.severity);
  CHECK(hook.syslog.app_name == "vnc-hooks-manager");
  CHECK_FALSE(hook.syslog.message);
  CHECK(hook.timeout == std::chrono::seconds(2));
  CHECK(hook.retries == 0);
}

TEST_CASE("syslog config: every key") {
  const HookConfig hook = load_one("disconnect", R"(      target: "tcp://collector.example:6514"
      facility: local3
      severity: info
      app_name: vnc-proxy-A
      timeout: 500ms
      message: "{user} left after {duration}s"
      retries: 3
)");
  CHECK(hook.syslog.transport == SyslogTransport::tcp);
  CHECK(hook.syslog.address.host == "collector.example");
  CHECK(hook.syslog.address.port == 6514);
  CHECK(hook.syslog.facility == 19);
  CHECK(hook.syslog.severity == 6);
  CHECK(hook.syslog.app_name == "vnc-proxy-A");
  CHECK(hook.timeout == std::chrono::milliseconds(500));
  CHECK(hook.syslog.message == "{user} left after {duration}s");
  CHECK(hook.retries == 3);
}

TEST_CASE("syslog config: target forms and default ports") {
  struct Case {
    std::string target;
    SyslogTransport transport;
    std::string host;
    int port;
  };
  const Case cases[] = {
      {"udp://192.0.2.1", SyslogTransport::udp, "192.0.2.1", 514},
      {"udp://192.0.2.1:5140", SyslogTransport::udp, "192.0.2.1", 5140},
      {"udp://[2001:db8::1]", SyslogTransport::udp, "2001:db8::1", 514},
      {"tcp://[::1]:1601", SyslogTransport::tcp, "::1", 1601},
      {"tcp://logs.example.org", SyslogTransport::tcp, "logs.example.org", 601},
  };
  for (const auto& c : cases) {
    INFO(c.target);
    const HookConfig hook = load_one("connect", "      target: \"" + c.target + "\"\n");
    CHECK(hook.syslog.transport == c.transport);
    CHECK(hook.syslog.address.host == c.host);
    CHECK(hook.syslog.address.port == c.port);
  }
  const HookConfig unix_hook = load_one("connect", "      target: /run/systemd/journal/syslog\n");
  CHECK(unix_hook.syslog.transport == SyslogTransport::unix_socket);
  CHECK(unix_hook.syslog.socket_path == "/run/systemd/journal/syslog");
}

TEST_CASE("syslog config: every facility and severity name") {
  const std::pair<const char*, int> facilities[] = {
      {"kern", 0},    {"user", 1},    {"mail", 2},    {"daemon", 3},  {"auth", 4},    {"syslog", 5},   {"lpr", 6},
      {"news", 7},    {"uucp", 8},    {"cron", 9},    {"authpriv", 10}, {"ftp", 11},  {"local0", 16},  {"local7", 23}};
  for (const auto& [name, number] : facilities) {
    INFO(name);
    CHECK(load_one("connect", std::string("      facility: ") + name + "\n").syslog.facility == number);
  }
  const char* severities[] = {"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"};
  for (int i = 0; i < 8; ++i) {
    INFO(severities[i]);
    CHECK(load_one("connect", std::string("      severity: ") + severities[i] + "\n").syslog.severity == i);
  }
}

TEST_CASE("syslog config: bad targets") {
  require_problem("      target: \"syslog.example:514\"\n", std::string(hook_key) + ".target", "      target:",
                  "is not a syslog target: use an absolute socket path (default /dev/log), udp://HOST[:PORT]");
  require_problem("      target: \"udp://2001:db8::1:514\"\n", std::string(hook_key) + ".target", "      target:",
                  "an IPv6 address needs brackets");
  require_problem("      target: \"udp://[2001:db8::1:514\"\n", std::string(hook_key) + ".target", "      target:",
                  "without its closing ']'");
  require_problem("      target: \"tcp://host:0\"\n", std::string(hook_key) + ".target", "      target:",
                  "is not a number from 1 to 65535");
  require_problem("      target: \"tcp://host:70000\"\n", std::string(hook_key) + ".target", "      target:",
                  "is not a number from 1 to 65535");
  require_problem("      target: \"tcp://:601\"\n", std::string(hook_key) + ".target", "      target:", "the host is missing");
  require_problem("      target: \"udp://a b:514\"\n", std::string(hook_key) + ".target", "      target:",
                  "is not a host name or IPv4 address");
  require_problem("      target: \"relative/log\"\n", std::string(hook_key) + ".target", "      target:",
                  "is not a syslog target");
  require_problem("      target: \"/" + std::string(120, 'x') + "\"\n", std::string(hook_key) + ".target", "      target:",
                  "longer than 107 bytes");
  require_problem("      target: \"\"\n", std::string(hook_key) + ".target", "      target:", "");
}

TEST_CASE("syslog config: bad names") {
  require_problem("      facility: local8\n", std::string(hook_key) + ".facility", "facility:",
                  "unknown facility \"local8\" (known: kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, "
                  "authpriv, ftp, local0,");
  require_problem("      severity: warn\n", std::string(hook_key) + ".severity", "severity:",
                  "unknown severity \"warn\" (known: emerg, alert, crit, err, warning, notice, info, debug)");
  require_problem("      app_name: \"vnc proxy\"\n", std::string(hook_key) + ".app_name", "app_name:",
                  "must be printable US-ASCII without spaces");
  require_problem("      app_name: \"" + std::string(49, 'a') + "\"\n", std::string(hook_key) + ".app_name",
                  "app_name:", "longer than 48 characters");
  require_problem("      app_name: \"caf\xC3\xA9\"\n", std::string(hook_key) + ".app_name", "app_name:",
                  "printable US-ASCII");
  require_problem("      message: \"{user} {nope}\"\n", std::string(hook_key) + ".message", "message:",
                  "unknown placeholder {nope}");
  require_problem("      timeout: 0\n", std::string(hook_key) + ".timeout", "timeout:", "must be greater than 0");
  require_problem("      timeout: 31s\n", std::string(hook_key) + ".timeout", "timeout:", "at most 30s");
}

TEST_CASE("syslog config: keys of other actions are refused with the reason") {
  test::TempDir dir;
  dir.script("h.sh");
  require_problem("      cmd: h.sh\n", std::string(hook_key) + ".cmd", "cmd:", "cmd does not apply to action: syslog");
  require_problem("      run_as: root\n", std::string(hook_key) + ".run_as", "run_as:",
                  "run_as does not apply to action: syslog");
  require_problem("      terminate_on_next_event: true\n", std::string(hook_key) + ".terminate_on_next_event",
                  "terminate_on_next_event:", "does not apply to action: syslog");
  require_problem("      path: /tmp/x\n", std::string(hook_key) + ".path", "path:", "path is only for action: log");
  require_problem("      gate: true\n", std::string(hook_key) + ".gate", "gate:",
                  "gate does not apply to action: syslog");
  require_problem("      url: http://x\n", std::string(hook_key) + ".url", "url:", "unknown key \"url\"");
}
