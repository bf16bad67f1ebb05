// The server-stream framer (rfb/server_messages.hpp), which the tracker uses
// to follow updates, desktop sizes and names. Input: three bytes of set-up,
// then the server's bytes:
//   byte 0: bits 0-5 the chunk size - 1 (1..64), bits 6-7 the pixel format
//           from ServerInit (0: 32 bpp depth 24, 1: 16 bpp, 2: 8 bpp,
//           3: 24 bpp, which no pixel rectangle can be framed in);
//   byte 1: bits 0-1 the format the viewer switches to (same table), bits
//           2-3 what the viewer does at the position: 0 nothing, 1
//           SetPixelFormat, 2 (continuous updates on from the start)
//           EnableContinuousUpdates(false), SetPixelFormat,
//           EnableContinuousUpdates(true) as TigerVNC does, 3 continuous
//           updates on from the start, then SetPixelFormat alone;
//   byte 2: the position in the stream, in units of 8 bytes.
// Beyond not crashing: any chunking gives the same messages, notes, failure
// and pixel format; the pieces, joined, are exactly the stream up to where
// framing stopped; pieces are never empty, every message starts with
// `first` and its type byte, only its last piece says `last`; each note
// follows a piece of the same message whatever the chunking.
#include <string>
#include <vector>

#include "fuzz/support/check.hpp"
#include "rfb/server_messages.hpp"

namespace {

using vhm::rfb::PixelFormat;
using vhm::rfb::ServerMessageFramer;

PixelFormat format(unsigned variant) {
  PixelFormat pf;  // 32 bpp, depth 24, 8-bit channels
  switch (variant & 3) {
    case 1:
      pf.bits_per_pixel = 16, pf.depth = 16;
      pf.red_max = 31, pf.green_max = 63, pf.blue_max = 31;
      pf.red_shift = 11, pf.green_shift = 5, pf.blue_shift = 0;
      break;
    case 2:
      pf.bits_per_pixel = 8, pf.depth = 8;
      pf.red_max = 7, pf.green_max = 7, pf.blue_max = 3;
      pf.red_shift = 0, pf.green_shift = 3, pf.blue_shift = 6;
      break;
    case 3: pf.bits_per_pixel = 24; break;
    default: break;
  }
  return pf;
}

struct Framed {
  std::vector<std::uint8_t> types;
  std::vector<std::uint8_t> joined;
  std::vector<std::string> notes;
  std::size_t complete = 0;
  bool failed = false;
  std::string error;
  std::uint64_t offset = 0;
  unsigned bits_per_pixel = 0;
  bool operator==(const Framed&) const = default;
};

class Collector : public ServerMessageFramer::Sink {
 public:
  explicit Collector(Framed& out) : out_(out) {}
  void piece(const ServerMessageFramer::Piece& piece) override {
    VHM_FUZZ_CHECK(!piece.bytes.empty(), "an empty piece");
    VHM_FUZZ_CHECK(piece.first != in_message_, "a piece that starts a message inside another, or continues none");
    if (piece.first) {
      VHM_FUZZ_CHECK(piece.bytes[0] == piece.type, "first piece does not start with its type");
      out_.types.push_back(piece.type);
    }
    VHM_FUZZ_CHECK(piece.type == out_.types.back(), "piece of another type than its message");
    out_.joined.insert(out_.joined.end(), piece.bytes.begin(), piece.bytes.end());
    in_message_ = !piece.last;
    if (piece.last) ++out_.complete;
  }
  void note(const ServerMessageFramer::Note& note) override {
    VHM_FUZZ_CHECK(!out_.types.empty(), "a note before any piece");
    const auto& r = note.rect;
    std::string text = std::to_string(out_.types.size() - 1) + " " + std::to_string(static_cast<int>(note.kind)) + " " +
                       std::to_string(r.x) + "," + std::to_string(r.y) + " " + std::to_string(r.width) + "x" +
                       std::to_string(r.height) + " " + std::to_string(r.encoding);
    if (note.kind == ServerMessageFramer::Note::Kind::desktop_name) {
      VHM_FUZZ_CHECK(note.name.size() <= 8, "a desktop name over its limit");
      text += " '" + std::string(note.name) + "'";
    }
    if (note.kind == ServerMessageFramer::Note::Kind::extended_desktop_size)
      text += " screens " + std::to_string(note.screens);
    out_.notes.push_back(std::move(text));
  }

 private:
  Framed& out_;
  bool in_message_ = false;
};

Framed frame(std::span<const std::uint8_t> stream, std::size_t chunk, unsigned initial, unsigned viewer,
             std::size_t position) {
  ServerMessageFramer framer(format(initial), vhm::rfb::ServerLimits{.max_cut_text = 4096,
                                                                     .max_desktop_name = 8,
                                                                     .max_fence_payload = 64,
                                                                     .max_compressed_length = 4096});
  Framed out;
  Collector collector(out);
  const unsigned action = (viewer >> 2) & 3;
  if (action >= 2) framer.viewer_enable_continuous_updates(true);
  const auto feed = [&](std::span<const std::uint8_t> part) {
    for (std::size_t at = 0; at < part.size(); at += chunk) {
      const auto before = framer.offset();
      const bool was_failed = framer.failed();
      const auto piece = part.subspan(at, std::min(chunk, part.size() - at));
      const bool ok = framer.feed(piece, collector);
      VHM_FUZZ_CHECK(ok == !framer.failed(), "feed's answer and failed() disagree");
      if (ok) VHM_FUZZ_CHECK(framer.offset() == before + piece.size(), "bytes held back");
      if (was_failed) VHM_FUZZ_CHECK(framer.offset() == before, "framing went on after a failure");
    }
  };
  position = std::min(position, stream.size());
  feed(stream.first(position));
  switch (action) {
    case 1:
    case 3: framer.viewer_set_pixel_format(format(viewer)); break;
    case 2:
      framer.viewer_enable_continuous_updates(false);
      framer.viewer_set_pixel_format(format(viewer));
      framer.viewer_enable_continuous_updates(true);
      break;
    default: break;
  }
  feed(stream.subspan(position));
  out.failed = framer.failed();
  out.error = framer.error();
  out.offset = framer.offset();
  out.bits_per_pixel = framer.pixel_format().bits_per_pixel;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::size_t chunk = 1 + (data[0] & 0x3f);
  const unsigned initial = data[0] >> 6, viewer = data[1];
  const std::size_t position = std::size_t{data[2]} * 8;
  const std::span<const std::uint8_t> stream(data + 3, size - 3);
  const Framed whole = frame(stream, stream.size() + 1, initial, viewer, position);
  const Framed split = frame(stream, chunk, initial, viewer, position);
  VHM_FUZZ_CHECK(whole == split,
                 "chunk size " + std::to_string(chunk) + " changed the framing: " + split.error + " / " + whole.error);
  // What was released is the stream's own prefix; framing only stops on a failure.
  VHM_FUZZ_CHECK(whole.joined.size() == whole.offset && whole.joined.size() <= stream.size() &&
                     std::equal(whole.joined.begin(), whole.joined.end(), stream.begin()),
                 "pieces are not the stream");
  VHM_FUZZ_CHECK(whole.failed == !whole.error.empty(), "failure without a reason");
  if (!whole.failed) VHM_FUZZ_CHECK(whole.offset == stream.size(), "bytes left unframed without a failure");
  for (const auto type : whole.types) (void)vhm::rfb::server_message_name(type);
  return 0;
}
