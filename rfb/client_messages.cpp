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

// Fixed sizes come from RFC 6143 and rfbproto; variable ones need the bytes
// up to their length field.
ClientMessageSize measure_client_message(std::span<const std::uint8_t> h, const ClientLimits& limits) {
  namespace m = client_message;
  using Kind = ClientMessageSize::Kind;
  if (h.empty()) return {};
  const std::uint8_t type = h[0];
  const std::size_t have = h.size();
  auto sized = [&](std::uint64_t size) { return ClientMessageSize{Kind::sized, type, size, {}}; };
  auto bad = [&](std::string why) { return ClientMessageSize{Kind::invalid, type, 0, std::move(why)}; };
  const ClientMessageSize more{Kind::need_more, type, 0, {}};
  switch (type) {
    case m::set_pixel_format: return sized(20);
    case m::framebuffer_update_request: return sized(10);
    case m::key_event: return sized(8);
    case m::pointer_event: return sized(6);
    case m::enable_continuous_updates: return sized(10);
    case m::xvp: return sized(4);
    case m::set_encodings:  // u8 type, pad, u16 count, count x s32
      return have < 4 ? more : sized(4 + 4ull * be16(&h[2]));
    case m::client_cut_text: {  // u8 type, 3 pad, s32 length (negative: extended clipboard, |length|)
      if (have < 8) return more;
      const std::uint32_t raw = be32(&h[4]);
      const std::uint64_t length = (raw & 0x80000000u) ? std::uint64_t{0u - raw} : raw;  // unsigned: -2^31 is 2^31
      if (length > limits.max_cut_text)
        return bad("viewer sent a ClientCutText of " + std::to_string(length) + " bytes (limit " +
                   std::to_string(limits.max_cut_text) + ")");
      return sized(8 + length);
    }
    case m::fence: {  // u8 type, 3 pad, u32 flags, u8 length, payload
      if (have < 9) return more;
      if (h[8] > limits.max_fence_payload)
        return bad("viewer sent a Fence with " + std::to_string(h[8]) + " payload bytes (limit " +
                   std::to_string(limits.max_fence_payload) + ")");
      return sized(9ull + h[8]);
    }
    case m::set_desktop_size:  // u8 type, pad, u16 w, u16 h, u8 screens, pad, screens x 16
      return have < 7 ? more : sized(8 + 16ull * h[6]);
    case m::gii: {  // u8 type, u8 endian|subtype, u16 length (in the sender's byte order), payload
      if (have < 4) return more;
      const bool big_endian = (h[1] & 0x80) != 0;
      return sized(4ull + (big_endian ? be16(&h[2]) : static_cast<std::uint16_t>(h[2] | (h[3] << 8))));
    }
    case m::qemu: {  // u8 type, u8 subtype: 0 extended key event (12), 1 audio (u16 op: 0/1 -> 4, 2 -> 10)
      if (have < 2) return more;
      if (h[1] == 0) return sized(12);
      if (h[1] != 1) return bad("viewer sent QEMU client message subtype " + std::to_string(h[1]));
      if (have < 4) return more;
      const auto op = be16(&h[2]);
      if (op == 0 || op == 1) return sized(4);
      if (op == 2) return sized(10);
      return bad("viewer sent QEMU audio operation " + std::to_string(op));
    }
    default:
      return bad("viewer sent message type " + std::to_string(type) + ", which is not a known RFB message");
  }
}

ClientMessageFramer::Need ClientMessageFramer::measure() {
  const auto size = measure_client_message(std::span<const std::uint8_t>(header_.data(), header_size_), limits_);
  switch (size.kind) {
    case ClientMessageSize::Kind::need_more:
      return Need::more;
    case ClientMessageSize::Kind::invalid:
      error_ = size.error;
      return Need::bad;
    case ClientMessageSize::Kind::sized:
      break;
  }
  remaining_ = size.size - header_size_;
  return Need::known;
}

}  // namespace vhm::rfb
