// The server-stream framer's rectangles: every encoding and pseudo-encoding
// it sizes, fed whole, byte by byte and in random chunks (server_framing.hpp).
// Each stream ends with a Bell, so a rectangle sized wrong shows as messages
// cut in the wrong places.
#include <catch2/catch.hpp>

#include "rfb/server_messages.hpp"
#include "tests/unit/rfb/server_framing.hpp"

namespace vhm::rfb::test {

namespace {
// One update holding `rects`, then a Bell.
ServerFramed expect_update(const std::vector<Bytes>& rects, const PixelFormat& format = pf32(),
                           const ServerLimits& limits = {}) {
  return expect_messages({update(rects), bell}, format, limits);
}
// The encoding's rectangles only: the update's notes without the rect lines.
Strings data_notes(const ServerFramed& framed) {
  Strings out;
  for (const auto& n : framed.notes)
    if (n.find(" rect ") == std::string::npos) out.push_back(n);
  return out;
}
}  // namespace

TEST_CASE("server messages: Raw, CopyRect, RRE and CoRRE") {
  const auto framed = expect_update({
      cat(rect_header(0, 0, 3, 2, encoding::raw), filled(24, 'p')),
      cat(rect_header(0, 0, 0, 7, encoding::raw)),
      cat(rect_header(5, 6, 30, 20, encoding::copy_rect), u16(1), u16(2)),
      cat(rect_header(0, 0, 64, 64, encoding::rre), u32(2), filled(4, 'b'), filled(2 * (4 + 8), 's')),
      cat(rect_header(0, 0, 64, 64, encoding::rre), u32(0), filled(4, 'b')),
      cat(rect_header(0, 0, 64, 64, encoding::corre), u32(3), filled(4, 'b'), filled(3 * (4 + 4), 's')),
  });
  CHECK(framed.notes == Strings{"0 rect 0,0 3x2 Raw", "0 rect 0,0 0x7 Raw", "0 rect 5,6 30x20 CopyRect",
                                "0 rect 0,0 64x64 RRE", "0 rect 0,0 64x64 RRE", "0 rect 0,0 64x64 CoRRE",
                                "0 update ends"});
  // 16 bits per pixel.
  expect_update({cat(rect_header(0, 0, 3, 2, encoding::raw), filled(12, 'p')),
                 cat(rect_header(0, 0, 64, 64, encoding::rre), u32(2), filled(2, 'b'), filled(2 * (2 + 8), 's')),
                 cat(rect_header(0, 0, 64, 64, encoding::corre), u32(1), filled(2, 'b'), filled(2 + 4, 's'))},
                pf16());
}

TEST_CASE("server messages: Hextile tiles, edge tiles and every subencoding") {
  // 20x18: tiles 16x16, 4x16, 16x2, 4x2.
  expect_update({cat(rect_header(0, 0, 20, 18, encoding::hextile),
                     u8(0x01), filled(16 * 16 * 4, 'r'),                             // Raw tile
                     u8(0x1E), filled(4, 'b'), filled(4, 'f'), u8(2), filled(2 * 6, 's'),  // coloured subrects
                     u8(0x00),                                                       // same background
                     u8(0x1F), filled(4 * 2 * 4, 'r'))});                            // Raw wins over other bits
  expect_update({cat(rect_header(0, 0, 17, 1, encoding::hextile),
                     u8(0x08), u8(3), filled(3 * 2, 's'),  // 16x1: plain subrects
                     u8(0x0A), filled(4, 'b'), u8(0)),     // 1x1: background, 0 subrects
                 cat(rect_header(0, 0, 0, 16, encoding::hextile))});
  // 16 and 8 bits per pixel.
  expect_update({cat(rect_header(0, 0, 16, 32, encoding::hextile), u8(0x01), filled(16 * 16 * 2, 'r'), u8(0x1E),
                     filled(2, 'b'), filled(2, 'f'), u8(1), filled(2 + 2, 's'))},
                pf16());
  expect_update({cat(rect_header(0, 0, 3, 3, encoding::hextile), u8(0x01), filled(9, 'r'))}, pf8());
}

TEST_CASE("server messages: Zlib, ZRLE, ZYWRLE and H.264 data is skipped by its length") {
  expect_update({
      cat(rect_header(0, 0, 100, 100, encoding::zlib), u32(5), filled(5, 'z')),
      cat(rect_header(0, 0, 100, 100, encoding::zrle), u32(7), filled(7, 'z')),
      cat(rect_header(0, 0, 100, 100, encoding::zywrle), u32(0)),
      cat(rect_header(0, 0, 100, 100, encoding::h264), u32(3), u32(1), filled(3, 'h')),
  });
  const auto framed = frame_every_way(update({cat(rect_header(0, 0, 1, 1, encoding::zrle), u32(101))}), pf32(),
                                      ServerLimits{.max_compressed_length = 100});
  CHECK(framed.error == "cannot frame ZRLE data of 101 bytes (limit 100) at offset 16");
}

TEST_CASE("server messages: Tight fill, JPEG and basic compression with every filter") {
  expect_update({
      cat(rect_header(0, 0, 9, 9, encoding::tight), u8(0x80), filled(3, 'f')),        // fill, TPIXEL 3
      cat(rect_header(0, 0, 9, 9, encoding::tight), u8(0x8F), filled(3, 'f')),        // fill, streams reset
      cat(rect_header(0, 0, 9, 9, encoding::tight), u8(0x90), compact_length(200), filled(200, 'j')),  // JPEG
      cat(rect_header(0, 0, 2, 1, encoding::tight), u8(0x00), filled(6, 'd')),        // copy, 6 bytes: no length
      cat(rect_header(0, 0, 4, 4, encoding::tight), u8(0x01), compact_length(20), filled(20, 'z')),  // copy, 48
      cat(rect_header(0, 0, 2, 1, encoding::tight), u8(0x40), u8(0), filled(6, 'd')),  // explicit copy filter
      cat(rect_header(0, 0, 10, 3, encoding::tight), u8(0x50), u8(1), u8(1), filled(6, 'c'),
          filled(6, 'd')),  // palette of 2: 1 bit per pixel, 2 bytes x 3 rows
      cat(rect_header(0, 0, 20, 2, encoding::tight), u8(0x40), u8(1), u8(0), filled(3, 'c'),
          filled(6, 'd')),  // palette of 1: 1 bit per pixel too (TigerVNC, noVNC)
      cat(rect_header(0, 0, 4, 4, encoding::tight), u8(0x60), u8(1), u8(4), filled(15, 'c'), compact_length(9),
          filled(9, 'z')),  // palette of 5: a byte per pixel, 16 bytes
      cat(rect_header(0, 0, 3, 2, encoding::tight), u8(0x60), u8(1), u8(255), filled(256 * 3, 'c'),
          filled(6, 'd')),  // palette of 256, 6 bytes
      cat(rect_header(0, 0, 3, 3, encoding::tight), u8(0x70), u8(2), compact_length(20000),
          filled(20000, 'g')),  // gradient, 3-byte length
      cat(rect_header(0, 0, 0, 0, encoding::tight), u8(0x00)),  // empty: no data
  });
  // 16 bits per pixel: TPIXEL is 2.
  expect_update({cat(rect_header(0, 0, 9, 9, encoding::tight), u8(0x80), filled(2, 'f')),
                 cat(rect_header(0, 0, 3, 1, encoding::tight), u8(0x00), filled(6, 'd'))},
                pf16());
  // 32 bits per pixel that are not 8-bit channels: TPIXEL is 4.
  PixelFormat deep = pf32();
  deep.depth = 30;
  deep.red_max = deep.green_max = deep.blue_max = 1023;
  deep.red_shift = 20, deep.green_shift = 10;
  expect_update({cat(rect_header(0, 0, 9, 9, encoding::tight), u8(0x80), filled(4, 'f')),
                 cat(rect_header(0, 0, 2, 1, encoding::tight), u8(0x00), filled(8, 'd'))},
                deep);
}

TEST_CASE("server messages: TightPNG") {
  expect_update({
      cat(rect_header(0, 0, 9, 9, encoding::tight_png), u8(0xA0), compact_length(10), filled(10, 'p')),
      cat(rect_header(0, 0, 9, 9, encoding::tight_png), u8(0x90), compact_length(3), filled(3, 'j')),
      cat(rect_header(0, 0, 9, 9, encoding::tight_png), u8(0x80), filled(3, 'f')),
  });
}

TEST_CASE("server messages: bad Tight control bytes and filters stop the framing") {
  auto framed = frame_every_way(update({cat(rect_header(0, 0, 9, 9, encoding::tight), u8(0xA0), u8(3), filled(3, 'p'))}));
  CHECK(framed.error == "cannot frame Tight control byte 0xa0 at offset 16");  // PNG is TightPNG's only
  CHECK(framed.offset == 17);
  framed = frame_every_way(update({cat(rect_header(0, 0, 9, 9, encoding::tight_png), u8(0xB0))}));
  CHECK(framed.error == "cannot frame TightPNG control byte 0xb0 at offset 16");
  framed = frame_every_way(update({cat(rect_header(0, 0, 9, 9, encoding::tight), u8(0xF3))}));
  CHECK(framed.error == "cannot frame Tight control byte 0xf3 at offset 16");
  framed = frame_every_way(update({cat(rect_header(0, 0, 9, 9, encoding::tight), u8(0x40), u8(3))}));
  CHECK(framed.error == "cannot frame Tight filter 3 at offset 17");
  framed = frame_every_way(update({cat(rect_header(0, 0, 9, 9, encoding::tight), u8(0x90), compact_length(5000))}),
                           pf32(), ServerLimits{.max_compressed_length = 4096});
  CHECK(framed.error == "cannot frame Tight data of 5000 bytes (limit 4096) at offset 17");
  framed = frame_every_way(update({cat(rect_header(0, 0, 9, 9, encoding::tight), u8(0x80), filled(3, 'f'))}), pf_bpp(24));
  CHECK(framed.error == "cannot frame encoding Tight at offset 4 in a pixel format of 24 bits per pixel");
}

TEST_CASE("server messages: cursors") {
  expect_update({
      cat(rect_header(1, 2, 5, 3, encoding::cursor), filled(5 * 3 * 4, 'p'), filled(1 * 3, 'm')),
      cat(rect_header(0, 0, 0, 0, encoding::cursor)),
      cat(rect_header(1, 2, 10, 2, encoding::x_cursor), filled(6, 'c'), filled(2 * 2 * 2, 'm')),
      cat(rect_header(0, 0, 0, 0, encoding::x_cursor)),
      cat(rect_header(1, 2, 2, 2, encoding::cursor_with_alpha), s32(encoding::raw), filled(16, 'a')),
      cat(rect_header(1, 2, 3, 2, encoding::vmware_cursor), u8(0), u8(0), filled(2 * 6 * 4, 'v')),
      cat(rect_header(1, 2, 3, 2, encoding::vmware_cursor), u8(1), u8(0), filled(6 * 4, 'v')),
  });
  expect_update({cat(rect_header(1, 2, 9, 3, encoding::cursor), filled(9 * 3 * 2, 'p'), filled(2 * 3, 'm')),
                 cat(rect_header(1, 2, 3, 2, encoding::vmware_cursor), u8(0), u8(0), filled(2 * 6 * 2, 'v')),
                 cat(rect_header(1, 2, 2, 2, encoding::cursor_with_alpha), s32(encoding::raw), filled(16, 'a'))},
                pf16());
  auto framed = frame_every_way(
      update({cat(rect_header(1, 2, 2, 2, encoding::cursor_with_alpha), s32(encoding::tight), u8(0x80))}));
  CHECK(framed.error == "cannot frame CursorWithAlpha with inner encoding Tight at offset 4");
  framed = frame_every_way(update({cat(rect_header(1, 2, 2, 2, encoding::vmware_cursor), u8(2), u8(0))}));
  CHECK(framed.error == "cannot frame VMwareCursor of type 2 at offset 4");
}

TEST_CASE("server messages: pseudo-encodings without data or with a few bytes") {
  const auto framed = expect_update({
      rect_header(0, 0, 800, 600, encoding::desktop_size),
      rect_header(10, 20, 0, 0, encoding::pointer_pos),
      rect_header(0, 0, 0, 0, encoding::qemu_extended_key),
      rect_header(0, 0, 0, 0, encoding::qemu_audio),
      cat(rect_header(0, 0, 0, 0, encoding::qemu_led_state), u8(5)),
      cat(rect_header(0, 0, 0, 0, encoding::vmware_led_state), u32(7)),
      rect_header(3, 4, 0, 0, encoding::vmware_cursor_position),
      rect_header(0, 0, 0, 0, encoding::fence),
      rect_header(0, 0, 0, 0, encoding::continuous_updates),
  });
  CHECK(framed.notes.size() == 10);
  CHECK(framed.notes.front() == "0 rect 0,0 800x600 DesktopSize");
}

TEST_CASE("server messages: ExtendedDesktopSize and DesktopName notes") {
  const auto framed = expect_update({
      cat(rect_header(1, 0, 1024, 768, encoding::extended_desktop_size), u8(2), zeros(3), filled(32, 's')),
      cat(rect_header(0, 3, 800, 600, encoding::extended_desktop_size), u8(0), zeros(3)),
      cat(rect_header(0, 0, 0, 0, encoding::desktop_name), u32(6), text("office")),
      cat(rect_header(0, 0, 0, 0, encoding::desktop_name), u32(0)),
  });
  CHECK(data_notes(framed) == Strings{"0 extended desktop size reason 1 status 0 1024x768 screens 2",
                                      "0 extended desktop size reason 0 status 3 800x600 screens 0",
                                      "0 desktop name 'office'", "0 desktop name ''", "0 update ends"});
  // A name over the limit: framed whole, the note keeps its first bytes.
  const auto longer = expect_update({cat(rect_header(0, 0, 0, 0, encoding::desktop_name), u32(10), text("0123456789"))},
                                    pf32(), ServerLimits{.max_desktop_name = 4});
  CHECK(data_notes(longer) == Strings{"0 desktop name '0123'", "0 update ends"});
}

TEST_CASE("server messages: LastRect ends an update early") {
  const auto framed = expect_messages({
      update(0xFFFF, {cat(rect_header(0, 0, 1, 1, encoding::copy_rect), u32(0)), rect_header(0, 0, 0, 0, encoding::last_rect)}),
      update(5, {rect_header(0, 0, 0, 0, encoding::last_rect)}),
      bell,
  });
  CHECK(framed.notes == Strings{"0 rect 0,0 1x1 CopyRect", "0 rect 0,0 0x0 LastRect", "0 update ends",
                                "1 rect 0,0 0x0 LastRect", "1 update ends"});
}

TEST_CASE("server messages: an encoding it cannot frame stops the framing at its rectangle") {
  auto framed = frame_every_way(cat(bell, update({cat(rect_header(0, 0, 1, 1, encoding::copy_rect), u32(0)),
                                                  cat(rect_header(0, 0, 4, 4, 15), filled(20, 't'))})));
  CHECK(framed.error == "cannot frame encoding TRLE at offset 21");
  CHECK(framed.offset == 33);
  CHECK(framed.complete == std::vector<bool>{true, false});
  framed = frame_every_way(update({rect_header(0, 0, 4, 4, -42)}));
  CHECK(framed.error == "cannot frame encoding -42 at offset 4");
}

}  // namespace vhm::rfb::test
