#pragma once
// RFB's PIXEL_FORMAT decoded, and the pixel sizes that message framing
// depends on (Raw, RRE, Hextile, cursors: bits-per-pixel; Tight: TPIXEL).
#include <cstdint>
#include <span>

#include "rfb/handshake_parser.hpp"

namespace vhm::rfb {

struct PixelFormat {
  std::uint8_t bits_per_pixel = 32;
  std::uint8_t depth = 24;
  bool big_endian = false;
  bool true_colour = true;
  std::uint16_t red_max = 255, green_max = 255, blue_max = 255;
  std::uint8_t red_shift = 16, green_shift = 8, blue_shift = 0;

  // From the 16 wire bytes (ServerInit, SetPixelFormat's bytes 4..19).
  static PixelFormat from_wire(std::span<const std::uint8_t, 16> bytes);
  static PixelFormat from_wire(const PixelFormatBytes& bytes) { return from_wire(std::span<const std::uint8_t, 16>(bytes)); }

  // 1, 2 or 4 (bits_per_pixel 8, 16, 32); 0 for any other value (not framable).
  unsigned bytes_per_pixel() const;
  // Tight's TPIXEL: 3 for true colour 32 bpp depth 24 with 8-bit channels on
  // byte boundaries (TigerVNC's is888()), otherwise bytes_per_pixel().
  unsigned tight_pixel_bytes() const;
};

}  // namespace vhm::rfb
