// Follows the framing of a FramebufferUpdate stream without looking at pixels,
// so the throughput client can prove that what arrived through a proxy is
// still a well-formed RFB stream (nothing dropped, duplicated or shifted) at
// little CPU cost: headers are checked, pixel and zlib bytes only counted.
//
// Encodings: Raw, Hextile (every tile's header is read: its subencoding mask,
// background and foreground, subrectangle count; subrectangles are skipped by
// count), Tight (control byte, filter, palette size, compact length; fill,
// JPEG and basic compression) and ZRLE (the u32 length). Pixel sizes are those
// of rfb-stream-server's ServerInit: 32 bits per pixel, depth 24, so Tight's
// TPIXEL is 3 bytes. Anything else (another message type or encoding, a
// rectangle outside the framebuffer) breaks the stream.
//
// Deliberately independent of the proxy's own framer (rfb/server_messages.hpp):
// the benchmark checks the proxy's output with code that shares nothing with it.
#pragma once

#include "bench_common.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace vhm::bench {

class UpdateStreamChecker {
public:
    UpdateStreamChecker(std::uint16_t width, std::uint16_t height) : width_(width), height_(height) {}

    // Feeds the next bytes of the server->client stream. Returns false once the
    // stream is out of sync (and stays false); error() says where.
    bool feed(const std::uint8_t* data, std::size_t size) {
        while (size > 0 && !broken_) {
            if (skip_ > 0) {
                const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(skip_, size));
                data += take;
                size -= take;
                skip_ -= take;
                if (skip_ == 0) {
                    after_skip();
                }
                continue;
            }
            const std::size_t take = std::min(need_ - have_, size);
            std::memcpy(buffer_.data() + have_, data, take);
            have_ += take;
            data += take;
            size -= take;
            if (have_ == need_) {
                have_ = 0;
                on_bytes();
            }
        }
        return !broken_;
    }

    std::uint64_t updates() const { return updates_; }
    std::uint64_t rects() const { return rects_; }
    bool broken() const { return broken_; }
    const char* error() const { return error_; }

private:
    // What the gathered bytes (need_ of them, in buffer_) are.
    enum class Step : std::uint8_t {
        update_header, rect_header, hextile_mask, hextile_fixed, tight_control, tight_filter,
        tight_palette_size, tight_length, zrle_length,
    };
    // What follows a run of skipped bytes.
    enum class Then : std::uint8_t { finish_rect, next_tile, tight_data };

    static constexpr std::int32_t raw = 0, hextile = 5, tight = 7, zrle = 16;
    static constexpr std::uint32_t tpixel_size = 3;
    static constexpr std::uint64_t max_block = 64u << 20;

    void gather(Step step, std::size_t bytes) {
        step_ = step;
        need_ = bytes;
    }
    void skip(std::uint64_t bytes, Then then) {
        then_ = then;
        skip_ = bytes;
        if (bytes == 0) {
            after_skip();
        }
    }
    void fail(const char* why) {
        broken_ = true;
        error_ = why;
    }

    void on_bytes() {
        switch (step_) {
        case Step::update_header: on_update_header(); break;
        case Step::rect_header: on_rect_header(); break;
        case Step::hextile_mask: on_hextile_mask(); break;
        case Step::hextile_fixed: on_hextile_fixed(); break;
        case Step::tight_control: on_tight_control(); break;
        case Step::tight_filter: on_tight_filter(); break;
        case Step::tight_palette_size: on_tight_palette_size(); break;
        case Step::tight_length: on_tight_length_byte(); break;
        case Step::zrle_length: {
            const std::uint32_t length = get_u32(buffer_.data());
            if (length > max_block) {
                fail("ZRLE length over 64 MiB");
                return;
            }
            skip(length, Then::finish_rect);
            break;
        }
        }
    }

    void after_skip() {
        switch (then_) {
        case Then::finish_rect: finish_rect(); break;
        case Then::next_tile: next_tile(); break;
        case Then::tight_data: tight_data(); break;
        }
    }

    void on_update_header() {
        if (buffer_[0] != 0) {  // only FramebufferUpdate is expected from the bench server
            fail("not a FramebufferUpdate");
            return;
        }
        rects_left_ = get_u16(buffer_.data() + 2);
        if (rects_left_ == 0) {
            ++updates_;
            gather(Step::update_header, update_header_size);
        } else {
            gather(Step::rect_header, rect_header_size);
        }
    }

    void on_rect_header() {
        const std::uint32_t x = get_u16(buffer_.data());
        const std::uint32_t y = get_u16(buffer_.data() + 2);
        w_ = get_u16(buffer_.data() + 4);
        h_ = get_u16(buffer_.data() + 6);
        const auto encoding = static_cast<std::int32_t>(get_u32(buffer_.data() + 8));
        if (x + w_ > width_ || y + h_ > height_) {
            fail("rectangle outside the framebuffer");
            return;
        }
        ++rects_;
        switch (encoding) {
        case raw: skip(std::uint64_t{w_} * h_ * bytes_per_pixel, Then::finish_rect); break;
        case hextile:
            tile_x_ = 0;
            tile_y_ = 0;
            if (w_ == 0 || h_ == 0) {
                finish_rect();
            } else {
                gather(Step::hextile_mask, 1);
            }
            break;
        case tight:
            if (w_ > 2048) {
                fail("Tight rectangle wider than 2048");
                return;
            }
            gather(Step::tight_control, 1);
            break;
        case zrle: gather(Step::zrle_length, 4); break;
        default: fail("unexpected encoding");
        }
    }

    // Hextile: mask; [bg pixel] [fg pixel] [subrect count]; subrects; or raw pixels.
    void on_hextile_mask() {
        mask_ = buffer_[0];
        if (mask_ & 1) {  // Raw
            const std::uint32_t tw = std::min<std::uint32_t>(16, w_ - tile_x_);
            const std::uint32_t th = std::min<std::uint32_t>(16, h_ - tile_y_);
            skip(std::uint64_t{tw} * th * bytes_per_pixel, Then::next_tile);
            return;
        }
        const std::size_t fixed = ((mask_ & 2) ? bytes_per_pixel : 0) + ((mask_ & 4) ? bytes_per_pixel : 0) +
                                  ((mask_ & 8) ? 1 : 0);
        if (fixed == 0) {
            next_tile();
        } else {
            gather(Step::hextile_fixed, fixed);
        }
    }

    void on_hextile_fixed() {
        if (mask_ & 8) {
            const std::uint32_t count = buffer_[need_ - 1];
            skip(std::uint64_t{count} * ((mask_ & 16) ? bytes_per_pixel + 2 : 2), Then::next_tile);
        } else {
            next_tile();
        }
    }

    void next_tile() {
        tile_x_ += 16;
        if (tile_x_ >= w_) {
            tile_x_ = 0;
            tile_y_ += 16;
            if (tile_y_ >= h_) {
                finish_rect();
                return;
            }
        }
        gather(Step::hextile_mask, 1);
    }

    // Tight: control byte; fill: TPIXEL; JPEG: compact length + data; basic:
    // [filter [palette]] data, compressed (compact length + zlib) from 12 bytes on.
    void on_tight_control() {
        const std::uint8_t type = buffer_[0] >> 4;
        if (type == 8) {  // fill
            skip(tpixel_size, Then::finish_rect);
        } else if (type == 9) {  // JPEG
            start_tight_length();
        } else if (type > 9) {
            fail("Tight compression type not in 0..9");
        } else if (type & 4) {  // explicit filter
            gather(Step::tight_filter, 1);
        } else {
            data_size_ = std::uint64_t{w_} * h_ * tpixel_size;
            tight_data();
        }
    }

    void on_tight_filter() {
        switch (buffer_[0]) {
        case 0:  // copy
        case 2:  // gradient
            data_size_ = std::uint64_t{w_} * h_ * tpixel_size;
            tight_data();
            break;
        case 1: gather(Step::tight_palette_size, 1); break;
        default: fail("Tight filter not in 0..2");
        }
    }

    void on_tight_palette_size() {
        const std::uint32_t colours = std::uint32_t{buffer_[0]} + 1;
        data_size_ = colours == 2 ? std::uint64_t{(w_ + 7) / 8} * h_ : std::uint64_t{w_} * h_;
        skip(std::uint64_t{colours} * tpixel_size, Then::tight_data);
    }

    void tight_data() {
        if (data_size_ < 12) {
            skip(data_size_, Then::finish_rect);
        } else {
            start_tight_length();
        }
    }

    void start_tight_length() {
        length_ = 0;
        length_bytes_ = 0;
        gather(Step::tight_length, 1);
    }

    void on_tight_length_byte() {
        const std::uint8_t b = buffer_[0];
        if (length_bytes_ == 2) {
            length_ |= std::uint32_t{b} << 14;
        } else {
            length_ |= std::uint32_t{b & 0x7fu} << (7 * length_bytes_);
        }
        ++length_bytes_;
        if (length_bytes_ < 3 && (b & 0x80)) {
            gather(Step::tight_length, 1);
        } else {
            skip(length_, Then::finish_rect);
        }
    }

    void finish_rect() {
        if (--rects_left_ == 0) {
            ++updates_;
            gather(Step::update_header, update_header_size);
        } else {
            gather(Step::rect_header, rect_header_size);
        }
    }

    std::uint32_t width_;
    std::uint32_t height_;
    Step step_ = Step::update_header;
    Then then_ = Then::finish_rect;
    std::array<std::uint8_t, rect_header_size> buffer_{};
    std::size_t need_ = update_header_size;
    std::size_t have_ = 0;
    std::uint64_t skip_ = 0;
    std::uint32_t rects_left_ = 0;
    std::uint32_t w_ = 0;
    std::uint32_t h_ = 0;
    std::uint32_t tile_x_ = 0;
    std::uint32_t tile_y_ = 0;
    std::uint8_t mask_ = 0;
    std::uint64_t data_size_ = 0;
    std::uint32_t length_ = 0;
    unsigned length_bytes_ = 0;
    std::uint64_t updates_ = 0;
    std::uint64_t rects_ = 0;
    bool broken_ = false;
    const char* error_ = "";
};

}  // namespace vhm::bench
