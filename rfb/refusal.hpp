#pragma once
// The proxy's own words in RFB, for refusing a viewer without a server
// (bans, limits, gate hooks) and for failing an authentication a gate vetoed.
// Every viewer shows the reason text of these messages to its user.
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "rfb/handshake_parser.hpp"

namespace vhm::rfb {

// What the proxy sends first when it speaks for the server.
inline constexpr std::string_view proxy_server_version = "RFB 003.008\n";
inline constexpr std::size_t version_message_length = 12;

// The version a viewer answered to proxy_server_version (the lower of the two,
// aliases mapped), or nullopt when the 12 bytes are not a usable version.
std::optional<Version> negotiated_with_viewer(std::span<const std::uint8_t> client_version);

// Refusal instead of a security list: 3.7/3.8 "u8 0", 3.3 "u32 0", then the
// u32 length and the reason (cut to 1024 bytes).
std::vector<std::uint8_t> connection_refusal(Version version, std::string_view reason);

// A failed SecurityResult (u32 1); 3.8 adds the u32 length and the reason.
std::vector<std::uint8_t> failed_security_result(Version version, std::string_view reason);

}  // namespace vhm::rfb
