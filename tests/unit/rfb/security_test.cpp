// Security negotiation, None, VNC authentication, SecurityResult, refusals,
// opaque types, and what happens after the handshake.
#include <catch2/catch.hpp>

#include "transcript.hpp"

using namespace vhm::rfb;
using namespace vhm::rfb::test;

namespace {

const std::string v38 = "RFB 003.008\n", v37 = "RFB 003.007\n", v33 = "RFB 003.003\n";

Transcript start(const std::string& client_version) { return Transcript{}.s(v38).c(client_version); }

Strings prefix(const std::string& client_version, Strings rest) {
  Strings out = {"server-version 3.8 RFB 003.008", "client-version " + client_version.substr(6, 1) + "." +
                                                       client_version.substr(10, 1) + " " +
                                                       client_version.substr(0, 11)};
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

}  // namespace

TEST_CASE("security: VncAuth success and failure in 3.3, 3.7 and 3.8") {
  for (const auto& v : {v33, v37, v38}) {
    INFO(v);
    const bool is33 = v == v33;
    Transcript ok = start(v);
    Transcript bad = start(v);
    for (auto* t : {&ok, &bad}) {
      if (is33)
        t->s(u32(2), challenge);
      else
        t->s(u8(2), u8(1), u8(2)).c(u8(2)).s(challenge);
      t->c(response);
    }
    ok.s(u32(0)).c(u8(1)).s(server_init(1024, 768, "office"));
    bad.s(u32(1));
    if (v == v38) bad.s(rfb_string("Authentication failure"));

    auto obs = observe_every_split(ok);
    const Strings offered = is33 ? Strings{"types-offered 2"} : Strings{"types-offered 1,2"};
    Strings expected = prefix(v, offered);
    for (const auto& e : {"type-chosen 2", "auth ok", "client-init shared", "server-init 1024x768 office"})
      expected.push_back(e);
    CHECK(obs.events == expected);
    CHECK(obs.finished);
    CHECK_FALSE(mentions(obs, "CHALLENGE"));
    CHECK_FALSE(mentions(obs, "RESPONSE"));

    obs = observe_every_split(bad);
    expected = prefix(v, offered);
    expected.push_back("type-chosen 2");
    expected.push_back(v == v38 ? "auth failed: Authentication failure" : "auth failed");
    CHECK(obs.events == expected);
    CHECK(obs.finished);
  }
}

TEST_CASE("security: None has a SecurityResult only from 3.8 on") {
  auto obs = observe_every_split(start(v37).s(u8(1), u8(1)).c(u8(1)).c(u8(0)).s(server_init(8, 8, "n")));
  CHECK(obs.events ==
        prefix(v37, {"types-offered 1", "type-chosen 1", "auth ok", "client-init exclusive", "server-init 8x8 n"}));
  // In 3.8 the same bytes would be read as a SecurityResult: the result must be waited for.
  obs = observe_every_split(start(v38).s(u8(1), u8(1)).c(u8(1)).s(u32(1), rfb_string("no")));
  CHECK(obs.events == prefix(v38, {"types-offered 1", "type-chosen 1", "auth failed: no"}));
}

TEST_CASE("security: too many attempts is a failure reported at once, with or without a reason after it") {
  for (const auto& v : {v37, v38}) {
    INFO(v);
    auto t = start(v).s(u8(1), u8(2)).c(u8(2)).s(challenge).c(response).s(u32(2));
    auto obs = observe_every_split(t);
    CHECK(obs.events ==
          prefix(v, {"types-offered 2", "type-chosen 2", "auth failed: too many authentication attempts"}));
    CHECK(obs.finished);
    // A server that does send a reason after it: ignored, the result is the same.
    obs = observe_every_split(t.s(rfb_string("go away")));
    CHECK(obs.events ==
          prefix(v, {"types-offered 2", "type-chosen 2", "auth failed: too many authentication attempts"}));
  }
}

TEST_CASE("security: a refusal before authentication carries the server's reason") {
  auto obs = observe_every_split(start(v38).s(u8(0), rfb_string("Sorry, no more connections")));
  CHECK(obs.events == prefix(v38, {"refused: Sorry, no more connections"}));
  CHECK(obs.finished);
  CHECK(obs.summary.find("type=-1 ") != std::string::npos);

  obs = observe_every_split(start(v33).s(u32(0), rfb_string("Too many security failures")));
  CHECK(obs.events == prefix(v33, {"refused: Too many security failures"}));
  CHECK(obs.finished);

  obs = observe_every_split(start(v37).s(u8(0), rfb_string("")));
  CHECK(obs.events == prefix(v37, {"refused: "}));
}

TEST_CASE("security: a client choosing a type the server did not offer is an error") {
  const auto obs = observe_every_split(start(v38).s(u8(2), u8(19), u8(2)).c(u8(1)));
  CHECK(obs.failed);
  CHECK(obs.error == "client chose security type 1, which the server did not offer (offered: 19, 2)");
  CHECK(obs.events == prefix(v38, {"types-offered 19,2"}));
}

TEST_CASE("security: unknown types are opaque: result unknown, then finished") {
  // RA2 (5) and RA2r (13) encrypt everything after their key exchange; Ultra
  // (17), SASL (20) and MD5 (21) are not followed.
  for (const int type : {5, 13, 17, 20, 21, 200}) {
    INFO(type);
    const auto obs = observe_every_split(start(v38).s(u8(1), u8(type)).c(u8(type)).s(text("whatever follows")));
    CHECK(obs.events == prefix(v38, {"types-offered " + std::to_string(type), "type-chosen " + std::to_string(type),
                                     "auth unknown"}));
    CHECK(obs.finished);
    CHECK(obs.summary.find("name=type-" + std::to_string(type) + " ") != std::string::npos);
  }
  // 3.3 lets the server name any type too.
  const auto obs = observe_every_split(start(v33).s(u32(17), text("ultra")));
  CHECK(obs.events == prefix(v33, {"types-offered 17", "type-chosen 17", "auth unknown"}));
}

TEST_CASE("security: TLS (18) is opaque right after the choice") {
  const Bytes client_hello = {0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5};
  const auto obs = observe_every_split(start(v38).s(u8(2), u8(18), u8(2)).c(u8(18), client_hello));
  CHECK(obs.events == prefix(v38, {"types-offered 18,2", "type-chosen 18", "auth unknown"}));
  CHECK(obs.finished);
  CHECK(obs.summary.find("type=18 vencrypt=0 name=TLS ") != std::string::npos);
}

TEST_CASE("security: malformed server answers are errors") {
  auto obs = observe_every_split(start(v33).s(u32(256)));
  CHECK(obs.error == "server sent security type 256 in a 3.3 handshake");

  obs = observe_every_split(start(v38).s(u8(1), u8(2)).c(u8(2)).s(challenge).c(response).s(u32(7)));
  CHECK(obs.error == "server sent an unknown SecurityResult 7");
  CHECK_FALSE(mentions(obs, "CHALLENGE"));
  CHECK_FALSE(mentions(obs, "RESPONSE"));
}

TEST_CASE("security: bytes after the handshake are ignored") {
  const auto t = start(v38)
                     .s(u8(1), u8(1))
                     .c(u8(1))
                     .s(u32(0))
                     .c(u8(1))
                     .s(server_init(640, 480, "d"), text("\xff garbage"))
                     .c(text("\xfe more garbage"));
  const auto obs = observe_every_split(t);
  CHECK(obs.finished);
  CHECK_FALSE(obs.failed);
  CHECK(obs.events.back() == "server-init 640x480 d");

  HandshakeParser parser;
  for (const auto& seg : t.segments) parser.feed(seg.direction, seg.bytes);
  REQUIRE(parser.finished());
  const auto before = describe(parser.summary());
  for (const auto d : {Direction::server_to_client, Direction::client_to_server}) {
    const auto r = parser.feed(d, text("RFB 000.000\n not a handshake"));
    CHECK(r.status == Status::need_more);
    CHECK(r.events.empty());
    CHECK(r.error.empty());
  }
  CHECK(describe(parser.summary()) == before);
  CHECK(parser.finished());
}

TEST_CASE("security: after an error the parser stays in error") {
  HandshakeParser parser;
  auto r = parser.feed(Direction::server_to_client, text("SSH-2.0-OpenSSH_9.2\r\n"));
  REQUIRE(r.status == Status::error);
  const std::string first = r.error;
  r = parser.feed(Direction::client_to_server, text("RFB 003.008\n"));
  CHECK(r.status == Status::error);
  CHECK(r.error == first);
  CHECK(r.events.empty());
  CHECK(parser.failed());
  CHECK_FALSE(parser.finished());
}

TEST_CASE("security: events decided before an error in the same feed are still returned") {
  HandshakeParser parser;
  // The security types wait in the server's buffer until the client's version is known.
  const auto r = parser.feed(Direction::server_to_client, cat(text(v38), u8(1), u8(1)));
  CHECK(r.status == Status::progressed);
  REQUIRE(r.events.size() == 1);
  CHECK(describe(r.events[0]) == "server-version 3.8 RFB 003.008");
  const auto e = parser.feed(Direction::client_to_server, cat(text(v38), u8(2)));
  CHECK(e.status == Status::error);
  REQUIRE(e.events.size() == 2);
  CHECK(describe(e.events[0]) == "client-version 3.8 RFB 003.008");
  CHECK(describe(e.events[1]) == "types-offered 1");
  CHECK(e.error == "client chose security type 2, which the server did not offer (offered: 1)");
}

TEST_CASE("security: names of security types and VeNCrypt subtypes") {
  CHECK(security_type_name(1) == "None");
  CHECK(security_type_name(2) == "VncAuth");
  CHECK(security_type_name(16) == "Tight");
  CHECK(security_type_name(18) == "TLS");
  CHECK(security_type_name(19) == "VeNCrypt");
  CHECK(security_type_name(6) == "RA2ne");
  CHECK(security_type_name(22) == "xvp");
  CHECK(security_type_name(30) == "AppleDH");
  CHECK(security_type_name(113) == "MSLogonII");
  CHECK(security_type_name(5) == "type-5");
  CHECK(security_type_name(17) == "type-17");
  CHECK(vencrypt_subtype_name(256) == "Plain");
  CHECK(vencrypt_subtype_name(258) == "TLSVnc");
  CHECK(vencrypt_subtype_name(262) == "X509Plain");
  CHECK(vencrypt_subtype_name(265) == "Ident");
  CHECK(vencrypt_subtype_name(267) == "X509Ident");
  CHECK(vencrypt_subtype_name(2) == "VncAuth");
  CHECK(vencrypt_subtype_name(999) == "subtype-999");
}
