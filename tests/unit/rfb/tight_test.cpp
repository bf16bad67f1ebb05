// The Tight security type (16): tunnels, authentication capabilities, Unix
// login, and the interaction capabilities after ServerInit.
#include <catch2/catch.hpp>

#include "transcript.hpp"

using namespace vhm::rfb;
using namespace vhm::rfb::test;

namespace {

const Bytes no_tunnel = capability(0, "TGHT", "NOTUNNEL");
const Bytes cap_none = capability(1, "STDV", "NOAUTH__");
const Bytes cap_vnc = capability(2, "STDV", "VNCAUTH_");
const Bytes cap_unix = capability(129, "TGHT", "ULGNAUTH");

// ServerInit followed by Tight's interaction capabilities: 1 server message,
// 2 client messages, 3 encodings.
Bytes tight_server_init() {
  return cat(server_init(1280, 1024, "tight desk"), u16(1), u16(2), u16(3), u16(0), capability(150, "TGHT", "CUS_EOCU"),
             capability(150, "TGHT", "CUC_ENCU"), capability(151, "TGHT", "VRECTSEL"),
             capability(5, "STDV", "HEXTILE_"), capability(7, "TGHT", "TIGHT___"),
             capability(static_cast<std::uint32_t>(-223), "TGHT", "NEWFBSIZ"));
}

Transcript tight_start(const std::string& version = "RFB 003.008\n") {
  return Transcript{}.s("RFB 003.008\n").c(version).s(u8(2), u8(2), u8(16)).c(u8(16));
}

Strings tight_head(const std::string& minor = "8") {
  return {"server-version 3.8 RFB 003.008", "client-version 3." + minor + " RFB 003.00" + minor, "types-offered 2,16",
          "type-chosen 16"};
}

}  // namespace

TEST_CASE("tight: no tunnels, VncAuth, and the interaction capabilities are consumed before finishing") {
  auto t = tight_start().s(u32(0), u32(1), cap_vnc).c(u32(2)).s(challenge).c(response).s(u32(0)).c(u8(1));
  const Bytes init = tight_server_init();
  t.s(init, text("\x00\x00\x00\x01 framebuffer update bytes"));
  const auto obs = observe_every_split(t);
  CHECK(obs.events == with(tight_head(), {"auth ok", "client-init shared", "server-init 1280x1024 tight desk"}));
  CHECK(obs.finished);
  CHECK(obs.summary.find("type=16 vencrypt=0 name=Tight ") != std::string::npos);

  // ServerInit alone is not the end: the capability lists still belong to the handshake.
  HandshakeParser parser;
  const auto whole = tight_start().s(u32(0), u32(1), cap_vnc).c(u32(2)).s(challenge).c(response).s(u32(0)).c(u8(1));
  for (const auto& seg : whole.segments) parser.feed(seg.direction, seg.bytes);
  const Bytes all_but_last(init.begin(), init.end() - 1);
  auto r = parser.feed(Direction::server_to_client, all_but_last);
  REQUIRE(r.events.size() == 1);
  CHECK(describe(r.events[0]) == "server-init 1280x1024 tight desk");
  CHECK_FALSE(parser.finished());
  r = parser.feed(Direction::server_to_client, Bytes{init.back()});
  CHECK(r.status == Status::progressed);
  CHECK(r.events.empty());
  CHECK(parser.finished());
}

TEST_CASE("tight: a NOTUNNEL tunnel and Unix login: the user is visible, the password never") {
  const auto t =
      tight_start()
          .s(u32(1), no_tunnel)
          .c(u32(0))
          .s(u32(3), cap_none, cap_vnc, cap_unix)
          .c(u32(129), u32(5), u32(static_cast<std::uint32_t>(password.size())), text("alice"), text(password))
          .s(u32(0))
          .c(u8(0))
          .s(tight_server_init());
  const auto obs = observe_every_split(t);
  CHECK(obs.events ==
        with(tight_head(), {"user alice", "auth ok", "client-init exclusive", "server-init 1280x1024 tight desk"}));
  CHECK(obs.finished);
  CHECK(obs.summary.find("user=alice ") != std::string::npos);
  CHECK_FALSE(mentions(obs, "hunter2"));
}

TEST_CASE("tight: Unix login failure in 3.8 carries the reason, the password stays hidden") {
  const auto t = tight_start()
                     .s(u32(0), u32(1), cap_unix)
                     .c(u32(129), u32(3), u32(static_cast<std::uint32_t>(password.size())), text("bob"), text(password))
                     .s(u32(1), rfb_string("Unix login failed"));
  const auto obs = observe_every_split(t);
  CHECK(obs.events == with(tight_head(), {"user bob", "auth failed: Unix login failed"}));
  CHECK_FALSE(mentions(obs, "hunter2"));
}

TEST_CASE("tight: no authentication capabilities means None (SecurityResult only in 3.8)") {
  auto obs = observe_every_split(tight_start("RFB 003.007\n").s(u32(0), u32(0)).c(u8(1)).s(tight_server_init()));
  CHECK(obs.events == with(tight_head("7"), {"auth ok", "client-init shared", "server-init 1280x1024 tight desk"}));
  CHECK(obs.finished);

  obs = observe_every_split(tight_start().s(u32(0), u32(0), u32(0)).c(u8(1)).s(tight_server_init()));
  CHECK(obs.events == with(tight_head(), {"auth ok", "client-init shared", "server-init 1280x1024 tight desk"}));

  // Chosen explicitly: same rule.
  obs = observe_every_split(
      tight_start("RFB 003.007\n").s(u32(0), u32(1), cap_none).c(u32(1), u8(1)).s(tight_server_init()));
  CHECK(obs.events == with(tight_head("7"), {"auth ok", "client-init shared", "server-init 1280x1024 tight desk"}));
}

TEST_CASE("tight: choices the server did not offer are errors; a real tunnel or unknown auth is opaque") {
  auto obs = observe_every_split(tight_start().s(u32(1), no_tunnel).c(u32(7)));
  CHECK(obs.error == "client chose Tight tunnel 7, which the server did not offer (offered: 0)");

  obs = observe_every_split(tight_start().s(u32(0), u32(2), cap_none, cap_vnc).c(u32(129)));
  CHECK(obs.error == "client chose Tight authentication 129, which the server did not offer (offered: 1, 2)");

  obs = observe_every_split(tight_start().s(u32(1), capability(1, "SICR", "SCHANNEL")).c(u32(1), text("encrypted")));
  CHECK(obs.events == with(tight_head(), {"auth unknown"}));
  CHECK(obs.finished);

  obs = observe_every_split(tight_start().s(u32(0), u32(1), capability(20, "GTKV", "SASL____")).c(u32(20)));
  CHECK(obs.events == with(tight_head(), {"auth unknown"}));
  CHECK(obs.finished);
}

TEST_CASE("tight: capability counts are checked against the limit before any list is read") {
  auto obs = observe_every_split(tight_start().s(u32(257)));
  CHECK(obs.error == "server sent a Tight tunnel count of 257 (limit 256)");

  obs = observe_every_split(tight_start().s(u32(0), u32(0xffffffff)));
  CHECK(obs.error == "server sent a Tight authentication capability count of 4294967295 (limit 256)");

  const auto upto_init = tight_start().s(u32(0), u32(0), u32(0)).c(u8(1));
  obs = observe_every_split(Transcript(upto_init).s(server_init(1, 1, "x"), u16(0), u16(0), u16(300), u16(0)));
  CHECK(obs.error == "server sent a Tight encoding capability count of 300 (limit 256)");
  CHECK(obs.events.back() == "server-init 1x1 x");

  Limits small;
  small.max_tight_capabilities = 2;
  obs = observe_every_split(Transcript(upto_init).s(server_init(1, 1, "x"), u16(3), u16(0), u16(0), u16(0)), small);
  CHECK(obs.error == "server sent a Tight server message capability count of 3 (limit 2)");
  obs = observe_every_split(tight_start().s(u32(0), u32(2), cap_none, cap_vnc).c(u32(1)), small);
  CHECK_FALSE(obs.failed);
}

TEST_CASE("tight: Unix login lengths are checked before the bytes are awaited") {
  auto obs = observe_every_split(tight_start().s(u32(0), u32(1), cap_unix).c(u32(129), u32(5000), u32(4)));
  CHECK(obs.error == "client sent a user name of 5000 bytes (limit 1024)");
  obs = observe_every_split(tight_start().s(u32(0), u32(1), cap_unix).c(u32(129), u32(5), u32(1025)));
  CHECK(obs.error == "client sent a password of 1025 bytes (limit 1024)");
}

TEST_CASE("tight: VncAuth failure in 3.8 carries the reason; None chosen explicitly in 3.8 has a result") {
  const auto vnc_auth = tight_start().s(u32(0), u32(2), cap_none, cap_vnc).c(u32(2)).s(challenge).c(response);
  auto obs = observe_every_split(Transcript(vnc_auth).s(u32(1), rfb_string("bad password")));
  CHECK(obs.events == with(tight_head(), {"auth failed: bad password"}));
  CHECK(obs.finished);
  CHECK_FALSE(mentions(obs, "CHALLENGE"));

  obs = observe_every_split(
      tight_start().s(u32(0), u32(2), cap_none, cap_vnc).c(u32(1)).s(u32(0)).c(u8(1)).s(tight_server_init()));
  CHECK(obs.events == with(tight_head(), {"auth ok", "client-init shared", "server-init 1280x1024 tight desk"}));
}

TEST_CASE("tight: the VeNCrypt capability continues as VeNCrypt, and ServerInit keeps the Tight lists") {
  const Bytes cap_vencrypt = capability(19, "VENC", "VENCRYPT");
  const auto t = tight_start()
                     .s(u32(0), u32(2), cap_vencrypt, cap_unix)
                     .c(u32(19))
                     .s(u8(0), u8(2))
                     .c(u8(0), u8(2))
                     .s(u8(0), u8(2), u32(256), u32(259))
                     .c(u32(256), u32(3), u32(static_cast<std::uint32_t>(password.size())), text("eve"), text(password))
                     .s(u32(0))
                     .c(u8(1))
                     .s(tight_server_init());
  const auto obs = observe_every_split(t);
  CHECK(obs.events == with(tight_head(), {"vencrypt-offered 256,259", "vencrypt-chosen 256", "user eve", "auth ok",
                                          "client-init shared", "server-init 1280x1024 tight desk"}));
  CHECK(obs.finished);
  CHECK(obs.summary.find("type=16 vencrypt=256 ") != std::string::npos);
  CHECK_FALSE(mentions(obs, "hunter2"));
}

TEST_CASE("tight: External and SASL authentication are not guessed: result unknown") {
  for (const auto& cap : {capability(130, "TGHT", "XTRNAUTH"), capability(20, "GTKV", "SASL____")}) {
    const std::uint32_t code = cap[3];
    INFO(code);
    const auto obs = observe_every_split(tight_start().s(u32(0), u32(1), cap).c(u32(code), u32(5), text("bytes")));
    CHECK(obs.events == with(tight_head(), {"auth unknown"}));
    CHECK(obs.finished);
  }
}

TEST_CASE("tight: NOTUNNEL is accepted when a server forgets to list it (Siemens SICR SCHANNEL)") {
  const auto t = tight_start()
                     .s(u32(1), capability(1, "SICR", "SCHANNEL"))
                     .c(u32(0))
                     .s(u32(1), cap_vnc)
                     .c(u32(2))
                     .s(challenge)
                     .c(response)
                     .s(u32(0))
                     .c(u8(1))
                     .s(tight_server_init());
  const auto obs = observe_every_split(t);
  CHECK(obs.events == with(tight_head(), {"auth ok", "client-init shared", "server-init 1280x1024 tight desk"}));
  CHECK_FALSE(obs.failed);
}
