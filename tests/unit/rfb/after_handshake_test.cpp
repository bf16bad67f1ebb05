// The bytes after the handshake, which a recorder starts with, wherever the
// chunks happened to end.
#include <catch2/catch.hpp>

#include "tests/unit/rfb/transcript.hpp"

namespace vhm::rfb::test {

TEST_CASE("after handshake: the bytes past ClientInit and ServerInit are handed back, for every chunk size") {
  const Bytes server = cat(text("RFB 003.008\n"), u8(1), u8(1), u32(0), server_init(64, 48, "desk"), text("UPDATE"));
  const Bytes client = cat(text("RFB 003.008\n"), u8(1), u8(1), text("SPF"));
  const std::size_t server_tail = 6, client_tail = 3;
  for (std::size_t chunk = 1; chunk <= server.size(); ++chunk) {
    INFO("chunk " << chunk);
    HandshakeParser parser;
    std::size_t fed[2] = {0, 0};
    // The client runs ahead: all of its bytes first, in chunks, then the server's.
    for (const auto direction : {Direction::client_to_server, Direction::server_to_client}) {
      const Bytes& stream = direction == Direction::client_to_server ? client : server;
      auto& done = fed[static_cast<int>(direction)];
      while (done < stream.size() && !parser.finished()) {
        const std::size_t n = std::min(chunk, stream.size() - done);
        CHECK(parser.feed(direction, std::span(stream).subspan(done, n)).status != Status::error);
        done += n;
      }
    }
    REQUIRE(parser.finished());
    CHECK(parser.summary().pixel_format == PixelFormatBytes{32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0});
    // What the parser hands back, then what was never fed, is exactly each direction's tail.
    const auto rest = [&](Direction d, const Bytes& stream) {
      const auto after = parser.after_handshake(d);
      Bytes out(after.begin(), after.end());
      out.insert(out.end(), stream.begin() + static_cast<std::ptrdiff_t>(fed[static_cast<int>(d)]), stream.end());
      return out;
    };
    CHECK(rest(Direction::server_to_client, server) == Bytes(server.end() - server_tail, server.end()));
    CHECK(rest(Direction::client_to_server, client) == Bytes(client.end() - client_tail, client.end()));
  }
}

TEST_CASE("after handshake: the ServerInit pixel format is reported as sent") {
  Bytes init = server_init(8, 8, "pf");
  for (std::size_t i = 0; i < 16; ++i) init[4 + i] = static_cast<std::uint8_t>(i + 1);
  HandshakeParser parser;
  parser.feed(Direction::server_to_client, cat(text("RFB 003.008\n"), u8(1), u8(1)));
  parser.feed(Direction::client_to_server, cat(text("RFB 003.008\n"), u8(1), u8(0)));
  const auto result = parser.feed(Direction::server_to_client, cat(u32(0), init));
  REQUIRE(parser.finished());
  const auto* seen = std::get_if<ServerInitSeen>(&result.events.back());
  REQUIRE(seen);
  CHECK(seen->pixel_format == PixelFormatBytes{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16});
  CHECK(parser.after_handshake(Direction::server_to_client).empty());
}

}  // namespace vhm::rfb::test
