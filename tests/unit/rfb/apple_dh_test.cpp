// Apple DH / ARD (30): u16 generator, u16 key length, prime and server public
// value; the client answers with 128 bytes of encrypted credentials and its
// public value; then a plain SecurityResult. The user is encrypted.
#include <catch2/catch.hpp>

#include "transcript.hpp"

using namespace vhm::rfb;
using namespace vhm::rfb::test;

namespace {

// macOS Screen Sharing announces 3.889 (treated as 3.8).
Transcript ard_chosen(const std::string& client_version = "RFB 003.889\n") {
  return Transcript{}.s("RFB 003.889\n").c(client_version).s(u8(2), u8(30), u8(35)).c(u8(30));
}

Bytes ard_server_key(std::uint16_t key_length) {
  return cat(u16(2), u16(key_length), filled(key_length, 'P'), filled(key_length, 'S'));
}

Bytes ard_client_answer(std::uint16_t key_length) {
  return cat(filled(128, 'E'), filled(key_length, 'C'));  // encrypted credentials, public value
}

Strings ard_head(const std::string& client = "client-version 3.8 RFB 003.889") {
  return {"server-version 3.8 RFB 003.889", client, "types-offered 30,35", "type-chosen 30"};
}

}  // namespace

TEST_CASE("apple dh: success with a 128-byte key, then ClientInit and ServerInit") {
  const auto t = ard_chosen()
                     .s(ard_server_key(128))
                     .c(ard_client_answer(128))
                     .s(u32(0))
                     .c(u8(1))
                     .s(server_init(2560, 1600, "Mac"));
  const auto obs = observe_every_split(t);
  CHECK(obs.events == with(ard_head(), {"auth ok", "client-init shared", "server-init 2560x1600 Mac"}));
  CHECK(obs.finished);
  CHECK(obs.summary == "version=3.8 type=30 vencrypt=0 name=AppleDH user= size=2560x1600 desktop=Mac shared=1");
}

TEST_CASE("apple dh: a failure carries the reason in 3.8, none in 3.7") {
  auto obs = observe_every_split(
      ard_chosen().s(ard_server_key(128)).c(ard_client_answer(128)).s(u32(1), rfb_string("Authentication failed")));
  CHECK(obs.events == with(ard_head(), {"auth failed: Authentication failed"}));
  CHECK(obs.finished);

  obs = observe_every_split(ard_chosen("RFB 003.007\n").s(ard_server_key(64)).c(ard_client_answer(64)).s(u32(1)));
  CHECK(obs.events == with(ard_head("client-version 3.7 RFB 003.007"), {"auth failed"}));
}

TEST_CASE("apple dh: the client's answer is as long as the server's key says") {
  // One byte short of the answer: the SecurityResult is not yet due.
  HandshakeParser parser;
  const auto before = ard_chosen().s(ard_server_key(256));
  for (const auto& seg : before.segments) parser.feed(seg.direction, seg.bytes);
  Bytes answer = ard_client_answer(256);
  const std::uint8_t last = answer.back();
  answer.pop_back();
  parser.feed(Direction::client_to_server, answer);
  CHECK_FALSE(parser.awaiting_security_result());
  parser.feed(Direction::client_to_server, Bytes{last});
  CHECK(parser.awaiting_security_result());
}

TEST_CASE("apple dh: malformed input: key length 0, over the limit, an unknown SecurityResult") {
  auto obs = observe_every_split(ard_chosen().s(u16(2), u16(0)));
  CHECK(obs.error == "server sent an Apple DH key length of 0");

  obs = observe_every_split(ard_chosen().s(u16(2), u16(65535)));
  CHECK(obs.error == "server sent an Apple DH key of 65535 bytes (limit 1024)");
  CHECK(obs.events == ard_head());

  Limits small;
  small.max_dh_key_length = 64;
  obs = observe_every_split(ard_chosen().s(ard_server_key(65)), small);
  CHECK(obs.error == "server sent an Apple DH key of 65 bytes (limit 64)");
  obs = observe_every_split(ard_chosen().s(ard_server_key(64)).c(ard_client_answer(64)).s(u32(0)), small);
  CHECK_FALSE(obs.failed);

  obs = observe_every_split(ard_chosen().s(ard_server_key(128)).c(ard_client_answer(128)).s(u32(3)));
  CHECK(obs.error == "server sent an unknown SecurityResult 3");
}

TEST_CASE("apple dh: a raised key limit raises the pending bound with it") {
  Limits limits;
  limits.max_pending_bytes = 16;
  limits.max_dh_key_length = 65535;
  const auto t = ard_chosen().s(ard_server_key(65535)).c(ard_client_answer(65535)).s(u32(0));
  for (const auto& plan : {FeedPlan{"whole segments", t.segments}, random_interleaving(t, 7)}) {
    INFO(plan.name);
    const auto obs = run_plan(plan.feeds, limits);
    CHECK_FALSE(obs.failed);
    CHECK(obs.events.back() == "auth ok");
  }
}
