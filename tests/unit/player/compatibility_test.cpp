#include <catch2/catch.hpp>

#include "player/compatibility.hpp"

using vhm::player::incompatibility;
using vhm::player::same_pixel_format;
using vhm::record::PixelFormat;

namespace {

// 32bpp depth 24 true colour, red at 16: what Xvnc and Net::VNC use.
PixelFormat compat_rgb888(std::uint8_t big_endian = 0) {
  return PixelFormat{{32, 24, big_endian, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0}};
}

}  // namespace

TEST_CASE("compatibility: pixel formats compare by what is on the wire") {
  auto padded = compat_rgb888();
  padded.bytes[13] = 7;  // padding
  CHECK(same_pixel_format(compat_rgb888(), padded));
  CHECK_FALSE(same_pixel_format(compat_rgb888(), compat_rgb888(1)));
  auto bgr = compat_rgb888();
  std::swap(bgr.bytes[10], bgr.bytes[12]);
  CHECK_FALSE(same_pixel_format(compat_rgb888(), bgr));
  // 8 bpp colour map: byte order, maxima and shifts mean nothing.
  const PixelFormat map_a{{8, 8, 0, 0, 0, 7, 0, 7, 0, 3, 0, 3, 6, 0, 0, 0}};
  const PixelFormat map_b{{8, 8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}};
  CHECK(same_pixel_format(map_a, map_b));
  CHECK_FALSE(same_pixel_format(map_a, compat_rgb888()));
}

TEST_CASE("compatibility: a different pixel format is refused with both formats named") {
  const auto problem = incompatibility(compat_rgb888(), std::nullopt, compat_rgb888(1), std::nullopt);
  REQUIRE(problem);
  CHECK(*problem ==
        "asked for pixel format 32bpp depth 24 big-endian true-colour r255<<16 g255<<8 b255<<0; this recording "
        "holds 32bpp depth 24 little-endian true-colour r255<<16 g255<<8 b255<<0, which the player cannot convert");
}

TEST_CASE("compatibility: the viewer must accept every recorded encoding except hints") {
  const std::vector<std::int32_t> recorded{16, 7, 1, 0, -239, -256 + 6, -32 + 8, -412, -763};
  CHECK_FALSE(incompatibility(compat_rgb888(), recorded, compat_rgb888(), std::vector<std::int32_t>{7, 16, 1, -239}));
  const auto missing = incompatibility(compat_rgb888(), recorded, compat_rgb888(), std::vector<std::int32_t>{0, 1, 16});
  REQUIRE(missing);
  CHECK(*missing == "does not accept Tight (7), Cursor (-239), which the recorded updates may use; the player "
                    "cannot re-encode them");
  const auto none = incompatibility(compat_rgb888(), std::vector<std::int32_t>{0, 5}, compat_rgb888(), std::nullopt);
  REQUIRE(none);
  CHECK(*none == "sent no SetEncodings (so it decodes only Raw), but the recorded updates may use Hextile (5); the "
                 "player cannot re-encode them");
  CHECK_FALSE(incompatibility(compat_rgb888(), std::vector<std::int32_t>{0, -256}, compat_rgb888(), std::nullopt));
  CHECK_FALSE(incompatibility(compat_rgb888(), std::nullopt, compat_rgb888(), std::nullopt));
}

TEST_CASE("compatibility: SetPixelFormat and SetEncodings bodies") {
  std::vector<std::uint8_t> spf{0, 0, 0, 0};
  const auto format = compat_rgb888(1);
  spf.insert(spf.end(), format.bytes.begin(), format.bytes.end());
  CHECK(vhm::record::pixel_format_of_message(spf) == format);
  const std::vector<std::uint8_t> se{2, 0, 0, 2, 0, 0, 0, 16, 0xff, 0xff, 0xff, 0x11};
  CHECK(vhm::record::encodings_of_message(se) == std::vector<std::int32_t>{16, -239});
}
