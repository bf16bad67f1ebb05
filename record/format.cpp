#include "record/format.hpp"

#include <algorithm>

namespace vhm::record {

std::string describe(const PixelFormat& format) {
  const auto& b = format.bytes;
  const auto u16 = [&](std::size_t at) { return std::to_string(b[at] << 8 | b[at + 1]); };
  std::string text = std::to_string(b[0]) + "bpp depth " + std::to_string(b[1]) +
                     (b[2] != 0 ? " big-endian" : " little-endian");
  if (b[3] == 0) return text + " colour-map";
  return text + " true-colour r" + u16(4) + "<<" + std::to_string(b[10]) + " g" + u16(6) + "<<" +
         std::to_string(b[11]) + " b" + u16(8) + "<<" + std::to_string(b[12]);
}

PixelFormat pixel_format_of_message(std::span<const std::uint8_t> message) {
  PixelFormat format;
  std::copy_n(message.begin() + 4, format.bytes.size(), format.bytes.begin());
  return format;
}

std::vector<std::int32_t> encodings_of_message(std::span<const std::uint8_t> message) {
  const std::size_t count = static_cast<std::size_t>(message[2] << 8 | message[3]);
  std::vector<std::int32_t> encodings;
  encodings.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto* p = message.data() + 4 + 4 * i;
    encodings.push_back(static_cast<std::int32_t>(std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 |
                                                  std::uint32_t{p[2]} << 8 | p[3]));
  }
  return encodings;
}

}  // namespace vhm::record
