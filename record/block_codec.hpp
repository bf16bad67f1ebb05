#pragma once
// Byte-level pieces of the format shared by writer, reader and exporter:
// big-endian integers, CRC32 (the zlib/PNG one), block framing.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace vhm::record::codec {

inline constexpr std::size_t preamble_fixed_size = 20;  // magic, versions, compression, reserved, JSON length
inline constexpr std::size_t block_head_size = 13;      // u8 type, u64be time_us, u32be payload length
inline constexpr std::size_t crc_size = 4;
inline constexpr std::size_t block_overhead = block_head_size + crc_size;

inline void put_u16(std::vector<std::uint8_t>& out, std::uint16_t v) {
  out.push_back(static_cast<std::uint8_t>(v >> 8));
  out.push_back(static_cast<std::uint8_t>(v));
}
inline void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}
inline void put_u64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<std::uint8_t>(v >> shift));
}
inline std::uint16_t get_u16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
inline std::uint32_t get_u32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}
inline std::uint64_t get_u64(const std::uint8_t* p) {
  return std::uint64_t{get_u32(p)} << 32 | get_u32(p + 4);
}

std::uint32_t crc32(std::span<const std::uint8_t> bytes);

// Appends one framed block (head, payload, CRC) to `out`; payload.size() must
// be at most max_block_payload (the writer splits before).
void append_block(std::vector<std::uint8_t>& out, std::uint8_t type, std::uint64_t time_us,
                  std::span<const std::uint8_t> payload);

struct BlockView {
  std::uint8_t type = 0;
  std::uint64_t time_us = 0;
  std::span<const std::uint8_t> payload;  // points into the decoded bytes
};

enum class DecodeStatus : std::uint8_t {
  need_more,  // `in` holds only part of a block (the length, once known, is within the limit)
  ok,         // `out` and `size` are set
  too_long,   // the payload length exceeds max_block_payload (decided from the head alone)
  bad_crc,
};

// Decodes the block at the start of `in`; `size` is its framed size when ok.
DecodeStatus decode_block(std::span<const std::uint8_t> in, BlockView& out, std::size_t& size);

}  // namespace vhm::record::codec
