#pragma once
// Values that come from peers (desktop names, reason strings, user names, hook
// output) are made safe for one log line: control characters and invalid bytes
// are escaped, so a peer can never forge log lines or smuggle terminal codes.
#include <string>
#include <string_view>

namespace vhm::util {

// Escapes \n \r \t as such, other bytes < 0x20 and 0x7f as \xHH; keeps UTF-8.
// Truncates to max_bytes of input, appending "..." when it does.
std::string printable(std::string_view text, std::size_t max_bytes = 1024);

}  // namespace vhm::util
