// VeNCrypt TLS subtypes when the proxy terminates TLS on both legs
// (TlsVisibility::terminated): after TlsStarts the transcript bytes stand for
// the decrypted inner streams, and the inner exchange is followed to
// ServerInit. With the default (opaque) nothing changes but the TlsStarts event.
#include <catch2/catch.hpp>

#include "transcript.hpp"

using namespace vhm::rfb;
using namespace vhm::rfb::test;

namespace {

// Up to and including the server's TLS ack for `subtype`.
Transcript tls_started(std::uint32_t subtype, const std::string& client_version = "RFB 003.008\n") {
  Transcript t;
  t.s("RFB 003.008\n").c(client_version).s(u8(2), u8(19), u8(2)).c(u8(19)).s(u8(0), u8(2)).c(u8(0), u8(2)).s(u8(0));
  t.s(u8(2), u32(subtype), u32(2)).c(u32(subtype)).s(u8(1));
  return t;
}

Strings tls_head(std::uint32_t subtype, const std::string& minor = "8") {
  const std::string s = std::to_string(subtype);
  return {"server-version 3.8 RFB 003.008", "client-version 3." + minor + " RFB 003.00" + minor,
          "types-offered 19,2", "type-chosen 19", "vencrypt-offered " + s + ",2", "vencrypt-chosen " + s,
          "tls-starts " + s};
}

}  // namespace

TEST_CASE("tls terminated: TLSVnc success inside TLS, then ClientInit and ServerInit") {
  for (const std::uint32_t subtype : {258u, 261u}) {  // TLSVnc, X509Vnc
    INFO(subtype);
    const auto t = tls_started(subtype).s(challenge).c(response).s(u32(0)).c(u8(1)).s(server_init(800, 600, "inner"));
    const auto obs = observe_every_split(t, {}, terminated);
    CHECK(obs.events == with(tls_head(subtype), {"auth ok", "client-init shared", "server-init 800x600 inner"}));
    CHECK(obs.finished);
    CHECK(obs.summary.find("name=VeNCrypt/" + vencrypt_subtype_name(subtype) + " ") != std::string::npos);
    CHECK_FALSE(mentions(obs, "CHALLENGE"));
    CHECK_FALSE(mentions(obs, "RESPONSE"));
  }
}

TEST_CASE("tls terminated: TLSVnc failure carries the server's reason (3.8)") {
  const auto t = tls_started(258).s(challenge).c(response).s(u32(1), rfb_string("Authentication failure"));
  const auto obs = observe_every_split(t, {}, terminated);
  CHECK(obs.events == with(tls_head(258), {"auth failed: Authentication failure"}));
  CHECK(obs.finished);
  CHECK_FALSE(obs.failed);
}

TEST_CASE("tls terminated: TLSPlain and X509Plain show the user, never the password") {
  for (const std::uint32_t subtype : {259u, 262u}) {
    INFO(subtype);
    const auto ok = tls_started(subtype)
                        .c(plain_credentials("carol", password))
                        .s(u32(0))
                        .c(u8(0))
                        .s(server_init(1024, 768, "plain inside"));
    auto obs = observe_every_split(ok, {}, terminated);
    CHECK(obs.events == with(tls_head(subtype),
                             {"user carol", "auth ok", "client-init exclusive", "server-init 1024x768 plain inside"}));
    CHECK(obs.summary.find("user=carol ") != std::string::npos);
    CHECK_FALSE(mentions(obs, "hunter2"));

    const auto bad = tls_started(subtype).c(plain_credentials("mallory", password)).s(u32(1), rfb_string("denied"));
    obs = observe_every_split(bad, {}, terminated);
    CHECK(obs.events == with(tls_head(subtype), {"user mallory", "auth failed: denied"}));
    CHECK_FALSE(mentions(obs, "hunter2"));
  }
}

TEST_CASE("tls terminated: X509None and TLSNone have a SecurityResult, in 3.7 too") {
  for (const std::uint32_t subtype : {257u, 260u}) {
    INFO(subtype);
    auto obs = observe_every_split(tls_started(subtype).s(u32(0)).c(u8(1)).s(server_init(5, 6, "x509 none")), {},
                                   terminated);
    CHECK(obs.events == with(tls_head(subtype), {"auth ok", "client-init shared", "server-init 5x6 x509 none"}));
    CHECK(obs.finished);

    // Unlike plain None, the SecurityResult is there before 3.8 as well; a
    // 3.7 failure has no reason string.
    obs = observe_every_split(tls_started(subtype, "RFB 003.007\n").s(u32(1)), {}, terminated);
    CHECK(obs.events == with(tls_head(subtype, "7"), {"auth failed"}));
    obs = observe_every_split(tls_started(subtype, "RFB 003.007\n").s(u32(0)).c(u8(1)).s(server_init(5, 6, "d")), {},
                              terminated);
    CHECK(obs.events == with(tls_head(subtype, "7"), {"auth ok", "client-init shared", "server-init 5x6 d"}));
  }
}

TEST_CASE("tls terminated: malformed inner messages are errors like their clear counterparts") {
  auto obs = observe_every_split(tls_started(258).s(challenge).c(response).s(u32(9)), {}, terminated);
  CHECK(obs.error == "server sent an unknown SecurityResult 9");
  CHECK_FALSE(mentions(obs, "CHALLENGE"));

  obs = observe_every_split(tls_started(259).c(u32(3), u32(0x7fffffff)), {}, terminated);
  CHECK(obs.error == "client sent a password of 2147483647 bytes (limit 1024)");

  obs = observe_every_split(tls_started(260).s(u32(0)).c(u8(1)).s(u16(1), u16(1), zeros(16), u32(0xffffffff)), {},
                            terminated);
  CHECK(obs.error == "server sent a desktop name of 4294967295 bytes (limit 65536)");
}

TEST_CASE("tls terminated: SASL and Ident inside TLS are not followed") {
  for (const std::uint32_t subtype : {263u, 264u, 266u, 267u}) {
    INFO(subtype);
    const auto obs = observe_every_split(tls_started(subtype).c(u32(4), text("sasl")), {}, terminated);
    CHECK(obs.events == with(tls_head(subtype), {"auth unknown"}));
    CHECK(obs.finished);
  }
}

TEST_CASE("tls terminated: the old TLS type (18) stays opaque") {
  const auto t = Transcript{}.s("RFB 003.008\n").c("RFB 003.008\n").s(u8(1), u8(18)).c(u8(18)).s(challenge);
  const auto obs = observe_every_split(t, {}, terminated);
  CHECK(obs.events == Strings{"server-version 3.8 RFB 003.008", "client-version 3.8 RFB 003.008", "types-offered 18",
                              "type-chosen 18", "auth unknown"});
  CHECK(obs.finished);
}

TEST_CASE("tls terminated: opaque (the default) is unchanged by what follows the ack") {
  const auto t = tls_started(258).s(challenge).c(response).s(u32(0)).c(u8(1)).s(server_init(8, 8, "n"));
  const auto by_default = observe_every_split(t);
  const auto opaque = observe_every_split(t, {}, TlsVisibility::opaque);
  CHECK(by_default == opaque);
  CHECK(opaque.events == with(tls_head(258), {"auth unknown"}));
  CHECK(opaque.finished);
  CHECK(opaque.summary.find("size=0x0 ") != std::string::npos);  // nothing after the ack was read
}

TEST_CASE("tls terminated: awaiting_security_result is right inside TLS") {
  const auto feed_all = [](HandshakeParser& parser, const Transcript& t) {
    for (const auto& seg : t.segments) parser.feed(seg.direction, seg.bytes);
  };
  {
    HandshakeParser parser({}, terminated);
    feed_all(parser, tls_started(258));
    CHECK_FALSE(parser.awaiting_security_result());  // the challenge comes first
    parser.feed(Direction::server_to_client, challenge);
    CHECK_FALSE(parser.awaiting_security_result());
    parser.feed(Direction::client_to_server, response);
    CHECK(parser.awaiting_security_result());
    parser.feed(Direction::server_to_client, Bytes{0, 0});
    CHECK_FALSE(parser.awaiting_security_result());  // part of it is buffered
    parser.feed(Direction::server_to_client, Bytes{0, 0});
    CHECK_FALSE(parser.awaiting_security_result());
    CHECK(describe(parser.summary()).find("size=0x0") != std::string::npos);
  }
  {
    HandshakeParser parser({}, terminated);
    feed_all(parser, tls_started(260));
    CHECK(parser.awaiting_security_result());  // X509None: the result is the first inner message
  }
  {
    HandshakeParser parser({}, terminated);
    feed_all(parser, tls_started(259));
    CHECK_FALSE(parser.awaiting_security_result());
    parser.feed(Direction::client_to_server, plain_credentials("u", "p"));
    CHECK(parser.awaiting_security_result());
  }
  {
    HandshakeParser parser;  // opaque: finished at the ack, no result to wait for
    feed_all(parser, tls_started(258));
    CHECK(parser.finished());
    CHECK_FALSE(parser.awaiting_security_result());
  }
}

TEST_CASE("tls terminated: TlsStarts is reported in the feed that completes the ack") {
  HandshakeParser parser({}, terminated);
  auto t = tls_started(258);
  Bytes ack = t.segments.back().bytes;
  t.segments.pop_back();
  for (const auto& seg : t.segments) parser.feed(seg.direction, seg.bytes);
  const auto r = parser.feed(Direction::server_to_client, ack);
  CHECK(r.status == Status::progressed);
  REQUIRE(r.events.size() == 1);
  CHECK(describe(r.events[0]) == "tls-starts 258");
  CHECK_FALSE(parser.finished());
}
