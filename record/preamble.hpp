#pragma once
// The fixed start of a file: magic, version, compression, the JSON header's
// length, the header, and the CRC over all of it.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "record/format.hpp"

namespace vhm::record {

// Preamble, header JSON and CRC, ready to write.
std::vector<std::uint8_t> encode_preamble(const Header& header);

struct PreambleFixed {
  std::uint16_t major = 0, minor = 0;
  Compression compression = Compression::none;
  std::uint32_t json_length = 0;
};

// Checks the first codec::preamble_fixed_size bytes (magic first, then the
// version, then the rest, so a newer major is reported as such). `bytes` may
// be shorter: then "header truncated" unless what is there already fails.
std::optional<PreambleFixed> parse_preamble_fixed(std::span<const std::uint8_t> bytes, std::string& error);

}  // namespace vhm::record
