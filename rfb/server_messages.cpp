// The server-stream framer: a small state machine over the bytes as they
// pass. Four phases do all the work: `gather` copies a fixed structure (a
// message header, a rectangle header, a length) into a 16-byte scratch
// buffer, `skip` counts past data whose length is known (pixels, zlib
// streams), `name` keeps a DesktopName's first bytes, and `hextile` walks
// Hextile tiles in a loop of its own. What comes next is decided in
// gathered() (by `step`) and after_skip() (by `then`). Nothing is held back:
// bytes copied into the scratch buffer are still part of the piece
// delivered at the end of the message or of the call.
//
// Notes: each note is delivered right after the piece that holds the byte
// completing it (the last byte of a rectangle header, of a DesktopName,
// of the update), before any later piece. Pieces being one per message and
// call, the notes of a message found in one feed() wait in `notes` until
// its piece is delivered (with the names they carry in `note_names`): for
// any split, the notes come in the same order and each follows a piece of
// the same message.
#include "rfb/server_messages.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <vector>

namespace vhm::rfb {

struct ServerMessageFramer::State {
  // (Members, not file-local functions: the module is built in unity batches.)
  static std::uint32_t be32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
  }
  static std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>((p[0] << 8) | p[1]); }
  // Tight sends data shorter than this uncompressed and without a length (rfbproto, TigerVNC's TIGHT_MIN_TO_COMPRESS).
  static constexpr std::uint64_t tight_min_to_compress = 12;

  enum class Phase : std::uint8_t { gather, skip, name, hextile };
  // What gathered() does once `want` bytes are in the scratch buffer.
  enum class Step : std::uint8_t {
    message_header,  // the message's fixed part, type byte at scratch[0]
    qemu_audio,      // QEMU: type, subtype, u16 operation (and u32 length for operation 2)
    rect_header,     // x, y, w, h, encoding
    rre_header,      // u32 subrectangles + background pixel (RRE and CoRRE)
    data_length,     // u32 length (Zlib, ZRLE, ZYWRLE)
    h264_header,     // u32 length, u32 flags
    tight_control,
    tight_filter,
    tight_palette,   // u8 colours - 1
    tight_length,    // compact length, 1 to 3 bytes
    cursor_alpha,    // s32 inner encoding
    vmware_cursor,   // u8 type, pad
    extended_desktop_size,  // u8 screens, 3 pad
    desktop_name_length,
  };
  // What after_skip() does.
  enum class Then : std::uint8_t { message_end, rect_end, tight_data };
  enum class Status : std::uint8_t { more, ended, failed };

  struct QueuedNote {
    Note::Kind kind;
    Rect rect;
    std::uint32_t name_at = 0, name_size = 0;
    std::uint8_t screens = 0;
  };

  State(const PixelFormat& initial, const ServerLimits& l)
      : limits(l), active(initial), at_next_update(initial), at_eocu(initial) {}

  ServerLimits limits;
  PixelFormat active;   // the one updates use now
  // The viewer's SetPixelFormat not in force yet: the one for the next
  // update's start, and the one for the EndOfContinuousUpdates to come (sent
  // while that was awaited, so always the later of the two).
  PixelFormat at_next_update, at_eocu;
  bool has_at_next_update = false, has_at_eocu = false;
  bool viewer_cu = false;        // the viewer's continuous updates are on (as far as it said)
  bool eocu_awaited = false;     // the viewer turned them off; the server's EndOfContinuousUpdates is to come

  std::string error;
  std::uint64_t offset = 0;  // bytes framed before the current call

  // Position within the current call, for offsets in errors and gathers.
  const std::uint8_t* call_begin = nullptr;

  bool in_message = false;
  bool in_update = false;
  std::uint8_t type = 0;
  std::uint64_t message_offset = 0;
  Phase phase = Phase::gather;
  Step step = Step::message_header;
  Then then = Then::message_end;
  std::array<std::uint8_t, 16> scratch{};
  std::uint8_t have = 0, want = 0;
  std::uint64_t gather_offset = 0;  // where the gathered structure starts
  std::uint64_t skip = 0;

  // The update and its current rectangle.
  std::uint16_t rects_left = 0;
  Rect rect;
  std::uint64_t rect_offset = 0;
  unsigned bpp = 0;  // bytes per pixel for the current rectangle, when it needs one
  bool rect_is_last = false;

  // Tight.
  std::uint8_t tight_filter = 0;
  unsigned tight_colours = 0;
  std::uint64_t tight_raw_size = 0;
  unsigned tpixel = 0;

  // Hextile.
  std::uint32_t tiles_x = 0, tiles_y = 0, tile_col = 0, tile_row = 0;
  std::uint32_t tile_w = 0, tile_h = 0;
  std::uint32_t subrect_size = 0;
  bool tile_count_next = false;  // the next byte is a tile's subrectangle count

  // DesktopName.
  std::string name;
  std::uint64_t name_left = 0;

  std::vector<QueuedNote> notes;
  std::string note_names;

  std::uint64_t at(const std::uint8_t* p) const { return offset + static_cast<std::uint64_t>(p - call_begin); }

  Status fail(std::string why) {
    error = std::move(why);
    return Status::failed;
  }

  void gather(Step s, unsigned n, std::uint64_t here) {
    phase = Phase::gather;
    step = s;
    have = 0;
    want = static_cast<std::uint8_t>(n);
    gather_offset = here;
  }
  Status skip_then(std::uint64_t n, Then t) {
    phase = Phase::skip;
    skip = n;
    then = t;
    return Status::more;
  }
  void note(Note::Kind kind) { notes.push_back(QueuedNote{kind, rect, 0, 0, 0}); }

  // --- messages --------------------------------------------------------------

  // The type byte was read (at `here` - 1).
  Status start_message(std::uint8_t t, std::uint64_t here) {
    namespace m = server_message;
    type = t;
    message_offset = here - 1;
    switch (t) {
      case m::framebuffer_update:
        // A viewer sends SetPixelFormat when the update in progress or just
        // ended is the last in the old format (TigerVNC 1.12 at an update's
        // end with its next request; later versions at an update's start,
        // switching at its end: CConnection::framebufferUpdateEnd). Either
        // way the proxy framed that update's start before it saw the
        // SetPixelFormat, so the next update to start is the first in the
        // new format. Unless the viewer waits for the EndOfContinuousUpdates
        // answering its turning them off (below).
        if (has_at_next_update) {
          active = at_next_update;
          has_at_next_update = false;
        }
        in_update = true;
        return header(4, here);
      case m::set_colour_map_entries: return header(6, here);
      case m::bell: return Status::ended;
      case m::server_cut_text: return header(8, here);
      case m::end_of_continuous_updates:
        // The server answers each EnableContinuousUpdates(false) with this
        // message; a viewer that turned continuous updates off to change its
        // format (TigerVNC) switches here: the updates before it were sent in
        // the old format, the ones after in the new one.
        if (has_at_eocu) {
          active = at_eocu;
          has_at_eocu = has_at_next_update = false;  // an earlier one no update used is superseded
        }
        eocu_awaited = false;
        return Status::ended;
      case m::fence: return header(9, here);
      case m::xvp: return header(4, here);
      case m::qemu:
        scratch[0] = t;
        have = 1;
        want = 2;
        phase = Phase::gather;
        step = Step::qemu_audio;
        gather_offset = message_offset;
        return Status::more;
      default:
        return fail("cannot frame server message type " + std::to_string(t) + " at offset " +
                    std::to_string(message_offset));
    }
  }
  Status header(unsigned size, std::uint64_t here) {
    gather(Step::message_header, size, here);
    scratch[0] = type;
    have = 1;
    gather_offset = message_offset;
    return Status::more;
  }

  Status message_header(std::uint64_t here) {
    namespace m = server_message;
    const std::uint8_t* h = scratch.data();
    switch (type) {
      case m::framebuffer_update:
        rects_left = be16(h + 2);
        if (rects_left == 0) return update_ends();
        gather(Step::rect_header, 12, here);
        return Status::more;
      case m::set_colour_map_entries: return skip_then(6ull * be16(h + 4), Then::message_end);
      case m::server_cut_text: {
        const std::uint32_t raw = be32(h + 4);
        const std::uint64_t length = (raw & 0x80000000u) ? std::uint64_t{0u - raw} : raw;  // negative: extended
        if (length > limits.max_cut_text)
          return fail("cannot frame a ServerCutText of " + std::to_string(length) + " bytes (limit " +
                      std::to_string(limits.max_cut_text) + ") at offset " + std::to_string(message_offset));
        return skip_then(length, Then::message_end);
      }
      case m::fence:
        if (h[8] > limits.max_fence_payload)
          return fail("cannot frame a Fence with " + std::to_string(h[8]) + " payload bytes (limit " +
                      std::to_string(limits.max_fence_payload) + ") at offset " + std::to_string(message_offset));
        return skip_then(h[8], Then::message_end);
      case m::xvp: return Status::ended;
      default: return Status::ended;  // not reached: every type with a header is above
    }
  }

  // QEMU server messages: subtype 1 is audio (u16 operation: 0 end, 1 begin, 2 data with u32 length).
  Status qemu_audio() {
    const std::uint8_t* h = scratch.data();
    if (want == 2) {
      if (h[1] != 1)
        return fail("cannot frame QEMU server message subtype " + std::to_string(h[1]) + " at offset " +
                    std::to_string(message_offset));
      want = 4;
      return Status::more;
    }
    const std::uint16_t op = be16(h + 2);
    if (want == 4) {
      if (op == 0 || op == 1) return Status::ended;
      if (op != 2)
        return fail("cannot frame QEMU audio operation " + std::to_string(op) + " at offset " +
                    std::to_string(message_offset));
      want = 8;
      return Status::more;
    }
    const std::uint32_t length = be32(h + 4);
    if (length > limits.max_compressed_length)
      return fail("cannot frame QEMU audio data of " + std::to_string(length) + " bytes (limit " +
                  std::to_string(limits.max_compressed_length) + ") at offset " + std::to_string(message_offset));
    return skip_then(length, Then::message_end);
  }

  // --- rectangles ----------------------------------------------------------------

  Status update_ends() {
    note(Note::Kind::update_ends);
    in_update = false;
    return Status::ended;
  }

  Status rect_end(std::uint64_t here) {
    --rects_left;
    if (rect_is_last || rects_left == 0) return update_ends();
    gather(Step::rect_header, 12, here);
    return Status::more;
  }

  // Bytes per pixel of the format in force, or 0 after failing: only the
  // rectangles that need it check it.
  unsigned need_bpp() {
    const unsigned b = active.bytes_per_pixel();
    if (b == 0)
      fail("cannot frame encoding " + encoding_name(rect.encoding) + " at offset " + std::to_string(rect_offset) +
           " in a pixel format of " + std::to_string(active.bits_per_pixel) + " bits per pixel");
    return b;
  }

  // A data block's length (of the current rectangle's encoding), checked against the limit.
  Status length_limit(std::uint64_t length, std::uint64_t field_offset, Then t) {
    if (length > limits.max_compressed_length)
      return fail("cannot frame " + encoding_name(rect.encoding) + " data of " + std::to_string(length) + " bytes (limit " +
                  std::to_string(limits.max_compressed_length) + ") at offset " + std::to_string(field_offset));
    return skip_then(length, t);
  }

  Status rect_header(std::uint64_t here) {
    namespace e = encoding;
    const std::uint8_t* h = scratch.data();
    rect = Rect{be16(h), be16(h + 2), be16(h + 4), be16(h + 6), static_cast<std::int32_t>(be32(h + 8))};
    rect_offset = gather_offset;
    rect_is_last = false;
    note(Note::Kind::rect);
    const std::uint64_t w = rect.width, hgt = rect.height, area = w * hgt;
    switch (rect.encoding) {
      case e::raw:
        if ((bpp = need_bpp()) == 0) return Status::failed;
        return skip_then(area * bpp, Then::rect_end);
      case e::copy_rect: return skip_then(4, Then::rect_end);
      case e::rre:
      case e::corre:
        if ((bpp = need_bpp()) == 0) return Status::failed;
        gather(Step::rre_header, 4 + bpp, here);
        return Status::more;
      case e::hextile:
        if ((bpp = need_bpp()) == 0) return Status::failed;
        tiles_x = (rect.width + 15u) / 16u;
        tiles_y = (rect.height + 15u) / 16u;
        if (tiles_x == 0 || tiles_y == 0) return rect_end(here);
        tile_col = tile_row = 0;
        tile_w = std::min<std::uint32_t>(16, rect.width);
        tile_h = std::min<std::uint32_t>(16, rect.height);
        tile_count_next = false;
        skip = 0;
        phase = Phase::hextile;
        return Status::more;
      case e::zlib:
      case e::zrle:
      case e::zywrle: gather(Step::data_length, 4, here); return Status::more;
      case e::h264: gather(Step::h264_header, 8, here); return Status::more;
      case e::tight:
      case e::tight_png: gather(Step::tight_control, 1, here); return Status::more;
      case e::cursor:
        if ((bpp = need_bpp()) == 0) return Status::failed;
        return skip_then(area * bpp + (w + 7) / 8 * hgt, Then::rect_end);
      case e::x_cursor: return skip_then(area == 0 ? 0 : 6 + 2 * ((w + 7) / 8) * hgt, Then::rect_end);
      case e::cursor_with_alpha: gather(Step::cursor_alpha, 4, here); return Status::more;
      case e::vmware_cursor: gather(Step::vmware_cursor, 2, here); return Status::more;
      case e::last_rect:
        rect_is_last = true;
        return rect_end(here);
      case e::desktop_size:
      case e::pointer_pos:
      case e::qemu_extended_key:
      case e::qemu_audio:  // TigerVNC's server announces audio with one (TigerVNC's CMsgReader)
      case e::vmware_cursor_position:
      case e::fence:
      case e::continuous_updates: return rect_end(here);
      case e::qemu_led_state: return skip_then(1, Then::rect_end);
      case e::vmware_led_state: return skip_then(4, Then::rect_end);
      case e::extended_desktop_size: gather(Step::extended_desktop_size, 4, here); return Status::more;
      case e::desktop_name: gather(Step::desktop_name_length, 4, here); return Status::more;
      default:
        return fail("cannot frame encoding " + encoding_name(rect.encoding) + " at offset " +
                    std::to_string(rect_offset));
    }
  }

  // Tight (rfbproto, TigerVNC's TightDecoder): the control byte's high
  // nibble is 8 fill, 9 JPEG, 10 PNG (TightPNG only), 0-7 basic compression
  // (bit 6 of the byte: a filter byte follows); the low nibble resets zlib
  // streams and does not change lengths.
  Status tight_control(std::uint64_t here) {
    const std::uint8_t c = scratch[0];
    const unsigned mode = c >> 4;
    if (mode == 8) {  // fill: one TPIXEL
      if (!tight_pixel()) return Status::failed;
      return skip_then(tpixel, Then::rect_end);
    }
    if (mode == 9 || (mode == 10 && rect.encoding == encoding::tight_png)) {  // JPEG / PNG: compact length + data
      gather(Step::tight_length, 1, here);
      return Status::more;
    }
    if (mode > 7) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", c);
      return fail(std::string("cannot frame ") + encoding_name(rect.encoding) + " control byte " + hex +
                  " at offset " + std::to_string(gather_offset));
    }
    if (!tight_pixel()) return Status::failed;
    if (c & 0x40) {
      gather(Step::tight_filter, 1, here);
      return Status::more;
    }
    tight_filter = 0;
    return tight_data(here);
  }
  bool tight_pixel() {
    tpixel = active.bytes_per_pixel() == 0 ? 0 : active.tight_pixel_bytes();
    if (tpixel == 0) need_bpp();
    return tpixel != 0;
  }
  Status tight_filter_byte(std::uint64_t here) {
    tight_filter = scratch[0];
    switch (tight_filter) {
      case 0:  // copy
      case 2:  // gradient
        return tight_data(here);
      case 1: gather(Step::tight_palette, 1, here); return Status::more;
      default:
        return fail("cannot frame " + encoding_name(rect.encoding) + " filter " + std::to_string(tight_filter) +
                    " at offset " + std::to_string(gather_offset));
    }
  }
  // The pixel data's size before compression decides whether a compact length follows.
  Status tight_data(std::uint64_t here) {
    const std::uint64_t w = rect.width, h = rect.height;
    if (tight_filter == 1)  // palette: 1 bit per pixel for up to 2 colours (TigerVNC, noVNC), else 1 byte
      tight_raw_size = tight_colours <= 2 ? (w + 7) / 8 * h : w * h;
    else
      tight_raw_size = w * h * tpixel;
    if (tight_raw_size < tight_min_to_compress) return skip_then(tight_raw_size, Then::rect_end);
    gather(Step::tight_length, 1, here);
    return Status::more;
  }
  // Compact length: 7 bits per byte while the high bit is set, the third byte's 8 bits whole.
  Status tight_length() {
    if ((scratch[want - 1] & 0x80) && want < 3) {
      ++want;
      return Status::more;
    }
    std::uint64_t length = scratch[0] & 0x7f;
    if (want > 1) length |= std::uint64_t{scratch[1] & 0x7fu} << 7;
    if (want > 2) length |= std::uint64_t{scratch[2]} << 14;
    return length_limit(length, gather_offset, Then::rect_end);
  }

  Status gathered(std::uint64_t here) {
    const std::uint8_t* h = scratch.data();
    switch (step) {
      case Step::message_header: return message_header(here);
      case Step::qemu_audio: return qemu_audio();
      case Step::rect_header: return rect_header(here);
      case Step::rre_header: {
        const std::uint64_t per = bpp + (rect.encoding == encoding::rre ? 8u : 4u);
        return skip_then(per * be32(h), Then::rect_end);
      }
      case Step::data_length: return length_limit(be32(h), gather_offset, Then::rect_end);
      case Step::h264_header: return length_limit(be32(h), gather_offset, Then::rect_end);
      case Step::tight_control: return tight_control(here);
      case Step::tight_filter: return tight_filter_byte(here);
      case Step::tight_palette:
        tight_colours = h[0] + 1u;
        return skip_then(std::uint64_t{tight_colours} * tpixel, Then::tight_data);
      case Step::tight_length: return tight_length();
      case Step::cursor_alpha: {
        const auto inner = static_cast<std::int32_t>(be32(h));
        if (inner != encoding::raw)
          return fail("cannot frame CursorWithAlpha with inner encoding " + encoding_name(inner) + " at offset " +
                      std::to_string(rect_offset));
        return skip_then(std::uint64_t{rect.width} * rect.height * 4, Then::rect_end);
      }
      case Step::vmware_cursor: {
        const std::uint64_t area = std::uint64_t{rect.width} * rect.height;
        if (h[0] == 0) {  // classic: AND mask and XOR image, each in the pixel format
          if ((bpp = need_bpp()) == 0) return Status::failed;
          return skip_then(2 * area * bpp, Then::rect_end);
        }
        if (h[0] == 1) return skip_then(area * 4, Then::rect_end);  // alpha: RGBA
        return fail("cannot frame VMwareCursor of type " + std::to_string(h[0]) + " at offset " +
                    std::to_string(rect_offset));
      }
      case Step::extended_desktop_size: return skip_then(16ull * h[0], Then::rect_end);
      case Step::desktop_name_length:
        name.clear();
        name_left = be32(h);
        phase = Phase::name;
        return Status::more;
    }
    return Status::more;
  }

  Status after_skip(std::uint64_t here) {
    switch (then) {
      case Then::message_end: return Status::ended;
      case Then::tight_data: return tight_data(here);
      case Then::rect_end: break;
    }
    return finish_rect(here);
  }

  // Notes that close a rectangle, then on to the next one.
  Status finish_rect(std::uint64_t here) {
    if (rect.encoding == encoding::extended_desktop_size) {
      notes.push_back(QueuedNote{Note::Kind::extended_desktop_size, rect, 0, 0, scratch[0]});
    } else if (rect.encoding == encoding::desktop_name) {
      const auto at = static_cast<std::uint32_t>(note_names.size());
      note_names += name;
      notes.push_back(QueuedNote{Note::Kind::desktop_name, rect, at, static_cast<std::uint32_t>(name.size()), 0});
    }
    return rect_end(here);
  }

  // Hextile (RFC 6143 7.7.4): 16x16 tiles left to right, top to bottom, the
  // last column and row narrower. Per tile a subencoding byte: Raw (bit 0)
  // is the tile's pixels and nothing else; otherwise background (bit 1) and
  // foreground (bit 2) pixels, and with AnySubrects (bit 3) a count of
  // subrectangles of 2 bytes each, plus a pixel each when SubrectsColoured (bit 4).
  Status hextile(const std::uint8_t*& p, const std::uint8_t* end) {
    const std::uint32_t b = bpp;
    for (;;) {
      if (skip != 0) {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(skip, static_cast<std::uint64_t>(end - p)));
        p += n;
        skip -= n;
        if (skip != 0) return Status::more;
      }
      if (!tile_count_next) {
        hextile_whole_tiles(p, end);
        if (skip != 0) return Status::more;  // a tile's data goes on in the next bytes
      }
      if (tile_row == tiles_y) return finish_rect(at(p));
      if (p == end) return Status::more;
      // A tile header cut by the end of the bytes: one byte at a time.
      const std::uint8_t byte = *p++;
      if (tile_count_next) {
        tile_count_next = false;
        skip = std::uint64_t{byte} * subrect_size;
      } else if (byte & 1) {
        skip = std::uint64_t{tile_w} * tile_h * b;
      } else {
        skip = ((byte & 2) ? b : 0) + ((byte & 4) ? b : 0);
        if (byte & 8) {
          subrect_size = (byte & 16) ? b + 2 : 2;
          tile_count_next = true;
          continue;  // the count comes after the colours, in the same tile
        }
      }
      next_tile();  // this tile's length is known
    }
  }

  // The fast path: tiles whose header (subencoding, colours, count) is all
  // in the bytes, sized from it at once; a tile whose data goes on past the
  // bytes leaves the rest in `skip`.
  void hextile_whole_tiles(const std::uint8_t*& p, const std::uint8_t* end) {
    const std::uint32_t b = bpp;
    const std::size_t header_max = 2 + 2 * std::size_t{b};
    while (tile_row != tiles_y && static_cast<std::size_t>(end - p) >= header_max) {
      const std::uint8_t sub = p[0];
      std::size_t length;
      if (sub & 1) {
        length = 1 + std::size_t{tile_w} * tile_h * b;
      } else {
        length = 1 + ((sub & 2) ? b : 0) + ((sub & 4) ? b : 0);
        if (sub & 8) length += 1 + std::size_t{p[length]} * ((sub & 16) ? b + 2 : 2);
      }
      next_tile();
      const auto left = static_cast<std::size_t>(end - p);
      if (length > left) {
        skip = length - left;
        p = end;
        return;
      }
      p += length;
    }
  }

  void next_tile() {
    if (++tile_col == tiles_x) {
      tile_col = 0;
      ++tile_row;
      tile_w = std::min<std::uint32_t>(16, rect.width);
      tile_h = std::min<std::uint32_t>(16, rect.height - 16 * std::min(tile_row, tiles_y - 1));
    } else {
      tile_w = std::min<std::uint32_t>(16, rect.width - 16 * tile_col);
    }
  }

  // Runs the current message on from p; stops at its end, at `end` or at a failure.
  Status run(const std::uint8_t*& p, const std::uint8_t* end) {
    for (;;) {
      Status s = Status::more;
      switch (phase) {
        case Phase::gather: {
          const auto left = static_cast<std::size_t>(end - p);
          if (have == 0 && left >= scratch.size()) {  // all there: one fixed-size copy (the bytes past `want` are unused)
            std::memcpy(scratch.data(), p, scratch.size());
            have = want;
            p += want;
          } else {
            const auto n = std::min<std::size_t>(want - have, left);
            std::memcpy(scratch.data() + have, p, n);
            have = static_cast<std::uint8_t>(have + n);
            p += n;
          }
          if (have < want) return Status::more;
          s = gathered(at(p));
          break;
        }
        case Phase::skip: {
          const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(skip, static_cast<std::uint64_t>(end - p)));
          p += n;
          skip -= n;
          if (skip != 0) return Status::more;
          s = after_skip(at(p));
          break;
        }
        case Phase::name: {
          const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(name_left, static_cast<std::uint64_t>(end - p)));
          if (name.size() < limits.max_desktop_name)
            name.append(reinterpret_cast<const char*>(p), std::min<std::size_t>(n, limits.max_desktop_name - name.size()));
          p += n;
          name_left -= n;
          if (name_left != 0) return Status::more;
          s = finish_rect(at(p));
          break;
        }
        case Phase::hextile:
          s = hextile(p, end);
          if (s == Status::more && p == end) return s;
          break;
      }
      if (s != Status::more) return s;
    }
  }

  void flush_notes(Sink& sink) {
    for (const auto& q : notes) {
      Note n;
      n.kind = q.kind;
      n.rect = q.rect;
      n.name = std::string_view(note_names).substr(q.name_at, q.name_size);
      n.screens = q.screens;
      sink.note(n);
    }
    notes.clear();
    note_names.clear();
  }
};

ServerMessageFramer::ServerMessageFramer(const PixelFormat& initial, ServerLimits limits)
    : state_(std::make_unique<State>(initial, limits)) {}
ServerMessageFramer::~ServerMessageFramer() = default;
ServerMessageFramer::ServerMessageFramer(ServerMessageFramer&&) noexcept = default;
ServerMessageFramer& ServerMessageFramer::operator=(ServerMessageFramer&&) noexcept = default;

bool ServerMessageFramer::feed(std::span<const std::uint8_t> bytes, Sink& sink) {
  State& s = *state_;
  if (!s.error.empty()) return false;
  if (bytes.empty()) return true;
  const std::uint8_t* p = bytes.data();
  const std::uint8_t* const end = p + bytes.size();
  s.call_begin = p;
  const std::uint8_t* piece_begin = p;
  bool piece_first = false;
  while (p < end) {
    if (!s.in_message) {
      piece_begin = p;
      piece_first = true;
      s.in_message = true;
      const std::uint8_t type = *p++;
      State::Status st = s.start_message(type, s.at(p));
      if (st == State::Status::more) st = s.run(p, end);
      if (st == State::Status::failed) break;
      if (st == State::Status::ended) {
        sink.piece(Piece{s.type, std::span<const std::uint8_t>(piece_begin, p), piece_first, true});
        s.flush_notes(sink);
        s.in_message = false;
      }
      continue;
    }
    const State::Status st = s.run(p, end);
    if (st == State::Status::failed) break;
    if (st == State::Status::ended) {
      sink.piece(Piece{s.type, std::span<const std::uint8_t>(piece_begin, p), piece_first, true});
      s.flush_notes(sink);
      s.in_message = false;
    }
  }
  // The message still open (or the one that failed): its bytes so far.
  if (s.in_message && p > piece_begin) {
    sink.piece(Piece{s.type, std::span<const std::uint8_t>(piece_begin, p), piece_first, false});
  }
  s.flush_notes(sink);
  s.offset = s.at(p);
  s.call_begin = nullptr;
  return s.error.empty();
}

void ServerMessageFramer::viewer_set_pixel_format(const PixelFormat& format) {
  State& s = *state_;
  if (s.eocu_awaited) {
    s.at_eocu = format;
    s.has_at_eocu = true;
  } else {
    s.at_next_update = format;
    s.has_at_next_update = true;
  }
}

void ServerMessageFramer::viewer_enable_continuous_updates(bool enable) {
  State& s = *state_;
  if (!enable && s.viewer_cu) s.eocu_awaited = true;
  s.viewer_cu = enable;
}

std::uint64_t ServerMessageFramer::skippable() const {
  const State& s = *state_;
  if (!s.error.empty() || !s.in_message || s.type == server_message::server_cut_text) return 0;
  return s.phase == State::Phase::skip || s.phase == State::Phase::hextile ? s.skip : 0;
}

bool ServerMessageFramer::failed() const { return !state_->error.empty(); }
const std::string& ServerMessageFramer::error() const { return state_->error; }
std::uint64_t ServerMessageFramer::offset() const { return state_->offset; }
const PixelFormat& ServerMessageFramer::pixel_format() const {
  const State& s = *state_;
  if (!s.in_update && s.has_at_next_update) return s.at_next_update;
  return s.active;
}

}  // namespace vhm::rfb
