// The viewer-stream framer (rfb/client_messages.hpp), which the recorder uses
// to keep input out of recordings. Input: one byte choosing the chunk size,
// then the viewer's bytes. Beyond not crashing: any chunking gives the same
// messages and the same failure; the pieces, joined, are exactly the stream
// up to where framing stopped; every message starts with `first` and its
// type, and only the last piece of a message says `last`.
#include <string>
#include <vector>

#include "fuzz/support/check.hpp"
#include "rfb/client_messages.hpp"

namespace {

using vhm::rfb::ClientMessageFramer;

struct Framed {
  std::vector<std::uint8_t> types;
  std::vector<std::uint8_t> joined;
  std::size_t complete = 0;
  bool failed = false;
  std::string error;
  std::uint64_t offset = 0;
};

Framed frame(std::span<const std::uint8_t> stream, std::size_t chunk) {
  ClientMessageFramer framer(vhm::rfb::ClientLimits{.max_cut_text = 4096});
  Framed out;
  bool in_message = false;
  for (std::size_t at = 0; at < stream.size(); at += chunk) {
    const auto part = stream.subspan(at, std::min(chunk, stream.size() - at));
    framer.feed(part, [&](const ClientMessageFramer::Piece& piece) {
      VHM_FUZZ_CHECK(piece.first != in_message, "a piece that starts a message inside another, or continues none");
      if (piece.first) {
        VHM_FUZZ_CHECK(!piece.bytes.empty() && piece.bytes[0] == piece.type, "first piece does not start with its type");
        out.types.push_back(piece.type);
      }
      VHM_FUZZ_CHECK(piece.type == out.types.back(), "piece of another type than its message");
      out.joined.insert(out.joined.end(), piece.bytes.begin(), piece.bytes.end());
      in_message = !piece.last;
      if (piece.last) ++out.complete;
    });
  }
  out.failed = framer.failed();
  out.error = framer.error();
  out.offset = framer.offset();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t chunk = 1 + data[0] % 64;
  const std::span<const std::uint8_t> stream(data + 1, size - 1);
  const Framed whole = frame(stream, stream.size() + 1);
  const Framed split = frame(stream, chunk);
  VHM_FUZZ_CHECK(whole.types == split.types && whole.joined == split.joined && whole.complete == split.complete &&
                     whole.failed == split.failed && whole.error == split.error && whole.offset == split.offset,
                 "chunk size " + std::to_string(chunk) + " changed the framing: " + split.error + " / " + whole.error);
  // What was released is the stream's own prefix; framing only stops on a failure.
  VHM_FUZZ_CHECK(whole.joined.size() <= stream.size() &&
                     std::equal(whole.joined.begin(), whole.joined.end(), stream.begin()),
                 "pieces are not the stream");
  VHM_FUZZ_CHECK(whole.failed == !whole.error.empty(), "failure without a reason");
  if (!whole.failed) VHM_FUZZ_CHECK(whole.offset == stream.size(), "bytes left unframed without a failure");
  for (const auto type : whole.types) (void)vhm::rfb::client_message_name(type), (void)vhm::rfb::is_viewer_input(type);
  return 0;
}
