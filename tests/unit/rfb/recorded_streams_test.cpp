// Whole sessions between real viewers and real servers (tests/data/streams,
// see the README there): the handshake parser finds where each direction's
// handshake ends, then the viewer's stream goes through ClientMessageFramer
// and the server's through ServerMessageFramer, both in the order the tee
// read them, the server framer told of the viewer's SetPixelFormat and
// EnableContinuousUpdates as they pass. Fed per captured chunk, byte by byte
// (every split point) and in random chunks, the results must be the same;
// then MessageTracker follows the same sessions.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <sstream>

#include "rfb/client_messages.hpp"
#include "rfb/handshake_parser.hpp"
#include "rfb/message_tracker.hpp"
#include "rfb/pixel_format.hpp"
#include "rfb/server_messages.hpp"

namespace vhm::rfb::test::recorded {

using Bytes = std::vector<std::uint8_t>;

struct Chunk {
  Direction direction = Direction::client_to_server;
  Bytes bytes;
};

struct Capture {
  std::string name;
  std::map<std::string, std::string> header;
  std::vector<Chunk> chunks;  // the whole session, in capture order
  std::vector<Chunk> after;   // the same chunks past the handshake (empty ones left out)
  PixelFormat initial;        // ServerInit's
  std::uint16_t width = 0, height = 0;
  std::uint64_t handshake_bytes[2] = {0, 0};  // per Direction
  bool cut() const { return header.at("ended").rfind("cut", 0) == 0; }
};

int index(Direction d) { return static_cast<int>(d); }

std::uint32_t read_u32(const std::string& data, std::size_t at) {
  const auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(data[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

// Reads a .rfbs file: "VHM-RFB-STREAMS 1", "key: value" lines, an empty line,
// then chunks of u8 direction ('C'/'S'), u32 milliseconds, u32 length, bytes.
Capture load_capture(const std::string& name) {
  const std::string path = std::string(VHM_TEST_DATA_DIR) + "/streams/" + name + ".rfbs";
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Capture capture;
  capture.name = name;
  const std::string magic = "VHM-RFB-STREAMS 1\n";
  REQUIRE(data.rfind(magic, 0) == 0);
  const auto header_end = data.find("\n\n", magic.size() - 1);
  REQUIRE(header_end != std::string::npos);
  std::istringstream lines(data.substr(magic.size(), header_end - magic.size()));
  for (std::string line; std::getline(lines, line);) {
    const auto colon = line.find(": ");
    REQUIRE(colon != std::string::npos);
    capture.header[line.substr(0, colon)] = line.substr(colon + 2);
  }
  std::size_t at = header_end + 2;
  std::uint64_t totals[2] = {0, 0};
  while (at < data.size()) {
    REQUIRE(at + 9 <= data.size());
    REQUIRE((data[at] == 'C' || data[at] == 'S'));
    Chunk chunk;
    chunk.direction = data[at] == 'C' ? Direction::client_to_server : Direction::server_to_client;
    const std::uint32_t length = read_u32(data, at + 5);
    REQUIRE(at + 9 + length <= data.size());
    chunk.bytes.assign(data.begin() + static_cast<std::ptrdiff_t>(at + 9),
                       data.begin() + static_cast<std::ptrdiff_t>(at + 9 + length));
    totals[index(chunk.direction)] += length;
    capture.chunks.push_back(std::move(chunk));
    at += 9 + length;
  }
  CHECK(std::to_string(totals[index(Direction::client_to_server)]) == capture.header.at("c2s-bytes"));
  CHECK(std::to_string(totals[index(Direction::server_to_client)]) == capture.header.at("s2c-bytes"));
  CHECK(std::to_string(capture.chunks.size()) == capture.header.at("chunks"));

  // The handshake, in capture order, up to ServerInit: what it consumed of
  // each direction is what was fed less what after_handshake() hands back.
  HandshakeParser parser;
  std::uint64_t fed[2] = {0, 0};
  for (const auto& chunk : capture.chunks) {
    if (parser.finished()) break;
    const auto result = parser.feed(chunk.direction, chunk.bytes);
    REQUIRE(result.status != Status::error);
    fed[index(chunk.direction)] += chunk.bytes.size();
  }
  REQUIRE(parser.finished());
  REQUIRE(parser.summary().security_type == 1);
  for (const auto d : {Direction::client_to_server, Direction::server_to_client}) {
    capture.handshake_bytes[index(d)] = fed[index(d)] - parser.after_handshake(d).size();
  }
  capture.initial = PixelFormat::from_wire(parser.summary().pixel_format);
  capture.width = parser.summary().width;
  capture.height = parser.summary().height;

  // The chunks again, each cut where its direction's handshake ends.
  std::uint64_t seen[2] = {0, 0};
  for (const auto& chunk : capture.chunks) {
    auto& done = seen[index(chunk.direction)];
    const std::uint64_t end = done + chunk.bytes.size();
    const std::uint64_t skip = capture.handshake_bytes[index(chunk.direction)];
    if (end > skip) {
      const std::size_t from = done >= skip ? 0 : static_cast<std::size_t>(skip - done);
      capture.after.push_back(
          {chunk.direction, Bytes(chunk.bytes.begin() + static_cast<std::ptrdiff_t>(from), chunk.bytes.end())});
    }
    done = end;
  }
  // after_handshake() agrees with that cut.
  for (const auto d : {Direction::client_to_server, Direction::server_to_client}) {
    const auto tail = parser.after_handshake(d);
    Bytes stream;
    for (const auto& chunk : capture.after) {
      if (chunk.direction == d) stream.insert(stream.end(), chunk.bytes.begin(), chunk.bytes.end());
    }
    REQUIRE(stream.size() >= tail.size());
    CHECK(std::equal(tail.begin(), tail.end(), stream.begin()));
  }
  return capture;
}

const std::vector<std::string>& capture_names() {
  static const std::vector<std::string> names = {"xvnc_tiger_tight",
                                                 "xvnc_tiger_zrle",
                                                 "xvnc_tiger_hextile",
                                                 "xvnc_tiger_rre",
                                                 "xvnc_tiger_rre_8bpp",
                                                 "xvnc_tiger_tight_8bpp_lcl0",
                                                 "xvnc_tiger_zrle_8bpp_lcl1",
                                                 "xvnc_tiger_hextile_8bpp",
                                                 "xvnc_tiger_tight_depth16",
                                                 "xvnc_tiger_autoselect_pfchange",
                                                 "x11vnc_tiger_tight",
                                                 "x11vnc_tiger_zrle",
                                                 "x11vnc_netvnc",
                                                 "xvnc_depth16_netvnc",
                                                 "qemu_tiger_tight",
                                                 "qemu_tiger_zrle",
                                                 "qemu_tiger_hextile",
                                                 "qemu_netvnc_cut"};
  return names;
}

// Loaded once: every test case below reads the same files.
const Capture& capture(const std::string& name) {
  static std::map<std::string, Capture> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, load_capture(name)).first;
  return it->second;
}

// --- framing both directions -------------------------------------------------------

bool is_pixel_encoding(std::int32_t e) {
  return e == encoding::raw || e == encoding::copy_rect || e == encoding::rre || e == encoding::corre ||
         e == encoding::hextile || e == encoding::zlib || e == encoding::tight || e == encoding::zrle ||
         e == encoding::zywrle || e == encoding::tight_png;
}

std::string recorded_note_text(const ServerMessageFramer::Note& note) {
  using Kind = ServerMessageFramer::Note::Kind;
  const auto& r = note.rect;
  switch (note.kind) {
    case Kind::rect:
      return "rect " + encoding_name(r.encoding) + " " + std::to_string(r.x) + "," + std::to_string(r.y) + " " +
             std::to_string(r.width) + "x" + std::to_string(r.height);
    case Kind::update_ends:
      return "update-ends";
    case Kind::desktop_name:
      return "desktop-name " + std::string(note.name);
    case Kind::extended_desktop_size:
      return "extended-desktop-size reason " + std::to_string(r.x) + " status " + std::to_string(r.y) + " " +
             std::to_string(r.width) + "x" + std::to_string(r.height) + " screens " + std::to_string(note.screens);
  }
  return "?";
}

// Everything the two framers made of a session, in comparable form.
struct Framed {
  std::vector<std::pair<std::uint8_t, std::uint64_t>> client;  // (type, size) of each whole message
  std::vector<std::pair<std::uint8_t, std::uint64_t>> server;
  std::vector<std::string> notes;   // the server framer's notes, in order
  std::vector<unsigned> pixel_bpp;  // bits per pixel in force at each pixel rectangle, repeats folded
  std::uint64_t client_offset = 0, server_offset = 0;
  std::uint64_t client_partial = 0, server_partial = 0;  // bytes of an unfinished last message
  std::string client_error, server_error;
  bool operator==(const Framed&) const = default;
};

class Replay : public ServerMessageFramer::Sink {
 public:
  explicit Replay(const Capture& capture) : server_(capture.initial) {}

  void feed(Direction direction, std::span<const std::uint8_t> bytes) {
    if (direction == Direction::client_to_server) {
      if (client_.failed()) return;
      client_.feed(bytes, [&](const ClientMessageFramer::Piece& piece) { client_piece(piece); });
      if (client_.failed() && out_.client_error.empty()) out_.client_error = client_.error();
    } else {
      if (server_.failed()) return;
      const bool ok = server_.feed(bytes, *this);
      if (!ok && out_.server_error.empty()) out_.server_error = server_.error();
    }
  }

  Framed finish() {
    out_.client_offset = client_.offset();
    out_.server_offset = server_.offset();
    out_.client_partial = client_in_message_ ? client_size_ : 0;
    out_.server_partial = server_in_message_ ? server_size_ : 0;
    return out_;
  }

  void piece(const ServerMessageFramer::Piece& piece) override {
    REQUIRE(piece.first == !server_in_message_);
    if (piece.first) {
      server_type_ = piece.type;
      server_size_ = 0;
      server_in_message_ = true;
    }
    REQUIRE(piece.type == server_type_);
    server_size_ += piece.bytes.size();
    if (piece.last) {
      out_.server.emplace_back(server_type_, server_size_);
      server_in_message_ = false;
    }
  }

  void note(const ServerMessageFramer::Note& note) override {
    out_.notes.push_back(recorded_note_text(note));
    if (note.kind == ServerMessageFramer::Note::Kind::rect && is_pixel_encoding(note.rect.encoding)) {
      const unsigned bpp = server_.pixel_format().bits_per_pixel;
      if (out_.pixel_bpp.empty() || out_.pixel_bpp.back() != bpp) out_.pixel_bpp.push_back(bpp);
    }
  }

 private:
  void client_piece(const ClientMessageFramer::Piece& piece) {
    REQUIRE(piece.first == !client_in_message_);
    if (piece.first) {
      client_type_ = piece.type;
      client_size_ = 0;
      client_head_.clear();
      client_in_message_ = true;
    }
    const std::size_t keep =
        std::min<std::size_t>(piece.bytes.size(), 20 - std::min<std::size_t>(20, client_head_.size()));
    client_head_.insert(client_head_.end(), piece.bytes.begin(),
                        piece.bytes.begin() + static_cast<std::ptrdiff_t>(keep));
    client_size_ += piece.bytes.size();
    if (!piece.last) return;
    client_in_message_ = false;
    out_.client.emplace_back(client_type_, client_size_);
    // What the server framer must hear of, at the moment the proxy saw it.
    if (client_type_ == client_message::set_pixel_format) {
      REQUIRE(client_head_.size() == 20);
      server_.viewer_set_pixel_format(
          PixelFormat::from_wire(std::span<const std::uint8_t, 16>(client_head_.data() + 4, 16)));
    } else if (client_type_ == client_message::enable_continuous_updates) {
      REQUIRE(client_head_.size() == 10);
      server_.viewer_enable_continuous_updates(client_head_[1] != 0);
    }
  }

  ClientMessageFramer client_;
  ServerMessageFramer server_;
  Framed out_;
  std::uint8_t client_type_ = 0, server_type_ = 0;
  std::uint64_t client_size_ = 0, server_size_ = 0;
  bool client_in_message_ = false, server_in_message_ = false;
  Bytes client_head_;
};

enum class Split { captured, byte_by_byte, random, coalesced };

// Feeds the session past the handshake: each captured chunk whole, byte by
// byte, in random pieces of each chunk, or with consecutive chunks of one
// direction joined (a proxy that reads less often). The order of the two
// directions is the capture's in every case.
Framed frame_capture(const Capture& capture, Split split, unsigned seed = 1) {
  Replay replay(capture);
  std::mt19937 random(seed);
  const auto& chunks = capture.after;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const auto& chunk = chunks[i];
    const std::span<const std::uint8_t> bytes(chunk.bytes);
    switch (split) {
      case Split::captured:
        replay.feed(chunk.direction, bytes);
        break;
      case Split::byte_by_byte:
        for (std::size_t at = 0; at < bytes.size(); ++at) replay.feed(chunk.direction, bytes.subspan(at, 1));
        break;
      case Split::random:
        for (std::size_t at = 0; at < bytes.size();) {
          const std::size_t n = std::min<std::size_t>(bytes.size() - at, 1 + random() % 300);
          replay.feed(chunk.direction, bytes.subspan(at, n));
          at += n;
        }
        break;
      case Split::coalesced: {
        Bytes joined = chunk.bytes;
        while (i + 1 < chunks.size() && chunks[i + 1].direction == chunk.direction) {
          ++i;
          joined.insert(joined.end(), chunks[i].bytes.begin(), chunks[i].bytes.end());
        }
        replay.feed(chunk.direction, joined);
        break;
      }
    }
  }
  return replay.finish();
}

// Where two framings part: the first differing message or note, or field.
std::string first_difference(const Framed& a, const Framed& b) {
  const auto messages = [](const char* what, const auto& x, const auto& y) -> std::string {
    for (std::size_t i = 0; i < std::max(x.size(), y.size()); ++i) {
      if (i >= x.size() || i >= y.size() || x[i] != y[i]) {
        const auto text = [&](const auto& v) {
          return i < v.size() ? std::to_string(v[i].first) + "/" + std::to_string(v[i].second) : std::string("none");
        };
        return std::string(what) + " message " + std::to_string(i) + ": " + text(x) + " vs " + text(y);
      }
    }
    return "";
  };
  if (auto d = messages("client", a.client, b.client); !d.empty()) return d;
  if (auto d = messages("server", a.server, b.server); !d.empty()) return d;
  for (std::size_t i = 0; i < std::max(a.notes.size(), b.notes.size()); ++i) {
    const std::string x = i < a.notes.size() ? a.notes[i] : "none", y = i < b.notes.size() ? b.notes[i] : "none";
    if (x != y) return "note " + std::to_string(i) + ": " + x + " vs " + y;
  }
  if (a.server_error != b.server_error) return "server error: " + a.server_error + " vs " + b.server_error;
  if (a.client_error != b.client_error) return "client error: " + a.client_error + " vs " + b.client_error;
  return a == b ? "" : "offsets, partial messages or pixel formats";
}

std::uint64_t stream_size(const Capture& capture, Direction direction) {
  std::uint64_t n = 0;
  for (const auto& chunk : capture.after) {
    if (chunk.direction == direction) n += chunk.bytes.size();
  }
  return n;
}

std::size_t count_type(const std::vector<std::pair<std::uint8_t, std::uint64_t>>& messages, std::uint8_t type) {
  return static_cast<std::size_t>(
      std::count_if(messages.begin(), messages.end(), [&](const auto& m) { return m.first == type; }));
}

std::set<std::string> rect_encodings(const Framed& framed) {
  std::set<std::string> out;
  for (const auto& note : framed.notes) {
    if (note.rfind("rect ", 0) == 0) out.insert(note.substr(5, note.find(' ', 5) - 5));
  }
  return out;
}

// Framed per captured chunk, once per test run.
const Framed& framed(const std::string& name) {
  static std::map<std::string, Framed> cache;
  auto it = cache.find(name);
  if (it == cache.end()) it = cache.emplace(name, frame_capture(capture(name), Split::captured)).first;
  return it->second;
}

// What each capture must show (README.md there says how it was made).
struct Expected {
  std::string name;
  std::vector<std::string> encodings;  // rectangle encodings that must appear (others may too)
  std::vector<unsigned> bpp;           // bits per pixel of the pixel rectangles, in order, repeats folded
  bool clipboard_in = false;           // xsel's text went from the viewer to the server
  bool clipboard_out = false;          // and from the server to the viewer
  bool resize = false;                 // an ExtendedDesktopSize from xrandr and the viewer's SetDesktopSize
};

const std::vector<Expected>& expectations() {
  static const std::vector<Expected> all = {
      {.name = "xvnc_tiger_tight",
       .encodings = {"Tight", "CopyRect", "LastRect", "ExtendedDesktopSize", "CursorWithAlpha"},
       .bpp = {32},
       .clipboard_in = true,
       .clipboard_out = true,
       .resize = true},
      {.name = "xvnc_tiger_zrle",
       .encodings = {"ZRLE", "Tight", "CopyRect", "ExtendedDesktopSize", "CursorWithAlpha"},
       .bpp = {32},
       .clipboard_in = true,
       .clipboard_out = true,
       .resize = true},
      {.name = "xvnc_tiger_hextile",
       .encodings = {"Hextile", "CopyRect", "ExtendedDesktopSize", "CursorWithAlpha"},
       .bpp = {32},
       .clipboard_in = true,
       .clipboard_out = true,
       .resize = true},
      {.name = "xvnc_tiger_rre",
       .encodings = {"RRE", "CopyRect", "ExtendedDesktopSize", "CursorWithAlpha"},
       .bpp = {32},
       .clipboard_in = true,
       .clipboard_out = true,
       .resize = true},
      {.name = "xvnc_tiger_rre_8bpp",
       .encodings = {"RRE", "CopyRect", "ExtendedDesktopSize"},
       .bpp = {8},
       .clipboard_in = true,
       .clipboard_out = true,
       .resize = true},
      {.name = "xvnc_tiger_tight_8bpp_lcl0",
       .encodings = {"Tight", "CopyRect", "ExtendedDesktopSize"},
       .bpp = {8},
       .clipboard_in = true,
       .clipboard_out = true,
       .resize = true},
      {.name = "xvnc_tiger_zrle_8bpp_lcl1",
       .encodings = {"ZRLE", "CopyRect", "ExtendedDesktopSize"},
       .bpp = {8},
       .clipboard_in = true,
       .clipboard_out = true,
       .resize = true},
      {.name = "xvnc_tiger_hextile_8bpp",
       .encodings = {"Hextile", "CopyRect", "ExtendedDesktopSize"},
       .bpp = {8},
       .clipboard_in = true,
       .clipboard_out = true,
       .resize = true},
      {.name = "xvnc_tiger_tight_depth16",
       .encodings = {"Tight", "CopyRect", "ExtendedDesktopSize"},
       .bpp = {32},
       .clipboard_in = true,
       .clipboard_out = true,
       .resize = true},
      {.name = "xvnc_tiger_autoselect_pfchange", .encodings = {"Tight", "CursorWithAlpha"}, .bpp = {32, 8, 32}},
      // x11vnc took the viewer's text but never offered the one xsel set on its display.
      {.name = "x11vnc_tiger_tight",
       .encodings = {"Tight", "Cursor", "ExtendedDesktopSize"},
       .bpp = {32},
       .clipboard_in = true},
      {.name = "x11vnc_tiger_zrle", .encodings = {"ZRLE", "Cursor"}, .bpp = {8}},
      {.name = "x11vnc_netvnc", .encodings = {"CoRRE", "Cursor", "PointerPos"}, .bpp = {16}},
      {.name = "xvnc_depth16_netvnc", .encodings = {"RRE", "Cursor"}, .bpp = {16}},
      {.name = "qemu_tiger_tight", .encodings = {"Tight", "QEMUExtendedKeyEvent", "ExtendedDesktopSize"}, .bpp = {32}},
      {.name = "qemu_tiger_zrle", .encodings = {"ZRLE", "QEMUExtendedKeyEvent"}, .bpp = {8}},
      {.name = "qemu_tiger_hextile", .encodings = {"Hextile", "QEMUExtendedKeyEvent"}, .bpp = {8}},
      {.name = "qemu_netvnc_cut", .encodings = {"Raw"}, .bpp = {32}},
  };
  return all;
}

TEST_CASE("recorded streams: every capture loads, and its handshake ends where after_handshake() says") {
  for (const auto& name : capture_names()) {
    INFO(name);
    const auto& c = capture(name);
    CHECK(c.handshake_bytes[index(Direction::server_to_client)] > 12);
    CHECK(c.handshake_bytes[index(Direction::client_to_server)] >= 14);  // version, type, ClientInit
    CHECK(c.width > 0);
    CHECK(c.initial.bytes_per_pixel() > 0);
    CHECK(stream_size(c, Direction::server_to_client) > 0);
    CHECK(stream_size(c, Direction::client_to_server) > 0);
  }
  CHECK(expectations().size() == capture_names().size());
}

TEST_CASE("recorded streams: both framers follow every capture to its end, at a message boundary unless cut") {
  for (const auto& name : capture_names()) {
    INFO(name);
    const auto& c = capture(name);
    const auto& f = framed(name);
    CHECK(f.client_error == "");
    CHECK(f.server_error == "");
    CHECK(f.client_offset == stream_size(c, Direction::client_to_server));
    CHECK(f.server_offset == stream_size(c, Direction::server_to_client));
    CHECK(f.client_partial == 0);
    if (c.cut()) {
      CHECK(f.server_partial > 0);
    } else {
      CHECK(f.server_partial == 0);
    }
    // The pieces tile each stream: whole messages plus the unfinished one.
    std::uint64_t client_total = f.client_partial, server_total = f.server_partial;
    for (const auto& m : f.client) client_total += m.second;
    for (const auto& m : f.server) server_total += m.second;
    CHECK(client_total == f.client_offset);
    CHECK(server_total == f.server_offset);
  }
}

TEST_CASE("recorded streams: per chunk, byte by byte, in random chunks and coalesced, the framing is the same") {
  for (const auto& name : capture_names()) {
    INFO(name);
    const auto& c = capture(name);
    const auto& reference = framed(name);
    for (const auto& [split, seed] : {std::pair{Split::byte_by_byte, 0u}, std::pair{Split::coalesced, 0u},
                                      std::pair{Split::random, 1u}, std::pair{Split::random, 2u}}) {
      const auto other = frame_capture(c, split, seed);
      INFO("split " << static_cast<int>(split) << " seed " << seed << ": " << first_difference(reference, other));
      CHECK(other == reference);
    }
  }
}

TEST_CASE("recorded streams: each capture holds the messages and encodings it was made for") {
  for (const auto& expected : expectations()) {
    INFO(expected.name);
    const auto& c = capture(expected.name);
    const auto& f = framed(expected.name);
    const auto updates = count_type(f.server, server_message::framebuffer_update);
    if (c.cut()) {
      CHECK(updates == 0);  // the only update is the unfinished one
    } else {
      CHECK(updates > 0);
      CHECK(std::count(f.notes.begin(), f.notes.end(), "update-ends") == static_cast<std::ptrdiff_t>(updates));
    }
    const auto seen = rect_encodings(f);
    for (const auto& e : expected.encodings) {
      INFO("encoding " << e);
      CHECK(seen.count(e) == 1);
    }
    CHECK(f.pixel_bpp == expected.bpp);
    CHECK(count_type(f.client, client_message::set_encodings) >= 1);
    CHECK(count_type(f.client, client_message::framebuffer_update_request) >= 1);
    if (expected.clipboard_in) CHECK(count_type(f.client, client_message::client_cut_text) > 0);
    if (expected.clipboard_out) CHECK(count_type(f.server, server_message::server_cut_text) > 0);
    if (expected.resize) {
      CHECK(count_type(f.client, client_message::set_desktop_size) == 1);
      // xrandr on the server (reason 0) and the viewer's request (reason 1), then back.
      CHECK(std::any_of(f.notes.begin(), f.notes.end(), [](const std::string& n) {
        return n.rfind("extended-desktop-size reason 0 status 0 160x120", 0) == 0;
      }));
      CHECK(std::any_of(f.notes.begin(), f.notes.end(), [](const std::string& n) {
        return n.rfind("extended-desktop-size reason 1 status 0 180x140", 0) == 0;
      }));
    }
    // TigerVNC's viewer sends its SetPixelFormat only when it wants another format than ServerInit's.
    const bool format_set = count_type(f.client, client_message::set_pixel_format) > 0;
    CHECK(format_set == (expected.bpp.front() != c.initial.bits_per_pixel || expected.bpp.size() > 1 ||
                         expected.name.find("netvnc") != std::string::npos));
  }
}

TEST_CASE("recorded streams: TigerVNC's mid-session format change switches the server framer at the right update") {
  // AutoSelect: continuous updates off, SetPixelFormat (8 bpp), the server's
  // EndOfContinuousUpdates, 8-bpp updates; later the same back to 32 bpp.
  const auto& f = framed("xvnc_tiger_autoselect_pfchange");
  CHECK(count_type(f.client, client_message::set_pixel_format) == 2);
  CHECK(count_type(f.client, client_message::enable_continuous_updates) >= 3);
  CHECK(count_type(f.server, server_message::end_of_continuous_updates) >= 3);
  CHECK(f.pixel_bpp == std::vector<unsigned>{32, 8, 32});
}

TEST_CASE("recorded streams: the cut capture stops inside QEMU's first Raw rectangle") {
  const auto& c = capture("qemu_netvnc_cut");
  const auto& f = framed("qemu_netvnc_cut");
  CHECK(f.server.empty());
  CHECK(f.server_partial == stream_size(c, Direction::server_to_client));
  REQUIRE(!f.notes.empty());
  CHECK(f.notes.front() == "rect Raw 0,0 720x400");
  CHECK(f.server_partial < 4 + 12 + 720u * 400 * 4);
}

TEST_CASE("recorded streams: the message tracker follows every capture and passes every byte on unchanged") {
  // Clipboard rules `log` (the texts come with the notes); nothing is dropped
  // or rewritten: every encoding these viewers offer can be followed.
  TrackerPolicy policy;
  policy.follow_viewer = true;
  policy.follow_server = true;
  policy.idle_needs_viewer = true;
  policy.viewer_to_server = ClipboardRuleAction::log;
  policy.server_to_viewer = ClipboardRuleAction::log;
  policy.keep_clipboard_text = 64;
  for (const auto& name : capture_names()) {
    INFO(name);
    const auto& c = capture(name);
    const auto& f = framed(name);
    // Whole chunks, and byte by byte for the small captures (every split point).
    const bool small = stream_size(c, Direction::server_to_client) < 40000;
    for (const bool bytewise : small ? std::vector<bool>{false, true} : std::vector<bool>{false}) {
      INFO("byte by byte " << bytewise);
      MessageTracker tracker(policy, c.initial, c.width, c.height);
      std::vector<TrackerNote> notes;
      Bytes in[2], out[2];
      for (const auto& chunk : c.after) {
        const std::span<const std::uint8_t> bytes(chunk.bytes);
        const std::size_t step = bytewise ? 1 : bytes.size();
        for (std::size_t at = 0; at < bytes.size(); at += step) {
          const auto piece = bytes.subspan(at, std::min(step, bytes.size() - at));
          const auto passed = tracker.feed(chunk.direction, piece, notes);
          in[index(chunk.direction)].insert(in[index(chunk.direction)].end(), piece.begin(), piece.end());
          out[index(chunk.direction)].insert(out[index(chunk.direction)].end(), passed.begin(), passed.end());
        }
      }
      CHECK(out[index(Direction::client_to_server)] == in[index(Direction::client_to_server)]);
      CHECK(out[index(Direction::server_to_client)] == in[index(Direction::server_to_client)]);
      std::vector<std::string> texts[2];
      std::uint64_t resized = 0, screen_updates = 0;
      for (const auto& note : notes) {
        if (std::holds_alternative<tracker_note::Resized>(note)) ++resized;
        if (std::holds_alternative<tracker_note::ScreenUpdated>(note)) ++screen_updates;
        if (const auto* clip = std::get_if<tracker_note::Clipboard>(&note)) {
          CHECK(clip->logged);
          CHECK(!clip->dropped);
          texts[index(clip->direction)].push_back(clip->text);
        }
        const auto* stripped = std::get_if<tracker_note::EncodingsStripped>(&note);
        CHECK(stripped == nullptr);
        if (const auto* opaque = std::get_if<tracker_note::Opaque>(&note)) {
          FAIL_CHECK("opaque: " << opaque->why);
        }
      }
      CHECK(tracker.state() == "on");
      CHECK(tracker.following(Direction::client_to_server));
      CHECK(tracker.following(Direction::server_to_client));
      const auto& counters = tracker.counters();
      CHECK(counters.updates == count_type(f.server, server_message::framebuffer_update));
      CHECK(screen_updates <= counters.updates);
      if (name.find("_tiger_") != std::string::npos) {
        CHECK(counters.key_events > 0);
        CHECK(counters.pointer_events > 0);
      } else {  // Net::VNC only asks for updates
        CHECK(counters.key_events + counters.pointer_events == 0);
      }
      const auto& expected = *std::find_if(expectations().begin(), expectations().end(),
                                           [&](const Expected& e) { return e.name == name; });
      // xsel put these on each side's clipboard (capture_streams.py).
      const auto has = [&](Direction d, const std::string& text) {
        const auto& seen = texts[index(d)];
        return std::find(seen.begin(), seen.end(), text) != seen.end();
      };
      CHECK(has(Direction::client_to_server, "from the viewer: vhm clipboard test") == expected.clipboard_in);
      CHECK(has(Direction::server_to_client, "from the server: vhm clipboard test") == expected.clipboard_out);
      CHECK((counters.clipboard_in > 0) == expected.clipboard_in);
      CHECK((counters.clipboard_out > 0) == expected.clipboard_out);
      if (expected.resize) CHECK(resized > 0);
    }
  }
}

}  // namespace vhm::rfb::test::recorded
