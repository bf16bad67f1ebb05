#pragma once
// Shared body of the per-security-type targets: a fixed, valid prefix (version
// exchange, the type offered and chosen) brings the parser to the first
// message of that type's own sub-protocol, and the fuzz input is the rest of
// the exchange, both directions interleaved (rfb_feed.hpp). The flags byte
// picks 3.8, 3.7 or 3.3 for the prefix (3.3: the server names the type).
#include <cstddef>
#include <cstdint>

namespace vhm::fuzz {

int fuzz_security_type(std::uint8_t type, const std::uint8_t* data, std::size_t size);

}  // namespace vhm::fuzz
