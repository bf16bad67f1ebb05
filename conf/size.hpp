#pragma once
// One byte-size syntax for the config file (recording queue and retention
// sizes): a whole number of bytes ("1048576"), or a whole number with a unit.
// Binary units: K M G T and KiB MiB GiB TiB (powers of 1024); decimal (SI)
// units: KB MB GB TB (powers of 1000); B is bytes. No spaces, sign or
// fraction, so "64KB" is 64000 bytes, not 65536: the name says which.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vhm::conf {

// nullopt with `error` set when the text is not a size or does not fit in 64 bits.
std::optional<std::uint64_t> parse_size(std::string_view text, std::string& error);

// "64KiB", "8MiB", "1GiB", "1000" (bytes): the largest exact binary unit, for messages.
std::string format_size(std::uint64_t bytes);

}  // namespace vhm::conf
