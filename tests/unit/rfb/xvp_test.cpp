// xvp (22): the client sends user and target in clear (u8 lengths), then VNC
// authentication and a SecurityResult (see rfb/handshake_steps_xvp.cpp for
// why the client, not the server, sends them).
#include <catch2/catch.hpp>

#include "transcript.hpp"

using namespace vhm::rfb;
using namespace vhm::rfb::test;

namespace {

// As the xvp proxy offers it: VNC authentication and xvp.
Transcript xvp_chosen(const std::string& client_version = "RFB 003.008\n") {
  return Transcript{}.s("RFB 003.008\n").c(client_version).s(u8(2), u8(2), u8(22)).c(u8(22));
}

Bytes names(const std::string& user, const std::string& target) {
  return cat(u8(static_cast<unsigned>(user.size())), u8(static_cast<unsigned>(target.size())), text(user),
             text(target));
}

Strings xvp_head(const std::string& minor = "8") {
  return {"server-version 3.8 RFB 003.008", "client-version 3." + minor + " RFB 003.00" + minor, "types-offered 2,22",
          "type-chosen 22"};
}

}  // namespace

TEST_CASE("xvp: user and target are visible, then VNC authentication succeeds") {
  const auto t = xvp_chosen()
                     .c(names("root", "pool1:vm-42"))
                     .s(challenge)
                     .c(response)
                     .s(u32(0))
                     .c(u8(1))
                     .s(server_init(1024, 768, "xen console"));
  const auto obs = observe_every_split(t);
  CHECK(obs.events ==
        with(xvp_head(), {"user root", "auth ok", "client-init shared", "server-init 1024x768 xen console"}));
  CHECK(obs.finished);
  CHECK(obs.summary ==
        "version=3.8 type=22 vencrypt=0 name=xvp user=root size=1024x768 desktop=xen console shared=1 "
        "xvp_target=pool1:vm-42");
  CHECK_FALSE(mentions(obs, "CHALLENGE"));
  CHECK_FALSE(mentions(obs, "RESPONSE"));
}

TEST_CASE("xvp: a failure carries the reason in 3.8 and none in 3.7") {
  auto obs = observe_every_split(
      xvp_chosen().c(names("alice", "vm1")).s(challenge).c(response).s(u32(1), rfb_string("Authentication failure")));
  CHECK(obs.events == with(xvp_head(), {"user alice", "auth failed: Authentication failure"}));
  CHECK(obs.finished);
  CHECK(obs.summary.find("user=alice ") != std::string::npos);
  CHECK(obs.summary.find("xvp_target=vm1") != std::string::npos);

  obs = observe_every_split(xvp_chosen("RFB 003.007\n").c(names("alice", "vm1")).s(challenge).c(response).s(u32(1)));
  CHECK(obs.events == with(xvp_head("7"), {"user alice", "auth failed"}));
}

TEST_CASE("xvp: empty names are allowed, and the target is UTF-8 bytes as sent") {
  const auto t = xvp_chosen()
                     .c(names("", "\xc3\xa9t\xc3\xa9"))
                     .s(challenge)
                     .c(response)
                     .s(u32(0))
                     .c(u8(0))
                     .s(server_init(1, 1, ""));
  const auto obs = observe_every_split(t);
  CHECK(obs.events == with(xvp_head(), {"user ", "auth ok", "client-init exclusive", "server-init 1x1 "}));
  CHECK(obs.summary.find("xvp_target=\xc3\xa9t\xc3\xa9") != std::string::npos);
}

TEST_CASE("xvp: malformed input: a user over the limit, an unknown SecurityResult") {
  Limits small;
  small.max_user_name_length = 3;
  auto obs = observe_every_split(xvp_chosen().c(names("alice", "vm1")), small);
  CHECK(obs.error == "client sent a user name of 5 bytes (limit 3)");
  CHECK(obs.events == xvp_head());

  obs = observe_every_split(xvp_chosen().c(names("bob", "vm")).s(challenge).c(response).s(u32(5)));
  CHECK(obs.error == "server sent an unknown SecurityResult 5");
  CHECK_FALSE(mentions(obs, "CHALLENGE"));
}

TEST_CASE("xvp: the SecurityResult is awaited right after the response") {
  HandshakeParser parser;
  const auto before = xvp_chosen().c(names("u", "t")).s(challenge);
  for (const auto& seg : before.segments) parser.feed(seg.direction, seg.bytes);
  CHECK_FALSE(parser.awaiting_security_result());
  parser.feed(Direction::client_to_server, response);
  CHECK(parser.awaiting_security_result());
}
