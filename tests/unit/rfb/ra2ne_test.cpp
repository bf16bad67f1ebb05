// RA2ne (6): TigerVNC's RSA-AES handshake stepped over by its clear length
// fields, then the plaintext SecurityResult. Anything off TigerVNC's layout
// reports the result unknown ("result hidden by RA2ne") instead of failing.
#include <catch2/catch.hpp>

#include "transcript.hpp"

using namespace vhm::rfb;
using namespace vhm::rfb::test;

namespace {

Bytes rsa_key(std::uint32_t bits, char c) {
  const std::size_t bytes = (bits + 7) / 8;
  return cat(u32(bits), filled(bytes, c), filled(bytes, c));
}

Bytes sized(std::size_t length, char c) { return cat(u16(static_cast<unsigned>(length)), filled(length, c)); }

// An AES-EAX record: u16 length, encrypted payload, 16-byte MAC.
Bytes record(std::size_t payload, char c) { return cat(sized(payload, c), filled(16, 'M')); }

struct Keys {
  std::uint32_t server_bits = 2048;
  std::uint32_t client_bits = 1024;
};

Transcript ra2ne_chosen(const std::string& client_version = "RFB 003.008\n") {
  return Transcript{}.s("RFB 003.008\n").c(client_version).s(u8(3), u8(6), u8(5), u8(2)).c(u8(6));
}

// Everything up to the SecurityResult, as TigerVNC writes it. The credentials
// record holds u8 + "alice" + u8 + "hunter2!": 2 + 5 + 8 bytes.
Transcript ra2ne_authenticated(Keys keys = {}, const std::string& client_version = "RFB 003.008\n") {
  return ra2ne_chosen(client_version)
      .s(rsa_key(keys.server_bits, 'N'))
      .c(rsa_key(keys.client_bits, 'n'))
      .s(sized((keys.client_bits + 7) / 8, 'R'))  // encrypted with the client's key
      .c(sized((keys.server_bits + 7) / 8, 'r'))  // encrypted with the server's key
      .s(record(20, 'H'))
      .c(record(20, 'h'))
      .s(record(1, 'T'))
      .c(record(2 + 5 + 8, 'K'));
}

Strings ra2ne_head(const std::string& minor = "8") {
  return {"server-version 3.8 RFB 003.008", "client-version 3." + minor + " RFB 003.00" + minor,
          "types-offered 6,5,2", "type-chosen 6"};
}

const std::string hidden = "auth unknown: result hidden by RA2ne";

}  // namespace

TEST_CASE("ra2ne: success is read from the plaintext SecurityResult") {
  const auto t = ra2ne_authenticated().s(u32(0)).c(u8(1)).s(server_init(1920, 1200, "tiger"));
  const auto obs = observe_every_split(t);
  CHECK(obs.events == with(ra2ne_head(), {"auth ok", "client-init shared", "server-init 1920x1200 tiger"}));
  CHECK(obs.finished);
  CHECK(obs.summary == "version=3.8 type=6 vencrypt=0 name=RA2ne user= size=1920x1200 desktop=tiger shared=1");
}

TEST_CASE("ra2ne: a failure carries the reason in 3.8, none in 3.7") {
  auto obs = observe_every_split(ra2ne_authenticated().s(u32(1), rfb_string("Authentication failed")));
  CHECK(obs.events == with(ra2ne_head(), {"auth failed: Authentication failed"}));
  CHECK(obs.finished);

  obs = observe_every_split(ra2ne_authenticated({}, "RFB 003.007\n").s(u32(1)));
  CHECK(obs.events == with(ra2ne_head("7"), {"auth failed"}));
}

TEST_CASE("ra2ne: key sizes that are not whole bytes, and the largest key") {
  for (const Keys keys : {Keys{1025, 8192}, Keys{8192, 2047}, Keys{1024, 1024}}) {
    INFO(keys.server_bits << "/" << keys.client_bits);
    const auto obs = observe_every_split(ra2ne_authenticated(keys).s(u32(0)));
    CHECK(obs.events == with(ra2ne_head(), {"auth ok"}));
  }
}

TEST_CASE("ra2ne: a layout TigerVNC would not send reports the result as hidden, not as an error") {
  const auto chosen = ra2ne_chosen();
  const std::vector<std::pair<std::string, Transcript>> cases = {
      {"server key too short", Transcript(chosen).s(rsa_key(512, 'N'))},
      {"server key too long", Transcript(chosen).s(u32(8193))},
      {"client key too long", Transcript(chosen).s(rsa_key(2048, 'N')).c(u32(0xffffffff))},
      {"server random of the wrong size",
       Transcript(chosen).s(rsa_key(2048, 'N')).c(rsa_key(1024, 'n')).s(sized(256, 'R'))},
      {"client random of the wrong size",
       Transcript(chosen).s(rsa_key(2048, 'N')).c(rsa_key(1024, 'n')).s(sized(128, 'R')).c(sized(128, 'r'))},
      {"hash and subtype in one record",
       Transcript(chosen).s(rsa_key(2048, 'N')).c(rsa_key(1024, 'n')).s(sized(128, 'R')).c(sized(256, 'r')).s(
           record(21, 'H'))},
      {"a SHA-256 client hash",
       Transcript(chosen)
           .s(rsa_key(2048, 'N'))
           .c(rsa_key(1024, 'n'))
           .s(sized(128, 'R'))
           .c(sized(256, 'r'))
           .s(record(20, 'H'))
           .c(record(32, 'h'))},
      {"subtype record of two bytes",
       Transcript(chosen)
           .s(rsa_key(2048, 'N'))
           .c(rsa_key(1024, 'n'))
           .s(sized(128, 'R'))
           .c(sized(256, 'r'))
           .s(record(20, 'H'))
           .c(record(20, 'h'))
           .s(record(2, 'T'))},
      {"credentials longer than two u8-counted strings",
       Transcript(chosen)
           .s(rsa_key(2048, 'N'))
           .c(rsa_key(1024, 'n'))
           .s(sized(128, 'R'))
           .c(sized(256, 'r'))
           .s(record(20, 'H'))
           .c(record(20, 'h'))
           .s(record(1, 'T'))
           .c(u16(513))},
  };
  for (const auto& [name, t] : cases) {
    INFO(name);
    const auto obs = observe_every_split(t);
    CHECK(obs.events == with(ra2ne_head(), {hidden}));
    CHECK(obs.finished);
    CHECK_FALSE(obs.failed);
  }
}

TEST_CASE("ra2ne: malformed plaintext after the handshake is an error") {
  const auto obs = observe_every_split(ra2ne_authenticated().s(u32(4)));
  CHECK(obs.error == "server sent an unknown SecurityResult 4");
}

TEST_CASE("ra2ne: the SecurityResult is awaited only after the credentials record") {
  auto t = ra2ne_authenticated();
  Bytes credentials = t.segments.back().bytes;
  t.segments.pop_back();
  HandshakeParser parser;
  for (const auto& seg : t.segments) parser.feed(seg.direction, seg.bytes);
  CHECK_FALSE(parser.awaiting_security_result());
  const std::uint8_t last = credentials.back();
  credentials.pop_back();
  parser.feed(Direction::client_to_server, credentials);
  CHECK_FALSE(parser.awaiting_security_result());  // the MAC's last byte is missing
  parser.feed(Direction::client_to_server, Bytes{last});
  CHECK(parser.awaiting_security_result());
}
