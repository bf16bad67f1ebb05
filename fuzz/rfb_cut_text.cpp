// The cut text reader (rfb/cut_text.hpp): one ClientCutText/ServerCutText
// message, plain or extended clipboard. Input: one byte, then the message.
// The byte: bits 0-4 the chunk size (1-32), bits 6-7 keep_text (0, 3, 64,
// 4096); bit 5 set: the rest is u32 flags + the uncompressed blocks of a
// provide, which the target compresses with zlib and frames itself (random
// bytes are seldom a zlib stream). Beyond not crashing: any chunking gives
// the same result as one feed; feed takes exactly the message (all of the
// input when it is shorter) and nothing after it; at most keep_text bytes of
// text, never more than text_bytes; no text with an error; plain text is the
// payload's start; a compressed provide of the text format gives the text
// its first block says (or an error exactly when the blocks fall short).
#include <zlib.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fuzz/support/check.hpp"
#include "rfb/cut_text.hpp"

namespace {

using vhm::rfb::CutTextReader;
namespace ec = vhm::rfb::extended_clipboard;

struct Read {
  std::size_t used = 0;
  bool header_known = false;
  CutTextReader::Kind kind = CutTextReader::Kind::plain;
  bool extended = false;
  std::uint32_t flags = 0;
  std::uint64_t payload_length = 0;
  bool finished = false;
  bool carries_text = false;
  std::uint64_t text_bytes = 0;
  std::string text;
  std::string error;

  bool operator==(const Read&) const = default;
};

Read read(std::span<const std::uint8_t> message, std::uint64_t keep, std::size_t chunk) {
  CutTextReader reader(keep);
  Read r;
  for (std::size_t at = 0; at < message.size(); at += chunk) {
    const auto part = message.subspan(at, std::min(chunk, message.size() - at));
    const std::size_t took = reader.feed(part);
    VHM_FUZZ_CHECK(took <= part.size(), "feed took more than it was given");
    r.used += took;
    if (took < part.size()) {
      VHM_FUZZ_CHECK(reader.finished(), "feed stopped short of its bytes before the message's end");
      break;
    }
  }
  if (reader.finished()) {
    const std::uint8_t more[] = {3, 0, 0, 0};
    VHM_FUZZ_CHECK(reader.feed(more) == 0, "a finished reader took more bytes");
  }
  r.header_known = reader.header_known();
  r.kind = reader.kind();
  r.extended = reader.extended();
  r.flags = reader.flags();
  r.payload_length = reader.payload_length();
  r.finished = reader.finished();
  r.carries_text = reader.carries_text();
  r.text_bytes = reader.text_bytes();
  r.text = reader.text();
  r.error = reader.error();
  return r;
}

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

void put32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}

std::string describe(const Read& r) {
  return "used " + std::to_string(r.used) + ", kind " + std::to_string(static_cast<int>(r.kind)) + ", finished " +
         std::to_string(r.finished) + ", text " + std::to_string(r.text.size()) + "/" + std::to_string(r.text_bytes) +
         ", error '" + r.error + "'";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t chunk = 1 + (data[0] & 0x1f);
  const bool compress_mode = (data[0] & 0x20) != 0;
  static constexpr std::uint64_t keeps[] = {0, 3, 64, 4096};
  const std::uint64_t keep = keeps[data[0] >> 6];
  const std::span<const std::uint8_t> input(data + 1, size - 1);

  std::vector<std::uint8_t> built;
  std::span<const std::uint8_t> message = input;
  std::uint32_t built_flags = 0;
  std::span<const std::uint8_t> raw;
  if (compress_mode) {
    if (input.size() < 4) return 0;
    built_flags = be32(input.data());
    raw = input.subspan(4);
    uLongf zsize = compressBound(static_cast<uLong>(raw.size()));
    std::vector<std::uint8_t> z(zsize);
    if (compress2(z.data(), &zsize, raw.data(), static_cast<uLong>(raw.size()), 6) != Z_OK) return 0;
    built = {6, 0, 0, 0};
    put32(built, 0u - static_cast<std::uint32_t>(4 + zsize));
    put32(built, built_flags);
    built.insert(built.end(), z.begin(), z.begin() + static_cast<std::ptrdiff_t>(zsize));
    message = built;
  }

  const Read whole = read(message, keep, message.size() + 1);
  const Read split = read(message, keep, chunk);
  VHM_FUZZ_CHECK(whole == split,
                 "chunk size " + std::to_string(chunk) + " changed the result: " + describe(split) + " / " + describe(whole));

  // Framing: the message is 8 bytes + payload; feed took exactly that, or all there was.
  if (whole.finished) {
    VHM_FUZZ_CHECK(whole.header_known && whole.used == 8 + whole.payload_length, "finished at the wrong byte: " + describe(whole));
  } else {
    VHM_FUZZ_CHECK(whole.used == message.size(), "unfinished but bytes left over: " + describe(whole));
    if (whole.header_known) VHM_FUZZ_CHECK(message.size() < 8 + whole.payload_length, "unfinished with the whole message");
  }
  if (message.size() >= 8 && !whole.extended)
    VHM_FUZZ_CHECK(whole.header_known, "plain header not known after 8 bytes");

  // Text bounds.
  VHM_FUZZ_CHECK(whole.text.size() <= keep, "kept more than keep_text: " + describe(whole));
  if (!whole.finished) return 0;
  VHM_FUZZ_CHECK(whole.carries_text || (whole.text.empty() && whole.text_bytes == 0), "text without carrying text");
  VHM_FUZZ_CHECK(whole.text.size() <= whole.text_bytes, "more text than its size: " + describe(whole));
  VHM_FUZZ_CHECK(whole.error.empty() || !whole.carries_text, "text with an error: " + describe(whole));
  if (!whole.extended) {
    VHM_FUZZ_CHECK(whole.kind == CutTextReader::Kind::plain && whole.carries_text && whole.error.empty() &&
                       whole.text_bytes == whole.payload_length,
                   "plain text misread: " + describe(whole));
    const auto expect = message.subspan(8, static_cast<std::size_t>(std::min(keep, whole.payload_length)));
    VHM_FUZZ_CHECK(std::string(expect.begin(), expect.end()) == whole.text, "plain text is not the payload's start");
  }
  if (whole.extended && whole.kind != CutTextReader::Kind::provide) VHM_FUZZ_CHECK(!whole.carries_text, "text outside a provide");

  // A compressed provide of the text format: the text its first block says.
  if (compress_mode && (built_flags & 0xFF000000u) == ec::provide && (built_flags & ec::text)) {
    VHM_FUZZ_CHECK(whole.kind == CutTextReader::Kind::provide, "provide not read as provide");
    if (raw.size() < 4) {
      VHM_FUZZ_CHECK(!whole.error.empty(), "no error for a stream without the text size");
      return 0;
    }
    const std::uint64_t block = be32(raw.data());
    const std::uint64_t want = (block == 0 || block - 1 <= keep) ? block : keep;
    if (raw.size() - 4 < want) {
      VHM_FUZZ_CHECK(!whole.error.empty(), "no error for a short text block: " + describe(whole));
      return 0;
    }
    VHM_FUZZ_CHECK(whole.error.empty() && whole.carries_text, "error for a good text block: " + describe(whole));
    const auto bytes = raw.subspan(4, static_cast<std::size_t>(want));
    std::uint64_t text_bytes = block == 0 ? 0 : block - 1;
    std::size_t text_len = static_cast<std::size_t>(std::min(keep, text_bytes));
    if (block != 0 && want == block && bytes.back() != 0) {
      text_bytes = block;
      text_len = static_cast<std::size_t>(std::min(keep, block));
    }
    VHM_FUZZ_CHECK(whole.text_bytes == text_bytes, "text size misread: " + describe(whole));
    VHM_FUZZ_CHECK(std::string(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(text_len)) == whole.text,
                   "text is not the block's start: " + describe(whole));
  } else if (compress_mode && (built_flags & 0xFF000000u) == ec::provide) {
    VHM_FUZZ_CHECK(!whole.carries_text && whole.error.empty(), "a provide without text read as text");
  }
  return 0;
}
