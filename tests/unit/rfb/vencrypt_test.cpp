// VeNCrypt (19): version exchange, subtype list and choice, and each subtype
// family: clear (None, VncAuth, Plain, Ident), TLS (opaque), unknown (opaque).
#include <catch2/catch.hpp>

#include "transcript.hpp"

using namespace vhm::rfb;
using namespace vhm::rfb::test;

namespace {

// Up to the subtype list; the client has not chosen yet.
Transcript offering(std::vector<std::uint32_t> subtypes, const std::string& client_version = "RFB 003.008\n") {
  Transcript t;
  t.s("RFB 003.008\n").c(client_version).s(u8(1), u8(19)).c(u8(19)).s(u8(0), u8(2)).c(u8(0), u8(2)).s(u8(0));
  t.s(u8(static_cast<unsigned>(subtypes.size())));
  for (const auto s : subtypes) t.s(u32(s));
  return t;
}

Strings offered_head(const std::string& offered, const std::string& minor = "8") {
  return {"server-version 3.8 RFB 003.008", "client-version 3." + minor + " RFB 003.00" + minor, "types-offered 19",
          "type-chosen 19", "vencrypt-offered " + offered};
}

}  // namespace

TEST_CASE("vencrypt: Plain shows the user, skips the password, then a normal SecurityResult") {
  const auto t = offering({256, 259})
                     .c(u32(256), plain_credentials("carol", password))
                     .s(u32(0))
                     .c(u8(1))
                     .s(server_init(1920, 1080, "plain desk"));
  const auto obs = observe_every_split(t);
  CHECK(obs.events == with(offered_head("256,259"), {"vencrypt-chosen 256", "user carol", "auth ok",
                                                     "client-init shared", "server-init 1920x1080 plain desk"}));
  CHECK(obs.finished);
  CHECK(obs.summary ==
        "version=3.8 type=19 vencrypt=256 name=VeNCrypt/Plain user=carol size=1920x1080 "
        "desktop=plain desk shared=1");
  CHECK_FALSE(mentions(obs, "hunter2"));
}

TEST_CASE("vencrypt: Ident shows the user, then a SecurityResult") {
  const auto t = offering({265}).c(u32(265), u32(4), text("dave")).s(u32(1), rfb_string("not allowed"));
  const auto obs = observe_every_split(t);
  CHECK(obs.events == with(offered_head("265"), {"vencrypt-chosen 265", "user dave", "auth failed: not allowed"}));
  CHECK(obs.summary.find("name=VeNCrypt/Ident user=dave ") != std::string::npos);
}

TEST_CASE("vencrypt: TLS and X509 subtypes announce TLS and are opaque once the server accepts") {
  for (const std::uint32_t subtype : {257u, 258u, 259u, 260u, 261u, 262u, 263u, 264u, 266u, 267u}) {
    INFO(subtype);
    const auto obs = observe_every_split(offering({subtype, 2}).c(u32(subtype)).s(u8(1), Bytes{0x16, 0x03, 0x03}));
    const std::string offered = std::to_string(subtype) + ",2";
    const std::string chosen = std::to_string(subtype);
    CHECK(obs.events ==
          with(offered_head(offered), {"vencrypt-chosen " + chosen, "tls-starts " + chosen, "auth unknown"}));
    CHECK(obs.finished);
    CHECK(obs.summary.find("name=VeNCrypt/" + vencrypt_subtype_name(subtype) + " ") != std::string::npos);
  }
  const auto obs = observe_every_split(offering({258}).c(u32(258)).s(u8(0)));
  CHECK(obs.error == "server refused to start TLS for VeNCrypt subtype TLSVnc (status 0)");
}

TEST_CASE("vencrypt: the None and VncAuth subtypes proceed exactly like those types") {
  auto obs = observe_every_split(offering({1}).c(u32(1)).s(u32(0)).c(u8(0)).s(server_init(2, 2, "n")));
  CHECK(obs.events ==
        with(offered_head("1"), {"vencrypt-chosen 1", "auth ok", "client-init exclusive", "server-init 2x2 n"}));
  CHECK(obs.summary.find("name=VeNCrypt/None ") != std::string::npos);

  // 3.7: None has no SecurityResult, inside VeNCrypt too.
  obs = observe_every_split(offering({1}, "RFB 003.007\n").c(u32(1)).c(u8(0)).s(server_init(2, 2, "n")));
  CHECK(obs.events ==
        with(offered_head("1", "7"), {"vencrypt-chosen 1", "auth ok", "client-init exclusive", "server-init 2x2 n"}));

  obs = observe_every_split(offering({258, 2})
                                .c(u32(2))
                                .s(text("CHALLENGE-abcdef"))
                                .c(text("RESPONSE-0123456"))
                                .s(u32(1), rfb_string("Authentication failure")));
  CHECK(obs.events == with(offered_head("258,2"), {"vencrypt-chosen 2", "auth failed: Authentication failure"}));
  CHECK_FALSE(mentions(obs, "CHALLENGE"));
}

TEST_CASE("vencrypt: an unknown subtype is opaque") {
  const auto obs = observe_every_split(offering({1000}).c(u32(1000), text("?")));
  CHECK(obs.events == with(offered_head("1000"), {"vencrypt-chosen 1000", "auth unknown"}));
  CHECK(obs.summary.find("name=VeNCrypt/subtype-1000 ") != std::string::npos);
}

TEST_CASE("vencrypt: versions other than 0.2 and a rejected version are errors") {
  const auto base = Transcript{}.s("RFB 003.008\n").c("RFB 003.008\n").s(u8(1), u8(19)).c(u8(19));
  auto obs = observe_every_split(Transcript(base).s(u8(0), u8(1)));
  CHECK(obs.error == "server offered VeNCrypt version 0.1; only 0.2 is supported");
  obs = observe_every_split(Transcript(base).s(u8(1), u8(0)));
  CHECK(obs.error == "server offered VeNCrypt version 1.0; only 0.2 is supported");
  obs = observe_every_split(Transcript(base).s(u8(0), u8(2)).c(u8(0), u8(1)));
  CHECK(obs.error == "client chose VeNCrypt version 0.1; only 0.2 is supported");
  obs = observe_every_split(Transcript(base).s(u8(0), u8(2)).c(u8(0), u8(2)).s(u8(255)));
  CHECK(obs.error == "server rejected VeNCrypt version 0.2 (status 255)");
  // A newer server may offer more; a 0.2 answer is what we follow.
  obs = observe_every_split(Transcript(base).s(u8(0), u8(3)).c(u8(0), u8(2)).s(u8(0), u8(1), u32(256)));
  CHECK_FALSE(obs.failed);
  CHECK(obs.events.back() == "vencrypt-offered 256");
}

TEST_CASE("vencrypt: empty or oversized subtype lists and unoffered choices are errors") {
  auto obs = observe_every_split(offering({}));
  CHECK(obs.error == "server offered no VeNCrypt subtypes");

  obs = observe_every_split(offering(std::vector<std::uint32_t>(65, 256)));
  CHECK(obs.error == "server offered 65 VeNCrypt subtypes (limit 64)");
  Limits small;
  small.max_vencrypt_subtypes = 2;
  obs = observe_every_split(offering({256, 257, 258}), small);
  CHECK(obs.error == "server offered 3 VeNCrypt subtypes (limit 2)");

  obs = observe_every_split(offering({258, 2}).c(u32(256)));
  CHECK(obs.error == "client chose VeNCrypt subtype 256, which the server did not offer (offered: 258, 2)");
}

TEST_CASE("vencrypt: Plain lengths are checked against the limits, the password never quoted") {
  auto obs = observe_every_split(offering({256}).c(u32(256), u32(1025), u32(3)));
  CHECK(obs.error == "client sent a user name of 1025 bytes (limit 1024)");
  obs = observe_every_split(offering({256}).c(u32(256), u32(3), u32(0x7fffffff)));
  CHECK(obs.error == "client sent a password of 2147483647 bytes (limit 1024)");

  Limits small;
  small.max_user_name_length = 4;
  small.max_password_length = 8;
  obs = observe_every_split(offering({256}).c(u32(256), plain_credentials("erin", password)), small);
  CHECK(obs.error == "client sent a password of 16 bytes (limit 8)");
  CHECK_FALSE(mentions(obs, "hunter2"));
  obs = observe_every_split(offering({256}).c(u32(256), plain_credentials("erin", "12345678")).s(u32(0)), small);
  CHECK_FALSE(obs.failed);
  CHECK(obs.summary.find("user=erin ") != std::string::npos);
}
