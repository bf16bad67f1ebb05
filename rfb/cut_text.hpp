#pragma once
// One ClientCutText or ServerCutText message, read from its bytes as they
// pass (type byte first): plain Latin-1 text, or rfbproto's extended
// clipboard (a negative length; flags, then per action: caps sizes, or a
// zlib stream with one size-prefixed block per format for provide). Sans-IO,
// incremental (any split gives the same result), bounded: at most
// `keep_text` bytes of text are kept, and an extended provide is inflated
// only as far as its text block's size and those kept bytes need (a
// compression bomb costs nothing). Each extended message has its own zlib
// stream (rfbproto; TigerVNC and noVNC reset it per message).
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace vhm::rfb {

namespace extended_clipboard {
inline constexpr std::uint32_t text = 1u << 0;   // format flags, bits 0..15
inline constexpr std::uint32_t rtf = 1u << 1;
inline constexpr std::uint32_t html = 1u << 2;
inline constexpr std::uint32_t dib = 1u << 3;
inline constexpr std::uint32_t files = 1u << 4;
inline constexpr std::uint32_t caps = 1u << 24;  // action flags, bits 24..31
inline constexpr std::uint32_t request = 1u << 25;
inline constexpr std::uint32_t peek = 1u << 26;
inline constexpr std::uint32_t notify = 1u << 27;
inline constexpr std::uint32_t provide = 1u << 28;
}  // namespace extended_clipboard

class CutTextReader {
 public:
  // What the message is; known once header_known(). The extended action is
  // read as TigerVNC's readExtendedClipboard dispatches it: the caps bit wins
  // whatever else is set; otherwise bits 24..31 must be exactly one of
  // provide, notify, peek, request; none, several or an unknown one is
  // `other` (TigerVNC closes the connection on those).
  enum class Kind : std::uint8_t {
    plain,     // classic cut text: the text itself
    caps,      // extended: capabilities (no data)
    request,   // extended: asks the other side to provide
    peek,      // extended: asks the other side to notify
    notify,    // extended: announces formats available (no data)
    provide,   // extended: carries data (zlib)
    other,     // extended with no known action bit, several, or too short for its flags
  };

  explicit CutTextReader(std::uint64_t keep_text = 0);
  ~CutTextReader();
  CutTextReader(CutTextReader&&) noexcept;
  CutTextReader& operator=(CutTextReader&&) noexcept;

  // The message's next bytes, from its type byte on. Bytes past the message's
  // end are not taken: returns how many of `bytes` belonged to it.
  std::size_t feed(std::span<const std::uint8_t> bytes);

  // The 8-byte header (type, padding, length) and, for an extended message,
  // its 4 flag bytes have been read. An extended message of 1 to 3 bytes has
  // no flags: known after its 8 bytes, as `other` with an error.
  bool header_known() const;
  Kind kind() const;
  bool extended() const;
  std::uint32_t flags() const;            // extended only
  std::uint64_t payload_length() const;   // bytes after the 8-byte header (|length| for extended)
  bool finished() const;                  // the whole message was fed

  // After finished():
  // The text's size in bytes: plain: the length; extended provide with the
  // text format: its block's size as the sender gave it, without the
  // terminating NUL; 0 when the message carries no text. A block of size 0
  // is an empty text. A block whose last byte is not NUL (a sender that left
  // the terminator out) is only seen as such when the whole block was
  // inflated, i.e. its size is at most keep_text + 1: then that byte is text
  // and counts; a longer block is not inflated that far and its terminator
  // is assumed (size - 1).
  bool carries_text() const;
  std::uint64_t text_bytes() const;
  // The first keep_text bytes of the text, as sent (plain: Latin-1; extended:
  // UTF-8 with CRLF line ends, without the NUL; neither is validated).
  const std::string& text() const;
  // A provide whose zlib stream or blocks were malformed (as far as they were
  // inflated: nothing after the kept text is looked at), caps too short for
  // their sizes, an extended message too short for its flags: why. The
  // message is still framed by its length; the text is then unknown
  // (carries_text() false, text_bytes() 0, text() empty).
  const std::string& error() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace vhm::rfb
