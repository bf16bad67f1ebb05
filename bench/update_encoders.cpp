// See update_encoders.hpp. Start-up code only: nothing here runs per write.
#include "update_encoders.hpp"

#include "bench_common.hpp"

#include <zlib.h>

#ifdef VHM_BENCH_HAVE_JPEG
#include <cstdio>  // jpeglib.h needs FILE
#include <jpeglib.h>
#endif

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <map>
#include <stdexcept>

namespace vhm::bench {
namespace {

// --- the desktop picture ---------------------------------------------------------

constexpr std::uint32_t rgb(unsigned r, unsigned g, unsigned b) { return (r << 16) | (g << 8) | b; }
constexpr unsigned red(std::uint32_t c) { return (c >> 16) & 0xff; }
constexpr unsigned green(std::uint32_t c) { return (c >> 8) & 0xff; }
constexpr unsigned blue(std::uint32_t c) { return c & 0xff; }

std::uint32_t blend(std::uint32_t a, std::uint32_t b, unsigned b_weight_of_3) {
    const unsigned wa = 3 - b_weight_of_3;
    return rgb((red(a) * wa + red(b) * b_weight_of_3) / 3, (green(a) * wa + green(b) * b_weight_of_3) / 3,
               (blue(a) * wa + blue(b) * b_weight_of_3) / 3);
}

struct XorShift {
    std::uint32_t state;
    std::uint32_t next() {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        return state;
    }
    unsigned below(unsigned n) { return next() % n; }
};

class Picture {
public:
    Picture(int width, int height, std::uint32_t background)
        : width_(width), height_(height), pixels_(std::size_t(width) * height, background) {}

    int width() const { return width_; }
    int height() const { return height_; }
    std::uint32_t at(int x, int y) const { return pixels_[std::size_t(y) * width_ + x]; }
    void set(int x, int y, std::uint32_t c) {
        if (x >= 0 && y >= 0 && x < width_ && y < height_) {
            pixels_[std::size_t(y) * width_ + x] = c;
        }
    }
    void fill(int x, int y, int w, int h, std::uint32_t c) {
        for (int yy = std::max(0, y); yy < std::min(height_, y + h); ++yy) {
            for (int xx = std::max(0, x); xx < std::min(width_, x + w); ++xx) {
                pixels_[std::size_t(yy) * width_ + xx] = c;
            }
        }
    }
    void disc(int cx, int cy, int r, std::uint32_t c) {
        for (int y = -r; y <= r; ++y) {
            for (int x = -r; x <= r; ++x) {
                if (x * x + y * y <= r * r) {
                    set(cx + x, cy + y, c);
                }
            }
        }
    }
    std::vector<std::uint32_t> release() { return std::move(pixels_); }

private:
    int width_;
    int height_;
    std::vector<std::uint32_t> pixels_;
};

// An anti-aliased looking glyph: a 6x11 pattern in an 8x16 cell, full ink
// where the pattern is set, one-third ink on the pixels beside it (the fringe
// a font renderer leaves), so text has four shades per colour pair like real
// anti-aliased text.
void draw_glyph(Picture& picture, int x0, int y0, unsigned code, std::uint32_t ink, std::uint32_t paper,
                int scale = 1) {
    XorShift rng{0x2545f491u * (code + 1)};
    std::array<std::array<std::uint8_t, 8>, 16> level{};
    const int top = (code % 5 == 0) ? 2 : 5;  // some glyphs have ascenders
    for (int y = top; y < 13; ++y) {
        for (int x = 1; x < 7; ++x) {
            if (rng.below(100) < 38) {
                level[y][x] = 3;
            }
        }
    }
    for (int y = 0; y < 16; ++y) {
        for (int x = 0; x < 8; ++x) {
            if (level[y][x] == 0 && ((x > 0 && level[y][x - 1] == 3) || (x < 7 && level[y][x + 1] == 3))) {
                level[y][x] = 1;
            }
        }
    }
    for (int y = 0; y < 16 * scale; ++y) {
        for (int x = 0; x < 8 * scale; ++x) {
            const unsigned l = level[y / scale][x / scale];
            if (l != 0) {
                picture.set(x0 + x, y0 + y, blend(paper, ink, l));
            }
        }
    }
}

// Lines of words in `ink` on `paper` inside a box; returns nothing, draws what fits.
void draw_text(Picture& picture, XorShift& rng, int x, int y, int w, int h, std::uint32_t ink, std::uint32_t paper,
               int line_height = 18, int scale = 1) {
    const int cell = 8 * scale;
    for (int line_y = y; line_y + 16 * scale <= y + h; line_y += line_height) {
        const int line_chars = static_cast<int>(rng.below(static_cast<unsigned>(w / cell))) + 1;
        int cx = x;
        int word = static_cast<int>(rng.below(8)) + 2;
        for (int i = 0; i < line_chars && cx + cell <= x + w; ++i, cx += cell) {
            if (word-- == 0) {
                word = static_cast<int>(rng.below(8)) + 2;
                continue;  // a space
            }
            draw_glyph(picture, cx, line_y, rng.below(96), ink, paper, scale);
        }
    }
}

void draw_window(Picture& picture, XorShift& rng, int x, int y, int w, int h, std::uint32_t body, const char* kind) {
    picture.fill(x - 1, y - 1, w + 2, h + 2, rgb(0x80, 0x80, 0x80));  // border
    picture.fill(x, y, w, 28, rgb(0xe6, 0xe6, 0xe6));                 // title bar
    picture.disc(x + 16, y + 14, 6, rgb(0xff, 0x5f, 0x57));
    picture.disc(x + 36, y + 14, 6, rgb(0xfe, 0xbc, 0x2e));
    picture.disc(x + 56, y + 14, 6, rgb(0x28, 0xc8, 0x40));
    draw_text(picture, rng, x + w / 2 - 60, y + 6, 120, 16, rgb(0x30, 0x30, 0x30), rgb(0xe6, 0xe6, 0xe6));
    picture.fill(x, y + 28, w, h - 28, body);
    (void)kind;
}

// A photograph: smooth colour fields plus sensor noise; thousands of colours.
void draw_photo(Picture& picture, XorShift& rng, int x0, int y0, int w, int h) {
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            const double u = double(x) / w;
            const double v = double(y) / h;
            const double sky = v < 0.55 ? 1.0 : 0.0;
            const double hill = 0.5 + 0.5 * std::sin(u * 9.0 + v * 3.0);
            auto channel = [&](double sky_value, double ground_value) {
                const double base = sky * sky_value * (1.0 - 0.4 * v) + (1.0 - sky) * ground_value * (0.6 + 0.4 * hill);
                const int noisy = static_cast<int>(base) + static_cast<int>(rng.below(17)) - 8;
                return static_cast<unsigned>(std::clamp(noisy, 0, 255));
            };
            picture.set(x0 + x, y0 + y, rgb(channel(120, 70), channel(170, 140), channel(235, 50)));
        }
    }
}

Picture desktop_picture(int width, int height) {
    // Laid out for 1024x768, scaled to the framebuffer, clipped at its edges.
    const auto sx = [width](int v) { return v * width / 1024; };
    const auto sy = [height](int v) { return v * height / 768; };
    XorShift rng{0x1234567u};
    Picture p(width, height, rgb(0x2b, 0x57, 0x97));  // wallpaper: one colour, as many desktops
    // Desktop icons with labels.
    for (int i = 0; i < 4; ++i) {
        const int iy = sy(40) + i * 80;
        p.fill(sx(940), iy, 32, 32, rgb(0xf0, 0xc0 - i * 30, 0x40 + i * 40));
        draw_text(p, rng, sx(924), iy + 38, 64, 16, rgb(0xff, 0xff, 0xff), rgb(0x2b, 0x57, 0x97));
    }
    // Taskbar: start button, a few application buttons, a clock.
    const int bar = height - 36;
    p.fill(0, bar, width, 36, rgb(0x20, 0x20, 0x20));
    p.fill(0, bar, 44, 36, rgb(0x00, 0x78, 0xd7));
    for (int i = 0; i < 5; ++i) {
        p.fill(56 + i * 44, bar + 6, 24, 24, rgb(0x60 + i * 30, 0x90, 0xd0 - i * 30));
    }
    draw_text(p, rng, width - 72, bar + 10, 64, 16, rgb(0xff, 0xff, 0xff), rgb(0x20, 0x20, 0x20));
    // A terminal: light grey and green text on near-black.
    const int tx = sx(24), ty = sy(24), tw = sx(600), th = sy(400);
    draw_window(p, rng, tx, ty, tw, th, rgb(0x1e, 0x1e, 0x1e), "terminal");
    for (int line_y = ty + 34; line_y + 16 <= ty + th - 4; line_y += 18) {
        draw_text(p, rng, tx + 6, line_y, 48, 16, rgb(0x4e, 0xc9, 0x4e), rgb(0x1e, 0x1e, 0x1e));  // prompt
        draw_text(p, rng, tx + 62, line_y, tw - 70, 16, rgb(0xd0, 0xd0, 0xd0), rgb(0x1e, 0x1e, 0x1e));
    }
    // A document window: toolbar gradient, headings, body text, links, a photo.
    const int dx = sx(380), dy = sy(150), dw = sx(600), dh = sy(560);
    draw_window(p, rng, dx, dy, dw, dh, rgb(0xff, 0xff, 0xff), "document");
    for (int y = 0; y < 40; ++y) {
        const unsigned shade = 0xf5 - static_cast<unsigned>(y) * 25 / 40;
        p.fill(dx, dy + 28 + y, dw, 1, rgb(shade, shade, shade));
    }
    for (int i = 0; i < 8; ++i) {
        p.fill(dx + 10 + i * 34, dy + 36, 24, 24, rgb(0x50 + i * 20, 0x70, 0xa0));
    }
    int cy = dy + 80;
    draw_text(p, rng, dx + 20, cy, dw - 40, 32, rgb(0x1a, 0x4d, 0x8f), rgb(0xff, 0xff, 0xff), 36, 2);
    cy += 44;
    draw_text(p, rng, dx + 20, cy, dw - 40, 90, rgb(0x20, 0x20, 0x20), rgb(0xff, 0xff, 0xff));
    cy += 100;
    const int photo_w = std::min(sx(300), dw - 40), photo_h = sy(180);
    draw_photo(p, rng, dx + 20, cy, photo_w, photo_h);
    draw_text(p, rng, dx + 40 + photo_w, cy, dw - 60 - photo_w, photo_h, rgb(0x20, 0x20, 0x20),
              rgb(0xff, 0xff, 0xff));
    cy += photo_h + 10;
    draw_text(p, rng, dx + 20, cy, dw - 40, 36, rgb(0x06, 0x45, 0xad), rgb(0xff, 0xff, 0xff));
    for (int line = 0; line < 2; ++line) {
        p.fill(dx + 20, cy + 15 + line * 18, dw / 3, 1, rgb(0x06, 0x45, 0xad));  // underlined links
    }
    cy += 44;
    draw_text(p, rng, dx + 20, cy, dw - 40, dy + dh - cy - 6, rgb(0x20, 0x20, 0x20), rgb(0xff, 0xff, 0xff));
    return p;
}

// --- writing ---------------------------------------------------------------------------

// Appends to the intro and to the loop at once; zlib blocks go to both, the
// loop's without the stream's 2-byte header (see update_encoders.hpp).
class DualWriter {
public:
    enum class Length { tight_compact, u32 };

    void u8(std::uint8_t v) { bytes(&v, 1); }
    void u16(std::uint16_t v) {
        std::uint8_t b[2];
        put_u16(b, v);
        bytes(b, 2);
    }
    void u32(std::uint32_t v) {
        std::uint8_t b[4];
        put_u32(b, v);
        bytes(b, 4);
    }
    void bytes(const std::uint8_t* data, std::size_t size) {
        intro_.insert(intro_.end(), data, data + size);
        loop_.insert(loop_.end(), data, data + size);
    }
    void bytes(const std::vector<std::uint8_t>& data) { bytes(data.data(), data.size()); }

    void update_header(std::uint16_t rects) {
        u8(0);
        u8(0);
        u16(rects);
    }
    void rect_header(int x, int y, int w, int h, std::int32_t encoding) {
        u16(static_cast<std::uint16_t>(x));
        u16(static_cast<std::uint16_t>(y));
        u16(static_cast<std::uint16_t>(w));
        u16(static_cast<std::uint16_t>(h));
        u32(static_cast<std::uint32_t>(encoding));
    }

    void zlib_block(const std::vector<std::uint8_t>& block, std::size_t header_bytes, Length length) {
        write_length(intro_, block.size(), length);
        intro_.insert(intro_.end(), block.begin(), block.end());
        write_length(loop_, block.size() - header_bytes, length);
        loop_.insert(loop_.end(), block.begin() + static_cast<std::ptrdiff_t>(header_bytes), block.end());
    }

    // Tight's compact length, also for JPEG data.
    void compact_length_and(const std::vector<std::uint8_t>& data) {
        write_length(intro_, data.size(), Length::tight_compact);
        write_length(loop_, data.size(), Length::tight_compact);
        bytes(data);
    }

    EncodedStream finish(bool with_intro) {
        EncodedStream out;
        if (with_intro) {
            out.intro = std::move(intro_);
        }
        out.loop = std::move(loop_);
        return out;
    }

private:
    static void write_length(std::vector<std::uint8_t>& out, std::size_t size, Length length) {
        if (length == Length::u32) {
            std::uint8_t b[4];
            put_u32(b, static_cast<std::uint32_t>(size));
            out.insert(out.end(), b, b + 4);
            return;
        }
        if (size > 0x3fffff) {
            throw std::length_error("Tight data block over 4 MiB");
        }
        out.push_back(static_cast<std::uint8_t>((size & 0x7f) | (size >= 0x80 ? 0x80 : 0)));
        if (size >= 0x80) {
            out.push_back(static_cast<std::uint8_t>(((size >> 7) & 0x7f) | (size >= 0x4000 ? 0x80 : 0)));
            if (size >= 0x4000) {
                out.push_back(static_cast<std::uint8_t>(size >> 14));
            }
        }
    }

    std::vector<std::uint8_t> intro_;
    std::vector<std::uint8_t> loop_;
};

// One zlib stream as an RFB connection keeps it: each call's data ends with a
// full flush, so later blocks never refer to earlier ones.
class Deflater {
public:
    explicit Deflater(int level) {
        if (deflateInit(&stream_, level) != Z_OK) {
            throw std::runtime_error("deflateInit failed");
        }
    }
    ~Deflater() { deflateEnd(&stream_); }
    Deflater(const Deflater&) = delete;
    Deflater& operator=(const Deflater&) = delete;

    // Returns the block; header_bytes is 2 for the stream's first block (its zlib header), else 0.
    std::vector<std::uint8_t> compress(const std::vector<std::uint8_t>& data, std::size_t& header_bytes) {
        header_bytes = started_ ? 0 : 2;
        started_ = true;
        std::vector<std::uint8_t> out(deflateBound(&stream_, data.size()) + 64);
        stream_.next_in = const_cast<Bytef*>(data.data());
        stream_.avail_in = static_cast<uInt>(data.size());
        std::size_t used = 0;
        for (;;) {
            stream_.next_out = out.data() + used;
            stream_.avail_out = static_cast<uInt>(out.size() - used);
            if (deflate(&stream_, Z_FULL_FLUSH) == Z_STREAM_ERROR) {
                throw std::runtime_error("deflate failed");
            }
            used = out.size() - stream_.avail_out;
            if (stream_.avail_out != 0) {
                break;
            }
            out.resize(out.size() * 2);
        }
        out.erase(out.begin() + static_cast<std::ptrdiff_t>(used), out.end());
        return out;
    }

private:
    z_stream stream_{};
    bool started_ = false;
};

// Distinct colours of a region, most frequent first; stops counting at `limit` + 1.
std::vector<std::uint32_t> palette_of(const Picture& p, int x0, int y0, int w, int h, std::size_t limit) {
    std::map<std::uint32_t, unsigned> counts;
    for (int y = y0; y < y0 + h; ++y) {
        for (int x = x0; x < x0 + w; ++x) {
            ++counts[p.at(x, y)];
            if (counts.size() > limit) {
                return std::vector<std::uint32_t>(limit + 1);
            }
        }
    }
    std::vector<std::pair<unsigned, std::uint32_t>> by_count;
    for (const auto& [colour, count] : counts) {
        by_count.emplace_back(count, colour);
    }
    std::stable_sort(by_count.begin(), by_count.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    std::vector<std::uint32_t> out;
    for (const auto& entry : by_count) {
        out.push_back(entry.second);
    }
    return out;
}

std::size_t index_in(const std::vector<std::uint32_t>& palette, std::uint32_t colour) {
    return static_cast<std::size_t>(std::find(palette.begin(), palette.end(), colour) - palette.begin());
}

void append_tpixel(std::vector<std::uint8_t>& out, std::uint32_t c) {  // Tight: R, G, B
    out.push_back(static_cast<std::uint8_t>(red(c)));
    out.push_back(static_cast<std::uint8_t>(green(c)));
    out.push_back(static_cast<std::uint8_t>(blue(c)));
}

void append_cpixel(std::vector<std::uint8_t>& out, std::uint32_t c) {  // ZRLE: the pixel's 3 low bytes, little-endian
    out.push_back(static_cast<std::uint8_t>(blue(c)));
    out.push_back(static_cast<std::uint8_t>(green(c)));
    out.push_back(static_cast<std::uint8_t>(red(c)));
}

void append_pixel(std::vector<std::uint8_t>& out, std::uint32_t c) {  // 32 bpp little-endian
    append_cpixel(out, c);
    out.push_back(0);
}

std::string mix_text(const std::vector<std::pair<const char*, std::uint64_t>>& counts) {
    std::string out;
    for (const auto& [name, count] : counts) {
        if (!out.empty()) {
            out += ", ";
        }
        out += std::string(name) + " " + std::to_string(count);
    }
    return out;
}

// --- Raw: the original noise strips ------------------------------------------------------

EncodedStream build_raw(const StreamLayout& layout) {
    std::vector<std::uint8_t> out;
    const std::size_t frame_pixels = std::size_t{layout.width} * layout.height;
    out.reserve(frame_pixels * bytes_per_pixel + (layout.height / layout.strip_rows + 1) * 16);
    std::uint32_t noise = 0x9e3779b9u;
    std::uint64_t updates = 0;
    for (std::uint16_t y = 0; y < layout.height; y = static_cast<std::uint16_t>(y + layout.strip_rows)) {
        const auto rows = static_cast<std::uint16_t>(std::min<int>(layout.strip_rows, layout.height - y));
        std::uint8_t header[update_header_size + rect_header_size] = {};
        header[0] = 0;  // FramebufferUpdate
        put_u16(header + 2, 1);
        put_u16(header + 4, 0);
        put_u16(header + 6, y);
        put_u16(header + 8, layout.width);
        put_u16(header + 10, rows);
        put_u32(header + 12, 0);  // raw encoding
        out.insert(out.end(), std::begin(header), std::end(header));
        const std::size_t pixel_bytes = std::size_t{layout.width} * rows * bytes_per_pixel;
        for (std::size_t i = 0; i < pixel_bytes; i += 4) {
            noise ^= noise << 13;
            noise ^= noise >> 17;
            noise ^= noise << 5;
            std::uint8_t pixel[4];
            std::memcpy(pixel, &noise, sizeof pixel);
            pixel[3] = 0;  // padding byte of a depth-24 pixel
            out.insert(out.end(), std::begin(pixel), std::end(pixel));
        }
        ++updates;
    }
    EncodedStream stream;
    stream.loop = std::move(out);
    stream.updates_per_loop = updates;
    stream.rects_per_loop = updates;
    stream.mix = "noise strips " + std::to_string(updates);
    return stream;
}

// --- Hextile --------------------------------------------------------------------------

struct HextileState {
    bool bg_valid = false;
    bool fg_valid = false;
    std::uint32_t bg = 0;
    std::uint32_t fg = 0;
};

struct Subrect {
    std::uint32_t colour;
    std::uint8_t xy;
    std::uint8_t wh;
};

// Greedy rectangles covering every pixel of a tile that is not `bg`: take the
// first uncovered one, extend right, then down while the whole row matches.
std::vector<Subrect> tile_subrects(const Picture& p, int x0, int y0, int w, int h, std::uint32_t bg) {
    std::array<std::array<bool, 16>, 16> covered{};
    std::vector<Subrect> out;
    for (int y = 0; y < h; ++y) {
        for (int x = 0; x < w; ++x) {
            const std::uint32_t c = p.at(x0 + x, y0 + y);
            if (covered[y][x] || c == bg) {
                continue;
            }
            int rw = 1;
            while (x + rw < w && !covered[y][x + rw] && p.at(x0 + x + rw, y0 + y) == c) {
                ++rw;
            }
            int rh = 1;
            for (; y + rh < h; ++rh) {
                bool row_matches = true;
                for (int i = 0; i < rw && row_matches; ++i) {
                    row_matches = !covered[y + rh][x + i] && p.at(x0 + x + i, y0 + y + rh) == c;
                }
                if (!row_matches) {
                    break;
                }
            }
            for (int yy = y; yy < y + rh; ++yy) {
                for (int xx = x; xx < x + rw; ++xx) {
                    covered[yy][xx] = true;
                }
            }
            out.push_back(Subrect{c, static_cast<std::uint8_t>((x << 4) | y),
                                  static_cast<std::uint8_t>(((rw - 1) << 4) | (rh - 1))});
        }
    }
    return out;
}

struct HextileCounts {
    std::uint64_t background = 0, mono = 0, coloured = 0, raw = 0;
};

void hextile_tile(const Picture& p, int x0, int y0, int w, int h, HextileState& state, std::vector<std::uint8_t>& out,
                  HextileCounts& counts) {
    constexpr std::uint8_t raw_bit = 1, bg_bit = 2, fg_bit = 4, any_bit = 8, coloured_bit = 16;
    const auto palette = palette_of(p, x0, y0, w, h, 64);
    const std::size_t raw_size = 1 + std::size_t(w) * h * 4;
    auto write_raw = [&] {
        out.push_back(raw_bit);
        for (int y = y0; y < y0 + h; ++y) {
            for (int x = x0; x < x0 + w; ++x) {
                append_pixel(out, p.at(x, y));
            }
        }
        state.bg_valid = state.fg_valid = false;  // as libvncserver: a raw tile leaves neither defined
        ++counts.raw;
    };
    if (palette.size() > 64) {
        write_raw();
        return;
    }
    const std::uint32_t bg = palette[0];
    std::uint8_t mask = 0;
    const bool bg_changed = !state.bg_valid || state.bg != bg;
    if (bg_changed) {
        mask |= bg_bit;
    }
    if (palette.size() == 1) {
        out.push_back(mask);
        if (bg_changed) {
            append_pixel(out, bg);
        }
        state.bg = bg;
        state.bg_valid = true;
        ++counts.background;
        return;
    }
    const auto subrects = tile_subrects(p, x0, y0, w, h, bg);
    const bool mono = palette.size() == 2;
    const bool fg_changed = mono && (!state.fg_valid || state.fg != palette[1]);
    const std::size_t size = 1 + (bg_changed ? 4 : 0) + (fg_changed ? 4 : 0) + 1 + subrects.size() * (mono ? 2 : 6);
    if (subrects.size() > 255 || size >= raw_size) {
        write_raw();
        return;
    }
    mask |= any_bit;
    if (mono) {
        mask |= fg_changed ? fg_bit : 0;
    } else {
        mask |= coloured_bit;
    }
    out.push_back(mask);
    if (bg_changed) {
        append_pixel(out, bg);
    }
    if (fg_changed) {
        append_pixel(out, palette[1]);
    }
    out.push_back(static_cast<std::uint8_t>(subrects.size()));
    for (const auto& s : subrects) {
        if (!mono) {
            append_pixel(out, s.colour);
        }
        out.push_back(s.xy);
        out.push_back(s.wh);
    }
    state.bg = bg;
    state.bg_valid = true;
    if (mono) {
        state.fg = palette[1];
        state.fg_valid = true;
        ++counts.mono;
    } else {
        state.fg_valid = false;  // as libvncserver after coloured subrectangles
        ++counts.coloured;
    }
}

// One rectangle per strip, full width: 16x16 tiles, 64 per 1024 pixels.
EncodedStream build_hextile(const Picture& p, const StreamLayout& layout) {
    DualWriter out;
    HextileCounts counts;
    std::uint64_t updates = 0;
    std::vector<std::uint8_t> tiles;
    for (int y = 0; y < layout.height; y += layout.strip_rows) {
        const int rows = std::min<int>(layout.strip_rows, layout.height - y);
        out.update_header(1);
        out.rect_header(0, y, layout.width, rows, 5);
        HextileState state;  // per rectangle
        tiles.clear();
        for (int ty = y; ty < y + rows; ty += 16) {
            for (int tx = 0; tx < layout.width; tx += 16) {
                hextile_tile(p, tx, ty, std::min(16, layout.width - tx), std::min(16, y + rows - ty), state, tiles,
                             counts);
            }
        }
        out.bytes(tiles);
        ++updates;
    }
    EncodedStream stream = out.finish(false);
    stream.updates_per_loop = updates;
    stream.rects_per_loop = updates;
    stream.mix = mix_text({{"tiles: background", counts.background},
                           {"mono subrects", counts.mono},
                           {"coloured subrects", counts.coloured},
                           {"raw", counts.raw}});
    return stream;
}

// --- Tight ------------------------------------------------------------------------------

#ifdef VHM_BENCH_HAVE_JPEG
std::vector<std::uint8_t> jpeg_of(const Picture& p, int x0, int y0, int w, int h) {
    jpeg_compress_struct cinfo{};
    jpeg_error_mgr jerr{};
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&cinfo);
    unsigned char* buffer = nullptr;
    unsigned long size = 0;
    jpeg_mem_dest(&cinfo, &buffer, &size);
    cinfo.image_width = static_cast<JDIMENSION>(w);
    cinfo.image_height = static_cast<JDIMENSION>(h);
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 75, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    std::vector<std::uint8_t> row(std::size_t(w) * 3);
    while (cinfo.next_scanline < cinfo.image_height) {
        row.clear();
        for (int x = x0; x < x0 + w; ++x) {
            append_tpixel(row, p.at(x, y0 + static_cast<int>(cinfo.next_scanline)));
        }
        JSAMPROW rows[1] = {row.data()};
        jpeg_write_scanlines(&cinfo, rows, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    std::vector<std::uint8_t> out(buffer, buffer + size);
    std::free(buffer);
    return out;
}
#endif

struct TightCounts {
    std::uint64_t fill = 0, mono = 0, indexed = 0, full = 0, jpeg = 0;
};

// A block the way TigerVNC's Tight encoder treats one: one colour -> fill;
// two -> mono palette, 1 bit per pixel (zlib stream 1); up to 256 -> indexed
// palette, a byte per pixel (stream 2); more -> JPEG where it is a photo (the
// viewer asked for a quality level), else full colour TPIXELs (stream 0).
void tight_rect(const Picture& p, int x0, int y0, int w, int h, bool photo, std::array<Deflater*, 3> streams,
                DualWriter& out, TightCounts& counts) {
    out.rect_header(x0, y0, w, h, 7);
    const auto palette = palette_of(p, x0, y0, w, h, 256);
    std::vector<std::uint8_t> data;
    int stream_id = 0;
    if (palette.size() == 1) {
        out.u8(0x80);  // fill
        append_tpixel(data, palette[0]);
        out.bytes(data);
        ++counts.fill;
        return;
    }
#ifdef VHM_BENCH_HAVE_JPEG
    if (palette.size() > 256 && photo) {
        out.u8(0x90);  // JPEG
        out.compact_length_and(jpeg_of(p, x0, y0, w, h));
        ++counts.jpeg;
        return;
    }
#else
    (void)photo;
#endif
    if (palette.size() <= 256) {
        const bool mono = palette.size() == 2;
        stream_id = mono ? 1 : 2;
        out.u8(static_cast<std::uint8_t>((stream_id << 4) | 0x40));  // basic, explicit filter
        out.u8(1);                                                    // palette filter
        out.u8(static_cast<std::uint8_t>(palette.size() - 1));
        std::vector<std::uint8_t> colours;
        for (const std::uint32_t c : palette) {
            append_tpixel(colours, c);
        }
        out.bytes(colours);
        for (int y = y0; y < y0 + h; ++y) {
            if (mono) {
                std::uint8_t byte = 0;
                int bits = 0;
                for (int x = x0; x < x0 + w; ++x) {
                    byte = static_cast<std::uint8_t>((byte << 1) | (p.at(x, y) == palette[1] ? 1 : 0));
                    if (++bits == 8) {
                        data.push_back(byte);
                        byte = 0;
                        bits = 0;
                    }
                }
                if (bits > 0) {
                    data.push_back(static_cast<std::uint8_t>(byte << (8 - bits)));
                }
            } else {
                for (int x = x0; x < x0 + w; ++x) {
                    data.push_back(static_cast<std::uint8_t>(index_in(palette, p.at(x, y))));
                }
            }
        }
        ++(mono ? counts.mono : counts.indexed);
    } else {
        out.u8(0x00);  // basic, stream 0, no filter (copy): TPIXELs
        for (int y = y0; y < y0 + h; ++y) {
            for (int x = x0; x < x0 + w; ++x) {
                append_tpixel(data, p.at(x, y));
            }
        }
        ++counts.full;
    }
    if (data.size() < 12) {  // sent as is, no length, no zlib
        out.bytes(data);
        return;
    }
    std::size_t header_bytes = 0;
    const auto block = streams[static_cast<std::size_t>(stream_id)]->compress(data, header_bytes);
    out.zlib_block(block, header_bytes, DualWriter::Length::tight_compact);
}

// Blocks of 128x64 pixels (8192, well under Tight's 2048-pixel width limit
// and TigerVNC's 65536-pixel rectangles), a FramebufferUpdate per strip.
EncodedStream build_tight(const Picture& p, const StreamLayout& layout, const std::vector<bool>& photo_mask) {
    DualWriter out;
    Deflater full(6), mono(6), indexed(6);
    TightCounts counts;
    std::uint64_t updates = 0, rects = 0;
    constexpr int block_w = 128, block_h = 64;
    for (int y = 0; y < layout.height; y += layout.strip_rows) {
        const int rows = std::min<int>(layout.strip_rows, layout.height - y);
        const int across = (layout.width + block_w - 1) / block_w;
        const int down = (rows + block_h - 1) / block_h;
        out.update_header(static_cast<std::uint16_t>(across * down));
        for (int by = y; by < y + rows; by += block_h) {
            for (int bx = 0; bx < layout.width; bx += block_w) {
                const int w = std::min(block_w, layout.width - bx);
                const int h = std::min(block_h, y + rows - by);
                bool photo = false;
                for (int yy = by; yy < by + h && !photo; ++yy) {
                    for (int xx = bx; xx < bx + w && !photo; ++xx) {
                        photo = photo_mask[std::size_t(yy) * layout.width + xx];
                    }
                }
                tight_rect(p, bx, by, w, h, photo, {&full, &mono, &indexed}, out, counts);
                ++rects;
            }
        }
        ++updates;
    }
    EncodedStream stream = out.finish(true);
    stream.updates_per_loop = updates;
    stream.rects_per_loop = rects;
    stream.mix = mix_text({{"fill", counts.fill},
                           {"mono", counts.mono},
                           {"indexed", counts.indexed},
                           {"full colour", counts.full},
                           {"jpeg", counts.jpeg}});
    return stream;
}

// --- ZRLE ---------------------------------------------------------------------------------

struct ZrleCounts {
    std::uint64_t solid = 0, packed = 0, palette_rle = 0, plain_rle = 0, raw = 0;
};

void append_run_length(std::vector<std::uint8_t>& out, std::size_t length) {  // length >= 1
    std::size_t rest = length - 1;
    while (rest >= 255) {
        out.push_back(255);
        rest -= 255;
    }
    out.push_back(static_cast<std::uint8_t>(rest));
}

// One 64x64 (or smaller, at the edges) tile: the smallest of solid, packed
// palette, palette RLE, plain RLE and raw, as libvncserver's encoder picks.
void zrle_tile(const Picture& p, int x0, int y0, int w, int h, std::vector<std::uint8_t>& out, ZrleCounts& counts) {
    const auto palette = palette_of(p, x0, y0, w, h, 127);
    if (palette.size() == 1) {
        out.push_back(1);
        append_cpixel(out, palette[0]);
        ++counts.solid;
        return;
    }
    std::vector<std::pair<std::uint32_t, std::size_t>> runs;  // across rows, as ZRLE allows
    for (int y = y0; y < y0 + h; ++y) {
        for (int x = x0; x < x0 + w; ++x) {
            const std::uint32_t c = p.at(x, y);
            if (!runs.empty() && runs.back().first == c) {
                ++runs.back().second;
            } else {
                runs.emplace_back(c, 1);
            }
        }
    }
    const std::size_t pixels = std::size_t(w) * h;
    const std::size_t raw_size = pixels * 3;
    std::size_t plain_rle_size = 0, palette_rle_size = 0;
    for (const auto& run : runs) {
        const std::size_t length_bytes = (run.second - 1) / 255 + 1;
        plain_rle_size += 3 + length_bytes;
        palette_rle_size += run.second == 1 ? 1 : 1 + length_bytes;
    }
    const bool has_palette = palette.size() <= 127;
    palette_rle_size += palette.size() * 3;
    const unsigned bits = palette.size() <= 2 ? 1 : palette.size() <= 4 ? 2 : 4;
    const std::size_t packed_size =
        palette.size() <= 16 ? palette.size() * 3 + std::size_t(h) * ((std::size_t(w) * bits + 7) / 8) : SIZE_MAX;
    const std::size_t best =
        std::min({raw_size, plain_rle_size, has_palette ? palette_rle_size : SIZE_MAX, packed_size});
    if (best == packed_size) {
        out.push_back(static_cast<std::uint8_t>(palette.size()));
        for (const std::uint32_t c : palette) {
            append_cpixel(out, c);
        }
        for (int y = y0; y < y0 + h; ++y) {
            unsigned byte = 0, filled = 0;
            for (int x = x0; x < x0 + w; ++x) {
                byte = (byte << bits) | static_cast<unsigned>(index_in(palette, p.at(x, y)));
                filled += bits;
                if (filled == 8) {
                    out.push_back(static_cast<std::uint8_t>(byte));
                    byte = filled = 0;
                }
            }
            if (filled > 0) {
                out.push_back(static_cast<std::uint8_t>(byte << (8 - filled)));
            }
        }
        ++counts.packed;
    } else if (best == palette_rle_size && has_palette) {
        out.push_back(static_cast<std::uint8_t>(128 + palette.size()));
        for (const std::uint32_t c : palette) {
            append_cpixel(out, c);
        }
        for (const auto& [colour, length] : runs) {
            const auto index = static_cast<std::uint8_t>(index_in(palette, colour));
            if (length == 1) {
                out.push_back(index);
            } else {
                out.push_back(static_cast<std::uint8_t>(index | 128));
                append_run_length(out, length);
            }
        }
        ++counts.palette_rle;
    } else if (best == plain_rle_size) {
        out.push_back(128);
        for (const auto& [colour, length] : runs) {
            append_cpixel(out, colour);
            append_run_length(out, length);
        }
        ++counts.plain_rle;
    } else {
        out.push_back(0);
        for (int y = y0; y < y0 + h; ++y) {
            for (int x = x0; x < x0 + w; ++x) {
                append_cpixel(out, p.at(x, y));
            }
        }
        ++counts.raw;
    }
}

// Rectangles of up to 512 pixels across the strip (TigerVNC sends a changed
// region per rectangle), each one zlib block of 64x64 tiles.
EncodedStream build_zrle(const Picture& p, const StreamLayout& layout) {
    DualWriter out;
    Deflater zlib(6);
    ZrleCounts counts;
    std::uint64_t updates = 0, rects = 0;
    constexpr int rect_w = 512;
    std::vector<std::uint8_t> tiles;
    for (int y = 0; y < layout.height; y += layout.strip_rows) {
        const int rows = std::min<int>(layout.strip_rows, layout.height - y);
        const int across = (layout.width + rect_w - 1) / rect_w;
        out.update_header(static_cast<std::uint16_t>(across));
        for (int rx = 0; rx < layout.width; rx += rect_w) {
            const int w = std::min(rect_w, layout.width - rx);
            out.rect_header(rx, y, w, rows, 16);
            tiles.clear();
            for (int ty = y; ty < y + rows; ty += 64) {
                for (int tx = rx; tx < rx + w; tx += 64) {
                    zrle_tile(p, tx, ty, std::min(64, rx + w - tx), std::min(64, y + rows - ty), tiles, counts);
                }
            }
            std::size_t header_bytes = 0;
            const auto block = zlib.compress(tiles, header_bytes);
            out.zlib_block(block, header_bytes, DualWriter::Length::u32);
            ++rects;
        }
        ++updates;
    }
    EncodedStream stream = out.finish(true);
    stream.updates_per_loop = updates;
    stream.rects_per_loop = rects;
    stream.mix = mix_text({{"tiles: solid", counts.solid},
                           {"packed palette", counts.packed},
                           {"palette RLE", counts.palette_rle},
                           {"plain RLE", counts.plain_rle},
                           {"raw", counts.raw}});
    return stream;
}

// Where desktop_picture() put the photograph (Tight sends JPEG there).
std::vector<bool> photo_mask_of(int width, int height) {
    const auto sx = [width](int v) { return v * width / 1024; };
    const auto sy = [height](int v) { return v * height / 768; };
    std::vector<bool> mask(std::size_t(width) * height, false);
    const int dx = sx(380), dy = sy(150), dw = sx(600);
    const int x0 = dx + 20, y0 = dy + 80 + 44 + 100;
    const int w = std::min(sx(300), dw - 40), h = sy(180);
    for (int y = std::max(0, y0); y < std::min(height, y0 + h); ++y) {
        for (int x = std::max(0, x0); x < std::min(width, x0 + w); ++x) {
            mask[std::size_t(y) * width + x] = true;
        }
    }
    return mask;
}

}  // namespace

StreamEncoding parse_stream_encoding(std::string_view name) {
    if (name == "raw") {
        return StreamEncoding::raw;
    }
    if (name == "hextile") {
        return StreamEncoding::hextile;
    }
    if (name == "tight") {
        return StreamEncoding::tight;
    }
    if (name == "zrle") {
        return StreamEncoding::zrle;
    }
    throw std::invalid_argument("unknown encoding '" + std::string(name) + "' (raw, hextile, tight, zrle)");
}

const char* stream_encoding_name(StreamEncoding encoding) {
    switch (encoding) {
    case StreamEncoding::raw: return "raw";
    case StreamEncoding::hextile: return "hextile";
    case StreamEncoding::tight: return "tight";
    case StreamEncoding::zrle: return "zrle";
    }
    return "?";
}

std::int32_t rfb_encoding_number(StreamEncoding encoding) {
    switch (encoding) {
    case StreamEncoding::raw: return 0;
    case StreamEncoding::hextile: return 5;
    case StreamEncoding::tight: return 7;
    case StreamEncoding::zrle: return 16;
    }
    return 0;
}

bool jpeg_available() {
#ifdef VHM_BENCH_HAVE_JPEG
    return true;
#else
    return false;
#endif
}

std::vector<std::uint32_t> build_desktop_picture(std::uint16_t width, std::uint16_t height) {
    return desktop_picture(width, height).release();
}

EncodedStream build_encoded_stream(StreamEncoding encoding, const StreamLayout& layout) {
    if (encoding == StreamEncoding::raw) {
        return build_raw(layout);
    }
    const Picture picture = desktop_picture(layout.width, layout.height);
    switch (encoding) {
    case StreamEncoding::hextile: return build_hextile(picture, layout);
    case StreamEncoding::tight: return build_tight(picture, layout, photo_mask_of(layout.width, layout.height));
    case StreamEncoding::zrle: return build_zrle(picture, layout);
    case StreamEncoding::raw: break;
    }
    return {};
}

}  // namespace vhm::bench
