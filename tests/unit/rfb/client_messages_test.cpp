// The viewer-stream framer: every message type, every split point, limits.
#include <catch2/catch.hpp>

#include "rfb/client_messages.hpp"
#include "tests/unit/rfb/transcript.hpp"

namespace vhm::rfb::test {
namespace {

struct FramedMessage {
  std::uint8_t type;
  Bytes bytes;
};

// Frames `stream` delivered in pieces of `chunk` bytes; the messages are re-assembled from the pieces.
std::vector<FramedMessage> frame_all(const Bytes& stream, std::size_t chunk, ClientMessageFramer& framer) {
  std::vector<FramedMessage> out;
  for (std::size_t at = 0; at < stream.size(); at += chunk) {
    const auto part = std::span<const std::uint8_t>(stream).subspan(at, std::min(chunk, stream.size() - at));
    framer.feed(part, [&](const ClientMessageFramer::Piece& piece) {
      if (piece.first) out.push_back({piece.type, {}});
      out.back().bytes.insert(out.back().bytes.end(), piece.bytes.begin(), piece.bytes.end());
      if (piece.last) CHECK(out.back().type == piece.type);
    });
  }
  return out;
}

const std::vector<FramedMessage> every_message = {
    {0, cat(u8(0), zeros(3), filled(16, 'p'))},                              // SetPixelFormat
    {2, cat(u8(2), u8(0), u16(3), u32(16), u32(0), u32(0xFFFFFF21))},        // SetEncodings
    {3, cat(u8(3), u8(1), u16(0), u16(0), u16(640), u16(480))},              // FramebufferUpdateRequest
    {4, cat(u8(4), u8(1), u16(0), u32(0x61))},                               // KeyEvent
    {5, cat(u8(5), u8(1), u16(10), u16(20))},                                // PointerEvent
    {6, cat(u8(6), zeros(3), u32(5), text("hello"))},                        // ClientCutText
    {6, cat(u8(6), zeros(3), u32(0xFFFFFFFC), filled(4, 'x'))},              // extended clipboard: -4
    {150, cat(u8(150), u8(1), u16(0), u16(0), u16(640), u16(480))},          // EnableContinuousUpdates
    {248, cat(u8(248), zeros(3), u32(0x80000003), u8(2), filled(2, 'f'))},   // Fence
    {250, cat(u8(250), u8(0), u8(1), u8(2))},                                // xvp
    {251, cat(u8(251), u8(0), u16(800), u16(600), u8(2), u8(0), filled(32, 's'))},  // SetDesktopSize, 2 screens
    {253, cat(u8(253), u8(0x81), u16(4), filled(4, 'g'))},                   // gii, big-endian length
    {253, cat(u8(253), u8(0x01), Bytes{4, 0}, filled(4, 'g'))},              // gii, little-endian length
    {255, cat(u8(255), u8(0), u16(1), u32(0x61), u32(30))},                  // QEMU extended key event
    {255, cat(u8(255), u8(1), u16(0))},                                      // QEMU audio enable
    {255, cat(u8(255), u8(1), u16(2), u8(3), u8(2), u32(44100))},            // QEMU audio set format
};

}  // namespace

TEST_CASE("client messages: every message type is framed whole, at every chunk size") {
  Bytes stream;
  for (const auto& m : every_message) stream.insert(stream.end(), m.bytes.begin(), m.bytes.end());
  for (std::size_t chunk = 1; chunk <= stream.size(); ++chunk) {
    ClientMessageFramer framer;
    const auto framed = frame_all(stream, chunk, framer);
    INFO("chunk " << chunk);
    REQUIRE_FALSE(framer.failed());
    REQUIRE(framed.size() == every_message.size());
    for (std::size_t i = 0; i < framed.size(); ++i) {
      CHECK(framed[i].type == every_message[i].type);
      CHECK(framed[i].bytes == every_message[i].bytes);
    }
    CHECK(framer.offset() == stream.size());
  }
}

TEST_CASE("client messages: an unknown type ends the framing with a reason") {
  ClientMessageFramer framer;
  const auto framed = frame_all(cat(u8(4), u8(1), u16(0), u32(0x61), u8(77), zeros(8)), 3, framer);
  CHECK(framed.size() == 1);
  CHECK(framer.failed());
  CHECK(framer.error() == "viewer sent message type 77, which is not a known RFB message");
  CHECK_FALSE(framer.feed(u8(4), [](const auto&) { FAIL("no piece after a failure"); }));
}

TEST_CASE("client messages: a cut text over the limit is refused before any of it is framed") {
  ClientMessageFramer framer(ClientLimits{.max_cut_text = 10});
  std::size_t pieces = 0;
  CHECK_FALSE(framer.feed(cat(u8(6), zeros(3), u32(11)), [&](const auto&) { ++pieces; }));
  CHECK(pieces == 0);
  CHECK(framer.error() == "viewer sent a ClientCutText of 11 bytes (limit 10)");
  ClientMessageFramer extended(ClientLimits{.max_cut_text = 10});
  CHECK_FALSE(extended.feed(cat(u8(6), zeros(3), u32(0x80000000)), [&](const auto&) { ++pieces; }));
  CHECK(extended.error() == "viewer sent a ClientCutText of 2147483648 bytes (limit 10)");
}

TEST_CASE("client messages: a large cut text passes in pieces without being buffered") {
  ClientMessageFramer framer;
  const Bytes body(100000, 'c');
  std::size_t largest_piece = 0, total = 0, lasts = 0;
  const auto on_piece = [&](const ClientMessageFramer::Piece& piece) {
    largest_piece = std::max(largest_piece, piece.bytes.size());
    total += piece.bytes.size();
    lasts += piece.last;
  };
  framer.feed(cat(u8(6), zeros(3), u32(100000)), on_piece);
  framer.feed(body, on_piece);
  CHECK(total == 100008);
  CHECK(largest_piece == 100000);  // the caller's own span, not a copy
  CHECK(lasts == 1);
}

TEST_CASE("client messages: input messages are the ones a person types, points or pastes") {
  CHECK(is_viewer_input(client_message::key_event));
  CHECK(is_viewer_input(client_message::pointer_event));
  CHECK(is_viewer_input(client_message::client_cut_text));
  CHECK(is_viewer_input(client_message::qemu));
  CHECK_FALSE(is_viewer_input(client_message::set_pixel_format));
  CHECK_FALSE(is_viewer_input(client_message::set_encodings));
  CHECK_FALSE(is_viewer_input(client_message::framebuffer_update_request));
  CHECK(client_message_name(4) == "KeyEvent");
  CHECK(client_message_name(99) == "type-99");
}

TEST_CASE("client messages: bad Fence lengths and QEMU subtypes end the framing") {
  ClientMessageFramer fence;
  CHECK_FALSE(fence.feed(cat(u8(248), zeros(3), u32(0), u8(65)), [](const auto&) {}));
  CHECK(fence.error() == "viewer sent a Fence with 65 payload bytes (limit 64)");
  ClientMessageFramer qemu;
  CHECK_FALSE(qemu.feed(cat(u8(255), u8(9)), [](const auto&) {}));
  CHECK(qemu.error() == "viewer sent QEMU client message subtype 9");
}

}  // namespace vhm::rfb::test
