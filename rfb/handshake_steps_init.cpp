// ClientInit and ServerInit: the end of the handshake (unless Tight adds its
// interaction capabilities after ServerInit).
#include <algorithm>

#include "rfb/handshake_machine.hpp"

namespace vhm::rfb::detail {

Outcome step_client_init(Machine& m, ByteReader& in) {
  std::uint8_t shared = 0;
  if (!in.u8(shared)) return Outcome::need_more;
  m.emit(ClientInitSeen{shared != 0});
  return m.go(Step::server_init);
}

Outcome step_server_init(Machine& m, ByteReader& in) {
  constexpr std::size_t pixel_format_size = 16;
  std::uint16_t width = 0, height = 0;
  std::uint32_t name_length = 0;
  std::span<const std::uint8_t> pixel_format;
  if (!in.u16(width) || !in.u16(height) || !in.bytes(pixel_format_size, pixel_format) || !in.u32(name_length))
    return Outcome::need_more;
  if (name_length > m.limits.max_desktop_name_length)
    return m.fail(too_long("server sent a desktop name", name_length, m.limits.max_desktop_name_length));
  std::string name;
  if (!in.text(name_length, name)) return Outcome::need_more;
  PixelFormatBytes format{};
  std::copy(pixel_format.begin(), pixel_format.end(), format.begin());
  m.emit(ServerInitSeen{width, height, std::move(name), format});
  return m.tight_active ? m.go(Step::tight_interaction_caps) : m.finish();
}

}  // namespace vhm::rfb::detail
