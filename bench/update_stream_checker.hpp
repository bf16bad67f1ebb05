// Follows the framing of a raw-encoded FramebufferUpdate stream without
// looking at pixels, so the throughput client can prove that what arrived
// through a proxy is still a well-formed RFB stream (nothing dropped,
// duplicated or shifted) at almost no CPU cost: headers are checked, pixel
// bytes are only counted.
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
    // stream is out of sync (and stays false).
    bool feed(const std::uint8_t* data, std::size_t size) {
        while (size > 0 && !broken_) {
            if (expect_ == Expect::pixels) {
                const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(pixel_bytes_left_, size));
                data += take;
                size -= take;
                pixel_bytes_left_ -= take;
                if (pixel_bytes_left_ == 0) {
                    finish_rect();
                }
                continue;
            }
            const std::size_t need = expect_ == Expect::update_header ? update_header_size : rect_header_size;
            const std::size_t take = std::min(need - have_, size);
            std::memcpy(header_.data() + have_, data, take);
            have_ += take;
            data += take;
            size -= take;
            if (have_ == need) {
                have_ = 0;
                if (expect_ == Expect::update_header) {
                    on_update_header();
                } else {
                    on_rect_header();
                }
            }
        }
        return !broken_;
    }

    std::uint64_t updates() const { return updates_; }
    bool broken() const { return broken_; }

private:
    enum class Expect { update_header, rect_header, pixels };

    void on_update_header() {
        if (header_[0] != 0) {  // only FramebufferUpdate is expected from the bench server
            broken_ = true;
            return;
        }
        rects_left_ = get_u16(header_.data() + 2);
        if (rects_left_ == 0) {
            ++updates_;
        } else {
            expect_ = Expect::rect_header;
        }
    }

    void on_rect_header() {
        const std::uint32_t x = get_u16(header_.data());
        const std::uint32_t y = get_u16(header_.data() + 2);
        const std::uint32_t w = get_u16(header_.data() + 4);
        const std::uint32_t h = get_u16(header_.data() + 6);
        const std::uint32_t encoding = get_u32(header_.data() + 8);
        if (encoding != 0 || x + w > width_ || y + h > height_) {
            broken_ = true;
            return;
        }
        pixel_bytes_left_ = std::uint64_t{w} * h * bytes_per_pixel;
        if (pixel_bytes_left_ == 0) {
            finish_rect();
        } else {
            expect_ = Expect::pixels;
        }
    }

    void finish_rect() {
        if (--rects_left_ == 0) {
            ++updates_;
            expect_ = Expect::update_header;
        } else {
            expect_ = Expect::rect_header;
        }
    }

    std::uint32_t width_;
    std::uint32_t height_;
    Expect expect_ = Expect::update_header;
    std::array<std::uint8_t, rect_header_size> header_{};
    std::size_t have_ = 0;
    std::uint32_t rects_left_ = 0;
    std::uint64_t pixel_bytes_left_ = 0;
    std::uint64_t updates_ = 0;
    bool broken_ = false;
};

}  // namespace vhm::bench
