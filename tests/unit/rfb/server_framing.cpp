#include "tests/unit/rfb/server_framing.hpp"

#include <catch2/catch.hpp>

#include <random>
#include <sstream>

namespace vhm::rfb::test {

PixelFormat pf32() { return PixelFormat{}; }

PixelFormat pf16() {
  PixelFormat pf;
  pf.bits_per_pixel = 16;
  pf.depth = 16;
  pf.red_max = 31, pf.green_max = 63, pf.blue_max = 31;
  pf.red_shift = 11, pf.green_shift = 5, pf.blue_shift = 0;
  return pf;
}

PixelFormat pf8() {
  PixelFormat pf;
  pf.bits_per_pixel = 8;
  pf.depth = 8;
  pf.red_max = 7, pf.green_max = 7, pf.blue_max = 3;
  pf.red_shift = 0, pf.green_shift = 3, pf.blue_shift = 6;
  return pf;
}

PixelFormat pf_bpp(std::uint8_t bits) {
  PixelFormat pf;
  pf.bits_per_pixel = bits;
  return pf;
}

std::string describe(const ServerMessageFramer::Note& note) {
  using Kind = ServerMessageFramer::Note::Kind;
  std::ostringstream out;
  const auto& r = note.rect;
  switch (note.kind) {
    case Kind::rect:
      out << "rect " << r.x << "," << r.y << " " << r.width << "x" << r.height << " " << encoding_name(r.encoding);
      break;
    case Kind::update_ends: out << "update ends"; break;
    case Kind::desktop_name: out << "desktop name '" << note.name << "'"; break;
    case Kind::extended_desktop_size:
      out << "extended desktop size reason " << r.x << " status " << r.y << " " << r.width << "x" << r.height << " screens "
          << unsigned{note.screens};
      break;
  }
  return out.str();
}

namespace {

class Collector : public ServerMessageFramer::Sink {
 public:
  explicit Collector(ServerFramed& out) : out_(out) {}
  void piece(const ServerMessageFramer::Piece& piece) override {
    CHECK_FALSE(piece.bytes.empty());
    CHECK(piece.first == !open_);
    if (piece.first) {
      REQUIRE_FALSE(piece.bytes.empty());
      CHECK(piece.bytes[0] == piece.type);
      out_.messages.emplace_back();
      out_.complete.push_back(false);
      type_ = piece.type;
    }
    REQUIRE_FALSE(out_.messages.empty());
    CHECK(piece.type == type_);
    out_.messages.back().insert(out_.messages.back().end(), piece.bytes.begin(), piece.bytes.end());
    out_.complete.back() = piece.last;
    open_ = !piece.last;
    ++pieces_this_call;
  }
  void note(const ServerMessageFramer::Note& note) override {
    out_.notes.push_back(std::to_string(static_cast<long>(out_.messages.size()) - 1) + " " + describe(note));
  }
  std::size_t pieces_this_call = 0;

 private:
  ServerFramed& out_;
  bool open_ = false;
  std::uint8_t type_ = 0;
};

}  // namespace

ServerFramed run_server_script(const std::vector<ServerStep>& script, const PixelFormat& format,
                               const ServerLimits& limits, std::size_t how, std::size_t cut) {
  ServerFramed out;
  ServerMessageFramer framer(format, limits);
  Collector collector(out);
  std::mt19937 random(static_cast<unsigned>(how));
  std::uint64_t fed = 0;
  bool stopped = false;
  for (const auto& step : script) {
    if (step.viewer) step.viewer(framer);
    std::span<const std::uint8_t> rest(step.bytes);
    while (!rest.empty()) {
      std::size_t n = rest.size();
      if (how == 1) n = 1;
      if (how > 1) n = std::min<std::size_t>(rest.size(), 1 + random() % (how < 4 ? 17 : 300));
      if (how == 0 && fed < cut && cut - fed < n) n = cut - fed;
      const auto before = framer.offset();
      const bool was_failed = framer.failed();
      collector.pieces_this_call = 0;
      const bool ok = framer.feed(rest.first(n), collector);
      CHECK(ok == !framer.failed());
      if (was_failed) {
        CHECK_FALSE(ok);
        CHECK(collector.pieces_this_call == 0);
        CHECK(framer.offset() == before);
      } else if (ok) {
        CHECK(framer.offset() == before + n);  // nothing held back
      } else {
        CHECK(framer.offset() <= before + n);
      }
      fed += n;
      rest = rest.subspan(n);
      if (!ok) stopped = true;
    }
    out.bits_per_pixel.push_back(framer.pixel_format().bits_per_pixel);
  }
  (void)stopped;
  out.failed = framer.failed();
  out.error = framer.error();
  out.offset = framer.offset();
  // The pieces joined are the stream up to where framing stopped.
  std::size_t joined = 0;
  for (const auto& m : out.messages) joined += m.size();
  CHECK(joined == out.offset);
  if (!out.failed) CHECK(out.offset == fed);
  return out;
}

ServerFramed frame_every_way(const std::vector<ServerStep>& script, const PixelFormat& format,
                             const ServerLimits& limits) {
  const ServerFramed whole = run_server_script(script, format, limits, 0);
  {
    INFO("byte by byte");
    CHECK(run_server_script(script, format, limits, 1) == whole);
  }
  for (std::size_t seed = 2; seed < 6; ++seed) {
    INFO("random chunks, seed " << seed);
    CHECK(run_server_script(script, format, limits, seed) == whole);
  }
  // Cut in two at every offset (at most 300 of them, evenly spaced, in long streams).
  std::size_t size = 0;
  for (const auto& step : script) size += step.bytes.size();
  const std::size_t every = 1 + size / 300;
  for (std::size_t cut = 1; cut < size; cut += every) {
    INFO("cut at " << cut);
    CHECK(run_server_script(script, format, limits, 0, cut) == whole);
  }
  return whole;
}

ServerFramed expect_messages(const std::vector<Bytes>& messages, const PixelFormat& format,
                             const ServerLimits& limits) {
  Bytes stream;
  for (const auto& m : messages) stream.insert(stream.end(), m.begin(), m.end());
  const ServerFramed framed = frame_every_way(stream, format, limits);
  INFO(framed.error);
  CHECK_FALSE(framed.failed);
  CHECK(framed.messages == messages);
  CHECK(framed.offset == stream.size());
  for (const bool c : framed.complete) CHECK(c);
  return framed;
}

}  // namespace vhm::rfb::test
