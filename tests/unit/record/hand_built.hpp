#pragma once
// Files built byte by byte (not by the writer), for what a writer never
// produces: times going backwards, unknown block types, hostile lengths,
// blocks split across zstd frames.
#include <zstd.h>

#include <stdexcept>

#include "record/block_codec.hpp"
#include "record/header_json.hpp"
#include "record/preamble.hpp"
#include "record_test_support.hpp"

namespace vhm::record::test {

inline Bytes preamble_bytes(Compression compression = Compression::none) {
  return encode_preamble(sample_header(compression));
}

inline Bytes block_bytes(std::uint8_t type, std::uint64_t time_us, std::string_view payload) {
  Bytes out;
  codec::append_block(out, type, time_us, bytes_of(payload));
  return out;
}

inline Bytes trailer_bytes(std::uint64_t time_us = 0) {
  return block_bytes(static_cast<std::uint8_t>(BlockType::trailer), time_us, trailer_to_json(sample_trailer()));
}

inline Bytes zstd_frame(const Bytes& content) {
  Bytes out(ZSTD_compressBound(content.size()));
  const std::size_t n = ZSTD_compress(out.data(), out.size(), content.data(), content.size(), 3);
  if (ZSTD_isError(n)) throw std::runtime_error(ZSTD_getErrorName(n));
  out.resize(n);
  return out;
}

inline Bytes operator+(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace vhm::record::test
