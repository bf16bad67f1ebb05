#pragma once
// Peer bytes quoted inside our own error messages ("server sent an invalid
// version string \"HTTP/1.1 400\""). rfb/ depends on no module of ours (only zlib), so it carries
// this small escaper instead of using util/.
#include <cstdint>
#include <span>
#include <string>

namespace vhm::rfb::detail {

// Double-quoted, printable ASCII kept, \" \\ \n \r \t escaped, other bytes \xHH.
std::string quote(std::span<const std::uint8_t> bytes);

}  // namespace vhm::rfb::detail
