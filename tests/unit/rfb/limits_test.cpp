// Bounds: every length is checked before it is trusted, and bytes waiting for
// their turn are bounded per direction.
#include <catch2/catch.hpp>

#include "transcript.hpp"

using namespace vhm::rfb;
using namespace vhm::rfb::test;

namespace {

Transcript upto_server_init() {
  return Transcript{}.s("RFB 003.008\n").c("RFB 003.008\n").s(u8(1), u8(1)).c(u8(1)).s(u32(0)).c(u8(1));
}

}  // namespace

TEST_CASE("limits: an oversized desktop name is an error as soon as its length is seen") {
  const auto obs = observe_every_split(upto_server_init().s(u16(800), u16(600), zeros(16), u32(0xffffffff)));
  CHECK(obs.failed);
  CHECK(obs.error == "server sent a desktop name of 4294967295 bytes (limit 65536)");
  CHECK(obs.events.back() == "client-init shared");

  Limits small;
  small.max_desktop_name_length = 4;
  CHECK(observe_every_split(upto_server_init().s(server_init(1, 1, "abcde")), small).error ==
        "server sent a desktop name of 5 bytes (limit 4)");
  CHECK(observe_every_split(upto_server_init().s(server_init(1, 1, "abcd")), small).finished);
}

TEST_CASE("limits: oversized refusal and failure reasons are errors") {
  auto obs = observe_every_split(Transcript{}.s("RFB 003.008\n").c("RFB 003.008\n").s(u8(0), u32(65537)));
  CHECK(obs.error == "server sent a refusal reason of 65537 bytes (limit 65536)");
  obs = observe_every_split(Transcript{}.s("RFB 003.003\n").c("RFB 003.003\n").s(u32(0), u32(1u << 31)));
  CHECK(obs.error == "server sent a refusal reason of 2147483648 bytes (limit 65536)");

  obs = observe_every_split(
      Transcript{}.s("RFB 003.008\n").c("RFB 003.008\n").s(u8(1), u8(1)).c(u8(1)).s(u32(1), u32(70000)));
  CHECK(obs.error == "server sent a failure reason of 70000 bytes (limit 65536)");

  Limits small;
  small.max_reason_length = 3;
  obs = observe_every_split(Transcript{}.s("RFB 003.008\n").c("RFB 003.008\n").s(u8(0), rfb_string("abc")), small);
  CHECK(obs.events.back() == "refused: abc");
}

TEST_CASE("limits: bytes a direction sends ahead of the handshake are bounded") {
  Limits limits;
  limits.max_pending_bytes = 300 * 1024;  // above what the other limits need, so it is used as is
  HandshakeParser parser(limits);
  // The client floods before the server has even sent its version.
  const Bytes flood(300 * 1024, 'x');
  auto r = parser.feed(Direction::client_to_server, flood);
  CHECK(r.status == Status::need_more);  // exactly at the limit: still fine
  r = parser.feed(Direction::client_to_server, Bytes{'y'});
  CHECK(r.status == Status::error);
  CHECK(r.error == "client sent more bytes than the handshake parser may hold before it can use them (limit 307200)");
}

TEST_CASE("limits: the pending bound never blocks a message the other limits allow") {
  Limits limits;
  limits.max_pending_bytes = 16;  // too small for a 100000-byte desktop name: raised internally
  limits.max_desktop_name_length = 100000;
  const std::string name(100000, 'n');
  const auto t = upto_server_init().s(server_init(3, 4, name));
  // Not every plan: 100000 split points would be slow and add nothing here. And
  // not "all server bytes first": no server sends ServerInit before ClientInit.
  std::vector<FeedPlan> plans = {{"whole segments", t.segments}};
  for (unsigned seed = 1; seed <= 4; ++seed) plans.push_back(random_interleaving(t, seed));
  for (const auto& plan : plans) {
    INFO(plan.name);
    const auto obs = run_plan(plan.feeds, limits);
    CHECK(obs.finished);
    CHECK(obs.events.back() == "server-init 3x4 " + name);
  }
}

TEST_CASE("limits: a large read holding ServerInit and the stream after it is fine") {
  HandshakeParser parser;
  for (const auto& seg : upto_server_init().segments) parser.feed(seg.direction, seg.bytes);
  Bytes big = server_init(64, 64, "desk");
  big.resize(big.size() + 4 * 1024 * 1024, 0xab);  // a framebuffer update in the same read
  const auto r = parser.feed(Direction::server_to_client, big);
  CHECK(r.status == Status::progressed);
  CHECK(parser.finished());
  CHECK_FALSE(parser.failed());
}

TEST_CASE("limits: client bytes sent ahead of the server's are kept until their turn") {
  // The client's whole side arrives before any server byte: nothing is lost.
  const auto t = upto_server_init().s(server_init(5, 6, "late server"));
  HandshakeParser parser;
  std::vector<std::string> events;
  for (const auto direction : {Direction::client_to_server, Direction::server_to_client})
    for (const auto& seg : t.segments)
      if (seg.direction == direction)
        for (const auto& e : parser.feed(direction, seg.bytes).events) events.push_back(describe(e));
  CHECK(parser.finished());
  CHECK(events.back() == "server-init 5x6 late server");
  CHECK(events.size() == 7);
}
