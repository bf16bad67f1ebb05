// The message tracker (rfb/message_tracker.hpp): both directions after the
// handshake, with and without rules. Every script runs whole, byte by byte
// and in random chunks; all of them must give the same bytes on each side,
// the same notes, counters and state. Builders for viewer and server
// messages are written out here (the server's rectangles come from
// server_framing.hpp).
#include <catch2/catch.hpp>
#include <zlib.h>

#include <algorithm>
#include <random>
#include <variant>

#include "rfb/message_tracker.hpp"
#include "tests/unit/rfb/server_framing.hpp"
#include "tests/unit/rfb/transcript.hpp"

namespace vhm::rfb::test::message_tracker_test {
namespace {

namespace ec = extended_clipboard;
constexpr auto to_server = Direction::client_to_server;
constexpr auto to_viewer = Direction::server_to_client;

// --- viewer messages ---------------------------------------------------------------

Bytes pf_wire(const PixelFormat& pf) {
  return cat(u8(pf.bits_per_pixel), u8(pf.depth), u8(pf.big_endian ? 1 : 0), u8(pf.true_colour ? 1 : 0),
             u16(pf.red_max), u16(pf.green_max), u16(pf.blue_max), u8(pf.red_shift), u8(pf.green_shift),
             u8(pf.blue_shift), zeros(3));
}
Bytes v_set_pixel_format(const PixelFormat& pf) { return cat(u8(0), zeros(3), pf_wire(pf)); }
Bytes v_set_encodings(const std::vector<std::int32_t>& list) {
  Bytes out = cat(u8(2), u8(0), u16(static_cast<unsigned>(list.size())));
  for (auto e : list) out = cat(out, s32(e));
  return out;
}
Bytes v_update_request(bool incremental = true) {
  return cat(u8(3), u8(incremental ? 1 : 0), u16(0), u16(0), u16(640), u16(480));
}
Bytes v_key(std::uint32_t keysym = 0x61, bool down = true) {
  return cat(u8(4), u8(down ? 1 : 0), zeros(2), u32(keysym));
}
Bytes v_pointer(unsigned mask = 1, unsigned x = 10, unsigned y = 20) { return cat(u8(5), u8(mask), u16(x), u16(y)); }
// Cut text, u8 type (6 viewer, 3 server), 3 padding, s32 length, payload.
Bytes cut_message(std::uint8_t type, std::int32_t length, const Bytes& payload) {
  return cat(u8(type), zeros(3), s32(length), payload);
}
Bytes cut_plain(std::uint8_t type, const Bytes& value) {
  return cut_message(type, static_cast<std::int32_t>(value.size()), value);
}
Bytes cut_extended(std::uint8_t type, std::uint32_t flags, const Bytes& payload) {
  return cut_message(type, -static_cast<std::int32_t>(4 + payload.size()), cat(u32(flags), payload));
}
Bytes deflated(const Bytes& raw) {
  uLongf size = compressBound(static_cast<uLong>(raw.size()));
  Bytes out(size);
  REQUIRE(compress2(out.data(), &size, raw.data(), static_cast<uLong>(raw.size()), 9) == Z_OK);
  out.resize(size);
  return out;
}
// A provide of the text format: one block, the text and its NUL.
Bytes cut_provide_text(std::uint8_t type, std::string_view value) {
  const Bytes block = cat(text(value), u8(0));
  const Bytes blocks = cat(u32(static_cast<std::uint32_t>(block.size())), block);
  return cut_extended(type, ec::provide | ec::text, deflated(blocks));
}
Bytes cut_caps(std::uint8_t type) { return cut_extended(type, ec::caps | ec::text, u32(1u << 20)); }
Bytes v_fence(std::uint32_t flags = 0, const Bytes& payload = text("ab")) {
  return cat(u8(248), zeros(3), u32(flags), u8(static_cast<unsigned>(payload.size())), payload);
}
Bytes v_enable_cu(bool on) { return cat(u8(150), u8(on ? 1 : 0), u16(0), u16(0), u16(640), u16(480)); }
Bytes v_xvp(unsigned code = 2) { return cat(u8(250), u8(0), u8(1), u8(code)); }
Bytes v_set_desktop_size(unsigned w, unsigned h) {  // one screen
  return cat(u8(251), u8(0), u16(w), u16(h), u8(1), u8(0), u32(0), u16(0), u16(0), u16(w), u16(h), u32(0));
}
Bytes v_qemu_key() { return cat(u8(255), u8(0), u16(1), u32(0x61), u32(30)); }
Bytes v_qemu_audio() { return cat(u8(255), u8(1), u16(0)); }
Bytes v_gii(unsigned subtype, const Bytes& payload) {  // big-endian
  return cat(u8(253), u8(0x80 | subtype), u16(static_cast<unsigned>(payload.size())), payload);
}

// --- server messages ---------------------------------------------------------------

Bytes s_raw_rect(unsigned w, unsigned h, unsigned bytes_per_pixel) {
  return cat(rect_header(0, 0, w, h, encoding::raw), filled(std::size_t{w} * h * bytes_per_pixel, 'p'));
}
Bytes s_cursor_rect(unsigned w, unsigned h, unsigned bytes_per_pixel) {
  return cat(rect_header(1, 1, w, h, encoding::cursor), filled(std::size_t{w} * h * bytes_per_pixel, 'c'),
             filled(std::size_t{(w + 7) / 8} * h, 'm'));
}
Bytes s_desktop_size(unsigned w, unsigned h) { return rect_header(0, 0, w, h, encoding::desktop_size); }
Bytes s_extended_desktop_size(unsigned reason, unsigned status, unsigned w, unsigned h) {
  return cat(rect_header(reason, status, w, h, encoding::extended_desktop_size), u8(1), zeros(3), u32(7), u16(0),
             u16(0), u16(w), u16(h), u32(0));
}
Bytes s_desktop_name(std::string_view name) {
  return cat(rect_header(0, 0, 0, 0, encoding::desktop_name), rfb_string(name));
}
const Bytes s_end_of_cu = u8(150);

// --- running -----------------------------------------------------------------------

std::string note_text(const TrackerNote& note) {
  namespace n = tracker_note;
  const auto side = [](Direction d) { return std::string(d == to_server ? "viewer" : "server"); };
  if (const auto* x = std::get_if<n::Input>(&note)) return x->key ? "input key" : "input pointer";
  if (const auto* x = std::get_if<n::Resized>(&note))
    return "resized " + std::to_string(x->width) + "x" + std::to_string(x->height);
  if (const auto* x = std::get_if<n::DesktopNamed>(&note)) return "desktop name '" + x->name + "'";
  if (std::holds_alternative<n::ScreenUpdated>(note)) return "screen updated";
  if (const auto* x = std::get_if<n::Clipboard>(&note)) {
    std::string out = "clipboard from " + side(x->direction) + " " + std::to_string(x->bytes) + " bytes";
    if (x->logged) out += " logged";
    if (x->dropped) out += " dropped (" + x->why + ")";
    if (!x->text.empty()) out += " '" + x->text + "'";
    return out;
  }
  if (const auto* x = std::get_if<n::EncodingsStripped>(&note)) {
    std::string out = "stripped";
    for (auto e : x->removed) out += " " + std::to_string(e);
    return out;
  }
  const auto& x = std::get<n::Opaque>(note);
  return "opaque " + side(x.direction) + (x.fatal ? " fatal: " : ": ") + x.why;
}

struct Setup {
  TrackerPolicy policy;
  PixelFormat format = pf32();
  std::uint16_t width = 1024, height = 768;
};

struct Tracked {
  Bytes to_server, to_viewer;  // what came out, joined
  std::vector<std::string> notes;
  std::vector<std::uint64_t> counters;  // key, pointer, updates, clipboard in, out
  std::string state;
  bool following_viewer = false, following_server = false;
  bool operator==(const Tracked&) const = default;
};

// Feeds the transcript's segments in order, each whole (`how` 0), byte by
// byte (1) or in random chunks of 1-13 bytes (seed `how`, 2 and up).
Tracked track(const Setup& setup, const Transcript& script, std::size_t how) {
  MessageTracker tracker(setup.policy, setup.format, setup.width, setup.height);
  Tracked out;
  std::mt19937 random(static_cast<unsigned>(how));
  std::vector<TrackerNote> notes;
  for (const auto& segment : script.segments) {
    std::span<const std::uint8_t> rest(segment.bytes);
    while (!rest.empty()) {
      std::size_t n = rest.size();
      if (how == 1) n = 1;
      if (how >= 2) n = std::min<std::size_t>(rest.size(), 1 + random() % 13);
      const auto chunk = rest.first(n);
      rest = rest.subspan(n);
      const auto passed = tracker.feed(segment.direction, chunk, notes);
      // The chunk itself (or its start), or bytes of the tracker's own.
      const bool inside = passed.data() >= chunk.data() && passed.data() < chunk.data() + chunk.size();
      if (inside) CHECK(passed.data() == chunk.data());
      if (inside) CHECK(passed.size() <= chunk.size());
      auto& side = segment.direction == to_server ? out.to_server : out.to_viewer;
      side.insert(side.end(), passed.begin(), passed.end());
    }
  }
  for (const auto& note : notes) out.notes.push_back(note_text(note));
  const auto& c = tracker.counters();
  out.counters = {c.key_events, c.pointer_events, c.updates, c.clipboard_in, c.clipboard_out};
  out.state = tracker.state();
  out.following_viewer = tracker.following(to_server);
  out.following_server = tracker.following(to_viewer);
  return out;
}

bool is_prefix(const Bytes& a, const Bytes& b) {
  return a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// Whole, byte by byte and three random chunkings: CHECKs that they agree,
// returns the first. After a fatal loss a direction's output may differ by
// the messages that went on in smaller chunks before the one that failed:
// then one output is a prefix of the other.
Tracked track_every_way(const Setup& setup, const Transcript& script) {
  const Tracked whole = track(setup, script, 0);
  const bool fatal = std::any_of(whole.notes.begin(), whole.notes.end(),
                                 [](const std::string& n) { return n.find(" fatal: ") != std::string::npos; });
  for (std::size_t how = 1; how <= 4; ++how) {
    INFO("feeding " << (how == 1 ? std::string("byte by byte") : "in random chunks, seed " + std::to_string(how)));
    Tracked split = track(setup, script, how);
    if (fatal) {
      for (auto side : {&Tracked::to_server, &Tracked::to_viewer}) {
        CHECK((is_prefix(whole.*side, split.*side) || is_prefix(split.*side, whole.*side)));
        split.*side = whole.*side;
      }
    }
    CHECK(split == whole);
  }
  return whole;
}

// The bytes of one direction of the transcript, joined.
Bytes sent(const Transcript& script, Direction direction) {
  Bytes out;
  for (const auto& s : script.segments)
    if (s.direction == direction) out.insert(out.end(), s.bytes.begin(), s.bytes.end());
  return out;
}

TrackerPolicy follow_both() {
  TrackerPolicy p;
  p.follow_viewer = p.follow_server = true;
  p.strip_unknown_encodings = false;
  return p;
}

using Counters = std::vector<std::uint64_t>;

}  // namespace

// --- pass-through ------------------------------------------------------------------

TEST_CASE("message tracker: without rules every chunk goes on as it is, not a copy") {
  const Bytes viewer =
      cat(v_update_request(), v_key(), v_pointer(), cut_plain(6, text("hello")), v_set_encodings({7, 15}));
  const Bytes server = cat(update({s_raw_rect(2, 2, 4)}), bell, cut_plain(3, text("there")));
  for (const bool follow : {false, true}) {
    INFO("following: " << follow);
    Setup setup;
    if (follow) setup.policy = follow_both();  // track only: no rule, nothing stripped
    MessageTracker tracker(setup.policy, setup.format, setup.width, setup.height);
    std::vector<TrackerNote> notes;
    for (std::size_t chunk : {std::size_t{1}, std::size_t{5}, std::size_t{1000}}) {
      for (const auto* stream : {&viewer, &server}) {
        const auto direction = stream == &viewer ? to_server : to_viewer;
        for (std::size_t at = 0; at < stream->size(); at += chunk) {
          const auto part = std::span<const std::uint8_t>(*stream).subspan(at, std::min(chunk, stream->size() - at));
          const auto passed = tracker.feed(direction, part, notes);
          REQUIRE(passed.data() == part.data());
          REQUIRE(passed.size() == part.size());
        }
      }
    }
    CHECK(tracker.following(to_server) == follow);
    CHECK(tracker.following(to_viewer) == follow);
    CHECK(tracker.state() == "on");
    CHECK(notes.size() == (follow ? 3 * 3u : 0u));  // key, pointer, screen updated, three times
  }
}

TEST_CASE("message tracker: a chunk with rules but nothing left out goes on as it is; a cut header waits") {
  Setup setup;
  setup.policy.view_only = true;
  setup.policy.follow_viewer = true;
  MessageTracker tracker(setup.policy, setup.format, setup.width, setup.height);
  std::vector<TrackerNote> notes;

  // Whole messages that all pass: the chunk itself.
  const Bytes passing = cat(v_update_request(), v_set_pixel_format(pf32()), v_fence(), v_enable_cu(true),
                            v_set_encodings({0, 7}), v_update_request(false));
  auto out = tracker.feed(to_server, passing, notes);
  CHECK(out.data() == passing.data());
  CHECK(out.size() == passing.size());

  // A chunk that ends inside a SetEncodings header: the messages before it,
  // as a prefix of the chunk; the header comes with the next chunk.
  const Bytes head = cat(v_update_request(), Bytes{2, 0});
  out = tracker.feed(to_server, head, notes);
  CHECK(out.data() == head.data());
  CHECK(out.size() == 10);
  const Bytes tail = cat(u16(1), s32(7), v_update_request());
  out = tracker.feed(to_server, tail, notes);
  CHECK(Bytes(out.begin(), out.end()) == cat(v_set_encodings({7}), v_update_request()));

  // A dropped message: a copy without it.
  const Bytes with_key = cat(v_update_request(), v_key(), v_update_request(false));
  out = tracker.feed(to_server, with_key, notes);
  CHECK(Bytes(out.begin(), out.end()) == cat(v_update_request(), v_update_request(false)));
  CHECK(notes.size() == 1);
  CHECK(tracker.state() == "on");

  // The server's side with a clipboard rule: the same.
  Setup server_setup;
  server_setup.policy.follow_server = true;
  server_setup.policy.server_to_viewer = ClipboardRuleAction::deny;
  MessageTracker server_tracker(server_setup.policy, server_setup.format, server_setup.width, server_setup.height);
  const Bytes updates = cat(update({s_raw_rect(2, 1, 4)}), bell, cut_caps(3), update({s_desktop_size(1024, 768)}));
  out = server_tracker.feed(to_viewer, updates, notes);
  CHECK(out.data() == updates.data());
  CHECK(out.size() == updates.size());
  const Bytes with_text = cat(bell, cut_plain(3, text("secret")), bell);
  out = server_tracker.feed(to_viewer, with_text, notes);
  CHECK(Bytes(out.begin(), out.end()) == cat(bell, bell));
}

TEST_CASE("message tracker: without rules the bytes come out as they went in, split any way") {
  Transcript script;
  script.c(v_set_pixel_format(pf16()), v_set_encodings({0, 1, 5, 15}), v_update_request())
      .s(update({s_raw_rect(3, 2, 2), s_cursor_rect(2, 2, 2)}), bell)
      .c(v_key(), v_pointer(), cut_plain(6, text("copy")), v_qemu_key(), v_gii(0, text("event")))
      .s(cut_provide_text(3, "paste"), update({s_desktop_name("office")}));
  for (const bool follow : {false, true}) {
    Setup setup;
    if (follow) setup.policy = follow_both();
    const auto t = track_every_way(setup, script);
    CHECK(t.to_server == sent(script, to_server));
    CHECK(t.to_viewer == sent(script, to_viewer));
    CHECK(t.state == "on");
    if (follow) {
      CHECK(t.notes == Strings{"screen updated", "input key", "input pointer", "input key", "input key",
                               "desktop name 'office'"});
      CHECK(t.counters == Counters{3, 1, 2, 4, 5});
    } else {
      CHECK(t.notes.empty());
      CHECK(t.counters == Counters{0, 0, 0, 0, 0});
    }
  }
}

// --- view-only ---------------------------------------------------------------------

TEST_CASE("message tracker: view-only drops every kind of input and passes the rest byte for byte") {
  Setup setup;
  setup.policy.follow_viewer = true;
  setup.policy.view_only = true;
  const Bytes gii_version = v_gii(1, u16(1));
  Transcript script;
  script.c(v_update_request(), v_key(), v_set_pixel_format(pf32()), v_pointer(), v_set_encodings({16, 7, -223}),
           cut_plain(6, text("typed")), v_fence(), v_xvp(), v_enable_cu(true), v_set_desktop_size(800, 600),
           v_qemu_key(), v_qemu_audio(), v_gii(0, text("inject")), gii_version, cut_caps(6), v_key(0x62, false),
           v_update_request(false));
  const auto t = track_every_way(setup, script);
  CHECK(t.to_server == cat(v_update_request(), v_set_pixel_format(pf32()), v_set_encodings({16, 7, -223}), v_fence(),
                           v_enable_cu(true), v_qemu_audio(), gii_version, v_update_request(false)));
  // Counted and noted even though dropped (idleness is the viewer's activity).
  CHECK(t.notes == Strings{"input key", "input pointer", "clipboard from viewer 5 bytes dropped (view-only)",
                           "input key", "input key", "input key"});
  CHECK(t.counters == Counters{4, 1, 0, 0, 0});
  CHECK(t.state == "on");
  CHECK(t.following_viewer);
  CHECK_FALSE(t.following_server);
}

TEST_CASE("message tracker: view-only leaves the server's side alone") {
  Setup setup;
  setup.policy.follow_viewer = true;
  setup.policy.view_only = true;
  Transcript script;
  script.s(update({s_raw_rect(1, 1, 4)}), cut_plain(3, text("from server"))).c(v_key()).s(bell);
  const auto t = track_every_way(setup, script);
  CHECK(t.to_viewer == sent(script, to_viewer));
  CHECK(t.to_server.empty());
  CHECK(t.notes == Strings{"input key"});
}

// --- clipboard ---------------------------------------------------------------------

TEST_CASE("message tracker: clipboard rules allow, log and deny plain text each way") {
  const Bytes latin1 = cat(text("caf"), u8(0xE9), text(" au lait"));  // "café au lait" in Latin-1, 12 bytes
  for (const auto direction : {to_server, to_viewer}) {
    const bool viewer = direction == to_server;
    const std::uint8_t type = viewer ? 6 : 3;
    const std::string from = viewer ? "viewer" : "server";
    const Bytes before = viewer ? v_update_request() : bell;
    Transcript script;
    script.add(direction, cat(before, cut_plain(type, latin1), before, cut_plain(type, text("")), before));
    Setup setup;
    setup.policy.follow_viewer = true;
    setup.policy.follow_server = !viewer;
    setup.policy.strip_unknown_encodings = false;
    auto& rule = viewer ? setup.policy.viewer_to_server : setup.policy.server_to_viewer;
    auto out = [&](const Tracked& t) { return viewer ? t.to_server : t.to_viewer; };
    auto counted = [&](const Tracked& t) { return viewer ? t.counters[3] : t.counters[4]; };
    auto other = [&](const Tracked& t) { return viewer ? t.counters[4] : t.counters[3]; };
    SECTION(from + ": allow") {
      rule = ClipboardRuleAction::allow;
      const auto t = track_every_way(setup, script);
      CHECK(out(t) == sent(script, direction));
      CHECK(t.notes.empty());
      CHECK(counted(t) == 12);
    }
    SECTION(from + ": log, the text's start kept as UTF-8") {
      rule = ClipboardRuleAction::log;
      setup.policy.keep_clipboard_text = 5;
      const auto t = track_every_way(setup, script);
      CHECK(out(t) == sent(script, direction));
      CHECK(t.notes == Strings{"clipboard from " + from + " 12 bytes logged 'caf\xC3\xA9 '",
                               "clipboard from " + from + " 0 bytes logged"});
      CHECK(counted(t) == 12);
    }
    SECTION(from + ": log, no text kept") {
      rule = ClipboardRuleAction::log;
      const auto t = track_every_way(setup, script);
      CHECK(t.notes ==
            Strings{"clipboard from " + from + " 12 bytes logged", "clipboard from " + from + " 0 bytes logged"});
    }
    SECTION(from + ": deny") {
      rule = ClipboardRuleAction::deny;
      setup.policy.keep_clipboard_text = 100;  // never for a dropped text
      const auto t = track_every_way(setup, script);
      CHECK(out(t) == cat(before, before, before));
      CHECK(t.notes == Strings{"clipboard from " + from + " 12 bytes dropped (denied)",
                               "clipboard from " + from + " 0 bytes dropped (denied)"});
      CHECK(counted(t) == 0);
    }
    SECTION(from + ": the other direction's rule does not apply") {
      (viewer ? setup.policy.server_to_viewer : setup.policy.viewer_to_server) = ClipboardRuleAction::deny;
      setup.policy.follow_server = true;
      const auto t = track_every_way(setup, script);
      CHECK(out(t) == sent(script, direction));
      CHECK(counted(t) == 12);
      CHECK(other(t) == 0);
    }
  }
}

TEST_CASE("message tracker: extended clipboard under deny: caps, request and peek pass, notify and provide do not") {
  for (const auto direction : {to_server, to_viewer}) {
    const bool viewer = direction == to_server;
    const std::uint8_t type = viewer ? 6 : 3;
    const std::string from = viewer ? "viewer" : "server";
    const Bytes request = cut_extended(type, ec::request | ec::text, {});
    const Bytes peek = cut_extended(type, ec::peek, {});
    const Bytes notify = cut_extended(type, ec::notify | ec::text, {});
    const Bytes provide = cut_provide_text(type, "extended text");
    const Bytes empty_flags = cut_extended(type, 0, {});  // no action: `other`, data as far as the rule goes
    Transcript script;
    script.add(direction, cat(cut_caps(type), request, peek, notify, provide, empty_flags));
    Setup setup;
    setup.policy.follow_viewer = true;
    setup.policy.follow_server = !viewer;
    setup.policy.strip_unknown_encodings = false;
    (viewer ? setup.policy.viewer_to_server : setup.policy.server_to_viewer) = ClipboardRuleAction::deny;
    const auto t = track_every_way(setup, script);
    CHECK((viewer ? t.to_server : t.to_viewer) == cat(cut_caps(type), request, peek));
    // The notify (TigerVNC's offer before the text) is worth a log line too.
    CHECK(t.notes == Strings{"clipboard from " + from + " 0 bytes dropped (denied (an offer of clipboard data))",
                             "clipboard from " + from + " 13 bytes dropped (denied)"});
    CHECK(t.counters[3] + t.counters[4] == 0);

    // Logged: all pass, the provide's text (UTF-8 as sent) with its note.
    setup.policy.viewer_to_server = setup.policy.server_to_viewer = ClipboardRuleAction::log;
    setup.policy.keep_clipboard_text = 64;
    Transcript utf8;
    utf8.add(direction, cat(notify, cut_provide_text(type, "gr\xC3\xBC\xC3\x9F" "e\r\n")));
    const auto logged = track_every_way(setup, utf8);
    CHECK((viewer ? logged.to_server : logged.to_viewer) == sent(utf8, direction));
    CHECK(logged.notes == Strings{"clipboard from " + from + " 9 bytes logged 'gr\xC3\xBC\xC3\x9F" "e\r\n'"});
    CHECK((viewer ? logged.counters[3] : logged.counters[4]) == 9);
  }
}

TEST_CASE("message tracker: clipboard max_bytes drops a longer plain text at its header") {
  for (const auto direction : {to_server, to_viewer}) {
    const bool viewer = direction == to_server;
    const std::uint8_t type = viewer ? 6 : 3;
    const std::string from = viewer ? "viewer" : "server";
    Setup setup;
    setup.policy.follow_viewer = true;
    setup.policy.follow_server = !viewer;
    setup.policy.strip_unknown_encodings = false;
    setup.policy.clipboard_max_bytes = 5;
    const Bytes before = viewer ? v_update_request() : bell;
    Transcript script;
    script.add(direction, cat(before, cut_plain(type, text("123456")), cut_plain(type, text("12345")), before));
    const auto t = track_every_way(setup, script);
    CHECK((viewer ? t.to_server : t.to_viewer) == cat(before, cut_plain(type, text("12345")), before));
    CHECK(t.notes == Strings{"clipboard from " + from + " 6 bytes dropped (over max_bytes)"});
    CHECK((viewer ? t.counters[3] : t.counters[4]) == 5);

    // Dropped at the header: what precedes it goes on at once, nothing of the text comes later.
    MessageTracker tracker(setup.policy, setup.format, setup.width, setup.height);
    std::vector<TrackerNote> notes;
    const Bytes first = cat(before, cut_message(type, 1000, {}));
    auto out = tracker.feed(direction, first, notes);
    CHECK(Bytes(out.begin(), out.end()) == before);
    const Bytes body = filled(1000, 'x');
    out = tracker.feed(direction, std::span<const std::uint8_t>(body).first(999), notes);
    CHECK(out.empty());
    CHECK(notes.empty());
    const Bytes last = cat(Bytes{'x'}, before);
    out = tracker.feed(direction, last, notes);
    CHECK(Bytes(out.begin(), out.end()) == before);
    REQUIRE(notes.size() == 1);
    CHECK(note_text(notes[0]) == "clipboard from " + from + " 1000 bytes dropped (over max_bytes)");
  }
}

TEST_CASE("message tracker: clipboard max_bytes holds an extended provide until its text size is known") {
  for (const auto direction : {to_server, to_viewer}) {
    const bool viewer = direction == to_server;
    const std::uint8_t type = viewer ? 6 : 3;
    const std::string from = viewer ? "viewer" : "server";
    Setup setup;
    setup.policy.follow_viewer = true;
    setup.policy.follow_server = !viewer;
    setup.policy.strip_unknown_encodings = false;
    setup.policy.clipboard_max_bytes = 64;
    const Bytes before = viewer ? v_update_request() : bell;
    const Bytes small = cut_provide_text(type, "fits in the limit");
    const Bytes bomb = cut_provide_text(type, std::string(1000, 'a'));  // compressed far below 64 bytes
    REQUIRE(bomb.size() < 8 + 64);
    const Bytes too_long = cut_plain(type, filled(65, 'z'));
    Transcript script;
    script.add(direction, cat(before, small, before, bomb, before, too_long, cut_caps(type)));
    const auto t = track_every_way(setup, script);
    CHECK((viewer ? t.to_server : t.to_viewer) == cat(before, small, before, before, cut_caps(type)));
    CHECK(t.notes == Strings{"clipboard from " + from + " 1000 bytes dropped (over max_bytes)",
                             "clipboard from " + from + " 65 bytes dropped (over max_bytes)"});
    CHECK((viewer ? t.counters[3] : t.counters[4]) == 17);

    // Held: nothing of the provide goes on before its last byte.
    MessageTracker tracker(setup.policy, setup.format, setup.width, setup.height);
    std::vector<TrackerNote> notes;
    const auto at = std::span<const std::uint8_t>(small);
    auto out = tracker.feed(direction, at.first(small.size() - 1), notes);
    CHECK(out.empty());
    out = tracker.feed(direction, at.last(1), notes);
    CHECK(Bytes(out.begin(), out.end()) == small);
  }
}

// --- SetEncodings ------------------------------------------------------------------

TEST_CASE("message tracker: SetEncodings loses the encodings the server framer cannot follow") {
  // 15 TRLE, 8 ZlibHex, 0xFFFFFC18 (-1000): unknown; the rest are framed or hints.
  const Bytes full = v_set_encodings({16, 15, 7, 8, -223, -24, -1000, 0, encoding::extended_clipboard});
  const Bytes stripped = v_set_encodings({16, 7, -223, -24, 0, encoding::extended_clipboard});
  const Bytes known = v_set_encodings({5, 0, -239});
  Transcript script;
  script.c(v_update_request(), full, v_update_request(), known, v_set_encodings({}));
  Setup setup;
  setup.policy.follow_server = true;  // strip_unknown_encodings is on by default
  SECTION("stripped, with the count rewritten") {
    const auto t = track_every_way(setup, script);
    CHECK(t.to_server == cat(v_update_request(), stripped, v_update_request(), known, v_set_encodings({})));
    CHECK(t.notes == Strings{"stripped 15 8 -1000"});
  }
  SECTION("all unknown: an empty list") {
    Transcript only;
    only.c(v_set_encodings({15, 8}));
    const auto t = track_every_way(setup, only);
    CHECK(t.to_server == v_set_encodings({}));
    CHECK(t.notes == Strings{"stripped 15 8"});
  }
  SECTION("not with strip off") {
    setup.policy.strip_unknown_encodings = false;
    const auto t = track_every_way(setup, script);
    CHECK(t.to_server == sent(script, to_server));
    CHECK(t.notes.empty());
  }
  SECTION("not when the server's side is not followed") {
    setup.policy.follow_server = false;
    setup.policy.follow_viewer = true;
    setup.policy.view_only = true;
    const auto t = track_every_way(setup, script);
    CHECK(t.to_server == sent(script, to_server));
    CHECK(t.notes.empty());
  }
}

// --- the server's side -------------------------------------------------------------

TEST_CASE("message tracker: resize, desktop name and screen updates from the server") {
  Setup setup;
  setup.policy = follow_both();
  Transcript script;
  script
      .s(update({s_desktop_size(1024, 768)}))               // the size it has: nothing
      .s(update({s_desktop_size(800, 600)}))                // resized
      .s(update({s_extended_desktop_size(1, 3, 640, 480)}))  // status 3: refused, no resize
      .s(update({s_extended_desktop_size(2, 0, 640, 480)}))  // resized
      .s(update({s_extended_desktop_size(0, 0, 640, 480)}))  // the same again: nothing
      .s(update({s_cursor_rect(2, 2, 4)}))                   // cursor only: no screen update
      .s(update({s_raw_rect(1, 1, 4), s_cursor_rect(1, 1, 4)}), bell)
      .s(update({s_desktop_name("lab \xC3\xA9")}))
      .s(update({cat(rect_header(0, 0, 4, 4, encoding::copy_rect), u16(1), u16(1))}))
      .s(update({}));
  const auto t = track_every_way(setup, script);
  CHECK(t.to_viewer == sent(script, to_viewer));
  CHECK(t.notes == Strings{"resized 800x600", "resized 640x480", "screen updated", "desktop name 'lab \xC3\xA9'",
                           "screen updated"});
  CHECK(t.counters == Counters{0, 0, 10, 0, 0});
  CHECK(t.state == "on");
}

TEST_CASE("message tracker: the viewer's SetPixelFormat decides the size of the next update's pixels") {
  Setup setup;
  setup.policy = follow_both();
  Transcript script;
  // 16 bpp: a 4x2 Raw rectangle is 16 bytes; then a Bell and another update.
  script.c(v_set_pixel_format(pf16()), v_update_request(false))
      .s(update({s_raw_rect(4, 2, 2)}), bell, update({s_raw_rect(1, 1, 2)}));
  auto t = track_every_way(setup, script);
  CHECK(t.to_viewer == sent(script, to_viewer));
  CHECK(t.notes == Strings{"screen updated", "screen updated"});
  CHECK(t.counters[2] == 2);
  CHECK(t.state == "on");

  // Without it the same bytes are framed as 32 bpp: the update is not over.
  Transcript unset;
  unset.s(update({s_raw_rect(4, 2, 2)}));
  t = track_every_way(setup, unset);
  CHECK(t.notes.empty());
  CHECK(t.counters[2] == 0);

  // Continuous updates turned off first (TigerVNC): the new format applies
  // after the server's EndOfContinuousUpdates, not at the next update.
  Transcript cu;
  cu.c(v_enable_cu(true), v_enable_cu(false), v_set_pixel_format(pf16()))
      .s(update({s_raw_rect(4, 1, 4)}), s_end_of_cu, update({s_raw_rect(4, 1, 2)}), bell);
  t = track_every_way(setup, cu);
  CHECK(t.to_viewer == sent(cu, to_viewer));
  CHECK(t.notes == Strings{"screen updated", "screen updated"});
  CHECK(t.state == "on");
}

// --- fail closed -------------------------------------------------------------------

TEST_CASE("message tracker: an unknown viewer message under view-only ends both directions") {
  Setup setup;
  setup.policy.follow_viewer = true;
  setup.policy.view_only = true;
  MessageTracker tracker(setup.policy, setup.format, setup.width, setup.height);
  std::vector<TrackerNote> notes;
  const Bytes chunk = cat(v_update_request(), u8(42), v_update_request());
  auto out = tracker.feed(to_server, chunk, notes);
  CHECK(out.empty());
  REQUIRE(notes.size() == 1);
  CHECK(note_text(notes[0]) ==
        "opaque viewer fatal: viewer message at offset 10: viewer sent message type 42, which is not a known RFB "
        "message");
  CHECK(tracker.state() ==
        "opaque: viewer to server: viewer message at offset 10: viewer sent message type 42, which is not a known RFB "
        "message");
  // Nothing more passes either way; the relay keeps asking and gets nothing.
  CHECK(tracker.following(to_server));
  CHECK(tracker.following(to_viewer));
  CHECK(tracker.feed(to_server, v_update_request(), notes).empty());
  CHECK(tracker.feed(to_viewer, bell, notes).empty());
  CHECK(notes.size() == 1);

  // Every split gives that.
  Transcript script;
  script.c(chunk).s(bell).c(v_key());
  const auto t = track_every_way(setup, script);
  CHECK(t.notes.size() == 1);
  CHECK(t.to_viewer.empty());
}

TEST_CASE("message tracker: an unknown viewer message without rules stops following, bytes untouched") {
  Setup setup;
  setup.policy = follow_both();
  MessageTracker tracker(setup.policy, setup.format, setup.width, setup.height);
  std::vector<TrackerNote> notes;
  const Bytes chunk = cat(v_key(), u8(42), v_update_request());
  auto out = tracker.feed(to_server, chunk, notes);
  CHECK(out.data() == chunk.data());
  CHECK(out.size() == chunk.size());
  REQUIRE(notes.size() == 2);
  CHECK(note_text(notes[1]) ==
        "opaque viewer: viewer message at offset 8: viewer sent message type 42, which is not a known RFB message");
  CHECK(tracker.state().starts_with("opaque: viewer to server: viewer message at offset 8"));
  // The server's framing needs the viewer's (its pixel format): both go.
  CHECK_FALSE(tracker.following(to_server));
  CHECK_FALSE(tracker.following(to_viewer));
  const Bytes later = cat(v_key(), u8(99));
  out = tracker.feed(to_server, later, notes);
  CHECK(out.data() == later.data());
  CHECK(out.size() == later.size());
  const Bytes server = update({s_raw_rect(1, 1, 4)});
  out = tracker.feed(to_viewer, server, notes);
  CHECK(out.data() == server.data());
  CHECK(notes.size() == 2);
  CHECK(tracker.counters().key_events == 1);

  Transcript script;
  script.c(chunk).s(server).c(later);
  const auto t = track_every_way(setup, script);
  CHECK(t.to_server == sent(script, to_server));
  CHECK(t.to_viewer == server);
}

TEST_CASE("message tracker: an unknown server encoding ends the server's side when its clipboard rule needs it") {
  const Bytes bad_update = update({rect_header(0, 0, 2, 2, 15)});  // TRLE: not framed
  Setup setup;
  setup.policy.follow_server = true;
  setup.policy.strip_unknown_encodings = false;
  SECTION("server clipboard denied: fatal") {
    setup.policy.server_to_viewer = ClipboardRuleAction::deny;
    Transcript script;
    script.s(bell, bad_update, bell).c(v_key()).s(bell);
    const auto t = track_every_way(setup, script);
    CHECK(t.to_viewer.empty());
    CHECK(t.to_server == v_key());  // the viewer's side goes on
    REQUIRE(t.notes.size() == 2);
    CHECK(t.notes[0].starts_with("opaque server fatal: server message: cannot frame encoding"));
    CHECK(t.state.starts_with("opaque: server to viewer: server message: cannot frame encoding"));
    CHECK(t.following_server);
    CHECK(t.following_viewer);
  }
  SECTION("no rule: the bytes go on, unfollowed") {
    Transcript script;
    script.s(bell, bad_update, bell).c(v_key()).s(bell);
    const auto t = track_every_way(setup, script);
    CHECK(t.to_viewer == sent(script, to_viewer));
    REQUIRE(t.notes.size() == 2);
    CHECK(t.notes[0].starts_with("opaque server: server message: cannot frame encoding"));
    CHECK_FALSE(t.following_server);
    CHECK(t.following_viewer);
  }
}

}  // namespace vhm::rfb::test::message_tracker_test

namespace vhm::rfb::test::message_tracker_test {

// Stripping SetEncodings is not a rule that needs the viewer's side
// (docs/session-policy.md): a viewer message the framer does not know (here
// UltraVNC's SetScale, type 8) stops the tracking, never the session, and
// every byte goes on, a header cut across chunks too.
TEST_CASE("message tracker: an unknown viewer message when SetEncodings is only stripped stops following") {
  Setup setup;
  setup.policy.follow_server = true;  // strip_unknown_encodings: on
  SECTION("unknown type") {
    const Bytes set_scale = cat(u8(8), u8(2), u16(0));
    Transcript script;
    script.c(v_set_encodings({7, 15}), v_key(), set_scale, v_key())
        .s(update({s_raw_rect(1, 1, 4)}))
        .c(v_set_encodings({15}));
    const auto t = track_every_way(setup, script);
    CHECK(t.to_server == cat(v_set_encodings({7}), v_key(), set_scale, v_key(), v_set_encodings({15})));
    CHECK(t.to_viewer == sent(script, to_viewer));
    CHECK(t.notes == Strings{"stripped 15", "input key",
                             "opaque viewer: viewer message at offset 20: viewer sent message type 8, which is not a "
                             "known RFB message"});
    CHECK_FALSE(t.following_viewer);
    CHECK_FALSE(t.following_server);
  }
  SECTION("a length over the limit, its header in many chunks") {
    Transcript script;
    script.c(v_update_request(), cut_message(6, 0x10000000, {}), text("and on"));
    const auto t = track_every_way(setup, script);
    CHECK(t.to_server == sent(script, to_server));
    CHECK(t.notes == Strings{"opaque viewer: viewer message at offset 17: viewer sent a ClientCutText of 268435456 "
                             "bytes (limit 67108864)"});
  }
  SECTION("with a rule on the server's side, fatal") {
    setup.policy.server_to_viewer = ClipboardRuleAction::log;
    Transcript script;
    script.c(v_set_encodings({7, 15}), u8(8), zeros(3)).s(bell);
    const auto t = track_every_way(setup, script);
    CHECK(t.to_viewer.empty());
    REQUIRE(t.notes.size() == 2);
    CHECK(t.notes[1].starts_with("opaque viewer fatal: viewer message at offset 12"));
  }
}

}  // namespace vhm::rfb::test::message_tracker_test

namespace vhm::rfb::test::message_tracker_test {

// A provide held for max_bytes whose zlib stream ends inside its text: the
// text's size is known from its block header, but a reader that inflates the
// text to log it (keep_clipboard_text) sees the error and no text. The size
// limit must not depend on logging: it is dropped either way (fail closed,
// commit d812f78).
TEST_CASE("message tracker: max_bytes drops a held provide cut inside its text, logged or not") {
  const Bytes block = cat(filled(380, 't'), u8(0));
  uLongf size = compressBound(static_cast<uLong>(block.size() + 4));
  Bytes z(size);
  const Bytes raw = cat(u32(static_cast<std::uint32_t>(block.size())), block);
  REQUIRE(compress2(z.data(), &size, raw.data(), static_cast<uLong>(raw.size()), 0) == Z_OK);  // stored
  z.resize(2 + 5 + 4 + 40);  // zlib header, stored block header, the size, 40 bytes of text
  for (const auto direction : {to_server, to_viewer}) {
    const bool viewer = direction == to_server;
    const std::uint8_t type = viewer ? 6 : 3;
    const Bytes cut = cut_extended(type, ec::provide | ec::text, z);
    const Bytes before = viewer ? v_update_request() : bell;
    for (const std::uint64_t keep : {std::uint64_t{0}, std::uint64_t{4096}}) {
      INFO((viewer ? "viewer" : "server") << ", keep " << keep);
      Setup setup;
      setup.policy.follow_viewer = true;
      setup.policy.follow_server = !viewer;
      setup.policy.strip_unknown_encodings = false;
      setup.policy.clipboard_max_bytes = 64;
      setup.policy.viewer_to_server = setup.policy.server_to_viewer = ClipboardRuleAction::log;
      setup.policy.keep_clipboard_text = keep;
      Transcript script;
      script.add(direction, cat(before, cut, before));
      const auto t = track_every_way(setup, script);
      CHECK((viewer ? t.to_server : t.to_viewer) == cat(before, before));
      CHECK(t.counters[3] + t.counters[4] == 0);
      CHECK(t.notes == (keep == 0 ? Strings{std::string("clipboard from ") + (viewer ? "viewer" : "server") +
                                            " 380 bytes dropped (over max_bytes)"}
                                  : Strings{}));  // the logging reader saw no text
    }
  }
}

}  // namespace vhm::rfb::test::message_tracker_test
