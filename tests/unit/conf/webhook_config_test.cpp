// `action: webhook` at load: the guide's format verbatim, the parsed url, the
// JSON body check, and each rejection with its key, line and message.
#include <catch2/catch.hpp>

#include "conf/config_loader.hpp"
#include "conf/json_template.hpp"
#include "conf/webhook_url.hpp"
#include "conf_test_support.hpp"

using namespace vhm::conf;
using test::contains;
using test::describe;
using test::line_of;
using test::listener;
using test::TempDir;

namespace {

// A self-signed CA certificate (EC P-256, valid until 2126), for ca_file.
constexpr std::string_view webhook_test_ca = R"(-----BEGIN CERTIFICATE-----
MIIBjTCCATOgAwIBAgIUR4ZfV/Kegssfk0aYeZRHXpwJpNUwCgYIKoZIzj0EAwIw
GzEZMBcGA1UEAwwQdmhtIGNvbmYgdGVzdCBDQTAgFw0yNjExMzAwMjI1NDRaGA8y
MTI2MTEwNjAyMjU0NFowGzEZMBcGA1UEAwwQdmhtIGNvbmYgdGVzdCBDQTBZMBMG
ByqGSM49AgEGCCqGSM49AwEHA0IABGxU0aLSkzQ+HfAKHO7Q+qpqxu4+fw7Y4gwH
l1CGKfvTuWpa3GkxaICpwXuiWwd2IkFC14AartjEg2yYFIO0CbqjUzBRMB0GA1Ud
DgQWBBQb+ZSaWM67fwKqK2vuL+CCfxWk2jAfBgNVHSMEGDAWgBQb+ZSaWM67fwKq
K2vuL+CCfxWk2jAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIGN8
FCZEYr08FIDSmW5EFX71/fC9EiE5lHInYnF0LElLAiEAwLYkMTu9s5lIz3M5kZC7
BZNlXnChM2QMOWJ8oodnDDM=
-----END CERTIFICATE-----
)";

std::string webhook_yaml(std::string_view event, std::string_view hook_lines) {
  return std::string(listener) + "events:\n  " + std::string(event) + ":\n" + std::string(hook_lines);
}

HookConfig load_one_webhook(const std::string& yaml, const TempDir& dir) {
  const auto result = load_config_string(yaml, "ok.yaml", dir.path());
  INFO("yaml:\n" << yaml << "\nproblems:\n" << describe(result));
  REQUIRE(result.ok());
  for (const auto& [kind, hooks] : result.config->events)
    if (!hooks.empty()) return hooks.front();
  FAIL("no hook loaded");
  return {};
}

// Exactly one problem, at `key`, on the line containing `needle`, whose message contains `message`.
void webhook_rejected(const std::string& yaml, std::string_view key, std::string_view needle,
                      std::string_view message) {
  TempDir dir;
  dir.write("ca.pem", webhook_test_ca);
  dir.write("not-a-ca.pem", "hello\n");
  const auto result = load_config_string(yaml, "bad.yaml", dir.path());
  INFO("yaml:\n" << yaml << "\nproblems:\n" << describe(result));
  CHECK_FALSE(result.ok());
  REQUIRE(result.problems.size() == 1);
  const ConfigProblem& problem = result.problems[0];
  CHECK(problem.key == key);
  CHECK(problem.line == line_of(yaml, needle));
  CHECK(contains(problem.message, message));
}

std::string webhook_with(std::string_view lines, std::string_view event = "connect") {
  return webhook_yaml(event, "    - name: w\n      action: webhook\n" + std::string(lines));
}

}  // namespace

TEST_CASE("webhook config: the hook-manager guide's block loads unchanged") {
  const std::string yaml = webhook_yaml("connect", R"(    - name: post_webhook
      action: webhook
      url: https://hooks.example.com/vnc
      method: POST
      headers: { Authorization: "Bearer XYZ" }
      body: '{"user":"{user}","display":"{display}","ip":"{client_ip}"}'
      timeout: 10
)");
  TempDir dir;
  const HookConfig hook = load_one_webhook(yaml, dir);
  CHECK(hook.name == "post_webhook");
  CHECK(hook.action == HookAction::webhook);
  CHECK(hook.timeout == std::chrono::seconds(10));
  CHECK(hook.webhook.url == "https://hooks.example.com/vnc");
  CHECK(hook.webhook.tls);
  CHECK(hook.webhook.host == "hooks.example.com");
  CHECK(hook.webhook.port == 443);
  CHECK(hook.webhook.target == "/vnc");
  CHECK(hook.webhook.method == "POST");
  CHECK(hook.webhook.headers == std::vector<std::pair<std::string, std::string>>{{"Authorization", "Bearer XYZ"}});
  CHECK(hook.webhook.body == R"({"user":"{user}","display":"{display}","ip":"{client_ip}"})");
  CHECK(hook.webhook.body_is_json);
  CHECK_FALSE(hook.webhook.insecure);
  CHECK(hook.webhook.ca_file.empty());
  CHECK_FALSE(hook.gate);
}

TEST_CASE("webhook config: defaults, user-info as Basic auth, ports, ca_file, gate, retries") {
  TempDir dir;
  dir.write("ca.pem", webhook_test_ca);
  SECTION("defaults: POST, 10 s, no body (the event as JSON)") {
    const auto hook = load_one_webhook(webhook_with("      url: http://127.0.0.1:8080\n"), dir);
    CHECK(hook.webhook.method == "POST");
    CHECK(hook.timeout == std::chrono::seconds(10));
    CHECK_FALSE(hook.webhook.tls);
    CHECK(hook.webhook.port == 8080);
    CHECK(hook.webhook.target == "/");
    CHECK_FALSE(hook.webhook.body.has_value());
    CHECK(hook.retries == 0);
  }
  SECTION("user-info becomes an Authorization header, percent-decoded") {
    const auto hook = load_one_webhook(webhook_with("      url: https://bot:p%40ss@[::1]/h?x={user}\n"), dir);
    CHECK(hook.webhook.host == "::1");
    CHECK(hook.webhook.port == 443);
    CHECK(hook.webhook.target == "/h?x={user}");
    // base64("bot:p@ss")
    CHECK(hook.webhook.headers == std::vector<std::pair<std::string, std::string>>{{"Authorization", "Basic Ym90OnBAc3M="}});
  }
  SECTION("a query without a path gets '/'") {
    const auto hook = load_one_webhook(webhook_with("      url: http://example.com?a={event}\n"), dir);
    CHECK(hook.webhook.target == "/?a={event}");
  }
  SECTION("method in any case; retries, gate, ca_file relative to the config") {
    const auto hook = load_one_webhook(webhook_with("      url: https://example.com/\n      method: put\n"
                                                    "      retries: 3\n      gate: true\n      ca_file: ca.pem\n"
                                                    "      timeout: 500ms\n"),
                                       dir);
    CHECK(hook.webhook.method == "PUT");
    CHECK(hook.retries == 3);
    CHECK(hook.gate);
    CHECK(hook.webhook.ca_file == dir.path() / "ca.pem");
    CHECK(hook.timeout == std::chrono::milliseconds(500));
  }
  SECTION("insecure: true") {
    const auto hook = load_one_webhook(webhook_with("      url: https://example.com/\n      insecure: true\n"), dir);
    CHECK(hook.webhook.insecure);
  }
}

TEST_CASE("webhook config: which bodies are JSON") {
  TempDir dir;
  SECTION("no Content-Type and not JSON: text, substituted as written") {
    const auto hook = load_one_webhook(webhook_with("      url: http://h/\n      body: 'user {user} left'\n"), dir);
    CHECK_FALSE(hook.webhook.body_is_json);
  }
  SECTION("placeholders outside strings are whole values") {
    const auto hook = load_one_webhook(
        webhook_with("      url: http://h/\n      body: '{\"w\": {width}, \"list\": [{height}, \"{user}\"]}'\n"), dir);
    CHECK(hook.webhook.body_is_json);
  }
  SECTION("Content-Type JSON (any spelling) and valid") {
    const auto hook = load_one_webhook(webhook_with("      url: http://h/\n      headers:\n"
                                                    "        content-type: application/vnd.api+json\n"
                                                    "      body: '[\"{user}\"]'\n"),
                                       dir);
    CHECK(hook.webhook.body_is_json);
  }
  SECTION("another Content-Type: never treated as JSON") {
    const auto hook = load_one_webhook(webhook_with("      url: http://h/\n      headers:\n"
                                                    "        Content-Type: text/plain\n"
                                                    "      body: '{\"a\": \"{user}\"}'\n"),
                                       dir);
    CHECK_FALSE(hook.webhook.body_is_json);
  }
}

TEST_CASE("webhook config: the JSON template walker") {
  std::vector<std::pair<std::string, bool>> seen;
  const auto out = expand_json_template(R"({"a":"x{user}\"{display}","b":{width},"c":"\\{event}"})",
                                        [&](std::string_view name, bool in_string) {
                                          seen.emplace_back(std::string(name), in_string);
                                          return std::string("V");
                                        });
  CHECK(out == R"({"a":"xV\"V","b":V,"c":"\\V"})");
  CHECK(seen == std::vector<std::pair<std::string, bool>>{
                    {"user", true}, {"display", true}, {"width", false}, {"event", true}});
  CHECK_FALSE(json_body_problem(R"( {"a": [1, {width}, "{user}"]} )").has_value());
  CHECK(json_body_problem(R"({"a": 1,})") == "syntax error at byte 8");
  CHECK(json_body_problem(R"({"a": "{user}")").value().find("at the end") != std::string::npos);
  CHECK(json_body_problem(R"({} {})") == "extra data after the JSON value at byte 3");
}

TEST_CASE("webhook config rejects: url problems, never quoting the url") {
  webhook_rejected(webhook_with("      method: POST\n"), "events.connect[0].url", "name: w",
                   "url is required for action: webhook");
  webhook_rejected(webhook_with("      url: ftp://h/x\n"), "events.connect[0].url", "url:",
                   "url must start with http:// or https://");
  webhook_rejected(webhook_with("      url: https:///x\n"), "events.connect[0].url", "url:", "url has no host");
  webhook_rejected(webhook_with("      url: https://h_x/x\n"), "events.connect[0].url", "url:",
                   "the host must be a DNS name, an IPv4 address or [IPv6]");
  webhook_rejected(webhook_with("      url: https://h:99999/x\n"), "events.connect[0].url", "url:",
                   "the port must be a number from 1 to 65535");
  webhook_rejected(webhook_with("      url: https://h:/x\n"), "events.connect[0].url", "url:",
                   "the port must be a number from 1 to 65535");
  webhook_rejected(webhook_with("      url: https://[::1/x\n"), "events.connect[0].url", "url:",
                   "needs its closing ']'");
  webhook_rejected(webhook_with("      url: https://{target_host}/x\n"), "events.connect[0].url", "url:",
                   "{placeholders} may only stand in the path and query");
  webhook_rejected(webhook_with("      url: https://h/x#frag\n"), "events.connect[0].url", "url:", "#fragment");
  webhook_rejected(webhook_with("      url: \"https://h/a b\"\n"), "events.connect[0].url", "url:",
                   "must not contain spaces");
  webhook_rejected(webhook_with("      url: https://h/{hostname}\n"), "events.connect[0].url", "url:",
                   "unknown placeholder {hostname} (known: event, session_id,");
  webhook_rejected(webhook_with("      url: https://%zz@h/\n"), "events.connect[0].url", "url:",
                   "user-info before '@' is empty or badly percent-encoded");
  // The secret in the path never shows in the message.
  TempDir dir;
  const std::string yaml = webhook_with("      url: ftp://hooks.slack.com/services/T000/SECRET\n");
  const auto result = load_config_string(yaml, "bad.yaml", dir.path());
  REQUIRE(result.problems.size() == 1);
  CHECK_FALSE(contains(result.problems[0].to_string(), "SECRET"));
}

TEST_CASE("webhook config rejects: methods, headers, bodies, timeouts") {
  webhook_rejected(webhook_with("      url: http://h/\n      method: TRACE\n"), "events.connect[0].method", "method:",
                   "unknown method \"TRACE\" (known: GET, POST, PUT, PATCH, DELETE)");
  webhook_rejected(webhook_with("      url: http://h/\n      headers: [a]\n"), "events.connect[0].headers", "headers:",
                   "expected a mapping of header names to values, got a list");
  webhook_rejected(webhook_with("      url: http://h/\n      headers:\n        \"X Bad\": v\n"),
                   "events.connect[0].headers.X Bad", "X Bad", "header name \"X Bad\" is not an HTTP token");
  for (std::string_view name : {"Host", "content-length", "Transfer-Encoding", "Connection"}) {
    webhook_rejected(webhook_with("      url: http://h/\n      headers:\n        " + std::string(name) + ": v\n"),
                     "events.connect[0].headers." + std::string(name), std::string(name) + ": v",
                     "header is set by the client itself and cannot be configured");
  }
  webhook_rejected(webhook_with("      url: http://h/\n      headers:\n        X-Token: \"a\\r\\nX-Evil: 1\"\n"),
                   "events.connect[0].headers.X-Token", "X-Token", "a header value cannot contain control characters");
  webhook_rejected(webhook_with("      url: http://h/\n      headers:\n        X-Who: \"{nobody}\"\n"),
                   "events.connect[0].headers.X-Who", "X-Who", "unknown placeholder {nobody}");
  webhook_rejected(webhook_with("      url: http://u:p@h/\n      headers:\n        authorization: Bearer x\n"),
                   "events.connect[0].headers.authorization", "authorization:",
                   "Authorization is given twice (by the url's user-info and here)");
  webhook_rejected(webhook_with("      url: http://h/\n      headers: {Content-Type: application/json}\n"
                                "      body: '{\"user\": {user'\n"),
                   "events.connect[0].body", "body:", "body is not valid JSON (Content-Type says JSON): ");
  webhook_rejected(webhook_with("      url: http://h/\n      body: '{\"u\": \"{usr}\"}'\n"), "events.connect[0].body",
                   "body:", "unknown placeholder {usr}");
  webhook_rejected(webhook_with("      url: http://h/\n      timeout: 0\n"), "events.connect[0].timeout", "timeout:",
                   "must be greater than 0");
}

TEST_CASE("webhook config rejects: keys of other actions, gates off connect/auth_success, TLS keys") {
  webhook_rejected(webhook_with("      url: http://h/\n      cmd: h.sh\n"), "events.connect[0].cmd", "cmd:",
                   "cmd does not apply to action: webhook");
  webhook_rejected(webhook_with("      url: http://h/\n      run_as: root\n"), "events.connect[0].run_as", "run_as:",
                   "run_as does not apply to action: webhook");
  webhook_rejected(webhook_with("      url: http://h/\n      terminate_on_next_event: true\n"),
                   "events.connect[0].terminate_on_next_event", "terminate_on_next_event:",
                   "terminate_on_next_event does not apply to action: webhook");
  webhook_rejected(webhook_with("      url: http://h/\n      path: x.jsonl\n"), "events.connect[0].path", "path:",
                   "path does not apply to action: webhook");
  webhook_rejected(webhook_with("      url: http://h/\n      gate: true\n", "disconnect"), "events.disconnect[0].gate",
                   "gate:", "gate is only allowed on connect and auth_success handlers, not on disconnect");
  webhook_rejected(webhook_with("      url: http://h/\n      ca_file: ca.pem\n"), "events.connect[0].ca_file",
                   "ca_file:", "ca_file is only for https:// urls");
  webhook_rejected(webhook_with("      url: http://h/\n      insecure: true\n"), "events.connect[0].insecure",
                   "insecure:", "insecure is only for https:// urls");
  webhook_rejected(webhook_with("      url: https://h/\n      ca_file: ca.pem\n      insecure: true\n"),
                   "events.connect[0].insecure", "insecure:", "give one or the other");
  webhook_rejected(webhook_with("      url: https://h/\n      ca_file: not-a-ca.pem\n"), "events.connect[0].ca_file",
                   "ca_file:", "not-a-ca.pem");
  webhook_rejected(webhook_with("      url: https://h/\n      ca_file: missing.pem\n"), "events.connect[0].ca_file",
                   "ca_file:", "missing.pem");
  webhook_rejected(webhook_with("      url: https://h/\n      colour: red\n"), "events.connect[0].colour", "colour:",
                   "unknown key \"colour\"");
}
