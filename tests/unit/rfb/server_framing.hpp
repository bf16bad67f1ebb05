#pragma once
// Test helpers for the server-stream framer (rfb/server_messages.hpp):
// builders for messages and rectangles, and a runner that feeds a stream
// whole, byte by byte and in random chunks and checks that all three give
// the same messages, notes and failure.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rfb/server_messages.hpp"
#include "tests/unit/rfb/transcript.hpp"

namespace vhm::rfb::test {

// --- builders ---------------------------------------------------------------------

inline Bytes s32(std::int32_t value) { return u32(static_cast<std::uint32_t>(value)); }
// A rectangle header.
inline Bytes rect_header(unsigned x, unsigned y, unsigned w, unsigned h, std::int32_t encoding) {
  return cat(u16(x), u16(y), u16(w), u16(h), s32(encoding));
}
// A FramebufferUpdate of `rects` (each header + data) announcing `count` rectangles.
inline Bytes update(unsigned count, const std::vector<Bytes>& rects) {
  Bytes out = cat(u8(0), u8(0), u16(count));
  for (const auto& r : rects) out.insert(out.end(), r.begin(), r.end());
  return out;
}
inline Bytes update(const std::vector<Bytes>& rects) { return update(static_cast<unsigned>(rects.size()), rects); }
// Tight's compact length: 1 to 3 bytes.
inline Bytes compact_length(std::uint32_t n) {
  if (n < 0x80) return u8(n);
  if (n < 0x4000) return cat(u8(0x80 | (n & 0x7f)), u8(n >> 7));
  return cat(u8(0x80 | (n & 0x7f)), u8(0x80 | ((n >> 7) & 0x7f)), u8(n >> 14));
}
inline const Bytes bell = u8(2);

// Pixel formats.
PixelFormat pf32();  // 32 bpp, depth 24, 8-bit channels: TPIXEL 3
PixelFormat pf16();  // 16 bpp RGB565
PixelFormat pf8();   // 8 bpp BGR233
PixelFormat pf_bpp(std::uint8_t bits);  // any bits per pixel (24: not framable)

// --- running ----------------------------------------------------------------------

// One step of a script: server bytes, or something the viewer sent.
struct ServerStep {
  Bytes bytes;
  std::function<void(ServerMessageFramer&)> viewer;
};

// What the framer produced, in comparable form.
struct ServerFramed {
  std::vector<Bytes> messages;     // each message's pieces joined (the last one may be unfinished)
  std::vector<bool> complete;      // its last piece said `last`
  std::vector<std::string> notes;  // "<message index> <note>": the message of the piece before the note
  bool failed = false;
  std::string error;
  std::uint64_t offset = 0;
  std::vector<unsigned> bits_per_pixel;  // pixel_format() after each server step
  bool operator==(const ServerFramed&) const = default;
};

std::string describe(const ServerMessageFramer::Note& note);

// Feeds the script's server bytes, each step whole (`how` 0; cut in two
// where the stream reaches offset `cut`), byte by byte (1) or in random
// chunks (seed `how`: 2 and 3 of 1-17 bytes, 4 and up of 1-300), checking
// the piece contract on the way.
ServerFramed run_server_script(const std::vector<ServerStep>& script, const PixelFormat& format,
                               const ServerLimits& limits, std::size_t how, std::size_t cut = SIZE_MAX);

// Runs whole, byte by byte, in random chunks (several seeds) and cut in two
// at every offset (evenly spaced ones in long streams), CHECKs that they
// agree, and returns the first.

ServerFramed frame_every_way(const std::vector<ServerStep>& script, const PixelFormat& format = pf32(),
                             const ServerLimits& limits = {});
inline ServerFramed frame_every_way(const Bytes& stream, const PixelFormat& format = pf32(),
                                    const ServerLimits& limits = {}) {
  return frame_every_way(std::vector<ServerStep>{{stream, {}}}, format, limits);
}

// Frames the messages concatenated and CHECKs that they come back one by one,
// with no failure and no bytes left.
ServerFramed expect_messages(const std::vector<Bytes>& messages, const PixelFormat& format = pf32(),
                             const ServerLimits& limits = {});

}  // namespace vhm::rfb::test
