// The cut text reader (rfb/cut_text.hpp): plain text, every extended
// clipboard action, zlib streams built here with zlib itself, truncation to
// keep_text, a compression bomb, malformed messages; each fed whole, byte by
// byte and in random chunks, with the next message's bytes behind it.
#include <catch2/catch.hpp>
#include <zlib.h>

#include <random>

#include "rfb/cut_text.hpp"
#include "tests/unit/rfb/transcript.hpp"

namespace vhm::rfb::test {
namespace cut_text_test {

namespace ec = extended_clipboard;
using Kind = CutTextReader::Kind;

Bytes compressed(const Bytes& raw) {
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  Bytes out(size);
  REQUIRE(compress2(out.data(), &size, raw.data(), static_cast<uLong>(raw.size()), 9) == Z_OK);
  out.resize(size);
  return out;
}

// u8 type, 3 padding, s32 length, payload.
Bytes message(std::int32_t length, const Bytes& payload, std::uint8_t type = 3) {
  return cat(u8(type), zeros(3), u32(static_cast<std::uint32_t>(length)), payload);
}
Bytes plain(std::string_view value, std::uint8_t type = 3) {
  return message(static_cast<std::int32_t>(value.size()), text(value), type);
}
// Extended: length -(4 + payload), flags, payload.
Bytes extended(std::uint32_t flags, const Bytes& payload, std::uint8_t type = 3) {
  return message(-static_cast<std::int32_t>(4 + payload.size()), cat(u32(flags), payload), type);
}
// A provide of the given blocks (u32 size + bytes each), in one zlib stream.
Bytes provide(std::uint32_t formats, const std::vector<Bytes>& blocks) {
  Bytes raw;
  for (const auto& block : blocks) raw = cat(raw, u32(static_cast<std::uint32_t>(block.size())), block);
  return extended(ec::provide | formats, compressed(raw));
}
Bytes nul_terminated(std::string_view value) { return cat(text(value), u8(0)); }

struct Read {
  std::size_t used = 0;
  bool header_known = false;
  Kind kind = Kind::plain;
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

// Feeds `bytes` in the given chunk sizes (cycled); feed must stop at the
// message's end and take nothing afterwards.
Read read_in_chunks(const Bytes& bytes, std::uint64_t keep, const std::vector<std::size_t>& chunks) {
  CutTextReader reader(keep);
  Read r;
  std::size_t at = 0;
  for (std::size_t i = 0; at < bytes.size(); ++i) {
    const std::size_t n = std::min(chunks[i % chunks.size()], bytes.size() - at);
    const std::size_t took = reader.feed(std::span<const std::uint8_t>(bytes).subspan(at, n));
    REQUIRE(took <= n);
    r.used += took;
    at += n;
    if (took < n) {
      REQUIRE(reader.finished());
      break;
    }
  }
  REQUIRE(reader.finished());
  CHECK(reader.feed(u8(9)) == 0);
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

// The message followed by another's bytes: whole, byte by byte and in random
// chunks, all the same; feed took exactly the message.
Read read_every_way(const Bytes& msg, std::uint64_t keep) {
  const Bytes stream = cat(msg, plain("next"));
  const Read whole = read_in_chunks(stream, keep, {stream.size()});
  CHECK(whole.finished);
  CHECK(whole.used == msg.size());
  CHECK(read_in_chunks(stream, keep, {1}) == whole);
  std::mt19937 random(static_cast<std::uint32_t>(msg.size()));
  for (int round = 0; round < 20; ++round) {
    std::vector<std::size_t> chunks;
    const std::size_t largest = round % 2 ? 40 : 2000;  // small pieces, and pieces of several zlib blocks
    for (int i = 0; i < 16; ++i) chunks.push_back(std::uniform_int_distribution<std::size_t>(1, largest)(random));
    INFO("round " << round);
    CHECK(read_in_chunks(stream, keep, chunks) == whole);
  }
  return whole;
}

// The cases stay in this namespace too: in a unity batch a using-directive
// would carry these names into other test files.

TEST_CASE("cut text: plain Latin-1 text, server and client") {
  for (const std::uint8_t type : {std::uint8_t{3}, std::uint8_t{6}}) {
    const Read r = read_every_way(plain("caf\xe9 au lait", type), 100);
    CHECK(r.header_known);
    CHECK(r.kind == Kind::plain);
    CHECK_FALSE(r.extended);
    CHECK(r.payload_length == 12);
    CHECK(r.carries_text);
    CHECK(r.text_bytes == 12);
    CHECK(r.text == "caf\xe9 au lait");
    CHECK(r.error.empty());
  }
}

TEST_CASE("cut text: plain text over keep_text keeps its start, counts all of it") {
  const Read r = read_every_way(plain("0123456789"), 4);
  CHECK(r.text == "0123");
  CHECK(r.text_bytes == 10);
  CHECK(read_every_way(plain("0123456789"), 0).text.empty());
}

TEST_CASE("cut text: length 0 is an empty text, finished with its header") {
  const Read r = read_every_way(message(0, {}), 10);
  CHECK(r.finished);
  CHECK(r.used == 8);
  CHECK(r.carries_text);
  CHECK(r.text_bytes == 0);
  CHECK(r.text.empty());
}

TEST_CASE("cut text: the header is known after 8 bytes, plus the flags when extended") {
  const Bytes short_text = plain("abc");
  CutTextReader plain_reader(10);
  CHECK(plain_reader.feed(std::span<const std::uint8_t>(short_text).first(7)) == 7);
  CHECK_FALSE(plain_reader.header_known());
  CHECK(plain_reader.feed(std::span<const std::uint8_t>(short_text).subspan(7, 2)) == 2);
  CHECK(plain_reader.header_known());
  CHECK_FALSE(plain_reader.finished());

  const Bytes msg = extended(ec::notify | ec::text, {});
  CutTextReader reader;
  CHECK(reader.feed(std::span<const std::uint8_t>(msg).first(11)) == 11);
  CHECK_FALSE(reader.header_known());
  CHECK(reader.feed(std::span<const std::uint8_t>(msg).subspan(11)) == 1);
  CHECK(reader.header_known());
  CHECK(reader.finished());
}

TEST_CASE("cut text: extended caps, one size per format") {
  const Read r = read_every_way(extended(ec::caps | ec::text | ec::html, cat(u32(1 << 20), u32(4096))), 100);
  CHECK(r.kind == Kind::caps);
  CHECK(r.extended);
  CHECK(r.flags == (ec::caps | ec::text | ec::html));
  CHECK(r.payload_length == 12);
  CHECK_FALSE(r.carries_text);
  CHECK(r.text_bytes == 0);
  CHECK(r.error.empty());
}

TEST_CASE("cut text: extended caps too short for its format sizes is an error, framed by its length") {
  const Read r = read_every_way(extended(ec::caps | ec::text | ec::html, u32(1 << 20)), 100);
  CHECK(r.kind == Kind::caps);
  CHECK(r.used == 16);
  CHECK(r.error == "extended clipboard caps of 8 bytes, too short for 2 format sizes");
}

TEST_CASE("cut text: extended request, peek and notify carry flags only") {
  const std::vector<std::pair<std::uint32_t, Kind>> actions = {
      {ec::request, Kind::request}, {ec::peek, Kind::peek}, {ec::notify, Kind::notify}};
  for (const auto& [action, kind] : actions) {
    const Read r = read_every_way(extended(action | ec::text | ec::rtf, {}), 100);
    CHECK(r.kind == kind);
    CHECK(r.flags == (action | ec::text | ec::rtf));
    CHECK(r.payload_length == 4);
    CHECK_FALSE(r.carries_text);
    CHECK(r.error.empty());
  }
}

TEST_CASE("cut text: the action as TigerVNC dispatches it: caps wins, else exactly one action") {
  CHECK(read_every_way(extended(ec::caps | ec::provide | ec::text, u32(100)), 10).kind == Kind::caps);
  CHECK(read_every_way(extended(ec::provide | ec::notify | ec::text, zeros(8)), 10).kind == Kind::other);
  CHECK(read_every_way(extended(ec::provide | (1u << 31) | ec::text, zeros(8)), 10).kind == Kind::other);
  CHECK(read_every_way(extended(ec::text, {}), 10).kind == Kind::other);
  const Read both = read_every_way(extended(ec::provide | ec::notify | ec::text, zeros(8)), 10);
  CHECK_FALSE(both.carries_text);
  CHECK(both.error.empty());
}

TEST_CASE("cut text: extended provide of text: UTF-8 without its NUL") {
  const Read r = read_every_way(provide(ec::text, {nul_terminated("h\xc3\xa9llo\r\nworld")}), 100);
  CHECK(r.kind == Kind::provide);
  CHECK(r.flags == (ec::provide | ec::text));
  CHECK(r.carries_text);
  CHECK(r.text_bytes == 13);
  CHECK(r.text == "h\xc3\xa9llo\r\nworld");
  CHECK(r.error.empty());
}

TEST_CASE("cut text: extended provide of text and html: the text block, the html never read") {
  const Read r = read_every_way(
      provide(ec::text | ec::html, {nul_terminated("plain"), nul_terminated("<b>plain</b>")}), 100);
  CHECK(r.carries_text);
  CHECK(r.text == "plain");
  CHECK(r.text_bytes == 5);
  CHECK(r.error.empty());
}

TEST_CASE("cut text: extended provide without the text format carries no text and inflates nothing") {
  // Not even a zlib stream: nothing of it is looked at.
  const Read r = read_every_way(extended(ec::provide | ec::html, text("not zlib at all")), 100);
  CHECK(r.kind == Kind::provide);
  CHECK_FALSE(r.carries_text);
  CHECK(r.error.empty());
}

TEST_CASE("cut text: extended provide over keep_text keeps its start") {
  const Bytes msg = provide(ec::text, {nul_terminated("0123456789")});
  const Read r = read_every_way(msg, 4);
  CHECK(r.text == "0123");
  CHECK(r.text_bytes == 10);
  const Read none = read_every_way(msg, 0);
  CHECK(none.carries_text);
  CHECK(none.text.empty());
  CHECK(none.text_bytes == 10);
  CHECK(read_every_way(msg, 10).text == "0123456789");  // exactly kept: the NUL is seen
}

TEST_CASE("cut text: extended text of size 0, or without its NUL") {
  const Read empty = read_every_way(provide(ec::text, {Bytes{}}), 100);
  CHECK(empty.carries_text);
  CHECK(empty.text_bytes == 0);
  CHECK(empty.text.empty());
  CHECK(empty.error.empty());

  const Read only_nul = read_every_way(provide(ec::text, {u8(0)}), 100);
  CHECK(only_nul.text_bytes == 0);
  CHECK(only_nul.text.empty());

  // Seen whole (size <= keep_text + 1): the last byte is text.
  const Bytes unterminated = provide(ec::text, {text("hello")});
  const Read seen = read_every_way(unterminated, 100);
  CHECK(seen.text == "hello");
  CHECK(seen.text_bytes == 5);
  const Read just = read_every_way(unterminated, 4);
  CHECK(just.text == "hell");
  CHECK(just.text_bytes == 5);
  // Longer: not inflated that far, the terminator rfbproto requires is assumed.
  const Read assumed = read_every_way(unterminated, 3);
  CHECK(assumed.text == "hel");
  CHECK(assumed.text_bytes == 4);
}

TEST_CASE("cut text: a compression bomb costs nothing and keeps keep_text bytes") {
  // u32 size + 100 MB of zeros, then an html block, in one zlib stream (~100 KB).
  constexpr std::uint32_t huge = 100u << 20;
  z_stream zs{};
  REQUIRE(deflateInit(&zs, 9) == Z_OK);
  Bytes stream;
  std::vector<std::uint8_t> out(1 << 16);
  const auto deflate_some = [&](Bytes in, int flush) {
    zs.next_in = in.data();
    zs.avail_in = static_cast<uInt>(in.size());
    int status = Z_OK;
    do {
      zs.next_out = out.data();
      zs.avail_out = static_cast<uInt>(out.size());
      status = deflate(&zs, flush);
      stream.insert(stream.end(), out.data(), out.data() + (out.size() - zs.avail_out));
    } while (zs.avail_in > 0 || (flush == Z_FINISH && status != Z_STREAM_END));
  };
  deflate_some(u32(huge), Z_NO_FLUSH);
  const Bytes mb(1 << 20, 0);
  for (std::uint32_t i = 0; i < huge / mb.size(); ++i) deflate_some(mb, Z_NO_FLUSH);
  deflate_some(cat(u32(3), text("<b>")), Z_FINISH);
  deflateEnd(&zs);
  REQUIRE(stream.size() < 200'000);

  const Bytes msg = extended(ec::provide | ec::text | ec::html, stream);
  const auto start = std::chrono::steady_clock::now();
  const Read r = read_every_way(msg, 16);
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(r.carries_text);
  CHECK(r.text == std::string(16, '\0'));
  CHECK(r.text_bytes == huge - 1);
  CHECK(r.error.empty());
  CHECK(took < std::chrono::seconds(5));  // 22 reads; inflating 100 MB each time would take far longer
}

TEST_CASE("cut text: nothing after the kept text is inflated") {
  // A valid start (size + "abcdef"), flushed, then garbage: with 4 bytes kept the garbage is never reached.
  z_stream zs{};
  REQUIRE(deflateInit(&zs, 6) == Z_OK);
  Bytes raw = cat(u32(1000), text("abcdef"));
  Bytes out(256);
  zs.next_in = raw.data();
  zs.avail_in = static_cast<uInt>(raw.size());
  zs.next_out = out.data();
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FULL_FLUSH) == Z_OK);
  out.resize(out.size() - zs.avail_out);
  deflateEnd(&zs);
  const Bytes msg = extended(ec::provide | ec::text, cat(out, filled(64, '\xff')));
  const Read r = read_every_way(msg, 4);
  CHECK(r.text == "abcd");
  CHECK(r.text_bytes == 999);
  CHECK(r.error.empty());
  // Kept further, the garbage is reached.
  CHECK_THAT(read_every_way(msg, 100).error, Catch::StartsWith("extended clipboard provide: corrupt zlib stream ("));
}

TEST_CASE("cut text: corrupt zlib is an error; the message is still framed by its length") {
  Bytes stream = compressed(cat(u32(6), nul_terminated("hello")));
  stream[0] = 0x00;  // not a zlib header
  const Read r = read_every_way(extended(ec::provide | ec::text, stream), 100);
  CHECK(r.finished);
  CHECK(r.used == 12 + stream.size());
  CHECK(r.error == "extended clipboard provide: corrupt zlib stream (incorrect header check)");
  CHECK_FALSE(r.carries_text);
  CHECK(r.text.empty());
  CHECK(r.text_bytes == 0);
}

TEST_CASE("cut text: truncated text blocks are errors") {
  // The zlib stream ends before the size, inside the text.
  CHECK(read_every_way(extended(ec::provide | ec::text, compressed(zeros(2))), 100).error ==
        "extended clipboard provide: the zlib stream ends before the text size");
  CHECK(read_every_way(extended(ec::provide | ec::text, compressed(cat(u32(10), text("abc")))), 100).error ==
        "extended clipboard provide: the zlib stream ends inside the text");
  // The message ends before the zlib stream does.
  Bytes letters;
  std::mt19937 random(7);
  for (int i = 0; i < 199; ++i) letters.push_back(static_cast<std::uint8_t>('a' + random() % 26));
  const Bytes full = compressed(cat(u32(200), letters, u8(0)));
  const Bytes whole(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(full.size() / 2));
  CHECK(read_every_way(extended(ec::provide | ec::text, {}), 100).error ==
        "extended clipboard provide: the message ends before the text size");
  const Read cut = read_every_way(extended(ec::provide | ec::text, whole), 300);
  CHECK(cut.error == "extended clipboard provide: the message ends inside the text");
  CHECK_FALSE(cut.carries_text);
  // ... unless what was kept was already there.
  CHECK(read_every_way(extended(ec::provide | ec::text, whole), 5).text ==
        std::string(letters.begin(), letters.begin() + 5));
}

TEST_CASE("cut text: negative lengths: over 4 is flags and more, under 4 is malformed") {
  const Read longer = read_every_way(extended(ec::request | ec::text, filled(6, 'z')), 100);
  CHECK(longer.kind == Kind::request);
  CHECK(longer.payload_length == 10);
  CHECK(longer.used == 18);
  CHECK(longer.error.empty());

  for (const std::int32_t length : {-1, -2, -3}) {
    const Read r = read_every_way(message(length, filled(static_cast<std::size_t>(-length), 'q')), 100);
    INFO("length " << length);
    CHECK(r.header_known);
    CHECK(r.extended);
    CHECK(r.kind == Kind::other);
    CHECK(r.payload_length == static_cast<std::uint64_t>(-length));
    CHECK(r.used == 8 + static_cast<std::size_t>(-length));
    CHECK(r.error == "extended clipboard message of " + std::to_string(-length) + " bytes, too short for its flags");
    CHECK_FALSE(r.carries_text);
  }
}

TEST_CASE("cut text: the largest lengths are read as lengths, not buffered") {
  CutTextReader reader(8);
  CHECK(reader.feed(cat(u8(6), zeros(3), u32(0x80000000u), u32(ec::notify))) == 12);
  CHECK(reader.header_known());
  CHECK(reader.payload_length() == 0x80000000u);
  CHECK_FALSE(reader.finished());
  CutTextReader big(8);
  CHECK(big.feed(cat(u8(6), zeros(3), u32(0x7FFFFFFFu), filled(1000, 'a'))) == 1008);
  CHECK(big.text() == "aaaaaaaa");
  CHECK_FALSE(big.finished());
}

TEST_CASE("cut text: a moved reader carries on") {
  CutTextReader first(10);
  const Bytes msg = provide(ec::text, {nul_terminated("moved")});
  CHECK(first.feed(std::span<const std::uint8_t>(msg).first(15)) == 15);
  CutTextReader second(std::move(first));
  CHECK(second.feed(std::span<const std::uint8_t>(msg).subspan(15)) == msg.size() - 15);
  CHECK(second.finished());
  CHECK(second.text() == "moved");
}

}  // namespace cut_text_test
}  // namespace vhm::rfb::test
