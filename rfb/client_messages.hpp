#pragma once
// Framing of the viewer -> server stream after the handshake: which message
// each byte belongs to, for every message of RFC 6143 and of the community
// rfbproto document that TigerVNC, x11vnc, QEMU, libvncserver and noVNC send.
// Sans-IO and incremental (any split of the stream gives the same pieces);
// only a message's fixed header is ever buffered (at most 12 bytes), so a
// huge ClientCutText costs no memory. A type it does not know ends the
// framing: the stream cannot be followed past it (the relay goes on).
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace vhm::rfb {

namespace client_message {
inline constexpr std::uint8_t set_pixel_format = 0;
inline constexpr std::uint8_t set_encodings = 2;
inline constexpr std::uint8_t framebuffer_update_request = 3;
inline constexpr std::uint8_t key_event = 4;
inline constexpr std::uint8_t pointer_event = 5;
inline constexpr std::uint8_t client_cut_text = 6;
inline constexpr std::uint8_t enable_continuous_updates = 150;
inline constexpr std::uint8_t fence = 248;
inline constexpr std::uint8_t xvp = 250;
inline constexpr std::uint8_t set_desktop_size = 251;
inline constexpr std::uint8_t gii = 253;
inline constexpr std::uint8_t qemu = 255;
}  // namespace client_message

// "KeyEvent", "type-42".
std::string client_message_name(std::uint8_t type);

// What a person typed or pointed at, or put on the clipboard: KeyEvent,
// PointerEvent, ClientCutText, QEMU's extended key event, gii input events.
bool is_viewer_input(std::uint8_t type);

struct ClientLimits {
  std::uint32_t max_cut_text = 64u << 20;  // bytes of one ClientCutText (plain or extended)
  std::uint8_t max_fence_payload = 64;     // rfbproto: at most 64
};
// For readers that skip what they do not need (the player): any length the wire can carry.
inline constexpr ClientLimits no_length_limits{.max_cut_text = 0xFFFFFFFFu, .max_fence_payload = 255};

// The size of the message that starts `bytes`, decided from as few of its
// first bytes as tell it (1 for fixed-size types, at most 9): the same answer
// for any longer prefix. Pure; the player and the framer below share it.
struct ClientMessageSize {
  enum class Kind : std::uint8_t {
    need_more,  // the bytes so far do not tell the size yet
    sized,      // `size`: the whole message, its first byte included (it may not all be there yet)
    invalid,    // unknown type or sub-type, or a length over a limit: `error` says which
  };
  Kind kind = Kind::need_more;
  std::uint8_t type = 0;
  std::uint64_t size = 0;
  std::string error;
};
ClientMessageSize measure_client_message(std::span<const std::uint8_t> bytes, const ClientLimits& limits = {});

class ClientMessageFramer {
 public:
  // A run of bytes of one message: `first` when it holds the message's first
  // byte, `last` when its final one. A message may arrive in many pieces.
  struct Piece {
    std::uint8_t type = 0;
    std::span<const std::uint8_t> bytes;
    bool first = false;
    bool last = false;
  };

  explicit ClientMessageFramer(ClientLimits limits = {}) : limits_(limits) {}

  // Calls on_piece(const Piece&) for every piece in `bytes`, in order. Returns
  // false once the stream cannot be followed (unknown type, length over a
  // limit): error() says why; later calls return false at once.
  template <typename OnPiece>
  bool feed(std::span<const std::uint8_t> bytes, OnPiece&& on_piece);

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }
  std::uint64_t offset() const { return offset_; }  // bytes framed so far

 private:
  enum class Need : std::uint8_t { more, known, bad };
  // Decides the length of the message whose first header_size_ bytes are in header_.
  Need measure();

  ClientLimits limits_;
  std::array<std::uint8_t, 12> header_{};
  std::size_t header_size_ = 0;  // bytes of the current message's header held back
  std::uint64_t remaining_ = 0;  // bytes of the current message still to come (after the header was released)
  std::uint8_t type_ = 0;
  bool in_body_ = false;
  std::uint64_t offset_ = 0;
  std::string error_;
};

template <typename OnPiece>
bool ClientMessageFramer::feed(std::span<const std::uint8_t> bytes, OnPiece&& on_piece) {
  while (!bytes.empty()) {
    if (failed()) return false;
    if (!in_body_) {
      // Collect the header until the message's length is known, then release it as the first piece.
      header_[header_size_++] = bytes.front();
      bytes = bytes.subspan(1);
      ++offset_;
      type_ = header_[0];
      const Need need = measure();
      if (need == Need::bad) return false;
      if (need == Need::more) continue;
      in_body_ = true;
      on_piece(Piece{type_, std::span<const std::uint8_t>(header_.data(), header_size_), true, remaining_ == 0});
      header_size_ = 0;
      if (remaining_ == 0) in_body_ = false;
      continue;
    }
    const std::size_t n = remaining_ < bytes.size() ? static_cast<std::size_t>(remaining_) : bytes.size();
    remaining_ -= n;
    offset_ += n;
    on_piece(Piece{type_, bytes.first(n), false, remaining_ == 0});
    bytes = bytes.subspan(n);
    if (remaining_ == 0) in_body_ = false;
  }
  return !failed();
}

}  // namespace vhm::rfb
