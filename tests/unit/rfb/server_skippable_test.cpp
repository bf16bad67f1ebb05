// ServerMessageFramer::skippable(): the bytes a watching caller may replace
// (the tracker tap splices them to /dev/null and feeds zeros instead).
#include <catch2/catch.hpp>

#include "rfb/server_messages.hpp"
#include "tests/unit/rfb/server_framing.hpp"

using namespace vhm::rfb;
using namespace vhm::rfb::test;

namespace {

struct CountingSink final : ServerMessageFramer::Sink {
  unsigned messages = 0, updates = 0;
  void piece(const ServerMessageFramer::Piece& piece) override { messages += piece.last ? 1 : 0; }
  void note(const ServerMessageFramer::Note& note) override {
    updates += note.kind == ServerMessageFramer::Note::Kind::update_ends ? 1 : 0;
  }
};

// Feeds `stream`, but every run the framer says it may skip goes in as zeros.
CountingSink feed_skipping(ServerMessageFramer& framer, const Bytes& stream, std::uint64_t& replaced) {
  CountingSink sink;
  const Bytes zeros(stream.size(), 0);
  std::size_t at = 0;
  while (at < stream.size()) {
    const auto skip = static_cast<std::size_t>(std::min<std::uint64_t>(framer.skippable(), stream.size() - at));
    if (skip > 0) {
      REQUIRE(framer.feed(std::span<const std::uint8_t>(zeros.data(), skip), sink));
      replaced += skip;
      at += skip;
      continue;
    }
    REQUIRE(framer.feed(std::span<const std::uint8_t>(stream.data() + at, 1), sink));  // a header byte
    ++at;
  }
  return sink;
}

}  // namespace

TEST_CASE("server skippable: pixel and zlib data may be replaced, headers and cut text may not") {
  const Bytes raw = rect_header(0, 0, 4, 2, encoding::raw);
  Bytes pixels(4 * 2 * 4, 0xAB);
  const Bytes zrle_data(300, 0xCD);
  const Bytes stream = cat(update({cat(raw, pixels), cat(rect_header(0, 0, 64, 64, encoding::zrle),
                                                          u32(static_cast<std::uint32_t>(zrle_data.size())), zrle_data)}),
                           cat(u8(3), u8(0), u8(0), u8(0), u32(5), Bytes{'h', 'e', 'l', 'l', 'o'}), bell);
  ServerMessageFramer framer(pf32());
  CHECK(framer.skippable() == 0);  // between messages
  std::uint64_t replaced = 0;
  const auto sink = feed_skipping(framer, stream, replaced);
  CHECK(replaced == pixels.size() + zrle_data.size());  // the cut text's 5 bytes were not offered
  CHECK(sink.messages == 3);
  CHECK(sink.updates == 1);
  CHECK(framer.offset() == stream.size());
  CHECK_FALSE(framer.failed());
}

TEST_CASE("server skippable: inside a Hextile rectangle only a tile's data is offered") {
  // Two 16x16 tiles: one Raw (its pixels skippable), one with a background only.
  Bytes tiles = cat(u8(1), Bytes(16 * 16 * 4, 0x11), u8(2), u32(0x00FF00FF));
  const Bytes stream = update({cat(rect_header(0, 0, 32, 16, encoding::hextile), tiles)});
  ServerMessageFramer framer(pf32());
  std::uint64_t replaced = 0;
  const auto sink = feed_skipping(framer, stream, replaced);
  CHECK(replaced >= 16 * 16 * 4);
  CHECK(replaced < tiles.size());
  CHECK(sink.updates == 1);
  CHECK(framer.offset() == stream.size());
}
