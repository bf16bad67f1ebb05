// The message tracker (rfb/message_tracker.hpp): both directions after the
// handshake under a policy drawn from the input. Input: byte 0 the policy
// (bit 0 view-only; bits 1-2 the viewer's clipboard rule and bits 3-4 the
// server's: 0 allow, 1 deny, 2 log, 3 allow with input idleness watched
// (viewer) or allow (server); bit 5 clipboard max_bytes; bit 6
// strip_unknown_encodings; bit 7 follow the server's side, as the proxy does
// anyway for a server rule or max_bytes); byte 1 bits 0-4 the chunk size
// (1-32), bits 5-6 keep_clipboard_text (0, 3, 64, 4096), bit 7 max_bytes (8
// or 64); then segments as in the handshake targets: a header byte `h`, then
// `(h & 0x7f) + 1` bytes, viewer to server when bit 7 is set.
//
// Beyond not crashing: fed in chunks and byte by byte, the trackers give the
// same notes, counters, state and following(), and the same bytes each way;
// after a fatal loss the chunked side may have let less through, a prefix of
// the other. A direction without a rule passes its bytes unchanged (a prefix
// of them after a fatal loss). What went on obeys the rules, checked by
// framing the output again: no viewer input under view-only, no clipboard
// data against deny, nothing over max_bytes, only encodings the framer
// follows in a stripped SetEncodings; viewer messages that went on are the
// viewer's, in order; the output frames as long as the tracker followed;
// Input notes add up to the key and pointer counters.
#include <algorithm>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "fuzz/support/check.hpp"
#include "rfb/client_messages.hpp"
#include "rfb/cut_text.hpp"
#include "rfb/message_tracker.hpp"
#include "rfb/server_messages.hpp"

namespace {

using namespace vhm::rfb;
using Bytes = std::vector<std::uint8_t>;
constexpr auto to_server = Direction::client_to_server;
constexpr auto to_viewer = Direction::server_to_client;
constexpr std::size_t index_of(Direction d) { return d == to_server ? 0 : 1; }

struct Segment {
  Direction direction;
  std::span<const std::uint8_t> bytes;
};

std::string note_text(const TrackerNote& note) {
  namespace n = tracker_note;
  const auto side = [](Direction d) { return std::string(d == to_server ? "viewer" : "server"); };
  if (const auto* x = std::get_if<n::Input>(&note)) return x->key ? "input key" : "input pointer";
  if (const auto* x = std::get_if<n::Resized>(&note))
    return "resized " + std::to_string(x->width) + "x" + std::to_string(x->height);
  if (const auto* x = std::get_if<n::DesktopNamed>(&note)) return "desktop name '" + x->name + "'";
  if (std::holds_alternative<n::ScreenUpdated>(note)) return "screen updated";
  if (const auto* x = std::get_if<n::Clipboard>(&note)) {
    return "clipboard from " + side(x->direction) + " " + std::to_string(x->bytes) + " bytes" +
           (x->logged ? " logged" : "") + (x->dropped ? " dropped (" + x->why + ")" : "") + " '" + x->text + "'";
  }
  if (const auto* x = std::get_if<n::EncodingsStripped>(&note)) {
    std::string out = "stripped";
    for (auto e : x->removed) out += " " + std::to_string(e);
    return out;
  }
  const auto& x = std::get<n::Opaque>(note);
  return "opaque " + side(x.direction) + (x.fatal ? " fatal: " : ": ") + x.why;
}

struct Run {
  Bytes out[2];
  std::vector<std::string> notes;
  std::vector<TrackerNote> raw_notes;
  std::vector<std::uint64_t> counters;
  std::string state;
  bool following[2] = {false, false};
  std::vector<std::pair<Direction, Bytes>> returned;  // what each feed returned, in order (if asked for)
};

Run run(const TrackerPolicy& policy, const std::vector<Segment>& segments, std::size_t chunk, bool keep_returned) {
  MessageTracker tracker(policy, PixelFormat{}, 1024, 768);
  Run r;
  for (const auto& segment : segments) {
    for (std::size_t at = 0; at < segment.bytes.size(); at += chunk) {
      const auto part = segment.bytes.subspan(at, std::min(chunk, segment.bytes.size() - at));
      const auto passed = tracker.feed(segment.direction, part, r.raw_notes);
      const bool inside = passed.data() >= part.data() && passed.data() < part.data() + part.size();
      VHM_FUZZ_CHECK(!inside || (passed.data() == part.data() && passed.size() <= part.size()),
                     "feed returned bytes inside the chunk that are not its start");
      auto& side = r.out[index_of(segment.direction)];
      side.insert(side.end(), passed.begin(), passed.end());
      if (keep_returned) r.returned.emplace_back(segment.direction, Bytes(passed.begin(), passed.end()));
    }
  }
  for (const auto& note : r.raw_notes) r.notes.push_back(note_text(note));
  const auto& c = tracker.counters();
  r.counters = {c.key_events, c.pointer_events, c.updates, c.clipboard_in, c.clipboard_out};
  r.state = tracker.state();
  r.following[0] = tracker.following(to_server);
  r.following[1] = tracker.following(to_viewer);
  return r;
}

bool is_prefix(const Bytes& a, const Bytes& b) {
  return a.size() <= b.size() && std::equal(a.begin(), a.end(), b.begin());
}

std::string hex(const Bytes& b, std::size_t max = 64) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < b.size() && i < max; ++i) {
    out += digits[b[i] >> 4];
    out += digits[b[i] & 15];
  }
  if (b.size() > max) out += "...";
  return out;
}

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

// One cut text message that went on, against the clipboard rules.
void check_cut(const Bytes& message, ClipboardRuleAction rule, const TrackerPolicy& policy, const char* side) {
  CutTextReader reader(0);
  reader.feed(message);
  if (!reader.header_known()) return;  // the output ended inside it (the input did)
  using Kind = CutTextReader::Kind;
  const auto kind = reader.kind();
  if (rule == ClipboardRuleAction::deny)
    VHM_FUZZ_CHECK(kind == Kind::caps || kind == Kind::request || kind == Kind::peek,
                   std::string(side) + ": clipboard data went on against deny: " + hex(message));
  // max_bytes limits texts: plain cut text and extended provide (caps,
  // requests, notify and the rest carry none).
  if (policy.clipboard_max_bytes && (kind == Kind::plain || kind == Kind::provide)) {
    VHM_FUZZ_CHECK(reader.payload_length() <= *policy.clipboard_max_bytes,
                   std::string(side) + ": cut text over max_bytes went on: " + hex(message));
    if (reader.finished())
      VHM_FUZZ_CHECK(reader.text_bytes() <= *policy.clipboard_max_bytes,
                     std::string(side) + ": a text over max_bytes went on: " + hex(message));
  }
}

// Frames what went on each way again, the viewer's SetPixelFormat and
// EnableContinuousUpdates handed to the server framer as the tracker does,
// and checks each message against the rules; keeps the viewer's messages.
class OutputCheck final : public ServerMessageFramer::Sink {
 public:
  explicit OutputCheck(const TrackerPolicy& policy) : policy_(policy), server_(PixelFormat{}) {}

  void viewer(std::span<const std::uint8_t> bytes) {
    if (!viewer_failed_)
      viewer_failed_ = !viewer_framer_.feed(bytes, [this](const ClientMessageFramer::Piece& p) { viewer_piece(p); });
  }
  void server(std::span<const std::uint8_t> bytes) {
    if (!server_failed_) server_failed_ = !server_.feed(bytes, *this);
  }
  bool viewer_failed_ = false, server_failed_ = false;
  std::vector<Bytes> viewer_messages;  // complete ones

 private:
  void viewer_piece(const ClientMessageFramer::Piece& p) {
    if (p.first) message_.clear();
    message_.insert(message_.end(), p.bytes.begin(), p.bytes.end());
    if (!p.last) return;
    namespace m = client_message;
    const std::uint8_t t = message_[0];
    if (policy_.view_only) {
      const bool input = t == m::key_event || t == m::pointer_event || t == m::client_cut_text || t == m::xvp ||
                         t == m::set_desktop_size || (t == m::qemu && message_[1] == 0) ||
                         (t == m::gii && (message_[1] & 0x7F) == 0);
      VHM_FUZZ_CHECK(!input, "viewer input went on under view-only: " + hex(message_));
    }
    if (t == m::client_cut_text) check_cut(message_, policy_.viewer_to_server, policy_, "viewer");
    if (t == m::set_encodings && policy_.follow_server && policy_.strip_unknown_encodings) {
      for (std::size_t at = 4; at + 4 <= message_.size(); at += 4)
        VHM_FUZZ_CHECK(tracker_frames_encoding(static_cast<std::int32_t>(be32(&message_[at]))),
                       "a stripped SetEncodings kept an unknown encoding: " + hex(message_));
    }
    if (t == m::set_pixel_format)
      server_.viewer_set_pixel_format(
          PixelFormat::from_wire(std::span<const std::uint8_t, 16>(message_.data() + 4, 16)));
    if (t == m::enable_continuous_updates) server_.viewer_enable_continuous_updates(message_[1] != 0);
    viewer_messages.push_back(message_);
  }
  void piece(const ServerMessageFramer::Piece& p) override {
    if (p.type != server_message::server_cut_text) return;
    if (p.first) server_cut_.clear();
    server_cut_.insert(server_cut_.end(), p.bytes.begin(), p.bytes.end());
    if (p.last) check_cut(server_cut_, policy_.server_to_viewer, policy_, "server");
  }
  void note(const ServerMessageFramer::Note&) override {}

  const TrackerPolicy& policy_;
  ClientMessageFramer viewer_framer_;
  ServerMessageFramer server_;
  Bytes message_, server_cut_;
};

// The complete viewer messages of `bytes`, until the framer stops.
std::vector<Bytes> viewer_messages(const Bytes& bytes) {
  std::vector<Bytes> out;
  Bytes message;
  ClientMessageFramer framer;
  framer.feed(bytes, [&](const ClientMessageFramer::Piece& p) {
    if (p.first) message.clear();
    message.insert(message.end(), p.bytes.begin(), p.bytes.end());
    if (p.last) out.push_back(message);
  });
  return out;
}

// SetEncodings `out` is `in` with some encodings left out.
bool stripped_from(const Bytes& out, const Bytes& in) {
  if (out.size() < 4 || in.size() < 4 || out[0] != 2 || in[0] != 2 || out[1] != in[1]) return false;
  std::size_t j = 4;
  for (std::size_t at = 4; at + 4 <= out.size(); at += 4) {
    while (j + 4 <= in.size() && !std::equal(out.begin() + at, out.begin() + at + 4, in.begin() + j)) j += 4;
    if (j + 4 > in.size()) return false;
    j += 4;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::uint8_t flags = data[0], shape = data[1];
  static constexpr ClipboardRuleAction actions[] = {ClipboardRuleAction::allow, ClipboardRuleAction::deny,
                                                    ClipboardRuleAction::log, ClipboardRuleAction::allow};
  static constexpr std::uint64_t keeps[] = {0, 3, 64, 4096};
  TrackerPolicy policy;
  policy.view_only = (flags & 1) != 0;
  policy.viewer_to_server = actions[(flags >> 1) & 3];
  policy.idle_needs_viewer = ((flags >> 1) & 3) == 3;
  policy.server_to_viewer = actions[(flags >> 3) & 3];
  if (flags & 0x20) policy.clipboard_max_bytes = (shape & 0x80) ? 64 : 8;
  policy.strip_unknown_encodings = (flags & 0x40) != 0;
  policy.keep_clipboard_text = keeps[(shape >> 5) & 3];
  // As the proxy decides (proxy/tracking/session_tracking.cpp).
  policy.follow_server = (flags & 0x80) || policy.server_to_viewer != ClipboardRuleAction::allow ||
                         policy.clipboard_max_bytes.has_value();
  policy.follow_viewer = true;
  const std::size_t chunk = 1 + (shape & 0x1f);

  std::vector<Segment> segments;
  Bytes sent[2];
  for (std::size_t at = 2; at < size;) {
    const std::uint8_t h = data[at++];
    const std::size_t n = std::min<std::size_t>((h & 0x7f) + 1, size - at);
    const auto d = (h & 0x80) ? to_server : to_viewer;
    segments.push_back({d, {data + at, n}});
    sent[index_of(d)].insert(sent[index_of(d)].end(), data + at, data + at + n);
    at += n;
  }

  const Run a = run(policy, segments, chunk, true);
  const Run b = run(policy, segments, 1, false);
  std::string a_notes, b_notes;
  for (const auto& n : a.notes) a_notes += n + "\n";
  for (const auto& n : b.notes) b_notes += n + "\n";
  VHM_FUZZ_CHECK(a.notes == b.notes,
                 "chunk " + std::to_string(chunk) + " notes:\n" + a_notes + "byte by byte:\n" + b_notes);
  VHM_FUZZ_CHECK(a.counters == b.counters, "counters differ");
  VHM_FUZZ_CHECK(a.state == b.state, "state: '" + a.state + "' / '" + b.state + "'");
  VHM_FUZZ_CHECK(a.following[0] == b.following[0] && a.following[1] == b.following[1], "following() differs");

  bool fatal[2] = {false, false}, lost[2] = {false, false};
  std::uint64_t keys = 0, pointers = 0, screen_updates = 0;
  for (const auto& note : a.raw_notes) {
    if (const auto* o = std::get_if<tracker_note::Opaque>(&note)) {
      lost[index_of(o->direction)] = true;
      if (o->direction == to_server) lost[1] = true;  // the server's side needs the viewer's
      if (o->fatal) {
        fatal[index_of(o->direction)] = true;
        if (o->direction == to_server) fatal[1] = true;
      }
    }
    if (const auto* i = std::get_if<tracker_note::Input>(&note)) ++(i->key ? keys : pointers);
    if (std::holds_alternative<tracker_note::ScreenUpdated>(note)) ++screen_updates;
  }
  VHM_FUZZ_CHECK(keys == a.counters[0] && pointers == a.counters[1], "Input notes do not add up to the counters");
  VHM_FUZZ_CHECK(screen_updates <= a.counters[2], "more screen updates than updates");

  // Chunked against byte by byte; without a rule, the input itself.
  const bool rules[2] = {
      policy.view_only || policy.viewer_to_server != ClipboardRuleAction::allow || policy.clipboard_max_bytes ||
          (policy.follow_server && policy.strip_unknown_encodings),
      policy.follow_server &&
          (policy.server_to_viewer != ClipboardRuleAction::allow || policy.clipboard_max_bytes.has_value())};
  for (std::size_t i = 0; i < 2; ++i) {
    const char* side = i == 0 ? "viewer" : "server";
    if (fatal[i]) {
      VHM_FUZZ_CHECK(is_prefix(a.out[i], b.out[i]), std::string(side) + ": after a fatal loss, chunked output " +
                                                        hex(a.out[i]) + " is not a prefix of " + hex(b.out[i]));
    } else {
      VHM_FUZZ_CHECK(a.out[i] == b.out[i], std::string(side) + ": chunked output " + hex(a.out[i]) +
                                               " differs from byte by byte " + hex(b.out[i]));
    }
    if (!rules[i]) {
      VHM_FUZZ_CHECK(fatal[i] ? is_prefix(b.out[i], sent[i]) : b.out[i] == sent[i],
                     std::string(side) + ": without a rule the bytes changed: " + hex(b.out[i]) + " / " + hex(sent[i]));
    }
  }

  // What went on, framed again, in the order the chunked run let it through.
  OutputCheck check(policy);
  for (const auto& [direction, bytes] : a.returned) {
    if (direction == to_server) check.viewer(bytes);
    else check.server(bytes);
  }
  VHM_FUZZ_CHECK(!check.viewer_failed_ || lost[0], "the viewer output does not frame though the tracker followed it");
  VHM_FUZZ_CHECK(!check.server_failed_ || lost[1] || !policy.follow_server,
                 "the server output does not frame though the tracker followed it");

  // The viewer messages that went on are the viewer's, in order (SetEncodings possibly stripped).
  const auto in = viewer_messages(sent[0]);
  std::size_t j = 0;
  for (const auto& m : check.viewer_messages) {
    while (j < in.size() && in[j] != m && !(m[0] == 2 && stripped_from(m, in[j]))) ++j;
    VHM_FUZZ_CHECK(j < in.size(), "a viewer message went on that the viewer did not send: " + hex(m));
    ++j;
  }
  return 0;
}
