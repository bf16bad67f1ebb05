#pragma once
// The 12-byte ProtocolVersion message ("RFB 003.008\n") and the mapping of the
// versions seen in the wild onto the three handshakes that exist: 3.3, 3.7, 3.8.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "rfb/handshake_parser.hpp"

namespace vhm::rfb::detail {

inline constexpr std::size_t version_message_size = 12;

struct VersionMessage {
  enum class Kind : std::uint8_t {
    incomplete,   // fewer than 12 bytes and no early newline yet
    valid,        // well-formed and mapped: see effective
    malformed,    // not "RFB xxx.yyy\n"
    repeater,     // "RFB 000.000\n": UltraVNC repeater
    unsupported,  // well-formed, but no known handshake for it
  };
  Kind kind = Kind::incomplete;
  Version effective;     // valid only
  std::string raw;       // "RFB 003.008" (valid, repeater, unsupported)
  std::size_t size = 0;  // bytes the message occupies (complete kinds)
};

// Decides as soon as 12 bytes are there, or earlier if a '\n' ends a line that
// is too short: the answer never depends on how the bytes were split.
VersionMessage read_version_message(std::span<const std::uint8_t> bytes);

// 3.3/3.7/3.8 as themselves; 3.4-3.6, 3.14, 3.16 -> 3.3; 3.889 and any other
// 3.x above 3.8 -> 3.8; 4.x and 5.x -> 3.8. Anything else: no mapping.
std::optional<Version> effective_version(int major, int minor);

}  // namespace vhm::rfb::detail
