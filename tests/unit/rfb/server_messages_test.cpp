// The server-stream framer: every message, errors with their offsets, notes,
// pixel format switching. Every stream is fed whole, byte by byte (every
// split point) and in random chunks, which must agree (server_framing.hpp).
// Encodings: server_rects_test.cpp.
#include <catch2/catch.hpp>

#include "rfb/server_messages.hpp"
#include "tests/unit/rfb/server_framing.hpp"

namespace vhm::rfb::test {

TEST_CASE("server messages: every message type is framed at every split point") {
  const std::vector<Bytes> messages = {
      bell,
      cat(u8(1), u8(0), u16(3), u16(2), filled(12, 'c')),                 // SetColourMapEntries: 2 colours
      cat(u8(3), zeros(3), u32(5), text("hello")),                         // ServerCutText
      cat(u8(3), zeros(3), s32(-6), u32(0x10000001), filled(2, 'z')),      // extended clipboard: |-6| bytes
      cat(u8(3), zeros(3), u32(0)),                                        // empty cut text
      u8(150),                                                             // EndOfContinuousUpdates
      cat(u8(248), zeros(3), u32(0x80000002), u8(3), filled(3, 'f')),      // Fence
      cat(u8(248), zeros(3), u32(0), u8(0)),                               // Fence without payload
      cat(u8(250), u8(0), u8(1), u8(1)),                                   // xvp: version 1, code 1 (init)
      cat(u8(255), u8(1), u16(0)),                                         // QEMU audio end
      cat(u8(255), u8(1), u16(1)),                                         // QEMU audio begin
      cat(u8(255), u8(1), u16(2), u32(6), filled(6, 'a')),                 // QEMU audio data
      update({}),                                                          // FramebufferUpdate without rectangles
      bell,
  };
  const auto framed = expect_messages(messages);
  CHECK(framed.notes == Strings{"12 update ends"});
}

TEST_CASE("server messages: names of messages and encodings") {
  CHECK(server_message_name(0) == "FramebufferUpdate");
  CHECK(server_message_name(150) == "EndOfContinuousUpdates");
  CHECK(server_message_name(255) == "QEMU");
  CHECK(server_message_name(77) == "type-77");
  CHECK(encoding_name(encoding::tight) == "Tight");
  CHECK(encoding_name(encoding::zrle) == "ZRLE");
  CHECK(encoding_name(encoding::desktop_size) == "DesktopSize");
  CHECK(encoding_name(encoding::vmware_cursor) == "VMwareCursor");
  CHECK(encoding_name(15) == "TRLE");
  CHECK(encoding_name(-23) == "QualityLevel9");
  CHECK(encoding_name(-256) == "CompressLevel0");
  CHECK(encoding_name(-42) == "-42");
  CHECK(encoding_name(1234) == "1234");
}

TEST_CASE("server messages: the encodings a tracker frames, and the hints") {
  for (const std::int32_t e : {0, 1, 2, 4, 5, 6, 7, 16, 17, 50, -260, -223, -224, -232, -239, -240, -258, -261, -307,
                               -308, -312, -313, -314, 0x574d5664, 0x574d5666, 0x574d5668}) {
    INFO(encoding_name(e));
    CHECK(tracker_frames_encoding(e));
  }
  for (const std::int32_t e : {-32, -23, -256, -247, -512, -412, -768, -763, -259, -309,
                               static_cast<std::int32_t>(0xC0A1E5CEu)}) {
    INFO(encoding_name(e));
    CHECK(tracker_frames_encoding(e));
  }
  for (const std::int32_t e : {15, 8, 9, -316, -305, -33, -22, -257, -246, -513, -411, -769, -762, 3, 1000, -1}) {
    INFO(encoding_name(e));
    CHECK_FALSE(tracker_frames_encoding(e));
  }
}

TEST_CASE("server messages: an unknown message type stops the framing where it starts") {
  const auto framed = frame_every_way(cat(bell, u8(9), zeros(20)));
  CHECK(framed.failed);
  CHECK(framed.error == "cannot frame server message type 9 at offset 1");
  CHECK(framed.messages == std::vector<Bytes>{bell, u8(9)});
  CHECK(framed.complete == std::vector<bool>{true, false});
  CHECK(framed.offset == 2);
  // Later feeds deliver nothing.
  ServerMessageFramer framer(pf32());
  struct : ServerMessageFramer::Sink {
    int calls = 0;
    void piece(const ServerMessageFramer::Piece&) override { ++calls; }
    void note(const ServerMessageFramer::Note&) override { ++calls; }
  } sink;
  CHECK_FALSE(framer.feed(u8(9), sink));
  CHECK_FALSE(framer.feed(bell, sink));
  CHECK(sink.calls == 1);
  CHECK(framer.offset() == 1);
}

TEST_CASE("server messages: a cut text over the limit stops the framing") {
  const ServerLimits limits{.max_cut_text = 10};
  auto framed = frame_every_way(cat(bell, u8(3), zeros(3), u32(11), filled(11, 'x')), pf32(), limits);
  CHECK(framed.error == "cannot frame a ServerCutText of 11 bytes (limit 10) at offset 1");
  CHECK(framed.offset == 9);
  framed = frame_every_way(cat(u8(3), zeros(3), u32(0x80000000)), pf32(), limits);
  CHECK(framed.error == "cannot frame a ServerCutText of 2147483648 bytes (limit 10) at offset 0");
  framed = frame_every_way(cat(u8(3), zeros(3), u32(10), filled(10, 'x'), bell), pf32(), limits);
  CHECK_FALSE(framed.failed);
  CHECK(framed.messages.size() == 2);
}

TEST_CASE("server messages: bad Fence lengths and QEMU subtypes stop the framing") {
  auto framed = frame_every_way(cat(u8(248), zeros(3), u32(0), u8(65), filled(65, 'f')));
  CHECK(framed.error == "cannot frame a Fence with 65 payload bytes (limit 64) at offset 0");
  framed = frame_every_way(cat(bell, u8(255), u8(0), zeros(10)));
  CHECK(framed.error == "cannot frame QEMU server message subtype 0 at offset 1");
  framed = frame_every_way(cat(u8(255), u8(1), u16(3)));
  CHECK(framed.error == "cannot frame QEMU audio operation 3 at offset 0");
  framed = frame_every_way(cat(u8(255), u8(1), u16(2), u32(100), filled(100, 'a')), pf32(),
                           ServerLimits{.max_compressed_length = 99});
  CHECK(framed.error == "cannot frame QEMU audio data of 100 bytes (limit 99) at offset 0");
}

TEST_CASE("server messages: a large update passes in the caller's own spans, never copied") {
  ServerMessageFramer framer(pf32());
  struct : ServerMessageFramer::Sink {
    std::size_t largest = 0, total = 0, lasts = 0, notes = 0;
    void piece(const ServerMessageFramer::Piece& piece) override {
      largest = std::max(largest, piece.bytes.size());
      total += piece.bytes.size();
      lasts += piece.last;
    }
    void note(const ServerMessageFramer::Note&) override { ++notes; }
  } sink;
  const Bytes pixels(1000 * 100 * 4, 'p');
  CHECK(framer.feed(cat(update(1, {rect_header(0, 0, 1000, 100, encoding::raw)})), sink));
  CHECK(framer.feed(pixels, sink));
  CHECK(framer.feed(bell, sink));
  CHECK(sink.total == 16 + pixels.size() + 1);
  CHECK(sink.largest == pixels.size());
  CHECK(sink.lasts == 2);
  CHECK(sink.notes == 2);  // the rectangle, the update's end
}

TEST_CASE("server messages: notes follow the piece that holds their last byte") {
  // Two updates and a desktop name in one feed: each note names the message
  // of the piece delivered just before it, whatever the split.
  const auto framed = frame_every_way(cat(update({cat(rect_header(1, 2, 3, 4, encoding::copy_rect), u16(5), u16(6))}), bell,
                                          update({cat(rect_header(0, 0, 0, 0, encoding::desktop_name), u32(3), text("abc")),
                                                  rect_header(0, 0, 640, 480, encoding::desktop_size)})));
  CHECK(framed.notes == Strings{"0 rect 1,2 3x4 CopyRect", "0 update ends", "2 rect 0,0 0x0 DesktopName",
                                "2 desktop name 'abc'", "2 rect 0,0 640x480 DesktopSize", "2 update ends"});
}

TEST_CASE("server messages: a SetPixelFormat applies from the next update") {
  // 32 bpp until the viewer's SetPixelFormat; the update in progress keeps
  // the old format, the next one uses 16 bpp.
  const auto raw = [](unsigned bytes_per_pixel) {
    return update({cat(rect_header(0, 0, 3, 2, encoding::raw), filled(6 * bytes_per_pixel, 'p'))});
  };
  const Bytes first = raw(4);
  const auto set_16 = [](ServerMessageFramer& f) { f.viewer_set_pixel_format(pf16()); };
  const auto framed = frame_every_way(std::vector<ServerStep>{
      {Bytes(first.begin(), first.begin() + 10), {}},
      {Bytes(first.begin() + 10, first.end()), set_16},  // mid-update
      {cat(raw(2), bell), {}},
  });
  INFO(framed.error);
  CHECK_FALSE(framed.failed);
  CHECK(framed.messages == std::vector<Bytes>{first, raw(2), bell});
  CHECK(framed.bits_per_pixel == std::vector<unsigned>{32, 16, 16});
}

TEST_CASE("server messages: 16 and 8 bits per pixel size Raw rectangles") {
  expect_messages({update({cat(rect_header(0, 0, 5, 3, encoding::raw), filled(30, 'p'))}), bell}, pf16());
  expect_messages({update({cat(rect_header(0, 0, 5, 3, encoding::raw), filled(15, 'p'))}), bell}, pf8());
}

TEST_CASE("server messages: with continuous updates the format switches at EndOfContinuousUpdates") {
  // TigerVNC: EnableContinuousUpdates(false), SetPixelFormat,
  // EnableContinuousUpdates(true). Updates in flight before the server's
  // EndOfContinuousUpdates are still in the old format.
  const auto raw = [](unsigned bytes_per_pixel) {
    return update({cat(rect_header(0, 0, 2, 2, encoding::raw), filled(4 * bytes_per_pixel, 'p'))});
  };
  const auto framed = frame_every_way(std::vector<ServerStep>{
      {u8(150), [](ServerMessageFramer& f) { f.viewer_enable_continuous_updates(true); }},
      {raw(4),
       [](ServerMessageFramer& f) {
         f.viewer_enable_continuous_updates(false);
         f.viewer_set_pixel_format(pf8());
         f.viewer_enable_continuous_updates(true);
       }},
      {raw(4), {}},
      {u8(150), {}},
      {cat(raw(1), raw(1)), {}},
  });
  INFO(framed.error);
  CHECK_FALSE(framed.failed);
  CHECK(framed.messages == std::vector<Bytes>{u8(150), raw(4), raw(4), u8(150), raw(1), raw(1)});
  CHECK(framed.bits_per_pixel == std::vector<unsigned>{32, 32, 32, 8, 8});
}

TEST_CASE("server messages: without continuous updates turned off first, the next update switches") {
  const auto raw = [](unsigned bytes_per_pixel) {
    return update({cat(rect_header(0, 0, 2, 2, encoding::raw), filled(4 * bytes_per_pixel, 'p'))});
  };
  // Continuous updates were never on: turning them off does not wait for an EndOfContinuousUpdates.
  auto framed = frame_every_way(std::vector<ServerStep>{
      {raw(4), {}},
      {cat(u8(150), raw(2)),
       [](ServerMessageFramer& f) {
         f.viewer_enable_continuous_updates(false);
         f.viewer_set_pixel_format(pf16());
       }},
  });
  CHECK_FALSE(framed.failed);
  CHECK(framed.messages == std::vector<Bytes>{raw(4), u8(150), raw(2)});
  // Continuous updates on, SetPixelFormat alone: at the next update.
  framed = frame_every_way(std::vector<ServerStep>{
      {raw(4), [](ServerMessageFramer& f) { f.viewer_enable_continuous_updates(true); }},
      {raw(2), [](ServerMessageFramer& f) { f.viewer_set_pixel_format(pf16()); }},
  });
  CHECK_FALSE(framed.failed);
  CHECK(framed.messages == std::vector<Bytes>{raw(4), raw(2)});
  // The EndOfContinuousUpdates came before the SetPixelFormat: the next update switches.
  framed = frame_every_way(std::vector<ServerStep>{
      {raw(4),
       [](ServerMessageFramer& f) {
         f.viewer_enable_continuous_updates(true);
         f.viewer_enable_continuous_updates(false);
       }},
      {cat(u8(150)), {}},
      {raw(2), [](ServerMessageFramer& f) { f.viewer_set_pixel_format(pf16()); }},
  });
  CHECK_FALSE(framed.failed);
  CHECK(framed.messages == std::vector<Bytes>{raw(4), u8(150), raw(2)});
}

TEST_CASE("server messages: a pixel format of 24 bits per pixel fails at the first rectangle that needs it") {
  const auto framed = frame_every_way(
      cat(update({cat(rect_header(0, 0, 8, 8, encoding::copy_rect), u16(0), u16(0)),
                  cat(rect_header(0, 0, 8, 8, encoding::zrle), u32(2), u16(0)),
                  cat(rect_header(0, 0, 8, 8, encoding::raw), filled(192, 'p'))})),
      pf_bpp(24));
  CHECK(framed.error == "cannot frame encoding Raw at offset 38 in a pixel format of 24 bits per pixel");
  CHECK(framed.offset == 50);
}

TEST_CASE("server messages: one piece per message and feed, pieces tiling the bytes given") {
  const Bytes stream = cat(bell, update({cat(rect_header(0, 0, 2, 2, encoding::raw), filled(16, 'p'))}), bell,
                           cat(u8(3), zeros(3), u32(3), text("abc")));
  struct : ServerMessageFramer::Sink {
    std::vector<std::span<const std::uint8_t>> pieces;
    void piece(const ServerMessageFramer::Piece& piece) override { pieces.push_back(piece.bytes); }
    void note(const ServerMessageFramer::Note&) override {}
  } sink;
  ServerMessageFramer framer(pf32());
  const std::span<const std::uint8_t> all(stream);
  CHECK(framer.feed(all.first(10), sink));  // Bell, the update's first 9 bytes
  CHECK(framer.feed(all.subspan(10), sink));
  REQUIRE(sink.pieces.size() == 5);
  CHECK(sink.pieces[0].data() == stream.data());
  CHECK(sink.pieces[0].size() == 1);
  CHECK(sink.pieces[1].size() == 9);
  CHECK(sink.pieces[2].data() == stream.data() + 10);
  CHECK(sink.pieces[2].size() == 23);
  CHECK(sink.pieces[3].size() == 1);
  CHECK(sink.pieces[4].size() == 11);
  CHECK(sink.pieces[4].data() + 11 == stream.data() + stream.size());
}

TEST_CASE("server messages: pixel_format() is the one the current or next update uses") {
  ServerMessageFramer framer(pf32());
  struct : ServerMessageFramer::Sink {
    void piece(const ServerMessageFramer::Piece&) override {}
    void note(const ServerMessageFramer::Note&) override {}
  } sink;
  CHECK(framer.pixel_format().bits_per_pixel == 32);
  CHECK(framer.feed(cat(u8(0), u8(0), u16(1)), sink));  // an update has started
  framer.viewer_set_pixel_format(pf16());
  CHECK(framer.pixel_format().bits_per_pixel == 32);
  CHECK(framer.feed(cat(rect_header(0, 0, 1, 1, encoding::raw), filled(4, 'p')), sink));
  CHECK(framer.pixel_format().bits_per_pixel == 16);  // between updates: the next one's
  // Continuous updates turned off for the change: the old format until EndOfContinuousUpdates.
  framer.viewer_enable_continuous_updates(true);
  framer.viewer_enable_continuous_updates(false);
  framer.viewer_set_pixel_format(pf8());
  framer.viewer_enable_continuous_updates(true);
  CHECK(framer.feed(cat(u8(0), u8(0), u16(1), rect_header(0, 0, 1, 1, encoding::raw), filled(2, 'p')), sink));
  CHECK(framer.pixel_format().bits_per_pixel == 16);
  CHECK(framer.feed(u8(150), sink));
  CHECK(framer.pixel_format().bits_per_pixel == 8);
  // A moved framer goes on where it was.
  ServerMessageFramer moved = std::move(framer);
  CHECK(moved.feed(cat(u8(0), u8(0), u16(1), rect_header(0, 0, 1, 1, encoding::raw), filled(1, 'p'), bell), sink));
  CHECK(moved.offset() == 4 + 12 + 4 + 4 + 12 + 2 + 1 + 4 + 12 + 1 + 1);
}

}  // namespace vhm::rfb::test
