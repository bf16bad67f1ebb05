// The FramebufferUpdate streams rfb-stream-server sends, built once at start:
// one desktop-like picture (rfb-stream-server's framebuffer) encoded as Raw,
// Hextile, Tight or ZRLE, the way a real server's encoder would pick
// subencodings for it. The pixel format is ServerInit's (32 bpp, depth 24,
// little-endian, red/green/blue shifts 16/8/0), so Tight's TPIXEL and ZRLE's
// CPIXEL are 3 bytes.
//
// Tight and ZRLE compress with zlib streams that live as long as the
// connection, which a buffer sent again and again cannot honour by itself.
// Every rectangle's zlib data therefore ends with a full flush (nothing after
// it refers back), and the stream is built twice: `intro`, sent once, whose
// first block of each zlib stream carries the 2-byte zlib header, and `loop`,
// sent forever after, the same blocks without the headers. A real decoder
// sees one endless zlib stream per stream id and accepts every update.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vhm::bench {

enum class StreamEncoding { raw, hextile, tight, zrle };

// "raw" -> raw etc.; throws std::invalid_argument for anything else.
StreamEncoding parse_stream_encoding(std::string_view name);
const char* stream_encoding_name(StreamEncoding encoding);
std::int32_t rfb_encoding_number(StreamEncoding encoding);

struct EncodedStream {
    std::vector<std::uint8_t> intro;  // sent once, first (empty for Raw and Hextile)
    std::vector<std::uint8_t> loop;   // sent after the intro, again and again
    std::uint64_t updates_per_loop = 0;
    std::uint64_t rects_per_loop = 0;
    // What the rectangles are made of, for the ready line: e.g.
    // "fill 40, mono 12, indexed 30, full 10, jpeg 4" (Tight).
    std::string mix;
};

struct StreamLayout {
    std::uint16_t width = 1024;
    std::uint16_t height = 768;
    std::uint16_t strip_rows = 128;  // one FramebufferUpdate per strip of this many rows
};

// Raw keeps the original noise strips (nothing can shortcut them); the other
// encodings encode the desktop picture.
EncodedStream build_encoded_stream(StreamEncoding encoding, const StreamLayout& layout);

// The desktop picture, 0x00RRGGBB per pixel, row-major (exposed for checks).
std::vector<std::uint32_t> build_desktop_picture(std::uint16_t width, std::uint16_t height);

bool jpeg_available();

}  // namespace vhm::bench
