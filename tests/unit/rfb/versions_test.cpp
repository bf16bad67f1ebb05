// ProtocolVersion: the official versions, the aliases seen in the wild, the
// negotiated (lower) version, and what is refused.
#include <catch2/catch.hpp>

#include "transcript.hpp"

using namespace vhm::rfb;
using namespace vhm::rfb::test;

namespace {

std::string raw(const std::string& version_line) { return version_line.substr(0, 11); }

// A None handshake in whatever shape the negotiated version asks for.
Transcript none_handshake(const std::string& server, const std::string& client, int negotiated_minor) {
  Transcript t;
  t.s(server).c(client);
  if (negotiated_minor == 3) {
    t.s(u32(1));
  } else {
    t.s(u8(1), u8(1)).c(u8(1));
    if (negotiated_minor == 8) t.s(u32(0));
  }
  t.c(u8(0)).s(server_init(800, 600, "desk"));
  return t;
}

}  // namespace

TEST_CASE("versions: official versions and aliases map to 3.3, 3.7 or 3.8") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"RFB 003.003\n", "3.3"}, {"RFB 003.007\n", "3.7"}, {"RFB 003.008\n", "3.8"}, {"RFB 003.005\n", "3.3"},
      {"RFB 003.004\n", "3.3"}, {"RFB 003.006\n", "3.3"}, {"RFB 003.014\n", "3.3"}, {"RFB 003.016\n", "3.3"},
      {"RFB 003.889\n", "3.8"}, {"RFB 004.000\n", "3.8"}, {"RFB 004.001\n", "3.8"}, {"RFB 005.000\n", "3.8"},
      {"RFB 004.123\n", "3.8"}, {"RFB 005.999\n", "3.8"},
  };
  for (const auto& [line, effective] : cases) {
    INFO(line);
    // The server announces it; a 3.3 client keeps the handshake in one known shape.
    const auto obs = observe_every_split(none_handshake(line, "RFB 003.003\n", 3));
    REQUIRE(obs.events.size() >= 2);
    CHECK(obs.events[0] == "server-version " + effective + " " + raw(line));
    CHECK(obs.finished);
    // And from the client side, against a 3.8 server.
    const int minor = effective == "3.3" ? 3 : effective == "3.7" ? 7 : 8;
    const auto from_client = observe_every_split(none_handshake("RFB 003.008\n", line, minor));
    REQUIRE(from_client.events.size() >= 2);
    CHECK(from_client.events[1] == "client-version " + effective + " " + raw(line));
    CHECK(from_client.finished);
    CHECK(from_client.summary.rfind("version=" + effective + " ", 0) == 0);
  }
}

TEST_CASE("versions: the negotiated version is the lower of the two and decides the handshake") {
  // 3.8 server, 3.5 client: a 3.3 handshake (u32 type, no SecurityResult for None).
  auto obs = observe_every_split(none_handshake("RFB 003.008\n", "RFB 003.005\n", 3));
  CHECK(obs.events == Strings{"server-version 3.8 RFB 003.008", "client-version 3.3 RFB 003.005", "types-offered 1",
                              "type-chosen 1", "auth ok", "client-init exclusive", "server-init 800x600 desk"});
  CHECK(obs.summary.rfind("version=3.3 ", 0) == 0);

  // 3.7 server, 3.8 client (a client should not do this, but the lower wins): 3.7, no SecurityResult.
  obs = observe_every_split(none_handshake("RFB 003.007\n", "RFB 003.008\n", 7));
  CHECK(obs.finished);
  CHECK(obs.summary.rfind("version=3.7 ", 0) == 0);

  // Apple's 3.889 with a 3.8 client: a 3.8 handshake with SecurityResult.
  obs = observe_every_split(none_handshake("RFB 003.889\n", "RFB 003.008\n", 8));
  CHECK(obs.finished);
  CHECK(obs.summary.rfind("version=3.8 ", 0) == 0);

  // The summary has no version until both sides have spoken.
  HandshakeParser parser;
  parser.feed(Direction::server_to_client, text("RFB 003.008\n"));
  CHECK(parser.summary().version == Version{0, 0});
  parser.feed(Direction::client_to_server, text("RFB 003.007\n"));
  CHECK(parser.summary().version == Version{3, 7});
}

TEST_CASE("versions: garbage instead of a version is an error that quotes it, escaped") {
  auto obs = observe_every_split(Transcript{}.s("HTTP/1.1 400 Bad Request\r\n\r\n"));
  CHECK(obs.failed);
  CHECK(obs.error == "server sent an invalid version string \"HTTP/1.1 400\"");
  CHECK(obs.events.empty());

  // A TLS ClientHello where the client's version belongs.
  const Bytes hello = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x8a, 0x11};
  obs = observe_every_split(Transcript{}.s("RFB 003.008\n").c(hello));
  CHECK(obs.error ==
        "client sent an invalid version string \"\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xfc\\x03\\x03\\x8a\"");
  CHECK(obs.events == Strings{"server-version 3.8 RFB 003.008"});

  // A line that ends too early is decided at its newline, not after 12 bytes.
  obs = observe_every_split(Transcript{}.s("RFB 3.8\n"));
  CHECK(obs.error == "server sent an invalid version string \"RFB 3.8\\n\"");

  // Right length, wrong shape.
  obs = observe_every_split(Transcript{}.s("RFB 003,008\n"));
  CHECK(obs.error == "server sent an invalid version string \"RFB 003,008\\n\"");
  obs = observe_every_split(Transcript{}.s("RFB 003.008\r"));
  CHECK(obs.error == "server sent an invalid version string \"RFB 003.008\\r\"");
}

TEST_CASE("versions: the UltraVNC repeater's RFB 000.000 is refused with a clear message") {
  auto obs = observe_every_split(Transcript{}.s("RFB 000.000\n"));
  CHECK(obs.failed);
  CHECK(obs.error == "server sent \"RFB 000.000\": the UltraVNC repeater protocol, which is not supported");
  obs = observe_every_split(Transcript{}.s("RFB 003.008\n").c("RFB 000.000\n"));
  CHECK(obs.error == "client sent \"RFB 000.000\": the UltraVNC repeater protocol, which is not supported");
}

TEST_CASE("versions: well-formed versions with no known handshake are errors") {
  for (const std::string line : {"RFB 003.002\n", "RFB 002.000\n", "RFB 006.000\n", "RFB 001.003\n"}) {
    INFO(line);
    const auto obs = observe_every_split(Transcript{}.s(line));
    CHECK(obs.error == "server sent an unsupported RFB version \"" + raw(line) + "\"");
  }
}
