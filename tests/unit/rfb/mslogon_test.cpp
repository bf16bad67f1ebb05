// MSLogonII (113), UltraVNC: three u64 from the server (generator, modulus,
// public value), the client's u64 public value and 256 + 64 bytes of
// DES-encrypted user and password, then a plain SecurityResult.
#include <catch2/catch.hpp>

#include "transcript.hpp"

using namespace vhm::rfb;
using namespace vhm::rfb::test;

namespace {

const Bytes mslogon_server_key = cat(filled(8, 'G'), filled(8, 'M'), filled(8, 'S'));
const Bytes mslogon_client_answer = cat(filled(8, 'C'), filled(256, 'U'), filled(64, 'W'));

Transcript mslogon_chosen(const std::string& client_version = "RFB 003.008\n") {
  return Transcript{}.s("RFB 003.008\n").c(client_version).s(u8(2), u8(113), u8(2)).c(u8(113));
}

Strings mslogon_head(const std::string& minor = "8") {
  return {"server-version 3.8 RFB 003.008", "client-version 3." + minor + " RFB 003.00" + minor,
          "types-offered 113,2", "type-chosen 113"};
}

}  // namespace

TEST_CASE("mslogon2: success, the user stays encrypted") {
  const auto t = mslogon_chosen()
                     .s(mslogon_server_key)
                     .c(mslogon_client_answer)
                     .s(u32(0))
                     .c(u8(0))
                     .s(server_init(1280, 800, "win"));
  const auto obs = observe_every_split(t);
  CHECK(obs.events == with(mslogon_head(), {"auth ok", "client-init exclusive", "server-init 1280x800 win"}));
  CHECK(obs.finished);
  CHECK(obs.summary == "version=3.8 type=113 vencrypt=0 name=MSLogonII user= size=1280x800 desktop=win shared=0");
}

TEST_CASE("mslogon2: a failure carries the reason in 3.8, none in 3.7") {
  auto obs = observe_every_split(
      mslogon_chosen().s(mslogon_server_key).c(mslogon_client_answer).s(u32(1), rfb_string("denied")));
  CHECK(obs.events == with(mslogon_head(), {"auth failed: denied"}));
  CHECK(obs.finished);

  obs = observe_every_split(mslogon_chosen("RFB 003.007\n").s(mslogon_server_key).c(mslogon_client_answer).s(u32(1)));
  CHECK(obs.events == with(mslogon_head("7"), {"auth failed"}));
}

TEST_CASE("mslogon2: an UltraVNC 3.3-style handshake names the type as a u32") {
  const auto t = Transcript{}
                     .s("RFB 003.004\n")
                     .c("RFB 003.004\n")
                     .s(u32(113), mslogon_server_key)
                     .c(mslogon_client_answer)
                     .s(u32(0))
                     .c(u8(1))
                     .s(server_init(4, 4, "ultra"));
  const auto obs = observe_every_split(t);
  CHECK(obs.events == Strings{"server-version 3.3 RFB 003.004", "client-version 3.3 RFB 003.004", "types-offered 113",
                              "type-chosen 113", "auth ok", "client-init shared", "server-init 4x4 ultra"});
}

TEST_CASE("mslogon2: malformed input: an unknown SecurityResult, too many attempts") {
  auto obs = observe_every_split(mslogon_chosen().s(mslogon_server_key).c(mslogon_client_answer).s(u32(0x00010002)));
  CHECK(obs.error == "server sent an unknown SecurityResult 65538");

  obs = observe_every_split(mslogon_chosen().s(mslogon_server_key).c(mslogon_client_answer).s(u32(2)));
  CHECK(obs.events == with(mslogon_head(), {"auth failed: too many authentication attempts"}));
}

TEST_CASE("mslogon2: the SecurityResult is due only after the whole 328-byte answer") {
  HandshakeParser parser;
  const auto before = mslogon_chosen().s(mslogon_server_key);
  for (const auto& seg : before.segments) parser.feed(seg.direction, seg.bytes);
  parser.feed(Direction::client_to_server, Bytes(mslogon_client_answer.begin(), mslogon_client_answer.end() - 1));
  CHECK_FALSE(parser.awaiting_security_result());
  parser.feed(Direction::client_to_server, Bytes{mslogon_client_answer.back()});
  CHECK(parser.awaiting_security_result());
}
