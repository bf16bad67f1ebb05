#pragma once
// Follows a session after the handshake, message by message in both
// directions (rfb/client_messages.hpp, rfb/server_messages.hpp), and applies
// the session's rules to what passes: view-only drops the viewer's input,
// clipboard rules drop, log or size-limit cut text each way, and SetEncodings
// loses the encodings the server framer could not follow. Sans-IO: the proxy
// feeds each chunk as it is read and writes what feed() returns; what the
// tracker saw comes back as notes (resize, clipboard, input...).
//
// Fail closed: when a direction cannot be followed any more (an unknown
// message or encoding), the tracker stops following it. If a rule needs that
// direction (view-only and the viewer's clipboard rule need the viewer's;
// the server's clipboard rule needs the server's; input idleness needs the
// viewer's), the Opaque note says `fatal` and nothing more passes that way:
// the session must end. Otherwise the bytes pass untouched from there on.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "rfb/cut_text.hpp"
#include "rfb/handshake_parser.hpp"
#include "rfb/pixel_format.hpp"

namespace vhm::rfb {

enum class ClipboardRuleAction : std::uint8_t { allow, deny, log };

struct TrackerPolicy {
  bool follow_viewer = false;  // something needs the viewer's messages (implied by follow_server)
  bool follow_server = false;  // something needs the server's messages
  bool view_only = false;
  ClipboardRuleAction viewer_to_server = ClipboardRuleAction::allow;
  ClipboardRuleAction server_to_viewer = ClipboardRuleAction::allow;
  std::optional<std::uint64_t> clipboard_max_bytes;  // larger texts are dropped
  std::uint64_t keep_clipboard_text = 0;  // > 0: a logged text's first bytes come with its note
  bool strip_unknown_encodings = true;
  bool idle_needs_viewer = false;  // input idleness is watched: losing the viewer's side is fatal
};

namespace tracker_note {
struct Input { bool key = false; };  // a KeyEvent (or QEMU key, gii) or PointerEvent from the viewer
struct Resized { std::uint16_t width = 0, height = 0; };
struct DesktopNamed { std::string name; };
struct ScreenUpdated {};  // a FramebufferUpdate with pixel data ended
struct Clipboard {
  Direction direction = Direction::client_to_server;
  std::uint64_t bytes = 0;  // the text's size
  std::string text;         // the first keep_clipboard_text bytes, UTF-8 (logged texts only)
  bool logged = false;      // the rule for this direction is `log` and the text went on
  bool dropped = false;     // kept from the other side: `why`
  std::string why;
};
struct EncodingsStripped { std::vector<std::int32_t> removed; };
struct Opaque {
  Direction direction = Direction::client_to_server;
  std::string why;
  bool fatal = false;  // a rule needed this direction: end the session
};
}  // namespace tracker_note

using TrackerNote = std::variant<tracker_note::Input, tracker_note::Resized, tracker_note::DesktopNamed,
                                 tracker_note::ScreenUpdated, tracker_note::Clipboard,
                                 tracker_note::EncodingsStripped, tracker_note::Opaque>;

struct TrackerCounters {
  std::uint64_t key_events = 0;
  std::uint64_t pointer_events = 0;
  std::uint64_t updates = 0;        // FramebufferUpdates from the server
  std::uint64_t clipboard_in = 0;   // clipboard text bytes that went viewer -> server
  std::uint64_t clipboard_out = 0;  // server -> viewer
};

class MessageTracker {
 public:
  MessageTracker(TrackerPolicy policy, const PixelFormat& initial, std::uint16_t width, std::uint16_t height);
  ~MessageTracker();
  MessageTracker(const MessageTracker&) = delete;
  MessageTracker& operator=(const MessageTracker&) = delete;

  // The next bytes travelling in `direction`. Returns what goes on: `bytes`
  // itself or a prefix of it when nothing was held, dropped or rewritten,
  // otherwise bytes of the tracker's own (valid until the next feed of that
  // direction). Notes are appended to `notes`.
  std::span<const std::uint8_t> feed(Direction direction, std::span<const std::uint8_t> bytes,
                                     std::vector<TrackerNote>& notes);

  // Whether feed() still needs to see `direction` (false: never followed, or
  // given up without harm; the relay may then splice it).
  bool following(Direction direction) const;
  // Whether feed() may return other bytes than it was given for `direction`
  // (a rule may drop or rewrite there). When not, the relay may splice that
  // direction and feed the tracker a tee(2) copy instead.
  bool filtering(Direction direction) const;
  // How many of the next bytes of `direction` feed() would only count (see
  // ServerMessageFramer::skippable): a watched direction may be fed that
  // many bytes of anything instead (0 when filtering or not following).
  std::uint64_t skippable(Direction direction) const;
  // The caller cannot show the tracker `direction` any more (its copy
  // failed): as if the framer had lost it (an Opaque note, fatal when a rule
  // needs it).
  void stop_following(Direction direction, const std::string& why, std::vector<TrackerNote>& notes);
  const TrackerCounters& counters() const;
  // "on", or "opaque: <direction>: <why>" once a direction was given up.
  const std::string& state() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace vhm::rfb
