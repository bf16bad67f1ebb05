#include "record/preamble.hpp"

#include <algorithm>

#include "record/block_codec.hpp"
#include "record/header_json.hpp"

namespace vhm::record {

std::vector<std::uint8_t> encode_preamble(const Header& header) {
  const std::string json = header_to_json(header);
  std::vector<std::uint8_t> out(file_magic.begin(), file_magic.end());
  out.reserve(codec::preamble_fixed_size + json.size() + codec::crc_size);
  codec::put_u16(out, format_major);
  codec::put_u16(out, format_minor);
  out.push_back(static_cast<std::uint8_t>(header.compression));
  out.insert(out.end(), 3, 0);
  codec::put_u32(out, static_cast<std::uint32_t>(json.size()));
  out.insert(out.end(), json.begin(), json.end());
  codec::put_u32(out, codec::crc32(out));
  return out;
}

std::optional<PreambleFixed> parse_preamble_fixed(std::span<const std::uint8_t> bytes, std::string& error) {
  const std::size_t magic_part = std::min(bytes.size(), file_magic.size());
  if (!std::equal(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(magic_part), file_magic.begin())) {
    error = "not a vnc-hooks-manager recording (bad magic)";
    return std::nullopt;
  }
  if (bytes.size() < 12) {
    error = bytes.empty() ? "empty file: header truncated" : "header truncated";
    return std::nullopt;
  }
  PreambleFixed p;
  p.major = codec::get_u16(bytes.data() + 8);
  p.minor = codec::get_u16(bytes.data() + 10);
  const std::string version = std::to_string(p.major) + "." + std::to_string(p.minor);
  if (p.major > format_major) {
    error = "format version " + version + " is newer than this program reads (" + std::to_string(format_major) + ".x)";
    return std::nullopt;
  }
  if (p.major != format_major) {
    error = "format version " + version + " is not supported (this program reads " + std::to_string(format_major) +
            ".x)";
    return std::nullopt;
  }
  if (bytes.size() < codec::preamble_fixed_size) {
    error = "header truncated";
    return std::nullopt;
  }
  // Bytes 13..15 are reserved: written as zero, ignored when read (a later minor may use them).
  if (bytes[12] > static_cast<std::uint8_t>(Compression::zstd)) {
    error = "unknown compression " + std::to_string(bytes[12]);
    return std::nullopt;
  }
  p.compression = static_cast<Compression>(bytes[12]);
  p.json_length = codec::get_u32(bytes.data() + 16);
  if (p.json_length > max_header_json) {
    error = "header JSON length " + std::to_string(p.json_length) + " exceeds the limit of " +
            std::to_string(max_header_json);
    return std::nullopt;
  }
  return p;
}

}  // namespace vhm::record
