#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <string>

#include "player/vnc_auth.hpp"

using vhm::player::vnc_auth_matches;
using vhm::player::vnc_auth_response;

namespace {

std::string auth_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const auto b : bytes) out += {digits[b >> 4], digits[b & 15]};
  return out;
}

std::array<std::uint8_t, 16> auth_bytes(const std::string& hex) {
  std::array<std::uint8_t, 16> out{};
  for (std::size_t i = 0; i < 16; ++i) out[i] = static_cast<std::uint8_t>(std::stoi(hex.substr(2 * i, 2), nullptr, 16));
  return out;
}

}  // namespace

// Vectors computed once the way Debian's Net::VNC (libnet-vnc-perl) logs in:
// Crypt::DES under the key whose bytes are bit-reversed, e.g.
//   perl -MCrypt::DES -e '$k .= pack("b8", scalar reverse unpack("b8", $_)) for split //, "s3cret-p";
//     $c = Crypt::DES->new($k); $m = pack("C*", 0..15);
//     print unpack("H*", $c->encrypt(substr $m, 0, 8) . $c->encrypt(substr $m, 8, 8))'
TEST_CASE("VNC auth: the response matches Net::VNC's for known challenges") {
  const auto counting = auth_bytes("000102030405060708090a0b0c0d0e0f");
  // Only the first 8 characters count: "s3cret-pw" is "s3cret-p".
  CHECK(auth_hex(vnc_auth_response("s3cret-pw", counting)) == "f82d12f43d5698c995232d9bbe16675f");
  CHECK(auth_hex(vnc_auth_response("s3cret-p", counting)) == "f82d12f43d5698c995232d9bbe16675f");
  // A short password is zero-padded.
  CHECK(auth_hex(vnc_auth_response("pw", auth_bytes("f0e1d2c3b4a5968778695a4b3c2d1e0f"))) ==
        "2da98d37db999213775993c7793e4dee");
}

TEST_CASE("VNC auth: same DES as vncpasswd's well-known obfuscation of \"password\"") {
  // vncpasswd encrypts the password under VNC's fixed key with the same
  // d3des convention: `printf 'password\n' | vncpasswd -f` is dbd83cfd727a1458.
  const std::string fixed_key{23, 82, 107, 6, 35, 78, 88, 7};
  std::array<std::uint8_t, 16> data{'p', 'a', 's', 's', 'w', 'o', 'r', 'd'};
  CHECK(auth_hex(vnc_auth_response(fixed_key, data)).substr(0, 16) == "dbd83cfd727a1458");
}

TEST_CASE("VNC auth: a wrong password or a changed byte does not match") {
  const auto challenge = auth_bytes("000102030405060708090a0b0c0d0e0f");
  auto response = vnc_auth_response("s3cret-pw", challenge);
  CHECK(vnc_auth_matches("s3cret-pw", challenge, response));
  CHECK_FALSE(vnc_auth_matches("s3cret-x", challenge, response));
  CHECK_FALSE(vnc_auth_matches("", challenge, response));
  response[15] ^= 1;
  CHECK_FALSE(vnc_auth_matches("s3cret-pw", challenge, response));
}

TEST_CASE("VNC auth: challenges are random") {
  CHECK(vhm::player::random_vnc_challenge() != vhm::player::random_vnc_challenge());
}
