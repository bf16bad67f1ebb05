#pragma once
// VNC Authentication (security type 2): the server sends 16 random bytes, the
// viewer answers with them DES-encrypted (ECB, two blocks) under the password
// (first 8 bytes, zero-padded), each key byte's bits reversed: VNC's d3des
// takes the key's bits in the opposite order to every other DES.
#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace vhm::player {

using VncChallenge = std::array<std::uint8_t, 16>;

VncChallenge random_vnc_challenge();  // OpenSSL's RAND_bytes
VncChallenge vnc_auth_response(std::string_view password, std::span<const std::uint8_t, 16> challenge);
// Compares in constant time.
bool vnc_auth_matches(std::string_view password, std::span<const std::uint8_t, 16> challenge,
                      std::span<const std::uint8_t, 16> response);

}  // namespace vhm::player
