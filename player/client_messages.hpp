#pragma once
// Framing of the viewer -> server messages after initialisation: the player
// must know where each message ends to find the SetPixelFormat, SetEncodings
// and FramebufferUpdateRequest among key, pointer, clipboard and extension
// messages. Pure: bytes in, a size out; the same answer for any split.
#include <cstdint>
#include <span>
#include <string>

namespace vhm::player {

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

struct MessageFrame {
  enum class Kind : std::uint8_t {
    need_more,  // the bytes so far do not yet tell the message's size
    sized,      // `size` is the whole message's length (it may not all be there yet)
    invalid,    // unknown type or sub-type: `error` says which; the stream cannot be followed
  };
  Kind kind = Kind::need_more;
  std::uint8_t type = 0;
  std::uint64_t size = 0;  // up to 8 + 2^31 (ClientCutText): callers skip, never buffer, large ones
  std::string error;
};

// Looks at the start of `bytes` (the first byte is a message type).
MessageFrame frame_client_message(std::span<const std::uint8_t> bytes);

const char* client_message_name(std::uint8_t type);

}  // namespace vhm::player
