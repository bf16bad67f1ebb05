#include "player/client_messages.hpp"

namespace vhm::player {
namespace {

std::uint16_t be16(std::span<const std::uint8_t> b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}

std::uint32_t be32(std::span<const std::uint8_t> b, std::size_t at) {
  return std::uint32_t{b[at]} << 24 | std::uint32_t{b[at + 1]} << 16 | std::uint32_t{b[at + 2]} << 8 | b[at + 3];
}

MessageFrame sized(std::uint8_t type, std::uint64_t size) { return {MessageFrame::Kind::sized, type, size, {}}; }

MessageFrame invalid(std::uint8_t type, std::string error) {
  return {MessageFrame::Kind::invalid, type, 0, std::move(error)};
}

// Fixed size known from the type byte alone; 0 for variable-length types.
std::uint64_t fixed_size(std::uint8_t type) {
  using namespace client_message;
  switch (type) {
    case set_pixel_format: return 20;
    case framebuffer_update_request: return 10;
    case key_event: return 8;
    case pointer_event: return 6;
    case enable_continuous_updates: return 10;
    case xvp: return 4;
    default: return 0;
  }
}

MessageFrame frame_qemu(std::span<const std::uint8_t> b) {
  if (b.size() < 2) return {};
  const std::uint8_t subtype = b[1];
  if (subtype == 0) return sized(client_message::qemu, 12);  // extended key event
  if (subtype != 1) return invalid(client_message::qemu, "unknown QEMU client message sub-type " + std::to_string(subtype));
  if (b.size() < 4) return {};
  const auto operation = be16(b, 2);  // audio: 0 enable, 1 disable, 2 set format
  if (operation == 0 || operation == 1) return sized(client_message::qemu, 4);
  if (operation == 2) return sized(client_message::qemu, 10);
  return invalid(client_message::qemu, "unknown QEMU audio operation " + std::to_string(operation));
}

}  // namespace

MessageFrame frame_client_message(std::span<const std::uint8_t> b) {
  using namespace client_message;
  if (b.empty()) return {};
  const std::uint8_t type = b[0];
  if (const auto size = fixed_size(type)) return sized(type, size);
  switch (type) {
    case set_encodings:
      if (b.size() < 4) return {};
      return sized(type, 4 + 4 * std::uint64_t{be16(b, 2)});
    case client_cut_text: {
      if (b.size() < 8) return {};
      // Negative: the extended clipboard's format; its payload is |length| bytes.
      // Unsigned arithmetic, so -2^31 is 2^31 and not an overflow.
      const std::uint32_t raw = be32(b, 4);
      const std::uint32_t length = (raw & 0x80000000u) ? 0u - raw : raw;
      return sized(type, 8 + std::uint64_t{length});
    }
    case fence:
      if (b.size() < 9) return {};
      return sized(type, 9 + std::uint64_t{b[8]});
    case set_desktop_size:
      if (b.size() < 7) return {};
      return sized(type, 8 + 16 * std::uint64_t{b[6]});
    case gii: {
      if (b.size() < 4) return {};
      // Bit 7 of the second byte: the message's fields are big-endian.
      const bool big_endian = (b[1] & 0x80) != 0;
      const std::uint16_t length = big_endian ? be16(b, 2) : static_cast<std::uint16_t>(b[2] | b[3] << 8);
      return sized(type, 4 + std::uint64_t{length});
    }
    case qemu:
      return frame_qemu(b);
    default:
      return invalid(type, "unknown client message type " + std::to_string(type));
  }
}

const char* client_message_name(std::uint8_t type) {
  using namespace client_message;
  switch (type) {
    case set_pixel_format: return "SetPixelFormat";
    case set_encodings: return "SetEncodings";
    case framebuffer_update_request: return "FramebufferUpdateRequest";
    case key_event: return "KeyEvent";
    case pointer_event: return "PointerEvent";
    case client_cut_text: return "ClientCutText";
    case enable_continuous_updates: return "EnableContinuousUpdates";
    case fence: return "Fence";
    case xvp: return "xvp";
    case set_desktop_size: return "SetDesktopSize";
    case gii: return "gii";
    case qemu: return "QEMU";
    default: return "unknown";
  }
}

}  // namespace vhm::player
