// A listener's `vencrypt:` and `tls:` keys through the real config loader:
// accepted values, defaults, and each rejection with its file:line and key.
#include <catch2/catch.hpp>

#include "conf/config_loader.hpp"
#include "test_pki.hpp"
#include "tests/unit/conf/conf_test_support.hpp"

using namespace vhm::conf;
using vhm::conf::test::describe;
using vhm::conf::test::line_of;
using vhm::conf::test::problem_for;
using vhm::tls::test::TestPki;

namespace {

// A listener with `extra` (already indented by four spaces) appended.
std::string listener_yaml(const std::string& extra) {
  return "listeners:\n  - listen: \"127.0.0.1:0\"\n    target: \"127.0.0.1:5901\"\n" + extra;
}

LoadResult load(const std::string& yaml) { return load_config_string(yaml, "test.yaml", "/tmp"); }

const ListenerConfig& only_listener(const LoadResult& result) {
  INFO(describe(result));
  REQUIRE(result.ok());
  REQUIRE(result.config->listeners.size() == 1);
  return result.config->listeners.front();
}

// Expects exactly one problem, at `key` on the line containing `needle`.
void expect_problem(const std::string& yaml, const std::string& key, const std::string& needle,
                    const std::string& message_part) {
  const auto result = load(yaml);
  INFO(yaml << "\n" << describe(result));
  REQUIRE_FALSE(result.ok());
  CHECK(result.problems.size() == 1);
  const auto* problem = problem_for(result, key);
  REQUIRE(problem != nullptr);
  CHECK(problem->line == line_of(yaml, needle));
  CHECK(problem->message.find(message_part) != std::string::npos);
}

}  // namespace

TEST_CASE("listener tls: without the keys a listener passes VeNCrypt through") {
  const auto result = load(listener_yaml(""));
  const auto& listener = only_listener(result);
  CHECK(listener.vencrypt == VeNCryptMode::pass);
  CHECK(listener.tls.cert.empty());
  CHECK_FALSE(listener.tls.server_anonymous);
  CHECK(listener.tls.server_security == ServerSecurity::vencrypt);
}

TEST_CASE("listener tls: every key is read into the listener") {
  TestPki pki;
  const std::string fp = "sha256:" + std::string(64, 'a');
  const auto result = load(listener_yaml("    vencrypt: terminate\n    tls:\n      cert: " + pki.server_cert.string() +
                                         "\n      key: " + pki.server_key.string() +
                                         "\n      server_ca: " + pki.ca_cert.string() +
                                         "\n      server_fingerprint: \"" + fp +
                                         "\"\n      server_name: vnc.example.org\n      server_anonymous: true\n"
                                         "      server_security: plain\n"));
  const auto& listener = only_listener(result);
  CHECK(listener.vencrypt == VeNCryptMode::terminate);
  CHECK(listener.tls.cert == pki.server_cert);
  CHECK(listener.tls.key == pki.server_key);
  CHECK(listener.tls.server_ca == pki.ca_cert);
  REQUIRE(listener.tls.server_fingerprint);
  CHECK((*listener.tls.server_fingerprint)[31] == 0xaa);
  CHECK(listener.tls.server_name == "vnc.example.org");
  CHECK(listener.tls.server_anonymous);
  CHECK(listener.tls.server_security == ServerSecurity::plain);
}

TEST_CASE("listener tls: each single way to secure the server leg is enough for terminate") {
  TestPki pki;
  const std::vector<std::string> ways = {"server_anonymous: true", "server_security: plain",
                                        "server_ca: " + pki.ca_cert.string(),
                                        "server_fingerprint: \"sha256:" + std::string(64, '0') + "\""};
  for (const auto& way : ways) {
    INFO(way);
    only_listener(load(listener_yaml("    vencrypt: terminate\n    tls:\n      " + way + "\n")));
  }
}

TEST_CASE("listener tls: terminate with no way to secure the server leg is refused at the vencrypt key") {
  const std::string yaml = listener_yaml("    vencrypt: terminate\n");
  expect_problem(yaml, "listeners[0].vencrypt", "vencrypt:", "terminate needs a way to secure the server leg");
  const std::string anonymous_off = listener_yaml("    vencrypt: terminate\n    tls:\n      server_anonymous: false\n");
  expect_problem(anonymous_off, "listeners[0].vencrypt", "vencrypt:", "tls.server_anonymous: true");
}

TEST_CASE("listener tls: bad values are refused at their own line") {
  expect_problem(listener_yaml("    vencrypt: strip\n"), "listeners[0].vencrypt", "vencrypt:",
                 "expected pass or terminate, got \"strip\"");
  expect_problem(listener_yaml("    vencrypt: terminate\n    tls:\n      server_anonymous: true\n      server_security: none\n"),
                 "listeners[0].tls.server_security", "server_security:", "expected vencrypt or plain");
  expect_problem(listener_yaml("    vencrypt: terminate\n    tls:\n      server_fingerprint: \"md5:00\"\n"),
                 "listeners[0].tls.server_fingerprint", "server_fingerprint:",
                 "expected sha256: followed by 64 hex digits");
  expect_problem(listener_yaml("    vencrypt: terminate\n    tls:\n      server_anonymous: true\n      cipher: x\n"),
                 "listeners[0].tls.cipher", "cipher:", "unknown key \"cipher\"");
  expect_problem(listener_yaml("    vencrypt: terminate\n    tls:\n      server_anonymous: true\n      server_ca: ca.pem\n"),
                 "listeners[0].tls.server_ca", "server_ca:", "must be an absolute path, got \"ca.pem\"");
}

TEST_CASE("listener tls: unreadable or mismatched certificate files are refused at load") {
  TestPki pki;
  const auto with_pair = [&](const std::filesystem::path& cert, const std::filesystem::path& key) {
    return listener_yaml("    vencrypt: terminate\n    tls:\n      server_anonymous: true\n      cert: " + cert.string() +
                         "\n      key: " + key.string() + "\n");
  };
  expect_problem(with_pair(pki.server_cert, pki.stray_key), "listeners[0].tls.cert", "cert:",
                 "the private key does not belong to the certificate");
  expect_problem(with_pair(pki.dir / "gone.pem", pki.server_key), "listeners[0].tls.cert", "cert:",
                 "No such file or directory");
  expect_problem(with_pair(pki.server_cert, pki.encrypted_key), "listeners[0].tls.cert", "cert:",
                 "encrypted keys are not supported");
  const std::string ca = listener_yaml("    vencrypt: terminate\n    tls:\n      server_ca: " + pki.not_pem.string() + "\n");
  expect_problem(ca, "listeners[0].tls.server_ca", "server_ca:", "no PEM certificate");
}

TEST_CASE("listener tls: a cert without its key, and server_name without a CA, are refused") {
  TestPki pki;
  expect_problem(listener_yaml("    vencrypt: terminate\n    tls:\n      server_anonymous: true\n      cert: " +
                               pki.server_cert.string() + "\n"),
                 "listeners[0].tls", "tls:", "cert needs its key");
  expect_problem(listener_yaml("    vencrypt: terminate\n    tls:\n      server_anonymous: true\n      server_name: vnc\n"),
                 "listeners[0].tls.server_name", "server_name:", "add tls.server_ca");
}

TEST_CASE("listener tls: a tls map on a pass listener is refused as unused") {
  expect_problem(listener_yaml("    tls:\n      server_anonymous: true\n"), "listeners[0].tls", "tls:",
                 "tls is only used with vencrypt: terminate");
}
