#include "rfb/cut_text.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <bit>
#include <limits>

namespace vhm::rfb {
namespace {

std::uint32_t cut_text_be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// The action, as TigerVNC's CMsgReader/SMsgReader::readExtendedClipboard
// dispatch it (libvncserver and noVNC do the same): the caps bit wins whatever
// else is set; otherwise the action byte must be exactly one known action.
// Several actions, none, or an unknown bit (29..31) are `other` (TigerVNC
// closes the connection on them: "Invalid extended clipboard action").
CutTextReader::Kind extended_clipboard_kind(std::uint32_t flags) {
  namespace ec = extended_clipboard;
  using Kind = CutTextReader::Kind;
  const std::uint32_t action = flags & 0xFF000000u;
  if (action & ec::caps) return Kind::caps;
  switch (action) {
    case ec::provide: return Kind::provide;
    case ec::request: return Kind::request;
    case ec::peek: return Kind::peek;
    case ec::notify: return Kind::notify;
    default: return Kind::other;
  }
}

}  // namespace

struct CutTextReader::State {
  explicit State(std::uint64_t keep) : keep_text(keep) {}
  ~State() { close_zlib(); }
  State(const State&) = delete;
  State& operator=(const State&) = delete;

  std::uint64_t keep_text;

  // Header: type, 3 padding, s32 length, and for extended the u32 flags.
  std::array<std::uint8_t, 12> head{};
  std::size_t head_have = 0;
  bool header_known = false;
  bool extended = false;
  bool finished = false;
  Kind kind = Kind::plain;
  std::uint32_t flags = 0;
  std::uint64_t payload_length = 0;  // after the 8-byte header
  std::uint64_t payload_read = 0;    // of it, taken so far (the flags included)

  bool carries_text = false;
  std::uint64_t text_bytes = 0;
  std::string text;
  std::string error;

  // Provide with the text format: the zlib stream is inflated as far as the
  // text block's size and the kept part of its text (plus, when the whole
  // text is kept, the block's last byte: the terminator, or not).
  enum class Phase : std::uint8_t { off, size, text, done };
  Phase phase = Phase::off;
  z_stream zs{};
  bool zlib_open = false;
  std::array<std::uint8_t, 4> size_field{};
  std::size_t size_have = 0;
  std::uint64_t block_size = 0;  // the text block's size, terminator included
  std::uint64_t block_want = 0;  // how much of the block is inflated
  std::uint64_t block_got = 0;
  std::uint8_t last_byte = 0;    // the block's last byte, when block_want == block_size

  void close_zlib() {
    if (zlib_open) inflateEnd(&zs);
    zlib_open = false;
  }

  void fail(std::string why) {
    if (error.empty()) error = std::move(why);
    phase = Phase::done;
    close_zlib();
  }

  void take_header_byte(std::uint8_t byte);
  void start_extended();
  void take_payload(std::span<const std::uint8_t> bytes);
  void inflate_some(std::span<const std::uint8_t> compressed);
  void take_inflated(std::span<const std::uint8_t> out);
  void end_text_block();
  void finish();
};

void CutTextReader::State::take_header_byte(std::uint8_t byte) {
  head[head_have++] = byte;
  if (head_have == 8) {
    // s32 length; negative is extended with |length| bytes (-2^31 is 2^31, computed unsigned).
    const std::uint32_t raw = cut_text_be32(&head[4]);
    extended = (raw & 0x80000000u) != 0;
    payload_length = extended ? std::uint64_t{0u - raw} : raw;
    if (!extended) {
      header_known = true;
      kind = Kind::plain;
      carries_text = true;
      text_bytes = payload_length;
      text.reserve(static_cast<std::size_t>(std::min<std::uint64_t>({keep_text, payload_length, 1u << 16})));
    } else if (payload_length < 4) {
      // No room for the flags: framed by its length, known as malformed.
      header_known = true;
      kind = Kind::other;
      fail("extended clipboard message of " + std::to_string(payload_length) + " bytes, too short for its flags");
    }
  } else if (head_have == 12) {
    start_extended();
  }
}

void CutTextReader::State::start_extended() {
  flags = cut_text_be32(&head[8]);
  payload_read = 4;
  header_known = true;
  kind = extended_clipboard_kind(flags);
  const unsigned formats = static_cast<unsigned>(std::popcount(flags & 0xFFFFu));
  if (kind == Kind::caps && payload_length < 4 + 4ull * formats) {
    fail("extended clipboard caps of " + std::to_string(payload_length) + " bytes, too short for " +
         std::to_string(formats) + " format sizes");
  } else if (kind == Kind::provide && (flags & extended_clipboard::text)) {
    // The text format is bit 0, so its block is always the first of the stream.
    if (inflateInit(&zs) != Z_OK) {
      fail("extended clipboard provide: zlib could not start");
      return;
    }
    zlib_open = true;
    phase = Phase::size;
  }
}

void CutTextReader::State::take_payload(std::span<const std::uint8_t> bytes) {
  switch (kind) {
    case Kind::plain: {
      const std::uint64_t room = keep_text - std::min<std::uint64_t>(keep_text, text.size());
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(room, bytes.size()));
      text.append(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
      break;
    }
    case Kind::provide:
      if (phase == Phase::size || phase == Phase::text) inflate_some(bytes);
      break;
    default:  // caps sizes, bytes past the flags of request/peek/notify, malformed: framed only
      break;
  }
}

void CutTextReader::State::inflate_some(std::span<const std::uint8_t> compressed) {
  // A small fixed output buffer, and never more output asked for than the
  // size field or the text still needs: a bomb inflates no further.
  std::array<std::uint8_t, 1024> out;
  while (!compressed.empty() && (phase == Phase::size || phase == Phase::text)) {
    const auto piece = compressed.first(std::min<std::size_t>(compressed.size(), 1u << 20));
    zs.next_in = const_cast<Bytef*>(piece.data());  // zlib's API is not const-correct
    zs.avail_in = static_cast<uInt>(piece.size());
    while (phase == Phase::size || phase == Phase::text) {
      const std::uint64_t need = phase == Phase::size ? 4 - size_have : block_want - block_got;
      const auto ask = static_cast<uInt>(std::min<std::uint64_t>(need, out.size()));
      zs.next_out = out.data();
      zs.avail_out = ask;
      const int status = inflate(&zs, Z_NO_FLUSH);
      const std::size_t produced = ask - zs.avail_out;
      take_inflated(std::span<const std::uint8_t>(out.data(), produced));
      if (phase == Phase::done) break;  // what comes after the text is never looked at
      if (status == Z_STREAM_END) {
        fail(phase == Phase::size ? "extended clipboard provide: the zlib stream ends before the text size"
                                  : "extended clipboard provide: the zlib stream ends inside the text");
        break;
      }
      if (status == Z_NEED_DICT) {
        fail("extended clipboard provide: the zlib stream asks for a preset dictionary");
        break;
      }
      if (status != Z_OK && status != Z_BUF_ERROR) {
        fail(std::string("extended clipboard provide: corrupt zlib stream (") + (zs.msg ? zs.msg : "no detail") +
             ")");
        break;
      }
      if (produced == 0 && (zs.avail_in == 0 || status == Z_BUF_ERROR)) break;  // needs more input
    }
    compressed = compressed.subspan(piece.size());
  }
  if (zlib_open) {  // zlib must not keep pointers into the caller's bytes
    zs.next_in = nullptr;
    zs.avail_in = 0;
  }
}

void CutTextReader::State::take_inflated(std::span<const std::uint8_t> out) {
  while (!out.empty()) {
    if (phase == Phase::size) {
      const std::size_t n = std::min(out.size(), 4 - size_have);
      std::copy_n(out.begin(), n, size_field.begin() + static_cast<std::ptrdiff_t>(size_have));
      size_have += n;
      out = out.subspan(n);
      if (size_have < 4) return;
      block_size = cut_text_be32(size_field.data());
      // The whole block when the whole text is kept (its last byte tells
      // whether the sender terminated it), else only the kept bytes.
      block_want = (block_size == 0 || block_size - 1 <= keep_text) ? block_size : keep_text;
      phase = Phase::text;
      text.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(block_want, 1u << 16)));
      if (block_want == 0) end_text_block();
    } else if (phase == Phase::text) {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), block_want - block_got));
      for (std::size_t i = 0; i < n; ++i) {
        if (block_want == block_size && block_got + i == block_size - 1)
          last_byte = out[i];
        else
          text.push_back(static_cast<char>(out[i]));
      }
      block_got += n;
      out = out.subspan(n);
      if (block_got == block_want) end_text_block();
    } else {
      return;
    }
  }
}

// rfbproto: the text is NUL-terminated and the NUL counts in the block's
// size. text_bytes is the size without it. A block of size 0 is an empty
// text. A sender that leaves the NUL out (its last byte is text) is seen only
// when the whole block was inflated (size <= keep_text + 1): then that byte
// is text like the others; for a longer block the terminator is assumed.
void CutTextReader::State::end_text_block() {
  phase = Phase::done;
  close_zlib();
  carries_text = true;
  if (block_size == 0) {
    text_bytes = 0;
  } else if (block_want == block_size && last_byte != 0) {
    text_bytes = block_size;
    if (text.size() < keep_text) text.push_back(static_cast<char>(last_byte));
  } else {
    text_bytes = block_size - 1;
  }
}

void CutTextReader::State::finish() {
  finished = true;
  if (kind == Kind::provide && (phase == Phase::size || phase == Phase::text))
    fail(phase == Phase::size ? "extended clipboard provide: the message ends before the text size"
                              : "extended clipboard provide: the message ends inside the text");
  close_zlib();
  if (!error.empty()) {  // the text is unknown
    carries_text = false;
    text_bytes = 0;
    text.clear();
  }
  text.shrink_to_fit();
}

CutTextReader::CutTextReader(std::uint64_t keep_text) : state_(std::make_unique<State>(keep_text)) {}
CutTextReader::~CutTextReader() = default;
CutTextReader::CutTextReader(CutTextReader&&) noexcept = default;
CutTextReader& CutTextReader::operator=(CutTextReader&&) noexcept = default;

std::size_t CutTextReader::feed(std::span<const std::uint8_t> bytes) {
  State& s = *state_;
  std::size_t used = 0;
  while (!s.finished && used < bytes.size()) {
    if (!s.header_known) {
      s.take_header_byte(bytes[used++]);
    } else {
      const std::uint64_t left = s.payload_length - s.payload_read;
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, bytes.size() - used));
      s.take_payload(bytes.subspan(used, n));
      s.payload_read += n;
      used += n;
    }
    if (s.header_known && s.payload_read == s.payload_length) s.finish();
  }
  return used;
}

bool CutTextReader::header_known() const { return state_->header_known; }
CutTextReader::Kind CutTextReader::kind() const { return state_->kind; }
bool CutTextReader::extended() const { return state_->extended; }
std::uint32_t CutTextReader::flags() const { return state_->flags; }
std::uint64_t CutTextReader::payload_length() const { return state_->payload_length; }
bool CutTextReader::finished() const { return state_->finished; }
bool CutTextReader::carries_text() const { return state_->carries_text; }
std::uint64_t CutTextReader::text_bytes() const { return state_->text_bytes; }
const std::string& CutTextReader::text() const { return state_->text; }
const std::string& CutTextReader::error() const { return state_->error; }

}  // namespace vhm::rfb
