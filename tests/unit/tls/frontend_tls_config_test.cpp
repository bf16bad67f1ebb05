// A listener's `frontend_tls:` (conf/load_frontend.hpp) through the real
// loader, with in-process certificates: the files are read at load, the
// protocols it adds by default, and each rejection with its line and key.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "conf/config_loader.hpp"
#include "test_pki.hpp"
#include "tests/unit/conf/conf_test_support.hpp"

using namespace vhm::conf;
using vhm::conf::test::describe;
using vhm::conf::test::line_of;
using vhm::conf::test::problem_for;
using vhm::tls::test::TestPki;

namespace {

std::uint8_t protocol_set(std::initializer_list<FrontProtocol> protocols) {
  std::uint8_t set = 0;
  for (auto p : protocols) set |= static_cast<std::uint8_t>(p);
  return set;
}

// A listener with frontend_tls: cert/key from `pki` and `extra` (already
// indented by six spaces) in the section, `after` (four spaces) after it.
std::string tls_yaml(const TestPki& pki, const std::string& extra, const std::string& after = "") {
  return "listeners:\n  - listen: \"127.0.0.1:0\"\n    target: \"127.0.0.1:5901\"\n    frontend_tls:\n      cert: " +
         pki.server_cert.string() + "\n      key: " + pki.server_key.string() + "\n" + extra + after;
}

LoadResult load_tls(const std::string& yaml) { return load_config_string(yaml, "test.yaml", "/tmp"); }

const ListenerConfig& the_listener(const LoadResult& result) {
  INFO(describe(result));
  REQUIRE(result.ok());
  REQUIRE(result.config->listeners.size() == 1);
  return result.config->listeners.front();
}

// Exactly one problem, at `key` on the line containing `needle`.
void tls_rejected(const std::string& yaml, const std::string& key, const std::string& needle,
                  const std::string& message_part) {
  const auto result = load_tls(yaml);
  INFO(yaml << "\n" << describe(result));
  REQUIRE_FALSE(result.ok());
  CHECK(result.problems.size() == 1);
  const auto* problem = problem_for(result, key);
  REQUIRE(problem != nullptr);
  CHECK(problem->line == line_of(yaml, needle));
  CHECK(problem->message.find(message_part) != std::string::npos);
}

}  // namespace

TEST_CASE("frontend tls: every key is read; alone it adds tls to rfb") {
  TestPki pki;
  const auto result = load_tls(tls_yaml(pki, "      chain: " + pki.ca_cert.string() +
                                                 "\n      ciphers: \"ECDHE-RSA-AES256-GCM-SHA384:HIGH:!aNULL\"\n"
                                                 "      ciphersuites: TLS_AES_256_GCM_SHA384\n"
                                                 "      min_version: \"1.3\"\n"
                                                 "      client_ca: " + pki.ca_cert.string() +
                                                 "\n      client_cert: optional\n"));
  const auto& listener = the_listener(result);
  const auto& tls = listener.frontend.tls;
  CHECK(tls.cert == pki.server_cert);
  CHECK(tls.key == pki.server_key);
  CHECK(tls.chain == pki.ca_cert);
  CHECK(tls.ciphers == "ECDHE-RSA-AES256-GCM-SHA384:HIGH:!aNULL");
  CHECK(tls.ciphersuites == "TLS_AES_256_GCM_SHA384");
  CHECK(tls.min_version == 0x0304);
  CHECK(tls.client_ca == pki.ca_cert);
  CHECK(tls.client_cert == ClientCertMode::optional);
  CHECK(tls.line == 4);
  CHECK(listener.frontend.protocols == protocol_set({FrontProtocol::rfb, FrontProtocol::tls}));
}

TEST_CASE("frontend tls: with a web key the default is rfb, tls, ws and wss; min_version 1.2 by default") {
  TestPki pki;
  const auto with_web = load_tls(tls_yaml(pki, "", "    websocket: {heartbeat: 5s}\n"));
  const auto& listener = the_listener(with_web);
  CHECK(listener.frontend.protocols ==
        protocol_set({FrontProtocol::rfb, FrontProtocol::tls, FrontProtocol::ws, FrontProtocol::wss}));
  CHECK(listener.frontend.tls.min_version == 0x0303);
  CHECK(listener.frontend.tls.client_cert == ClientCertMode::none);
  const auto wss = load_tls(tls_yaml(pki, "", "    protocols: [wss]\n"));
  const auto& only_wss = the_listener(wss);
  CHECK(only_wss.frontend.protocols == protocol_set({FrontProtocol::wss}));
}

TEST_CASE("frontend tls: a PEM file holding certificate and key needs no key (websockify's self.pem)") {
  TestPki pki;
  std::ostringstream both;
  both << std::ifstream(pki.server_cert).rdbuf() << std::ifstream(pki.server_key).rdbuf();
  const auto combined = pki.write("self.pem", both.str());
  const auto result = load_tls("listeners:\n  - listen: \":0\"\n    target: \":1\"\n    frontend_tls: {cert: " +
                               combined.string() + "}\n");
  const auto& listener = the_listener(result);
  CHECK(listener.frontend.tls.cert == combined);
  CHECK(listener.frontend.tls.key == combined);
}

TEST_CASE("frontend tls: rejections name the key") {
  TestPki pki;
  const std::string head = "listeners:\n  - listen: \"127.0.0.1:0\"\n    target: \":1\"\n    frontend_tls:\n";
  tls_rejected(head + "      key: " + pki.server_key.string() + "\n", "listeners[0].frontend_tls.cert",
               "frontend_tls:", "cert is required");
  tls_rejected(head + "      cert: /nonexistent/cert.pem\n", "listeners[0].frontend_tls.cert", "cert:",
               "no such file");
  tls_rejected(head + "      cert: " + pki.server_cert.string() + "\n      key: " + pki.stray_key.string() + "\n",
               "listeners[0].frontend_tls.key", "key:", "does not belong to the certificate");
  tls_rejected(head + "      cert: " + pki.server_cert.string() + "\n      key: " + pki.encrypted_key.string() + "\n",
               "listeners[0].frontend_tls.key", "key:", "encrypted keys are not supported");
  tls_rejected(head + "      cert: " + pki.not_pem.string() + "\n      key: " + pki.server_key.string() + "\n",
               "listeners[0].frontend_tls.key", "key:", "no PEM certificate");
  tls_rejected(tls_yaml(pki, "      chain: " + pki.not_pem.string() + "\n"), "listeners[0].frontend_tls.chain",
               "chain:", "no PEM certificate");
  tls_rejected(tls_yaml(pki, "      ciphers: \"HIGH:ECDHE-RSA-AES256-GCM-SHA385\"\n"),
               "listeners[0].frontend_tls.ciphers", "ciphers:", "ECDHE-RSA-AES256-GCM-SHA385");
  tls_rejected(tls_yaml(pki, "      ciphersuites: TLS_AES_256_GCM_SHA385\n"),
               "listeners[0].frontend_tls.ciphersuites", "ciphersuites:", "TLS_AES_256_GCM_SHA385");
  tls_rejected(tls_yaml(pki, "      min_version: \"1.1\"\n"), "listeners[0].frontend_tls.min_version",
               "min_version:", "expected \"1.2\" or \"1.3\"");
  tls_rejected(tls_yaml(pki, "      client_cert: required\n"), "listeners[0].frontend_tls.client_cert",
               "client_cert:", "add frontend_tls.client_ca");
  tls_rejected(tls_yaml(pki, "      client_cert: always\n"), "listeners[0].frontend_tls.client_cert",
               "client_cert:", "expected none, optional or required");
  tls_rejected(tls_yaml(pki, "      client_ca: " + pki.ca_cert.string() + "\n"), "listeners[0].frontend_tls.client_ca",
               "client_ca:", "only used with client_cert: optional or required");
  tls_rejected(tls_yaml(pki, "      client_ca: " + pki.not_pem.string() + "\n      client_cert: required\n"),
               "listeners[0].frontend_tls.client_ca", "client_ca:", "no PEM certificate");
  tls_rejected(tls_yaml(pki, "      ocsp: true\n"), "listeners[0].frontend_tls.ocsp", "ocsp:", "unknown key");
  tls_rejected(tls_yaml(pki, "", "    protocols: [rfb, ws]\n"), "listeners[0].frontend_tls", "frontend_tls:",
               "used only by tls and wss");
}
