#include "rfb/client_messages.hpp"

namespace vhm::rfb {
namespace {

std::uint32_t be32(const std::uint8_t* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }

}  // namespace

std::string client_message_name(std::uint8_t type) {
  namespace m = client_message;
  switch (type) {
    case m::set_pixel_format: return "SetPixelFormat";
    case m::set_encodings: return "SetEncodings";
    case m::framebuffer_update_request: return "FramebufferUpdateRequest";
    case m::key_event: return "KeyEvent";
    case m::pointer_event: return "PointerEvent";
    case m::client_cut_text: return "ClientCutText";
    case m::enable_continuous_updates: return "EnableContinuousUpdates";
    case m::fence: return "Fence";
    case m::xvp: return "xvp";
    case m::set_desktop_size: return "SetDesktopSize";
    case m::gii: return "gii";
    case m::qemu: return "QEMU";
    default: return "type-" + std::to_string(type);
  }
}

bool is_viewer_input(std::uint8_t type) {
  namespace m = client_message;
  // QEMU's client messages are its extended key event and audio control;
  // gii carries input device events. Both count as input (fail closed).
  return type == m::key_event || type == m::pointer_event || type == m::client_cut_text || type == m::qemu ||
         type == m::gii;
}

// Fixed sizes come from RFC 6143 and rfbproto; variable ones need their header:
// the smallest prefix that tells the total length is held in header_.
ClientMessageFramer::Need ClientMessageFramer::measure() {
  namespace m = client_message;
  const std::size_t have = header_size_;
  const std::uint8_t* h = header_.data();
  auto fixed = [&](std::size_t size) {
    remaining_ = size - have;
    return Need::known;
  };
  auto bad = [&](std::string why) {
    error_ = std::move(why);
    return Need::bad;
  };
  switch (type_) {
    case m::set_pixel_format: return fixed(20);
    case m::framebuffer_update_request: return fixed(10);
    case m::key_event: return fixed(8);
    case m::pointer_event: return fixed(6);
    case m::enable_continuous_updates: return fixed(10);
    case m::xvp: return fixed(4);
    case m::set_encodings: {  // u8 type, pad, u16 count, count x s32
      if (have < 4) return Need::more;
      remaining_ = 4ull * be16(h + 2);
      return Need::known;
    }
    case m::client_cut_text: {  // u8 type, 3 pad, s32 length (negative: extended clipboard, |length|)
      if (have < 8) return Need::more;
      const auto raw = static_cast<std::int32_t>(be32(h + 4));
      const std::uint64_t length = raw < 0 ? std::uint64_t{0} - static_cast<std::int64_t>(raw) : std::uint64_t(raw);
      if (length > limits_.max_cut_text)
        return bad("viewer sent a ClientCutText of " + std::to_string(length) + " bytes (limit " +
                   std::to_string(limits_.max_cut_text) + ")");
      remaining_ = length;
      return Need::known;
    }
    case m::fence: {  // u8 type, 3 pad, u32 flags, u8 length, payload
      if (have < 9) return Need::more;
      if (h[8] > limits_.max_fence_payload)
        return bad("viewer sent a Fence with " + std::to_string(h[8]) + " payload bytes (limit " +
                   std::to_string(limits_.max_fence_payload) + ")");
      remaining_ = h[8];
      return Need::known;
    }
    case m::set_desktop_size: {  // u8 type, pad, u16 w, u16 h, u8 screens, pad, screens x 16
      if (have < 8) return Need::more;
      remaining_ = 16ull * h[6];
      return Need::known;
    }
    case m::gii: {  // u8 type, u8 endian|subtype, u16 length (in the sender's byte order), payload
      if (have < 4) return Need::more;
      const bool big_endian = (h[1] & 0x80) != 0;
      remaining_ = big_endian ? be16(h + 2) : static_cast<std::uint16_t>(h[2] | (h[3] << 8));
      return Need::known;
    }
    case m::qemu: {  // u8 type, u8 subtype: 0 extended key event (12), 1 audio (u16 op: 0/1 -> 4, 2 -> 10)
      if (have < 2) return Need::more;
      if (h[1] == 0) return fixed(12);
      if (h[1] != 1) return bad("viewer sent QEMU client message subtype " + std::to_string(h[1]));
      if (have < 4) return Need::more;
      const auto op = be16(h + 2);
      if (op == 0 || op == 1) return fixed(4);
      if (op == 2) return fixed(10);
      return bad("viewer sent QEMU audio operation " + std::to_string(op));
    }
    default:
      return bad("viewer sent message type " + std::to_string(type_) + ", which the proxy does not know");
  }
}

}  // namespace vhm::rfb
