// `vnc-hooks-manager websockify`: websockify 0.10's spellings parsed as
// optparse parses them, each option's mapping onto the listener, and each
// refusal naming the option.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "app/websockify_options.hpp"
#include "test_pki.hpp"
#include "tests/unit/conf/conf_test_support.hpp"

using namespace vhm::app;
using vhm::conf::ClientCertMode;
using vhm::conf::FrontProtocol;
using vhm::conf::test::contains;
using vhm::conf::test::TempDir;
using vhm::tls::test::TestPki;

namespace {

std::uint8_t websockify_protocols(std::initializer_list<FrontProtocol> protocols) {
  std::uint8_t set = 0;
  for (auto p : protocols) set |= static_cast<std::uint8_t>(p);
  return set;
}

WebsockifyOptions parsed(const std::vector<std::string>& args) {
  std::string error;
  auto options = parse_websockify_options(args, error);
  INFO("error: " << error);
  REQUIRE(options);
  return *options;
}

// The error for `args`; the test fails if they parse.
std::string parse_error(const std::vector<std::string>& args) {
  std::string error;
  auto options = parse_websockify_options(args, error);
  REQUIRE_FALSE(options);
  return error;
}

WebsockifyPlan planned(const std::vector<std::string>& args) {
  std::string error;
  auto plan = plan_websockify(parsed(args), error);
  INFO("error: " << error);
  REQUIRE(plan);
  return *plan;
}

std::string plan_error(const std::vector<std::string>& args) {
  std::string error;
  auto plan = plan_websockify(parsed(args), error);
  REQUIRE_FALSE(plan);
  return error;
}

// Runs the test body in `dir` (websockify resolves self.pem and relative paths there).
class InDirectory {
 public:
  explicit InDirectory(const std::filesystem::path& dir) : old_(std::filesystem::current_path()) {
    std::filesystem::current_path(dir);
  }
  ~InDirectory() { std::filesystem::current_path(old_); }

 private:
  std::filesystem::path old_;
};

}  // namespace

TEST_CASE("websockify options: positional source and target as websockify splits them") {
  TempDir dir;
  InDirectory here(dir.path());  // no self.pem here
  const auto plan = planned({"6080", "localhost:5901"});
  CHECK(plan.listener.listen.host.empty());  // all addresses
  CHECK(plan.listener.listen.port == 6080);
  CHECK(plan.listener.target.host == "localhost");
  CHECK(plan.listener.target.port == 5901);
  CHECK(plan.listener.frontend.protocols == websockify_protocols({FrontProtocol::ws}));
  CHECK(plan.listener.frontend.web.root.empty());
  CHECK(plan.listener.frontend.web.heartbeat.count() == 0);  // websockify sends no pings by default
  CHECK_FALSE(plan.listener.target_tls);
  CHECK_FALSE(plan.listener.recording.enabled);
  CHECK(plan.notes.empty());

  const auto v6 = planned({"[::1]:6080", "[::1]:5901"});
  CHECK(v6.listener.listen.host == "::1");
  CHECK(v6.listener.target.host == "::1");
  const auto v4 = planned({"127.0.0.1:6080", "10.0.0.5:5900"});
  CHECK(v4.listener.listen.host == "127.0.0.1");
  CHECK(v4.listener.target.host == "10.0.0.5");
}

TEST_CASE("websockify options: --opt value, --opt=value, abbreviations, -v -D clusters and interspersed words") {
  const auto options = parsed({"--heartbeat", "30", "6080", "--idle-timeout=60", "--verb", "127.0.0.1:5901",
                               "--timeout=5", "-v"});
  CHECK(options.heartbeat == 30);
  CHECK(options.idle_timeout == 60);
  CHECK(options.timeout == 5);
  CHECK(options.verbose);
  CHECK(options.source == "6080");
  CHECK(options.target == "127.0.0.1:5901");
  CHECK(parsed({"-6v", "6080", "h:1"}).verbose);
  CHECK(contains(parse_error({"--ssl", "6080", "h:1"}), "ambiguous option: --ssl (--ssl-only, --ssl-target"));
  CHECK(parse_error({"--nonsense", "6080", "h:1"}) == "no such option: --nonsense");
  CHECK(parse_error({"-x", "6080", "h:1"}) == "no such option: -x");
  CHECK(parse_error({"--verbose=yes", "6080", "h:1"}) == "--verbose option does not take a value");
  CHECK(parse_error({"6080", "h:1", "--web"}) == "--web option requires 1 argument");
  CHECK(contains(parse_error({"--heartbeat", "soon", "6080", "h:1"}), "invalid integer value: 'soon'"));
  CHECK(contains(parse_error({"--timeout=-1", "6080", "h:1"}), "must be 0 or more"));
  CHECK(parsed({"--help"}).show_help);
  CHECK(parsed({"-h"}).show_help);
}

TEST_CASE("websockify options: the positional words are checked as websockify checks them") {
  CHECK(contains(parse_error({}), "too few arguments"));
  CHECK(contains(parse_error({"6080"}), "too few arguments: expected [source_addr:]source_port target_addr:target_port"));
  CHECK(contains(parse_error({"6080", "h:1", "extra"}), "too many arguments"));
  CHECK(contains(parse_error({"6080", "5901"}), "cannot parse the target \"5901\""));
  CHECK(contains(plan_error({"notaport", "h:1"}), "source \"notaport\""));
  CHECK(contains(plan_error({"6080", "h:99999"}), "target \"h:99999\""));
}

TEST_CASE("websockify options: --daemon and the options without an equivalent are refused by name") {
  CHECK(contains(parse_error({"--daemon", "6080", "h:1"}), "--daemon is refused: vnc-hooks-manager does not daemonize; "
                                                           "run it under systemd"));
  CHECK(contains(parse_error({"-D", "6080", "h:1"}), "--daemon is refused"));
  CHECK(contains(parse_error({"-vD", "6080", "h:1"}), "--daemon is refused"));
  for (const std::string option : {"--run-once", "--traffic", "--inetd", "--web-auth", "--legacy-syslog"})
    CHECK(contains(parse_error({option, "6080", "h:1"}), option + " "));
  for (const std::string option :
       {"--unix-target", "--wrap-mode", "--auth-plugin", "--auth-source", "--key-password", "--syslog"})
    CHECK(contains(parse_error({option, "x", "6080", "h:1"}), option + " "));
  CHECK(contains(parse_error({"6080", "--", "vncserver"}), "WRAP_COMMAND_LINE"));
  CHECK(contains(parse_error({"--token-plugin", "TokenRedis", "--token-source", "x", "6080"}),
                 "--token-plugin TokenRedis is not supported"));
}

TEST_CASE("websockify options: accepted without effect, each with a note") {
  TempDir dir;
  InDirectory here(dir.path());
  const auto plan = planned({"--prefer-ipv6", "--libserver", "--file-only", "6080", "h:1"});
  REQUIRE(plan.notes.size() == 3);
  CHECK(contains(plan.notes[0], "--prefer-ipv6 has no effect"));
  CHECK(contains(plan.notes[1], "--libserver has no effect"));
  CHECK(contains(plan.notes[2], "--file-only has no effect"));
}

TEST_CASE("websockify options: --web, tokens, --host-token, --heartbeat, --ssl-target, --record, --log-file") {
  TempDir dir;
  dir.write("novnc/vnc.html", "<html></html>\n");
  dir.write("tokens.cfg", "alpha: 127.0.0.1:5901\n");
  std::filesystem::create_directories(dir.path() / "rec");
  InDirectory here(dir.path());
  const auto plan = planned({"--web", "novnc", "--token-plugin", "TokenFile", "--token-source", "tokens.cfg",
                             "--host-token", "--heartbeat", "30", "--ssl-target", "--record", "rec/session",
                             "--log-file", "vhm.log", "127.0.0.1:6080"});
  const auto& listener = plan.listener;
  CHECK(listener.frontend.web.root == dir.path() / "novnc");
  CHECK(listener.frontend.web.tokens == dir.path() / "tokens.cfg");
  CHECK(listener.frontend.web.token_from_host);
  CHECK(listener.frontend.web.heartbeat == std::chrono::seconds(30));
  CHECK(listener.target.port == 0);  // the tokens name the targets
  CHECK(listener.target_tls);
  CHECK(listener.recording.enabled);
  CHECK(listener.recording.dir == dir.path() / "rec");
  CHECK(listener.recording.name == "session.{session_id}.vhmrec");
  CHECK(plan.log_file == dir.path() / "vhm.log");

  for (const std::string plugin : {"ReadOnlyTokenFile", "websockify.token_plugins.TokenFile"})
    CHECK(planned({"--token-plugin", plugin, "--token-source", "tokens.cfg", "6080"}).listener.frontend.web.tokens ==
          dir.path() / "tokens.cfg");
  CHECK(planned({"--target-config", "tokens.cfg", "6080"}).listener.frontend.web.tokens == dir.path() / "tokens.cfg");

  CHECK(contains(plan_error({"--web", "missing", "6080", "h:1"}), "--web missing: "));
  CHECK(contains(plan_error({"--token-plugin", "TokenFile", "--token-source", "nothing", "6080"}),
                 "--token-source nothing: "));
  CHECK(contains(plan_error({"--record", "nowhere/x", "6080", "h:1"}), "--record nowhere/x: "));
  CHECK(parse_error({"--token-source", "tokens.cfg", "6080"}) == "You must use --token-plugin to use --token-source");
  CHECK(parse_error({"--host-token", "6080", "h:1"}) == "You must use --token-plugin to use --host-token");
  CHECK(contains(parse_error({"--token-plugin", "TokenFile", "6080"}), "needs --token-source"));
}

TEST_CASE("websockify options: TLS when the certificate exists, as websockify decides") {
  TestPki pki;
  TempDir dir;
  InDirectory here(dir.path());
  const std::vector<std::string> tls_args = {"--cert", pki.server_cert.string(), "--key", pki.server_key.string()};
  auto with = [&](std::vector<std::string> extra) {
    auto args = tls_args;
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  };

  const auto plan = planned(with({"6080", "h:1"}));
  CHECK(plan.listener.frontend.protocols == websockify_protocols({FrontProtocol::ws, FrontProtocol::wss}));
  CHECK(plan.listener.frontend.tls.cert == pki.server_cert);
  CHECK(plan.listener.frontend.tls.key == pki.server_key);
  CHECK(plan.listener.frontend.tls.min_version == 0x0303);

  const auto only = planned(with({"--ssl-only", "--ssl-version", "tlsv1_3", "--ssl-ciphers", "HIGH:!aNULL",
                                  "--verify-client", "--cafile", pki.ca_cert.string(), "6080", "h:1"}));
  CHECK(only.listener.frontend.protocols == websockify_protocols({FrontProtocol::wss}));
  CHECK(only.listener.frontend.tls.min_version == 0x0304);
  CHECK(only.listener.frontend.tls.ciphers == "HIGH:!aNULL");
  CHECK(only.listener.frontend.tls.client_cert == ClientCertMode::required);
  CHECK(only.listener.frontend.tls.client_ca == pki.ca_cert);

  // self.pem in the working directory, certificate and key in one file.
  std::ostringstream both;
  both << std::ifstream(pki.server_cert).rdbuf() << std::ifstream(pki.server_key).rdbuf();
  dir.write("self.pem", both.str());
  const auto self = planned({"6080", "h:1"});
  CHECK(self.listener.frontend.protocols == websockify_protocols({FrontProtocol::ws, FrontProtocol::wss}));
  CHECK(self.listener.frontend.tls.cert == dir.path() / "self.pem");
  CHECK(self.listener.frontend.tls.key == dir.path() / "self.pem");

  CHECK(contains(plan_error(with({"--ssl-ciphers", "HIGH:NOT-A-CIPHER", "6080", "h:1"})),
                 "--ssl-ciphers HIGH:NOT-A-CIPHER: "));
  CHECK(contains(plan_error({"--cert", pki.server_cert.string(), "--key", pki.stray_key.string(), "6080", "h:1"}),
                 "does not belong to the certificate"));
  CHECK(contains(plan_error(with({"--verify-client", "--cafile", pki.not_pem.string(), "6080", "h:1"})),
                 "--cafile "));
  CHECK(contains(parse_error(with({"--ssl-version", "sslv3", "6080", "h:1"})), "invalid choice: 'sslv3'"));
}

TEST_CASE("websockify options: no certificate means ws only; --ssl-only then fails like websockify") {
  TempDir dir;
  InDirectory here(dir.path());
  CHECK(plan_error({"--ssl-only", "6080", "h:1"}) == "SSL only and self.pem not found");
  const auto plan = planned({"--cert", "missing.pem", "6080", "h:1"});
  CHECK(plan.listener.frontend.protocols == websockify_protocols({FrontProtocol::ws}));
  REQUIRE(plan.notes.size() == 1);
  CHECK(contains(plan.notes[0], "--cert missing.pem not found"));
}

TEST_CASE("websockify options: --help lists the supported and the refused options") {
  const std::string help = websockify_help();
  for (const char* option : {"--web", "--cert", "--key", "--ssl-only", "--ssl-target", "--token-plugin",
                             "--token-source", "--host-token", "--heartbeat", "--idle-timeout", "--timeout",
                             "--record", "--verbose", "--config", "--daemon"})
    CHECK(contains(help, option));
}
