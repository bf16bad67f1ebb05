// Small helpers shared by the benchmark load generator programs
// (rfb-stream-server, rfb-load-client). Benchmarks open 1000+ sockets per
// process and talk to compare.sh through one JSON line per event on stdout,
// so both need the same fd-limit, endpoint and output plumbing.
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include <sys/resource.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>

namespace vhm::bench {

// Raise the soft RLIMIT_NOFILE to the hard limit; returns the new soft limit.
// A thousand sessions need a thousand descriptors in each program (and two
// thousand in a proxy), more than the common default of 1024.
inline rlim_t raise_nofile_limit() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        return 0;
    }
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
        ::getrlimit(RLIMIT_NOFILE, &limit);
    }
    return limit.rlim_cur;
}

// "127.0.0.1:5900" or "[::1]:5900" -> endpoint. Numeric addresses only: the
// benchmark is loopback-only and must never resolve names.
inline boost::asio::ip::tcp::endpoint parse_endpoint(std::string_view text) {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) {
        throw std::invalid_argument("expected HOST:PORT, got '" + std::string(text) + "'");
    }
    std::string_view host = text.substr(0, colon);
    const std::string_view port_text = text.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
        throw std::invalid_argument("bad port in '" + std::string(text) + "'");
    }
    boost::system::error_code address_error;
    const auto address = boost::asio::ip::make_address(std::string(host), address_error);
    if (address_error) {
        throw std::invalid_argument("bad numeric address in '" + std::string(text) + "'");
    }
    return {address, static_cast<unsigned short>(port)};
}

// One machine-readable line per event; flushed at once because compare.sh
// waits on these lines through a pipe.
inline void emit_line(const std::string& json) {
    std::fputs(json.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

inline void put_u16(std::uint8_t* out, std::uint16_t value) {
    out[0] = static_cast<std::uint8_t>(value >> 8);
    out[1] = static_cast<std::uint8_t>(value);
}

inline void put_u32(std::uint8_t* out, std::uint32_t value) {
    out[0] = static_cast<std::uint8_t>(value >> 24);
    out[1] = static_cast<std::uint8_t>(value >> 16);
    out[2] = static_cast<std::uint8_t>(value >> 8);
    out[3] = static_cast<std::uint8_t>(value);
}

inline std::uint16_t get_u16(const std::uint8_t* in) {
    return static_cast<std::uint16_t>((in[0] << 8) | in[1]);
}

inline std::uint32_t get_u32(const std::uint8_t* in) {
    return (std::uint32_t{in[0]} << 24) | (std::uint32_t{in[1]} << 16) | (std::uint32_t{in[2]} << 8) |
           std::uint32_t{in[3]};
}

// RFB message sizes shared by both ends.
inline constexpr std::size_t version_size = 12;            // "RFB 003.008\n"
inline constexpr std::size_t server_init_fixed_size = 24;  // w, h, pixel format, name length
inline constexpr std::size_t update_header_size = 4;       // type, pad, u16 rectangle count
inline constexpr std::size_t rect_header_size = 12;        // x, y, w, h, s32 encoding
inline constexpr std::uint32_t bytes_per_pixel = 4;        // 32 bpp true colour

}  // namespace vhm::bench
