// A listener's front-end keys (conf/load_frontend.hpp) through the real
// loader: protocols and their defaults, the HTTP keys, websocket:, proxies,
// target_tls, and each rejection with its file, line and key. frontend_tls:
// needs certificates: tests/unit/tls/frontend_tls_config_test.cpp.
#include <catch2/catch.hpp>

#include "conf/config_loader.hpp"
#include "conf/load_frontend.hpp"
#include "conf_test_support.hpp"

using namespace vhm::conf;
using test::contains;
using test::describe;
using test::line_of;
using test::TempDir;

namespace {

constexpr std::uint8_t bits(std::initializer_list<FrontProtocol> protocols) {
  std::uint8_t set = 0;
  for (auto p : protocols) set |= static_cast<std::uint8_t>(p);
  return set;
}

// A scratch directory with what the keys point at: web/ (a directory),
// tokens.cfg, tokens.d/ and users.htpasswd.
struct FrontendFiles {
  TempDir dir;
  FrontendFiles() {
    dir.write("web/vnc.html", "<html></html>\n");
    dir.write("tokens.cfg", "alpha: 127.0.0.1:5901\n");
    dir.write("tokens.d/one", "beta: 127.0.0.1:5902\n");
    dir.write("users.htpasswd", "alice:$2y$05$abcdefghijklmnopqrstuuQ0000000000000000000000000000000\n");
  }
};

// One listener: listen, then `body` (each line indented by four spaces).
std::string with_listener(const std::string& body) { return "listeners:\n  - listen: \"127.0.0.1:0\"\n" + body; }

const ListenerConfig& frontend_ok(const FrontendFiles& files, const std::string& yaml, Config& keep) {
  const auto result = load_config_string(yaml, "t.yaml", files.dir.path());
  INFO("yaml:\n" << yaml << "\nproblems:\n" << describe(result));
  REQUIRE(result.ok());
  keep = *result.config;
  REQUIRE(keep.listeners.size() == 1);
  return keep.listeners.front();
}

// Exactly one problem, at `key` on the line containing `needle`, saying `message`.
void frontend_rejected(const FrontendFiles& files, const std::string& yaml, std::string_view key,
                       std::string_view needle, std::string_view message) {
  const auto result = load_config_string(yaml, "bad.yaml", files.dir.path());
  INFO("yaml:\n" << yaml << "\nproblems:\n" << describe(result));
  CHECK(result.config == nullptr);
  REQUIRE(result.problems.size() == 1);
  const ConfigProblem& problem = result.problems.front();
  CHECK(problem.file == "bad.yaml");
  CHECK(problem.key == key);
  CHECK(problem.line == line_of(yaml, needle));
  CHECK(contains(problem.message, message));
}

}  // namespace

TEST_CASE("frontend config: a listener without front-end keys speaks plain RFB and never sniffs") {
  FrontendFiles files;
  Config keep;
  const auto& listener = frontend_ok(files, with_listener("    target: \":1\"\n"), keep);
  CHECK(listener.frontend.protocols == bits({FrontProtocol::rfb}));
  CHECK_FALSE(listener.frontend.needed());
  CHECK(listener.frontend.sniff_timeout == std::chrono::milliseconds(300));
  CHECK(listener.frontend.web.root.empty());
  CHECK(listener.frontend.web.heartbeat == std::chrono::seconds(30));
  CHECK(listener.frontend.web.max_message == 16u << 20);
  CHECK(listener.frontend.web.request_timeout == std::chrono::seconds(10));
  CHECK_FALSE(listener.frontend.web.idle_timeout);
  CHECK(listener.frontend.web.realm == "vnc-hooks-manager");
  CHECK_FALSE(listener.target_tls);
  CHECK_FALSE(browser_access_summary(keep));
}

TEST_CASE("frontend config: web, tokens or websocket alone add ws to rfb") {
  FrontendFiles files;
  for (const std::string key : {"    web: web\n", "    tokens: tokens.cfg\n", "    websocket: {heartbeat: 10s}\n",
                                "    http_auth: users.htpasswd\n"}) {
    Config keep;
    const auto& listener = frontend_ok(files, with_listener("    target: \":1\"\n" + key), keep);
    INFO(key);
    CHECK(listener.frontend.protocols == bits({FrontProtocol::rfb, FrontProtocol::ws}));
    CHECK(listener.frontend.needed());
  }
}

TEST_CASE("frontend config: every HTTP key is read; relative paths resolve against the config's directory") {
  FrontendFiles files;
  Config keep;
  const auto& listener = frontend_ok(files, with_listener(R"(    target: "127.0.0.1:5901"
    web: web
    tokens: tokens.d
    token_from_host: true
    http_auth: users.htpasswd
    http_realm: "VNC at example.org"
    sniff_timeout: 50ms
    websocket:
      origins: ["HTTPS://VNC.Example.org", "http://127.0.0.1:6080"]
      heartbeat: 0
      idle_timeout: 10m
      max_message: 1MiB
      request_timeout: 2s
    trusted_proxies: ["10.0.0.0/8", "::1"]
    proxy_protocol: ["192.0.2.1"]
    target_tls: true
)"), keep);
  const FrontendConfig& front = listener.frontend;
  CHECK(front.protocols == bits({FrontProtocol::rfb, FrontProtocol::ws}));
  CHECK(front.sniff_timeout == std::chrono::milliseconds(50));
  CHECK(front.web.root == files.dir.path() / "web");
  CHECK(front.web.tokens == files.dir.path() / "tokens.d");
  CHECK(front.web.token_from_host);
  CHECK(front.web.http_auth == files.dir.path() / "users.htpasswd");
  CHECK(front.web.realm == "VNC at example.org");
  CHECK(front.web.origins == std::vector<std::string>{"https://vnc.example.org", "http://127.0.0.1:6080"});
  CHECK(front.web.heartbeat == std::chrono::milliseconds(0));
  REQUIRE(front.web.idle_timeout);
  CHECK(*front.web.idle_timeout == std::chrono::minutes(10));
  CHECK(front.web.max_message == 1u << 20);
  CHECK(front.web.request_timeout == std::chrono::seconds(2));
  CHECK(front.trusted_proxies == std::vector<Cidr>{test::cidr("10.0.0.0/8"), test::cidr("::1")});
  CHECK(front.proxy_protocol == std::vector<Cidr>{test::cidr("192.0.2.1")});
  CHECK(listener.target_tls);
  CHECK(listener.target.port == 5901);
  CHECK(browser_access_summary(keep) ==
        "browser access on 1 listener(s): ws; tokens from " + (files.dir.path() / "tokens.d").string());
}

TEST_CASE("frontend config: with tokens the target is optional and raw RFB is left out of the default") {
  FrontendFiles files;
  Config keep;
  const auto& listener = frontend_ok(files, with_listener("    tokens: tokens.cfg\n"), keep);
  CHECK(listener.frontend.protocols == bits({FrontProtocol::ws}));
  CHECK(listener.target.host.empty());
  CHECK(listener.target.port == 0);
  CHECK(listener.frontend.web.tokens == files.dir.path() / "tokens.cfg");

  Config keep2;
  const auto& both = frontend_ok(files, with_listener("    target: \":1\"\n    tokens: tokens.cfg\n"), keep2);
  CHECK(both.frontend.protocols == bits({FrontProtocol::rfb, FrontProtocol::ws}));
  CHECK(both.target.port == 5901);
}

TEST_CASE("frontend config: an explicit protocols list; ws without web serves only upgrades") {
  FrontendFiles files;
  Config keep;
  const auto& listener = frontend_ok(files, with_listener("    target: \":1\"\n    protocols: [ws]\n"), keep);
  CHECK(listener.frontend.protocols == bits({FrontProtocol::ws}));
  CHECK(listener.frontend.web.root.empty());
  Config keep2;
  const auto& rfb_only = frontend_ok(files, with_listener("    target: \":1\"\n    protocols: [rfb]\n"), keep2);
  CHECK_FALSE(rfb_only.frontend.needed());
  Config keep3;
  const auto& proxied = frontend_ok(files, with_listener("    target: \":1\"\n    proxy_protocol: [\"10.1.0.0/16\"]\n"), keep3);
  CHECK(proxied.frontend.protocols == bits({FrontProtocol::rfb}));
  CHECK(proxied.frontend.needed());  // the PROXY header is read before the session
}

TEST_CASE("frontend config: protocols rejections") {
  FrontendFiles files;
  const std::string target = "    target: \":1\"\n";
  frontend_rejected(files, with_listener(target + "    protocols: [rfb, http]\n"), "listeners[0].protocols[1]",
                    "protocols:", "expected rfb, tls, ws or wss, got \"http\"");
  frontend_rejected(files, with_listener(target + "    protocols: [ws, rfb, ws]\n"), "listeners[0].protocols[2]",
                    "protocols:", "ws is listed twice");
  frontend_rejected(files, with_listener(target + "    protocols: []\n"), "listeners[0].protocols", "protocols:",
                    "at least one of rfb, tls, ws, wss");
  frontend_rejected(files, with_listener(target + "    protocols: ws\n"), "listeners[0].protocols", "protocols:",
                    "expected a list");
  frontend_rejected(files, with_listener(target + "    protocols: [rfb, tls]\n"), "listeners[0].protocols",
                    "protocols:", "tls needs a certificate: add frontend_tls");
  frontend_rejected(files, with_listener(target + "    protocols: [ws, wss]\n"), "listeners[0].protocols",
                    "protocols:", "wss needs a certificate");
  frontend_rejected(files, with_listener(target + "    protocols: [rfb]\n    web: web\n"), "listeners[0].protocols",
                    "protocols:", "web is served over WebSocket: add ws or wss");
  frontend_rejected(files, with_listener("    tokens: tokens.cfg\n    protocols: [rfb, ws]\n"),
                    "listeners[0].protocols", "protocols:", "rfb cannot be served without a target");
}

TEST_CASE("frontend config: the target is still required without tokens; tokens do not go with transparent") {
  FrontendFiles files;
  frontend_rejected(files, with_listener("    web: web\n"), "listeners[0].target", "listen:", "target is required");
  frontend_rejected(files, with_listener(R"(    transparent: redirect
    allow_targets: ["127.0.0.1:5900-5999"]
    tokens: tokens.cfg
)"), "listeners[0].tokens", "tokens:", "tokens cannot be used with transparent");
}

TEST_CASE("frontend config: paths that do not exist or are of the wrong kind") {
  FrontendFiles files;
  const std::string target = "    target: \":1\"\n";
  frontend_rejected(files, with_listener(target + "    web: missing\n"), "listeners[0].web", "web:", "no such directory");
  frontend_rejected(files, with_listener(target + "    web: tokens.cfg\n"), "listeners[0].web", "web:", "not a directory");
  frontend_rejected(files, with_listener(target + "    web: \"\"\n"), "listeners[0].web", "web:", "must not be empty");
  frontend_rejected(files, with_listener(target + "    tokens: nothing.cfg\n"), "listeners[0].tokens", "tokens:",
                    "no such file");
  frontend_rejected(files, with_listener(target + "    http_auth: web\n"), "listeners[0].http_auth", "http_auth:",
                    "it is a directory");
  frontend_rejected(files, with_listener(target + "    http_auth: none.htpasswd\n"), "listeners[0].http_auth",
                    "http_auth:", "no such file");
}

TEST_CASE("frontend config: token_from_host, http_realm, sniff_timeout and target_tls rejections") {
  FrontendFiles files;
  const std::string target = "    target: \":1\"\n";
  frontend_rejected(files, with_listener(target + "    token_from_host: true\n"), "listeners[0].token_from_host",
                    "token_from_host:", "add tokens");
  frontend_rejected(files, with_listener(target + "    tokens: tokens.cfg\n    token_from_host: yes\n"),
                    "listeners[0].token_from_host", "token_from_host:", "expected true or false");
  frontend_rejected(files, with_listener(target + "    http_realm: 'say \"hi\"'\n"), "listeners[0].http_realm",
                    "http_realm:", "without quotes");
  frontend_rejected(files, with_listener(target + "    http_realm: \"tab\\there\"\n"), "listeners[0].http_realm",
                    "http_realm:", "printable");
  frontend_rejected(files, with_listener(target + "    sniff_timeout: 5ms\n"), "listeners[0].sniff_timeout",
                    "sniff_timeout:", "between 10ms and 10s");
  frontend_rejected(files, with_listener(target + "    sniff_timeout: 11s\n"), "listeners[0].sniff_timeout",
                    "sniff_timeout:", "between 10ms and 10s");
  frontend_rejected(files, with_listener(target + "    sniff_timeout: soon\n"), "listeners[0].sniff_timeout",
                    "sniff_timeout:", "soon");
  frontend_rejected(files, with_listener(target + "    target_tls: maybe\n"), "listeners[0].target_tls",
                    "target_tls:", "expected true or false");
  frontend_rejected(files, with_listener(target + "    protocol: [ws]\n"), "listeners[0].protocol", "protocol:",
                    "unknown key");
}

TEST_CASE("frontend config: websocket section rejections") {
  FrontendFiles files;
  const std::string target = "    target: \":1\"\n";
  const auto ws = [&](const std::string& line) { return with_listener(target + "    websocket:\n      " + line + "\n"); };
  frontend_rejected(files, ws("origins: [vnc.example.org]"), "listeners[0].websocket.origins[0]", "origins:",
                    "no scheme");
  frontend_rejected(files, ws("origins: [\"ftp://vnc.example.org\"]"), "listeners[0].websocket.origins[0]",
                    "origins:", "http or https");
  frontend_rejected(files, ws("origins: [\"https://vnc.example.org/novnc\"]"), "listeners[0].websocket.origins[0]",
                    "origins:", "no path");
  frontend_rejected(files, ws("origins: [\"https://\"]"), "listeners[0].websocket.origins[0]", "origins:", "no host");
  frontend_rejected(files, ws("heartbeat: 100ms"), "listeners[0].websocket.heartbeat", "heartbeat:",
                    "between 1s and 1h");
  frontend_rejected(files, ws("idle_timeout: 500ms"), "listeners[0].websocket.idle_timeout", "idle_timeout:",
                    "between 1s");
  frontend_rejected(files, with_listener(target + "    websocket:\n      heartbeat: 30s\n      idle_timeout: 20s\n"),
                    "listeners[0].websocket.idle_timeout", "idle_timeout:", "must be longer than heartbeat (30s)");
  frontend_rejected(files, ws("idle_timeout: 30s"), "listeners[0].websocket.idle_timeout", "idle_timeout:",
                    "longer than heartbeat");  // the default heartbeat counts too
  frontend_rejected(files, ws("max_message: 1KiB"), "listeners[0].websocket.max_message", "max_message:",
                    "at least 4KiB and at most 1GiB");
  frontend_rejected(files, ws("max_message: lots"), "listeners[0].websocket.max_message", "max_message:", "lots");
  frontend_rejected(files, ws("request_timeout: 20m"), "listeners[0].websocket.request_timeout", "request_timeout:",
                    "between 100ms and 10m");
  frontend_rejected(files, ws("ping: 10s"), "listeners[0].websocket.ping", "ping:", "unknown key");
  frontend_rejected(files, with_listener(target + "    websocket: yes\n"), "listeners[0].websocket", "websocket:",
                    "expected a mapping");
}

TEST_CASE("frontend config: proxies lists") {
  FrontendFiles files;
  const std::string target = "    target: \":1\"\n";
  frontend_rejected(files, with_listener(target + "    web: web\n    trusted_proxies: [\"10.0.0.1/8\"]\n"),
                    "listeners[0].trusted_proxies[0]", "trusted_proxies:", "10.0.0.0/8");
  frontend_rejected(files, with_listener(target + "    proxy_protocol: [\"not-an-address\"]\n"),
                    "listeners[0].proxy_protocol[0]", "proxy_protocol:", "not-an-address");
  frontend_rejected(files, with_listener(target + "    trusted_proxies: [\"10.0.0.0/8\"]\n"),
                    "listeners[0].trusted_proxies", "trusted_proxies:", "add ws or wss");
}

TEST_CASE("frontend config: protocol_names and the --check-config summary over several listeners") {
  CHECK(protocol_names(bits({FrontProtocol::wss, FrontProtocol::rfb})) == "rfb, wss");
  CHECK(protocol_names(0) == "");
  FrontendFiles files;
  const auto result = load_config_string(R"(listeners:
  - listen: "127.0.0.1:0"
    target: ":1"
  - listen: "127.0.0.1:0"
    target: ":2"
    protocols: [ws]
  - listen: "127.0.0.1:0"
    tokens: tokens.cfg
)", "t.yaml", files.dir.path());
  INFO(describe(result));
  REQUIRE(result.ok());
  CHECK(browser_access_summary(*result.config) ==
        "browser access on 2 listener(s): ws; tokens from " + (files.dir.path() / "tokens.cfg").string());
}

TEST_CASE("frontend config: cipher and suite checks name the unknown item") {
  CHECK_FALSE(cipher_list_problem("ECDHE-RSA-AES128-GCM-SHA256:HIGH:!aNULL:@STRENGTH"));
  const auto typo = cipher_list_problem("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA257");
  REQUIRE(typo);
  CHECK(contains(*typo, "ECDHE-RSA-AES128-GCM-SHA257"));
  CHECK(cipher_list_problem(":"));
  CHECK_FALSE(ciphersuites_problem("TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256"));
  const auto suite = ciphersuites_problem("TLS_AES_256_GCM_SHA384:TLS_AES_512_GCM");
  REQUIRE(suite);
  CHECK(contains(*suite, "TLS_AES_512_GCM"));
}
