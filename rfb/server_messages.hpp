#pragma once
// Framing of the server -> viewer stream after the handshake: which message
// each byte belongs to, for every message of RFC 6143 and of the community
// rfbproto document that TigerVNC, x11vnc, QEMU, libvncserver and noVNC use,
// and inside a FramebufferUpdate every rectangle of the encodings listed in
// tracker_frames_encoding(). Framing needs lengths, not pixels: only what a
// length depends on is decoded (Hextile sub-tile headers, Tight's control
// byte, palette and compact lengths, RRE counts); zlib data is skipped, never
// inflated. Sans-IO and incremental: any split of the stream gives the same
// pieces and notes. Memory is bounded by the largest fixed structure (a
// rectangle header, a Hextile tile header, a DesktopName up to its limit)
// and by the notes of one feed() waiting for their message's piece (one per
// rectangle in it): pixel data is never buffered.
//
// The pixel format in force matters (Raw, RRE, Hextile, cursor sizes). It is
// ServerInit's until the viewer sends SetPixelFormat, which the tracker
// reports with viewer_set_pixel_format(). The server applies it when it reads
// it, the proxy sees it earlier, so the framer switches where viewers do
// (TigerVNC's CConnection): at the start of the next FramebufferUpdate, or,
// when the viewer turned continuous updates off just before (TigerVNC does so
// for a format change), at the server's EndOfContinuousUpdates.
#include <cstddef>
#include <memory>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "rfb/pixel_format.hpp"

namespace vhm::rfb {

namespace server_message {
inline constexpr std::uint8_t framebuffer_update = 0;
inline constexpr std::uint8_t set_colour_map_entries = 1;
inline constexpr std::uint8_t bell = 2;
inline constexpr std::uint8_t server_cut_text = 3;
inline constexpr std::uint8_t end_of_continuous_updates = 150;
inline constexpr std::uint8_t fence = 248;
inline constexpr std::uint8_t xvp = 250;
inline constexpr std::uint8_t qemu = 255;  // QEMU audio
}  // namespace server_message

namespace encoding {
inline constexpr std::int32_t raw = 0;
inline constexpr std::int32_t copy_rect = 1;
inline constexpr std::int32_t rre = 2;
inline constexpr std::int32_t corre = 4;
inline constexpr std::int32_t hextile = 5;
inline constexpr std::int32_t zlib = 6;
inline constexpr std::int32_t tight = 7;
inline constexpr std::int32_t zrle = 16;
inline constexpr std::int32_t zywrle = 17;
inline constexpr std::int32_t h264 = 50;  // u32 length, u32 flags, data (TigerVNC, noVNC)
inline constexpr std::int32_t tight_png = -260;
inline constexpr std::int32_t desktop_size = -223;
inline constexpr std::int32_t last_rect = -224;
inline constexpr std::int32_t pointer_pos = -232;
inline constexpr std::int32_t cursor = -239;
inline constexpr std::int32_t x_cursor = -240;
inline constexpr std::int32_t qemu_extended_key = -258;
inline constexpr std::int32_t qemu_audio = -259;
inline constexpr std::int32_t qemu_led_state = -261;
inline constexpr std::int32_t desktop_name = -307;
inline constexpr std::int32_t extended_desktop_size = -308;
inline constexpr std::int32_t xvp = -309;  // hint: the server may send xvp messages
inline constexpr std::int32_t fence = -312;
inline constexpr std::int32_t continuous_updates = -313;
inline constexpr std::int32_t cursor_with_alpha = -314;
inline constexpr std::int32_t extended_clipboard = static_cast<std::int32_t>(0xC0A1E5CEu);
inline constexpr std::int32_t vmware_cursor = 0x574d5664;
inline constexpr std::int32_t vmware_cursor_position = 0x574d5666;
inline constexpr std::int32_t vmware_led_state = 0x574d5668;
}  // namespace encoding

// "Tight", "ZRLE", "DesktopSize", "-42".
std::string encoding_name(std::int32_t encoding);

// May a viewer's SetEncodings keep `encoding` when the server direction is
// followed? True for every encoding and pseudo-encoding whose rectangles the
// framer can size, and for hints that never produce a rectangle (JPEG
// quality and compression levels, fine quality, subsampling, extended
// clipboard, QEMU audio). False for the rest: `unknown_encodings: strip`
// removes them from SetEncodings so the server never uses them.
bool tracker_frames_encoding(std::int32_t encoding);

std::string server_message_name(std::uint8_t type);

struct ServerLimits {
  std::uint32_t max_cut_text = 64u << 20;      // bytes of one ServerCutText (plain or extended)
  std::uint32_t max_desktop_name = 4096;       // DesktopName longer than this: framed, the note gets the first bytes
  std::uint8_t max_fence_payload = 64;         // rfbproto: at most 64
  std::uint32_t max_compressed_length = 64u << 20;  // one Zlib/ZRLE/ZYWRLE/Tight/H.264 data block, one QEMU audio block
};

class ServerMessageFramer {
 public:
  // A run of bytes of one message, pointing into the bytes given to feed().
  // The pieces of one feed() tile its bytes exactly, in order (nothing is
  // held back): `first` when the piece holds the message's first byte,
  // `last` when its final one. A FramebufferUpdate is one message from its
  // type byte to the end of its last rectangle.
  struct Piece {
    std::uint8_t type = 0;
    std::span<const std::uint8_t> bytes;
    bool first = false;
    bool last = false;
  };
  struct Rect {
    std::uint16_t x = 0, y = 0, width = 0, height = 0;
    std::int32_t encoding = 0;
  };
  // What the tracker acts on, reported in stream order between the pieces.
  // Each note comes right after the piece holding the byte that completes
  // it, before any later piece: with one piece per message and feed(), the
  // notes of a message follow that message's piece in the same call. Any
  // split gives the same notes in the same order, each after a piece of the
  // same message.
  //   rect:         a rectangle header was read (DesktopSize, ExtendedDesktopSize,
  //                 LastRect and pixel rectangles alike); `rect`
  //   update_ends:  the FramebufferUpdate's last rectangle (or LastRect) ended
  //   desktop_name: a DesktopName rectangle ended; `name` (at most max_desktop_name bytes)
  //   extended_desktop_size: an ExtendedDesktopSize rectangle ended; `rect`
  //                 (x: reason, y: status, width/height: the new size) and `screens`
  struct Note {
    enum class Kind : std::uint8_t { rect, update_ends, desktop_name, extended_desktop_size } kind = Kind::rect;
    Rect rect;
    std::string_view name;  // valid during the call
    std::uint8_t screens = 0;
  };
  class Sink {
   public:
    virtual ~Sink() = default;
    virtual void piece(const Piece& piece) = 0;
    virtual void note(const Note& note) = 0;
  };

  explicit ServerMessageFramer(const PixelFormat& initial, ServerLimits limits = {});
  ~ServerMessageFramer();
  ServerMessageFramer(ServerMessageFramer&&) noexcept;
  ServerMessageFramer& operator=(ServerMessageFramer&&) noexcept;

  // Frames `bytes`, the next ones the server sent. Returns false once the
  // stream cannot be followed (unknown message type or encoding, a length
  // over a limit, a pixel format with another bits-per-pixel than 8/16/32):
  // error() says why and where ("... at offset N": the message's first byte,
  // the rectangle's header, or the field inside a rectangle that is wrong);
  // the pieces up to and including the byte that showed the problem were
  // delivered (offset() counts them), the rest of the call's bytes were not.
  // Later calls return false at once.
  bool feed(std::span<const std::uint8_t> bytes, Sink& sink);

  // What the viewer sent, in the order the tracker saw it (see above).
  void viewer_set_pixel_format(const PixelFormat& format);
  void viewer_enable_continuous_updates(bool enable);

  // How many of the next bytes the framer will count past without looking
  // at them (pixel or zlib data of the rectangle in progress; never a
  // ServerCutText's text): a caller that only watches may feed that many
  // bytes of anything in their place (proxy/tracking/tracker_tap.cpp).
  std::uint64_t skippable() const;

  bool failed() const;
  const std::string& error() const;
  std::uint64_t offset() const;  // bytes framed so far
  const PixelFormat& pixel_format() const;  // the one the current (or next) update uses

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace vhm::rfb
