#include "rfb/message_tracker.hpp"

#include <algorithm>
#include <array>

#include "rfb/client_messages.hpp"
#include "rfb/server_messages.hpp"

namespace vhm::rfb {
namespace {

constexpr std::size_t index_of(Direction direction) { return static_cast<std::size_t>(direction); }

std::int32_t be32s(const std::uint8_t* p) {
  return static_cast<std::int32_t>((std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                                   (std::uint32_t{p[2]} << 8) | p[3]);
}

// What a chunk turns into when a direction is filtered: as long as every
// passed piece is the next run of the chunk's bytes, the chunk (or a prefix)
// goes on untouched; the first drop or other byte switches to a copy. A
// piece that is not in the chunk but equals its next bytes counts as those
// (the viewer framer hands each message's header over from its own buffer,
// held bytes come from the tracker's): what goes on is the same either way.
class Output {
 public:
  void begin(std::span<const std::uint8_t> input) {
    input_ = input;
    contiguous_ = 0;
    copied_ = false;
    copy_.clear();
  }
  void pass(std::span<const std::uint8_t> piece) {
    if (piece.empty()) return;
    if (!copied_ && piece.size() <= input_.size() - contiguous_) {
      const auto next = input_.subspan(contiguous_, piece.size());
      if (piece.data() == next.data() || std::equal(piece.begin(), piece.end(), next.begin())) {
        contiguous_ += piece.size();
        return;
      }
    }
    switch_to_copy();
    copy_.insert(copy_.end(), piece.begin(), piece.end());
  }
  // Bytes that replace the chunk's (a rewritten message): always copied.
  void emit(std::span<const std::uint8_t> bytes) {
    switch_to_copy();
    copy_.insert(copy_.end(), bytes.begin(), bytes.end());
  }
  // Something was left out: later pieces can no longer be the chunk's prefix.
  void skip() { switch_to_copy(); }
  std::span<const std::uint8_t> result() const {
    return copied_ ? std::span<const std::uint8_t>(copy_) : input_.first(contiguous_);
  }

 private:
  void switch_to_copy() {
    if (copied_) return;
    copy_.assign(input_.begin(), input_.begin() + static_cast<std::ptrdiff_t>(contiguous_));
    copied_ = true;
  }
  std::span<const std::uint8_t> input_;
  std::size_t contiguous_ = 0;
  bool copied_ = false;
  std::vector<std::uint8_t> copy_;
};

// Plain cut text is Latin-1; notes and files carry UTF-8.
std::string latin1_to_utf8(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c < 0x80) {
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(0xC0 | (c >> 6));
      out += static_cast<char>(0x80 | (c & 0x3F));
    }
  }
  return out;
}

bool is_pixel_encoding(std::int32_t encoding) {
  if (encoding == encoding::tight_png) return true;
  if (encoding < 0) return false;
  return (static_cast<std::uint32_t>(encoding) >> 8) != 0x574d56u;  // VMware's pseudo-encodings are positive
}

const char* direction_text(Direction direction) {
  return direction == Direction::client_to_server ? "viewer to server" : "server to viewer";
}

}  // namespace

struct MessageTracker::Impl final : ServerMessageFramer::Sink {
  // How the message now passing is handled.
  enum class Disposition : std::uint8_t {
    pass,       // streams on
    drop,       // left out
    hold,       // kept back whole until its end decides (SetEncodings, a size-limited provide)
    undecided,  // cut text: kept back until its header tells what it is
  };
  struct Current {
    std::uint8_t type = 0;
    Disposition disposition = Disposition::pass;
    std::vector<std::uint8_t> held;     // held or undecided bytes
    std::vector<std::uint8_t> inspect;  // a small message read whole (SetPixelFormat, EnableContinuousUpdates)
    bool inspecting = false;
    std::optional<CutTextReader> cut;
    std::string drop_why;
  };

  Impl(TrackerPolicy p, const PixelFormat& initial, std::uint16_t w, std::uint16_t h)
      : policy(p), server_framer(initial), width(w), height(h) {
    if (policy.follow_server) policy.follow_viewer = true;  // its SetPixelFormat decides the server's framing
    follow[index_of(Direction::client_to_server)] = policy.follow_viewer;
    follow[index_of(Direction::server_to_client)] = policy.follow_server;
    // Only what may drop or rewrite bytes filters; `log` watches (the relay
    // may then give the tracker a tee(2) copy and keep splicing).
    filters[index_of(Direction::client_to_server)] =
        policy.view_only || policy.viewer_to_server == ClipboardRuleAction::deny || policy.clipboard_max_bytes ||
        (policy.follow_server && policy.strip_unknown_encodings);
    filters[index_of(Direction::server_to_client)] =
        policy.follow_server &&
        (policy.server_to_viewer == ClipboardRuleAction::deny || policy.clipboard_max_bytes.has_value());
  }

  // Losing this direction breaks a rule: the session must end. Stripping
  // SetEncodings filters the viewer's side but needs it only while the
  // server's is followed, and losing the viewer's ends that too.
  bool rules_need(Direction direction) const {
    if (direction == Direction::server_to_client)
      return policy.follow_server &&
             (policy.server_to_viewer != ClipboardRuleAction::allow || policy.clipboard_max_bytes.has_value());
    return policy.view_only || policy.viewer_to_server != ClipboardRuleAction::allow ||
           policy.clipboard_max_bytes.has_value() || policy.idle_needs_viewer;
  }

  std::span<const std::uint8_t> feed(Direction direction, std::span<const std::uint8_t> bytes) {
    const auto i = index_of(direction);
    if (closed[i]) return {};
    if (!follow[i]) return bytes;
    Output& out = outputs[i];
    out.begin(bytes);
    filtering = filters[i];
    current_output = &out;
    bool ok = true;
    if (direction == Direction::client_to_server) {
      const std::uint64_t before = viewer_framer.offset();
      ok = viewer_framer.feed(bytes, [this](const ClientMessageFramer::Piece& p) { viewer_piece(p); });
      if (!ok) {
        lose(direction, "viewer message at offset " + std::to_string(viewer_framer.offset() - 1) + ": " +
                            viewer_framer.error());
        if (!closed[i] && filtering) pass_unframed(bytes, before);
      } else if (filtering) {
        keep_unreleased(bytes);
      }
    } else {
      ok = server_framer.feed(bytes, *this);
      if (!ok) lose(direction, "server message: " + server_framer.error());
    }
    current_output = nullptr;
    if (closed[i]) return {};
    return filtering ? out.result() : bytes;
  }

  // The direction cannot be followed past here (and the server's not without
  // the viewer's: its pixel format comes from there).
  void lose(Direction direction, const std::string& why) {
    const bool fatal = rules_need(direction) ||
                       (direction == Direction::client_to_server && follow[index_of(Direction::server_to_client)] &&
                        rules_need(Direction::server_to_client));
    if (state == "on") state = std::string("opaque: ") + direction_text(direction) + ": " + why;
    notes->push_back(tracker_note::Opaque{direction, why, fatal});
    const auto stop = [&](Direction d) {
      follow[index_of(d)] = false;
      if (fatal) closed[index_of(d)] = true;
    };
    stop(direction);
    if (direction == Direction::client_to_server) stop(Direction::server_to_client);
  }

  // ---- viewer -> server ----
  // The viewer framer holds a message's header until it knows the message's
  // length (at most 12 bytes): when it stops at a bad header without a rule
  // needing the viewer's side, that header and the rest of the chunk still
  // go on, from where the pieces stopped.
  void keep_unreleased(std::span<const std::uint8_t> bytes) {
    const auto n = static_cast<std::size_t>(viewer_framer.offset() - viewer_released);
    if (n == 0) {
      viewer_unreleased.clear();
    } else if (n <= bytes.size()) {
      viewer_unreleased.assign(bytes.end() - static_cast<std::ptrdiff_t>(n), bytes.end());
    } else {  // the header began in an earlier chunk
      viewer_unreleased.insert(viewer_unreleased.end(), bytes.begin(), bytes.end());
      viewer_unreleased.erase(viewer_unreleased.begin(), viewer_unreleased.end() - static_cast<std::ptrdiff_t>(n));
    }
  }
  void pass_unframed(std::span<const std::uint8_t> bytes, std::uint64_t offset_before) {
    const auto consumed = static_cast<std::size_t>(viewer_framer.offset() - offset_before);
    const auto held = static_cast<std::size_t>(viewer_framer.offset() - viewer_released);
    const auto here = std::min(held, consumed);
    const auto earlier = std::min(held - here, viewer_unreleased.size());
    current_output->pass(std::span<const std::uint8_t>(viewer_unreleased).last(earlier));
    current_output->pass(bytes.subspan(consumed - here));
    viewer_unreleased.clear();
  }

  void viewer_piece(const ClientMessageFramer::Piece& piece) {
    viewer_released += piece.bytes.size();
    Current& cur = current[index_of(Direction::client_to_server)];
    if (piece.first) start_viewer_message(cur, piece);
    if (cur.inspecting) cur.inspect.insert(cur.inspect.end(), piece.bytes.begin(), piece.bytes.end());
    if (cur.cut) {
      cut_bytes(Direction::client_to_server, cur, piece.bytes);
    } else {
      route(cur, piece.bytes);
    }
    if (piece.last) end_viewer_message(cur);
  }

  void start_viewer_message(Current& cur, const ClientMessageFramer::Piece& piece) {
    namespace m = client_message;
    cur = Current{};
    cur.type = piece.type;
    const auto header = piece.bytes;
    const auto input = [&](bool key) {
      (key ? counters.key_events : counters.pointer_events) += 1;
      notes->push_back(tracker_note::Input{key});
      if (policy.view_only) cur.disposition = Disposition::drop;
    };
    switch (piece.type) {
      case m::key_event: input(true); break;
      case m::pointer_event: input(false); break;
      case m::qemu:  // sub-type 0: extended key event; 1: audio control
        if (header.size() >= 2 && header[1] == 0) input(true);
        break;
      case m::gii:  // sub-type 0 (low 7 bits): injected input events
        if (header.size() >= 2 && (header[1] & 0x7F) == 0) input(true);
        break;
      case m::set_desktop_size:
      case m::xvp:  // shutdown, reboot, reset: not for an observer
        if (policy.view_only) cur.disposition = Disposition::drop;
        break;
      case m::client_cut_text: start_cut(Direction::client_to_server, cur); break;
      case m::set_encodings:
        if (policy.follow_server && policy.strip_unknown_encodings) cur.disposition = Disposition::hold;
        break;
      case m::set_pixel_format:
      case m::enable_continuous_updates: cur.inspecting = true; break;
      default: break;
    }
  }

  void end_viewer_message(Current& cur) {
    namespace m = client_message;
    if (cur.cut) {
      end_cut(Direction::client_to_server, cur);
    } else if (cur.type == m::set_pixel_format && cur.inspect.size() >= 20) {
      server_framer.viewer_set_pixel_format(
          PixelFormat::from_wire(std::span<const std::uint8_t, 16>(cur.inspect.data() + 4, 16)));
    } else if (cur.type == m::enable_continuous_updates && cur.inspect.size() >= 2) {
      server_framer.viewer_enable_continuous_updates(cur.inspect[1] != 0);
    } else if (cur.type == m::set_encodings && cur.disposition == Disposition::hold) {
      emit_stripped_encodings(cur.held);
    }
  }

  // SetEncodings: u8 type, pad, u16 count, s32 each.
  void emit_stripped_encodings(const std::vector<std::uint8_t>& message) {
    std::vector<std::int32_t> removed;
    std::vector<std::uint8_t> kept(message.begin(), message.begin() + std::min<std::size_t>(4, message.size()));
    for (std::size_t at = 4; at + 4 <= message.size(); at += 4) {
      const std::int32_t encoding = be32s(message.data() + at);
      if (tracker_frames_encoding(encoding))
        kept.insert(kept.end(), message.begin() + static_cast<std::ptrdiff_t>(at),
                    message.begin() + static_cast<std::ptrdiff_t>(at + 4));
      else
        removed.push_back(encoding);
    }
    if (removed.empty()) {
      current_output->pass(message);
      return;
    }
    const auto count = static_cast<std::uint16_t>((kept.size() - 4) / 4);
    kept[2] = static_cast<std::uint8_t>(count >> 8);
    kept[3] = static_cast<std::uint8_t>(count);
    current_output->emit(kept);
    notes->push_back(tracker_note::EncodingsStripped{std::move(removed)});
  }

  // ---- server -> viewer ----
  void piece(const ServerMessageFramer::Piece& piece) override {
    Current& cur = current[index_of(Direction::server_to_client)];
    if (piece.first) {
      cur = Current{};
      cur.type = piece.type;
      if (piece.type == server_message::server_cut_text) start_cut(Direction::server_to_client, cur);
    }
    if (cur.cut) {
      cut_bytes(Direction::server_to_client, cur, piece.bytes);
      if (piece.last) end_cut(Direction::server_to_client, cur);
    } else {
      route(cur, piece.bytes);
    }
  }

  void note(const ServerMessageFramer::Note& note) override {
    using Kind = ServerMessageFramer::Note::Kind;
    switch (note.kind) {
      case Kind::rect:
        if (is_pixel_encoding(note.rect.encoding)) update_has_pixels = true;
        if (note.rect.encoding == encoding::desktop_size) resized(note.rect.width, note.rect.height);
        break;
      case Kind::extended_desktop_size:
        if (note.rect.y == 0) resized(note.rect.width, note.rect.height);  // status 0: no error
        break;
      case Kind::update_ends:
        ++counters.updates;
        if (update_has_pixels) notes->push_back(tracker_note::ScreenUpdated{});
        update_has_pixels = false;
        break;
      case Kind::desktop_name: notes->push_back(tracker_note::DesktopNamed{std::string(note.name)}); break;
    }
  }

  void resized(std::uint16_t w, std::uint16_t h) {
    if (w == width && h == height) return;
    width = w;
    height = h;
    notes->push_back(tracker_note::Resized{w, h});
  }

  // ---- both directions ----
  void route(Current& cur, std::span<const std::uint8_t> bytes) {
    if (!filtering) return;
    switch (cur.disposition) {
      case Disposition::pass: current_output->pass(bytes); break;
      case Disposition::drop: current_output->skip(); break;
      case Disposition::hold:
      case Disposition::undecided: cur.held.insert(cur.held.end(), bytes.begin(), bytes.end()); break;
    }
  }

  ClipboardRuleAction rule_for(Direction direction) const {
    return direction == Direction::client_to_server ? policy.viewer_to_server : policy.server_to_viewer;
  }

  void start_cut(Direction direction, Current& cur) {
    const bool logged = rule_for(direction) == ClipboardRuleAction::log;
    cur.cut.emplace(logged ? policy.keep_clipboard_text : 0);
    const bool view_only_drop = direction == Direction::client_to_server && policy.view_only;
    if (view_only_drop) {
      cur.disposition = Disposition::drop;
      cur.drop_why = "view-only";
    } else {
      cur.disposition = Disposition::undecided;
    }
  }

  void cut_bytes(Direction direction, Current& cur, std::span<const std::uint8_t> bytes) {
    cur.cut->feed(bytes);
    route(cur, bytes);
    if (cur.disposition == Disposition::undecided && cur.cut->header_known()) decide_cut(direction, cur);
  }

  // The header is known: pass, drop, or hold a size-limited provide to its end.
  void decide_cut(Direction direction, Current& cur) {
    using Kind = CutTextReader::Kind;
    const auto kind = cur.cut->kind();
    const bool data = kind == Kind::plain || kind == Kind::provide || kind == Kind::notify || kind == Kind::other;
    if (rule_for(direction) == ClipboardRuleAction::deny && data) {
      cur.drop_why = "denied";
    } else if (policy.clipboard_max_bytes && (kind == Kind::plain || kind == Kind::provide) &&
               cur.cut->payload_length() > *policy.clipboard_max_bytes) {  // caps, requests: no text to limit
      cur.drop_why = "over max_bytes";
    } else if (policy.clipboard_max_bytes && kind == Kind::provide) {
      cur.disposition = Disposition::hold;  // its text's size is inside the zlib stream
      return;
    } else {
      cur.disposition = Disposition::pass;
      if (filtering) current_output->pass(cur.held);
      cur.held.clear();
      return;
    }
    cur.disposition = Disposition::drop;
    cur.held.clear();
    if (filtering) current_output->skip();
  }

  void end_cut(Direction direction, Current& cur) {
    auto& reader = *cur.cut;
    if (cur.disposition == Disposition::undecided) {  // ended before its header was whole: malformed
      cur.disposition = Disposition::drop;
      cur.drop_why = "malformed";
      if (filtering) current_output->skip();
    }
    if (cur.disposition == Disposition::hold) {
      const bool unreadable = !reader.error().empty();  // its size cannot be known: fail closed
      if (unreadable || reader.text_bytes() > *policy.clipboard_max_bytes) {
        cur.disposition = Disposition::drop;
        cur.drop_why = unreadable ? "malformed: " + reader.error() : "over max_bytes";
        if (filtering) current_output->skip();
      } else {
        cur.disposition = Disposition::pass;
        if (filtering) current_output->pass(cur.held);
      }
      cur.held.clear();
    }
    if (!reader.carries_text()) {
      // An extended clipboard announcement kept back (TigerVNC offers before
      // it sends; under deny the text is then never asked for): no text to
      // measure, but the drop is still worth a log line.
      if (cur.disposition == Disposition::drop && reader.kind() == CutTextReader::Kind::notify)
        notes->push_back(tracker_note::Clipboard{direction, 0, {}, false, true, cur.drop_why + " (an offer of clipboard data)"});
      return;
    }
    tracker_note::Clipboard clip;
    clip.direction = direction;
    clip.bytes = reader.text_bytes();
    if (cur.disposition == Disposition::drop) {
      clip.dropped = true;
      clip.why = cur.drop_why;
    } else {
      (direction == Direction::client_to_server ? counters.clipboard_in : counters.clipboard_out) += clip.bytes;
      clip.logged = rule_for(direction) == ClipboardRuleAction::log;
      if (clip.logged && policy.keep_clipboard_text > 0)
        clip.text = reader.extended() ? reader.text() : latin1_to_utf8(reader.text());
      if (!clip.logged) return;  // allowed: counted, nothing to tell
    }
    notes->push_back(std::move(clip));
  }

  TrackerPolicy policy;
  ClientMessageFramer viewer_framer;
  ServerMessageFramer server_framer;
  TrackerCounters counters;
  std::string state = "on";
  std::uint16_t width = 0, height = 0;
  std::array<bool, 2> follow{};
  std::array<bool, 2> filters{};
  std::array<bool, 2> closed{};  // given up with a rule needing it: nothing passes
  std::array<Current, 2> current;
  std::array<Output, 2> outputs;
  std::uint64_t viewer_released = 0;            // viewer bytes the framer handed over as pieces
  std::vector<std::uint8_t> viewer_unreleased;  // a header it holds from earlier chunks (filtering only)
  bool update_has_pixels = false;
  // During one feed():
  bool filtering = false;
  Output* current_output = nullptr;
  std::vector<TrackerNote>* notes = nullptr;
};

MessageTracker::MessageTracker(TrackerPolicy policy, const PixelFormat& initial, std::uint16_t width,
                               std::uint16_t height)
    : impl_(std::make_unique<Impl>(policy, initial, width, height)) {}

MessageTracker::~MessageTracker() = default;

std::span<const std::uint8_t> MessageTracker::feed(Direction direction, std::span<const std::uint8_t> bytes,
                                                   std::vector<TrackerNote>& notes) {
  impl_->notes = &notes;
  auto out = impl_->feed(direction, bytes);
  impl_->notes = nullptr;
  return out;
}

std::uint64_t MessageTracker::skippable(Direction direction) const {
  if (direction != Direction::server_to_client || !impl_->follow[index_of(direction)] ||
      impl_->filters[index_of(direction)])
    return 0;
  return impl_->server_framer.skippable();
}

bool MessageTracker::filtering(Direction direction) const {
  return impl_->filters[index_of(direction)] && impl_->follow[index_of(direction)];
}

void MessageTracker::stop_following(Direction direction, const std::string& why, std::vector<TrackerNote>& notes) {
  if (!impl_->follow[index_of(direction)]) return;
  impl_->notes = &notes;
  impl_->lose(direction, why);
  impl_->notes = nullptr;
}

bool MessageTracker::following(Direction direction) const {
  return impl_->follow[index_of(direction)] || impl_->closed[index_of(direction)];
}
const TrackerCounters& MessageTracker::counters() const { return impl_->counters; }
const std::string& MessageTracker::state() const { return impl_->state; }

}  // namespace vhm::rfb
