#include "rfb/pixel_format.hpp"

namespace vhm::rfb {

namespace {
std::uint16_t u16(std::span<const std::uint8_t, 16> b, std::size_t at) {
  return static_cast<std::uint16_t>(b[at] << 8 | b[at + 1]);
}
}  // namespace

PixelFormat PixelFormat::from_wire(std::span<const std::uint8_t, 16> b) {
  PixelFormat pf;
  pf.bits_per_pixel = b[0];
  pf.depth = b[1];
  pf.big_endian = b[2] != 0;
  pf.true_colour = b[3] != 0;
  pf.red_max = u16(b, 4);
  pf.green_max = u16(b, 6);
  pf.blue_max = u16(b, 8);
  pf.red_shift = b[10];
  pf.green_shift = b[11];
  pf.blue_shift = b[12];
  return pf;
}

unsigned PixelFormat::bytes_per_pixel() const {
  switch (bits_per_pixel) {
    case 8: return 1;
    case 16: return 2;
    case 32: return 4;
    default: return 0;
  }
}

unsigned PixelFormat::tight_pixel_bytes() const {
  const bool is888 = true_colour && bits_per_pixel == 32 && depth == 24 && red_max == 255 && green_max == 255 &&
                     blue_max == 255 && red_shift % 8 == 0 && green_shift % 8 == 0 && blue_shift % 8 == 0;
  return is888 ? 3 : bytes_per_pixel();
}

}  // namespace vhm::rfb
