// Real handshakes captured from TigerVNC's Xvnc (tests/data/rfb/README.md),
// fed at every split point and interleaving.
#include <catch2/catch.hpp>

#include "transcript.hpp"

using namespace vhm::rfb::test;

namespace {

const std::string server38 = "server-version 3.8 RFB 003.008";
const std::string golden_init = "server-init 64x48 vhm golden";

}  // namespace

TEST_CASE("golden: Xvnc None in 3.8 has a SecurityResult, and the traffic after ServerInit is ignored") {
  const auto obs = observe_every_split(load_transcript("tigervnc_none_38.hex"));
  CHECK(obs.events == Strings{server38, "client-version 3.8 RFB 003.008", "types-offered 1", "type-chosen 1", "auth ok",
                              "client-init shared", golden_init});
  CHECK(obs.finished);
  CHECK(obs.error.empty());
  CHECK(obs.summary == "version=3.8 type=1 vencrypt=0 name=None user= size=64x48 desktop=vhm golden shared=1");
}

TEST_CASE("golden: Xvnc None in 3.7 has no SecurityResult, the success is implied") {
  const auto obs = observe_every_split(load_transcript("tigervnc_none_37.hex"));
  CHECK(obs.events == Strings{server38, "client-version 3.7 RFB 003.007", "types-offered 1", "type-chosen 1", "auth ok",
                              "client-init shared", golden_init});
  CHECK(obs.finished);
}

TEST_CASE("golden: Xvnc None in 3.3 is the server's single u32 type") {
  const auto obs = observe_every_split(load_transcript("tigervnc_none_33.hex"));
  CHECK(obs.events == Strings{server38, "client-version 3.3 RFB 003.003", "types-offered 1", "type-chosen 1", "auth ok",
                              "client-init shared", golden_init});
  CHECK(obs.finished);
  CHECK(obs.summary.rfind("version=3.3 type=1 ", 0) == 0);
}

TEST_CASE("golden: Xvnc VncAuth succeeds in 3.3, 3.7 and 3.8") {
  for (const auto& [file, client] : {std::pair{"tigervnc_vncauth_38_ok.hex", "client-version 3.8 RFB 003.008"},
                                     std::pair{"tigervnc_vncauth_37_ok.hex", "client-version 3.7 RFB 003.007"},
                                     std::pair{"tigervnc_vncauth_33_ok.hex", "client-version 3.3 RFB 003.003"}}) {
    INFO(file);
    const auto obs = observe_every_split(load_transcript(file));
    CHECK(obs.events ==
          Strings{server38, client, "types-offered 2", "type-chosen 2", "auth ok", "client-init shared", golden_init});
    CHECK(obs.finished);
    CHECK(obs.summary.find("name=VncAuth") != std::string::npos);
  }
}

TEST_CASE("golden: Xvnc VncAuth failure carries a reason in 3.8 only") {
  auto obs = observe_every_split(load_transcript("tigervnc_vncauth_38_fail.hex"));
  CHECK(obs.events == Strings{server38, "client-version 3.8 RFB 003.008", "types-offered 2", "type-chosen 2",
                              "auth failed: Authentication failure"});
  CHECK(obs.finished);

  for (const auto& [file, client] : {std::pair{"tigervnc_vncauth_37_fail.hex", "client-version 3.7 RFB 003.007"},
                                     std::pair{"tigervnc_vncauth_33_fail.hex", "client-version 3.3 RFB 003.003"}}) {
    INFO(file);
    obs = observe_every_split(load_transcript(file));
    CHECK(obs.events == Strings{server38, client, "types-offered 2", "type-chosen 2", "auth failed"});
    CHECK(obs.finished);
  }
}

TEST_CASE("golden: Xvnc VeNCrypt/TLSVnc is opaque once TLS starts") {
  const auto obs = observe_every_split(load_transcript("tigervnc_vencrypt_tlsvnc.hex"));
  CHECK(obs.events == Strings{server38, "client-version 3.8 RFB 003.008", "types-offered 19,2", "type-chosen 19",
                              "vencrypt-offered 258,2", "vencrypt-chosen 258", "tls-starts 258", "auth unknown"});
  CHECK(obs.finished);
  CHECK(obs.summary.find("type=19 vencrypt=258 name=VeNCrypt/TLSVnc") != std::string::npos);
}

TEST_CASE("golden: Xvnc VeNCrypt with the VncAuth subtype proceeds like VncAuth") {
  const auto obs = observe_every_split(load_transcript("tigervnc_vencrypt_vncauth.hex"));
  CHECK(obs.events == Strings{server38, "client-version 3.8 RFB 003.008", "types-offered 19,2", "type-chosen 19",
                              "vencrypt-offered 258,2", "vencrypt-chosen 2", "auth ok", "client-init shared",
                              golden_init});
  CHECK(obs.finished);
  CHECK(obs.summary.find("name=VeNCrypt/VncAuth") != std::string::npos);
}

TEST_CASE("golden: Xvnc VeNCrypt Plain shows the user, never the password") {
  const auto obs = observe_every_split(load_transcript("tigervnc_vencrypt_plain_fail.hex"));
  CHECK(obs.events == Strings{server38, "client-version 3.8 RFB 003.008", "types-offered 19", "type-chosen 19",
                              "vencrypt-offered 256", "vencrypt-chosen 256", "user vhmtest",
                              "auth failed: Authentication failure: invalid password or username"});
  CHECK(obs.finished);
  CHECK(obs.summary.find("name=VeNCrypt/Plain user=vhmtest") != std::string::npos);
  CHECK_FALSE(mentions(obs, "wrong"));  // the password the capture sent
}

TEST_CASE("golden: a blacklisting Xvnc answers 3.3 and refuses with its reason") {
  for (const auto& [file, client] : {std::pair{"tigervnc_refused_33.hex", "client-version 3.3 RFB 003.003"},
                                     std::pair{"tigervnc_refused_37.hex", "client-version 3.7 RFB 003.007"},
                                     std::pair{"tigervnc_refused_38.hex", "client-version 3.8 RFB 003.008"}}) {
    INFO(file);
    const auto obs = observe_every_split(load_transcript(file));
    CHECK(obs.events == Strings{"server-version 3.3 RFB 003.003", client, "refused: Too many security failures"});
    CHECK(obs.finished);
    CHECK(obs.summary.rfind("version=3.3 type=-1 ", 0) == 0);  // negotiated: the lower one
  }
}

// Inside TLS: the decrypted inner bytes a TLS-terminating proxy feeds
// (captured by running TLS in the capture script itself).
namespace {

Strings vencrypt_head(const std::string& types, const std::string& offered, const std::string& chosen) {
  return {server38, "client-version 3.8 RFB 003.008", "types-offered " + types, "type-chosen 19",
          "vencrypt-offered " + offered, "vencrypt-chosen " + chosen, "tls-starts " + chosen};
}

}  // namespace

TEST_CASE("golden: Xvnc TLSVnc seen from inside TLS: success, and opaque when not terminated") {
  const auto t = load_transcript("tigervnc_tlsvnc_inner_ok.hex");
  auto obs = observe_every_split(t, {}, terminated);
  CHECK(obs.events == with(vencrypt_head("19,2", "258,2", "258"), {"auth ok", "client-init shared", golden_init}));
  CHECK(obs.finished);
  CHECK(obs.summary == "version=3.8 type=19 vencrypt=258 name=VeNCrypt/TLSVnc user= size=64x48 desktop=vhm golden "
                       "shared=1");

  obs = observe_every_split(t);  // the same bytes, TLS not terminated: nothing after the ack counts
  CHECK(obs.events == with(vencrypt_head("19,2", "258,2", "258"), {"auth unknown"}));
  CHECK(obs.summary.find("size=0x0 ") != std::string::npos);
}

TEST_CASE("golden: Xvnc TLSVnc failure inside TLS carries the reason") {
  const auto obs = observe_every_split(load_transcript("tigervnc_tlsvnc_inner_fail.hex"), {}, terminated);
  CHECK(obs.events == with(vencrypt_head("19,2", "258,2", "258"), {"auth failed: Authentication failure"}));
  CHECK(obs.finished);
}

TEST_CASE("golden: Xvnc X509None sends a SecurityResult inside TLS") {
  const auto obs = observe_every_split(load_transcript("tigervnc_x509none_inner.hex"), {}, terminated);
  CHECK(obs.events == with(vencrypt_head("19", "260,259", "260"), {"auth ok", "client-init shared", golden_init}));
  CHECK(obs.finished);
  CHECK(obs.summary.find("name=VeNCrypt/X509None ") != std::string::npos);
}

TEST_CASE("golden: Xvnc TLSPlain shows the user inside TLS, never the password") {
  const auto obs = observe_every_split(load_transcript("tigervnc_tlsplain_inner_fail.hex"), {}, terminated);
  CHECK(obs.events == with(vencrypt_head("19", "260,259", "259"),
                           {"user vhmtest", "auth failed: Authentication failure: invalid password or username"}));
  CHECK(obs.summary.find("name=VeNCrypt/TLSPlain user=vhmtest ") != std::string::npos);
  CHECK_FALSE(mentions(obs, "wrong"));  // the password the capture sent
}
