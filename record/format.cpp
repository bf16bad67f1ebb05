#include "record/format.hpp"

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

}  // namespace vhm::record
